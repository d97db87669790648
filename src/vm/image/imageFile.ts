/**
 * Oz image files (docs/image-format.md): a 64-byte header and the heap bytes, little-endian.
 *
 *   0  magic "OZIMG\r\n\x1a"     20 heap bytes (= freeStart)      36 heap checksum (CRC-32)
 *   8  format version (1)        24 special objects array oop     40 heap limit the image ran with
 *  12  header size (64)          28 identity hash generator state 44..59 reserved (zero)
 *  16  word size (4)             32 flags (bit 0: little-endian)  60 header checksum (CRC-32 of 0..59)
 *
 * Oops are heap offsets, so loading is a copy: no relocation. Loading validates everything before it
 * answers a heap (header, checksums, that objects tile the heap exactly, that every class and pointer
 * field designates an object): a truncated, corrupt or foreign file is refused with a message naming
 * what is wrong.
 */
import { COLLECTOR_FLAGS, HEADER_WORDS, HEAP_START, ObjectMemory, type HeapOptions } from "../memory/heap.js";
import { isValidFormat, isCompiledMethodFormat, Format } from "../memory/format.js";
import { Special, SPECIAL_OBJECTS_SIZE } from "../memory/special.js";
import { crc32 } from "./crc32.js";

export const IMAGE_MAGIC = Uint8Array.of(0x4f, 0x5a, 0x49, 0x4d, 0x47, 0x0d, 0x0a, 0x1a);
export const IMAGE_VERSION = 1;
export const IMAGE_HEADER_SIZE = 64;

export class ImageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageFormatError";
  }
}

/**
 * Serializes a heap. The caller collects garbage first so that the heap is compact; collector flags
 * (the remembered bit of the active context, for one) are cleared in the file, never in the heap. The
 * read-only flag is part of the object and is kept.
 */
export function writeImage(mem: ObjectMemory): Uint8Array {
  const heapBytes = mem.freeStart;
  const out = new Uint8Array(IMAGE_HEADER_SIZE + heapBytes);
  out.set(new Uint8Array(mem.buffer, 0, heapBytes), IMAGE_HEADER_SIZE);
  const outWords = new Int32Array(out.buffer, IMAGE_HEADER_SIZE, heapBytes >> 2);
  for (let oop = HEAP_START; oop < heapBytes; oop = mem.nextObject(oop)) outWords[(oop >> 2) + 1] &= ~COLLECTOR_FLAGS;
  const view = new DataView(out.buffer);
  out.set(IMAGE_MAGIC, 0);
  view.setUint32(8, IMAGE_VERSION, true);
  view.setUint32(12, IMAGE_HEADER_SIZE, true);
  view.setUint32(16, 4, true);
  view.setUint32(20, heapBytes, true);
  view.setUint32(24, mem.specialObjectsOop, true);
  view.setUint32(28, mem.hashState >>> 0, true);
  view.setUint32(32, 1, true);
  view.setUint32(36, crc32(out.subarray(IMAGE_HEADER_SIZE)), true);
  view.setUint32(40, mem.limitBytes, true);
  view.setUint32(60, crc32(out.subarray(0, 60)), true);
  return out;
}

function describeForeign(bytes: Uint8Array): string {
  if (bytes.length >= 4) {
    const le = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    const be = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, false);
    const squeak = [6502, 6504, 6505, 68000, 68002, 68003, 6521, 68021];
    if (squeak.includes(le)) return `this is a Squeak/Pharo image (format ${le}), not an Oz image`;
    if (squeak.includes(be)) return `this is a Squeak/Pharo image (format ${be}, big-endian), not an Oz image`;
  }
  return "not an Oz image (bad magic number)";
}

/** Reads an image file into a new heap, or throws ImageFormatError saying what is wrong. */
export function readImage(bytes: Uint8Array, options: HeapOptions = {}): ObjectMemory {
  if (bytes.length < IMAGE_HEADER_SIZE) {
    if (bytes.length >= 8 && !IMAGE_MAGIC.every((b, i) => bytes[i] === b)) throw new ImageFormatError(describeForeign(bytes));
    throw new ImageFormatError(`truncated image: ${bytes.length} bytes, but the header alone is ${IMAGE_HEADER_SIZE}`);
  }
  if (!IMAGE_MAGIC.every((b, i) => bytes[i] === b)) throw new ImageFormatError(describeForeign(bytes));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== IMAGE_VERSION) throw new ImageFormatError(`unsupported image format version ${version} (this Oz reads version ${IMAGE_VERSION})`);
  if (view.getUint32(60, true) !== crc32(bytes.subarray(0, 60))) throw new ImageFormatError("corrupt image: the header checksum does not match");
  const headerSize = view.getUint32(12, true);
  if (headerSize !== IMAGE_HEADER_SIZE) throw new ImageFormatError(`unsupported header size ${headerSize}`);
  const wordSize = view.getUint32(16, true);
  if (wordSize !== 4) throw new ImageFormatError(`unsupported word size ${wordSize} (Oz images use 4-byte words)`);
  if ((view.getUint32(32, true) & 1) !== 1) throw new ImageFormatError("big-endian images are not supported");
  const heapBytes = view.getUint32(20, true);
  const actual = bytes.length - IMAGE_HEADER_SIZE;
  if (actual < heapBytes) throw new ImageFormatError(`truncated image: the header announces ${heapBytes} heap bytes, the file holds ${actual}`);
  if (actual > heapBytes) throw new ImageFormatError(`corrupt image: ${actual - heapBytes} unexpected bytes after the heap`);
  if (heapBytes < HEAP_START || heapBytes % 4 !== 0) throw new ImageFormatError(`corrupt image: impossible heap size ${heapBytes}`);
  const heap = bytes.subarray(IMAGE_HEADER_SIZE);
  if (view.getUint32(36, true) !== crc32(heap)) throw new ImageFormatError("corrupt image: the heap checksum does not match");

  const savedLimit = view.getUint32(40, true);
  const limit = Math.max(options.limitBytes ?? savedLimit, heapBytes + 1024 * 1024);
  const mem = new ObjectMemory({ ...options, limitBytes: limit, initialBytes: Math.max(heapBytes * 2, options.initialBytes ?? 0) });
  if (mem.buffer.byteLength < heapBytes) mem.grow(heapBytes);
  mem.bytes.set(heap, 0);
  mem.freeStart = heapBytes;
  mem.youngStart = heapBytes;
  mem.hashState = view.getUint32(28, true) | 0 || 1;
  const soa = view.getUint32(24, true);
  validateHeap(mem, soa);
  mem.setSpecialObjects(soa);
  return mem;
}

/** Checks that the heap is made of well-formed objects whose references all designate objects. */
export function validateHeap(mem: ObjectMemory, soa: number): void {
  const end = mem.freeStart;
  const words = mem.words;
  const starts = new Uint8Array((end >> 2) + 1);
  let count = 0;
  for (let oop = HEAP_START; oop < end; ) {
    const i = oop >> 2;
    if (oop + HEADER_WORDS * 4 > end) throw new ImageFormatError(`corrupt image: object header at ${oop} runs past the end of the heap`);
    const fmt = (words[i + 1] >> 3) & 31;
    if (!isValidFormat(fmt)) throw new ImageFormatError(`corrupt image: object at ${oop} has invalid format ${fmt}`);
    if ((words[i + 1] & COLLECTOR_FLAGS) !== 0) throw new ImageFormatError(`corrupt image: object at ${oop} has collector flags set`);
    const slots = words[i + 2];
    if (slots < 0 || oop + (HEADER_WORDS + slots) * 4 > end) throw new ImageFormatError(`corrupt image: object at ${oop} (${slots} slots) runs past the end of the heap`);
    starts[i] = 1;
    count++;
    oop += (HEADER_WORDS + slots) * 4;
  }
  const isObject = (oop: number) => oop >= HEAP_START && oop < end && (oop & 3) === 0 && starts[oop >> 2] === 1;
  for (let oop = HEAP_START; oop < end; ) {
    const i = oop >> 2;
    const slots = words[i + 2];
    const cls = words[i];
    if (!isObject(cls)) throw new ImageFormatError(`corrupt image: object at ${oop} has an invalid class reference ${cls}`);
    const fmt = (words[i + 1] >> 3) & 31;
    let pointers = 0;
    if (fmt <= Format.weak) pointers = slots;
    else if (isCompiledMethodFormat(fmt)) {
      const header = words[i + HEADER_WORDS];
      if ((header & 1) !== 1) throw new ImageFormatError(`corrupt image: method at ${oop} has a non-integer header`);
      pointers = 1 + ((header >> 10) & 0xff);
      if (pointers > slots) throw new ImageFormatError(`corrupt image: method at ${oop} declares more literals than it holds`);
    }
    for (let j = 0; j < pointers; j++) {
      const v = words[i + HEADER_WORDS + j];
      if ((v & 3) === 0 && !isObject(v)) throw new ImageFormatError(`corrupt image: field ${j} of the object at ${oop} refers to ${v}, which is not an object`);
    }
    oop += (HEADER_WORDS + slots) * 4;
  }
  if (!isObject(soa)) throw new ImageFormatError(`corrupt image: the special objects array reference ${soa} is not an object`);
  if (words[(soa >> 2) + 2] < SPECIAL_OBJECTS_SIZE) throw new ImageFormatError("corrupt image: the special objects array is too short");
  for (const index of [Special.nil, Special.false, Special.true, Special.schedulerAssociation]) {
    if (!isObject(words[(soa >> 2) + HEADER_WORDS + index])) throw new ImageFormatError(`corrupt image: special object ${index} is missing`);
  }
  if (count === 0) throw new ImageFormatError("corrupt image: the heap holds no objects");
}
