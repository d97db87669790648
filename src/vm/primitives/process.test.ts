/**
 * Unit tests of the process and semaphore primitives (85 signal, 86 wait, 87 resume, 88 suspend, 167 yield,
 * 230 relinquishProcessor), called directly on a micro image whose main process (priority 40) runs the
 * harness context. The primitives that switch processes leave the harness context, so they go through
 * `callSwitching`, which checks the stack discipline on whichever context ends up holding the result.
 * scheduler.test.ts covers the same behaviour end to end, through Smalltalk code.
 */
import { describe, expect, it } from "vitest";
import { createHarness, type Harness } from "./primitiveHarness.js";
import { processPrimitives } from "./process.js";
import { PrimErr } from "./errors.js";
import { recordPrimitiveCall, uncoveredPrimitives } from "./ledger.js";
import type { PrimitiveFn } from "./table.js";
import { Format } from "../memory/format.js";
import { smallIntOop as int, type Oop } from "../memory/oop.js";
import { LinkedListLayout, ProcessLayout, ProcessorSchedulerLayout, SemaphoreLayout } from "../memory/layout.js";
import { activeProcess, addLastLink, putToSleep, schedulerOf } from "../interpreter/scheduler.js";

const prim = (n: number): PrimitiveFn => {
  const fn = processPrimitives[n];
  if (fn === undefined) throw new Error(`no primitive ${n}`);
  return fn;
};

const STACKP = 2;
const RECEIVER = 5;

interface SwitchingCall {
  ok: boolean;
  code: number;
  /** whether the primitive left the context it was called in */
  switched: boolean;
  /** the answer, read from the context it was called in (saved, if the primitive switched away) */
  result: Oop;
}

/**
 * Pushes receiver and arguments on the active context, calls `fn` and records the call in the ledger.
 * Failure must leave the stack as it was, in the same context. Success must leave one value (the answer)
 * in place of receiver and arguments: on the stack if the context is still active, else saved in the
 * context, whose process then finds it there when it runs again.
 */
function callSwitching(h: Harness, fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): SwitchingCall {
  const { vm, mem } = h;
  const ctx = vm.activeContext;
  const depth = vm.sp - vm.ctxBase;
  vm.push(receiver);
  for (const a of args) vm.push(a);
  vm.primFailCode = 0;
  const ok = fn(vm, args.length);
  recordPrimitiveCall(fn, ok);
  if (!ok) {
    expect(vm.activeContext).toBe(ctx);
    expect(vm.sp - vm.ctxBase).toBe(depth + 1 + args.length);
    [receiver, ...args].forEach((v, i) => expect(vm.stackValue(args.length - i)).toBe(v));
    vm.sp = vm.ctxBase + depth;
    return { ok, code: vm.primFailCode, switched: false, result: 0 };
  }
  if (vm.activeContext === ctx) {
    expect(vm.sp - vm.ctxBase).toBe(depth + 1);
    const result = vm.stackTop();
    vm.sp = vm.ctxBase + depth;
    return { ok, code: 0, switched: false, result };
  }
  // the context was saved: its stack pointer counts the answer, which is on top of its stack
  const stackp = mem.fetchPointer(ctx, STACKP) >> 1;
  expect(RECEIVER + stackp).toBe(depth + 1);
  return { ok, code: 0, switched: true, result: mem.fetchPointer(ctx, RECEIVER + stackp) };
}

function expectFail(h: Harness, n: number, code: number, receiver: Oop, ...args: Oop[]): void {
  const r = callSwitching(h, prim(n), receiver, ...args);
  expect(r.ok).toBe(false);
  expect(r.code).toBe(code);
}

/** The micro image behind the harness, with helpers to read and build the scheduler's state. */
function world() {
  const h = createHarness();
  const { mem, vm } = h;
  const nil = mem.nilOop;
  const sched = schedulerOf(vm);
  const main = activeProcess(vm);
  const harnessContext = vm.activeContext;
  const runQueue = (priority: number) => mem.fetchPointer(mem.fetchPointer(sched, ProcessorSchedulerLayout.quiescentProcessLists), priority - 1);
  const links = (list: Oop): Oop[] => {
    const out: Oop[] = [];
    for (let p = mem.fetchPointer(list, LinkedListLayout.firstLink); p !== nil; p = mem.fetchPointer(p, ProcessLayout.nextLink)) out.push(p);
    return out;
  };
  const method = h.makeMethod([0x70, 0x7c], [], {}, "body");
  /** a process with a fresh context, on no list (as after newProcess or suspend) */
  const process = (priority: number) => h.newProcess(method, nil, priority);
  const runnable = (priority: number) => {
    const p = process(priority);
    putToSleep(vm, p);
    return p;
  };
  const semaphore = (excessSignals: Oop = int(0)) => {
    const s = h.newSemaphore();
    mem.storePointer(s, SemaphoreLayout.excessSignals, excessSignals);
    return s;
  };
  const waitingOn = (sem: Oop, priority: number) => {
    const p = process(priority);
    addLastLink(vm, p, sem);
    return p;
  };
  const field = (proc: Oop, index: number) => mem.fetchPointer(proc, index);
  const contextOf = (proc: Oop) => field(proc, ProcessLayout.suspendedContext);
  const active = () => mem.fetchPointer(sched, ProcessorSchedulerLayout.activeProcess);
  return { h, mem, vm, nil, sched, main, harnessContext, runQueue, links, process, runnable, semaphore, waitingOn, field, contextOf, active };
}

describe("the harness's scheduler", () => {
  it("runs the harness context in the main process, at priority 40, with nothing else runnable", () => {
    const w = world();
    expect(w.main).not.toBe(0);
    expect(w.field(w.main, ProcessLayout.priority)).toBe(int(40));
    for (let p = 1; p <= 80; p++) expect(w.links(w.runQueue(p))).toEqual([]);
  });
});

describe("85 signal", () => {
  it("counts an excess signal when no process waits, and answers the semaphore", () => {
    const w = world();
    const sem = w.semaphore();
    for (const expected of [1, 2, 3]) {
      const r = callSwitching(w.h, prim(85), sem);
      expect(r).toEqual({ ok: true, code: 0, switched: false, result: sem });
      expect(w.field(sem, SemaphoreLayout.excessSignals)).toBe(int(expected));
    }
    const unset = w.semaphore(w.nil); // Semaphore new before initialization: nil counts as none
    expect(callSwitching(w.h, prim(85), unset).ok).toBe(true);
    expect(w.field(unset, SemaphoreLayout.excessSignals)).toBe(int(1));
  });

  it("makes the first waiter runnable without counting the signal, at the back of its run queue when not above the active process", () => {
    const w = world();
    const sem = w.semaphore();
    const first = w.waitingOn(sem, 30);
    const second = w.waitingOn(sem, 30);
    const earlier = w.runnable(30);
    const r = callSwitching(w.h, prim(85), sem);
    expect(r).toEqual({ ok: true, code: 0, switched: false, result: sem });
    expect(w.links(sem)).toEqual([second]);
    expect(w.links(w.runQueue(30))).toEqual([earlier, first]);
    expect(w.field(first, ProcessLayout.myList)).toBe(w.runQueue(30));
    expect(w.field(sem, SemaphoreLayout.excessSignals)).toBe(int(0));
    expect(w.active()).toBe(w.main);
    // a waiter of the active process's own priority does not preempt it either
    const same = w.waitingOn(sem, 40);
    callSwitching(w.h, prim(85), sem);
    callSwitching(w.h, prim(85), sem);
    expect(w.links(sem)).toEqual([]);
    expect(w.links(w.runQueue(40))).toEqual([same]);
    expect(w.active()).toBe(w.main);
  });

  it("lets a waiter of higher priority preempt, the preempted process going first in its run queue", () => {
    const w = world();
    const sem = w.semaphore();
    const other = w.runnable(40);
    const high = w.waitingOn(sem, 50);
    const highContext = w.contextOf(high);
    const r = callSwitching(w.h, prim(85), sem);
    expect(r).toEqual({ ok: true, code: 0, switched: true, result: sem });
    expect(w.active()).toBe(high);
    expect(w.vm.activeContext).toBe(highContext);
    expect(w.field(high, ProcessLayout.myList)).toBe(w.nil);
    expect(w.contextOf(high)).toBe(w.nil);
    expect(w.links(w.runQueue(40))).toEqual([w.main, other]);
    expect(w.contextOf(w.main)).toBe(w.harnessContext);
    expect(w.links(sem)).toEqual([]);
  });

  it("fails (bad receiver) for anything but a Semaphore, accepting instances of its subclasses", () => {
    const w = world();
    const { h, mem } = w;
    expectFail(h, 85, PrimErr.badReceiver, int(3));
    expectFail(h, 85, PrimErr.badReceiver, w.nil);
    expectFail(h, 85, PrimErr.badReceiver, h.char(65));
    expectFail(h, 85, PrimErr.badReceiver, h.array([w.nil, w.nil, int(0)]));
    expectFail(h, 85, PrimErr.badReceiver, mem.instantiate(h.classes.LinkedList));
    expectFail(h, 85, PrimErr.badReceiver, w.process(30));
    expectFail(h, 85, PrimErr.badReceiver, mem.allocate(h.classes.Semaphore, Format.fixed, 2)); // too short
    expectFail(h, 85, PrimErr.badReceiver, w.semaphore(), int(1)); // one argument too many
    const mySemaphore = h.defineClass("Semaphore", Format.fixed, 4);
    const mine = mem.instantiate(mySemaphore);
    expect(callSwitching(h, prim(85), mine).ok).toBe(true);
    expect(w.field(mine, SemaphoreLayout.excessSignals)).toBe(int(1));
  });
});

describe("86 wait", () => {
  it("consumes an excess signal and goes on in the same process", () => {
    const w = world();
    const sem = w.semaphore(int(2));
    w.runnable(40);
    expect(callSwitching(w.h, prim(86), sem)).toEqual({ ok: true, code: 0, switched: false, result: sem });
    expect(w.field(sem, SemaphoreLayout.excessSignals)).toBe(int(1));
    expect(callSwitching(w.h, prim(86), sem).switched).toBe(false);
    expect(w.field(sem, SemaphoreLayout.excessSignals)).toBe(int(0));
    expect(w.active()).toBe(w.main);
    expect(w.links(sem)).toEqual([]);
  });

  it("without excess signals, puts the active process last on the semaphore and runs the highest runnable process", () => {
    const w = world();
    const sem = w.semaphore();
    const before = w.waitingOn(sem, 60);
    const low = w.runnable(20);
    const next = w.runnable(30);
    const nextContext = w.contextOf(next);
    const r = callSwitching(w.h, prim(86), sem);
    expect(r).toEqual({ ok: true, code: 0, switched: true, result: sem });
    expect(w.links(sem)).toEqual([before, w.main]);
    expect(w.field(w.main, ProcessLayout.myList)).toBe(sem);
    expect(w.contextOf(w.main)).toBe(w.harnessContext);
    expect(w.active()).toBe(next);
    expect(w.vm.activeContext).toBe(nextContext);
    expect(w.field(next, ProcessLayout.myList)).toBe(w.nil);
    expect(w.links(w.runQueue(30))).toEqual([]);
    expect(w.links(w.runQueue(20))).toEqual([low]);
  });

  it("resumes the waiter with its stack intact when another process signals the semaphore", () => {
    const w = world();
    const sem = w.semaphore();
    const depth = w.vm.sp - w.vm.ctxBase;
    const other = w.runnable(30);
    expect(callSwitching(w.h, prim(86), sem).switched).toBe(true);
    expect(w.active()).toBe(other);
    // now in the other process: its signal wakes the main process, which preempts it
    const r = callSwitching(w.h, prim(85), sem);
    expect(r).toEqual({ ok: true, code: 0, switched: true, result: sem });
    expect(w.active()).toBe(w.main);
    expect(w.vm.activeContext).toBe(w.harnessContext);
    expect(w.vm.sp - w.vm.ctxBase).toBe(depth + 1);
    expect(w.vm.stackTop()).toBe(sem); // what wait answered
    expect(w.links(w.runQueue(30))).toEqual([other]);
    expect(w.field(sem, SemaphoreLayout.excessSignals)).toBe(int(0));
  });

  it("leaves no active process (the slice then ends idle) when nothing else can run", () => {
    const w = world();
    const sem = w.semaphore(w.nil);
    const r = callSwitching(w.h, prim(86), sem);
    expect(r).toEqual({ ok: true, code: 0, switched: true, result: sem });
    expect(w.vm.activeContext).toBe(0);
    expect(w.active()).toBe(w.nil);
    expect(w.links(sem)).toEqual([w.main]);
    expect(w.contextOf(w.main)).toBe(w.harnessContext);
  });

  it("fails (bad receiver) for anything but a Semaphore, and (inappropriate) when no process is active", () => {
    const w = world();
    const { h, mem } = w;
    expectFail(h, 86, PrimErr.badReceiver, int(0));
    expectFail(h, 86, PrimErr.badReceiver, w.nil);
    expectFail(h, 86, PrimErr.badReceiver, mem.instantiate(h.classes.LinkedList));
    expectFail(h, 86, PrimErr.badReceiver, h.array([w.nil, w.nil, int(1)]));
    expectFail(h, 86, PrimErr.badReceiver, w.semaphore(int(1)), int(1));
    const sem = w.semaphore(int(1));
    mem.storePointer(w.sched, ProcessorSchedulerLayout.activeProcess, w.nil);
    expectFail(h, 86, PrimErr.inappropriate, sem);
    expect(w.field(sem, SemaphoreLayout.excessSignals)).toBe(int(1));
  });
});

describe("87 resume", () => {
  it("puts a suspended process of lower or equal priority at the back of its run queue, and answers it", () => {
    const w = world();
    const earlier = w.runnable(30);
    const p = w.process(30);
    expect(callSwitching(w.h, prim(87), p)).toEqual({ ok: true, code: 0, switched: false, result: p });
    expect(w.links(w.runQueue(30))).toEqual([earlier, p]);
    expect(w.field(p, ProcessLayout.myList)).toBe(w.runQueue(30));
    const same = w.process(40);
    expect(callSwitching(w.h, prim(87), same).switched).toBe(false);
    expect(w.links(w.runQueue(40))).toEqual([same]);
    expect(w.active()).toBe(w.main);
  });

  it("runs a suspended process of higher priority at once, the active one going first in its run queue", () => {
    const w = world();
    const other = w.runnable(40);
    const p = w.process(70);
    const pContext = w.contextOf(p);
    expect(callSwitching(w.h, prim(87), p)).toEqual({ ok: true, code: 0, switched: true, result: p });
    expect(w.active()).toBe(p);
    expect(w.vm.activeContext).toBe(pContext);
    expect(w.links(w.runQueue(40))).toEqual([w.main, other]);
    expect(w.contextOf(w.main)).toBe(w.harnessContext);
  });

  it("accepts instances of Process subclasses", () => {
    const w = world();
    const myProcess = w.h.defineClass("Process", Format.fixed, 9);
    const p = w.mem.instantiate(myProcess);
    w.mem.storePointer(p, ProcessLayout.suspendedContext, w.contextOf(w.process(10)));
    w.mem.storePointer(p, ProcessLayout.priority, int(10));
    expect(callSwitching(w.h, prim(87), p).ok).toBe(true);
    expect(w.links(w.runQueue(10))).toEqual([p]);
  });

  it("fails (bad receiver) for anything but a Process", () => {
    const w = world();
    const { h, mem } = w;
    expectFail(h, 87, PrimErr.badReceiver, int(1));
    expectFail(h, 87, PrimErr.badReceiver, w.nil);
    expectFail(h, 87, PrimErr.badReceiver, w.semaphore());
    expectFail(h, 87, PrimErr.badReceiver, h.array([w.nil, w.contextOf(w.process(30)), int(30), w.nil]));
    expectFail(h, 87, PrimErr.badReceiver, mem.allocate(h.classes.Process, Format.fixed, 3)); // too short
    expectFail(h, 87, PrimErr.badReceiver, w.process(30), int(1)); // one argument too many
    expect(w.links(w.runQueue(30))).toEqual([]);
  });

  it("fails (inappropriate) for the active process, a terminated one, and one already runnable or waiting", () => {
    const w = world();
    const { h, mem } = w;
    expectFail(h, 87, PrimErr.inappropriate, w.main);
    const terminated = w.process(50);
    mem.storePointer(terminated, ProcessLayout.suspendedContext, w.nil);
    expectFail(h, 87, PrimErr.inappropriate, terminated);
    // a dead context (pc nil, as a returned context leaves it) is terminated too, for the image as here:
    // resuming it would stop the whole image with a fault when it comes to run
    const dead = w.process(50);
    mem.storePointer(w.contextOf(dead), 1, w.nil);
    expectFail(h, 87, PrimErr.inappropriate, dead);
    const notAContext = w.process(50);
    mem.storePointer(notAContext, ProcessLayout.suspendedContext, h.array([w.nil, int(1), int(0)]));
    expectFail(h, 87, PrimErr.inappropriate, notAContext);
    expect(w.vm.stopReason).toBeNull();
    const runnable = w.runnable(30);
    expectFail(h, 87, PrimErr.inappropriate, runnable);
    const sem = w.semaphore();
    const waiting = w.waitingOn(sem, 50);
    expectFail(h, 87, PrimErr.inappropriate, waiting);
    expect(w.links(w.runQueue(30))).toEqual([runnable]);
    expect(w.links(sem)).toEqual([waiting]);
    expect(w.links(w.runQueue(50))).toEqual([]);
    expect(w.active()).toBe(w.main);
  });
});

describe("88 suspend", () => {
  it("takes a runnable process off its run queue and answers the queue", () => {
    const w = world();
    const [a, b, c] = [w.runnable(30), w.runnable(30), w.runnable(30)];
    expect(callSwitching(w.h, prim(88), b)).toEqual({ ok: true, code: 0, switched: false, result: w.runQueue(30) });
    expect(w.links(w.runQueue(30))).toEqual([a, c]);
    expect(w.field(b, ProcessLayout.myList)).toBe(w.nil);
    expect(w.field(b, ProcessLayout.nextLink)).toBe(w.nil);
    expect(callSwitching(w.h, prim(88), c).result).toBe(w.runQueue(30));
    expect(w.links(w.runQueue(30))).toEqual([a]);
    expect(w.mem.fetchPointer(w.runQueue(30), LinkedListLayout.lastLink)).toBe(a);
    // suspended, it can be resumed again
    expect(callSwitching(w.h, prim(87), b).ok).toBe(true);
    expect(w.links(w.runQueue(30))).toEqual([a, b]);
  });

  it("takes a waiting process off its semaphore and answers the semaphore", () => {
    const w = world();
    const sem = w.semaphore();
    const [p1, p2, p3] = [w.waitingOn(sem, 50), w.waitingOn(sem, 50), w.waitingOn(sem, 50)];
    expect(callSwitching(w.h, prim(88), p3).result).toBe(sem);
    expect(w.links(sem)).toEqual([p1, p2]);
    expect(w.field(sem, SemaphoreLayout.lastLink)).toBe(p2);
    expect(callSwitching(w.h, prim(88), p1).result).toBe(sem);
    expect(w.links(sem)).toEqual([p2]);
    expect(w.field(p1, ProcessLayout.myList)).toBe(w.nil);
    expect(w.field(sem, SemaphoreLayout.excessSignals)).toBe(int(0));
  });

  it("answers nil for a process on no list", () => {
    const w = world();
    const p = w.process(30);
    expect(callSwitching(w.h, prim(88), p)).toEqual({ ok: true, code: 0, switched: false, result: w.nil });
    expect(w.field(p, ProcessLayout.myList)).toBe(w.nil);
  });

  it("stops the active process, which answers nil when resumed, and runs the highest runnable one", () => {
    const w = world();
    const low = w.runnable(10);
    const next = w.runnable(30);
    const r = callSwitching(w.h, prim(88), w.main);
    expect(r).toEqual({ ok: true, code: 0, switched: true, result: w.nil });
    expect(w.active()).toBe(next);
    expect(w.field(w.main, ProcessLayout.myList)).toBe(w.nil);
    expect(w.contextOf(w.main)).toBe(w.harnessContext);
    expect(w.links(w.runQueue(40))).toEqual([]);
    expect(w.links(w.runQueue(10))).toEqual([low]);
    // from the other process, resuming the main process runs it again where it stopped
    expect(callSwitching(w.h, prim(87), w.main).switched).toBe(true);
    expect(w.vm.activeContext).toBe(w.harnessContext);
    expect(w.vm.stackTop()).toBe(w.nil);
    w.vm.pop(1);
  });

  it("leaves no active process when the active one suspends itself and nothing else can run", () => {
    const w = world();
    const r = callSwitching(w.h, prim(88), w.main);
    expect(r).toEqual({ ok: true, code: 0, switched: true, result: w.nil });
    expect(w.vm.activeContext).toBe(0);
    expect(w.active()).toBe(w.nil);
    expect(w.contextOf(w.main)).toBe(w.harnessContext);
  });

  it("fails (bad receiver) for anything but a Process", () => {
    const w = world();
    const { h, mem } = w;
    const sem = w.semaphore();
    expectFail(h, 88, PrimErr.badReceiver, int(1));
    expectFail(h, 88, PrimErr.badReceiver, w.nil);
    expectFail(h, 88, PrimErr.badReceiver, sem);
    expectFail(h, 88, PrimErr.badReceiver, mem.allocate(h.classes.Process, Format.fixed, 3));
    const waiting = w.waitingOn(sem, 50);
    expectFail(h, 88, PrimErr.badReceiver, waiting, int(1)); // one argument too many
    expect(w.links(sem)).toEqual([waiting]);
    expect(w.active()).toBe(w.main);
  });
});

describe("167 yield", () => {
  it("does nothing when no other process of the active priority is runnable", () => {
    const w = world();
    const low = w.runnable(30);
    expect(callSwitching(w.h, prim(167), w.sched)).toEqual({ ok: true, code: 0, switched: false, result: w.sched });
    expect(w.active()).toBe(w.main);
    expect(w.links(w.runQueue(30))).toEqual([low]);
    expect(w.links(w.runQueue(40))).toEqual([]);
  });

  it("runs the next process of the same priority, putting the active one at the back of the queue", () => {
    const w = world();
    const [a, b] = [w.runnable(40), w.runnable(40)];
    const aContext = w.contextOf(a);
    const r = callSwitching(w.h, prim(167), w.sched);
    expect(r).toEqual({ ok: true, code: 0, switched: true, result: w.sched });
    expect(w.active()).toBe(a);
    expect(w.vm.activeContext).toBe(aContext);
    expect(w.links(w.runQueue(40))).toEqual([b, w.main]);
    expect(w.field(w.main, ProcessLayout.myList)).toBe(w.runQueue(40));
    expect(w.contextOf(w.main)).toBe(w.harnessContext);
    // round robin: a yields to b, b to main
    callSwitching(w.h, prim(167), w.sched);
    expect(w.active()).toBe(b);
    callSwitching(w.h, prim(167), w.sched);
    expect(w.active()).toBe(w.main);
    expect(w.vm.activeContext).toBe(w.harnessContext);
    expect(w.vm.stackTop()).toBe(w.sched);
    w.vm.pop(1);
    expect(w.links(w.runQueue(40))).toEqual([a, b]);
  });

  it("fails (bad number of arguments) when given an argument", () => {
    const w = world();
    w.runnable(40);
    expectFail(w.h, 167, PrimErr.badNumArgs, w.sched, int(1));
    expect(w.active()).toBe(w.main);
  });
});

describe("230 relinquishProcessorForMicroseconds:", () => {
  /** a harness whose millisecond clock reads `ms` */
  function atClock(ms: number) {
    const w = world();
    const clock = { now: 1000 };
    w.vm.host.clock = { ...w.vm.host.clock, now: () => clock.now };
    w.vm.clockOrigin = 1000;
    clock.now += ms;
    return w;
  }

  it("ends the slice idle, without a wake-up time when no timer is armed, answering the receiver", () => {
    const w = atClock(10);
    const r = callSwitching(w.h, prim(230), w.sched, int(1000));
    expect(r).toEqual({ ok: true, code: 0, switched: false, result: w.sched });
    expect(w.vm.stopReason).toBe("idle");
    expect(w.vm.wakeAt).toBeUndefined();
    expect(w.active()).toBe(w.main); // the idle process stays the active one
  });

  it("tells the host when the armed timer is due", () => {
    const w = atClock(10);
    w.vm.nextWakeupMs = 250;
    expect(callSwitching(w.h, prim(230), w.sched, int(1000)).ok).toBe(true);
    expect(w.vm.stopReason).toBe("idle");
    expect(w.vm.wakeAt).toBe(250);
  });

  it("goes on (with an interrupt check next) when the timer is already due or a signal is pending", () => {
    for (const setup of [
      (w: ReturnType<typeof world>) => void (w.vm.nextWakeupMs = 10),
      (w: ReturnType<typeof world>) => w.vm.signalSemaphoreAsync(w.semaphore()),
      (w: ReturnType<typeof world>) => void (w.vm.finalizationPending = true),
    ]) {
      const w = atClock(10);
      setup(w);
      w.vm.interruptCounter = 500;
      expect(callSwitching(w.h, prim(230), w.sched, int(1000))).toEqual({ ok: true, code: 0, switched: false, result: w.sched });
      expect(w.vm.stopReason).toBeNull();
      expect(w.vm.interruptCounter).toBe(0);
    }
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(
      uncoveredPrimitives(processPrimitives, [
        // the microseconds are only a hint (the host decides when to wake the image), so any receiver and
        // argument will do; the kernel's method has no fallback code
        230,
      ]),
    ).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
