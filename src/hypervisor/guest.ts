/**
 * One guest of the hypervisor: a named image with its changes file in the daemon's data directory, its
 * object space (heap + interpreter) when loaded, its state and reason, its accounting, and the Transcript
 * ring buffer.
 *
 *   DIR/guests/NAME/NAME.image     the last snapshot (written atomically: tmp, fsync, rename)
 *   DIR/guests/NAME/NAME.changes   every source change, appended and fsynced before it takes effect
 *   DIR/guests/NAME/guest.json     configuration, desired state, last state, snapshot time
 *   DIR/guests/NAME/files/         the guest's file sandbox (issue 6)
 *
 * Host jobs (evaluations, process runs through the membrane) never run on their own: the space's
 * `executor` queues them on the guest and the scheduler runs them in the guest's turns, charged to the
 * guest (and to its quota while it runs). In a paused, crashed or shut-off guest they still run, in
 * turns of their own ("surgery"), so that a host can repair a guest that is not running.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalObjectSpace } from "../membrane/local/space.js";
import type { Job, JobBudget, JobOutcome } from "../membrane/local/jobs.js";
import { failureStackFrames, processStackFrames } from "../membrane/local/stack.js";
import { processState, suspendProcess, terminateAtVMLevel } from "../membrane/local/processes.js";
import type { SliceResult } from "../vm/interpreter/slice.js";
import { activeProcess } from "../vm/interpreter/scheduler.js";
import { Special } from "../vm/memory/special.js";
import { ProcessLayout } from "../vm/memory/layout.js";
import type { Oop } from "../vm/memory/oop.js";
import { nodeHost } from "../tools/host/nodeHost.js";
import { ChangesFile } from "../tools/host/sourceFiles.js";
import { sourceFilesOf } from "../tools/session.js";
import { changesSinceLastSnapshot, replayChanges, type ReplayReport } from "../membrane/changes.js";
import type { GuestConfig, GuestInfo, GuestState, GuestStats, HypervisorEvent, ResourceFigures, StateReason } from "./types.js";
import { HypervisorError } from "./types.js";
import { newSchedState, type GuestSchedState, type Scheduler } from "./scheduler.js";
import type { StackFrame } from "../membrane/objectSpace.js";

/** What a sockets/files provider (issue 6) attaches to a guest. */
export interface GuestResources {
  /** figures merged into the guest's stats (sockets, bytes in and out, file bytes, host finalizations) */
  stats?(): Partial<ResourceFigures>;
  /** releases every OS resource the guest holds; called when its VM goes away (stop, destroy, quit, shutdown) */
  release(reason: ReleaseReason): void | Promise<void>;
}

export type ReleaseReason = "stop" | "destroy" | "quit" | "shutdown" | "unload";

/** Called each time a guest's VM is created (loaded from its image), before it runs. */
export interface GuestHook {
  attach(guest: Guest): GuestResources | void | undefined;
}

/** What a guest needs from its hypervisor. */
export interface GuestEnvironment {
  readonly scheduler: Scheduler;
  readonly hooks: readonly GuestHook[];
  emit(event: HypervisorEvent): void;
  log(line: string): void;
  readonly logTranscripts: boolean;
  /** the kernel image's bytes (guests defined without an image) */
  kernelImage(): Promise<Uint8Array>;
}

/** guest.json */
export interface GuestMeta {
  version: 1;
  name: string;
  config: GuestConfig;
  createdAt: string;
  lastSnapshotAt?: string;
  /** what the daemon brings the guest back to after a restart */
  desired: "running" | "stopped";
  lastState: GuestState;
  lastReason: StateReason;
  /** identity hashes of the host jobs' processes at the last snapshot (ended when the image is loaded) */
  hostJobHashes?: number[];
}

interface PendingJob {
  job: Job;
  budget: JobBudget;
  resolve(outcome: JobOutcome): void;
  cpuMs: number;
  bytecodes: number;
}

export const STARTUP_PROCESS_NAME = "ozd startup";
const TRANSCRIPT_BYTES = 64 * 1024;

function emptyStats(): GuestStats {
  return {
    cpuMs: 0, bytecodes: 0, sends: 0, slices: 0, throttledPeriods: 0, throttledMs: 0, heapBytes: 0, heapLimitBytes: 0,
    gcCount: 0, gcMs: 0, processes: { running: 0, runnable: 0, waiting: 0, suspended: 0, failed: 0 },
    socketsOpen: 0, socketsOpened: 0, socketsRefused: 0, bytesIn: 0, bytesOut: 0, finalizedByImage: 0, finalizedByHost: 0,
    fileBytes: 0, filesOpen: 0, filesOpened: 0, filesRefused: 0, fileBytesRead: 0, fileBytesWritten: 0, uptimeMs: 0,
  };
}

/** Writes a file atomically: a temporary file, fsync, rename, fsync of the directory. */
export function writeFileAtomic(file: string, data: Uint8Array | string, mode?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dirFd = fs.openSync(path.dirname(file), "r");
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // some file systems cannot fsync a directory
  }
}

/** The same, without blocking the event loop (other guests run meanwhile). */
export async function writeFileAtomicAsync(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.promises.open(tmp, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
  try {
    const dir = await fs.promises.open(path.dirname(file), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // some file systems cannot fsync a directory
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}

export class Guest {
  readonly dir: string;
  readonly imageFile: string;
  readonly changesFile: string;
  readonly metaFile: string;
  readonly filesDir: string;
  state: GuestState = "shutoff";
  reason: StateReason = "defined";
  crash: GuestInfo["crash"];
  meta: GuestMeta;
  space: LocalObjectSpace | undefined;
  private changes: ChangesFile | undefined;
  /** sockets and files (issue 6): attached by a GuestHook when the VM is created */
  resources: GuestResources | undefined;
  readonly stats: GuestStats = emptyStats();
  readonly sched: GuestSchedState = newSchedState();
  private readonly jobs: PendingJob[] = [];
  private transcriptText = "";
  private transcriptLine = "";
  private gcPauses: number[] = [];
  private startedAt: number | undefined;
  private processCache: { at: number; key: string; counts: GuestStats["processes"] } | undefined;
  private faultHandles: Array<{ release(): void }> = [];

  constructor(
    readonly name: string,
    guestsDir: string,
    meta: GuestMeta,
    private readonly env: GuestEnvironment,
  ) {
    this.dir = path.join(guestsDir, name);
    this.imageFile = path.join(this.dir, `${name}.image`);
    this.changesFile = path.join(this.dir, `${name}.changes`);
    this.metaFile = path.join(this.dir, "guest.json");
    this.filesDir = path.join(this.dir, "files");
    this.meta = meta;
  }

  get config(): GuestConfig {
    return this.meta.config;
  }

  /** Running, or running but throttled by its quota: the guest's own processes run. */
  isActive(): boolean {
    return this.state === "running" || (this.state === "paused" && this.reason === "quota");
  }

  hasJobs(): boolean {
    return this.jobs.length > 0;
  }

  // ------------------------------------------------------------------ files

  saveMeta(): void {
    writeFileAtomic(this.metaFile, `${JSON.stringify(this.meta, null, 2)}\n`);
  }

  static readMeta(file: string): GuestMeta {
    const meta = JSON.parse(fs.readFileSync(file, "utf8")) as GuestMeta;
    if (meta.version !== 1 || typeof meta.name !== "string" || typeof meta.config !== "object") throw new Error(`${file} is not a guest description`);
    return meta;
  }

  // ------------------------------------------------------------------ state

  setState(state: GuestState, reason: StateReason, persist = true): void {
    if (this.state === state && this.reason === reason) return;
    this.state = state;
    this.reason = reason;
    if (persist && !(state === "paused" && (reason === "quota" || reason === "snapshot"))) {
      this.meta.lastState = state;
      this.meta.lastReason = reason;
      try {
        this.saveMeta();
      } catch (e) {
        this.env.log(`ozd: guest ${this.name}: cannot write ${this.metaFile}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.env.emit({ type: "state", guest: this.name, state, reason, at: Date.now() });
    if (this.isActive() && this.space) this.env.scheduler.wake(this);
  }

  /** Called by the scheduler when the guest's quota throttles it or its period starts again. */
  throttled(on: boolean): void {
    if (on && this.state === "running") this.setState("paused", "quota");
    else if (!on && this.state === "paused" && this.reason === "quota") this.setState("running", "unpaused");
  }

  info(): GuestInfo {
    const info: GuestInfo = { name: this.name, state: this.state, reason: this.reason, config: structuredClone(this.config), stats: this.currentStats() };
    if (this.crash) info.crash = structuredClone(this.crash);
    return info;
  }

  // ------------------------------------------------------------------ the VM

  /** Loads the guest's image into an object space (without running it); answers the space. */
  load(): LocalObjectSpace {
    if (this.space) return this.space;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(fs.readFileSync(this.imageFile));
    } catch (e) {
      throw new HypervisorError("internal", `guest ${this.name}: cannot read ${this.imageFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    this.changes = new ChangesFile(this.changesFile);
    const host = nodeHost({ write: (text) => this.transcript(text), changes: this.changes, kernelFiles: [], snapshotFile: this.imageFile });
    let space: LocalObjectSpace;
    try {
      space = LocalObjectSpace.fromImage(bytes, host, { limitBytes: this.config.memoryLimitBytes });
    } catch (e) {
      this.changes.close();
      this.changes = undefined;
      throw new HypervisorError("failedPrecondition", `guest ${this.name}: its image cannot be loaded: ${e instanceof Error ? e.message : String(e)}`);
    }
    host.sources.kernelFiles.push(...sourceFilesOf(space.mem));
    space.executor = (job, budget) => this.submit(job, budget);
    const vm = space.vm;
    vm.imageName = this.imageFile;
    vm.gcListeners.push((r) => {
      this.stats.gcCount++;
      this.stats.gcMs += r.ms;
      if (this.gcPauses.length >= 1000) this.gcPauses.shift();
      this.gcPauses.push(r.ms);
    });
    // host signals (sockets, files, timers of adapters) wake a parked guest: through the host's `wake`
    // hook (the resource plugins call it) and whenever a semaphore signal is posted
    (host as { wake?: () => void }).wake = () => this.wake();
    const signal = vm.signalSemaphoreAsync.bind(vm);
    vm.signalSemaphoreAsync = (semaphore: Oop) => {
      signal(semaphore);
      this.wake();
    };
    this.space = space;
    this.endStaleHostJobs();
    this.resources = undefined;
    for (const hook of this.env.hooks) {
      try {
        const r = hook.attach(this);
        if (r) this.resources = r;
      } catch (e) {
        this.env.log(`ozd: guest ${this.name}: a resource hook failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.env.scheduler.add(this);
    return space;
  }

  /** Host evaluations that were running when the image was saved have nobody to report to: end them. */
  private endStaleHostJobs(): void {
    const hashes = this.meta.hostJobHashes;
    if (!hashes || hashes.length === 0 || !this.space) return;
    const space = this.space;
    for (const proc of space.processOops()) {
      if (hashes.includes(space.mem.hashOf(proc)) && space.processState(proc) !== "terminated") {
        try {
          terminateAtVMLevel(space.vm, proc);
        } catch {
          // a damaged process: leave it
        }
      }
    }
  }

  /** Forgets the VM (after a stop, a destroy, a quit): releases its resources and fails pending jobs. */
  async unload(reason: ReleaseReason): Promise<void> {
    this.env.scheduler.remove(this);
    this.failJobs("the guest's VM was shut down");
    this.releaseFaultHandles();
    const resources = this.resources;
    this.resources = undefined;
    if (resources) {
      try {
        await resources.release(reason);
      } catch (e) {
        this.env.log(`ozd: guest ${this.name}: releasing its resources failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (this.space) this.space.releaseAll();
    this.space = undefined;
    this.changes?.close();
    this.changes = undefined;
    this.startedAt = undefined;
    this.sched.parked = false;
    this.sched.throttled = false;
    this.sched.periodStart = undefined;
    this.sched.usedInPeriod = 0;
  }

  /** Replays the changes logged after the last snapshot (crash recovery); answers undefined when there were none. */
  async recover(): Promise<ReplayReport | undefined> {
    let text: string;
    try {
      text = fs.readFileSync(this.changesFile, "utf8");
    } catch {
      return undefined;
    }
    const entries = changesSinceLastSnapshot(text);
    if (entries.length === 0) return undefined;
    const space = this.load();
    const report = await replayChanges(space, entries);
    return report;
  }

  /** Starts the image's processes again and runs the guest's startup source (the VM must be loaded). */
  async boot(reason: "booted" | "restored"): Promise<void> {
    const space = this.load();
    this.crash = undefined;
    this.startedAt = performance.now();
    this.sched.periodStart = undefined;
    this.sched.usedInPeriod = 0;
    this.meta.desired = "running";
    this.setState("running", reason);
    this.env.scheduler.wake(this);
    if (await this.understands("Smalltalk", "startUp")) {
      const r = await space.evaluate("Smalltalk startUp", { budget: { ms: 10_000 } });
      if (!r.ok) this.error(`Smalltalk startUp failed: ${r.errorClass}: ${r.messageText}`, r.stack);
      else r.value.release();
    }
    if (this.config.startup && this.space === space && this.isActive()) {
      this.endStartupProcesses();
      const source = `| p | p := [${this.config.startup}\n] newProcess. p name: '${STARTUP_PROCESS_NAME}'. p resume. nil`;
      const r = await space.evaluate(source, { budget: { ms: 10_000 } });
      if (!r.ok) this.error(`the startup source failed: ${r.errorClass}: ${r.messageText}`, r.stack);
      else r.value.release();
    }
  }

  private async understands(global: string, selector: string): Promise<boolean> {
    const space = this.space!;
    try {
      const value = await space.globalNamed(global);
      if (!value) return false;
      const cls = await value.getClass();
      const method = await cls.lookup(selector);
      value.release();
      cls.release();
      method?.release();
      return method !== undefined;
    } catch {
      return false;
    }
  }

  /** Ends the processes a previous start left running its startup source (they come back with a snapshot). */
  private endStartupProcesses(): void {
    const space = this.space!;
    const mem = space.mem;
    for (const proc of space.processOops()) {
      const name = mem.fetchPointer(proc, ProcessLayout.name);
      if ((name & 3) !== 0 || name === mem.nilOop || !mem.hasBytes(name) || mem.stringOf(name) !== STARTUP_PROCESS_NAME) continue;
      if (space.processState(proc) === "terminated") continue;
      try {
        terminateAtVMLevel(space.vm, proc);
      } catch {
        // leave a damaged process alone
      }
    }
  }

  private error(message: string, stack?: StackFrame[]): void {
    this.env.emit({ type: "error", guest: this.name, message, stack: stack?.map(frameText), at: Date.now() });
    this.env.log(`ozd: guest ${this.name}: ${message}`);
  }

  wake(): void {
    this.env.scheduler.wake(this);
  }

  // ------------------------------------------------------------------ host jobs

  /** The space's executor: queue the job on this guest; the scheduler runs it. */
  private submit(job: Job, budget: JobBudget): Promise<JobOutcome> {
    if (!this.space) return Promise.resolve(crashedOutcome("the guest's VM is not loaded"));
    return new Promise<JobOutcome>((resolve) => {
      this.jobs.push({ job, budget, resolve, cpuMs: 0, bytecodes: 0 });
      this.env.scheduler.wake(this);
    });
  }

  private settle(p: PendingJob, outcome: JobOutcome): void {
    const i = this.jobs.indexOf(p);
    if (i >= 0) this.jobs.splice(i, 1);
    p.resolve(outcome);
  }

  private failJobs(description: string, slice?: SliceResult): void {
    for (const p of [...this.jobs]) this.settle(p, crashedOutcome(description, slice));
  }

  /** Pending host jobs end as interrupted (the guest was interrupted). */
  interruptJobs(): void {
    for (const p of [...this.jobs]) this.settle(p, { state: "interrupted" });
  }

  // ------------------------------------------------------------------ slices

  /**
   * Runs one slice of at most `ms` and deals with how it ended; answers the CPU milliseconds charged. Never
   * throws: whatever goes wrong in this guest's code path crashes this guest only.
   */
  runSlice(ms: number, chargeQuota: boolean): number {
    const space = this.space;
    if (!space) return 0;
    const vm = space.vm;
    let bytecodes: number | undefined;
    for (const p of this.jobs) {
      if (p.budget.bytecodes !== undefined) bytecodes = Math.min(bytecodes ?? Infinity, Math.max(1, p.budget.bytecodes - p.bytecodes));
    }
    const start = performance.now();
    let slice: SliceResult;
    try {
      slice = vm.run({ ms, bytecodes });
    } catch (e) {
      slice = { reason: "fault", bytecodes: 0, sends: 0, elapsedMs: performance.now() - start, fault: { kind: "vmError", message: `internal error: ${e instanceof Error ? e.message : String(e)}` } };
    }
    // charged: the time the slice held the daemon's thread, the resource the guests share (on a loaded
    // machine this includes time the OS gave to other processes, for every guest alike)
    const elapsed = Math.max(0, slice.elapsedMs);
    this.lastSliceWallMs = slice.elapsedMs;
    this.stats.cpuMs += elapsed;
    this.stats.bytecodes += slice.bytecodes;
    this.stats.sends += slice.sends;
    this.stats.slices++;
    if (chargeQuota) this.sched.usedInPeriod += elapsed;
    for (const p of this.jobs) {
      p.cpuMs += elapsed;
      p.bytecodes += slice.bytecodes;
    }
    if (slice.reason === "budget" && this.exhausted(slice)) {
      slice = {
        ...slice,
        reason: "fault",
        fault: {
          kind: "outOfMemory",
          message: `out of memory: the heap is full (${space.mem.bytesUsed()} of ${space.mem.limitBytes} bytes) and the guest makes no progress (its slices go to collecting garbage)`,
        },
      };
    }
    try {
      this.afterSlice(slice);
    } catch (e) {
      try {
        this.crashed({ reason: "fault", bytecodes: 0, sends: 0, elapsedMs: 0, fault: { kind: "vmError", message: `internal error: ${e instanceof Error ? e.message : String(e)}` } });
      } catch {
        this.state = "crashed";
        this.reason = "vmError";
      }
    }
    return elapsed;
  }

  /**
   * The heap watchdog: a guest at its heap limit can spend every slice in emergency collections that free
   * nothing, making no progress and never reaching the point where the VM or the image gives up. After a
   * few such slices in a row (low space signalled, almost no bytecodes, the slice spent), it is out of
   * memory: the hypervisor stops it as the VM would.
   */
  private exhausted(slice: SliceResult): boolean {
    const vm = this.space!.vm;
    const starving = vm.lowSpaceSignalled && slice.bytecodes < 10_000 && slice.elapsedMs >= 10;
    this.starvingSlices = starving ? this.starvingSlices + 1 : 0;
    return this.starvingSlices >= 5;
  }

  private starvingSlices = 0;
  /** wall time of the last slice (the scheduler's samples) */
  lastSliceWallMs = 0;

  private afterSlice(slice: SliceResult): void {
    const space = this.space!;
    // finished jobs first: a job that finished stopped the slice
    for (const p of [...this.jobs]) {
      if (p.job.done) this.settle(p, { state: "finished", result: p.job.result! });
    }
    switch (slice.reason) {
      case "fault": {
        const fault = slice.fault!;
        const failedJob = fault.kind === "unhandledError" && fault.process && fault.object
          ? this.jobs.find((p) => p.job.process.oop === fault.process!.oop)
          : undefined;
        if (failedJob) {
          // a host evaluation failed: the evaluation reports it; the guest goes on without that process
          const proc = fault.process!.oop;
          try {
            if (proc === activeProcess(space.vm) && space.vm.activeContext !== 0) suspendProcess(space.vm, proc);
          } catch {
            // the evaluation will terminate it
          }
          space.mem.releaseHandle(fault.process!);
          this.settle(failedJob, { state: "failed", error: fault.object!, description: fault.message });
          return;
        }
        this.crashed(slice);
        return;
      }
      case "quit":
        this.failJobs("the image quit", slice);
        void this.quit();
        return;
      case "interrupted":
        this.interruptJobs();
        if (this.isActive()) this.setState("paused", "interrupt");
        return;
      case "idle": {
        for (const p of [...this.jobs]) if (slice.wakeAt === undefined) this.settle(p, { state: "idle" });
        const delay = slice.wakeAt === undefined ? undefined : slice.wakeAt - space.vm.msClock();
        this.env.scheduler.park(this, delay);
        break;
      }
      case "budget":
        break;
    }
    for (const p of [...this.jobs]) {
      const b = p.budget;
      if ((b.ms !== undefined && p.cpuMs >= b.ms) || (b.bytecodes !== undefined && p.bytecodes >= b.bytecodes)) this.settle(p, { state: "budgetExhausted" });
    }
  }

  /** A fault stopped the image: crashed, with the failing process left as it is for inspection. */
  private crashed(slice: SliceResult): void {
    const fault = slice.fault ?? { kind: "vmError" as const, message: "the VM stopped" };
    let stack: string[] | undefined;
    const space = this.space;
    if (space) {
      try {
        let frames: StackFrame[] = [];
        if (fault.process && fault.object && fault.process.oop !== space.mem.nilOop) frames = failureStackFrames(space, fault.process.oop, fault.object.oop, 50);
        else {
          const proc = activeProcess(space.vm);
          if (proc !== 0) frames = processStackFrames(space, proc, 50);
        }
        stack = frames.map(frameText);
      } catch {
        stack = undefined;
      }
    }
    if (fault.process) this.faultHandles.push({ release: () => space?.mem.releaseHandle(fault.process!) });
    if (fault.object) this.faultHandles.push({ release: () => space?.mem.releaseHandle(fault.object!) });
    this.crash = { kind: fault.kind, message: fault.message, stack };
    this.failJobs(`the image stopped: ${fault.message}`, slice);
    this.setState("crashed", fault.kind);
    this.error(`crashed (${fault.kind}): ${fault.message}`, stack?.map((description) => ({ description, line: undefined })));
  }

  private releaseFaultHandles(): void {
    for (const h of this.faultHandles) {
      try {
        h.release();
      } catch {
        // already released
      }
    }
    this.faultHandles = [];
  }

  /** Lets a crashed guest go on (after surgery): its failing process continues (the error answers nil). */
  resumeAfterCrash(): void {
    this.releaseFaultHandles();
    this.starvingSlices = 0;
    this.crash = undefined;
  }

  private async quit(): Promise<void> {
    this.meta.desired = "stopped";
    await this.unload("quit");
    this.setState("shutoff", "quit");
  }

  // ------------------------------------------------------------------ snapshots

  /**
   * Writes the image (atomically) and marks the changes file; answers the image file. A running guest is
   * paused (reason "snapshot") meanwhile, and runs again afterwards unless `resumeAfter` is false (stop).
   */
  async snapshot(resumeAfter = true): Promise<string> {
    const space = this.space;
    if (!space) return this.imageFile;
    const wasActive = this.state === "running";
    if (wasActive) this.setState("paused", "snapshot");
    try {
      const bytes = await space.snapshot();
      const changesSize = fileSize(this.changesFile);
      this.meta.hostJobHashes = [...space.vm.hostJobs].map((j) => space.mem.hashOf(j.process.oop));
      await fs.promises.mkdir(this.dir, { recursive: true });
      await writeFileAtomicAsync(this.imageFile, bytes);
      // The marker says "everything before me is in the image on disk". A change logged while the image
      // was being written (a host compile) is not in it: then no marker, and a recovery replays a few
      // changes the image already has rather than lose one.
      if (fileSize(this.changesFile) === changesSize) this.changes?.markSnapshot();
      else this.env.log(`ozd: guest ${this.name}: changes were logged during the snapshot; the next snapshot will mark the changes file`);
      this.meta.lastSnapshotAt = new Date().toISOString();
      this.saveMeta();
    } finally {
      if (resumeAfter && wasActive && this.state === "paused" && this.reason === "snapshot") this.setState("running", "unpaused");
    }
    return this.imageFile;
  }

  /** The image as it is now, in memory (for clones). */
  async imageBytes(): Promise<Uint8Array> {
    if (!this.space) return new Uint8Array(fs.readFileSync(this.imageFile));
    return this.space.snapshot();
  }

  // ------------------------------------------------------------------ Transcript

  private transcript(text: string): void {
    this.transcriptText += text;
    if (this.transcriptText.length > TRANSCRIPT_BYTES) this.transcriptText = this.transcriptText.slice(-TRANSCRIPT_BYTES);
    this.env.emit({ type: "transcript", guest: this.name, text, at: Date.now() });
    if (this.env.logTranscripts) {
      this.transcriptLine += text;
      const lines = this.transcriptLine.split(/\r\n|\r|\n/);
      this.transcriptLine = lines.pop() ?? "";
      for (const line of lines) this.env.log(`[${this.name}] ${line}`);
      if (this.transcriptLine.length > 4096) {
        this.env.log(`[${this.name}] ${this.transcriptLine}`);
        this.transcriptLine = "";
      }
    }
  }

  transcriptTail(maxBytes = TRANSCRIPT_BYTES): string {
    return maxBytes >= this.transcriptText.length ? this.transcriptText : this.transcriptText.slice(-Math.max(0, maxBytes));
  }

  // ------------------------------------------------------------------ stats

  /** GC pauses since the previous drain (for histograms). */
  drainGcPauses(): number[] {
    const out = this.gcPauses;
    this.gcPauses = [];
    return out;
  }

  currentStats(): GuestStats {
    const s: GuestStats = { ...this.stats, processes: { ...this.stats.processes } };
    const space = this.space;
    if (space) {
      s.heapBytes = space.mem.bytesUsed();
      s.heapLimitBytes = space.mem.limitBytes;
      s.processes = this.processCounts();
    } else {
      s.heapLimitBytes = this.config.memoryLimitBytes ?? 0;
    }
    s.gcPausesMs = [...this.gcPauses];
    // a throttle under way counts as it goes (the scheduler adds its whole length when it ends)
    if (this.sched.throttled && this.sched.throttledAt !== undefined) s.throttledMs += performance.now() - this.sched.throttledAt;
    s.uptimeMs = this.startedAt !== undefined && this.state !== "shutoff" ? performance.now() - this.startedAt : 0;
    if (this.resources?.stats) {
      try {
        Object.assign(s, this.resources.stats());
      } catch {
        // a provider's failure does not break the stats
      }
    }
    return s;
  }

  /**
   * Processes by state, from a walk of the heap. The walk is the costly part of a scrape, so it happens
   * at most once a second, and not at all while the image stands still: a guest that has run no bytecode
   * and allocated nothing since the last walk keeps its counts (re-walked every 10 s all the same, for the
   * rare change a host makes without allocating, such as suspending a process through a mirror).
   */
  private processCounts(): GuestStats["processes"] {
    const now = performance.now();
    const space = this.space!;
    const mem = space.mem;
    const key = `${space.vm.bytecodeCount}:${mem.freeStart}`;
    const cache = this.processCache;
    if (cache && (now - cache.at < 1000 || (cache.key === key && now - cache.at < 10_000))) return cache.counts;
    const counts = { running: 0, runnable: 0, waiting: 0, suspended: 0, failed: 0 };
    try {
      const processClass = mem.specialObject(Special.classProcess);
      const procs: Oop[] = [];
      mem.forEachObject((oop) => {
        if (mem.classOfPointer(oop) === processClass) procs.push(oop);
      });
      for (const p of procs) {
        const st = processState(space.vm, p);
        if (st !== "terminated") counts[st]++;
      }
    } catch {
      // a damaged heap: report what was counted
    }
    this.processCache = { at: now, key, counts };
    return counts;
  }
}

function frameText(f: StackFrame): string {
  return f.line !== undefined ? `${f.description} (line ${f.line})` : f.description;
}

function crashedOutcome(description: string, slice?: SliceResult): JobOutcome {
  return { state: "crashed", description, slice: slice ?? { reason: "fault", bytecodes: 0, sends: 0, elapsedMs: 0 } };
}
