/**
 * Float primitives (Squeak numbers 38, 39, 41-59) and the OzNumbers named-primitive module.
 *
 * 38 basicAt:, 39 basicAt:put: (word 1 is the most significant half of the IEEE double, word 2 the least),
 * 41 +, 42 -, 43 <, 44 >, 45 <=, 46 >=, 47 =, 48 ~=, 49 *, 50 /, 51 truncated, 52 fractionPart,
 * 53 exponent, 54 timesTwoPower:, 55 sqrt, 56 sin, 57 arcTan, 58 ln, 59 exp.
 *
 * As in Squeak, the arithmetic and comparisons (41-50) take a Float or a SmallInteger on either side and
 * fail for anything else (the Smalltalk fallback coerces LargeIntegers and Fractions); 50 fails on a zero
 * divisor (the kernel signals ZeroDivide); 51 fails when the result is not a SmallInteger (see
 * primitiveFloatTruncated for any size); 55 fails unless the receiver is >= 0; 53 follows C's frexp
 * (0, infinities and NaN answer -1); the others follow IEEE arithmetic (NaN, infinities, -0.0).
 *
 * Printing follows Pharo's Float>>printOn:base: exactly: the shortest digits that read back to the same
 * Float (Burger & Dybvig's free-format algorithm with exact integers, as in absPrintExactlyOn:base:),
 * plain notation when the decimal exponent k of the first digit satisfies -4 <= k <= 5, otherwise
 * `d.ddde<k>`; 'Float nan', 'Float infinity', 'Float infinity negated', '-0.0'. Parsing reads Smalltalk
 * number syntax (radix, fraction, exponent) and rounds the exact value once to the nearest Float.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import { Format } from "../memory/format.js";
import { MAX_SMALLINT, MIN_SMALLINT, type Oop } from "../memory/oop.js";
import type { PrimitiveFn } from "./table.js";
import { PrimErr } from "./errors.js";
import { answer, answerBool, failIfReadOnly, isFloatObject, newString } from "./support.js";
import {
  answerInteger, integerValueOf, isByteObject, primitiveIntegerFromString, primitiveIntegerPrintString,
  primitiveNormalize,
} from "./largeInteger.js";

// ---------------------------------------------------------------- IEEE helpers

const scratch = new DataView(new ArrayBuffer(8));

/** The most and least significant 32-bit halves of `value`'s IEEE bits. */
export function floatWords(value: number): [number, number] {
  scratch.setFloat64(0, value);
  return [scratch.getUint32(0), scratch.getUint32(4)];
}

/** The Float whose IEEE bits are `high` and `low`. */
export function floatFromWords(high: number, low: number): number {
  scratch.setUint32(0, high >>> 0);
  scratch.setUint32(4, low >>> 0);
  return scratch.getFloat64(0);
}

/** 2^n for -1022 <= n <= 1023, exactly. */
function powerOfTwo(n: number): number {
  return floatFromWords((n + 1023) << 20, 0);
}

const TWO_POW_1023 = powerOfTwo(1023);
const TWO_POW_MINUS_969 = powerOfTwo(-969);
const TWO_POW_64 = powerOfTwo(64);

/** C's ldexp / scalbn: x * 2^n rounded once (no double rounding in the subnormal range). */
export function ldexp(x: number, n: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  if (n > 1023) {
    x *= TWO_POW_1023;
    n -= 1023;
    if (n > 1023) {
      x *= TWO_POW_1023;
      n -= 1023;
      if (n > 1023) n = 1023;
    }
  } else if (n < -1022) {
    // keep the last step's exponent below -53 so that only it rounds
    x *= TWO_POW_MINUS_969;
    n += 969;
    if (n < -1022) {
      x *= TWO_POW_MINUS_969;
      n += 969;
      if (n < -1022) n = -1022;
    }
  }
  return x * powerOfTwo(n);
}

/** C's frexp exponent minus one: floor(log2 |x|) for finite non-zero x, -1 for zeros, infinities, NaN. */
export function floatExponent(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return -1;
  const biased = (floatWords(x)[0] >>> 20) & 0x7ff;
  if (biased !== 0) return biased - 1023;
  return ((floatWords(x * TWO_POW_64)[0] >>> 20) & 0x7ff) - 1023 - 64;
}

/** C's modf fraction: x minus its truncation, with the sign of x (±0 for integers and infinities). */
export function fractionPart(x: number): number {
  if (Number.isNaN(x)) return x;
  if (!Number.isFinite(x)) return x < 0 ? -0 : 0;
  const f = x - Math.trunc(x);
  if (f === 0) return x < 0 || Object.is(x, -0) ? -0 : 0;
  return f;
}

function bitLength(v: bigint): number {
  if (v === 0n) return 0;
  const hex = v.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0], 16)));
}

/** num / den (num >= 0, den > 0) rounded once to the nearest Float, ties to even. */
export function ratioToFloat(num: bigint, den: bigint): number {
  if (num === 0n) return 0;
  const shift = 55 - (bitLength(num) - bitLength(den));
  const n2 = shift >= 0 ? num << BigInt(shift) : num;
  const d2 = shift >= 0 ? den : den << BigInt(-shift);
  const q = n2 / d2;
  const sticky = n2 % d2 !== 0n;
  const qBits = bitLength(q);
  const e = qBits - 1 - shift; // floor(log2 value)
  if (e > 1023) return Infinity;
  const precision = e >= -1022 ? 53 : e + 1075;
  if (precision < 0) return 0;
  const drop = qBits - precision;
  let mantissa = q >> BigInt(drop);
  const rest = q & ((1n << BigInt(drop)) - 1n);
  const half = 1n << BigInt(drop - 1);
  if (rest > half || (rest === half && (sticky || (mantissa & 1n) === 1n))) mantissa += 1n;
  return ldexp(Number(mantissa), drop - shift);
}

// ---------------------------------------------------------------- printing (Pharo's Float>>printOn:base:)

const DIGIT_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LN2 = 0.6931471805599453;
const LN10 = Math.log(10);

/** Pharo's Float>>reciprocalLogBase2 of the base: ln 2 / ln base. */
function reciprocalLogBase2(base: number): number {
  return base === 10 ? LN2 / LN10 : LN2 / Math.log(base);
}

/**
 * The shortest digits of a finite positive `x` in `base` that read back to x, laid out as Pharo's
 * Float>>absPrintExactlyOn:base: does (Burger & Dybvig, exact integer arithmetic).
 */
export function absPrintExactly(x: number, base: number): string {
  const [high, low] = floatWords(x);
  const biased = (high >>> 20) & 0x7ff;
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  const significand = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = floatExponent(x);
  const exp = Math.max(exponent - 52, -1074);
  const hidden = 1n << 52n;
  const B = BigInt(base);
  const roundingIncludesLimits = (significand & 1n) === 0n;
  let k = Math.ceil(exponent * reciprocalLogBase2(base) - 1.0e-10);
  let r: bigint, s: bigint, mPlus: bigint, mMinus: bigint;
  if (exp >= 0) {
    const be = 1n << BigInt(exp);
    if (significand !== hidden) {
      r = significand * be * 2n;
      s = 2n;
      mPlus = be;
    } else {
      r = significand * be * 4n;
      s = 4n;
      mPlus = be * 2n;
    }
    mMinus = be;
  } else {
    if (exp === -1074 || significand !== hidden) {
      r = significand * 2n;
      s = (1n << BigInt(-exp)) * 2n;
      mPlus = 1n;
    } else {
      r = significand * 4n;
      s = (1n << BigInt(-exp + 1)) * 2n;
      mPlus = 2n;
    }
    mMinus = 1n;
  }
  if (k >= 0) s *= B ** BigInt(k);
  else {
    const scale = B ** BigInt(-k);
    r *= scale;
    mPlus *= scale;
    mMinus *= scale;
  }
  if (r + mPlus > s || (roundingIncludesLimits && r + mPlus === s)) k += 1;
  else {
    r *= B;
    mPlus *= B;
    mMinus *= B;
  }
  const out: string[] = [];
  const fixedFormat = k >= -3 && k <= 6;
  let decPointCount: number;
  if (fixedFormat) {
    decPointCount = k;
    if (k <= 0) out.push("0.000000".slice(0, 2 - k));
  } else {
    decPointCount = 1;
  }
  let d: bigint;
  let tc1: boolean;
  let tc2: boolean;
  for (;;) {
    d = r / s;
    r = r % s;
    tc1 = r < mMinus || (roundingIncludesLimits && r === mMinus);
    tc2 = r + mPlus > s || (roundingIncludesLimits && r + mPlus === s);
    if (tc1 || tc2) break;
    out.push(DIGIT_CHARS[Number(d)]);
    r *= B;
    mPlus *= B;
    mMinus *= B;
    decPointCount -= 1;
    if (decPointCount === 0) out.push(".");
  }
  if (tc2 && (!tc1 || r * 2n >= s)) d += 1n;
  out.push(DIGIT_CHARS[Number(d)]);
  if (decPointCount > 0) {
    for (let i = decPointCount - 1; i >= 1; i--) out.push("0");
    out.push(".0");
  }
  if (!fixedFormat) out.push("e", String(k - 1));
  return out.join("");
}

/** Pharo's `aFloat printString: base` (printOn:base:), e.g. '0.1', '1.0e16', '-0.0', 'Float nan'. */
export function printFloat(x: number, base = 10): string {
  if (Number.isNaN(x)) return "Float nan";
  if (!Number.isFinite(x)) return x > 0 ? "Float infinity" : "Float infinity negated";
  if (x > 0) return absPrintExactly(x, base);
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return sign + "0.0";
  return sign + absPrintExactly(-x, base);
}

// ---------------------------------------------------------------- parsing (Smalltalk number syntax)

function digitValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 90) return code - 55;
  return 99;
}

/**
 * The Float closest to the number written in `text` with Smalltalk's literal syntax: an optional '-',
 * digits, an optional radix (`16r1F`, radix 2..36, upper-case letter digits), an optional fraction
 * (`.5`), an optional exponent (`e`, `d` or `q`, an optional '-', decimal digits, a power of the radix).
 * Integer syntax is accepted too (`12`, `1e3` answer 12.0, 1000.0), as are 'NaN', 'Infinity' and
 * '-Infinity'. Undefined when the whole text is not such a number.
 */
export function parseFloatText(text: string): number | undefined {
  if (text === "NaN") return NaN;
  if (text === "Infinity") return Infinity;
  if (text === "-Infinity") return -Infinity;
  let pos = 0;
  const at = (i: number) => (i < text.length ? text.charCodeAt(i) : -1);
  const readDigits = (radix: number): string => {
    const from = pos;
    while (digitValue(at(pos)) < radix) pos++;
    return text.slice(from, pos);
  };
  const negative = at(0) === 45;
  if (negative) pos++;
  let radix = 10;
  let intDigits = readDigits(10);
  if (intDigits === "") return undefined;
  if (at(pos) === 114 /* r */) {
    radix = Number(intDigits);
    if (radix < 2 || radix > 36) return undefined;
    pos++;
    intDigits = readDigits(radix);
    if (intDigits === "") return undefined;
  }
  let fracDigits = "";
  if (at(pos) === 46 /* . */ && digitValue(at(pos + 1)) < radix) {
    pos++;
    fracDigits = readDigits(radix);
  }
  let exponent = 0;
  const e = at(pos);
  if (e === 101 || e === 100 || e === 113 /* e d q */) {
    pos++;
    const expNegative = at(pos) === 45;
    if (expNegative) pos++;
    const digits = readDigits(10);
    if (digits === "") return undefined;
    exponent = expNegative ? -Number(digits) : Number(digits);
  }
  if (pos !== text.length) return undefined;
  const value = scaledToFloat(digitsValue(intDigits + fracDigits, radix), radix, exponent - fracDigits.length);
  return negative ? -value : value;
}

function digitsValue(digits: string, radix: number): bigint {
  if (radix === 10) return BigInt(digits);
  if (radix === 16) return BigInt("0x" + digits);
  let v = 0n;
  const big = BigInt(radix);
  for (let i = 0; i < digits.length; i++) v = v * big + BigInt(digitValue(digits.charCodeAt(i)));
  return v;
}

/** mantissa * radix^power rounded once to the nearest Float (mantissa >= 0). */
function scaledToFloat(mantissa: bigint, radix: number, power: number): number {
  if (mantissa === 0n) return 0;
  const magnitude = bitLength(mantissa) + power * Math.log2(radix);
  if (!(magnitude < 1030)) return Infinity;
  if (!(magnitude > -1080)) return 0;
  if (power >= 0) return ratioToFloat(mantissa * BigInt(radix) ** BigInt(power), 1n);
  return ratioToFloat(mantissa, BigInt(radix) ** BigInt(-power));
}

// ---------------------------------------------------------------- primitive helpers

/** A Float's value, or a SmallInteger's as a Float; undefined for anything else. */
function floatOrIntAt(vm: Interpreter, n: number): number | undefined {
  const oop = vm.stackValue(n);
  if ((oop & 1) === 1) return oop >> 1;
  return isFloatObject(vm, oop) ? vm.mem.floatValueOf(oop) : undefined;
}

/** Receiver and argument of a binary Float primitive, or undefined (failure code set). */
function floatOperands(vm: Interpreter, argCount: number): [number, number] | undefined {
  if (argCount !== 1) {
    vm.failWith(PrimErr.badNumArgs);
    return undefined;
  }
  const a = floatOrIntAt(vm, 1);
  if (a === undefined) {
    vm.failWith(PrimErr.badReceiver);
    return undefined;
  }
  const b = floatOrIntAt(vm, 0);
  if (b === undefined) {
    vm.failWith(PrimErr.badArgument);
    return undefined;
  }
  return [a, b];
}

/** The receiver of a unary Float primitive (it must be a Float), or undefined (failure code set). */
function floatReceiver(vm: Interpreter, argCount: number, expectedArgs = 0): number | undefined {
  if (argCount !== expectedArgs) {
    vm.failWith(PrimErr.badNumArgs);
    return undefined;
  }
  const rcvr = vm.stackValue(argCount);
  if (!isFloatObject(vm, rcvr)) {
    vm.failWith(PrimErr.badReceiver);
    return undefined;
  }
  return vm.mem.floatValueOf(rcvr);
}

function answerFloat(vm: Interpreter, argCount: number, value: number): boolean {
  return answer(vm, argCount, vm.mem.allocateFloat(value));
}

// ---------------------------------------------------------------- 38, 39: the words of a Float

function isWordsObject(vm: Interpreter, oop: Oop): boolean {
  return (oop & 3) === 0 && vm.mem.formatOf(oop) === Format.words;
}

/** 38: Float>>basicAt: — word 1 is the high half of the IEEE bits, word 2 the low; 0..2^32-1. */
function primitiveFloatAt(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(1);
  const index = vm.stackValue(0);
  if (!isWordsObject(vm, rcvr)) return vm.failWith(PrimErr.badReceiver);
  if ((index & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const i = index >> 1;
  if (i < 1 || i > vm.mem.slotCount(rcvr)) return vm.failWith(PrimErr.badIndex);
  return answerInteger(vm, argCount, BigInt(vm.mem.fetchWord(rcvr, i - 1)));
}

/** 39: Float>>basicAt:put: — stores a word (an integer 0..2^32-1) and answers it. */
function primitiveFloatAtPut(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(2);
  const index = vm.stackValue(1);
  const valueOop = vm.stackValue(0);
  if (!isWordsObject(vm, rcvr)) return vm.failWith(PrimErr.badReceiver);
  if ((index & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const i = index >> 1;
  if (i < 1 || i > vm.mem.slotCount(rcvr)) return vm.failWith(PrimErr.badIndex);
  if (failIfReadOnly(vm, rcvr)) return false;
  const value = integerValueOf(vm.mem, valueOop);
  if (value === undefined || value < 0n || value > 0xffffffffn) return vm.failWith(PrimErr.badArgument);
  vm.mem.storeWord(rcvr, i - 1, Number(value));
  return answer(vm, argCount, valueOop);
}

// ---------------------------------------------------------------- 41-50: arithmetic and comparisons

/** 41: Float>>+ */
function primitiveFloatAdd(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerFloat(vm, argCount, ops[0] + ops[1]);
}

/** 42: Float>>- */
function primitiveFloatSubtract(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerFloat(vm, argCount, ops[0] - ops[1]);
}

/** 43: Float>>< */
function primitiveFloatLessThan(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] < ops[1]);
}

/** 44: Float>>> */
function primitiveFloatGreaterThan(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] > ops[1]);
}

/** 45: Float>><= */
function primitiveFloatLessOrEqual(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] <= ops[1]);
}

/** 46: Float>>>= */
function primitiveFloatGreaterOrEqual(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] >= ops[1]);
}

/** 47: Float>>= */
function primitiveFloatEqual(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] === ops[1]);
}

/** 48: Float>>~= */
function primitiveFloatNotEqual(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerBool(vm, argCount, ops[0] !== ops[1]);
}

/** 49: Float>>* */
function primitiveFloatMultiply(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  return ops !== undefined && answerFloat(vm, argCount, ops[0] * ops[1]);
}

/** 50: Float>>/ — fails on a zero divisor (0.0, -0.0 or 0). */
function primitiveFloatDivide(vm: Interpreter, argCount: number): boolean {
  const ops = floatOperands(vm, argCount);
  if (ops === undefined) return false;
  if (ops[1] === 0) return vm.failWith(PrimErr.badArgument);
  return answerFloat(vm, argCount, ops[0] / ops[1]);
}

// ---------------------------------------------------------------- 51-59: functions

/** 51: Float>>truncated — a SmallInteger, else fails (NaN, infinities, large values). */
function primitiveTruncated(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  if (x === undefined) return false;
  const t = Math.trunc(x);
  if (!(t >= MIN_SMALLINT && t <= MAX_SMALLINT)) return vm.failWith(PrimErr.inappropriate);
  vm.popThenPush(1, (t << 1) | 1);
  return true;
}

/** 52: Float>>fractionPart (C's modf) */
function primitiveFractionPart(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  return x !== undefined && answerFloat(vm, argCount, fractionPart(x));
}

/** 53: Float>>exponent — floor(log2 |x|), -1 for zeros, infinities and NaN (C's frexp minus one). */
function primitiveExponent(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  if (x === undefined) return false;
  vm.popThenPush(1, (floatExponent(x) << 1) | 1);
  return true;
}

/** 54: Float>>timesTwoPower: aSmallInteger (C's ldexp) */
function primitiveTimesTwoPower(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount, 1);
  if (x === undefined) return false;
  const n = vm.stackValue(0);
  if ((n & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  return answerFloat(vm, argCount, ldexp(x, n >> 1));
}

/** 55: Float>>sqrt — fails unless the receiver is >= 0 (so for negatives and NaN). */
function primitiveSquareRoot(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  if (x === undefined) return false;
  if (!(x >= 0)) return vm.failWith(PrimErr.badReceiver);
  return answerFloat(vm, argCount, Math.sqrt(x));
}

/** 56: Float>>sin */
function primitiveSine(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  return x !== undefined && answerFloat(vm, argCount, Math.sin(x));
}

/** 57: Float>>arcTan */
function primitiveArctan(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  return x !== undefined && answerFloat(vm, argCount, Math.atan(x));
}

/** 58: Float>>ln (NaN for negatives, -infinity for zero, as C's log) */
function primitiveLogN(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  return x !== undefined && answerFloat(vm, argCount, Math.log(x));
}

/** 59: Float>>exp */
function primitiveExp(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  return x !== undefined && answerFloat(vm, argCount, Math.exp(x));
}

// ---------------------------------------------------------------- OzNumbers named primitives

/**
 * OzNumbers primitiveFloatPrintString — `Float>>printString` (no argument, base 10) and
 * `Float>>printString: base` (base 2..36): the text Pharo's Float>>printOn:base: writes.
 */
function primitiveFloatPrintString(vm: Interpreter, argCount: number): boolean {
  if (argCount > 1) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(argCount);
  if (!isFloatObject(vm, rcvr)) return vm.failWith(PrimErr.badReceiver);
  let base = 10;
  if (argCount === 1) {
    const b = vm.stackValue(0);
    if ((b & 1) !== 1 || b >> 1 < 2 || b >> 1 > 36) return vm.failWith(PrimErr.badArgument);
    base = b >> 1;
  }
  return answer(vm, argCount, newString(vm, printFloat(vm.mem.floatValueOf(rcvr), base)));
}

/**
 * OzNumbers primitiveFloatFromString — `Float class>>fromString: aString` (the receiver is not used):
 * the Float nearest to the number aString holds in Smalltalk syntax (see parseFloatText); fails when
 * aString is not wholly such a number.
 */
function primitiveFloatFromString(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const textOop = vm.stackValue(0);
  if (!isByteObject(vm, textOop)) return vm.failWith(PrimErr.badArgument);
  const value = parseFloatText(vm.mem.stringOf(textOop));
  if (value === undefined) return vm.failWith(PrimErr.badArgument);
  return answerFloat(vm, argCount, value);
}

/**
 * OzNumbers primitiveFloatTruncated — `Float>>truncated` of any size: the integer part as a SmallInteger
 * or LargeInteger; fails for NaN and infinities.
 */
function primitiveFloatTruncated(vm: Interpreter, argCount: number): boolean {
  const x = floatReceiver(vm, argCount);
  if (x === undefined) return false;
  if (!Number.isFinite(x)) return vm.failWith(PrimErr.inappropriate);
  return answerInteger(vm, argCount, BigInt(Math.trunc(x)));
}

export const floatPrimitives: Record<number, PrimitiveFn> = {
  38: primitiveFloatAt,
  39: primitiveFloatAtPut,
  41: primitiveFloatAdd,
  42: primitiveFloatSubtract,
  43: primitiveFloatLessThan,
  44: primitiveFloatGreaterThan,
  45: primitiveFloatLessOrEqual,
  46: primitiveFloatGreaterOrEqual,
  47: primitiveFloatEqual,
  48: primitiveFloatNotEqual,
  49: primitiveFloatMultiply,
  50: primitiveFloatDivide,
  51: primitiveTruncated,
  52: primitiveFractionPart,
  53: primitiveExponent,
  54: primitiveTimesTwoPower,
  55: primitiveSquareRoot,
  56: primitiveSine,
  57: primitiveArctan,
  58: primitiveLogN,
  59: primitiveExp,
};

/** The "OzNumbers" named-primitive module. */
export const numbersModule: Record<string, PrimitiveFn> = {
  primitiveFloatPrintString,
  primitiveFloatFromString,
  primitiveFloatTruncated,
  primitiveIntegerPrintString,
  primitiveIntegerFromString,
  primitiveNormalize,
};
