/**
 * The hypervisor: several guest images in one process, isolated from each other, with libvirt-style
 * states and reasons, cgroup-style CPU quotas, crash isolation and persistence (docs/hypervisor.md).
 * It implements `HypervisorApi`, the control plane the remote servers, the metrics and the CLI use; the
 * daemon (daemon.ts) is a thin shell around it, and tests use it in-process:
 *
 *   const hv = await Hypervisor.open({ dataDir: "/tmp/oz-data" });
 *   await hv.define("a", { config: { cpu: { quotaMs: 300, periodMs: 1000 }, startup: "[true] whileTrue" } });
 *   await hv.start("a");
 *   const r = await hv.space("a").evaluate("3 + 4");   // runs in a's turns, charged to a
 *   await hv.shutdown();                               // snapshots running guests
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readImage } from "../vm/image/imageFile.js";
import { kernelImageBytes } from "../tools/kernelImage.js";
import type { LocalObjectSpace } from "../membrane/local/space.js";
import { listChanges } from "../membrane/changes.js";
import { ConfigError, GUEST_NAME, validateGuestConfig } from "./config.js";
import { Guest, writeFileAtomic, type GuestEnvironment, type GuestHook, type GuestMeta } from "./guest.js";
import { Scheduler } from "./scheduler.js";
import {
  HypervisorError, type ChangesOptions, type CloneOptions, type DaemonResourceFigures, type DaemonStats, type DefineOptions, type GuestChanges, type GuestConfig,
  type GuestInfo, type HypervisorApi, type HypervisorEvent, type StateReason,
} from "./types.js";

export interface HypervisorOptions {
  /** the data directory (guests live in DIR/guests/NAME/) */
  dataDir: string;
  heartbeatMs?: number;
  sliceMs?: number;
  /** copy the guests' Transcript lines to `log` */
  logTranscripts?: boolean;
  /** the daemon's log (default: nothing) */
  log?: (line: string) => void;
  /** resource providers (sockets, files) attached to every guest VM */
  hooks?: GuestHook[];
  /** the image of guests defined without one (default: the kernel image, built when missing) */
  kernelImage?: () => Promise<Uint8Array>;
  /** do not replay changes or snapshot on open (tests of recovery itself) */
  skipRecovery?: boolean;
}

export class Hypervisor implements HypervisorApi {
  readonly dataDir: string;
  readonly guestsDir: string;
  readonly trashDir: string;
  readonly scheduler: Scheduler;
  readonly hooks: GuestHook[];
  readonly startedAt = Date.now();
  /** the daemon-wide resource figures reported in daemonStats (set by the resources plugin) */
  resourceStats: (() => DaemonResourceFigures) | undefined;
  private readonly guests = new Map<string, Guest>();
  private readonly listeners = new Set<(event: HypervisorEvent) => void>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly env: GuestEnvironment;
  private readonly log: (line: string) => void;
  private snapshotTimer: ReturnType<typeof setInterval> | undefined;
  private readonly bytecodesAtSnapshot = new Map<string, number>();
  private closed = false;

  private constructor(options: HypervisorOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.guestsDir = path.join(this.dataDir, "guests");
    this.trashDir = path.join(this.dataDir, "trash");
    this.scheduler = new Scheduler({ heartbeatMs: options.heartbeatMs, sliceMs: options.sliceMs });
    this.hooks = [...(options.hooks ?? [])];
    this.log = options.log ?? (() => undefined);
    this.scheduler.onError = (e, g) => this.log(`ozd: scheduler error in guest ${g.name}'s turn: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    const kernelImage = options.kernelImage ?? (() => kernelImageBytes());
    this.env = {
      scheduler: this.scheduler,
      hooks: this.hooks,
      emit: (event) => this.emit(event),
      log: this.log,
      logTranscripts: options.logTranscripts ?? false,
      kernelImage,
    };
  }

  /** Opens a data directory: finds its guests and recovers the changes they logged after their last snapshot. */
  static async open(options: HypervisorOptions): Promise<Hypervisor> {
    const hv = new Hypervisor(options);
    fs.mkdirSync(hv.guestsDir, { recursive: true });
    for (const entry of fs.readdirSync(hv.guestsDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const metaFile = path.join(hv.guestsDir, entry.name, "guest.json");
      if (!fs.existsSync(metaFile)) continue;
      let meta: GuestMeta;
      try {
        meta = Guest.readMeta(metaFile);
      } catch (e) {
        hv.log(`ozd: skipping ${path.join(hv.guestsDir, entry.name)}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      const guest = new Guest(entry.name, hv.guestsDir, meta, hv.env);
      // nobody is running after a (re)start: say why
      guest.state = "shutoff";
      guest.reason = meta.lastState === "crashed" ? "crashed" : meta.lastState === "shutoff" ? meta.lastReason : "shutdown";
      hv.guests.set(entry.name, guest);
    }
    if (!options.skipRecovery) {
      for (const guest of hv.guests.values()) await hv.recoverGuest(guest);
    }
    return hv;
  }

  /** Replays a guest's unsaved changes and snapshots the result, so that its image on disk is complete again. */
  private async recoverGuest(guest: Guest): Promise<void> {
    try {
      const report = await guest.recover();
      if (!report) return;
      await guest.snapshot();
      const failed = report.failed.length > 0 ? `, ${report.failed.length} failed (${report.failed.map((f) => f.error).join("; ")})` : "";
      this.log(`ozd: guest ${guest.name}: recovered ${report.replayed} change(s) from ${path.basename(guest.changesFile)}${failed}`);
      for (const f of report.failed) this.emit({ type: "error", guest: guest.name, message: `replaying a change failed: ${f.error}`, at: Date.now() });
      if (guest.state === "shutoff") await guest.unload("unload");
    } catch (e) {
      this.log(`ozd: guest ${guest.name}: recovery failed: ${e instanceof Error ? e.message : String(e)}`);
      this.emit({ type: "error", guest: guest.name, message: `recovery failed: ${e instanceof Error ? e.message : String(e)}`, at: Date.now() });
    }
  }

  // ------------------------------------------------------------------ events

  subscribe(listener: (event: HypervisorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(event: HypervisorEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  addGuestHook(hook: GuestHook): void {
    this.hooks.push(hook);
  }

  // ------------------------------------------------------------------ helpers

  /** The guest object (for the daemon, the resource providers and tests). */
  guest(name: string): Guest {
    const g = this.guests.get(name);
    if (!g) throw new HypervisorError("notFound", `no guest named ${JSON.stringify(name)}`);
    return g;
  }

  has(name: string): boolean {
    return this.guests.has(name);
  }

  /** Runs `fn` after the previous exclusive operation on the same guest name has finished. */
  private async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(name, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(name) === next) this.locks.delete(name);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new HypervisorError("failedPrecondition", "the hypervisor is shutting down");
  }

  private static describe(g: Guest): string {
    return `${g.state} (${g.reason})`;
  }

  // ------------------------------------------------------------------ queries

  list(): GuestInfo[] {
    return [...this.guests.values()].sort((a, b) => a.name.localeCompare(b.name)).map((g) => g.info());
  }

  info(name: string): GuestInfo {
    return this.guest(name).info();
  }

  transcript(name: string, maxBytes?: number): string {
    return this.guest(name).transcriptTail(maxBytes);
  }

  /**
   * The guest's changes since its last snapshot (every entry with `all`), parsed from its changes file. The
   * file is read at once, between two of the guest's writes (they are synchronous), so an entry being
   * written is never seen half done; a file that does not exist has no changes.
   */
  changes(name: string, options: ChangesOptions = {}): GuestChanges {
    const file = this.guest(name).changesFile;
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") throw new HypervisorError("internal", `cannot read ${file}: ${code ?? String(e)}`);
      text = "";
    }
    return { ...listChanges(text, options), file };
  }

  /** The guest's object space; its evaluations run in the guest's turns (or directly-scheduled when it is not running). */
  space(name: string): LocalObjectSpace {
    const g = this.guest(name);
    return g.load();
  }

  /** Daemon-wide figures; the sample lists are those since the last scrape, copied (only `scrape()` drains them). */
  daemonStats(): DaemonStats {
    return this.daemonFigures(this.scheduler.peekSamples());
  }

  private daemonFigures(samples: { slicesMs: number[]; heartbeatLatenessMs: number[] }): DaemonStats {
    let socketsOpen = 0;
    for (const g of this.guests.values()) {
      try {
        socketsOpen += g.resources?.stats?.().socketsOpen ?? 0;
      } catch {
        // a provider's failure does not break the stats
      }
    }
    return {
      startedAt: this.startedAt,
      guestSwitches: this.scheduler.guestSwitches,
      slicesMs: samples.slicesMs,
      heartbeatLatenessMs: samples.heartbeatLatenessMs,
      socketsOpen,
      socketsLimit: 0, filesOpen: 0, filesLimit: 0, socketsRefusedByLimit: 0, filesRefusedByLimit: 0,
      ...this.daemonResourceFigures(),
    };
  }

  private daemonResourceFigures() {
    try {
      const r = this.resourceStats?.();
      if (!r) return {};
      const { socketsLimit, filesOpen, filesLimit, socketsRefusedByLimit, filesRefusedByLimit } = r;
      return { socketsLimit, filesOpen, filesLimit, socketsRefusedByLimit, filesRefusedByLimit };
    } catch {
      return {}; // a provider's failure does not break the stats
    }
  }

  /** Everything a metrics scrape needs, with the sample lists (slices, lateness, GC pauses) drained. */
  scrape(): { daemon: DaemonStats; guests: GuestInfo[] } {
    const daemon = this.daemonFigures(this.scheduler.drainSamples());
    const guests = [...this.guests.values()].map((g) => {
      const info = g.info();
      info.stats.gcPausesMs = g.drainGcPauses();
      return info;
    });
    return { daemon, guests };
  }

  // ------------------------------------------------------------------ define

  private validateName(name: string): void {
    if (typeof name !== "string" || !GUEST_NAME.test(name)) {
      throw new HypervisorError("invalidArgument", `${JSON.stringify(name)} is not a valid guest name (letters, digits, '_', '.', '-', at most 63, starting with a letter or digit)`);
    }
  }

  private validateConfig(name: string, config: Omit<GuestConfig, "name"> | undefined): GuestConfig {
    try {
      return validateGuestConfig({ ...(config ?? {}), name }, "config");
    } catch (e) {
      if (e instanceof ConfigError) throw new HypervisorError("invalidArgument", e.message);
      throw e;
    }
  }

  private async imageFrom(image: Uint8Array | string | undefined, config: GuestConfig): Promise<{ bytes: Uint8Array; changes?: string }> {
    const source = image ?? config.image;
    if (source === undefined) return { bytes: await this.env.kernelImage() };
    if (typeof source === "string") {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(fs.readFileSync(source));
      } catch (e) {
        throw new HypervisorError("invalidArgument", `cannot read the image ${source}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      const changes = source.replace(/\.image$/, "") + ".changes";
      return { bytes, changes: fs.existsSync(changes) ? changes : undefined };
    }
    return { bytes: source };
  }

  async define(name: string, options: DefineOptions = {}): Promise<GuestInfo> {
    this.checkOpen();
    this.validateName(name);
    const config = this.validateConfig(name, options.config);
    return this.exclusive(name, async () => {
      if (this.guests.has(name)) throw new HypervisorError("alreadyExists", `a guest named ${JSON.stringify(name)} already exists`);
      const { bytes, changes } = await this.imageFrom(options.image, config);
      return this.create(name, config, bytes, changes ? fs.readFileSync(changes) : undefined, false).info();
    });
  }

  /** Writes a new guest's directory and registers it (shut off, "defined"). */
  private create(name: string, config: GuestConfig, bytes: Uint8Array, changes: Uint8Array | undefined, markSnapshot: boolean): Guest {
    try {
      readImage(bytes, { limitBytes: Math.max(config.memoryLimitBytes ?? 0, bytes.length * 2) });
    } catch (e) {
      throw new HypervisorError("invalidArgument", `not a usable image: ${e instanceof Error ? e.message : String(e)}`);
    }
    const dir = path.join(this.guestsDir, name);
    if (fs.existsSync(dir)) throw new HypervisorError("alreadyExists", `${dir} already exists (a guest directory without guest.json?)`);
    fs.mkdirSync(path.join(dir, "files"), { recursive: true });
    const meta: GuestMeta = {
      version: 1, name, config, createdAt: new Date().toISOString(), desired: "stopped", lastState: "shutoff", lastReason: "defined",
    };
    const guest = new Guest(name, this.guestsDir, meta, this.env);
    writeFileAtomic(guest.imageFile, bytes);
    fs.writeFileSync(guest.changesFile, changes ?? "");
    if (markSnapshot) fs.appendFileSync(guest.changesFile, `\n"----SNAPSHOT----${new Date().toISOString()}----"!\n`);
    guest.saveMeta();
    this.guests.set(name, guest);
    this.emit({ type: "defined", guest: name, at: Date.now() });
    this.emit({ type: "state", guest: name, state: "shutoff", reason: "defined", at: Date.now() });
    return guest;
  }

  /** Changes a guest's configuration (quotas, weight, limits, startup); the image is not changed. */
  async reconfigure(name: string, config: Omit<GuestConfig, "name">): Promise<GuestInfo> {
    const g = this.guest(name);
    const valid = this.validateConfig(name, config);
    valid.image = g.config.image;
    g.meta.config = valid;
    g.saveMeta();
    if (g.sched.throttled && !valid.cpu) this.scheduler.unthrottle(g);
    g.sched.periodStart = undefined;
    g.sched.usedInPeriod = 0;
    return g.info();
  }

  // ------------------------------------------------------------------ lifecycle

  async start(name: string): Promise<GuestInfo> {
    this.checkOpen();
    return this.exclusive(name, async () => {
      const g = this.guest(name);
      if (g.state !== "shutoff") {
        throw new HypervisorError("failedPrecondition", `guest ${name} is ${Hypervisor.describe(g)}${g.state === "crashed" ? ": resume it after surgery, or stop it first" : ""}`);
      }
      if (!g.space) await this.recoverGuest(g);
      await g.boot(g.reason === "shutdown" && g.meta.desired === "running" ? "restored" : "booted");
      return g.info();
    });
  }

  async suspend(name: string): Promise<GuestInfo> {
    const g = this.guest(name);
    if (!g.isActive()) throw new HypervisorError("failedPrecondition", `guest ${name} is ${Hypervisor.describe(g)}, not running`);
    if (g.sched.throttled) this.scheduler.unthrottle(g);
    g.setState("paused", "user");
    return g.info();
  }

  async resume(name: string): Promise<GuestInfo> {
    const g = this.guest(name);
    if (g.state === "crashed") {
      g.resumeAfterCrash();
    } else if (g.state !== "paused" || g.reason === "quota") {
      throw new HypervisorError("failedPrecondition", `guest ${name} is ${Hypervisor.describe(g)}: only paused or crashed guests resume`);
    }
    g.meta.desired = "running";
    g.setState("running", "unpaused");
    this.scheduler.wake(g);
    return g.info();
  }

  async interrupt(name: string): Promise<GuestInfo> {
    const g = this.guest(name);
    if (!g.isActive()) throw new HypervisorError("failedPrecondition", `guest ${name} is ${Hypervisor.describe(g)}, not running`);
    // The guest is between two slices (one thread): its active process is exactly where it was.
    if (g.sched.throttled) this.scheduler.unthrottle(g);
    g.interruptJobs();
    g.setState("paused", "interrupt");
    return g.info();
  }

  async snapshot(name: string): Promise<string> {
    this.checkOpen();
    return this.exclusive(name, async () => {
      const g = this.guest(name);
      const file = await g.snapshot();
      this.bytecodesAtSnapshot.set(name, g.stats.bytecodes);
      return file;
    });
  }

  async clone(source: string, target: string, options: CloneOptions = {}): Promise<GuestInfo> {
    this.checkOpen();
    this.validateName(target);
    return this.exclusive(target, async () => {
      if (this.guests.has(target)) throw new HypervisorError("alreadyExists", `a guest named ${JSON.stringify(target)} already exists`);
      const src = this.guests.get(source);
      if (!src && options.fromFile === undefined) throw new HypervisorError("notFound", `no guest named ${JSON.stringify(source)}`);
      const config: GuestConfig = { ...(src ? structuredClone(src.config) : {}), name: target, autostart: false };
      delete config.image;
      let bytes: Uint8Array;
      let changes: Uint8Array | undefined;
      if (options.fromFile !== undefined) {
        const img = await this.imageFrom(options.fromFile, config);
        bytes = img.bytes;
        changes = img.changes ? fs.readFileSync(img.changes) : undefined;
      } else {
        // the image as it is this instant; the changes file is copied so that source pointers stay right
        bytes = await src!.imageBytes();
        changes = fs.existsSync(src!.changesFile) ? fs.readFileSync(src!.changesFile) : undefined;
      }
      const guest = this.create(target, config, bytes, changes, true);
      return guest.info();
    }).then(async (info) => (options.start ? this.start(target) : info));
  }

  async stop(name: string): Promise<GuestInfo> {
    this.checkOpen();
    return this.exclusive(name, async () => {
      const g = this.guest(name);
      if (g.state === "shutoff") {
        if (g.space) await g.unload("unload");
        return g.info();
      }
      if (g.state !== "crashed") await g.snapshot(false);
      g.meta.desired = "stopped";
      await g.unload("stop");
      g.setState("shutoff", "stopped");
      return g.info();
    });
  }

  async destroy(name: string): Promise<void> {
    return this.exclusive(name, async () => {
      const g = this.guest(name);
      await g.unload("destroy");
      g.setState("shutoff", "destroyed", false);
      this.guests.delete(name);
      fs.mkdirSync(this.trashDir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      try {
        fs.renameSync(g.dir, path.join(this.trashDir, `${name}-${stamp}`));
      } catch (e) {
        this.log(`ozd: guest ${name}: cannot move ${g.dir} to the trash: ${e instanceof Error ? e.message : String(e)}`);
      }
      this.emit({ type: "undefined", guest: name, at: Date.now() });
    });
  }

  // ------------------------------------------------------------------ daemon operations

  /** Defines the configured guests that do not exist yet and updates the configuration of those that do. */
  async applyConfig(guests: GuestConfig[]): Promise<void> {
    for (const config of guests) {
      const { name, ...rest } = config;
      if (this.guests.has(name)) {
        const g = this.guest(name);
        g.meta.config = { ...rest, name };
        g.saveMeta();
      } else {
        await this.define(name, { config: rest });
      }
    }
  }

  /** Starts the guests that have autostart or were running when the daemon stopped; answers their names. */
  async autostart(): Promise<string[]> {
    const started: string[] = [];
    for (const g of [...this.guests.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (g.state !== "shutoff") continue;
      if (!(g.config.autostart || g.meta.desired === "running")) continue;
      try {
        await this.start(g.name);
        started.push(g.name);
      } catch (e) {
        this.log(`ozd: guest ${g.name}: cannot start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return started;
  }

  /** Snapshots the running guests that ran since their last snapshot. */
  async snapshotChanged(): Promise<string[]> {
    const done: string[] = [];
    for (const g of this.guests.values()) {
      if (!g.space || !g.isActive()) continue;
      if ((this.bytecodesAtSnapshot.get(g.name) ?? -1) === g.stats.bytecodes) continue;
      try {
        await this.snapshot(g.name);
        done.push(g.name);
      } catch (e) {
        this.log(`ozd: guest ${g.name}: periodic snapshot failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return done;
  }

  startPeriodicSnapshots(intervalMs: number): void {
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.snapshotTimer = undefined;
    if (intervalMs > 0) this.snapshotTimer = setInterval(() => void this.snapshotChanged(), intervalMs);
  }

  /**
   * Graceful shutdown: running and paused guests are snapshotted and shut off (reason "shutdown"); those
   * that were running come back at the next start. Crashed guests are not saved (their last good snapshot
   * and the changes file are kept).
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.snapshotTimer = undefined;
    for (const g of [...this.guests.values()]) {
      await this.exclusive(g.name, async () => {
        if (!g.space) return;
        try {
          if (g.state === "crashed") {
            g.meta.desired = "stopped";
            await g.unload("shutdown");
            g.state = "shutoff";
            g.reason = "crashed";
            g.saveMeta();
            return;
          }
          const wasRunning = g.isActive();
          if (g.state !== "shutoff") await g.snapshot(false);
          g.meta.desired = wasRunning ? "running" : "stopped";
          await g.unload("shutdown");
          if (g.state !== "shutoff") g.setState("shutoff", "shutdown");
          else g.saveMeta();
        } catch (e) {
          this.log(`ozd: guest ${g.name}: shutdown snapshot failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
    }
    this.closed = true;
    this.scheduler.close();
  }

  /** Stops everything at once, without saving anything (tests; a daemon uses shutdown). */
  async close(): Promise<void> {
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.snapshotTimer = undefined;
    this.closed = true;
    for (const g of this.guests.values()) await g.unload("shutdown").catch(() => undefined);
    this.scheduler.close();
  }

  /** The names of the guests in the order they are listed. */
  names(): string[] {
    return [...this.guests.keys()].sort();
  }

  stateLine(name: string): string {
    const g = this.guest(name);
    return `${g.state} (${g.reason as StateReason})`;
  }
}
