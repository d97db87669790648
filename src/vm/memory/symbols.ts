/**
 * The symbol table: every ByteSymbol of an image, so that equal selectors are identical objects.
 *
 * It lives in the heap (special object `symbolTable`, a SymbolTable with `tally` and `buckets`), an open
 * addressing hash set over an Array whose size is a power of two, probed linearly from the string hash
 * of the symbol's bytes. Only the VM reads and writes it (the image interns through a primitive), so the
 * hash function has one definition: `stringHash` below, also answered by String>>hash's primitive.
 */
import type { ObjectMemory } from "./heap.js";
import { HEADER_BYTES } from "./heap.js";
import { Special } from "./special.js";
import { SymbolTableLayout } from "./layout.js";
import { Format } from "./format.js";
import { smallIntOop, smallIntValue, type Oop } from "./oop.js";

/** FNV-1a over the bytes, folded to 28 bits (a positive SmallInteger). */
export function stringHashOfBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ (h >>> 28)) & 0x0fffffff;
}

/**
 * The same hash over the code points of a WideString (32-bit words): a code point under 256 counts as
 * that byte, so a WideString holding only Latin-1 characters hashes like the equal ByteString.
 */
export function stringHashOfWords(words: Int32Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) {
    const c = words[i] >>> 0;
    if (c < 256) {
      h ^= c;
      h = Math.imul(h, 0x01000193);
    } else {
      for (let shift = 0; shift < 32; shift += 8) {
        h ^= (c >>> shift) & 0xff;
        h = Math.imul(h, 0x01000193);
      }
    }
  }
  return (h ^ (h >>> 28)) & 0x0fffffff;
}

export function stringHash(text: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ (h >>> 28)) & 0x0fffffff;
}

function bytesEqual(mem: ObjectMemory, oop: Oop, text: string): boolean {
  if (mem.byteLength(oop) !== text.length) return false;
  const start = oop + HEADER_BYTES;
  const b = mem.bytes;
  for (let i = 0; i < text.length; i++) if (b[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Answers the symbol for `text`, or 0 if the image has none. */
export function lookupSymbol(mem: ObjectMemory, text: string): Oop {
  const table = mem.specialObject(Special.symbolTable);
  if (table === 0 || table === mem.nilOop) return 0;
  const buckets = mem.fetchPointer(table, SymbolTableLayout.buckets);
  const size = mem.slotCount(buckets);
  const nil = mem.nilOop;
  let i = stringHash(text) & (size - 1);
  for (let probes = 0; probes < size; probes++) {
    const sym = mem.fetchPointer(buckets, i);
    if (sym === nil) return 0;
    if (bytesEqual(mem, sym, text)) return sym;
    i = (i + 1) & (size - 1);
  }
  return 0;
}

/** Answers the symbol for `text`, creating it if needed; 0 when memory is short. */
export function internSymbol(mem: ObjectMemory, text: string): Oop {
  const found = lookupSymbol(mem, text);
  if (found !== 0) return found;
  const table = mem.specialObject(Special.symbolTable);
  if (table === 0 || table === mem.nilOop) throw new Error("the image has no symbol table");
  let buckets = mem.fetchPointer(table, SymbolTableLayout.buckets);
  const tally = smallIntValue(mem.fetchPointer(table, SymbolTableLayout.tally));
  if ((tally + 1) * 4 > mem.slotCount(buckets) * 3) {
    if (!growSymbolTable(mem, table)) return 0;
    buckets = mem.fetchPointer(table, SymbolTableLayout.buckets);
  }
  const sym = mem.allocateString(mem.specialObject(Special.classByteSymbol), text);
  if (sym === 0) return 0;
  mem.setReadOnly(sym, true); // symbols are unique: nobody may change one, as in Pharo
  insert(mem, buckets, sym, text);
  mem.storePointer(table, SymbolTableLayout.tally, smallIntOop(tally + 1));
  return sym;
}

function insert(mem: ObjectMemory, buckets: Oop, sym: Oop, text: string): void {
  const size = mem.slotCount(buckets);
  let i = stringHash(text) & (size - 1);
  while (mem.fetchPointer(buckets, i) !== mem.nilOop) i = (i + 1) & (size - 1);
  mem.storePointer(buckets, i, sym);
}

function growSymbolTable(mem: ObjectMemory, table: Oop): boolean {
  const old = mem.fetchPointer(table, SymbolTableLayout.buckets);
  const oldSize = mem.slotCount(old);
  const fresh = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, Math.max(64, oldSize * 2));
  if (fresh === 0) return false;
  for (let i = 0; i < oldSize; i++) {
    const sym = mem.fetchPointer(old, i);
    if (sym !== mem.nilOop) insert(mem, fresh, sym, mem.stringOf(sym));
  }
  mem.storePointer(table, SymbolTableLayout.buckets, fresh);
  return true;
}

/** Creates an empty symbol table (bootstrap). `tableClass` may be 0 while classes do not exist yet. */
export function createSymbolTable(mem: ObjectMemory, tableClass: Oop, arrayClass: Oop, capacity = 4096): Oop {
  const table = mem.allocate(tableClass, Format.fixed, 2);
  const buckets = mem.allocate(arrayClass, Format.indexable, capacity);
  mem.storePointerUnchecked(table, SymbolTableLayout.tally, smallIntOop(0));
  mem.storePointerUnchecked(table, SymbolTableLayout.buckets, buckets);
  return table;
}

/** Every symbol of the table, for tools. */
export function allSymbols(mem: ObjectMemory): Oop[] {
  const table = mem.specialObject(Special.symbolTable);
  const buckets = mem.fetchPointer(table, SymbolTableLayout.buckets);
  const out: Oop[] = [];
  for (let i = 0; i < mem.slotCount(buckets); i++) {
    const sym = mem.fetchPointer(buckets, i);
    if (sym !== mem.nilOop) out.push(sym);
  }
  return out;
}
