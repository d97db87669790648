/**
 * What kind of object an oop designates, for choosing a mirror and translating literals.
 */
import type { ObjectMemory } from "../../vm/memory/heap.js";
import { Special } from "../../vm/memory/special.js";
import { Format, isBytesFormat, isCompiledMethodFormat } from "../../vm/memory/format.js";
import { isCharacter, isSmallInt, type Oop } from "../../vm/memory/oop.js";
import type { MirrorKind, ObjectFormat } from "../objectSpace.js";
import { className, isBehavior, isMetaclass, isNil, superclassOf } from "../../vm/contract/guest.js";

export { className, isBehavior, isMetaclass };

/** Whether `cls` is the special class `special` or inherits from it. */
export function inheritsFromSpecial(mem: ObjectMemory, cls: Oop, special: number): boolean {
  const target = mem.specialObject(special);
  if (target === 0 || isNil(mem, target)) return false;
  return inheritsFrom(mem, cls, target);
}

export function inheritsFrom(mem: ObjectMemory, cls: Oop, target: Oop): boolean {
  for (let c = cls, guard = 0; !isNil(mem, c) && (c & 3) === 0 && guard < 10000; c = superclassOf(mem, c), guard++) {
    if (c === target) return true;
  }
  return false;
}

export function mirrorKindOf(mem: ObjectMemory, oop: Oop): MirrorKind {
  if (isSmallInt(oop)) return "smallInteger";
  if (isCharacter(oop)) return "character";
  const cls = mem.classOfPointer(oop);
  if (cls === 0) return formatKind(mem.formatOf(oop));
  if (isMetaclass(mem, oop)) return "metaclass";
  if (isBehavior(mem, oop)) return "class";
  if (cls === mem.specialObject(Special.classCompiledMethod) || isCompiledMethodFormat(mem.formatOf(oop))) return "method";
  if (cls === mem.specialObject(Special.classMethodContext)) return "context";
  if (inheritsFromSpecial(mem, cls, Special.classProcess)) return "process";
  if (cls === mem.specialObject(Special.classProcessorScheduler)) return "scheduler";
  if (cls === mem.specialObject(Special.classMethodDictionary)) return "methodDictionary";
  return formatKind(mem.formatOf(oop));
}

function formatKind(fmt: number): MirrorKind {
  if (isBytesFormat(fmt)) return "bytes";
  if (fmt === Format.words) return "words";
  if (isCompiledMethodFormat(fmt)) return "method";
  return "object";
}

export function formatName(fmt: number): ObjectFormat {
  if (isBytesFormat(fmt)) return "bytes";
  if (isCompiledMethodFormat(fmt)) return "compiledMethod";
  switch (fmt) {
    case Format.empty: return "empty";
    case Format.fixed: return "fixed";
    case Format.indexable: return "indexable";
    case Format.fixedIndexable: return "fixedIndexable";
    case Format.weak: return "weak";
    default: return "words";
  }
}

export const FORMAT_NUMBERS: Record<ObjectFormat, number> = {
  empty: Format.empty,
  fixed: Format.fixed,
  indexable: Format.indexable,
  fixedIndexable: Format.fixedIndexable,
  weak: Format.weak,
  words: Format.words,
  bytes: Format.bytes,
  compiledMethod: Format.compiledMethod,
};
