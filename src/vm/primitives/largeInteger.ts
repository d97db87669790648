/**
 * LargeInteger primitives (Squeak numbers 20-37) and the integer functions of the OzNumbers module.
 *
 * Squeak's LargePositiveInteger/LargeNegativeInteger methods carry these numbers: 20 rem:, 21 +, 22 -,
 * 23 <, 24 >, 25 <=, 26 >=, 27 =, 28 ~=, 29 *, 30 /, 31 \\, 32 //, 33 quo:, 34 bitAnd:, 35 bitOr:,
 * 36 bitXor:, 37 bitShift:. Here they accept any mix of SmallInteger and LargeInteger receiver and
 * argument (any size, through BigInt) and answer normalized results (a SmallInteger when the value fits).
 * They fail, so that the Smalltalk fallback runs, when the argument is not an integer (a Float, a
 * Fraction), on division by zero, on an inexact `/`, and when the result would not fit in the heap.
 * Bit operations on negative numbers follow two's complement, as in Squeak.
 *
 * The conversions between heap LargeIntegers and BigInts here are linear in the number of bytes (through
 * hexadecimal text), so that multiplying two 100 kB integers costs what BigInt costs.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import { HEADER_BYTES } from "../memory/heap.js";
import { MAX_SMALLINT, MIN_SMALLINT, type Oop } from "../memory/oop.js";
import { isBytesFormat } from "../memory/format.js";
import type { PrimitiveFn } from "./table.js";
import { PrimErr } from "./errors.js";
import { answer, answerBool, newString } from "./support.js";

/** Conversions live with the object memory; these names are the primitives' vocabulary. */
export { MAX_INTEGER_BYTES, bigIntValueOf as integerValueOf, integerObjectOf as integerOop } from "../memory/integers.js";
import { MAX_INTEGER_BYTES, bigIntValueOf as integerValueOf, integerObjectOf as integerOop } from "../memory/integers.js";

const BIG_MIN_SMALLINT = BigInt(MIN_SMALLINT);
const BIG_MAX_SMALLINT = BigInt(MAX_SMALLINT);

/** Number of bytes of the magnitude of `value` (0 for 0). */
export function magnitudeBytes(value: bigint): number {
  if (value === 0n) return 0;
  const hexDigits = (value < 0n ? -value : value).toString(16).length;
  return (hexDigits + 1) >> 1;
}

// ---------------------------------------------------------------- primitive helpers

/** The integer value at stack depth `n`, or undefined if it is not an integer. */
export function integerAt(vm: Interpreter, n: number): bigint | undefined {
  return integerValueOf(vm.mem, vm.stackValue(n));
}

/** Pops receiver and arguments and pushes the integer `value`; fails when memory is short. */
export function answerInteger(vm: Interpreter, argCount: number, value: bigint): boolean {
  return answer(vm, argCount, integerOop(vm.mem, value));
}

/** Whether a result of about `bytes` bytes can be built (checked before computing it). */
function resultFits(vm: Interpreter, bytes: number): boolean {
  return bytes <= MAX_INTEGER_BYTES && vm.mem.canAllocate(bytes + HEADER_BYTES + 4);
}

/** Receiver and argument of a binary integer primitive, or undefined after setting the failure code. */
function operands(vm: Interpreter, argCount: number): [bigint, bigint] | undefined {
  if (argCount !== 1) {
    vm.failWith(PrimErr.badNumArgs);
    return undefined;
  }
  const a = integerAt(vm, 1);
  if (a === undefined) {
    vm.failWith(PrimErr.badReceiver);
    return undefined;
  }
  const b = integerAt(vm, 0);
  if (b === undefined) {
    vm.failWith(PrimErr.badArgument);
    return undefined;
  }
  return [a, b];
}

/** Quotient rounded toward negative infinity (Smalltalk //). */
export function floorDivBig(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Remainder with the sign of the divisor (Smalltalk \\). */
export function floorModBig(a: bigint, b: bigint): bigint {
  const r = a % b;
  return (r !== 0n && (r < 0n) !== (b < 0n)) ? r + b : r;
}

// ---------------------------------------------------------------- arithmetic

/** 21: LargePositiveInteger>>+ */
function primitiveAddLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  if (ops === undefined) return false;
  return answerInteger(vm, argCount, ops[0] + ops[1]);
}

/** 22: LargePositiveInteger>>- */
function primitiveSubtractLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  if (ops === undefined) return false;
  return answerInteger(vm, argCount, ops[0] - ops[1]);
}

/** 29: LargePositiveInteger>>* */
function primitiveMultiplyLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  if (ops === undefined) return false;
  const [a, b] = ops;
  if (!resultFits(vm, magnitudeBytes(a) + magnitudeBytes(b))) return vm.failWith(PrimErr.insufficientObjectMemory);
  return answerInteger(vm, argCount, a * b);
}

/** 30: LargePositiveInteger>>/ — only when the division is exact (else the fallback makes a Fraction). */
function primitiveDivideLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  if (ops === undefined) return false;
  const [a, b] = ops;
  if (b === 0n) return vm.failWith(PrimErr.badArgument);
  if (a % b !== 0n) return vm.failWith(PrimErr.inappropriate);
  return answerInteger(vm, argCount, a / b);
}

/** 31: LargePositiveInteger>>\\ (modulo, floored: the sign of the argument) */
function primitiveModLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  if (ops === undefined) return false;
  if (ops[1] === 0n) return vm.failWith(PrimErr.badArgument);
  return answerInteger(vm, argCount, floorModBig(ops[0], ops[1]));
}

/** 32: LargePositiveInteger>>// (quotient, floored) */
function primitiveDivLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  if (ops === undefined) return false;
  if (ops[1] === 0n) return vm.failWith(PrimErr.badArgument);
  return answerInteger(vm, argCount, floorDivBig(ops[0], ops[1]));
}

/** 33: LargePositiveInteger>>quo: (quotient, truncated toward zero) */
function primitiveQuoLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  if (ops === undefined) return false;
  if (ops[1] === 0n) return vm.failWith(PrimErr.badArgument);
  return answerInteger(vm, argCount, ops[0] / ops[1]);
}

/** 20: LargePositiveInteger>>rem: (remainder, the sign of the receiver) */
function primitiveRemLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  if (ops === undefined) return false;
  if (ops[1] === 0n) return vm.failWith(PrimErr.badArgument);
  return answerInteger(vm, argCount, ops[0] % ops[1]);
}

// ---------------------------------------------------------------- comparisons

/** 23: LargePositiveInteger>>< */
function primitiveLessThanLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] < ops[1]);
}

/** 24: LargePositiveInteger>>> */
function primitiveGreaterThanLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] > ops[1]);
}

/** 25: LargePositiveInteger>><= */
function primitiveLessOrEqualLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] <= ops[1]);
}

/** 26: LargePositiveInteger>>>= */
function primitiveGreaterOrEqualLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] >= ops[1]);
}

/** 27: LargePositiveInteger>>= */
function primitiveEqualLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] === ops[1]);
}

/** 28: LargePositiveInteger>>~= */
function primitiveNotEqualLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] !== ops[1]);
}

// ---------------------------------------------------------------- bit operations

/** 34: LargePositiveInteger>>bitAnd: */
function primitiveBitAndLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerInteger(vm, argCount, ops[0] & ops[1]);
}

/** 35: LargePositiveInteger>>bitOr: */
function primitiveBitOrLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerInteger(vm, argCount, ops[0] | ops[1]);
}

/** 36: LargePositiveInteger>>bitXor: */
function primitiveBitXorLarge(vm: Interpreter, argCount: number): boolean {
  const ops = operands(vm, argCount);
  return ops !== undefined && answerInteger(vm, argCount, ops[0] ^ ops[1]);
}

/** 37: LargePositiveInteger>>bitShift: (the shift count must be a SmallInteger) */
function primitiveBitShiftLarge(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const a = integerAt(vm, 1);
  if (a === undefined) return vm.failWith(PrimErr.badReceiver);
  const shiftOop = vm.stackValue(0);
  if ((shiftOop & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const shift = shiftOop >> 1;
  if (shift <= 0) return answerInteger(vm, argCount, a >> BigInt(-shift));
  if (a === 0n) return answerInteger(vm, argCount, 0n);
  if (!resultFits(vm, magnitudeBytes(a) + Math.ceil(shift / 8))) return vm.failWith(PrimErr.insufficientObjectMemory);
  return answerInteger(vm, argCount, a << BigInt(shift));
}

// ---------------------------------------------------------------- OzNumbers: printing, parsing, normalizing

/** The value of a digit character in any radix up to 36 (either case), or 99. */
function digitValueOf(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 90) return code - 55;
  if (code >= 97 && code <= 122) return code - 87;
  return 99;
}

/** `value` in `base` (2..36), upper-case digits, '-' before negatives: the text of Integer>>printString: */
export function printIntegerText(value: bigint, base: number): string {
  return value.toString(base).toUpperCase();
}

/**
 * The integer written in `text` in `base`: an optional '-', then one or more digits of the base (letters
 * of either case). Undefined when the text is anything else.
 */
export function parseIntegerText(text: string, base: number): bigint | undefined {
  let i = 0;
  const negative = text.charCodeAt(0) === 45;
  if (negative) i = 1;
  if (i >= text.length) return undefined;
  for (let k = i; k < text.length; k++) if (digitValueOf(text.charCodeAt(k)) >= base) return undefined;
  const digits = text.slice(i);
  let value: bigint;
  if (base === 10) value = BigInt(digits);
  else if (base === 16) value = BigInt("0x" + digits);
  else if (base === 8) value = BigInt("0o" + digits);
  else if (base === 2) value = BigInt("0b" + digits);
  else {
    // chunks of digits small enough to be exact as numbers
    const chunk = Math.floor(52 / Math.log2(base));
    value = 0n;
    for (let k = 0; k < digits.length; k += chunk) {
      const part = digits.slice(k, k + chunk);
      value = value * BigInt(base) ** BigInt(part.length) + BigInt(parseInt(part, base));
    }
  }
  return negative ? -value : value;
}

function baseAt(vm: Interpreter, n: number): number | undefined {
  const oop = vm.stackValue(n);
  if ((oop & 1) !== 1) return undefined;
  const base = oop >> 1;
  return base >= 2 && base <= 36 ? base : undefined;
}

/** A String, Symbol or other byte object (not a CompiledMethod). */
export function isByteObject(vm: Interpreter, oop: Oop): boolean {
  return (oop & 3) === 0 && isBytesFormat(vm.mem.formatOf(oop));
}

/**
 * OzNumbers primitiveIntegerPrintString — `Integer>>printString: base` (also printStringBase:):
 * the receiver (any integer) as a String in base 2..36, upper-case digits, '-' for negatives.
 */
export function primitiveIntegerPrintString(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const value = integerAt(vm, 1);
  if (value === undefined) return vm.failWith(PrimErr.badReceiver);
  const base = baseAt(vm, 0);
  if (base === undefined) return vm.failWith(PrimErr.badArgument);
  if (!vm.mem.canAllocate(magnitudeBytes(value) * 8 + 64)) return vm.failWith(PrimErr.insufficientObjectMemory);
  return answer(vm, argCount, newString(vm, printIntegerText(value, base)));
}

/**
 * OzNumbers primitiveIntegerFromString — `Integer class>>fromString: aString base: base` (the receiver
 * is not used): the integer written in aString (optional '-', then digits of the base, either case);
 * fails when aString holds anything else.
 */
export function primitiveIntegerFromString(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const textOop = vm.stackValue(1);
  if (!isByteObject(vm, textOop)) return vm.failWith(PrimErr.badArgument);
  const base = baseAt(vm, 0);
  if (base === undefined) return vm.failWith(PrimErr.badArgument);
  const text = vm.mem.stringOf(textOop);
  if (!resultFits(vm, Math.ceil((text.length * Math.log2(base)) / 8) + 1)) return vm.failWith(PrimErr.insufficientObjectMemory);
  const value = parseIntegerText(text, base);
  if (value === undefined) return vm.failWith(PrimErr.badArgument);
  return answerInteger(vm, argCount, value);
}

/**
 * OzNumbers primitiveNormalize — `LargePositiveInteger>>normalize` (and LargeNegativeInteger's): the
 * receiver's value as a normalized integer (a SmallInteger when it fits, else a LargeInteger without
 * leading zero bytes; the receiver itself when it already is one).
 */
export function primitiveNormalize(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  const value = integerValueOf(vm.mem, rcvr);
  if (value === undefined) return vm.failWith(PrimErr.badReceiver);
  if ((rcvr & 1) === 1) return answer(vm, argCount, rcvr);
  const n = vm.mem.byteLength(rcvr);
  const normalized = value < BIG_MIN_SMALLINT || value > BIG_MAX_SMALLINT;
  if (normalized && n > 0 && vm.mem.fetchByte(rcvr, n - 1) !== 0) return answer(vm, argCount, rcvr);
  return answerInteger(vm, argCount, value);
}

export const largeIntegerPrimitives: Record<number, PrimitiveFn> = {
  20: primitiveRemLarge,
  21: primitiveAddLarge,
  22: primitiveSubtractLarge,
  23: primitiveLessThanLarge,
  24: primitiveGreaterThanLarge,
  25: primitiveLessOrEqualLarge,
  26: primitiveGreaterOrEqualLarge,
  27: primitiveEqualLarge,
  28: primitiveNotEqualLarge,
  29: primitiveMultiplyLarge,
  30: primitiveDivideLarge,
  31: primitiveModLarge,
  32: primitiveDivLarge,
  33: primitiveQuoLarge,
  34: primitiveBitAndLarge,
  35: primitiveBitOrLarge,
  36: primitiveBitXorLarge,
  37: primitiveBitShiftLarge,
};
