/**
 * The object memory of one image: a single ArrayBuffer heap, as design.md section 1 asks.
 *
 * Layout. An object is a 3-word header followed by its body, word aligned:
 *
 *   word 0  class oop (0 while a bootstrap object is still classless)
 *   word 1  flags (bits 0-2: mark, remembered, read-only) | format (bits 3-7) | identity hash (bits 8-29)
 *   word 2  number of body slots (32-bit words)
 *   body    pointers, 32-bit words, or bytes (format 8..15 record the unused bytes of the last word)
 *
 * An object's oop is the byte offset of its header, so the heap can be replaced by a larger copy when it
 * grows without changing any oop. Objects are allocated by bumping `freeStart`; everything at or above
 * `youngStart` was allocated since the last collection (the nursery, see gc.ts).
 *
 * Worked example: `Array new: 2` allocated at byte 4096 with Array at oop 1200 and nil at 16 writes
 * words[1024] = 1200, words[1025] = (hash << 8) | (2 << 3), words[1026] = 2, words[1027] = words[1028] = 16,
 * and answers 4096; the next object starts at byte 4096 + (3 + 2) * 4 = 4116.
 *
 * Nothing here moves objects: only the collector does, and only when the interpreter asks for it at a
 * safe point, so code that holds oops in local variables is safe as long as it does not call the GC.
 */
import { Format, hasByteTail, isBytesFormat, isCompiledMethodFormat, instSizeOf, instSpecOf, isWeakFormat } from "./format.js";
import { isPointer, type Oop } from "./oop.js";
import { Special } from "./special.js";

export const HEADER_WORDS = 3;
export const HEADER_BYTES = HEADER_WORDS * 4;
/** The first object starts here, so that no object has oop 0. */
export const HEAP_START = 16;

export const FLAG_MARK = 1;
export const FLAG_REMEMBERED = 2;
/** The object is read-only (Pharo's "immutable" bit): stores into it fail or send #attemptToAssign:withIndex:. */
export const FLAG_READ_ONLY = 4;
export const FLAGS_MASK = 7;
/** The flags only the collector uses, never set between collections nor in image files. */
export const COLLECTOR_FLAGS = FLAG_MARK | FLAG_REMEMBERED;
export const HASH_BITS = 22;
export const HASH_MASK = (1 << HASH_BITS) - 1;

export interface HeapOptions {
  /** initial size of the buffer in bytes */
  initialBytes?: number;
  /** hard limit on the bytes of objects the heap may hold */
  limitBytes?: number;
  /** seed of the identity hash generator (bootstraps use a fixed seed to be reproducible) */
  hashSeed?: number;
  /** bytes allocated between two young collections */
  nurseryBytes?: number;
}

export const DEFAULT_HEAP_LIMIT = 512 * 1024 * 1024;
/** No object can have more slots than the largest heap holds (and sizes stay within 32 bits). */
const MAX_SLOTS = (1024 * 1024 * 1024) >> 2;
const MAX_HEAP_LIMIT = 1024 * 1024 * 1024;

/** A host-held reference to a guest object: a GC root that follows the object when it moves. */
export class Handle {
  constructor(
    public oop: Oop,
    readonly memory: ObjectMemory,
  ) {}
  released = false;
}

/** Something outside the heap that holds oops: it must let the collector read and update them. */
export interface RootHolder {
  /** Calls `visit` on every oop held and stores back what it answers (the object's new address). */
  visitRoots(visit: (oop: Oop) => Oop): void;
}

export class OutOfMemory extends Error {}

export class ObjectMemory {
  buffer: ArrayBuffer;
  words: Int32Array;
  bytes: Uint8Array;
  freeStart = HEAP_START;
  youngStart = HEAP_START;
  limitBytes: number;
  nurseryBytes: number;
  hashState: number;
  specialObjectsOop: Oop = 0;
  nilOop: Oop = 0;
  trueOop: Oop = 0;
  falseOop: Oop = 0;
  /** old objects that may hold pointers to young ones (see the write barrier in storePointer) */
  remembered: Oop[] = [];
  readonly handles = new Set<Handle>();
  readonly rootHolders: RootHolder[] = [];
  /** called after the buffer was replaced, so that holders of `words`/`bytes` views can refresh them */
  readonly growListeners: Array<() => void> = [];
  readonly stats = { allocatedBytes: 0, allocations: 0, grows: 0 };
  private readonly floatScratch = new Float64Array(1);
  private readonly floatScratchWords = new Int32Array(this.floatScratch.buffer);

  constructor(options: HeapOptions = {}) {
    const limit = Math.min(options.limitBytes ?? DEFAULT_HEAP_LIMIT, MAX_HEAP_LIMIT);
    if (!(limit >= 64 * 1024)) throw new RangeError(`heap limit too small: ${limit} bytes (at least 64 KiB)`);
    this.limitBytes = limit;
    this.nurseryBytes = options.nurseryBytes ?? Math.max(64 * 1024, Math.min(4 * 1024 * 1024, Math.floor(limit / 8)));
    const initial = Math.min(
      roundUp(Math.max(HEAP_START + 1024, Math.min(options.initialBytes ?? 1024 * 1024, limit + HEAP_START)), 4096),
      bufferCap(limit),
    );
    this.buffer = new ArrayBuffer(initial);
    this.words = new Int32Array(this.buffer);
    this.bytes = new Uint8Array(this.buffer);
    this.hashState = (options.hashSeed ?? 0x2545f491) | 0 || 1;
  }

  // ---------------------------------------------------------------- special objects

  /** Installs the special objects array and caches nil, false and true from it. */
  setSpecialObjects(soa: Oop): void {
    this.specialObjectsOop = soa;
    this.nilOop = this.fetchPointer(soa, Special.nil);
    this.falseOop = this.fetchPointer(soa, Special.false);
    this.trueOop = this.fetchPointer(soa, Special.true);
  }

  specialObject(index: number): Oop {
    return this.words[(this.specialObjectsOop >> 2) + HEADER_WORDS + index];
  }

  setSpecialObject(index: number, value: Oop): void {
    this.storePointer(this.specialObjectsOop, index, value);
    if (index <= Special.true) this.setSpecialObjects(this.specialObjectsOop);
  }

  // ---------------------------------------------------------------- headers

  classOfPointer(oop: Oop): Oop {
    return this.words[oop >> 2];
  }

  /** The class of any oop, immediates included. */
  fetchClassOf(oop: Oop): Oop {
    if ((oop & 1) === 1) return this.specialObject(Special.classSmallInteger);
    if ((oop & 3) === 2) return this.specialObject(Special.classCharacter);
    return this.words[oop >> 2];
  }

  setClass(oop: Oop, cls: Oop): void {
    this.words[oop >> 2] = cls;
    this.writeBarrier(oop, cls);
  }

  formatOf(oop: Oop): number {
    return (this.words[(oop >> 2) + 1] >> 3) & 31;
  }

  hashOf(oop: Oop): number {
    return (this.words[(oop >> 2) + 1] >>> 8) & HASH_MASK;
  }

  setHash(oop: Oop, hash: number): void {
    const i = (oop >> 2) + 1;
    this.words[i] = (this.words[i] & 0xff) | ((hash & HASH_MASK) << 8);
  }

  flagsOf(oop: Oop): number {
    return this.words[(oop >> 2) + 1] & FLAGS_MASK;
  }

  /** Whether `oop` is read-only; immediates (SmallIntegers, Characters) always are, as in Pharo. */
  isReadOnly(oop: Oop): boolean {
    return (oop & 3) !== 0 || (this.words[(oop >> 2) + 1] & FLAG_READ_ONLY) !== 0;
  }

  /** Sets or clears the read-only flag of the object `oop` (not an immediate). */
  setReadOnly(oop: Oop, readOnly: boolean): void {
    const i = (oop >> 2) + 1;
    if (readOnly) this.words[i] |= FLAG_READ_ONLY;
    else this.words[i] &= ~FLAG_READ_ONLY;
  }

  slotCount(oop: Oop): number {
    return this.words[(oop >> 2) + 2];
  }

  /** Index into `words` of the first body slot. */
  bodyIndex(oop: Oop): number {
    return (oop >> 2) + HEADER_WORDS;
  }

  /** Byte offset of the first body byte. */
  bodyByte(oop: Oop): number {
    return oop + HEADER_BYTES;
  }

  /** Total size in bytes, header included. */
  objectBytes(oop: Oop): number {
    return (HEADER_WORDS + this.words[(oop >> 2) + 2]) << 2;
  }

  nextObject(oop: Oop): Oop {
    return oop + ((HEADER_WORDS + this.words[(oop >> 2) + 2]) << 2);
  }

  /** Number of bytes in the byte part of a byte object or compiled method (the whole body for bytes). */
  byteLength(oop: Oop): number {
    const fmt = this.formatOf(oop);
    return this.slotCount(oop) * 4 - (fmt & 3);
  }

  isYoung(oop: Oop): boolean {
    return oop >= this.youngStart;
  }

  /** Number of named instance variables of `oop`, from its class's format. */
  fixedFieldsOf(oop: Oop): number {
    const fmt = this.formatOf(oop);
    if (fmt === Format.fixed || fmt === Format.fixedIndexable || fmt === Format.weak) {
      const cls = this.classOfPointer(oop);
      if (cls === 0) return fmt === Format.fixed ? this.slotCount(oop) : 0;
      return instSizeOf(this.classFormatOf(cls));
    }
    return 0;
  }

  /** The SmallInteger value of a class's format slot. */
  classFormatOf(cls: Oop): number {
    return this.words[(cls >> 2) + HEADER_WORDS + 2] >> 1;
  }

  /** Number of indexable elements (slots, words or bytes), the `basicSize` of Smalltalk. */
  indexableSize(oop: Oop): number {
    if (!isPointer(oop)) return 0;
    const fmt = this.formatOf(oop);
    if (fmt <= Format.weak) return this.slotCount(oop) - this.fixedFieldsOf(oop);
    if (fmt === Format.words) return this.slotCount(oop);
    if (isBytesFormat(fmt)) return this.byteLength(oop);
    if (isCompiledMethodFormat(fmt)) return this.byteLength(oop);
    return 0;
  }

  // ---------------------------------------------------------------- field access

  fetchPointer(oop: Oop, index: number): Oop {
    return this.words[(oop >> 2) + HEADER_WORDS + index];
  }

  /** Stores a pointer field, recording old-to-young references for the young collector. */
  storePointer(oop: Oop, index: number, value: Oop): void {
    this.words[(oop >> 2) + HEADER_WORDS + index] = value;
    if (oop < this.youngStart && value >= this.youngStart && (value & 3) === 0) this.remember(oop);
  }

  /** Stores into a young object (just allocated): no barrier needed. */
  storePointerUnchecked(oop: Oop, index: number, value: Oop): void {
    this.words[(oop >> 2) + HEADER_WORDS + index] = value;
  }

  writeBarrier(oop: Oop, value: Oop): void {
    if (oop < this.youngStart && value >= this.youngStart && (value & 3) === 0) this.remember(oop);
  }

  remember(oop: Oop): void {
    const i = (oop >> 2) + 1;
    if ((this.words[i] & FLAG_REMEMBERED) === 0) {
      this.words[i] |= FLAG_REMEMBERED;
      this.remembered.push(oop);
    }
  }

  fetchWord(oop: Oop, index: number): number {
    return this.words[(oop >> 2) + HEADER_WORDS + index] >>> 0;
  }

  storeWord(oop: Oop, index: number, value: number): void {
    this.words[(oop >> 2) + HEADER_WORDS + index] = value | 0;
  }

  fetchByte(oop: Oop, index: number): number {
    return this.bytes[oop + HEADER_BYTES + index];
  }

  storeByte(oop: Oop, index: number, value: number): void {
    this.bytes[oop + HEADER_BYTES + index] = value;
  }

  /** The bytes of a byte object, as a view (valid until the heap grows). */
  bytesView(oop: Oop): Uint8Array {
    return this.bytes.subarray(oop + HEADER_BYTES, oop + HEADER_BYTES + this.byteLength(oop));
  }

  // ---------------------------------------------------------------- allocation

  private nextHash(): number {
    // xorshift32: deterministic for a given seed, so bootstraps are byte-identical
    let x = this.hashState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.hashState = x | 0;
    return (x >>> 7) & HASH_MASK;
  }

  /** Whether `bytes` more can be allocated without passing the hard limit. */
  canAllocate(bytes: number): boolean {
    return this.freeStart + bytes <= this.limitBytes + HEAP_START;
  }

  bytesUsed(): number {
    return this.freeStart - HEAP_START;
  }

  /**
   * Allocates an object of `slots` body words, its body filled with `fill`. Answers 0 when the hard limit
   * would be passed; callers turn that into a primitive failure or an interpreter-level low-space event.
   */
  allocate(cls: Oop, format: number, slots: number, fill: Oop = this.nilOop): Oop {
    if (!(slots >= 0 && slots <= MAX_SLOTS)) return 0;
    const size = (HEADER_WORDS + slots) << 2;
    const oop = this.freeStart;
    const end = oop + size;
    if (end > this.buffer.byteLength) {
      if (end > this.limitBytes + HEAP_START || slots < 0 || !Number.isInteger(slots)) return 0;
      this.grow(end);
    }
    this.freeStart = end;
    const w = this.words;
    const i = oop >> 2;
    w[i] = cls;
    w[i + 1] = (this.nextHash() << 8) | (format << 3);
    w[i + 2] = slots;
    if (fill !== 0) w.fill(fill, i + HEADER_WORDS, i + HEADER_WORDS + slots);
    else w.fill(0, i + HEADER_WORDS, i + HEADER_WORDS + slots);
    this.stats.allocations++;
    this.stats.allocatedBytes += size;
    return oop;
  }

  /** Allocates a byte object of `n` bytes, zeroed. */
  allocateBytes(cls: Oop, n: number, baseFormat: number = Format.bytes): Oop {
    const slots = (n + 3) >> 2;
    return this.allocate(cls, baseFormat + (slots * 4 - n), slots, 0);
  }

  /** Instantiates `cls` as `basicNew:` would; answers 0 when the class cannot have such an instance or memory is short. */
  instantiate(cls: Oop, indexableSize = 0): Oop {
    const classFormat = this.classFormatOf(cls);
    const spec = instSpecOf(classFormat);
    const fixed = instSizeOf(classFormat);
    switch (spec) {
      case Format.empty:
      case Format.fixed:
        if (indexableSize !== 0) return 0;
        return this.allocate(cls, fixed === 0 ? Format.empty : Format.fixed, fixed);
      case Format.indexable:
      case Format.fixedIndexable:
      case Format.weak:
        return this.allocate(cls, spec, fixed + indexableSize);
      case Format.words:
        return this.allocate(cls, Format.words, indexableSize, 0);
      default:
        if (spec >= Format.bytes && spec < Format.compiledMethod) return this.allocateBytes(cls, indexableSize);
        return 0;
    }
  }

  /** Replaces the buffer by a larger one holding the same bytes; oops do not change. */
  grow(minBytes: number): void {
    // never past the limit: allocate() only checks the limit when the buffer is full
    const target = Math.min(roundUp(Math.max(minBytes + (minBytes >> 2), this.buffer.byteLength * 2), 64 * 1024), bufferCap(this.limitBytes));
    if (target < minBytes) throw new OutOfMemory(`heap cannot grow to ${minBytes} bytes (limit ${this.limitBytes})`);
    const next = new ArrayBuffer(target);
    new Uint8Array(next).set(new Uint8Array(this.buffer, 0, this.freeStart));
    this.replaceBuffer(next);
    this.stats.grows++;
  }

  /** Installs `buffer` as the heap (growth, compaction into a smaller buffer, image loading). */
  replaceBuffer(buffer: ArrayBuffer): void {
    this.buffer = buffer;
    this.words = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    for (const listener of this.growListeners) listener();
  }

  /** Copies an object (shallowCopy): same class, format and body, a fresh identity hash, writable. */
  clone(oop: Oop): Oop {
    const slots = this.slotCount(oop);
    const fmt = this.formatOf(oop);
    const copy = this.allocate(this.classOfPointer(oop), fmt, slots, 0);
    if (copy === 0) return 0;
    const from = (oop >> 2) + HEADER_WORDS;
    this.words.copyWithin((copy >> 2) + HEADER_WORDS, from, from + slots);
    return copy;
  }

  // ---------------------------------------------------------------- handles

  /** Registers a host reference that keeps `oop` alive and follows it across collections. */
  newHandle(oop: Oop): Handle {
    const h = new Handle(oop, this);
    if (isPointer(oop)) this.handles.add(h);
    return h;
  }

  releaseHandle(h: Handle): void {
    h.released = true;
    this.handles.delete(h);
  }

  // ---------------------------------------------------------------- floats

  floatValueOf(oop: Oop): number {
    const i = (oop >> 2) + HEADER_WORDS;
    // Squeak stores the most significant word first
    this.floatScratchWords[1] = this.words[i];
    this.floatScratchWords[0] = this.words[i + 1];
    return this.floatScratch[0];
  }

  storeFloat(oop: Oop, value: number): void {
    this.floatScratch[0] = value;
    const i = (oop >> 2) + HEADER_WORDS;
    this.words[i] = this.floatScratchWords[1];
    this.words[i + 1] = this.floatScratchWords[0];
  }

  /**
   * Allocates a Float; answers 0 when memory is short. Its class is SmallFloat64 (special classFloat) for
   * zero and magnitudes 2^-126 to 2^128, the range 64-bit Pharo keeps immediate, and BoxedFloat64 for the
   * others (when the image has that class), so that `x class` answers what it answers in Pharo.
   */
  allocateFloat(value: number): Oop {
    const magnitude = Math.abs(value);
    const small = magnitude === 0 || (magnitude >= 2 ** -126 && magnitude < 2 ** 128);
    const boxed = small ? 0 : this.specialObject(Special.classBoxedFloat64);
    const cls = boxed !== 0 && boxed !== this.nilOop ? boxed : this.specialObject(Special.classFloat);
    const oop = this.allocate(cls, Format.words, 2, 0);
    if (oop !== 0) this.storeFloat(oop, value);
    return oop;
  }

  /** Whether `cls` is a class whose instances the VM computes with as Floats (SmallFloat64, BoxedFloat64). */
  isFloatClass(cls: Oop): boolean {
    if (cls === 0) return false;
    if (cls === this.specialObject(Special.classFloat)) return true;
    const boxed = this.specialObject(Special.classBoxedFloat64);
    return cls === boxed && boxed !== this.nilOop && boxed !== 0;
  }

  // ---------------------------------------------------------------- strings

  /** The bytes of a byte object as a JavaScript string (one character per byte, Latin-1). */
  stringOf(oop: Oop): string {
    const start = oop + HEADER_BYTES;
    const end = start + this.byteLength(oop);
    let s = "";
    const b = this.bytes;
    for (let i = start; i < end; i += 8192) {
      s += String.fromCharCode.apply(null, Array.from(b.subarray(i, Math.min(end, i + 8192))));
    }
    return s;
  }

  /** Allocates a byte object of class `cls` holding `text` (characters above 255 are refused). */
  allocateString(cls: Oop, text: string): Oop {
    const oop = this.allocateBytes(cls, text.length);
    if (oop === 0) return 0;
    const start = oop + HEADER_BYTES;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 255) throw new RangeError(`character U+${c.toString(16).toUpperCase().padStart(4, "0")} does not fit in a byte string`);
      this.bytes[start + i] = c;
    }
    return oop;
  }

  // ---------------------------------------------------------------- enumeration

  /** Calls `fn` on every object in address order, dead ones included (collect first for live ones only). */
  forEachObject(fn: (oop: Oop) => void): void {
    let oop = HEAP_START;
    const end = this.freeStart;
    while (oop < end) {
      const next = this.nextObject(oop);
      fn(oop);
      oop = next;
    }
  }

  /** Number of pointer fields the collector must trace (header class excluded). */
  pointerSlots(oop: Oop): number {
    const fmt = this.formatOf(oop);
    if (fmt <= Format.weak) return this.slotCount(oop);
    if (isCompiledMethodFormat(fmt)) return 1 + ((this.words[(oop >> 2) + HEADER_WORDS] >> 10) & 0xff);
    return 0;
  }

  /** Whether `oop` is a strong pointer field holder except for its weak part. */
  isWeak(oop: Oop): boolean {
    return isWeakFormat(this.formatOf(oop));
  }

  hasBytes(oop: Oop): boolean {
    return hasByteTail(this.formatOf(oop));
  }
}

/** The largest buffer a heap with this limit may have: objects end at most at limit + HEAP_START. */
function bufferCap(limitBytes: number): number {
  return (limitBytes + HEAP_START) & ~3;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
