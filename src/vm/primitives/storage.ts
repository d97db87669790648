/**
 * Storage management primitives (Squeak numbers): become (72, 128, 248, 249), heap enumeration (77, 78,
 * 138, 139, 177, 178), garbage collection (130, 131), method creation (79), free space and the low-space
 * and interrupt semaphores (112, 124, 125, 134).
 *
 * Enumerations hand arbitrary objects to Smalltalk, so the heap must first be safe to expose: contexts on
 * the interpreter's free lists are garbage that the interpreter will reuse, and a context it considers
 * reclaimable would be recycled under Smalltalk's feet once seen. `exposeHeap` empties the free lists and
 * marks every context as escaped (collecting garbage does both too). someInstance, someObject,
 * allInstances and allObjects also start with a full collection, so that no dead object is answered;
 * nextInstance and nextObject do not collect (a walk may then meet objects that died during it, as in
 * Squeak), but the collector keeps objects in address order, so a walk survives collections.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import { HEADER_WORDS } from "../memory/heap.js";
import { isSemaphoreObject } from "../interpreter/scheduler.js";
import { Format, instSpecOf, isCompiledMethodFormat } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { become, checkBecome } from "../memory/become.js";
import { allInstancesOf, allObjects, firstObject, nextInstanceAfter, objectAfter, someInstanceOf } from "../memory/enumerate.js";
import { integerObjectOf } from "../memory/integers.js";
import type { Oop } from "../memory/oop.js";
import { PrimErr } from "./errors.js";
import { answer, failIfReadOnly } from "./support.js";
import { allocateWithRetry, isBehavior, stressPoint } from "./object.js";

// ---------------------------------------------------------------- become

/** The elements of an Array-like (indexable pointers, no named fields) object, or undefined. */
function elementsOf(vm: Interpreter, oop: Oop): Oop[] | undefined {
  const mem = vm.mem;
  if ((oop & 3) !== 0 || mem.formatOf(oop) !== Format.indexable) return undefined;
  const n = mem.slotCount(oop);
  const elements = new Array<Oop>(n);
  for (let i = 0; i < n; i++) elements[i] = mem.fetchPointer(oop, i);
  return elements;
}

/**
 * The receiver's elements become the argument's (one-way: every reference to an element of the receiver
 * now refers to the matching element of the argument; two-way: they exchange identities). Answers the
 * receiver.
 */
function arrayBecome(vm: Interpreter, argCount: number, twoWay: boolean, copyHash: boolean): boolean {
  const from = elementsOf(vm, vm.stackValue(argCount));
  if (from === undefined) return vm.failWith(PrimErr.badReceiver);
  const to = elementsOf(vm, vm.stackValue(argCount - 1));
  if (to === undefined || to.length !== from.length) return vm.failWith(PrimErr.badArgument);
  if (checkBecome(vm.mem, from, to, twoWay) !== undefined) return vm.failWith(PrimErr.inappropriate);
  // as in Pharo, read-only objects cannot become others (nor, two-way, be exchanged)
  for (const oop of twoWay ? [...from, ...to] : from) if (failIfReadOnly(vm, oop)) return false;
  vm.storeContextRegisters();
  const error = become(vm.mem, from, to, twoWay, copyHash, { weakHandles: vm.collector.weakHandles });
  afterBecome(vm);
  if (error !== undefined) return vm.failWith(PrimErr.inappropriate);
  vm.pop(argCount);
  return true;
}

/** After a become: caches keyed by oops are stale and the active context, method or receiver may have changed. */
function afterBecome(vm: Interpreter): void {
  vm.methodCache.flush();
  vm.primitives.namedCache.clear();
  vm.refreshCachedOops();
  vm.reclaimableContexts = 0;
  if (vm.activeContext !== 0) vm.fetchContextRegisters(vm.activeContext);
}

/** 72: Array>>elementsForwardIdentityTo: — one-way, the targets take the hashes of the sources */
function primitiveArrayBecomeOneWay(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  return arrayBecome(vm, argCount, false, true);
}

/** 128: Array>>elementsExchangeIdentityWith: — two-way, hashes swapped so hashed collections keep working */
function primitiveArrayBecome(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  return arrayBecome(vm, argCount, true, true);
}

/** 248: Array>>elementsForwardIdentityNoCopyHashTo: — one-way, every object keeps its hash */
function primitiveArrayBecomeOneWayNoCopyHash(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  return arrayBecome(vm, argCount, false, false);
}

/** 249: Array>>elementsForwardIdentityTo:copyHash: — one-way, copying hashes if the argument is true */
function primitiveArrayBecomeOneWayCopyHashArg(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const flag = vm.stackValue(0);
  if (flag !== vm.mem.trueOop && flag !== vm.mem.falseOop) return vm.failWith(PrimErr.badArgument);
  return arrayBecome(vm, argCount, false, flag === vm.mem.trueOop);
}

// ---------------------------------------------------------------- enumeration

/** Makes every object safe to hand to Smalltalk: no context on the free lists, none reclaimable. */
export function exposeHeap(vm: Interpreter): void {
  vm.freeSmallContexts.length = 0;
  vm.freeLargeContexts.length = 0;
  vm.reclaimableContexts = 0;
}

/** Collects all garbage (emptying the free lists), so that an enumeration meets live objects only. */
export function collectForEnumeration(vm: Interpreter): void {
  vm.collect(true);
  exposeHeap(vm);
}

/** 77: Behavior>>someInstance — the first instance in memory order; fails if there is none */
function primitiveSomeInstance(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  if ((vm.stackValue(0) & 3) !== 0) return vm.failWith(PrimErr.badReceiver);
  collectForEnumeration(vm);
  const found = someInstanceOf(vm.mem, vm.stackValue(0));
  return found === 0 ? vm.failWith(PrimErr.notFound) : answer(vm, argCount, found);
}

/** 78: Object>>nextInstance — the next instance of the receiver's class; fails at the end */
function primitiveNextInstance(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  if ((rcvr & 3) !== 0) return vm.failWith(PrimErr.badReceiver);
  exposeHeap(vm);
  const found = nextInstanceAfter(vm.mem, rcvr);
  return found === 0 ? vm.failWith(PrimErr.notFound) : answer(vm, argCount, found);
}

/** 138: Object>>someObject — the first object in memory */
function primitiveSomeObject(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  collectForEnumeration(vm);
  const found = firstObject(vm.mem);
  return found === 0 ? vm.failWith(PrimErr.notFound) : answer(vm, argCount, found);
}

/** 139: Object>>nextObject — the next object in memory, or 0 after the last one */
function primitiveNextObject(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  if ((rcvr & 3) !== 0) return vm.failWith(PrimErr.badReceiver);
  exposeHeap(vm);
  const found = objectAfter(vm.mem, rcvr);
  return answer(vm, argCount, found === 0 ? 1 : found);
}

/** An Array holding `elements`; 0 when memory is short (no collection: the oops must not move). */
function arrayOf(vm: Interpreter, elements: readonly Oop[]): Oop {
  const mem = vm.mem;
  if (!mem.canAllocate((HEADER_WORDS + elements.length) * 4)) return 0;
  const array = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, elements.length);
  if (array === 0) return 0;
  const base = mem.bodyIndex(array);
  for (let i = 0; i < elements.length; i++) mem.words[base + i] = elements[i];
  return array;
}

/** 177: Behavior>>allInstances — an Array of the live instances, after a full collection */
function primitiveAllInstances(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  if ((vm.stackValue(0) & 3) !== 0) return vm.failWith(PrimErr.badReceiver);
  collectForEnumeration(vm);
  return answer(vm, argCount, arrayOf(vm, allInstancesOf(vm.mem, vm.stackValue(0))));
}

/** 178: SystemNavigation>>allObjects — an Array of every live object, after a full collection */
function primitiveAllObjects(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  collectForEnumeration(vm);
  return answer(vm, argCount, arrayOf(vm, allObjects(vm.mem)));
}

// ---------------------------------------------------------------- garbage collection and space

function freeBytes(vm: Interpreter): number {
  return Math.max(0, vm.mem.limitBytes - vm.mem.bytesUsed());
}

/** 130: Smalltalk garbageCollect — a full collection; answers the free bytes */
function primitiveFullGC(vm: Interpreter, argCount: number): boolean {
  vm.collect(true);
  return answer(vm, argCount, integerObjectOf(vm.mem, freeBytes(vm)));
}

/** 131: Smalltalk garbageCollectMost (incrementalGC) — a young collection; answers the free bytes */
function primitiveIncrementalGC(vm: Interpreter, argCount: number): boolean {
  vm.collect(false);
  return answer(vm, argCount, integerObjectOf(vm.mem, freeBytes(vm)));
}

/** 112: Smalltalk primBytesLeft (bytesLeft:) — bytes free under the heap limit, without collecting */
function primitiveBytesLeft(vm: Interpreter, argCount: number): boolean {
  if (argCount > 1) return vm.failWith(PrimErr.badNumArgs);
  return answer(vm, argCount, integerObjectOf(vm.mem, freeBytes(vm)));
}

/** 124: Smalltalk lowSpaceSemaphore: aSemaphoreOrNil */
function primitiveLowSpaceSemaphore(vm: Interpreter, argCount: number): boolean {
  return registerSemaphore(vm, argCount, Special.lowSpaceSemaphore);
}

/** 134: Smalltalk interruptSemaphore: aSemaphoreOrNil */
function primitiveInterruptSemaphore(vm: Interpreter, argCount: number): boolean {
  return registerSemaphore(vm, argCount, Special.interruptSemaphore);
}

function registerSemaphore(vm: Interpreter, argCount: number, index: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const sem = vm.stackValue(0);
  // the VM signals what it holds here: anything but a Semaphore (or nil, for none) is refused
  if (sem !== vm.mem.nilOop && !isSemaphoreObject(vm, sem)) return vm.failWith(PrimErr.badArgument);
  vm.mem.setSpecialObject(index, sem);
  vm.pop(argCount);
  return true;
}

/**
 * 125: Smalltalk primSignalAtBytesLeft: n — the low-space semaphore is signalled when fewer than n bytes
 * remain under the heap limit. The threshold is capped at a quarter of the limit: the interpreter also
 * collects fully whenever free space is under it, and a larger value would collect at every check.
 */
function primitiveSignalAtBytesLeft(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const n = vm.stackValue(0);
  if ((n & 1) !== 1 || n >> 1 < 0) return vm.failWith(PrimErr.badArgument);
  vm.lowSpaceThreshold = Math.min(n >> 1, Math.floor(vm.mem.limitBytes / 4));
  vm.lowSpaceSignalled = false;
  vm.pop(argCount);
  return true;
}

// ---------------------------------------------------------------- methods

/** 79: CompiledMethod class>>newMethod: numberOfBytes header: headerWord — literals nil, bytes zero */
function primitiveNewMethod(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  stressPoint(vm);
  const mem = vm.mem;
  const cls = vm.stackValue(2);
  const bytesOop = vm.stackValue(1);
  const header = vm.stackValue(0);
  if (!isBehavior(mem, cls) || !isCompiledMethodFormat(instSpecOf(mem.classFormatOf(cls)))) return vm.failWith(PrimErr.badReceiver);
  if ((bytesOop & 1) !== 1 || bytesOop >> 1 < 0 || bytesOop >> 1 > mem.limitBytes) return vm.failWith(PrimErr.badArgument);
  if ((header & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const numLiterals = (header >> 10) & 0xff;
  const total = (1 + numLiterals) * 4 + (bytesOop >> 1);
  const slots = Math.ceil(total / 4);
  const method = allocateWithRetry(vm, (HEADER_WORDS + slots) * 4, () =>
    mem.allocate(vm.stackValue(2), Format.compiledMethod + (slots * 4 - total), slots, 0));
  if (method === 0) return vm.failWith(PrimErr.insufficientObjectMemory);
  mem.storePointerUnchecked(method, 0, vm.stackValue(0));
  for (let i = 1; i <= numLiterals; i++) mem.storePointerUnchecked(method, i, mem.nilOop);
  return answer(vm, argCount, method);
}

export const storagePrimitives: Record<number, PrimitiveFn> = {
  72: primitiveArrayBecomeOneWay,
  77: primitiveSomeInstance,
  78: primitiveNextInstance,
  79: primitiveNewMethod,
  112: primitiveBytesLeft,
  124: primitiveLowSpaceSemaphore,
  125: primitiveSignalAtBytesLeft,
  128: primitiveArrayBecome,
  130: primitiveFullGC,
  131: primitiveIncrementalGC,
  134: primitiveInterruptSemaphore,
  138: primitiveSomeObject,
  139: primitiveNextObject,
  177: primitiveAllInstances,
  178: primitiveAllObjects,
  248: primitiveArrayBecomeOneWayNoCopyHash,
  249: primitiveArrayBecomeOneWayCopyHashArg,
};
