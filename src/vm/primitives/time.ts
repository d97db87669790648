/**
 * Clock and timer primitives (Squeak numbers 135-137, 240-242), driven by the host clock adapter.
 * The millisecond clock counts from the start of this VM; it is a SmallInteger for the first 12 days and
 * a LargePositiveInteger after that (it never wraps). Microsecond clocks count from 1901-01-01, Squeak's
 * epoch.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import { Special } from "../memory/special.js";
import { PrimErr } from "./errors.js";
import { answer, bigIntAt, integerResult } from "./support.js";
import { isSemaphoreObject } from "../interpreter/scheduler.js";

/** Seconds from 1901-01-01 to 1970-01-01. */
export const SQUEAK_EPOCH_OFFSET_SECONDS = 2177452800n;

function utcMicrosSince1901(vm: Interpreter): bigint {
  return vm.host.clock.utcMicroseconds() + SQUEAK_EPOCH_OFFSET_SECONDS * 1_000_000n;
}

/** 135: Time class>>millisecondClockValue */
function primitiveMillisecondClock(vm: Interpreter, argCount: number): boolean {
  return answer(vm, argCount, integerResult(vm, vm.msClock()));
}

/**
 * Arms the timer: `sem` (a Semaphore) is signalled when the millisecond clock reaches `ms`; a nil `sem`
 * disarms it. Validates everything before changing anything, so that a failure leaves the stack as it was.
 */
function setTimer(vm: Interpreter, argCount: number, ms: bigint | undefined): boolean {
  const sem = vm.stackValue(1);
  if (argCount !== 2 || ms === undefined) return vm.failWith(PrimErr.badArgument);
  const mem = vm.mem;
  if (sem === mem.nilOop) {
    mem.setSpecialObject(Special.timerSemaphore, mem.nilOop);
    vm.nextWakeupMs = 0;
  } else {
    // the timer signals whatever it holds: anything but a Semaphore would be taken apart as one
    if (!isSemaphoreObject(vm, sem)) return vm.failWith(PrimErr.badArgument);
    mem.setSpecialObject(Special.timerSemaphore, sem);
    vm.nextWakeupMs = Math.max(1, Number(ms));
    vm.interruptCounter = Math.min(vm.interruptCounter, 16);
  }
  vm.pop(argCount);
  return true;
}

/** 136: Delay class>>primSignal: aSemaphore atMilliseconds: msTime (nil cancels the timer) */
function primitiveSignalAtMilliseconds(vm: Interpreter, argCount: number): boolean {
  return setTimer(vm, argCount, bigIntAt(vm, 0));
}

/** 137: Time class>>secondClock — local seconds since 1901. */
function primitiveSecondClock(vm: Interpreter, argCount: number): boolean {
  const local = utcMicrosSince1901(vm) / 1_000_000n + BigInt(vm.host.clock.localOffsetSeconds());
  return answer(vm, argCount, integerResult(vm, local));
}

/** 240: Time class>>primUTCMicrosecondsClock */
function primitiveUtcMicrosecondClock(vm: Interpreter, argCount: number): boolean {
  return answer(vm, argCount, integerResult(vm, utcMicrosSince1901(vm)));
}

/** 241: Time class>>primLocalMicrosecondsClock */
function primitiveLocalMicrosecondClock(vm: Interpreter, argCount: number): boolean {
  const local = utcMicrosSince1901(vm) + BigInt(vm.host.clock.localOffsetSeconds()) * 1_000_000n;
  return answer(vm, argCount, integerResult(vm, local));
}

/** 242: Delay class>>primSignal: aSemaphore atUTCMicroseconds: anInteger */
function primitiveSignalAtUtcMicroseconds(vm: Interpreter, argCount: number): boolean {
  const target = bigIntAt(vm, 0);
  if (argCount !== 2 || target === undefined) return vm.failWith(PrimErr.badArgument);
  // in bigints, rounding up to the next millisecond: a target too large for a double must not throw
  const deltaMicros = target - utcMicrosSince1901(vm);
  const deltaMs = deltaMicros > 0n ? (deltaMicros + 999n) / 1000n : 0n;
  return setTimer(vm, argCount, BigInt(vm.msClock()) + deltaMs);
}

export const timePrimitives: Record<number, PrimitiveFn> = {
  135: primitiveMillisecondClock,
  136: primitiveSignalAtMilliseconds,
  137: primitiveSecondClock,
  240: primitiveUtcMicrosecondClock,
  241: primitiveLocalMicrosecondClock,
  242: primitiveSignalAtUtcMicroseconds,
};
