/**
 * The interpreter: one dispatch loop over the Squeak V3 + closures bytecode set, whose cases call named
 * helpers (sends.ts, returns.ts, contexts.ts, scheduler.ts, interrupts.ts).
 *
 * Design. Contexts are real heap objects at all times (Blue Book style), so `thisContext`, the debugger
 * and the membrane's mirrors always see the truth. What makes sends cheap is that contexts nobody can
 * see are recycled: a context allocated since the last time one escaped (pushed as thisContext, captured
 * by a closure, or exposed by a process switch) is put back on a free list when it returns (Squeak V3's
 * reclaimable contexts). The active context's registers live in fields:
 *
 *   ip  absolute byte offset in the heap of the next bytecode (method + 11 + Squeak's 1-based pc)
 *   sp  absolute word index of the top of the stack (ctxBase + 5 + stackp)
 *   ctxBase  word index of the context's first field
 *
 * Worked example: `^a + 1`, with `a` the first temp, compiles to <10 76 B0 7C>: <10> pushes
 * words[ctxBase+6], <76> pushes 1, <B0> adds
 * the two SmallIntegers inline without a send when neither overflows, <7C> returns the top to the sender,
 * recycling this context if it never escaped.
 *
 * Interrupt checks happen on sends and backward jumps (design.md section 4): a counter runs down, and
 * when it reaches zero `checkForInterrupts` looks at the clock, the host's requests, timers, pending
 * semaphore signals and the collector.
 */
import type { Handle, RootHolder } from "../memory/heap.js";
import { FLAG_READ_ONLY, HEADER_WORDS, ObjectMemory } from "../memory/heap.js";
import { Special, SPECIAL_SELECTORS } from "../memory/special.js";
import { MAX_SMALLINT, MIN_SMALLINT, type Oop } from "../memory/oop.js";
import { Format } from "../memory/format.js";
import type { VMHost } from "../host.js";
import type { Fault, SliceBudget, SliceResult, StopReason } from "./slice.js";
import { activateMethod, send, superSend } from "./sends.js";
import { cannotAssign, returnFromMethod, returnFromBlock } from "./returns.js";
import { pushClosure, pushNewArray, popIntoNewArray } from "./contexts.js";
import { checkForInterrupts } from "./interrupts.js";
import { mustBeBoolean } from "./sends.js";
import { MethodCache } from "./methodCache.js";
import { activeProcess } from "./scheduler.js";
import { Collector, type GcResult } from "../memory/gc.js";
import { collectGarbage } from "./collect.js";
import type { PrimitiveFn, PrimitiveTable } from "../primitives/table.js";
import { createPrimitiveTable, resolveNamedPrimitive } from "../primitives/table.js";
import { PRIM_EXTERNAL_CALL } from "../method/header.js";

/** Offsets of a context's named fields from ctxBase. */
const SENDER = 0;
const PC = 1;
const STACKP = 2;
const METHOD = 3;
const CLOSURE = 4;
const RECEIVER = 5;
const STACK = 6;
/** slots of a small context: six named fields and a 16-slot stack */
const SMALL_CONTEXT_SLOTS = 22;
/** argument counts of the 32 special selectors, by index */
const SPECIAL_ARG_COUNTS = Int8Array.from(SPECIAL_SELECTORS.map(([, n]) => n));

export interface InterpreterOptions {
  /** collect garbage at every safe point and before every interpreter allocation */
  stressGC?: boolean;
  /** sends and backward jumps between interrupt checks */
  interruptInterval?: number;
  /**
   * The heartbeat flag: a one-element Int32Array, possibly over a SharedArrayBuffer so that another
   * thread (a timer worker) can set it. A non-zero value cuts the running slice short at the next
   * interrupt check, which clears it. Defaults to a private flag set by `heartbeat()`.
   */
  heartbeatFlag?: Int32Array;
}

export class Interpreter implements RootHolder {
  readonly mem: ObjectMemory;
  readonly host: VMHost;
  words: Int32Array;
  bytes: Uint8Array;

  // registers of the active context
  activeContext: Oop = 0;
  ctxBase = 0;
  method: Oop = 0;
  ip = 0;
  sp = 0;
  receiver: Oop = 0;

  /** immediate classes, cached for the send path (refreshed when objects may have moved) */
  classSmallInteger: Oop = 0;
  classCharacter: Oop = 0;
  specialSelectorsOop: Oop = 0;

  // counters
  bytecodeCount = 0;
  sendCount = 0;
  interruptCounter: number;
  interruptInterval: number;
  stressGC: boolean;

  // why the current slice stops
  stopReason: StopReason | null = null;
  fault: Fault | undefined;
  interruptRequested = false;
  readonly heartbeatFlag: Int32Array;
  sliceDeadline = Infinity;
  wakeAt: number | undefined;

  // primitives
  primFailCode = 0;
  readonly primitives: PrimitiveTable;
  readonly methodCache = new MethodCache();

  // context recycling
  freeSmallContexts: Oop[] = [];
  freeLargeContexts: Oop[] = [];
  reclaimableContexts = 0;

  // timers, host signals, finalization, low space
  clockOrigin: number;
  nextWakeupMs = 0;
  readonly pendingSignals: Handle[] = [];
  finalizationPending = false;
  lowSpaceSignalled = false;
  lowSpacePending = false;
  lowSpaceThreshold: number;

  // memory management
  readonly collector: Collector;
  oldBytesAfterFullGC = 0;
  stressCount = 0;
  readonly gcListeners: Array<(result: GcResult) => void> = [];
  processSwitches = 0;

  /** processes the host started, whose bottom context hands its result to the host */
  readonly hostJobs = new Set<HostJob>();

  imageName = "oz.image";

  /** optional trace of every executed bytecode (see trace.ts) */
  trace: ((vm: Interpreter) => void) | null = null;
  readonly extraRoots: RootHolder[] = [];
  /**
   * Contexts running #attemptToAssign:withIndex: for a store-and-pop bytecode: their answer is dropped
   * when they return (see cannotAssign in returns.ts). While any is pending, every return takes the
   * general path, which looks here.
   */
  readonly discardingContexts: Oop[] = [];

  constructor(mem: ObjectMemory, host: VMHost, options: InterpreterOptions = {}) {
    this.mem = mem;
    this.host = host;
    this.words = mem.words;
    this.bytes = mem.bytes;
    mem.growListeners.push(() => {
      this.words = mem.words;
      this.bytes = mem.bytes;
    });
    mem.rootHolders.push(this);
    this.stressGC = options.stressGC ?? false;
    this.interruptInterval = options.interruptInterval ?? 1024;
    this.heartbeatFlag = options.heartbeatFlag ?? new Int32Array(1);
    if (this.heartbeatFlag.length < 1) throw new RangeError("heartbeatFlag needs at least one element");
    this.interruptCounter = this.stressGC ? 1 : this.interruptInterval;
    this.clockOrigin = host.clock.now();
    this.primitives = createPrimitiveTable();
    this.lowSpaceThreshold = Math.max(256 * 1024, Math.floor(mem.limitBytes / 16));
    this.collector = new Collector(mem);
    this.oldBytesAfterFullGC = mem.bytesUsed();
  }

  /** Re-reads what the send path caches from the special objects array (after a collection or become). */
  refreshCachedOops(): void {
    if (this.mem.specialObjectsOop === 0) return;
    this.classSmallInteger = this.mem.specialObject(Special.classSmallInteger);
    this.classCharacter = this.mem.specialObject(Special.classCharacter);
    this.specialSelectorsOop = this.mem.specialObject(Special.specialSelectors);
  }

  hostProcessFor(proc: Oop): HostJob | undefined {
    for (const job of this.hostJobs) if (job.process.oop === proc) return job;
    return undefined;
  }

  // ------------------------------------------------------------------ registers

  /** Writes ip and sp back into the active context (before anything that reads contexts or moves objects). */
  storeContextRegisters(): void {
    if (this.activeContext === 0) return;
    const w = this.words;
    w[this.ctxBase + PC] = ((this.ip - this.method - 11) << 1) | 1;
    w[this.ctxBase + STACKP] = ((this.sp - this.ctxBase - 5) << 1) | 1;
  }

  /** Makes `ctx` the active context, loading its registers. Answers false if it cannot run (dead context). */
  fetchContextRegisters(ctx: Oop): boolean {
    const w = this.words;
    const base = (ctx >> 2) + HEADER_WORDS;
    const pc = w[base + PC];
    const stackp = w[base + STACKP];
    if ((pc & 1) === 0 || (stackp & 1) === 0) return false;
    this.activeContext = ctx;
    this.ctxBase = base;
    this.method = w[base + METHOD];
    this.receiver = w[base + RECEIVER];
    this.ip = this.method + 11 + (pc >> 1);
    this.sp = base + 5 + (stackp >> 1);
    if (ctx < this.mem.youngStart) this.mem.remember(ctx);
    return true;
  }

  visitRoots(visit: (oop: Oop) => Oop): void {
    if (this.activeContext !== 0) this.activeContext = visit(this.activeContext);
    const discarding = this.discardingContexts;
    for (let i = 0; i < discarding.length; i++) discarding[i] = visit(discarding[i]);
    for (const holder of this.extraRoots) holder.visitRoots(visit);
  }

  // ------------------------------------------------------------------ stack, for primitives

  stackValue(n: number): Oop {
    return this.words[this.sp - n];
  }

  stackTop(): Oop {
    return this.words[this.sp];
  }

  push(value: Oop): void {
    this.words[++this.sp] = value;
  }

  pop(n: number): void {
    this.sp -= n;
  }

  popThenPush(n: number, value: Oop): void {
    this.sp -= n - 1;
    this.words[this.sp] = value;
  }

  bool(b: boolean): Oop {
    return b ? this.mem.trueOop : this.mem.falseOop;
  }

  temp(index: number): Oop {
    return this.words[this.ctxBase + STACK + index];
  }

  /** Fails the running primitive with a Squeak primitive error code (see primitives/errors.ts). */
  failWith(code: number): false {
    this.primFailCode = code;
    return false;
  }

  // ------------------------------------------------------------------ stopping

  stop(reason: StopReason, fault?: Fault): void {
    this.stopReason = reason;
    if (fault) this.fault = fault;
    this.interruptCounter = 0;
  }

  /** Asks the running slice to stop at the next interrupt check (the paper's controlled interruption). */
  requestInterrupt(): void {
    this.interruptRequested = true;
    this.interruptCounter = 0;
  }

  /**
   * Sets the heartbeat flag: the running slice stops with "budget" at its next interrupt check. Safe to
   * call from a signal-like callback; another thread sets a shared flag with `Atomics.store(flag, 0, 1)`.
   */
  heartbeat(): void {
    Atomics.store(this.heartbeatFlag, 0, 1);
  }

  /** Signals `semaphore` at the next interrupt check (host events: timers, sockets, finalization). */
  signalSemaphoreAsync(semaphore: Oop): void {
    if (semaphore === this.mem.nilOop || (semaphore & 3) !== 0) return;
    this.pendingSignals.push(this.mem.newHandle(semaphore));
    this.interruptCounter = 0;
  }

  /** The VM's millisecond clock: milliseconds since this VM started. */
  msClock(): number {
    return Math.floor(this.host.clock.now() - this.clockOrigin);
  }

  collect(full: boolean): void {
    collectGarbage(this, full);
  }

  // ------------------------------------------------------------------ slices

  /**
   * Runs the image until the budget is spent, no process wants to run, the host interrupts it, or it
   * cannot go on. Never throws for anything a guest does.
   */
  run(budget: SliceBudget = {}): SliceResult {
    const start = this.host.clock.now();
    const bytecodesBefore = this.bytecodeCount;
    const sendsBefore = this.sendCount;
    this.stopReason = null;
    this.fault = undefined;
    this.wakeAt = undefined;
    this.sliceDeadline = budget.ms !== undefined ? start + budget.ms : Infinity;
    Atomics.store(this.heartbeatFlag, 0, 0);
    const bytecodeLimit = budget.bytecodes ?? Infinity;
    this.reclaimableContexts = 0;
    this.interruptCounter = 0;
    this.refreshCachedOops();
    try {
      if (this.activeContext === 0 && !this.resumeActiveProcess()) {
        this.checkWhileNoProcess();
      }
      while (this.stopReason === null) {
        const remaining = bytecodeLimit - (this.bytecodeCount - bytecodesBefore);
        if (remaining <= 0) {
          this.stop("budget");
          break;
        }
        if (this.trace !== null) {
          this.trace(this);
          this.interpret(1);
        } else {
          this.interpret(remaining > 0x3fffffff ? 0x3fffffff : remaining);
        }
        if (this.activeContext === 0 && this.stopReason === null) this.checkWhileNoProcess();
      }
    } catch (error) {
      this.storeContextRegisters();
      this.stopReason = "fault";
      this.fault = {
        kind: error instanceof RangeError && /call stack/i.test(error.message) ? "vmError" : "vmError",
        message: `internal VM error: ${error instanceof Error ? error.message : String(error)}`,
      };
      if (process.env.OZ_DEBUG) console.error(error);
    }
    if (this.stopReason !== "fault") this.storeContextRegisters();
    return {
      reason: this.stopReason ?? "budget",
      bytecodes: this.bytecodeCount - bytecodesBefore,
      sends: this.sendCount - sendsBefore,
      elapsedMs: this.host.clock.now() - start,
      wakeAt: this.wakeAt,
      fault: this.fault,
    };
  }

  /** Loads the registers of the scheduler's active process (after loading an image or a host change). */
  resumeActiveProcess(): boolean {
    const proc = activeProcess(this);
    if (proc === 0 || proc === this.mem.nilOop) return false;
    const ctx = this.mem.fetchPointer(proc, 1);
    if ((ctx & 3) !== 0 || ctx === this.mem.nilOop) return false;
    if (!this.fetchContextRegisters(ctx)) {
      this.stop("fault", { kind: "badContext", message: "the active process's context cannot run (it has no pc)" });
      return false;
    }
    this.mem.storePointer(proc, 1, this.mem.nilOop);
    return true;
  }

  /** No active process: wait for a timer or a host signal to make one runnable. */
  private checkWhileNoProcess(): void {
    checkForInterrupts(this, 0);
    if (this.activeContext === 0 && this.stopReason === null) {
      this.wakeAt = this.nextWakeupMs !== 0 ? this.nextWakeupMs : undefined;
      this.stop("idle");
    }
  }

  // ------------------------------------------------------------------ the dispatch loop

  /**
   * Executes up to `limit` bytecodes; returns early when the slice must stop. The registers live in
   * locals here (ip, sp, base, rcvr, method); every case that calls out first writes ip and sp back and
   * afterwards reloads all of them, since a call may send, return, switch processes or move objects.
   */
  interpret(limit: number): void {
    let words = this.words;
    let bytes = this.bytes;
    let ip = this.ip;
    let sp = this.sp;
    let base = this.ctxBase;
    let rcvr = this.receiver;
    let method = this.method;
    let nil = this.mem.nilOop;
    let trueOop = this.mem.trueOop;
    let falseOop = this.mem.falseOop;
    // no context is waiting to drop its answer (it changes only on paths that reload the registers)
    let plainReturns = this.discardingContexts.length === 0;
    let n = 0;
    try {
      for (;;) {
        if (n >= limit) break;
        n++;
        const b = bytes[ip++];
        let selector = 0;
        let argCount = 0;
        let special = -1;
        switch (b) {
          // push receiver variable
          case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
          case 8: case 9: case 10: case 11: case 12: case 13: case 14: case 15:
            words[++sp] = words[(rcvr >> 2) + HEADER_WORDS + (b & 15)];
            continue;
          // push temporary
          case 16: case 17: case 18: case 19: case 20: case 21: case 22: case 23:
          case 24: case 25: case 26: case 27: case 28: case 29: case 30: case 31:
            words[++sp] = words[base + STACK + (b & 15)];
            continue;
          // push literal constant
          case 32: case 33: case 34: case 35: case 36: case 37: case 38: case 39:
          case 40: case 41: case 42: case 43: case 44: case 45: case 46: case 47:
          case 48: case 49: case 50: case 51: case 52: case 53: case 54: case 55:
          case 56: case 57: case 58: case 59: case 60: case 61: case 62: case 63:
            words[++sp] = words[(method >> 2) + HEADER_WORDS + 1 + (b & 31)];
            continue;
          // push literal variable (the value of an association)
          case 64: case 65: case 66: case 67: case 68: case 69: case 70: case 71:
          case 72: case 73: case 74: case 75: case 76: case 77: case 78: case 79:
          case 80: case 81: case 82: case 83: case 84: case 85: case 86: case 87:
          case 88: case 89: case 90: case 91: case 92: case 93: case 94: case 95: {
            const assoc = words[(method >> 2) + HEADER_WORDS + 1 + (b & 31)];
            words[++sp] = words[(assoc >> 2) + HEADER_WORDS + 1];
            continue;
          }
          // pop into receiver variable (a read-only receiver is sent #attemptToAssign:withIndex: instead)
          case 96: case 97: case 98: case 99: case 100: case 101: case 102: case 103:
            if ((words[(rcvr >> 2) + 1] & FLAG_READ_ONLY) === 0) {
              this.mem.storePointer(rcvr, b & 7, words[sp--]);
              continue;
            }
            this.ip = ip; this.sp = sp;
            cannotAssign(this, rcvr, b & 7, true);
            break;
          // pop into temporary
          case 104: case 105: case 106: case 107: case 108: case 109: case 110: case 111:
            words[base + STACK + (b & 7)] = words[sp--];
            continue;
          case 112: words[++sp] = rcvr; continue;
          case 113: words[++sp] = trueOop; continue;
          case 114: words[++sp] = falseOop; continue;
          case 115: words[++sp] = nil; continue;
          case 116: words[++sp] = -1; continue; // SmallInteger -1 is oop 0xFFFFFFFF
          case 117: words[++sp] = 1; continue; // 0
          case 118: words[++sp] = 3; continue; // 1
          case 119: words[++sp] = 5; continue; // 2
          case 135: sp--; continue;
          case 136: { const top = words[sp]; words[++sp] = top; continue; }
          case 137:
            this.reclaimableContexts = 0;
            words[++sp] = this.activeContext;
            continue;
          case 140: {
            const vector = words[base + STACK + bytes[ip + 1]];
            words[++sp] = words[(vector >> 2) + HEADER_WORDS + bytes[ip]];
            ip += 2;
            continue;
          }
          case 141: case 142: {
            const vector = words[base + STACK + bytes[ip + 1]];
            this.mem.storePointer(vector, bytes[ip], words[sp]);
            if (b === 142) sp--;
            ip += 2;
            continue;
          }
          // short jumps
          case 144: case 145: case 146: case 147: case 148: case 149: case 150: case 151:
            ip += (b & 7) + 1;
            continue;
          case 152: case 153: case 154: case 155: case 156: case 157: case 158: case 159: {
            const v = words[sp--];
            if (v === falseOop) { ip += (b & 7) + 1; continue; }
            if (v === trueOop) continue;
            this.ip = ip; this.sp = sp;
            mustBeBoolean(this, v, ip - 1);
            break;
          }
          // long jumps
          case 160: case 161: case 162: case 163: case 164: case 165: case 166: case 167: {
            const offset = ((b & 7) - 4) * 256 + bytes[ip++];
            ip += offset;
            if (offset >= 0 || --this.interruptCounter > 0) continue;
            this.ip = ip; this.sp = sp;
            checkForInterrupts(this, ip);
            break;
          }
          case 168: case 169: case 170: case 171: {
            const v = words[sp--];
            const offset = (b & 3) * 256 + bytes[ip++];
            if (v === trueOop) { ip += offset; continue; }
            if (v === falseOop) continue;
            this.ip = ip; this.sp = sp;
            mustBeBoolean(this, v, ip - 2);
            break;
          }
          case 172: case 173: case 174: case 175: {
            const v = words[sp--];
            const offset = (b & 3) * 256 + bytes[ip++];
            if (v === falseOop) { ip += offset; continue; }
            if (v === trueOop) continue;
            this.ip = ip; this.sp = sp;
            mustBeBoolean(this, v, ip - 2);
            break;
          }
          // arithmetic special selectors, inlined for SmallIntegers
          case 176: { // +
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1) {
              const r = (x >> 1) + (y >> 1);
              if (r >= MIN_SMALLINT && r <= MAX_SMALLINT) { words[--sp] = (r << 1) | 1; continue; }
            }
            special = 0;
            break;
          }
          case 177: { // -
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1) {
              const r = (x >> 1) - (y >> 1);
              if (r >= MIN_SMALLINT && r <= MAX_SMALLINT) { words[--sp] = (r << 1) | 1; continue; }
            }
            special = 1;
            break;
          }
          // comparison special selectors, inlined for SmallIntegers (tagging keeps the order of values);
          // followed by a conditional jump, as in loops and ifTrue:, the two run as one step without
          // pushing the Boolean (Squeak's "boolean cheat"), counted as two bytecodes
          case 178: case 179: case 180: case 181: case 182: case 183: {
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) !== 1) { special = b - 176; break; }
            let cond: boolean;
            switch (b) {
              case 178: cond = x < y; break;
              case 179: cond = x > y; break;
              case 180: cond = x <= y; break;
              case 181: cond = x >= y; break;
              case 182: cond = x === y; break;
              default: cond = x !== y; break;
            }
            const next = bytes[ip];
            if (next >= 152 && next <= 159 && n < limit) {
              n++;
              sp -= 2;
              ip += cond ? 1 : (next & 7) + 2;
              continue;
            }
            if (next >= 172 && next <= 175 && n < limit) {
              n++;
              sp -= 2;
              ip += cond ? 2 : 2 + (next & 3) * 256 + bytes[ip + 1];
              continue;
            }
            words[--sp] = cond ? trueOop : falseOop;
            continue;
          }
          case 184: { // *
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1) {
              const r = (x >> 1) * (y >> 1);
              if (r >= MIN_SMALLINT && r <= MAX_SMALLINT) { words[--sp] = (r << 1) | 1; continue; }
            }
            special = 8;
            break;
          }
          case 185: { // /
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1 && y !== 1) {
              const a = x >> 1, d = y >> 1;
              if (a % d === 0) {
                const r = a / d;
                if (r >= MIN_SMALLINT && r <= MAX_SMALLINT) { words[--sp] = (r << 1) | 1; continue; }
              }
            }
            special = 9;
            break;
          }
          case 186: { // \\ (modulo, floored)
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1 && y !== 1) {
              const d = y >> 1;
              let r = (x >> 1) % d;
              if (r !== 0 && (r < 0) !== (d < 0)) r += d;
              words[--sp] = (r << 1) | 1;
              continue;
            }
            special = 10;
            break;
          }
          case 188: { // bitShift:
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1) {
              const a = x >> 1, s = y >> 1;
              if (s >= 0 && s < 31) {
                const r = a * 2 ** s;
                if (r >= MIN_SMALLINT && r <= MAX_SMALLINT) { words[--sp] = (r << 1) | 1; continue; }
              } else if (s < 0 && s > -32) {
                words[--sp] = ((a >> -s) << 1) | 1;
                continue;
              }
            }
            special = 12;
            break;
          }
          case 189: { // // (floored division)
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1 && y !== 1) {
              const r = Math.floor((x >> 1) / (y >> 1));
              if (r >= MIN_SMALLINT && r <= MAX_SMALLINT) { words[--sp] = (r << 1) | 1; continue; }
            }
            special = 13;
            break;
          }
          case 190: { // bitAnd:
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1) { words[--sp] = x & y; continue; }
            special = 14;
            break;
          }
          case 191: { // bitOr:
            const x = words[sp - 1], y = words[sp];
            if ((x & y & 1) === 1) { words[--sp] = x | y; continue; }
            special = 15;
            break;
          }
          case 198: { // == is never sent
            const y = words[sp--];
            words[sp] = words[sp] === y ? trueOop : falseOop;
            continue;
          }
          case 199: // class is never sent
            words[sp] = this.mem.fetchClassOf(words[sp]);
            continue;
          case 187:
          case 192: case 193: case 194: case 195: case 196: case 197:
          case 200: case 201: case 202: case 203: case 204: case 205: case 206: case 207:
            special = b - 176;
            break;
          // sends of literal selectors with 0, 1, 2 arguments
          case 208: case 209: case 210: case 211: case 212: case 213: case 214: case 215:
          case 216: case 217: case 218: case 219: case 220: case 221: case 222: case 223:
          case 224: case 225: case 226: case 227: case 228: case 229: case 230: case 231:
          case 232: case 233: case 234: case 235: case 236: case 237: case 238: case 239:
          case 240: case 241: case 242: case 243: case 244: case 245: case 246: case 247:
          case 248: case 249: case 250: case 251: case 252: case 253: case 254: case 255:
            selector = words[(method >> 2) + HEADER_WORDS + 1 + (b & 15)];
            argCount = (b - 208) >> 4;
            break;
          // returns: the common case (a live sender) stays in the loop
          case 120: case 121: case 122: case 123: case 124: case 125: {
            const value = b === 124 || b === 125 ? words[sp] : b === 120 ? rcvr : b === 121 ? trueOop : b === 122 ? falseOop : nil;
            if (b === 125 || words[base + CLOSURE] === nil) {
              const target = words[base + SENDER];
              const tbase = (target >> 2) + HEADER_WORDS;
              const tpc = words[tbase + PC];
              if ((target & 3) === 0 && target !== nil && (tpc & 1) === 1 && plainReturns) {
                words[base + SENDER] = nil;
                words[base + PC] = nil;
                if (this.reclaimableContexts > 0) {
                  this.reclaimableContexts--;
                  if (!this.stressGC) (words[base - 1] === SMALL_CONTEXT_SLOTS ? this.freeSmallContexts : this.freeLargeContexts).push(this.activeContext);
                }
                this.activeContext = target;
                this.ctxBase = base = tbase;
                this.method = method = words[tbase + METHOD];
                this.receiver = rcvr = words[tbase + RECEIVER];
                ip = method + 11 + (tpc >> 1);
                sp = tbase + 6 + (words[tbase + STACKP] >> 1);
                words[sp] = value;
                if (target < this.mem.youngStart) this.mem.remember(target);
                continue;
              }
            }
            this.ip = ip; this.sp = sp;
            this.dispatchOther(b);
            break;
          }
          // everything else calls out with the registers written back
          default:
            this.ip = ip; this.sp = sp;
            this.dispatchOther(b);
        }
        if (special >= 0) {
          selector = words[(this.specialSelectorsOop >> 2) + HEADER_WORDS + 2 * special];
          argCount = SPECIAL_ARG_COUNTS[special];
        }
        if (selector !== 0) {
          // one-byte sends: the fast paths (a cache hit with no interrupt check due), else the general send
          let handled = false;
          if (this.interruptCounter > 1) {
            const receiver = words[sp - argCount];
            const cls = (receiver & 1) === 1 ? this.classSmallInteger : (receiver & 3) === 2 ? this.classCharacter : words[receiver >> 2];
            const cache = this.methodCache;
            const h = ((selector ^ (cls >>> 1)) >>> 2) & cache.mask;
            if (cache.selectors[h] === selector && cache.classes[h] === cls) {
              const newMethod = cache.methods[h];
              const prim = cache.primitives[h];
              if (prim === 0) {
                const header = words[(newMethod >> 2) + HEADER_WORDS] >> 1;
                const free = (header & 0x20000) === 0 ? this.freeSmallContexts : this.freeLargeContexts;
                if (free.length > 0) {
                  this.interruptCounter--;
                  this.sendCount++;
                  const ctx = free.pop()!;
                  this.reclaimableContexts++;
                  const numTemps = (header >> 18) & 0x3f;
                  const numLits = (header >> 9) & 0xff;
                  const rcvrIndex = sp - argCount;
                  words[base + PC] = ((ip - method - 11) << 1) | 1;
                  words[base + STACKP] = ((rcvrIndex - 1 - base - 5) << 1) | 1;
                  const nb = (ctx >> 2) + HEADER_WORDS;
                  words[nb + SENDER] = this.activeContext;
                  words[nb + PC] = ((((numLits + 1) << 2) + 1) << 1) | 1;
                  words[nb + STACKP] = (numTemps << 1) | 1;
                  words[nb + METHOD] = newMethod;
                  words[nb + CLOSURE] = nil;
                  words[nb + RECEIVER] = receiver;
                  for (let i = 0; i < argCount; i++) words[nb + STACK + i] = words[rcvrIndex + 1 + i];
                  for (let i = argCount; i < numTemps; i++) words[nb + STACK + i] = nil;
                  this.activeContext = ctx;
                  this.ctxBase = base = nb;
                  this.method = method = newMethod;
                  this.receiver = rcvr = receiver;
                  ip = newMethod + 12 + ((numLits + 1) << 2);
                  sp = nb + 5 + numTemps;
                  continue;
                }
              } else if (prim >= 256 && prim <= 519 && receiver !== this.activeContext) {
                this.interruptCounter--;
                this.sendCount++;
                sp -= argCount;
                words[sp] =
                  prim === 256 ? receiver
                  : prim === 257 ? trueOop
                  : prim === 258 ? falseOop
                  : prim === 259 ? nil
                  : prim < 264 ? ((prim - 261) << 1) | 1
                  : words[(receiver >> 2) + HEADER_WORDS + (prim - 264)];
                continue;
              } else if (prim >= 60 && prim <= 62 && (receiver & 3) === 0 && ((words[(receiver >> 2) + 1] >> 3) & 31) === Format.indexable) {
                // at:, at:put:, size of an Array-like object (indexable pointers, no named fields), inline
                const size = words[(receiver >> 2) + 2];
                if (prim === 62) {
                  this.interruptCounter--;
                  this.sendCount++;
                  words[sp] = (size << 1) | 1;
                  continue;
                }
                const index = words[sp - argCount + 1];
                // at:put: on a read-only array takes the primitive, which fails with #'no modification'
                if ((index & 1) === 1 && index >> 1 >= 1 && index >> 1 <= size && (prim === 60 || (words[(receiver >> 2) + 1] & FLAG_READ_ONLY) === 0)) {
                  this.interruptCounter--;
                  this.sendCount++;
                  const slot = (receiver >> 2) + HEADER_WORDS + (index >> 1) - 1;
                  if (prim === 60) {
                    words[--sp] = words[slot];
                  } else {
                    const value = words[sp];
                    words[slot] = value;
                    if (receiver < this.mem.youngStart && value >= this.mem.youngStart && (value & 3) === 0) this.mem.remember(receiver);
                    sp -= 2;
                    words[sp] = value;
                  }
                  continue;
                }
              }
              if (!handled && prim > 0 && prim < 256) {
                this.interruptCounter--;
                this.sendCount++;
                this.ip = ip;
                this.sp = sp;
                this.primFailCode = 0;
                const fn = prim === PRIM_EXTERNAL_CALL ? resolveNamedPrimitive(this, newMethod) : this.primitives.numbered[prim];
                // a primitive may collect before it fails: the collector follows the method (Squeak's newMethod)
                this.collector.primitiveMethod = newMethod;
                if ((fn === undefined || fn === null || !fn(this, argCount)) && (this.stopReason === null || this.stopReason === "budget")) {
                  activateMethod(this, this.collector.primitiveMethod, argCount, this.ip - 1);
                }
                this.collector.primitiveMethod = 0;
                handled = true;
              }
            }
          }
          if (!handled) {
            this.ip = ip;
            this.sp = sp;
            send(this, selector, argCount, ip - 1);
          }
        }
        if (this.stopReason !== null || this.activeContext === 0) break;
        words = this.words;
        bytes = this.bytes;
        ip = this.ip;
        sp = this.sp;
        base = this.ctxBase;
        rcvr = this.receiver;
        method = this.method;
        nil = this.mem.nilOop;
        trueOop = this.mem.trueOop;
        falseOop = this.mem.falseOop;
        plainReturns = this.discardingContexts.length === 0;
      }
      if (this.stopReason === null && this.activeContext !== 0) {
        this.ip = ip;
        this.sp = sp;
      }
    } finally {
      this.bytecodeCount += n;
    }
  }

  /** The bytecodes that are not on the fast path: returns, extended forms, closures, arrays. */
  private dispatchOther(b: number): void {
    const bytes = this.bytes;
    switch (b) {
      case 120: returnFromMethod(this, this.receiver); return;
      case 121: returnFromMethod(this, this.mem.trueOop); return;
      case 122: returnFromMethod(this, this.mem.falseOop); return;
      case 123: returnFromMethod(this, this.mem.nilOop); return;
      case 124: returnFromMethod(this, this.words[this.sp]); return;
      case 125: returnFromBlock(this, this.words[this.sp]); return;
      case 128: this.extendedPush(bytes[this.ip++]); return;
      case 129: this.extendedStore(bytes[this.ip++], false); return;
      case 130: this.extendedStore(bytes[this.ip++], true); return;
      case 131: {
        const d = bytes[this.ip++];
        send(this, this.literal(d & 31), d >> 5, this.ip - 2);
        return;
      }
      case 132: this.doubleExtended(bytes[this.ip], bytes[this.ip + 1]); return;
      case 133: {
        const d = bytes[this.ip++];
        superSend(this, this.literal(d & 31), d >> 5, this.ip - 2);
        return;
      }
      case 134: {
        const d = bytes[this.ip++];
        send(this, this.literal(d & 63), d >> 6, this.ip - 2);
        return;
      }
      case 138: {
        const d = bytes[this.ip++];
        if (d & 128) popIntoNewArray(this, d & 127);
        else pushNewArray(this, d & 127);
        return;
      }
      case 143: pushClosure(this, bytes[this.ip], (bytes[this.ip + 1] << 8) | bytes[this.ip + 2]); return;
      default:
        this.ip--;
        this.stop("fault", { kind: "vmError", message: `unknown bytecode ${b} in ${this.describeMethod(this.method)}` });
    }
  }

  literal(index: number): Oop {
    return this.words[(this.method >> 2) + HEADER_WORDS + 1 + index];
  }

  private extendedPush(d: number): void {
    const index = d & 63;
    switch (d >> 6) {
      case 0: this.push(this.mem.fetchPointer(this.receiver, index)); break;
      case 1: this.push(this.temp(index)); break;
      case 2: this.push(this.literal(index)); break;
      case 3: this.push(this.mem.fetchPointer(this.literal(index), 1)); break;
    }
  }

  private extendedStore(d: number, pop: boolean): void {
    const index = d & 63;
    const value = this.words[this.sp];
    switch (d >> 6) {
      case 0:
        if (this.mem.isReadOnly(this.receiver)) return cannotAssign(this, this.receiver, index, pop);
        this.mem.storePointer(this.receiver, index, value);
        break;
      case 1: this.words[this.ctxBase + STACK + index] = value; break;
      case 2: this.stop("fault", { kind: "vmError", message: "store into a literal constant" }); return;
      case 3: {
        const binding = this.literal(index);
        if (this.mem.isReadOnly(binding)) return cannotAssign(this, binding, 1, pop);
        this.mem.storePointer(binding, 1, value);
        break;
      }
    }
    if (pop) this.sp--;
  }

  private doubleExtended(d: number, operand: number): void {
    this.ip += 2;
    switch (d >> 5) {
      case 0: send(this, this.literal(operand), d & 31, this.ip - 3); break;
      case 1: superSend(this, this.literal(operand), d & 31, this.ip - 3); break;
      case 2: this.push(this.mem.fetchPointer(this.receiver, operand)); break;
      case 3: this.push(this.literal(operand)); break;
      case 4: this.push(this.mem.fetchPointer(this.literal(operand), 1)); break;
      case 5: case 6:
        if (this.mem.isReadOnly(this.receiver)) cannotAssign(this, this.receiver, operand, d >> 5 === 6);
        else this.mem.storePointer(this.receiver, operand, d >> 5 === 6 ? this.words[this.sp--] : this.words[this.sp]);
        break;
      case 7: {
        const binding = this.literal(operand);
        if (this.mem.isReadOnly(binding)) cannotAssign(this, binding, 1, false);
        else this.mem.storePointer(binding, 1, this.words[this.sp]);
        break;
      }
    }
  }

  /** "Foo>>bar" for messages; tolerant of damaged images. */
  describeMethod(method: Oop): string {
    return describeMethodName(this.mem, method);
  }

  /** Registers the functions of a named-primitive module (a plugin). */
  registerModule(name: string, functions: Record<string, PrimitiveFn>): void {
    this.primitives.modules.set(name, functions);
    this.primitives.namedCache.clear();
  }

  /** The sender field offset, exported for helpers. */
  static readonly fields = { SENDER, PC, STACKP, METHOD, RECEIVER, STACK } as const;
}

/** "Foo>>bar" from a method's last two literals (selector and class binding), or a placeholder. */
export function describeMethodName(mem: ObjectMemory, method: Oop): string {
  try {
    if ((method & 3) !== 0 || method === 0) return "a non-method";
    const header = mem.fetchPointer(method, 0) >> 1;
    const numLits = (header >> 9) & 0xff;
    if (numLits < 2) return "a method";
    const selector = mem.fetchPointer(method, numLits - 1);
    const binding = mem.fetchPointer(method, numLits);
    let className = "?";
    if ((binding & 3) === 0 && binding !== mem.nilOop) {
      const cls = mem.fetchPointer(binding, 1);
      className = classNameOf(mem, cls);
    }
    const sel = (selector & 3) === 0 && mem.hasBytes(selector) ? mem.stringOf(selector) : "?";
    return `${className}>>${sel}`;
  } catch {
    return "a method";
  }
}

/** The name of a class or metaclass ("Foo class"), or "?" if it has none. */
export function classNameOf(mem: ObjectMemory, cls: Oop): string {
  if ((cls & 3) !== 0 || cls === 0 || cls === mem.nilOop) return "?";
  const slots = mem.slotCount(cls);
  if (slots > 6) {
    const name = mem.fetchPointer(cls, 6);
    if ((name & 3) === 0 && name !== mem.nilOop && mem.hasBytes(name)) return mem.stringOf(name);
  }
  if (slots === 6) {
    const thisClass = mem.fetchPointer(cls, 5);
    if ((thisClass & 3) === 0 && thisClass !== mem.nilOop && mem.slotCount(thisClass) > 6) {
      return `${classNameOf(mem, thisClass)} class`;
    }
  }
  return "?";
}

/** A process started by the host; `finish` receives its result when its bottom context returns. */
export interface HostJob {
  process: Handle;
  finish(result: Oop): void;
}

export { Special };
