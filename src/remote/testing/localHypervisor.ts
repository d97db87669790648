/**
 * A small HypervisorApi over LocalObjectSpaces, for testing and benchmarking the remote services without
 * the daemon (src/hypervisor is the real one): guests are kernel-image sessions (or given image bytes);
 * running guests take turns, one slice of a couple of milliseconds per event-loop turn, as the daemon does;
 * host jobs (evaluate, printString...) run ahead of the guests' own slices. Lifecycle verbs change the
 * state and publish events. No quotas, no persistence.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalObjectSpace } from "../../membrane/local/space.js";
import { runJob } from "../../membrane/local/jobs.js";
import type { ObjectSpace } from "../../membrane/objectSpace.js";
import {
  HypervisorError, type CloneOptions, type DaemonStats, type DefineOptions, type GuestConfig, type GuestInfo, type GuestState, type HypervisorApi,
  type HypervisorEvent, type StateReason,
} from "../../hypervisor/types.js";
import { kernelImageBytes } from "../../tools/kernelImage.js";
import { nodeHost } from "../../tools/host/nodeHost.js";
import { MemoryChanges } from "../../tools/host/sourceFiles.js";
import { sourceFilesOf } from "../../tools/session.js";

interface Guest {
  name: string;
  space: LocalObjectSpace;
  state: GuestState;
  reason: StateReason;
  config: GuestConfig;
  transcript: string;
  jobs: number;
  /** nothing runnable until this time (ms, performance.now()) */
  idleUntil: number;
  startedAt: number;
  slices: number;
  cpuMs: number;
}

export class LocalHypervisor implements HypervisorApi {
  private readonly guests = new Map<string, Guest>();
  private readonly listeners = new Set<(e: HypervisorEvent) => void>();
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-local-hv-"));
  readonly startedAt = Date.now();
  /** slice length of running guests, ms */
  sliceMs = 2;
  /** shorter slices while this says clients are being served (RemoteServices.activity.interactive) */
  interactive: (() => boolean) | undefined;
  interactiveSliceMs = 0.5;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private turn = 0;

  private emit(e: HypervisorEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private guest(name: string): Guest {
    const g = this.guests.get(name);
    if (!g) throw new HypervisorError("notFound", `no guest named ${name}`);
    return g;
  }

  private setState(g: Guest, state: GuestState, reason: StateReason): void {
    g.state = state;
    g.reason = reason;
    this.emit({ type: "state", guest: g.name, state, reason, at: Date.now() });
  }

  list(): GuestInfo[] {
    return [...this.guests.keys()].map((n) => this.info(n));
  }

  info(name: string): GuestInfo {
    const g = this.guest(name);
    return {
      name,
      state: g.state,
      reason: g.reason,
      config: g.config,
      stats: {
        cpuMs: g.cpuMs, bytecodes: g.space.vm.bytecodeCount, sends: g.space.vm.sendCount, slices: g.slices, throttledPeriods: 0, throttledMs: 0,
        heapBytes: g.space.mem.bytesUsed(), heapLimitBytes: g.space.mem.limitBytes, gcCount: 0, gcMs: 0,
        processes: { running: 0, runnable: 0, waiting: 0, suspended: 0, failed: 0 }, socketsOpen: 0, socketsOpened: 0, socketsRefused: 0,
        bytesIn: 0, bytesOut: 0, finalizedByImage: 0, finalizedByHost: 0, fileBytes: 0, uptimeMs: g.state === "running" ? Date.now() - g.startedAt : 0,
      },
    };
  }

  async define(name: string, options: DefineOptions = {}): Promise<GuestInfo> {
    if (this.guests.has(name)) throw new HypervisorError("alreadyExists", `a guest named ${name} exists`);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new HypervisorError("invalidArgument", `bad guest name ${JSON.stringify(name)}`);
    const bytes = options.image instanceof Uint8Array ? options.image : typeof options.image === "string" ? new Uint8Array(fs.readFileSync(options.image)) : await kernelImageBytes();
    const g = { name, transcript: "" } as Guest;
    const host = nodeHost({
      write: (text) => {
        g.transcript = (g.transcript + text).slice(-65536);
        this.emit({ type: "transcript", guest: name, text, at: Date.now() });
      },
      changes: new MemoryChanges(),
      kernelFiles: [],
    });
    let space: LocalObjectSpace;
    try {
      space = LocalObjectSpace.fromImage(bytes, host);
    } catch (e) {
      throw new HypervisorError("invalidArgument", `not an image: ${e instanceof Error ? e.message : String(e)}`);
    }
    host.sources.kernelFiles.push(...sourceFilesOf(space.mem));
    Object.assign(g, { space, state: "shutoff", reason: "defined", config: { name, ...(options.config ?? {}) }, jobs: 0, idleUntil: 0, startedAt: 0, slices: 0, cpuMs: 0 });
    space.executor = async (job, budget) => {
      g.jobs++;
      try {
        return await runJob(space.vm, job, budget);
      } finally {
        g.jobs--;
      }
    };
    this.guests.set(name, g);
    this.emit({ type: "defined", guest: name, at: Date.now() });
    return this.info(name);
  }

  /** The scheduler: one slice of one running guest (round robin) per event-loop turn. */
  private schedule(delayMs = 0): void {
    if (this.timer) return;
    const run = () => {
      this.timer = undefined;
      this.runOne();
    };
    this.timer = delayMs > 0 ? setTimeout(run, delayMs) : setImmediate(run);
  }

  private runOne(): void {
    const running = [...this.guests.values()].filter((g) => g.state === "running");
    if (running.length === 0) return;
    const now = performance.now();
    for (let i = 0; i < running.length; i++) {
      const g = running[(this.turn + i) % running.length];
      if (g.jobs > 0 || g.idleUntil > now) continue;
      this.turn = (this.turn + i + 1) % running.length;
      this.slice(g);
      return this.schedule();
    }
    this.schedule(1);
  }

  private slice(g: Guest): void {
    const t = performance.now();
    const slice = g.space.vm.run({ ms: this.interactive?.() ? this.interactiveSliceMs : this.sliceMs });
    g.cpuMs += performance.now() - t;
    g.slices++;
    if (slice.reason === "fault") {
      const message = slice.fault?.message ?? "fault";
      this.emit({ type: "error", guest: g.name, message, at: Date.now() });
      this.setState(g, "crashed", "vmError");
      return;
    }
    if (slice.reason === "quit") return this.setState(g, "crashed", "quit");
    if (slice.reason === "idle") g.idleUntil = performance.now() + 2;
  }

  async start(name: string): Promise<GuestInfo> {
    const g = this.guest(name);
    if (g.state === "running") throw new HypervisorError("failedPrecondition", `${name} is already running`);
    g.startedAt = Date.now();
    this.setState(g, "running", "booted");
    if (g.config.startup) {
      const r = await g.space.evaluate(g.config.startup, { budget: { ms: 10_000 } });
      if (!r.ok) this.emit({ type: "error", guest: name, message: r.description, stack: r.stack.map((f) => f.description), at: Date.now() });
    }
    this.schedule();
    return this.info(name);
  }

  async suspend(name: string): Promise<GuestInfo> {
    const g = this.guest(name);
    if (g.state !== "running") throw new HypervisorError("failedPrecondition", `${name} is not running`);
    this.setState(g, "paused", "user");
    return this.info(name);
  }

  async resume(name: string): Promise<GuestInfo> {
    const g = this.guest(name);
    if (g.state !== "paused") throw new HypervisorError("failedPrecondition", `${name} is not paused`);
    this.setState(g, "running", "unpaused");
    g.idleUntil = 0;
    this.schedule();
    return this.info(name);
  }

  async interrupt(name: string): Promise<GuestInfo> {
    const g = this.guest(name);
    if (g.state !== "running") throw new HypervisorError("failedPrecondition", `${name} is not running`);
    this.setState(g, "paused", "interrupt");
    return this.info(name);
  }

  async snapshot(name: string): Promise<string> {
    const g = this.guest(name);
    const file = path.join(this.dir, `${name}.image`);
    fs.writeFileSync(file, await g.space.snapshot());
    return file;
  }

  async clone(source: string, target: string, options: CloneOptions = {}): Promise<GuestInfo> {
    const image = options.fromFile ? new Uint8Array(fs.readFileSync(options.fromFile)) : await this.guest(source).space.snapshot();
    await this.define(target, { image, config: { ...this.guest(source).config } });
    if (options.start) await this.start(target);
    return this.info(target);
  }

  async stop(name: string): Promise<GuestInfo> {
    const g = this.guest(name);
    this.setState(g, "shutoff", "stopped");
    return this.info(name);
  }

  async destroy(name: string): Promise<void> {
    const g = this.guest(name);
    this.guests.delete(name);
    g.space.releaseAll();
    this.emit({ type: "undefined", guest: name, at: Date.now() });
  }

  space(name: string): ObjectSpace {
    return this.guest(name).space;
  }

  /** The local space itself (tests compare against it). */
  localSpace(name: string): LocalObjectSpace {
    return this.guest(name).space;
  }

  transcript(name: string, maxBytes = 65536): string {
    const t = this.guest(name).transcript;
    return t.slice(Math.max(0, t.length - maxBytes));
  }

  subscribe(listener: (event: HypervisorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  daemonStats(): DaemonStats {
    return { startedAt: this.startedAt, guestSwitches: 0, slicesMs: [], heartbeatLatenessMs: [], socketsOpen: 0, socketsLimit: 0 };
  }

  async shutdown(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    this.guests.clear();
    this.listeners.clear();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
