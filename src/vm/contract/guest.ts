/**
 * Reading and changing the guest's kernel structures from the host, following the image contract (the
 * paper's section 3.6; docs/kernel-contract.md):
 *
 *  - classes: Behavior/ClassDescription/Class/Metaclass layouts (memory/layout.ts); instance variable
 *    names are an Array of Symbols or Strings;
 *  - Dictionary, SystemDictionary (Smalltalk), class pools, Undeclared: `tally` and `array`, an open
 *    addressing table of Associations probed linearly from `key hash \\ array size`, where a Symbol's
 *    hash is the VM's string hash (symbols.ts), so host and guest find the same slots;
 *  - MethodDictionary: selectors in the indexable part, methods in `array`, probed from
 *    `selector identityHash \\ capacity` (interpreter/lookup.ts).
 *
 * These functions allocate without collecting, so oops held by callers stay valid.
 */
import type { ObjectMemory } from "../memory/heap.js";
import { Format, instSizeOf, instSpecOf } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { AssociationLayout, BehaviorLayout, ClassDescriptionLayout, ClassLayout, MetaclassLayout, MethodDictionaryLayout } from "../memory/layout.js";
import { smallIntOop, type Oop } from "../memory/oop.js";
import { internSymbol, stringHash } from "../memory/symbols.js";
import { classNameOf } from "../interpreter/interpreter.js";

const DICT_TALLY = 0;
const DICT_ARRAY = 1;

/** A guest structure cannot be read or changed as the image contract says (or memory ran out). */
export class GuestError extends Error {
  constructor(
    readonly code: "resourceExhausted" | "contract",
    message: string,
  ) {
    super(message);
    this.name = "GuestError";
  }
}

function need(oop: Oop, what: string): Oop {
  if (oop === 0) throw new GuestError("resourceExhausted", `the guest is out of memory (creating ${what})`);
  return oop;
}

export function isNil(mem: ObjectMemory, oop: Oop): boolean {
  return oop === mem.nilOop || oop === 0;
}

export function bytesText(mem: ObjectMemory, oop: Oop): string | undefined {
  if ((oop & 3) !== 0 || isNil(mem, oop) || !mem.hasBytes(oop) || mem.formatOf(oop) >= Format.compiledMethod) return undefined;
  return mem.stringOf(oop);
}

// ---------------------------------------------------------------- classes

export function isMetaclass(mem: ObjectMemory, cls: Oop): boolean {
  const metaclassClass = mem.specialObject(Special.classMetaclass);
  return (cls & 3) === 0 && !isNil(mem, cls) && metaclassClass !== 0 && mem.classOfPointer(cls) === metaclassClass;
}

/** Whether `oop` is a class or a metaclass (its class is a metaclass, or it is a metaclass). */
export function isBehavior(mem: ObjectMemory, oop: Oop): boolean {
  if ((oop & 3) !== 0 || isNil(mem, oop)) return false;
  if (isMetaclass(mem, oop)) return true;
  const cls = mem.classOfPointer(oop);
  return cls !== 0 && isMetaclass(mem, cls) && mem.slotCount(oop) > ClassLayout.name;
}

export function className(mem: ObjectMemory, cls: Oop): string {
  return classNameOf(mem, cls);
}

export function superclassOf(mem: ObjectMemory, cls: Oop): Oop {
  return mem.fetchPointer(cls, BehaviorLayout.superclass);
}

/** The class itself for a class, the class it describes for a metaclass. */
export function thisClassOf(mem: ObjectMemory, cls: Oop): Oop {
  return isMetaclass(mem, cls) ? mem.fetchPointer(cls, MetaclassLayout.thisClass) : cls;
}

export function ownInstVarNames(mem: ObjectMemory, cls: Oop): string[] {
  const names = mem.fetchPointer(cls, ClassDescriptionLayout.instanceVariables);
  if ((names & 3) !== 0 || isNil(mem, names)) return [];
  const out: string[] = [];
  for (let i = 0; i < mem.slotCount(names); i++) out.push(bytesText(mem, mem.fetchPointer(names, i)) ?? `field${i + 1}`);
  return out;
}

export function allInstVarNames(mem: ObjectMemory, cls: Oop): string[] {
  const chain: Oop[] = [];
  for (let c = cls; !isNil(mem, c) && chain.length < 1000; c = superclassOf(mem, c)) chain.unshift(c);
  const names = chain.flatMap((c) => ownInstVarNames(mem, c));
  const size = instSizeOf(mem.classFormatOf(cls));
  while (names.length < size) names.push(`field${names.length + 1}`);
  return names.slice(0, size);
}

export function instanceSpec(mem: ObjectMemory, cls: Oop): number {
  return instSpecOf(mem.classFormatOf(cls));
}

// ---------------------------------------------------------------- dictionaries (Dictionary, SystemDictionary)

function keyText(mem: ObjectMemory, key: Oop): string | undefined {
  return bytesText(mem, key);
}

/** Every association of a Dictionary-like object. */
export function dictionaryAssociations(mem: ObjectMemory, dict: Oop): Oop[] {
  if ((dict & 3) !== 0 || isNil(mem, dict)) return [];
  const array = mem.fetchPointer(dict, DICT_ARRAY);
  if ((array & 3) !== 0 || isNil(mem, array)) return [];
  const out: Oop[] = [];
  for (let i = 0; i < mem.slotCount(array); i++) {
    const a = mem.fetchPointer(array, i);
    if (!isNil(mem, a) && (a & 3) === 0) out.push(a);
  }
  return out;
}

/** The association whose key is the symbol or string `name`, or 0. */
export function dictionaryAssociationAt(mem: ObjectMemory, dict: Oop, name: string): Oop {
  if ((dict & 3) !== 0 || isNil(mem, dict)) return 0;
  const array = mem.fetchPointer(dict, DICT_ARRAY);
  if ((array & 3) !== 0 || isNil(mem, array)) return 0;
  const size = mem.slotCount(array);
  if (size === 0) return 0;
  let i = stringHash(name) % size;
  for (let probes = 0; probes < size; probes++) {
    const a = mem.fetchPointer(array, i);
    if (isNil(mem, a)) return 0;
    if (keyText(mem, mem.fetchPointer(a, AssociationLayout.key)) === name) return a;
    i = (i + 1) % size;
  }
  return 0;
}

/** Adds `assoc` (whose key is the symbol `name`) to a Dictionary, growing it as the kernel does. */
export function dictionaryAddAssociation(mem: ObjectMemory, dict: Oop, name: string, assoc: Oop): void {
  let array = mem.fetchPointer(dict, DICT_ARRAY);
  const tally = mem.fetchPointer(dict, DICT_TALLY) >> 1;
  if ((tally + 1) * 4 > mem.slotCount(array) * 3) {
    const grown = need(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, Math.max(32, mem.slotCount(array) * 2)), "a dictionary");
    for (const old of dictionaryAssociations(mem, dict)) {
      insertAssociation(mem, grown, keyText(mem, mem.fetchPointer(old, AssociationLayout.key)) ?? "", old);
    }
    mem.storePointer(dict, DICT_ARRAY, grown);
    array = grown;
  }
  insertAssociation(mem, array, name, assoc);
  mem.storePointer(dict, DICT_TALLY, smallIntOop(tally + 1));
}

function insertAssociation(mem: ObjectMemory, array: Oop, name: string, assoc: Oop): void {
  const size = mem.slotCount(array);
  let i = stringHash(name) % size;
  while (!isNil(mem, mem.fetchPointer(array, i))) i = (i + 1) % size;
  mem.storePointer(array, i, assoc);
}

export function newAssociation(mem: ObjectMemory, key: Oop, value: Oop): Oop {
  const a = need(mem.allocate(mem.specialObject(Special.classAssociation), Format.fixed, 2), "an association");
  mem.storePointerUnchecked(a, AssociationLayout.key, key);
  mem.storePointerUnchecked(a, AssociationLayout.value, value);
  return a;
}

/** `dict at: #name put: value`, answering the association (existing or new). */
export function dictionaryAtPut(mem: ObjectMemory, dict: Oop, name: string, value: Oop): Oop {
  const found = dictionaryAssociationAt(mem, dict, name);
  if (found !== 0) {
    mem.storePointer(found, AssociationLayout.value, value);
    return found;
  }
  const assoc = newAssociation(mem, need(internSymbol(mem, name), "a symbol"), value);
  dictionaryAddAssociation(mem, dict, name, assoc);
  return assoc;
}

/** Removes the association for `name`, re-placing the entries that follow it in its probe run. */
export function dictionaryRemoveKey(mem: ObjectMemory, dict: Oop, name: string): Oop {
  const array = mem.fetchPointer(dict, DICT_ARRAY);
  const size = mem.slotCount(array);
  if (size === 0) return 0;
  let i = stringHash(name) % size;
  for (let probes = 0; probes < size; probes++) {
    const a = mem.fetchPointer(array, i);
    if (isNil(mem, a)) return 0;
    if (keyText(mem, mem.fetchPointer(a, AssociationLayout.key)) === name) {
      mem.storePointer(array, i, mem.nilOop);
      mem.storePointer(dict, DICT_TALLY, smallIntOop((mem.fetchPointer(dict, DICT_TALLY) >> 1) - 1));
      for (let j = (i + 1) % size; !isNil(mem, mem.fetchPointer(array, j)); j = (j + 1) % size) {
        const moved = mem.fetchPointer(array, j);
        mem.storePointer(array, j, mem.nilOop);
        insertAssociation(mem, array, keyText(mem, mem.fetchPointer(moved, AssociationLayout.key)) ?? "", moved);
      }
      return a;
    }
    i = (i + 1) % size;
  }
  return 0;
}

export function smalltalkDictionary(mem: ObjectMemory): Oop {
  return mem.specialObject(Special.smalltalkDictionary);
}

export function globalAssociation(mem: ObjectMemory, name: string): Oop {
  return dictionaryAssociationAt(mem, smalltalkDictionary(mem), name);
}

// ---------------------------------------------------------------- method dictionaries

export function methodDictionaryOf(mem: ObjectMemory, cls: Oop): Oop {
  return mem.fetchPointer(cls, BehaviorLayout.methodDict);
}

export function newMethodDictionary(mem: ObjectMemory, capacity: number): Oop {
  const dict = need(mem.allocate(mem.specialObject(Special.classMethodDictionary), Format.fixedIndexable, 2 + capacity), "a method dictionary");
  const values = need(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, capacity), "a method dictionary");
  mem.storePointerUnchecked(dict, MethodDictionaryLayout.tally, smallIntOop(0));
  mem.storePointerUnchecked(dict, MethodDictionaryLayout.values, values);
  return dict;
}

export function methodDictionaryEntries(mem: ObjectMemory, dict: Oop): Array<{ selector: Oop; method: Oop }> {
  if ((dict & 3) !== 0 || isNil(mem, dict)) return [];
  const values = mem.fetchPointer(dict, MethodDictionaryLayout.values);
  const out: Array<{ selector: Oop; method: Oop }> = [];
  for (let i = 0; i < mem.slotCount(dict) - 2; i++) {
    const sel = mem.fetchPointer(dict, 2 + i);
    if (!isNil(mem, sel)) out.push({ selector: sel, method: mem.fetchPointer(values, i) });
  }
  return out;
}

function placeInMethodDictionary(mem: ObjectMemory, dict: Oop, selector: Oop, method: Oop): boolean {
  const capacity = mem.slotCount(dict) - 2;
  let i = mem.hashOf(selector) % capacity;
  for (let probes = 0; probes < capacity; probes++) {
    const key = mem.fetchPointer(dict, 2 + i);
    if (key === selector || isNil(mem, key)) {
      const fresh = isNil(mem, key);
      mem.storePointer(dict, 2 + i, selector);
      mem.storePointer(mem.fetchPointer(dict, MethodDictionaryLayout.values), i, method);
      if (fresh) mem.storePointer(dict, MethodDictionaryLayout.tally, smallIntOop((mem.fetchPointer(dict, 0) >> 1) + 1));
      return true;
    }
    i = (i + 1) % capacity;
  }
  return false;
}

/** Installs `method` under `selector` in the class's method dictionary (replacing it when it grows). */
export function addMethod(mem: ObjectMemory, cls: Oop, selector: Oop, method: Oop): void {
  let dict = methodDictionaryOf(mem, cls);
  if (isNil(mem, dict)) {
    dict = newMethodDictionary(mem, 32);
    mem.storePointer(cls, BehaviorLayout.methodDict, dict);
  }
  const capacity = mem.slotCount(dict) - 2;
  const tally = mem.fetchPointer(dict, MethodDictionaryLayout.tally) >> 1;
  if ((tally + 1) * 4 > capacity * 3) {
    const grown = newMethodDictionary(mem, Math.max(32, capacity * 2));
    for (const e of methodDictionaryEntries(mem, dict)) placeInMethodDictionary(mem, grown, e.selector, e.method);
    mem.storePointer(cls, BehaviorLayout.methodDict, grown);
    dict = grown;
  }
  placeInMethodDictionary(mem, dict, selector, method);
}

export function removeMethod(mem: ObjectMemory, cls: Oop, selector: Oop): boolean {
  const dict = methodDictionaryOf(mem, cls);
  if (isNil(mem, dict)) return false;
  const entries = methodDictionaryEntries(mem, dict);
  if (!entries.some((e) => e.selector === selector)) return false;
  const fresh = newMethodDictionary(mem, mem.slotCount(dict) - 2);
  for (const e of entries) if (e.selector !== selector) placeInMethodDictionary(mem, fresh, e.selector, e.method);
  mem.storePointer(cls, BehaviorLayout.methodDict, fresh);
  return true;
}

export function methodAt(mem: ObjectMemory, cls: Oop, selector: Oop): Oop {
  for (const e of methodDictionaryEntries(mem, methodDictionaryOf(mem, cls))) if (e.selector === selector) return e.method;
  return 0;
}

// ---------------------------------------------------------------- class pools

export function classPoolOf(mem: ObjectMemory, cls: Oop): Oop {
  const base = thisClassOf(mem, cls);
  if (isNil(mem, base) || mem.slotCount(base) <= ClassLayout.classPool) return mem.nilOop;
  return mem.fetchPointer(base, ClassLayout.classPool);
}

export { classNameOf };
