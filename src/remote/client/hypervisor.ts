/**
 * The remote control plane: HypervisorApi over the network, with promises (and token management for
 * admin clients). Errors are HypervisorErrors with the codes of the local API.
 */
import type {
  ChangesOptions, CloneOptions, DaemonStats, DefineOptions, GuestChanges, GuestConfig, GuestInfo, GuestStats, HypervisorEvent,
} from "../../hypervisor/types.js";
import type { ChangeEntry } from "../../membrane/changes.js";
import { HypervisorError } from "../../hypervisor/types.js";
import type { Role, TokenInfo, NewToken } from "../auth.js";
import { checkArguments } from "./space.js";
import type { RemoteObjectSpace } from "./space.js";
import type { Transport } from "./transport.js";

type Reply = Record<string, any>;

export interface SubscribeOptions {
  /** only these guests (default: all) */
  guests?: string[];
  /** only these event types (default: all) */
  types?: Array<HypervisorEvent["type"]>;
  /**
   * the feed ended: with an error when the server or the connection ended it (server shutdown, connection
   * lost, slow consumer: subscribe again if needed), without one when it was unsubscribed
   */
  onEnd?: (error?: Error) => void;
}

/** HypervisorApi with every call asynchronous. */
export interface RemoteHypervisorApi {
  list(): Promise<GuestInfo[]>;
  info(name: string): Promise<GuestInfo>;
  stats(name: string): Promise<GuestStats>;
  define(name: string, options?: DefineOptions): Promise<GuestInfo>;
  start(name: string): Promise<GuestInfo>;
  suspend(name: string): Promise<GuestInfo>;
  resume(name: string): Promise<GuestInfo>;
  interrupt(name: string): Promise<GuestInfo>;
  snapshot(name: string): Promise<string>;
  clone(source: string, target: string, options?: CloneOptions): Promise<GuestInfo>;
  stop(name: string): Promise<GuestInfo>;
  destroy(name: string): Promise<void>;
  space(name: string): RemoteObjectSpace;
  transcript(name: string, maxBytes?: number): Promise<string>;
  changes(name: string, options?: ChangesOptions): Promise<GuestChanges>;
  subscribe(listener: (event: HypervisorEvent) => void, options?: SubscribeOptions): () => void;
  daemonStats(): Promise<DaemonStats>;
}

export class RemoteHypervisor implements RemoteHypervisorApi {
  constructor(
    private readonly transport: Transport,
    private readonly spaceOf: (name: string) => RemoteObjectSpace,
  ) {}

  private async call(name: string, args: Record<string, unknown> = {}): Promise<Reply> {
    try {
      checkArguments(`Hypervisor.${name}`, args);
    } catch (e) {
      throw new HypervisorError("invalidArgument", (e as Error).message);
    }
    return this.transport.call(`Hypervisor.${name}`, args);
  }

  async list(): Promise<GuestInfo[]> {
    return ((await this.call("List")).guests ?? []).map(decodeGuestInfo);
  }
  async info(name: string): Promise<GuestInfo> {
    return decodeGuestInfo(await this.call("Info", { name }));
  }
  async stats(name: string): Promise<GuestStats> {
    return decodeGuestStats(await this.call("Stats", { name }));
  }
  async define(name: string, options: DefineOptions = {}): Promise<GuestInfo> {
    const image = options.image;
    return decodeGuestInfo(
      await this.call("Define", {
        name,
        image: image instanceof Uint8Array ? image : undefined,
        imagePath: typeof image === "string" ? image : undefined,
        config: options.config ? { ...options.config, name } : undefined,
      }),
    );
  }
  async start(name: string): Promise<GuestInfo> {
    return decodeGuestInfo(await this.call("Start", { name }));
  }
  async suspend(name: string): Promise<GuestInfo> {
    return decodeGuestInfo(await this.call("Suspend", { name }));
  }
  async resume(name: string): Promise<GuestInfo> {
    return decodeGuestInfo(await this.call("Resume", { name }));
  }
  async interrupt(name: string): Promise<GuestInfo> {
    return decodeGuestInfo(await this.call("Interrupt", { name }));
  }
  async snapshot(name: string): Promise<string> {
    return (await this.call("Snapshot", { name })).value ?? "";
  }
  async clone(source: string, target: string, options: CloneOptions = {}): Promise<GuestInfo> {
    return decodeGuestInfo(await this.call("Clone", { source, target, fromFile: options.fromFile, start: options.start }));
  }
  async stop(name: string): Promise<GuestInfo> {
    return decodeGuestInfo(await this.call("Stop", { name }));
  }
  async destroy(name: string): Promise<void> {
    await this.call("Destroy", { name });
  }
  space(name: string): RemoteObjectSpace {
    return this.spaceOf(name);
  }
  async transcript(name: string, maxBytes?: number): Promise<string> {
    return (await this.call("Transcript", { name, maxBytes })).value ?? "";
  }
  async changes(name: string, options: ChangesOptions = {}): Promise<GuestChanges> {
    const r = await this.call("Changes", { name, all: options.all });
    // the fields in the order of the local answer (listChanges), so that it prints the same
    const truncated = r.truncated === true;
    return { entries: (r.entries ?? []).map(decodeChangeEntry), truncated, ...(truncated ? { truncatedAt: r.truncatedAt ?? 0 } : {}), file: r.file ?? "" };
  }
  async daemonStats(): Promise<DaemonStats> {
    const r = await this.call("DaemonStats");
    return {
      startedAt: r.startedAt ?? 0,
      guestSwitches: r.guestSwitches ?? 0,
      slicesMs: r.slicesMs ?? [],
      heartbeatLatenessMs: r.heartbeatLatenessMs ?? [],
      socketsOpen: r.socketsOpen ?? 0,
      socketsLimit: r.socketsLimit ?? 0,
      filesOpen: r.filesOpen ?? 0,
      filesLimit: r.filesLimit ?? 0,
      socketsRefusedByLimit: r.socketsRefusedByLimit ?? 0,
      filesRefusedByLimit: r.filesRefusedByLimit ?? 0,
    };
  }

  /** The event feed (a gRPC stream / a WebSocket subscription); answers the function that ends it. */
  subscribe(listener: (event: HypervisorEvent) => void, options: SubscribeOptions = {}): () => void {
    return this.transport.stream(
      "Hypervisor.Watch",
      { guests: options.guests ?? [], types: options.types ?? [] },
      (item) => listener(decodeEvent(item)),
      (error) => options.onEnd?.(error),
    );
  }

  // ------------------------------------------------------------------ tokens (admin)

  async createToken(role: Role, name = ""): Promise<NewToken> {
    const r = await this.call("CreateToken", { role, name });
    return { id: r.id, name: r.name ?? "", role: r.role, token: r.token };
  }
  async revokeToken(id: string): Promise<void> {
    await this.call("RevokeToken", { id });
  }
  async listTokens(): Promise<TokenInfo[]> {
    return ((await this.call("ListTokens")).tokens ?? []).map((t: Reply) => ({ id: t.id, name: t.name ?? "", role: t.role, createdAt: t.createdAt ?? 0 }));
  }
}

function present<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
}

function decodeConfig(c: Reply | undefined, name: string): GuestConfig {
  if (!c) return { name };
  return present({
    name: c.name || name,
    image: c.image,
    autostart: c.autostart,
    cpu: c.cpu ? { quotaMs: c.cpu.quotaMs ?? 0, periodMs: c.cpu.periodMs ?? 0 } : undefined,
    weight: c.weight,
    memoryLimitBytes: c.memoryLimitBytes,
    maxSockets: c.maxSockets,
    maxFileBytes: c.maxFileBytes,
    startup: c.startup,
  });
}

export function decodeGuestStats(s: Reply | undefined): GuestStats {
  const n = (k: string) => (s?.[k] as number | undefined) ?? 0;
  const p = s?.processes ?? {};
  const stats: GuestStats = {
    cpuMs: n("cpuMs"), bytecodes: n("bytecodes"), sends: n("sends"), slices: n("slices"), throttledPeriods: n("throttledPeriods"),
    throttledMs: n("throttledMs"), heapBytes: n("heapBytes"), heapLimitBytes: n("heapLimitBytes"), gcCount: n("gcCount"), gcMs: n("gcMs"),
    processes: { running: p.running ?? 0, runnable: p.runnable ?? 0, waiting: p.waiting ?? 0, suspended: p.suspended ?? 0, failed: p.failed ?? 0 },
    socketsOpen: n("socketsOpen"), socketsOpened: n("socketsOpened"), socketsRefused: n("socketsRefused"), bytesIn: n("bytesIn"),
    bytesOut: n("bytesOut"), finalizedByImage: n("finalizedByImage"), finalizedByHost: n("finalizedByHost"), fileBytes: n("fileBytes"),
    filesOpen: n("filesOpen"), filesOpened: n("filesOpened"), filesRefused: n("filesRefused"), fileBytesRead: n("fileBytesRead"),
    fileBytesWritten: n("fileBytesWritten"), uptimeMs: n("uptimeMs"),
  };
  if (Array.isArray(s?.gcPausesMs) && s!.gcPausesMs.length > 0) stats.gcPausesMs = s!.gcPausesMs;
  return stats;
}

export function decodeGuestInfo(r: Reply): GuestInfo {
  const info: GuestInfo = {
    name: r.name ?? "",
    state: r.state,
    reason: r.reason,
    config: decodeConfig(r.config, r.name ?? ""),
    stats: decodeGuestStats(r.stats),
  };
  if (r.crash) {
    info.crash = { kind: r.crash.kind ?? "", message: r.crash.message ?? "" };
    if (Array.isArray(r.crash.stack) && r.crash.stack.length > 0) info.crash.stack = r.crash.stack;
  }
  return info;
}

export function decodeEvent(r: Reply): HypervisorEvent {
  const base = { guest: r.guest ?? "", at: r.at ?? 0 };
  switch (r.type) {
    case "state":
      return { type: "state", ...base, state: r.state, reason: r.reason };
    case "transcript":
      return { type: "transcript", ...base, text: r.text ?? "" };
    case "error": {
      const e: HypervisorEvent = { type: "error", ...base, message: r.message ?? "" };
      if (Array.isArray(r.stack) && r.stack.length > 0) e.stack = r.stack;
      return e;
    }
    default:
      return { type: r.type, ...base };
  }
}

/** An entry as src/membrane/changes.ts makes it (the same fields in the same order, so that it prints the same). */
export function decodeChangeEntry(r: Reply): ChangeEntry {
  const source: string = r.source ?? "";
  const timestamp: string | undefined = r.timestamp;
  const position: number = r.position ?? 0;
  const className: string = r.className ?? "";
  const classSide = r.classSide === true;
  switch (r.kind) {
    case "method":
      return { kind: "method", className, classSide, category: r.category ?? "", selector: r.selector ?? "", source, timestamp, position };
    case "removeMethod":
      return { kind: "removeMethod", className, classSide, selector: r.selector ?? "", source, timestamp, position };
    case "classDefinition":
      return { kind: "classDefinition", className, classSide, source, timestamp, position };
    case "snapshot":
      return { kind: "snapshot", stamp: r.stamp ?? "", timestamp, source, position };
    default:
      return { kind: "doit", source, timestamp, position };
  }
}
