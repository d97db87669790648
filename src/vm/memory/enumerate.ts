/**
 * Walking the heap: all instances of a class, all objects, and the someObject/nextObject and
 * someInstance/nextInstance steps of Squeak's enumeration protocol.
 *
 * Objects are visited in address order, which the collector preserves (it slides survivors down without
 * reordering them), so a walk resumed after a collection continues where it was. Objects allocated during
 * a walk come after everything already visited.
 *
 * These functions see the heap as it is: dead objects not yet collected are included, and so are the
 * contexts the interpreter keeps on its free lists for reuse. Callers that hand objects to Smalltalk or to
 * a host must first make the heap safe to expose, which `vm.collect(true)` does (it empties the free lists
 * and forgets which contexts are reclaimable, and leaves live objects only); the storage primitives
 * (primitives/storage.ts) show how. Objects without a class (0: a bootstrap still building) are skipped.
 */
import { HEAP_START, HEADER_WORDS, type ObjectMemory } from "./heap.js";
import type { Oop } from "./oop.js";

/** The first object with a class, or 0 if there is none. */
export function firstObject(mem: ObjectMemory): Oop {
  return objectFrom(mem, HEAP_START);
}

/** The object after `oop` in address order (skipping classless ones), or 0 at the end of the heap. */
export function objectAfter(mem: ObjectMemory, oop: Oop): Oop {
  if (!isObjectStart(mem, oop)) return 0;
  return objectFrom(mem, mem.nextObject(oop));
}

/** The first instance of `cls` in address order, or 0. */
export function someInstanceOf(mem: ObjectMemory, cls: Oop): Oop {
  return instanceFrom(mem, cls, HEAP_START);
}

/** The next instance of the class of `oop` after it, or 0. */
export function nextInstanceAfter(mem: ObjectMemory, oop: Oop): Oop {
  if (!isObjectStart(mem, oop)) return 0;
  const cls = mem.classOfPointer(oop);
  if (cls === 0) return 0;
  return instanceFrom(mem, cls, mem.nextObject(oop));
}

/** Every object whose class is `cls`, in address order. */
export function allInstancesOf(mem: ObjectMemory, cls: Oop): Oop[] {
  const found: Oop[] = [];
  if ((cls & 3) !== 0 || cls === 0) return found;
  const words = mem.words;
  const end = mem.freeStart;
  for (let oop = HEAP_START; oop < end; oop += (HEADER_WORDS + words[(oop >> 2) + 2]) << 2) {
    if (words[oop >> 2] === cls) found.push(oop);
  }
  return found;
}

/** Every object with a class, in address order. */
export function allObjects(mem: ObjectMemory): Oop[] {
  const found: Oop[] = [];
  const words = mem.words;
  const end = mem.freeStart;
  for (let oop = HEAP_START; oop < end; oop += (HEADER_WORDS + words[(oop >> 2) + 2]) << 2) {
    if (words[oop >> 2] !== 0) found.push(oop);
  }
  return found;
}

/** Number of objects whose class is `cls` (no array is built). */
export function instanceCountOf(mem: ObjectMemory, cls: Oop): number {
  let n = 0;
  const words = mem.words;
  const end = mem.freeStart;
  for (let oop = HEAP_START; oop < end; oop += (HEADER_WORDS + words[(oop >> 2) + 2]) << 2) {
    if (words[oop >> 2] === cls) n++;
  }
  return n;
}

function objectFrom(mem: ObjectMemory, start: Oop): Oop {
  const words = mem.words;
  const end = mem.freeStart;
  for (let oop = start; oop < end; oop += (HEADER_WORDS + words[(oop >> 2) + 2]) << 2) {
    if (words[oop >> 2] !== 0) return oop;
  }
  return 0;
}

function instanceFrom(mem: ObjectMemory, cls: Oop, start: Oop): Oop {
  if ((cls & 3) !== 0 || cls === 0) return 0;
  const words = mem.words;
  const end = mem.freeStart;
  for (let oop = start; oop < end; oop += (HEADER_WORDS + words[(oop >> 2) + 2]) << 2) {
    if (words[oop >> 2] === cls) return oop;
  }
  return 0;
}

/** A plausible object address: a pointer inside the used part of the heap. */
function isObjectStart(mem: ObjectMemory, oop: Oop): boolean {
  return (oop & 3) === 0 && oop >= HEAP_START && oop < mem.freeStart;
}
