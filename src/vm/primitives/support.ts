/**
 * Small helpers shared by the primitive files: argument checks and result construction. Every helper
 * answers undefined (or 0 for oops) rather than throwing, so a primitive can simply fail.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import { bigIntValueOf, integerObjectOf } from "../memory/integers.js";
import { Special } from "../memory/special.js";
import type { Oop } from "../memory/oop.js";
import { PrimErr } from "./errors.js";

/** The SmallInteger value at stack depth `n`, or undefined. */
export function smallIntAt(vm: Interpreter, n: number): number | undefined {
  const oop = vm.stackValue(n);
  return (oop & 1) === 1 ? oop >> 1 : undefined;
}

/** The integer (Small or Large) at stack depth `n` as a bigint, or undefined. */
export function bigIntAt(vm: Interpreter, n: number): bigint | undefined {
  return bigIntValueOf(vm.mem, vm.stackValue(n));
}

/** An integer result: a SmallInteger when it fits, else a LargeInteger (0 when memory is short). */
export function integerResult(vm: Interpreter, value: number | bigint): Oop {
  return integerObjectOf(vm.mem, value);
}

/**
 * Fails the running primitive with PrimErr.noModification when `oop` is a read-only object (immediates are
 * left to the primitive's own checks). Answers true when it failed.
 */
export function failIfReadOnly(vm: Interpreter, oop: Oop): boolean {
  if ((oop & 3) !== 0 || !vm.mem.isReadOnly(oop)) return false;
  vm.failWith(PrimErr.noModification);
  return true;
}

/** Pops receiver and arguments and pushes `result`; fails (insufficient memory) when result is 0. */
export function answer(vm: Interpreter, argCount: number, result: Oop): boolean {
  if (result === 0) return vm.failWith(PrimErr.insufficientObjectMemory);
  vm.popThenPush(argCount + 1, result);
  return true;
}

export function answerBool(vm: Interpreter, argCount: number, value: boolean): boolean {
  vm.popThenPush(argCount + 1, value ? vm.mem.trueOop : vm.mem.falseOop);
  return true;
}

/** Answers the receiver itself (for primitives with side effects only). */
export function answerReceiver(vm: Interpreter, argCount: number): boolean {
  vm.pop(argCount);
  return true;
}

export function isFloatObject(vm: Interpreter, oop: Oop): boolean {
  return (oop & 3) === 0 && vm.mem.isFloatClass(vm.mem.classOfPointer(oop));
}

export function isPointerObject(oop: Oop): boolean {
  return (oop & 3) === 0;
}

/** The class of the object at `oop` is `special` (an index of the special objects array). */
export function isInstanceOfSpecial(vm: Interpreter, oop: Oop, special: number): boolean {
  return (oop & 3) === 0 && vm.mem.classOfPointer(oop) === vm.mem.specialObject(special);
}

/** A new String (ByteString) holding `text`; 0 when memory is short or text is not Latin-1. */
export function newString(vm: Interpreter, text: string): Oop {
  try {
    return vm.mem.allocateString(vm.mem.specialObject(Special.classByteString), text);
  } catch {
    return 0;
  }
}
