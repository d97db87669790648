/**
 * String primitives.
 *
 * `stringModule` is the named module "MiscPrimitivePlugin" (registered in table.ts). Its first six
 * functions are Squeak's, with Squeak's names, arguments and answers; the kernel calls them from methods
 * such as `String class>>compare:with:collated:` declared with
 * `<primitive: 'primitiveCompareString' module: 'MiscPrimitivePlugin'>`. The receiver of those is the
 * class (it is not used); strings are byte objects (formats 8..11: ByteString, ByteSymbol, ByteArray...),
 * and order/match tables are byte objects of at least 256 bytes, where nil stands for the identity table.
 * Indexes are 1-based; "not found" answers 0.
 *
 * The other functions are Oz helpers for the kernel, sent to a string (the receiver is the string):
 *
 *   primitiveAsUppercase, primitiveAsLowercase  (0 args) a new string of the receiver's class, Latin-1
 *       case mapping as Pharo's Character>>asUppercase/asLowercase restricted to bytes (a-z, and à-þ but
 *       ÷; ß, µ and ÿ have no uppercase in Latin-1 and stay). A ByteSymbol answers the interned symbol.
 *   primitiveIndexOfSubstring  (key, start [, caseSensitive]) the index of the first occurrence of key at
 *       or after start, or 0; an empty key answers 0 (as indexOfSubCollection: does).
 *   primitiveCompareIgnoringCase  (aString) 1, 2 or 3 as the receiver is <, = or > aString, comparing
 *       uppercase-folded bytes (Pharo's CaseInsensitiveOrder), then sizes.
 *
 * Numbered: 158, Squeak's `compareWith: aString [collated: order]`, answers a negative, zero or positive
 * SmallInteger (the first byte difference, else the size difference).
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import type { ObjectMemory } from "../memory/heap.js";
import { Special } from "../memory/special.js";
import { internSymbol } from "../memory/symbols.js";
import { smallIntOop, type Oop } from "../memory/oop.js";
import { PrimErr } from "./errors.js";
import { answer, failIfReadOnly } from "./support.js";
import { allocateWithRetry, isByteObject, stressPoint } from "./object.js";

/** Latin-1 case tables: UPPERCASE[c] is the uppercase of byte c (itself if it has none in Latin-1). */
export const UPPERCASE = new Uint8Array(256);
export const LOWERCASE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const isLower = (c >= 0x61 && c <= 0x7a) || (c >= 0xe0 && c <= 0xfe && c !== 0xf7);
  const isUpper = (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7);
  UPPERCASE[c] = isLower ? c - 0x20 : c;
  LOWERCASE[c] = isUpper ? c + 0x20 : c;
}

/** The 256-byte table at `oop`: null for nil (identity), undefined if it is not a byte object of 256+ bytes. */
function tableAt(mem: ObjectMemory, oop: Oop): Uint8Array | null | undefined {
  if (oop === mem.nilOop) return null;
  if (!isByteObject(mem, oop) || mem.byteLength(oop) < 256) return undefined;
  return mem.bytes.subarray(mem.bodyByte(oop), mem.bodyByte(oop) + 256);
}

/** -1, 0 or 1: the bytes of `a` against those of `b`, each mapped through `order` (null: as they are), then sizes. */
function compareBytes(mem: ObjectMemory, a: Oop, b: Oop, order: Uint8Array | null): number {
  const d = byteDifference(mem, a, b, order);
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}

/** The first difference of mapped bytes, else the size difference (Squeak's compareWith: answer). */
function byteDifference(mem: ObjectMemory, a: Oop, b: Oop, order: Uint8Array | null): number {
  const bytes = mem.bytes;
  const la = mem.byteLength(a);
  const lb = mem.byteLength(b);
  const sa = mem.bodyByte(a);
  const sb = mem.bodyByte(b);
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    let c1 = bytes[sa + i];
    let c2 = bytes[sb + i];
    if (order !== null) {
      c1 = order[c1];
      c2 = order[c2];
    }
    if (c1 !== c2) return c1 - c2;
  }
  return la - lb;
}

/**
 * The 0-based index in `body` (from `from`) of the first occurrence of `key`, bytes compared through
 * `table` (null: as they are); -1 if none or the key is empty.
 */
export function findBytes(mem: ObjectMemory, key: Oop, body: Oop, from: number, table: Uint8Array | null): number {
  const keyLength = mem.byteLength(key);
  const bodyLength = mem.byteLength(body);
  const last = bodyLength - keyLength;
  if (keyLength === 0 || from > last) return -1;
  const bytes = mem.bytes;
  const ks = mem.bodyByte(key);
  const bs = mem.bodyByte(body);
  if (table === null) {
    const bodyBytes = bytes.subarray(bs, bs + bodyLength);
    const first = bytes[ks];
    for (let i = from; i <= last; i++) {
      i = bodyBytes.indexOf(first, i);
      if (i < 0 || i > last) return -1;
      let k = 1;
      while (k < keyLength && bytes[bs + i + k] === bytes[ks + k]) k++;
      if (k === keyLength) return i;
    }
    return -1;
  }
  for (let i = from; i <= last; i++) {
    let k = 0;
    while (k < keyLength && table[bytes[bs + i + k]] === table[bytes[ks + k]]) k++;
    if (k === keyLength) return i;
  }
  return -1;
}

// ---------------------------------------------------------------- MiscPrimitivePlugin (Squeak)

/** String class>>compare: string1 with: string2 collated: order — 1, 2 or 3 for <, =, > */
function primitiveCompareString(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 3) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const string1 = vm.stackValue(2);
  const string2 = vm.stackValue(1);
  const order = tableAt(mem, vm.stackValue(0));
  if (!isByteObject(mem, string1) || !isByteObject(mem, string2) || order === undefined) return vm.failWith(PrimErr.badArgument);
  return answer(vm, argCount, smallIntOop(compareBytes(mem, string1, string2, order) + 2));
}

/** String class>>findFirstInString: aString inSet: inclusionMap startingAt: start — index of the first byte in the set, or 0 */
function primitiveFindFirstInString(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 3) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const string = vm.stackValue(2);
  const map = vm.stackValue(1);
  const start = vm.stackValue(0);
  if (!isByteObject(mem, string) || !isByteObject(mem, map) || (start & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  if (start >> 1 < 1) return vm.failWith(PrimErr.badIndex);
  if (mem.byteLength(map) !== 256) return answer(vm, argCount, smallIntOop(0));
  const bytes = mem.bytes;
  const s = mem.bodyByte(string);
  const m = mem.bodyByte(map);
  const size = mem.byteLength(string);
  for (let i = (start >> 1) - 1; i < size; i++) {
    if (bytes[m + bytes[s + i]] !== 0) return answer(vm, argCount, smallIntOop(i + 1));
  }
  return answer(vm, argCount, smallIntOop(0));
}

/** String class>>indexOfAscii: anInteger inString: aString startingAt: start — index of the byte, or 0 */
function primitiveIndexOfAsciiInString(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 3) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const value = vm.stackValue(2);
  const string = vm.stackValue(1);
  const start = vm.stackValue(0);
  if ((value & 1) !== 1 || !isByteObject(mem, string) || (start & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  if (start >> 1 < 1) return vm.failWith(PrimErr.badIndex);
  const byte = value >> 1;
  if (byte < 0 || byte > 255) return answer(vm, argCount, smallIntOop(0));
  const s = mem.bodyByte(string);
  const found = mem.bytes.subarray(s, s + mem.byteLength(string)).indexOf(byte, (start >> 1) - 1);
  return answer(vm, argCount, smallIntOop(found + 1));
}

/** String>>findSubstring: key in: body startingAt: start matchTable: matchTable — index of key in body, or 0 */
function primitiveFindSubstring(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 4) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const key = vm.stackValue(3);
  const body = vm.stackValue(2);
  const start = vm.stackValue(1);
  const table = tableAt(mem, vm.stackValue(0));
  if (!isByteObject(mem, key) || !isByteObject(mem, body) || (start & 1) !== 1 || table === undefined) {
    return vm.failWith(PrimErr.badArgument);
  }
  if (start >> 1 < 1) return vm.failWith(PrimErr.badIndex);
  return answer(vm, argCount, smallIntOop(findBytes(mem, key, body, (start >> 1) - 1, table) + 1));
}

/** Squeak's stringHash:initialHash: over bytes (SmallInteger>>hashMultiply after adding each byte). */
export function squeakStringHash(bytes: Uint8Array, start: number, end: number, initialHash: number): number {
  let hash = initialHash & 0x0fffffff;
  for (let i = start; i < end; i++) {
    hash += bytes[i];
    const low = hash & 16383;
    hash = (0x260d * low + ((((0x260d * Math.floor(hash / 16384)) + 0x65 * low) & 16383) * 16384)) & 0x0fffffff;
  }
  return hash;
}

/** String class>>stringHash: aString initialHash: speciesHash */
function primitiveStringHash(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const string = vm.stackValue(1);
  const initial = vm.stackValue(0);
  if (!isByteObject(mem, string) || (initial & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const s = mem.bodyByte(string);
  return answer(vm, argCount, smallIntOop(squeakStringHash(mem.bytes, s, s + mem.byteLength(string), initial >> 1)));
}

/** String class>>translate: aString from: start to: stop table: table — in place; answers the receiver */
function primitiveTranslateStringWithTable(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 4) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const string = vm.stackValue(3);
  const startOop = vm.stackValue(2);
  const stopOop = vm.stackValue(1);
  const table = tableAt(mem, vm.stackValue(0));
  if (!isByteObject(mem, string) || (startOop & stopOop & 1) !== 1 || table === undefined) return vm.failWith(PrimErr.badArgument);
  const start = startOop >> 1;
  const stop = stopOop >> 1;
  if (start <= stop && (start < 1 || stop > mem.byteLength(string))) return vm.failWith(PrimErr.badIndex);
  if (failIfReadOnly(vm, string)) return false;
  if (table !== null) {
    const bytes = mem.bytes;
    const s = mem.bodyByte(string);
    for (let i = start - 1; i < stop; i++) bytes[s + i] = table[bytes[s + i]];
  }
  vm.pop(argCount);
  return true;
}

// ---------------------------------------------------------------- Oz helpers

function convertCase(vm: Interpreter, argCount: number, table: Uint8Array): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  stressPoint(vm);
  const mem = vm.mem;
  const rcvr = vm.stackValue(0);
  if (!isByteObject(mem, rcvr)) return vm.failWith(PrimErr.badReceiver);
  const n = mem.byteLength(rcvr);
  if (mem.classOfPointer(rcvr) === mem.specialObject(Special.classByteSymbol)) {
    let text = "";
    const s = mem.bodyByte(rcvr);
    for (let i = 0; i < n; i++) text += String.fromCharCode(table[mem.bytes[s + i]]);
    let symbol: Oop;
    try {
      symbol = internSymbol(mem, text);
    } catch {
      return vm.failWith(PrimErr.unsupported); // no symbol table
    }
    return answer(vm, argCount, symbol);
  }
  const copy = allocateWithRetry(vm, mem.objectBytes(rcvr), () => mem.allocateBytes(mem.classOfPointer(vm.stackValue(0)), n));
  if (copy === 0) return vm.failWith(PrimErr.insufficientObjectMemory);
  const from = mem.bodyByte(vm.stackValue(0));
  const to = mem.bodyByte(copy);
  const bytes = mem.bytes;
  for (let i = 0; i < n; i++) bytes[to + i] = table[bytes[from + i]];
  return answer(vm, argCount, copy);
}

/** String>>asUppercase helper: a new string of the receiver's class (a symbol answers the interned symbol) */
function primitiveAsUppercase(vm: Interpreter, argCount: number): boolean {
  return convertCase(vm, argCount, UPPERCASE);
}

/** String>>asLowercase helper */
function primitiveAsLowercase(vm: Interpreter, argCount: number): boolean {
  return convertCase(vm, argCount, LOWERCASE);
}

/** String>>indexOfSubCollection: key startingAt: start [caseSensitive: aBoolean] helper — the index, or 0 */
function primitiveIndexOfSubstring(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2 && argCount !== 3) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const body = vm.stackValue(argCount);
  const key = vm.stackValue(argCount - 1);
  const start = vm.stackValue(argCount - 2);
  let caseSensitive = true;
  if (argCount === 3) {
    const flag = vm.stackValue(0);
    if (flag !== mem.trueOop && flag !== mem.falseOop) return vm.failWith(PrimErr.badArgument);
    caseSensitive = flag === mem.trueOop;
  }
  if (!isByteObject(mem, body)) return vm.failWith(PrimErr.badReceiver);
  if (!isByteObject(mem, key) || (start & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  if (start >> 1 < 1) return vm.failWith(PrimErr.badIndex);
  const found = findBytes(mem, key, body, (start >> 1) - 1, caseSensitive ? null : UPPERCASE);
  return answer(vm, argCount, smallIntOop(found + 1));
}

/** String>>caseInsensitiveCompareTo:-style helper: 1, 2 or 3 as the receiver is <, = or > the argument, ignoring case */
function primitiveCompareIgnoringCase(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(1);
  const other = vm.stackValue(0);
  if (!isByteObject(mem, rcvr)) return vm.failWith(PrimErr.badReceiver);
  if (!isByteObject(mem, other)) return vm.failWith(PrimErr.badArgument);
  return answer(vm, argCount, smallIntOop(compareBytes(mem, rcvr, other, UPPERCASE) + 2));
}

// ---------------------------------------------------------------- numbered

/** 158: String>>compareWith: aString [collated: order] — first byte difference, else size difference */
function primitiveCompareWith(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1 && argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const string1 = vm.stackValue(argCount);
  const string2 = vm.stackValue(argCount - 1);
  const order = argCount === 2 ? tableAt(mem, vm.stackValue(0)) : null;
  if (!isByteObject(mem, string1)) return vm.failWith(PrimErr.badReceiver);
  if (!isByteObject(mem, string2) || order === undefined) return vm.failWith(PrimErr.badArgument);
  return answer(vm, argCount, smallIntOop(byteDifference(mem, string1, string2, order)));
}

export const stringPrimitives: Record<number, PrimitiveFn> = {
  158: primitiveCompareWith,
};

export const stringModule: Record<string, PrimitiveFn> = {
  primitiveCompareString,
  primitiveFindFirstInString,
  primitiveIndexOfAsciiInString,
  primitiveFindSubstring,
  primitiveStringHash,
  primitiveTranslateStringWithTable,
  primitiveAsUppercase,
  primitiveAsLowercase,
  primitiveIndexOfSubstring,
  primitiveCompareIgnoringCase,
};
