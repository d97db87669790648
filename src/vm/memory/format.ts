/**
 * Object formats, numbered as Squeak V3's instSpec. The format lives in every object's header and, with
 * the number of named instance variables, in every class's `format` slot as (instSpec << 16) | instSize.
 */

export const Format = {
  /** no fields at all (nil, true, false, an instance of Object) */
  empty: 0,
  /** named pointer fields only */
  fixed: 1,
  /** indexable pointer fields, no named ones */
  indexable: 2,
  /** named and indexable pointer fields */
  fixedIndexable: 3,
  /** named strong fields and indexable weak fields */
  weak: 4,
  /** indexable 32-bit words (Float, WordArray, Bitmap) */
  words: 6,
  /** indexable bytes: 8 + the number of unused bytes in the last word (8..11) */
  bytes: 8,
  /** compiled method: header and literals are pointers, then bytes: 12 + unused bytes (12..15) */
  compiledMethod: 12,
} as const;

export function isPointersFormat(fmt: number): boolean {
  return fmt <= Format.weak;
}

export function isWeakFormat(fmt: number): boolean {
  return fmt === Format.weak;
}

export function isWordsFormat(fmt: number): boolean {
  return fmt === Format.words;
}

export function isBytesFormat(fmt: number): boolean {
  return fmt >= Format.bytes && fmt < Format.compiledMethod;
}

export function isCompiledMethodFormat(fmt: number): boolean {
  return fmt >= Format.compiledMethod && fmt <= 15;
}

/** Byte-like bodies: plain bytes or compiled methods (whose tail is bytes). */
export function hasByteTail(fmt: number): boolean {
  return fmt >= Format.bytes;
}

export function isIndexableFormat(fmt: number): boolean {
  return fmt >= Format.indexable && fmt !== 5 && fmt !== 7;
}

export function isValidFormat(fmt: number): boolean {
  return fmt >= 0 && fmt <= 15 && fmt !== 5 && fmt !== 7;
}

/** The class-side encoding of an instance format. */
export function classFormat(instSpec: number, instSize: number): number {
  return (instSpec << 16) | instSize;
}

export function instSpecOf(classFormatValue: number): number {
  return (classFormatValue >> 16) & 0x1f;
}

export function instSizeOf(classFormatValue: number): number {
  return classFormatValue & 0xffff;
}

export const FORMAT_NAMES: Record<number, string> = {
  0: "empty",
  1: "fixed",
  2: "indexable",
  3: "fixedIndexable",
  4: "weak",
  6: "words",
  8: "bytes",
  12: "compiledMethod",
};

export function formatName(fmt: number): string {
  if (isBytesFormat(fmt)) return "bytes";
  if (isCompiledMethodFormat(fmt)) return "compiledMethod";
  return FORMAT_NAMES[fmt] ?? `format${fmt}`;
}
