/**
 * SmallInteger primitives (Squeak numbers 1-18, 40, 159).
 *
 * 1 +, 2 -, 3 <, 4 >, 5 <=, 6 >=, 7 =, 8 ~=, 9 *, 10 /, 11 \\, 12 //, 13 quo:, 14 bitAnd:, 15 bitOr:,
 * 16 bitXor:, 17 bitShift:, 18 @ (makePoint), 40 asFloat, 159 hashMultiply.
 *
 * Receiver and argument must both be SmallIntegers, as in Squeak; anything else fails so that the method's
 * Smalltalk code (the LargeInteger, Float or Fraction fallback) runs. A result outside the 31-bit
 * SmallInteger range fails too (the fallback then computes a LargeInteger), and so do division by zero
 * and a `/` that is not exact. `//` and `\\` round toward negative infinity, `quo:` toward zero.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import { Special } from "../memory/special.js";
import { PointLayout } from "../memory/layout.js";
import { MAX_SMALLINT, MIN_SMALLINT, type Oop } from "../memory/oop.js";
import type { PrimitiveFn } from "./table.js";
import { PrimErr } from "./errors.js";
import { answer, answerBool, isFloatObject } from "./support.js";
import { integerValueOf } from "./largeInteger.js";

/** Receiver and argument as numbers when both are SmallIntegers; undefined (failure code set) otherwise. */
function smallOperands(vm: Interpreter, argCount: number): [number, number] | undefined {
  if (argCount !== 1) {
    vm.failWith(PrimErr.badNumArgs);
    return undefined;
  }
  const x = vm.stackValue(1);
  const y = vm.stackValue(0);
  if ((x & 1) !== 1) {
    vm.failWith(PrimErr.badReceiver);
    return undefined;
  }
  if ((y & 1) !== 1) {
    vm.failWith(PrimErr.badArgument);
    return undefined;
  }
  return [x >> 1, y >> 1];
}

/** Answers `value` as a SmallInteger, or fails (generic failure) when it does not fit. */
function answerSmall(vm: Interpreter, argCount: number, value: number): boolean {
  if (value < MIN_SMALLINT || value > MAX_SMALLINT) return false;
  vm.popThenPush(argCount + 1, (value << 1) | 1);
  return true;
}

/** Quotient rounded toward negative infinity, exact for 31-bit operands (`b` is not 0). */
export function floorDiv(a: number, b: number): number {
  const r = a % b;
  const q = (a - r) / b;
  return r !== 0 && (r < 0) !== (b < 0) ? q - 1 : q;
}

/** Remainder with the sign of the divisor (`b` is not 0). */
export function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
}

// ---------------------------------------------------------------- arithmetic

/** 1: SmallInteger>>+ */
function primitiveAdd(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerSmall(vm, argCount, ops[0] + ops[1]);
}

/** 2: SmallInteger>>- */
function primitiveSubtract(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerSmall(vm, argCount, ops[0] - ops[1]);
}

/** 9: SmallInteger>>* (the double product is exact whenever it is within the SmallInteger range) */
function primitiveMultiply(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerSmall(vm, argCount, ops[0] * ops[1]);
}

/** 10: SmallInteger>>/ — only when the division is exact. */
function primitiveDivide(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  if (ops === undefined) return false;
  const [a, b] = ops;
  if (b === 0) return vm.failWith(PrimErr.badArgument);
  if (a % b !== 0) return vm.failWith(PrimErr.inappropriate);
  return answerSmall(vm, argCount, a / b);
}

/** 11: SmallInteger>>\\ (modulo, floored) */
function primitiveMod(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  if (ops === undefined) return false;
  if (ops[1] === 0) return vm.failWith(PrimErr.badArgument);
  return answerSmall(vm, argCount, floorMod(ops[0], ops[1]));
}

/** 12: SmallInteger>>// (quotient, floored) */
function primitiveDiv(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  if (ops === undefined) return false;
  if (ops[1] === 0) return vm.failWith(PrimErr.badArgument);
  return answerSmall(vm, argCount, floorDiv(ops[0], ops[1]));
}

/** 13: SmallInteger>>quo: (quotient, truncated) */
function primitiveQuo(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  if (ops === undefined) return false;
  if (ops[1] === 0) return vm.failWith(PrimErr.badArgument);
  return answerSmall(vm, argCount, Math.trunc(ops[0] / ops[1]));
}

// ---------------------------------------------------------------- comparisons

/** 3: SmallInteger>>< */
function primitiveLessThan(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] < ops[1]);
}

/** 4: SmallInteger>>> */
function primitiveGreaterThan(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] > ops[1]);
}

/** 5: SmallInteger>><= */
function primitiveLessOrEqual(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] <= ops[1]);
}

/** 6: SmallInteger>>>= */
function primitiveGreaterOrEqual(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] >= ops[1]);
}

/** 7: SmallInteger>>= */
function primitiveEqual(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] === ops[1]);
}

/** 8: SmallInteger>>~= */
function primitiveNotEqual(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] !== ops[1]);
}

// ---------------------------------------------------------------- bit operations

/** 14: SmallInteger>>bitAnd: (two's complement; the result of two SmallIntegers is one) */
function primitiveBitAnd(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerSmall(vm, argCount, ops[0] & ops[1]);
}

/** 15: SmallInteger>>bitOr: */
function primitiveBitOr(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerSmall(vm, argCount, ops[0] | ops[1]);
}

/** 16: SmallInteger>>bitXor: */
function primitiveBitXor(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  return ops !== undefined && answerSmall(vm, argCount, ops[0] ^ ops[1]);
}

/** 17: SmallInteger>>bitShift: — left shifts that overflow fail; right shifts are arithmetic. */
function primitiveBitShift(vm: Interpreter, argCount: number): boolean {
  const ops = smallOperands(vm, argCount);
  if (ops === undefined) return false;
  const [a, s] = ops;
  if (s >= 0) {
    if (a === 0) return answerSmall(vm, argCount, 0);
    if (s > 30) return false;
    return answerSmall(vm, argCount, a * 2 ** s);
  }
  return answerSmall(vm, argCount, s <= -31 ? (a < 0 ? -1 : 0) : a >> -s);
}

// ---------------------------------------------------------------- others

function isPointCoordinate(vm: Interpreter, oop: Oop): boolean {
  return (oop & 1) === 1 || isFloatObject(vm, oop);
}

/** 18: Number>>@ — a new Point (special object classPoint) with x the receiver and y the argument. */
function primitiveMakePoint(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const x = vm.stackValue(1);
  const y = vm.stackValue(0);
  if (!isPointCoordinate(vm, x)) return vm.failWith(PrimErr.badReceiver);
  if (!isPointCoordinate(vm, y)) return vm.failWith(PrimErr.badArgument);
  const mem = vm.mem;
  const pointClass = mem.specialObject(Special.classPoint);
  if ((pointClass & 3) !== 0 || pointClass === mem.nilOop) return vm.failWith(PrimErr.inappropriate);
  const point = mem.instantiate(pointClass);
  if (point === 0) return vm.failWith(PrimErr.insufficientObjectMemory);
  if (mem.slotCount(point) < 2) return vm.failWith(PrimErr.inappropriate);
  mem.storePointerUnchecked(point, PointLayout.x, x);
  mem.storePointerUnchecked(point, PointLayout.y, y);
  return answer(vm, argCount, point);
}

/**
 * 40: SmallInteger>>asFloat. Also accepts a LargeInteger receiver (correctly rounded to the nearest
 * Float, infinity beyond the Float range), so LargePositiveInteger>>asFloat may use it too.
 */
function primitiveAsFloat(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  let value: number;
  if ((rcvr & 1) === 1) value = rcvr >> 1;
  else {
    const big = integerValueOf(vm.mem, rcvr);
    if (big === undefined) return vm.failWith(PrimErr.badReceiver);
    value = Number(big);
  }
  return answer(vm, argCount, vm.mem.allocateFloat(value));
}

/**
 * 159: SmallInteger>>hashMultiply (and LargePositiveInteger's): (self * 1664525) bitAnd: 16r0FFFFFFF,
 * computed on the low 32 bits of the receiver, which are all the result depends on.
 */
function primitiveHashMultiply(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  let low: number;
  if ((rcvr & 1) === 1) low = rcvr >> 1;
  else {
    const big = integerValueOf(vm.mem, rcvr);
    if (big === undefined) return vm.failWith(PrimErr.badReceiver);
    low = Number(BigInt.asIntN(32, big));
  }
  return answerSmall(vm, argCount, Math.imul(low, 1664525) & 0x0fffffff);
}

export const integerPrimitives: Record<number, PrimitiveFn> = {
  1: primitiveAdd,
  2: primitiveSubtract,
  3: primitiveLessThan,
  4: primitiveGreaterThan,
  5: primitiveLessOrEqual,
  6: primitiveGreaterOrEqual,
  7: primitiveEqual,
  8: primitiveNotEqual,
  9: primitiveMultiply,
  10: primitiveDivide,
  11: primitiveMod,
  12: primitiveDiv,
  13: primitiveQuo,
  14: primitiveBitAnd,
  15: primitiveBitOr,
  16: primitiveBitXor,
  17: primitiveBitShift,
  18: primitiveMakePoint,
  40: primitiveAsFloat,
  159: primitiveHashMultiply,
};
