/**
 * Integers of any size in a heap: SmallIntegers are immediates; larger magnitudes are
 * LargePositiveInteger / LargeNegativeInteger byte objects holding the magnitude little-endian, without
 * leading zero bytes (a normalized LargeInteger never holds a value that fits a SmallInteger).
 */
import type { ObjectMemory } from "./heap.js";
import { HEADER_BYTES } from "./heap.js";
import { Special } from "./special.js";
import { MAX_SMALLINT, MIN_SMALLINT, isSmallInt, smallIntOop, smallIntValue, type Oop } from "./oop.js";

const BIG_MIN_SMALLINT = BigInt(MIN_SMALLINT);
const BIG_MAX_SMALLINT = BigInt(MAX_SMALLINT);

export function isLargeInteger(mem: ObjectMemory, oop: Oop): boolean {
  if ((oop & 3) !== 0) return false;
  const cls = mem.classOfPointer(oop);
  return cls === mem.specialObject(Special.classLargePositiveInteger) || cls === mem.specialObject(Special.classLargeNegativeInteger);
}

export function isIntegerObject(mem: ObjectMemory, oop: Oop): boolean {
  return isSmallInt(oop) || isLargeInteger(mem, oop);
}

const HEX_PAIRS: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The largest LargeInteger, in bytes (V8 limits a BigInt to 2^30 bits; stay well below). */
export const MAX_INTEGER_BYTES = 1 << 26;

/**
 * The value of a SmallInteger or LargeInteger (normalized or not), or undefined for anything else.
 * Linear in the size: the magnitude goes through one hexadecimal string.
 */
export function bigIntValueOf(mem: ObjectMemory, oop: Oop): bigint | undefined {
  if (isSmallInt(oop)) return BigInt(smallIntValue(oop));
  if (!isLargeInteger(mem, oop)) return undefined;
  const negative = mem.classOfPointer(oop) === mem.specialObject(Special.classLargeNegativeInteger);
  const n = mem.byteLength(oop);
  const start = oop + HEADER_BYTES;
  const b = mem.bytes;
  let magnitude: bigint;
  if (n <= 6) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + b[start + i];
    magnitude = BigInt(v);
  } else {
    const hex: string[] = new Array(n);
    for (let i = 0; i < n; i++) hex[i] = HEX_PAIRS[b[start + n - 1 - i]];
    magnitude = BigInt("0x" + hex.join(""));
  }
  return negative ? -magnitude : magnitude;
}

/** A SmallInteger when the value fits, else a new normalized LargeInteger; 0 when the heap cannot hold it. */
export function integerObjectOf(mem: ObjectMemory, value: bigint | number): Oop {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= MIN_SMALLINT && value <= MAX_SMALLINT) return smallIntOop(value);
    value = BigInt(value);
  }
  if (value >= BIG_MIN_SMALLINT && value <= BIG_MAX_SMALLINT) return smallIntOop(Number(value));
  const negative = value < 0n;
  let hex = (negative ? -value : value).toString(16);
  if ((hex.length & 1) === 1) hex = "0" + hex;
  const n = hex.length >> 1;
  if (n > MAX_INTEGER_BYTES || !mem.canAllocate(n + HEADER_BYTES + 4)) return 0;
  const cls = mem.specialObject(negative ? Special.classLargeNegativeInteger : Special.classLargePositiveInteger);
  const oop = mem.allocateBytes(cls, n);
  if (oop === 0) return 0;
  const b = mem.bytes;
  const start = oop + HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    const at = hex.length - 2 - 2 * i;
    b[start + i] = parseInt(hex.slice(at, at + 2), 16);
  }
  return oop;
}

/** A JavaScript number for integers within ±2^53, else undefined. */
export function safeIntegerValueOf(mem: ObjectMemory, oop: Oop): number | undefined {
  if (isSmallInt(oop)) return smallIntValue(oop);
  const v = bigIntValueOf(mem, oop);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}
