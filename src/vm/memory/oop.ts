/**
 * Object pointers (oops).
 *
 * An oop is a 32-bit integer, held in JavaScript as an int32 number so that V8 keeps it a Smi:
 *
 *   ...vvvv1   SmallInteger: 31-bit two's complement value v, oop = (v << 1) | 1
 *   ...cccc10  Character: code point c (0..0x3FFFFF), oop = (c << 2) | 2
 *   ...xxxx00  object: the byte offset of the object's header in its image's heap (never 0)
 *
 * The SmallInteger tag is Squeak's; the Character tag is the one Spur-32 uses for immediate characters.
 */

export type Oop = number;

export const MIN_SMALLINT = -0x40000000;
export const MAX_SMALLINT = 0x3fffffff;
export const MAX_CHARACTER = 0x3fffff;

export function isSmallInt(oop: Oop): boolean {
  return (oop & 1) === 1;
}

export function isCharacter(oop: Oop): boolean {
  return (oop & 3) === 2;
}

export function isImmediate(oop: Oop): boolean {
  return (oop & 3) !== 0;
}

export function isPointer(oop: Oop): boolean {
  return (oop & 3) === 0;
}

export function smallIntValue(oop: Oop): number {
  return oop >> 1;
}

export function smallIntOop(value: number): Oop {
  return (value << 1) | 1;
}

export function fitsSmallInt(value: number): boolean {
  return value >= MIN_SMALLINT && value <= MAX_SMALLINT && Number.isInteger(value);
}

export function characterValue(oop: Oop): number {
  return oop >>> 2;
}

export function characterOop(code: number): Oop {
  return (code << 2) | 2;
}
