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

/** The value of a SmallInteger or LargeInteger, or undefined for anything else. */
export function bigIntValueOf(mem: ObjectMemory, oop: Oop): bigint | undefined {
  if (isSmallInt(oop)) return BigInt(smallIntValue(oop));
  if (!isLargeInteger(mem, oop)) return undefined;
  const negative = mem.classOfPointer(oop) === mem.specialObject(Special.classLargeNegativeInteger);
  const n = mem.byteLength(oop);
  const start = oop + HEADER_BYTES;
  const b = mem.bytes;
  let v = 0n;
  let i = n - 1;
  // eight bytes at a time keeps this linear-ish for big numbers
  for (; i >= 7; i -= 8) {
    let chunk = 0n;
    for (let k = 0; k < 8; k++) chunk = (chunk << 8n) | BigInt(b[start + i - k]);
    v = (v << 64n) | chunk;
  }
  for (; i >= 0; i--) v = (v << 8n) | BigInt(b[start + i]);
  return negative ? -v : v;
}

/** A SmallInteger when the value fits, else a new LargeInteger; 0 when memory is short. */
export function integerObjectOf(mem: ObjectMemory, value: bigint | number): Oop {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= MIN_SMALLINT && value <= MAX_SMALLINT) return smallIntOop(value);
    value = BigInt(value);
  }
  if (value >= BIG_MIN_SMALLINT && value <= BIG_MAX_SMALLINT) return smallIntOop(Number(value));
  const negative = value < 0n;
  let mag = negative ? -value : value;
  const bytes: number[] = [];
  while (mag > 0n) {
    bytes.push(Number(mag & 0xffn));
    mag >>= 8n;
  }
  const cls = mem.specialObject(negative ? Special.classLargeNegativeInteger : Special.classLargePositiveInteger);
  const oop = mem.allocateBytes(cls, bytes.length);
  if (oop === 0) return 0;
  mem.bytes.set(bytes, oop + HEADER_BYTES);
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
