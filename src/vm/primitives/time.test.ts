/**
 * Unit tests of the clock and timer primitives (135 millisecondClockValue, 136 primSignal:atMilliseconds:,
 * 137 secondClock, 240 UTC microseconds, 241 local microseconds, 242 primSignal:atUTCMicroseconds:), on a
 * fake host clock so that every answer is exact.
 */
import { describe, expect, it } from "vitest";
import { createHarness, type Harness } from "./primitiveHarness.js";
import { timePrimitives, SQUEAK_EPOCH_OFFSET_SECONDS } from "./time.js";
import { PrimErr } from "./errors.js";
import { uncoveredPrimitives } from "./ledger.js";
import type { PrimitiveFn } from "./table.js";
import { Format } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { SemaphoreLayout } from "../memory/layout.js";
import { bigIntValueOf } from "../memory/integers.js";
import { MAX_SMALLINT, smallIntOop as int, type Oop } from "../memory/oop.js";
import { checkForInterrupts } from "../interpreter/interrupts.js";

const prim = (n: number): PrimitiveFn => {
  const fn = timePrimitives[n];
  if (fn === undefined) throw new Error(`no primitive ${n}`);
  return fn;
};

/** 2024-01-01T00:00:00.123456Z, in microseconds since 1970 */
const UTC_1970 = BigInt(Date.UTC(2024, 0, 1)) * 1000n + 123_456n;
/** the same instant in microseconds since 1901-01-01, computed independently of the primitives' constant */
const UTC_1901 = UTC_1970 - BigInt(Date.UTC(1901, 0, 1)) * 1000n;

interface FakeClock {
  /** the host's monotonic milliseconds */
  now: number;
  utc: bigint;
  offsetSeconds: number;
}

/** A harness on a fake clock; the VM's millisecond clock starts at `clock.now` = 5000. */
function timed(options: { limitBytes?: number } = {}): Harness & { clock: FakeClock } {
  const h = createHarness(options);
  const clock: FakeClock = { now: 5000, utc: UTC_1970, offsetSeconds: 3600 };
  h.vm.host.clock = {
    now: () => clock.now,
    utcMicroseconds: () => clock.utc,
    localOffsetSeconds: () => clock.offsetSeconds,
  };
  h.vm.clockOrigin = clock.now;
  return Object.assign(h, { clock });
}

function ok(h: Harness, n: number, receiver: Oop, ...args: Oop[]): Oop {
  return h.answer(prim(n), receiver, ...args);
}

function expectFail(h: Harness, n: number, code: number, receiver: Oop, ...args: Oop[]): void {
  expect(h.failure(prim(n), receiver, ...args)).toBe(code);
}

/** The value of an integer answer, checking that it is a SmallInteger or a LargePositiveInteger as expected. */
function integer(h: Harness, oop: Oop, large: boolean): bigint {
  expect((oop & 1) === 0).toBe(large);
  if (large) expect(h.mem.classOfPointer(oop)).toBe(h.classes.LargePositiveInteger);
  const v = bigIntValueOf(h.mem, oop);
  if (v === undefined) throw new Error("not an integer");
  return v;
}

/** Runs the interrupt check the interpreter makes on sends and backward jumps (it fires the timer). */
function interruptCheck(h: Harness): void {
  checkForInterrupts(h.vm, h.vm.ip);
}

describe("the Squeak epoch", () => {
  it("is 1901-01-01 UTC", () => {
    expect(SQUEAK_EPOCH_OFFSET_SECONDS * 1000n).toBe(-BigInt(Date.UTC(1901, 0, 1)));
  });
});

describe("135 millisecondClockValue", () => {
  it("counts whole milliseconds of the host clock since the VM started", () => {
    const h = timed();
    expect(ok(h, 135, h.mem.nilOop)).toBe(int(0));
    h.clock.now += 1234.9;
    expect(ok(h, 135, h.mem.nilOop)).toBe(int(1234));
    h.clock.now += 0.1;
    expect(ok(h, 135, h.mem.nilOop)).toBe(int(1235));
    expect(ok(h, 135, h.mem.nilOop)).toBe(int(h.vm.msClock()));
  });

  it("goes on with LargePositiveIntegers after 12 days, where SmallIntegers end", () => {
    const h = timed();
    h.clock.now += MAX_SMALLINT;
    expect(ok(h, 135, h.mem.nilOop)).toBe(int(MAX_SMALLINT));
    h.clock.now += 1;
    expect(integer(h, ok(h, 135, h.mem.nilOop), true)).toBe(BigInt(MAX_SMALLINT) + 1n);
  });

  it("fails (insufficient memory) when there is no room for a LargePositiveInteger answer", () => {
    const h = timed({ limitBytes: 1024 * 1024 });
    h.clock.now += MAX_SMALLINT + 1;
    h.exhaustHeap();
    expectFail(h, 135, PrimErr.insufficientObjectMemory, h.mem.nilOop);
    h.clock.now = 5000 + 7; // a SmallInteger still needs no memory
    expect(ok(h, 135, h.mem.nilOop)).toBe(int(7));
  });
});

describe("137 secondClock, 240 UTC and 241 local microseconds", () => {
  it("answer the time since 1901 from the host's UTC clock and local offset", () => {
    const h = timed();
    const nil = h.mem.nilOop;
    expect(integer(h, ok(h, 240, nil), true)).toBe(UTC_1901);
    expect(integer(h, ok(h, 241, nil), true)).toBe(UTC_1901 + 3_600_000_000n);
    expect(integer(h, ok(h, 137, nil), true)).toBe(UTC_1901 / 1_000_000n + 3600n);
    h.clock.offsetSeconds = -5 * 3600;
    h.clock.utc += 2_500_000n;
    expect(integer(h, ok(h, 240, nil), true)).toBe(UTC_1901 + 2_500_000n);
    expect(integer(h, ok(h, 241, nil), true)).toBe(UTC_1901 + 2_500_000n - 18_000_000_000n);
    expect(integer(h, ok(h, 137, nil), true)).toBe((UTC_1901 + 2_500_000n) / 1_000_000n - 18_000n);
  });

  it("agree with each other and with the calendar", () => {
    const h = timed();
    const nil = h.mem.nilOop;
    const seconds = integer(h, ok(h, 137, nil), true);
    const local = integer(h, ok(h, 241, nil), true);
    expect(seconds).toBe(local / 1_000_000n);
    // 2024-01-01 01:00 local time is 123 years (30 of them leap years) and one hour after 1901-01-01
    expect(seconds).toBe((123n * 365n + 30n) * 86_400n + 3600n);
  });

  it("fail (insufficient memory) when there is no room for the LargePositiveInteger answer", () => {
    const h = timed({ limitBytes: 1024 * 1024 });
    h.exhaustHeap();
    for (const n of [137, 240, 241]) expectFail(h, n, PrimErr.insufficientObjectMemory, h.mem.nilOop);
  });
});

describe("136 primSignal:atMilliseconds:", () => {
  it("arms the timer semaphore (special object 30) for a millisecond clock value, and answers the receiver", () => {
    const h = timed();
    const sem = h.newSemaphore();
    const receiver = h.classes.Object;
    h.vm.interruptCounter = 1000;
    expect(ok(h, 136, receiver, sem, int(250))).toBe(receiver);
    expect(h.mem.specialObject(Special.timerSemaphore)).toBe(sem);
    expect(h.vm.nextWakeupMs).toBe(250);
    expect(h.vm.interruptCounter).toBeLessThanOrEqual(16); // checked soon, in case it is due already
    // the interrupt check signals it once the clock gets there, and disarms the timer
    h.clock.now += 249;
    interruptCheck(h);
    expect(h.mem.fetchPointer(sem, SemaphoreLayout.excessSignals)).toBe(int(0));
    h.clock.now += 1;
    interruptCheck(h);
    expect(h.mem.fetchPointer(sem, SemaphoreLayout.excessSignals)).toBe(int(1));
    expect(h.vm.nextWakeupMs).toBe(0);
  });

  it("accepts a LargeInteger time, and keeps a time at or before the clock's start armed (due at once)", () => {
    const h = timed();
    const sem = h.newSemaphore();
    ok(h, 136, h.mem.nilOop, sem, h.int(2n ** 40n));
    expect(h.vm.nextWakeupMs).toBe(2 ** 40);
    ok(h, 136, h.mem.nilOop, sem, int(0));
    expect(h.vm.nextWakeupMs).toBe(1);
    ok(h, 136, h.mem.nilOop, sem, int(-5));
    expect(h.vm.nextWakeupMs).toBe(1);
    h.clock.now += 1;
    interruptCheck(h);
    expect(h.mem.fetchPointer(sem, SemaphoreLayout.excessSignals)).toBe(int(1));
  });

  it("accepts instances of Semaphore subclasses", () => {
    const h = timed();
    const mine = h.mem.instantiate(h.defineClass("Semaphore", Format.fixed, 3));
    ok(h, 136, h.mem.nilOop, mine, int(10));
    expect(h.mem.specialObject(Special.timerSemaphore)).toBe(mine);
  });

  it("disarms the timer for a nil semaphore", () => {
    const h = timed();
    const sem = h.newSemaphore();
    ok(h, 136, h.mem.nilOop, sem, int(10));
    expect(ok(h, 136, h.mem.nilOop, h.mem.nilOop, int(0))).toBe(h.mem.nilOop);
    expect(h.mem.specialObject(Special.timerSemaphore)).toBe(h.mem.nilOop);
    expect(h.vm.nextWakeupMs).toBe(0);
    h.clock.now += 100;
    interruptCheck(h);
    expect(h.mem.fetchPointer(sem, SemaphoreLayout.excessSignals)).toBe(int(0));
  });

  it("fails (bad argument) for a time that is not an integer, or a semaphore that is not a Semaphore or nil, changing nothing", () => {
    const h = timed();
    const { mem } = h;
    const nil = mem.nilOop;
    const armed = h.newSemaphore();
    ok(h, 136, nil, armed, int(40));
    const sem = h.newSemaphore();
    expectFail(h, 136, PrimErr.badArgument, nil, sem, nil);
    expectFail(h, 136, PrimErr.badArgument, nil, sem, h.float(10));
    expectFail(h, 136, PrimErr.badArgument, nil, nil, h.string("10"));
    expectFail(h, 136, PrimErr.badArgument, nil, int(3), int(10));
    expectFail(h, 136, PrimErr.badArgument, nil, h.char(65), int(10));
    // a 3-slot Array would be taken apart as a linked list when the timer fires
    expectFail(h, 136, PrimErr.badArgument, nil, h.array([int(1), int(2), int(3)]), int(10));
    expectFail(h, 136, PrimErr.badArgument, nil, mem.instantiate(h.classes.LinkedList), int(10));
    expectFail(h, 136, PrimErr.badArgument, nil, sem); // one argument
    expect(mem.specialObject(Special.timerSemaphore)).toBe(armed);
    expect(h.vm.nextWakeupMs).toBe(40);
  });
});

describe("242 primSignal:atUTCMicroseconds:", () => {
  it("arms the timer for the millisecond clock value of a UTC instant, rounding up", () => {
    const h = timed();
    const sem = h.newSemaphore();
    h.clock.now += 1000; // the millisecond clock reads 1000 at UTC_1901
    const receiver = h.classes.Object;
    expect(ok(h, 242, receiver, sem, h.int(UTC_1901 + 1_500n))).toBe(receiver);
    expect(h.mem.specialObject(Special.timerSemaphore)).toBe(sem);
    expect(h.vm.nextWakeupMs).toBe(1002);
    ok(h, 242, receiver, sem, h.int(UTC_1901 + 2_000n));
    expect(h.vm.nextWakeupMs).toBe(1002);
    ok(h, 242, receiver, sem, h.int(UTC_1901 + 60_000_000n));
    expect(h.vm.nextWakeupMs).toBe(61_000);
    h.clock.now += 60_000;
    interruptCheck(h);
    expect(h.mem.fetchPointer(sem, SemaphoreLayout.excessSignals)).toBe(int(1));
  });

  it("makes an instant in the past due at once, and takes any integer, however large", () => {
    const h = timed();
    const sem = h.newSemaphore();
    h.clock.now += 1000;
    ok(h, 242, h.mem.nilOop, sem, h.int(UTC_1901 - 5_000_000n));
    expect(h.vm.nextWakeupMs).toBe(1000);
    ok(h, 242, h.mem.nilOop, sem, int(0));
    expect(h.vm.nextWakeupMs).toBe(1000);
    ok(h, 242, h.mem.nilOop, sem, h.int(-(2n ** 100n)));
    expect(h.vm.nextWakeupMs).toBe(1000);
    // beyond the range of a double: armed for (practically) never, and no exception
    ok(h, 242, h.mem.nilOop, sem, h.int(2n ** 1100n));
    expect(h.vm.nextWakeupMs).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    interruptCheck(h);
    expect(h.mem.fetchPointer(sem, SemaphoreLayout.excessSignals)).toBe(int(0));
  });

  it("disarms the timer for a nil semaphore", () => {
    const h = timed();
    ok(h, 242, h.mem.nilOop, h.newSemaphore(), h.int(UTC_1901 + 10_000n));
    ok(h, 242, h.mem.nilOop, h.mem.nilOop, h.int(UTC_1901));
    expect(h.mem.specialObject(Special.timerSemaphore)).toBe(h.mem.nilOop);
    expect(h.vm.nextWakeupMs).toBe(0);
  });

  it("fails (bad argument) for a non-integer instant or a semaphore that is not a Semaphore or nil, leaving the stack and the timer as they were", () => {
    const h = timed();
    const nil = h.mem.nilOop;
    const armed = h.newSemaphore();
    ok(h, 242, nil, armed, h.int(UTC_1901 + 40_000n));
    const sem = h.newSemaphore();
    const when = h.int(UTC_1901 + 1_000n);
    expectFail(h, 242, PrimErr.badArgument, nil, sem, nil);
    expectFail(h, 242, PrimErr.badArgument, nil, sem, h.float(1e15));
    expectFail(h, 242, PrimErr.badArgument, nil, nil, h.string("now"));
    // the harness checks that the argument is still on the stack (it used to be replaced by a clock value)
    expectFail(h, 242, PrimErr.badArgument, nil, int(3), when);
    expectFail(h, 242, PrimErr.badArgument, nil, h.array([int(1), int(2), int(3)]), when);
    expectFail(h, 242, PrimErr.badArgument, nil, sem); // one argument
    expect(h.mem.specialObject(Special.timerSemaphore)).toBe(armed);
    expect(h.vm.nextWakeupMs).toBe(40);
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(uncoveredPrimitives(timePrimitives, [])).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
