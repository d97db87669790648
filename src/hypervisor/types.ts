/**
 * The hypervisor's public model: guests, their states and reasons (libvirt's vocabulary), their
 * configuration (cgroup-style CPU quotas), their statistics, and the events the daemon publishes. The
 * remote servers (src/remote), the metrics (src/metrics) and the CLI (src/tools) are written against
 * these types and the `HypervisorApi` interface, never against the daemon's internals.
 */
import type { ObjectSpace } from "../membrane/objectSpace.js";
import type { ParsedChanges } from "../membrane/changes.js";

export type GuestState = "running" | "paused" | "shutoff" | "crashed";

export type StateReason =
  // running
  | "booted" | "unpaused" | "restored"
  // paused
  | "user" | "snapshot" | "quota" | "interrupt"
  // shut off ("crashed": it was crashed when the daemon stopped, its VM is gone; "quit": the image quit)
  | "defined" | "stopped" | "destroyed" | "shutdown" | "crashed"
  // crashed (the fault kinds of the VM)
  | "unhandledError" | "outOfMemory" | "recursiveDoesNotUnderstand" | "cannotReturn" | "badContext" | "noProcess"
  | "vmError" | "quit";

export interface CpuQuota {
  /** CPU time the guest may use in each period, in milliseconds (cgroup cpu.max's quota) */
  quotaMs: number;
  /** the period, in milliseconds (cgroup cpu.max's period) */
  periodMs: number;
}

export interface GuestConfig {
  name: string;
  /** image file to define the guest from (default: the kernel image) */
  image?: string;
  /** start the guest when the daemon starts */
  autostart?: boolean;
  /** cgroup cpu.max-style limit; absent: no limit */
  cpu?: CpuQuota;
  /** relative share when several guests want the CPU (default 100) */
  weight?: number;
  /** heap limit in bytes */
  memoryLimitBytes?: number;
  /** open sockets this guest may hold at once */
  maxSockets?: number;
  /** bytes this guest may keep in its file sandbox */
  maxFileBytes?: number;
  /** Smalltalk evaluated in the guest each time it starts (after `Smalltalk startUp`) */
  startup?: string;
}

/** A guest's resource counters (docs/resources.md), kept by its resource account. */
export interface ResourceFigures {
  socketsOpen: number;
  socketsOpened: number;
  socketsRefused: number;
  bytesIn: number;
  bytesOut: number;
  finalizedByImage: number;
  finalizedByHost: number;
  fileBytes: number;
  /** files the guest holds open now, opened in all, refused by its quota or the daemon's limit */
  filesOpen: number;
  filesOpened: number;
  filesRefused: number;
  fileBytesRead: number;
  fileBytesWritten: number;
}

export interface GuestStats extends ResourceFigures {
  /** CPU time charged to the guest, milliseconds */
  cpuMs: number;
  bytecodes: number;
  sends: number;
  slices: number;
  throttledPeriods: number;
  throttledMs: number;
  heapBytes: number;
  heapLimitBytes: number;
  gcCount: number;
  gcMs: number;
  /** GC pause durations since the last scrape, for histograms */
  gcPausesMs?: number[];
  processes: { running: number; runnable: number; waiting: number; suspended: number; failed: number };
  /** milliseconds since the guest last started (0 when not running) */
  uptimeMs: number;
}

export interface GuestInfo {
  name: string;
  state: GuestState;
  reason: StateReason;
  config: GuestConfig;
  stats: GuestStats;
  /** for a crashed guest: what happened */
  crash?: { kind: string; message: string; stack?: string[] };
}

export type HypervisorEvent =
  | { type: "state"; guest: string; state: GuestState; reason: StateReason; at: number }
  | { type: "transcript"; guest: string; text: string; at: number }
  | { type: "error"; guest: string; message: string; stack?: string[]; at: number }
  | { type: "defined" | "undefined"; guest: string; at: number };

export type HypervisorErrorCode =
  | "notFound" | "alreadyExists" | "invalidArgument" | "failedPrecondition" | "resourceExhausted" | "internal";

export class HypervisorError extends Error {
  constructor(
    readonly code: HypervisorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "HypervisorError";
  }
}

export interface DefineOptions {
  /** image bytes or an image file path; absent: the kernel image */
  image?: Uint8Array | string;
  config?: Omit<GuestConfig, "name">;
}

export interface CloneOptions {
  /** clone from this image file instead of the running guest */
  fromFile?: string;
  start?: boolean;
}

export interface ChangesOptions {
  /** every entry of the changes file, snapshot markers included (default: those since the last snapshot) */
  all?: boolean;
}

/**
 * A guest's changes file, parsed (src/membrane/changes.ts): `entries` are the changes logged since the
 * guest's last snapshot (with `all`, every entry and the snapshot markers); `truncated` says the file
 * ends inside a change cut short (it never took effect and is left out), which starts at byte
 * `truncatedAt`.
 */
export interface GuestChanges extends ParsedChanges {
  /** the changes file, on the daemon's machine (DATA_DIR/guests/NAME/NAME.changes) */
  file: string;
}

/** The control plane, as the remote servers, the metrics and the CLI see it. */
export interface HypervisorApi {
  list(): GuestInfo[];
  info(name: string): GuestInfo;
  define(name: string, options?: DefineOptions): Promise<GuestInfo>;
  start(name: string): Promise<GuestInfo>;
  suspend(name: string): Promise<GuestInfo>;
  resume(name: string): Promise<GuestInfo>;
  /** stops the guest at its next interrupt check, leaving its active process as it was (paused, interrupt) */
  interrupt(name: string): Promise<GuestInfo>;
  /** writes the guest's image (and marks its changes file); answers the image file path */
  snapshot(name: string): Promise<string>;
  clone(source: string, target: string, options?: CloneOptions): Promise<GuestInfo>;
  stop(name: string): Promise<GuestInfo>;
  destroy(name: string): Promise<void>;
  /** the guest's object space (its mirrors); valid while the guest is defined */
  space(name: string): ObjectSpace;
  /** the last Transcript output of a guest */
  transcript(name: string, maxBytes?: number): string;
  /** the guest's changes since its last snapshot (every entry with `all`), from its changes file */
  changes(name: string, options?: ChangesOptions): GuestChanges;
  subscribe(listener: (event: HypervisorEvent) => void): () => void;
  /** daemon-wide figures for metrics */
  daemonStats(): DaemonStats;
}

/** The daemon-wide resource limits and refusals (0 without the resources plugin). */
export interface DaemonResourceFigures {
  socketsLimit: number;
  /** files all guests hold open, and the daemon-wide limit */
  filesOpen: number;
  filesLimit: number;
  /** opens refused because of the daemon-wide limits (a guest's own quota refusals are in its GuestStats) */
  socketsRefusedByLimit: number;
  filesRefusedByLimit: number;
}

export interface DaemonStats extends DaemonResourceFigures {
  startedAt: number;
  guestSwitches: number;
  /** durations of the slices run since the last scrape, milliseconds */
  slicesMs: number[];
  /** how late heartbeats ran since the last scrape, milliseconds */
  heartbeatLatenessMs: number[];
  socketsOpen: number;
}
