/**
 * Method lookup, Blue Book style: `lookupMethodInClass` walks the superclass chain, searching each
 * method dictionary. A MethodDictionary keeps selectors in its indexable part and the methods in its
 * `array` at the same index; the slot of a selector is its identity hash modulo the capacity, probing
 * linearly (the kernel's MethodDictionary>>scanFor: uses the same rule).
 */
import { HEADER_WORDS, type ObjectMemory } from "../memory/heap.js";
import type { Oop } from "../memory/oop.js";
import { BehaviorLayout, MethodDictionaryLayout } from "../memory/layout.js";

const METHOD_DICT_FIXED = 2;

export function lookupMethodInDictionary(mem: ObjectMemory, dict: Oop, selector: Oop): Oop {
  const w = mem.words;
  const base = (dict >> 2) + HEADER_WORDS;
  const capacity = w[base - 1] - METHOD_DICT_FIXED;
  if (capacity <= 0) return 0;
  const nil = mem.nilOop;
  let i = mem.hashOf(selector) % capacity;
  for (let probes = 0; probes < capacity; probes++) {
    const key = w[base + METHOD_DICT_FIXED + i];
    if (key === selector) {
      const values = w[base + MethodDictionaryLayout.values];
      return w[(values >> 2) + HEADER_WORDS + i];
    }
    if (key === nil) return 0;
    if (++i === capacity) i = 0;
  }
  return 0;
}

/** Answers the method for `selector` starting at `cls`, or 0 when no class in the chain has one. */
export function lookupMethodInClass(mem: ObjectMemory, cls: Oop, selector: Oop): Oop {
  const nil = mem.nilOop;
  let guard = 0;
  while (cls !== nil && cls !== 0 && guard++ < 10000) {
    const dict = mem.fetchPointer(cls, BehaviorLayout.methodDict);
    if (dict !== nil && (dict & 3) === 0) {
      const method = lookupMethodInDictionary(mem, dict, selector);
      if (method !== 0) return method;
    }
    cls = mem.fetchPointer(cls, BehaviorLayout.superclass);
  }
  return 0;
}
