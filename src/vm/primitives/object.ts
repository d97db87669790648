/**
 * Object primitives: indexed access (60-64, 68/69, 73/74, 143/144, 165/166, 173/174), instantiation
 * (70, 71), identity and class (75, 110, 111, 115, 160, 169, 175, 176), read-only flag (163, 164), copying
 * (105, 145, 148, 168),
 * characters (170, 171), pointsTo (132) and sizes (181, 182). Squeak numbering and semantics, with one
 * Oz rule for byte objects (below).
 *
 * Indexing. Indexes are 1-based and count the indexable part only (after the named instance variables),
 * except objectAt: (header and literals of a CompiledMethod), instVarAt: (named fields, then the
 * indexable part) and slotAt: (every slot). Pointer objects answer their elements, word objects
 * unsigned 32-bit integers (LargePositiveIntegers above SmallInteger range), byte objects bytes. A
 * CompiledMethod is indexed like a byte object over its whole body, but the bytes of its header and
 * literals cannot be read or written that way (badIndex): use objectAt:. A context's indexable part ends
 * at its stack pointer: slots above it are never read (they may hold stale values), and the active
 * context's registers are written back first.
 *
 * Strings and at:. Byte objects whose class is, or inherits from, String (special object classString;
 * ByteString and ByteSymbol at least) answer and accept Characters with at:/at:put: (60/61); every other
 * byte object (ByteArray, LargeIntegers...) uses integers 0..255. stringAt: (63/64) always uses
 * Characters; slotAt: (173/174) always uses integers (so `aString slotAt: 1` is a byte value).
 *
 * Failure codes: a receiver that cannot do it (immediate, not indexable, wrong format) badReceiver; an
 * index that is not a SmallInteger badArgument; an index out of range badIndex; a value that cannot be
 * stored badArgument; allocation beyond the heap limit insufficientObjectMemory; a store into a read-only
 * object (its header's read-only flag, see heap.ts) noModification, once the receiver and index are valid.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import { HEADER_BYTES, HEADER_WORDS, HASH_MASK, type ObjectMemory } from "../memory/heap.js";
import {
  Format, instSizeOf, instSpecOf, isBytesFormat, isCompiledMethodFormat, isIndexableFormat, isPointersFormat,
  isValidFormat, isWordsFormat,
} from "../memory/format.js";
import { Special } from "../memory/special.js";
import { ContextLayout, CONTEXT_FIXED_SIZE } from "../memory/layout.js";
import { MAX_CHARACTER, characterOop, isCharacter, type Oop } from "../memory/oop.js";
import { bigIntValueOf, integerObjectOf, isLargeInteger } from "../memory/integers.js";
import { PrimErr } from "./errors.js";
import { answer, answerBool, failIfReadOnly } from "./support.js";

// ---------------------------------------------------------------- shared helpers (also used by storage.ts, string.ts)

/** Whether `oop` is a context (an instance of the special object classMethodContext). */
export function isContextObject(mem: ObjectMemory, oop: Oop): boolean {
  return (oop & 3) === 0 && oop !== 0 && mem.classOfPointer(oop) === mem.specialObject(Special.classMethodContext)
    && mem.formatOf(oop) === Format.fixedIndexable;
}

/** A context's stack pointer (number of stack slots in use), after writing back the active context's registers. */
export function contextStackp(vm: Interpreter, ctx: Oop): number {
  if (ctx === vm.activeContext) vm.storeContextRegisters();
  const sp = vm.mem.fetchPointer(ctx, ContextLayout.stackp);
  const capacity = vm.mem.slotCount(ctx) - CONTEXT_FIXED_SIZE;
  if ((sp & 1) !== 1) return 0;
  return Math.max(0, Math.min(capacity, sp >> 1));
}

/** Whether `cls` is `ancestor` or one of its subclasses (the superclass chain, guarded against cycles). */
export function inheritsFrom(mem: ObjectMemory, cls: Oop, ancestor: Oop): boolean {
  const nil = mem.nilOop;
  for (let guard = 0; guard < 10_000; guard++) {
    if (cls === ancestor) return true;
    if ((cls & 3) !== 0 || cls === 0 || cls === nil || mem.slotCount(cls) < 1) return false;
    cls = mem.fetchPointer(cls, 0);
  }
  return false;
}

/** Whether the byte or word object `oop` is a string: its class is or inherits from String (at: answers Characters). */
export function isStringLike(mem: ObjectMemory, oop: Oop): boolean {
  const cls = mem.classOfPointer(oop);
  if (cls === mem.specialObject(Special.classByteString) || cls === mem.specialObject(Special.classByteSymbol)) return true;
  if (
    cls === mem.specialObject(Special.classByteArray) || cls === mem.specialObject(Special.classLargePositiveInteger)
    || cls === mem.specialObject(Special.classLargeNegativeInteger)
  ) return false;
  const stringClass = mem.specialObject(Special.classString);
  if ((stringClass & 3) !== 0 || stringClass === 0 || stringClass === mem.nilOop) return false;
  return inheritsFrom(mem, cls, stringClass);
}

/** A byte object proper (format 8..11, not a CompiledMethod). */
export function isByteObject(mem: ObjectMemory, oop: Oop): boolean {
  return (oop & 3) === 0 && isBytesFormat(mem.formatOf(oop));
}

/** Number of bytes of a CompiledMethod's header and literals (the part at: cannot reach). */
export function methodLiteralBytes(mem: ObjectMemory, method: Oop): number {
  return mem.pointerSlots(method) * 4;
}

/** `basicSize`: indexable elements (contexts: up to the stack pointer); 0 for immediates and non-indexable objects. */
export function basicSizeOf(vm: Interpreter, oop: Oop): number {
  if ((oop & 3) !== 0) return 0;
  const mem = vm.mem;
  const fmt = mem.formatOf(oop);
  if (isPointersFormat(fmt)) {
    if (isContextObject(mem, oop)) return contextStackp(vm, oop);
    return Math.max(0, mem.slotCount(oop) - mem.fixedFieldsOf(oop));
  }
  if (isWordsFormat(fmt)) return mem.slotCount(oop);
  if (fmt >= Format.bytes && fmt <= 15) return mem.byteLength(oop);
  return 0;
}

/** A value in 0..2^32-1 from a SmallInteger or LargePositiveInteger, else undefined. */
export function positive32BitValueOf(mem: ObjectMemory, oop: Oop): number | undefined {
  if ((oop & 1) === 1) return oop >= 0 ? oop >>> 1 : undefined;
  if (!isLargeInteger(mem, oop)) return undefined;
  const v = bigIntValueOf(mem, oop);
  return v !== undefined && v >= 0n && v <= 0xffffffffn ? Number(v) : undefined;
}

/** A value in -2^31..2^31-1 from a SmallInteger or LargeInteger, else undefined. */
export function signed32BitValueOf(mem: ObjectMemory, oop: Oop): number | undefined {
  if ((oop & 1) === 1) return oop >> 1;
  if (!isLargeInteger(mem, oop)) return undefined;
  const v = bigIntValueOf(mem, oop);
  return v !== undefined && v >= -0x80000000n && v <= 0x7fffffffn ? Number(v) : undefined;
}

/**
 * Allocates with `allocate` (which must read its oops from the stack, as objects may have moved), making
 * room with a full collection when the heap is short. Answers 0 when `bytes` cannot fit under the limit.
 */
export function allocateWithRetry(vm: Interpreter, bytes: number, allocate: () => Oop): Oop {
  const mem = vm.mem;
  if (!(bytes >= 0 && bytes <= mem.limitBytes)) return 0;
  if (mem.canAllocate(bytes)) {
    const oop = tryAllocate(allocate);
    if (oop !== 0) return oop;
  }
  vm.collect(true);
  return mem.canAllocate(bytes) ? tryAllocate(allocate) : 0;
}

function tryAllocate(allocate: () => Oop): Oop {
  try {
    return allocate();
  } catch {
    return 0; // the host could not give the heap more memory
  }
}

/** Under stress testing, collect before allocating so that primitives prove they re-read their oops. */
export function stressPoint(vm: Interpreter): void {
  if (vm.stressGC) vm.collect(false);
}

/** Whether `oop` looks like a class: a pointer object with superclass, methodDict and a valid format. */
export function isBehavior(mem: ObjectMemory, oop: Oop): boolean {
  if ((oop & 3) !== 0 || oop === 0 || oop === mem.nilOop) return false;
  if (!isPointersFormat(mem.formatOf(oop)) || mem.slotCount(oop) < 3) return false;
  const fmt = mem.fetchPointer(oop, 2);
  return (fmt & 1) === 1 && isValidFormat(instSpecOf(fmt >> 1));
}

// ---------------------------------------------------------------- element access

/** How byte and word elements are seen: as the class says (at:), always Characters (stringAt:), or integers. */
const As = { basic: 0, characters: 1, integers: 2 } as const;
type As = (typeof As)[keyof typeof As];

/** Fails the primitive and answers -1 (for helpers that answer an index). */
function failIndex(vm: Interpreter, code: number): number {
  vm.failWith(code);
  return -1;
}

/** Fails the primitive and answers 0 (for helpers that answer an oop). */
function failOop(vm: Interpreter, code: number): Oop {
  vm.failWith(code);
  return 0;
}

/** Index `i` (1-based, within basicSize) of the indexable part; 0 after vm.failWith when it cannot be answered. */
function fetchElement(vm: Interpreter, oop: Oop, i: number, as: As): Oop {
  const mem = vm.mem;
  const fmt = mem.formatOf(oop);
  if (isPointersFormat(fmt)) return mem.fetchPointer(oop, mem.fixedFieldsOf(oop) + i - 1);
  if (isWordsFormat(fmt)) {
    const word = mem.fetchWord(oop, i - 1);
    if (as === As.characters || (as === As.basic && isStringLike(mem, oop))) {
      return word <= MAX_CHARACTER ? characterOop(word) : failOop(vm, PrimErr.inappropriate);
    }
    return integerObjectOf(mem, word) || failOop(vm, PrimErr.insufficientObjectMemory);
  }
  if (isCompiledMethodFormat(fmt) && i <= methodLiteralBytes(mem, oop)) return failOop(vm, PrimErr.badIndex);
  const byte = mem.fetchByte(oop, i - 1);
  const chars = as === As.characters || (as === As.basic && isBytesFormat(fmt) && isStringLike(mem, oop));
  return chars ? characterOop(byte) : (byte << 1) | 1;
}

/** Stores `value` at index `i` of the indexable part; false after vm.failWith when it cannot be stored. */
function storeElement(vm: Interpreter, oop: Oop, i: number, value: Oop, as: As): boolean {
  const mem = vm.mem;
  const fmt = mem.formatOf(oop);
  if (isPointersFormat(fmt)) {
    mem.storePointer(oop, mem.fixedFieldsOf(oop) + i - 1, value);
    return true;
  }
  if (isWordsFormat(fmt)) {
    const chars = as === As.characters || (as === As.basic && isStringLike(mem, oop));
    const word = chars ? (isCharacter(value) ? value >>> 2 : undefined) : positive32BitValueOf(mem, value);
    if (word === undefined) return vm.failWith(PrimErr.badArgument);
    mem.storeWord(oop, i - 1, word);
    return true;
  }
  if (isCompiledMethodFormat(fmt) && i <= methodLiteralBytes(mem, oop)) return vm.failWith(PrimErr.badIndex);
  const chars = as === As.characters || (as === As.basic && isBytesFormat(fmt) && isStringLike(mem, oop));
  let byte: number;
  if (chars) {
    if (!isCharacter(value)) return vm.failWith(PrimErr.badArgument);
    byte = value >>> 2;
  } else {
    if ((value & 1) !== 1) return vm.failWith(PrimErr.badArgument);
    byte = value >> 1;
  }
  if (byte < 0 || byte > 255) return vm.failWith(PrimErr.badArgument);
  mem.storeByte(oop, i - 1, byte);
  return true;
}

/** The receiver at stack depth 1 indexed by the SmallInteger on top, checked; the 1-based index or -1 after failWith. */
function checkedIndex(vm: Interpreter, rcvr: Oop, indexOop: Oop): number {
  if ((rcvr & 3) !== 0 || !isIndexableFormat(vm.mem.formatOf(rcvr))) return failIndex(vm, PrimErr.badReceiver);
  if ((indexOop & 1) !== 1) return failIndex(vm, isLargeInteger(vm.mem, indexOop) ? PrimErr.badIndex : PrimErr.badArgument);
  const i = indexOop >> 1;
  if (i < 1 || i > basicSizeOf(vm, rcvr)) return failIndex(vm, PrimErr.badIndex);
  return i;
}

/**
 * The mirror forms (Context>>object:basicAt: and friends, one more argument: the object) work because the
 * receiver and arguments are read from the top of the stack; everything the send pushed is popped.
 */
function commonAt(vm: Interpreter, argCount: number, as: As): boolean {
  if (argCount !== 1 && argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(1);
  const i = checkedIndex(vm, rcvr, vm.stackValue(0));
  if (i < 0) return false;
  const value = fetchElement(vm, rcvr, i, as);
  if (value === 0) return false;
  vm.popThenPush(argCount + 1, value);
  return true;
}

function commonAtPut(vm: Interpreter, argCount: number, as: As): boolean {
  if (argCount !== 2 && argCount !== 3) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(2);
  const value = vm.stackValue(0);
  const i = checkedIndex(vm, rcvr, vm.stackValue(1));
  if (i < 0 || failIfReadOnly(vm, rcvr)) return false;
  if (!storeElement(vm, rcvr, i, value, as)) return false;
  vm.popThenPush(argCount + 1, value);
  return true;
}

/** 60: Object>>basicAt: (and at:) */
function primitiveAt(vm: Interpreter, argCount: number): boolean {
  return commonAt(vm, argCount, As.basic);
}

/** 61: Object>>basicAt:put: (and at:put:) */
function primitiveAtPut(vm: Interpreter, argCount: number): boolean {
  return commonAtPut(vm, argCount, As.basic);
}

/** 62: Object>>basicSize (and size; mirror: Context>>objectSize:) */
function primitiveSize(vm: Interpreter, argCount: number): boolean {
  if (argCount > 1) return vm.failWith(PrimErr.badNumArgs);
  return answer(vm, argCount, integerObjectOf(vm.mem, basicSizeOf(vm, vm.stackValue(0))));
}

/** 63: String>>at: (stringAt:) — Characters from bytes and words */
function primitiveStringAt(vm: Interpreter, argCount: number): boolean {
  return commonAt(vm, argCount, As.characters);
}

/** 64: String>>at:put: (stringAt:put:) — Characters into bytes and words */
function primitiveStringAtPut(vm: Interpreter, argCount: number): boolean {
  return commonAtPut(vm, argCount, As.characters);
}

// ---------------------------------------------------------------- CompiledMethod header and literals

function literalIndex(vm: Interpreter, method: Oop, indexOop: Oop): number {
  const mem = vm.mem;
  if ((method & 3) !== 0 || !isCompiledMethodFormat(mem.formatOf(method))) return failIndex(vm, PrimErr.badReceiver);
  if ((indexOop & 1) !== 1) return failIndex(vm, PrimErr.badArgument);
  const i = indexOop >> 1;
  if (i < 1 || i > mem.pointerSlots(method)) return failIndex(vm, PrimErr.badIndex);
  return i;
}

/** 68: CompiledMethod>>objectAt: — 1 is the header, 2.. the literals */
function primitiveObjectAt(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const method = vm.stackValue(1);
  const i = literalIndex(vm, method, vm.stackValue(0));
  if (i < 0) return false;
  return answer(vm, argCount, vm.mem.fetchPointer(method, i - 1));
}

/** 69: CompiledMethod>>objectAt:put: — a new header must be a SmallInteger keeping the literal count */
function primitiveObjectAtPut(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const method = vm.stackValue(2);
  const value = vm.stackValue(0);
  const i = literalIndex(vm, method, vm.stackValue(1));
  if (i < 0 || failIfReadOnly(vm, method)) return false;
  if (i === 1) {
    const old = mem.fetchPointer(method, 0);
    if ((value & 1) !== 1 || ((value >> 10) & 0xff) !== ((old >> 10) & 0xff)) return vm.failWith(PrimErr.badArgument);
  }
  mem.storePointer(method, i - 1, value);
  vm.methodCache.flush();
  vm.primitives.namedCache.delete(method);
  vm.popThenPush(3, value);
  return true;
}

// ---------------------------------------------------------------- instantiation

/** The body slots of an instance of `cls` with `n` indexable elements, or undefined if it cannot have one. */
function instanceSlots(mem: ObjectMemory, cls: Oop, n: number): number | undefined {
  const format = mem.classFormatOf(cls);
  const spec = instSpecOf(format);
  const fixed = instSizeOf(format);
  if (spec === Format.empty || spec === Format.fixed) return n === 0 ? fixed : undefined;
  if (spec === Format.indexable || spec === Format.fixedIndexable || spec === Format.weak) return fixed + n;
  if (spec === Format.words) return n;
  if (isBytesFormat(spec)) return Math.ceil(n / 4);
  return undefined;
}

/** Classes the VM represents as immediates: they have no heap instances. */
function isImmediateClass(mem: ObjectMemory, cls: Oop): boolean {
  return cls === mem.specialObject(Special.classSmallInteger) || cls === mem.specialObject(Special.classCharacter);
}

function instantiateFromStack(vm: Interpreter, argCount: number, n: number): boolean {
  const mem = vm.mem;
  const cls = vm.stackValue(argCount);
  if (!isBehavior(mem, cls) || isImmediateClass(mem, cls)) return vm.failWith(PrimErr.badReceiver);
  const slots = instanceSlots(mem, cls, n);
  if (slots === undefined) return vm.failWith(PrimErr.badReceiver);
  const oop = allocateWithRetry(vm, (HEADER_WORDS + slots) * 4, () => mem.instantiate(vm.stackValue(argCount), n));
  return answer(vm, argCount, oop);
}

/** 70: Behavior>>basicNew */
function primitiveNew(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  stressPoint(vm);
  return instantiateFromStack(vm, argCount, 0);
}

/** 71: Behavior>>basicNew: */
function primitiveNewWithArg(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  stressPoint(vm);
  const size = vm.stackValue(0);
  if ((size & 1) !== 1) {
    const big = bigIntValueOf(vm.mem, size);
    return vm.failWith(big !== undefined && big > 0n ? PrimErr.insufficientObjectMemory : PrimErr.badArgument);
  }
  const n = size >> 1;
  if (n < 0) return vm.failWith(PrimErr.badArgument);
  if (n > vm.mem.limitBytes) return vm.failWith(PrimErr.insufficientObjectMemory);
  return instantiateFromStack(vm, argCount, n);
}

// ---------------------------------------------------------------- instance variables and slots

/** Checks a store into field `field` (0-based) of a context; false after failWith when it would break the VM. */
function prepareContextFieldStore(vm: Interpreter, ctx: Oop, field: number, value: Oop): boolean {
  if (!isContextObject(vm.mem, ctx) || field >= CONTEXT_FIXED_SIZE) return true;
  if (ctx === vm.activeContext && (field === ContextLayout.pc || field === ContextLayout.stackp || field === ContextLayout.method)) {
    return vm.failWith(PrimErr.inappropriate);
  }
  if (field === ContextLayout.stackp) {
    const mem = vm.mem;
    const capacity = mem.slotCount(ctx) - CONTEXT_FIXED_SIZE;
    if (value === mem.nilOop) return true;
    if ((value & 1) !== 1 || value >> 1 < 0 || value >> 1 > capacity) return vm.failWith(PrimErr.badArgument);
    // slots that become live read nil, never stale values
    for (let k = contextStackp(vm, ctx); k < value >> 1; k++) mem.storePointer(ctx, CONTEXT_FIXED_SIZE + k, mem.nilOop);
  }
  return true;
}

/** After storing into the active context's receiver field, the interpreter's register must follow. */
function afterContextFieldStore(vm: Interpreter, ctx: Oop, field: number, value: Oop): void {
  if (ctx === vm.activeContext && field === ContextLayout.receiver) vm.receiver = value;
}

/** 73: Object>>instVarAt: — named instance variables, then the indexable elements (mirror: object:instVarAt:) */
function primitiveInstVarAt(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1 && argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(1);
  const index = vm.stackValue(0);
  if ((rcvr & 3) !== 0) return vm.failWith(PrimErr.badReceiver);
  if ((index & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  if (rcvr === vm.activeContext) vm.storeContextRegisters();
  const i = index >> 1;
  const fixed = mem.fixedFieldsOf(rcvr);
  if (i >= 1 && i <= fixed) return answer(vm, argCount, mem.fetchPointer(rcvr, i - 1));
  if (i <= fixed || i > fixed + basicSizeOf(vm, rcvr)) return vm.failWith(PrimErr.badIndex);
  const value = fetchElement(vm, rcvr, i - fixed, As.basic);
  return value !== 0 && answer(vm, argCount, value);
}

/** 74: Object>>instVarAt:put: (mirror: object:instVarAt:put:) */
function primitiveInstVarAtPut(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2 && argCount !== 3) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(2);
  const index = vm.stackValue(1);
  const value = vm.stackValue(0);
  if ((rcvr & 3) !== 0) return vm.failWith(PrimErr.badReceiver);
  if ((index & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  if (rcvr === vm.activeContext) vm.storeContextRegisters();
  const i = index >> 1;
  const fixed = mem.fixedFieldsOf(rcvr);
  if (i >= 1 && i <= fixed + basicSizeOf(vm, rcvr) && failIfReadOnly(vm, rcvr)) return false;
  if (i >= 1 && i <= fixed) {
    if (!prepareContextFieldStore(vm, rcvr, i - 1, value)) return false;
    mem.storePointer(rcvr, i - 1, value);
    afterContextFieldStore(vm, rcvr, i - 1, value);
  } else {
    if (i <= fixed || i > fixed + basicSizeOf(vm, rcvr)) return vm.failWith(PrimErr.badIndex);
    if (!storeElement(vm, rcvr, i - fixed, value, As.basic)) return false;
  }
  vm.popThenPush(argCount + 1, value);
  return true;
}

/** Number of slots slotAt: sees (pointers: all, contexts up to the stack pointer; words; bytes); -1 if unsupported. */
function slotCountFor(vm: Interpreter, oop: Oop): number {
  const mem = vm.mem;
  const fmt = mem.formatOf(oop);
  if (isPointersFormat(fmt)) return isContextObject(mem, oop) ? CONTEXT_FIXED_SIZE + contextStackp(vm, oop) : mem.slotCount(oop);
  if (isWordsFormat(fmt)) return mem.slotCount(oop);
  if (isBytesFormat(fmt)) return mem.byteLength(oop);
  return -1;
}

function checkedSlotIndex(vm: Interpreter, rcvr: Oop, indexOop: Oop): number {
  if ((rcvr & 3) !== 0) return failIndex(vm, PrimErr.badReceiver);
  if (rcvr === vm.activeContext) vm.storeContextRegisters();
  const size = slotCountFor(vm, rcvr);
  if (size < 0) return failIndex(vm, PrimErr.unsupported);
  if ((indexOop & 1) !== 1) return failIndex(vm, PrimErr.badArgument);
  const i = indexOop >> 1;
  if (i < 1 || i > size) return failIndex(vm, PrimErr.badIndex);
  return i;
}

/** 173: Object>>slotAt: — every slot from 1, named then indexed; bits as integers */
function primitiveSlotAt(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(1);
  const i = checkedSlotIndex(vm, rcvr, vm.stackValue(0));
  if (i < 0) return false;
  if (isPointersFormat(mem.formatOf(rcvr))) return answer(vm, argCount, mem.fetchPointer(rcvr, i - 1));
  const value = fetchElement(vm, rcvr, i, As.integers);
  return value !== 0 && answer(vm, argCount, value);
}

/** 174: Object>>slotAt:put: */
function primitiveSlotAtPut(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(2);
  const value = vm.stackValue(0);
  const i = checkedSlotIndex(vm, rcvr, vm.stackValue(1));
  if (i < 0 || failIfReadOnly(vm, rcvr)) return false;
  if (isPointersFormat(mem.formatOf(rcvr))) {
    if (!prepareContextFieldStore(vm, rcvr, i - 1, value)) return false;
    mem.storePointer(rcvr, i - 1, value);
    afterContextFieldStore(vm, rcvr, i - 1, value);
  } else if (!storeElement(vm, rcvr, i, value, As.integers)) {
    return false;
  }
  vm.popThenPush(3, value);
  return true;
}

// ---------------------------------------------------------------- 16- and 32-bit access to bits

/** Bytes of the body of a words or bytes object (not a CompiledMethod); -1 for other formats. */
function bitsByteSize(mem: ObjectMemory, oop: Oop): number {
  if ((oop & 3) !== 0) return -1;
  const fmt = mem.formatOf(oop);
  if (isWordsFormat(fmt)) return mem.slotCount(oop) * 4;
  if (isBytesFormat(fmt)) return mem.byteLength(oop);
  return -1;
}

function checkedUnitIndex(vm: Interpreter, rcvr: Oop, indexOop: Oop, unit: number, wordsOnly: boolean): number {
  const size = wordsOnly && (rcvr & 3) === 0 && !isWordsFormat(vm.mem.formatOf(rcvr)) ? -1 : bitsByteSize(vm.mem, rcvr);
  if (size < 0) return failIndex(vm, PrimErr.badReceiver);
  if ((indexOop & 1) !== 1) return failIndex(vm, PrimErr.badArgument);
  const i = indexOop >> 1;
  if (i < 1 || i > Math.floor(size / unit)) return failIndex(vm, PrimErr.badIndex);
  return i;
}

/** 143: shortAt: — signed 16-bit element of a words or bytes object, in memory order */
function primitiveShortAt(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(1);
  const i = checkedUnitIndex(vm, rcvr, vm.stackValue(0), 2, false);
  if (i < 0) return false;
  const at = rcvr + HEADER_BYTES + (i - 1) * 2;
  const b = vm.mem.bytes;
  const value = ((b[at] | (b[at + 1] << 8)) << 16) >> 16;
  return answer(vm, argCount, (value << 1) | 1);
}

/** 144: shortAt:put: */
function primitiveShortAtPut(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(2);
  const value = vm.stackValue(0);
  const i = checkedUnitIndex(vm, rcvr, vm.stackValue(1), 2, false);
  if (i < 0 || failIfReadOnly(vm, rcvr)) return false;
  if ((value & 1) !== 1 || value >> 1 < -0x8000 || value >> 1 > 0x7fff) return vm.failWith(PrimErr.badArgument);
  const at = rcvr + HEADER_BYTES + (i - 1) * 2;
  const b = vm.mem.bytes;
  b[at] = (value >> 1) & 0xff;
  b[at + 1] = (value >> 9) & 0xff;
  vm.popThenPush(3, value);
  return true;
}

/** 165: integerAt: — signed 32-bit element of a words object */
function primitiveIntegerAt(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(1);
  const i = checkedUnitIndex(vm, rcvr, vm.stackValue(0), 4, true);
  if (i < 0) return false;
  return answer(vm, argCount, integerObjectOf(vm.mem, vm.mem.fetchWord(rcvr, i - 1) | 0));
}

/** 166: integerAt:put: */
function primitiveIntegerAtPut(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(2);
  const value = vm.stackValue(0);
  const i = checkedUnitIndex(vm, rcvr, vm.stackValue(1), 4, true);
  if (i < 0 || failIfReadOnly(vm, rcvr)) return false;
  const v = signed32BitValueOf(vm.mem, value);
  if (v === undefined) return vm.failWith(PrimErr.badArgument);
  vm.mem.storeWord(rcvr, i - 1, v);
  vm.popThenPush(3, value);
  return true;
}

/** 145: constantFill: — every byte (0..255) or word (0..2^32-1) of a bits object */
function primitiveConstantFill(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(1);
  const value = vm.stackValue(0);
  if (bitsByteSize(mem, rcvr) < 0) return vm.failWith(PrimErr.badReceiver);
  if (failIfReadOnly(vm, rcvr)) return false;
  if (isWordsFormat(mem.formatOf(rcvr))) {
    const word = positive32BitValueOf(mem, value);
    if (word === undefined) return vm.failWith(PrimErr.badArgument);
    const base = mem.bodyIndex(rcvr);
    mem.words.fill(word | 0, base, base + mem.slotCount(rcvr));
  } else {
    if ((value & 1) !== 1 || value >> 1 < 0 || value >> 1 > 255) return vm.failWith(PrimErr.badArgument);
    const start = mem.bodyByte(rcvr);
    mem.bytes.fill(value >> 1, start, start + mem.byteLength(rcvr));
  }
  vm.pop(argCount);
  return true;
}

// ---------------------------------------------------------------- identity and class

/** 110: ProtoObject>>== (mirror: object:eqeq:) */
function primitiveIdentical(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1 && argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  return answerBool(vm, argCount, vm.stackValue(1) === vm.stackValue(0));
}

/** 169: ProtoObject>>~~ */
function primitiveNotIdentical(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  return answerBool(vm, argCount, vm.stackValue(1) !== vm.stackValue(0));
}

/** 111: ProtoObject>>class (with one argument: Object class>>classOf: anObject, mirror style) */
function primitiveClass(vm: Interpreter, argCount: number): boolean {
  if (argCount > 1) return vm.failWith(PrimErr.badNumArgs);
  return answer(vm, argCount, vm.mem.fetchClassOf(vm.stackValue(0)));
}

/** 75: ProtoObject>>identityHash (immediates answer their value: SmallIntegers themselves, Characters their code) */
function primitiveIdentityHash(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  if ((rcvr & 1) === 1) return answer(vm, argCount, rcvr);
  if (isCharacter(rcvr)) return answer(vm, argCount, ((rcvr >>> 2) << 1) | 1);
  return answer(vm, argCount, (vm.mem.hashOf(rcvr) << 1) | 1);
}

/** 175: Behavior>>identityHash (behaviorHash) — the identity hash of a class */
function primitiveBehaviorHash(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  if (!isBehavior(vm.mem, rcvr)) return vm.failWith(PrimErr.badReceiver);
  return answer(vm, argCount, (vm.mem.hashOf(rcvr) << 1) | 1);
}

/** 176: SmalltalkImage>>maxIdentityHash */
function primitiveMaxIdentityHash(vm: Interpreter, argCount: number): boolean {
  return answer(vm, argCount, (HASH_MASK << 1) | 1);
}

/**
 * Whether instances of `cls` can have the layout of `obj`: same family (pointers, words, bytes,
 * compiled method) and, for pointers, the same number of named instance variables.
 */
export function canAdopt(mem: ObjectMemory, obj: Oop, cls: Oop): boolean {
  if (!isBehavior(mem, cls) || isImmediateClass(mem, cls)) return false;
  const format = mem.classFormatOf(cls);
  const spec = instSpecOf(format);
  const inst = instSizeOf(format);
  const fmt = mem.formatOf(obj);
  if (fmt === Format.empty || fmt === Format.fixed) return (spec === Format.empty || spec === Format.fixed) && inst === mem.slotCount(obj);
  if (fmt === Format.indexable || fmt === Format.fixedIndexable || fmt === Format.weak) {
    return spec === fmt && inst === mem.fixedFieldsOf(obj) && inst <= mem.slotCount(obj);
  }
  if (isWordsFormat(fmt)) return spec === Format.words;
  if (isBytesFormat(fmt)) return isBytesFormat(spec);
  if (isCompiledMethodFormat(fmt)) return isCompiledMethodFormat(spec);
  return false;
}

/** 115: Object>>primitiveChangeClassTo: anObject — the receiver becomes an instance of anObject's class */
function primitiveChangeClass(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(1);
  const model = vm.stackValue(0);
  if ((rcvr & 3) !== 0 || rcvr === mem.nilOop || rcvr === mem.trueOop || rcvr === mem.falseOop) return vm.failWith(PrimErr.badReceiver);
  if ((model & 3) !== 0) return vm.failWith(PrimErr.badArgument);
  const cls = mem.classOfPointer(model);
  if (!canAdopt(mem, rcvr, cls)) return vm.failWith(PrimErr.inappropriate);
  if (failIfReadOnly(vm, rcvr)) return false;
  mem.setClass(rcvr, cls);
  vm.methodCache.flush();
  vm.pop(argCount);
  return true;
}

/** 160: Behavior>>adoptInstance: anObject — anObject becomes an instance of the receiver */
function primitiveAdoptInstance(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const cls = vm.stackValue(1);
  const obj = vm.stackValue(0);
  if (!isBehavior(mem, cls)) return vm.failWith(PrimErr.badReceiver);
  if ((obj & 3) !== 0 || obj === mem.nilOop || obj === mem.trueOop || obj === mem.falseOop) return vm.failWith(PrimErr.badArgument);
  if (!canAdopt(mem, obj, cls)) return vm.failWith(PrimErr.inappropriate);
  if (failIfReadOnly(vm, obj)) return false;
  mem.setClass(obj, cls);
  vm.methodCache.flush();
  vm.pop(argCount);
  return true;
}

/** 132: Object>>pointsTo: (instVarsInclude:) — a pointer field (contexts: up to the stack pointer, methods: literals) is the argument */
function primitiveObjectPointsTo(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(1);
  const target = vm.stackValue(0);
  if ((rcvr & 3) !== 0) return answerBool(vm, argCount, false);
  const fmt = mem.formatOf(rcvr);
  let first = 0;
  let last: number;
  if (isPointersFormat(fmt)) last = isContextObject(mem, rcvr) ? CONTEXT_FIXED_SIZE + contextStackp(vm, rcvr) : mem.slotCount(rcvr);
  else if (isCompiledMethodFormat(fmt)) {
    first = 1;
    last = mem.pointerSlots(rcvr);
  } else last = 0;
  const base = mem.bodyIndex(rcvr);
  const words = mem.words;
  for (let i = first; i < last; i++) if (words[base + i] === target) return answerBool(vm, argCount, true);
  return answerBool(vm, argCount, false);
}

// ---------------------------------------------------------------- read-only objects

/** 163: Object>>isReadOnlyObject — immediates are read-only (mirror: object isReadOnlyObject) */
function primitiveGetImmutability(vm: Interpreter, argCount: number): boolean {
  if (argCount > 1) return vm.failWith(PrimErr.badNumArgs);
  return answerBool(vm, argCount, vm.mem.isReadOnly(vm.stackValue(0)));
}

/**
 * 164: Object>>setIsReadOnlyObject: aBoolean — sets the read-only flag and answers its previous value.
 * Immediates and contexts cannot change (badReceiver), as in Pharo.
 */
function primitiveSetImmutability(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(1);
  const flag = vm.stackValue(0);
  if ((rcvr & 3) !== 0 || isContextObject(mem, rcvr)) return vm.failWith(PrimErr.badReceiver);
  if (flag !== mem.trueOop && flag !== mem.falseOop) return vm.failWith(PrimErr.badArgument);
  const was = mem.isReadOnly(rcvr);
  mem.setReadOnly(rcvr, flag === mem.trueOop);
  return answerBool(vm, argCount, was);
}

// ---------------------------------------------------------------- copying

/** Byte size of the whole object (header included) an instance needs; -1 when it cannot be made. */
function instanceBytes(mem: ObjectMemory, cls: Oop, n: number): number {
  const slots = instanceSlots(mem, cls, n);
  return slots === undefined ? -1 : (HEADER_WORDS + slots) * 4;
}

/** 148: Object>>shallowCopy (clone) — immediates answer themselves; a context copy holds nil above its stack pointer */
function primitiveClone(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  stressPoint(vm);
  const mem = vm.mem;
  const rcvr = vm.stackValue(0);
  if ((rcvr & 3) !== 0) return answer(vm, argCount, rcvr);
  if (rcvr === vm.activeContext) vm.storeContextRegisters();
  const copy = allocateWithRetry(vm, mem.objectBytes(rcvr), () => mem.clone(vm.stackValue(0)));
  if (copy === 0) return vm.failWith(PrimErr.insufficientObjectMemory);
  if (isContextObject(mem, copy)) {
    const original = vm.stackValue(0);
    const live = CONTEXT_FIXED_SIZE + contextStackp(vm, original);
    const base = mem.bodyIndex(copy);
    mem.words.fill(mem.nilOop, base + live, base + mem.slotCount(copy));
  }
  return answer(vm, argCount, copy);
}

/** 168: Object>>copyFrom: anObject — the receiver takes the pointer fields of another instance of its class */
function primitiveCopyObject(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const rcvr = vm.stackValue(1);
  const source = vm.stackValue(0);
  if ((rcvr & 3) !== 0 || !isPointersFormat(mem.formatOf(rcvr)) || isContextObject(mem, rcvr)) return vm.failWith(PrimErr.badReceiver);
  if ((source & 3) !== 0 || mem.classOfPointer(source) !== mem.classOfPointer(rcvr) || mem.slotCount(source) !== mem.slotCount(rcvr)) {
    return vm.failWith(PrimErr.badArgument);
  }
  if (failIfReadOnly(vm, rcvr)) return false;
  const n = mem.slotCount(rcvr);
  for (let i = 0; i < n; i++) mem.storePointer(rcvr, i, mem.fetchPointer(source, i));
  vm.pop(argCount);
  return true;
}

/** The family of an indexable format for replaceFrom:to:with:startingAt: (pointers 1, words 2, bytes 3), 0 if none. */
function replaceFamily(fmt: number): number {
  if (fmt === Format.indexable || fmt === Format.fixedIndexable || fmt === Format.weak) return 1;
  if (isWordsFormat(fmt)) return 2;
  if (isBytesFormat(fmt)) return 3;
  return 0;
}

/** 105: replaceFrom: start to: stop with: replacement startingAt: repStart — same-family copy, overlap-safe */
function primitiveReplaceFromTo(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 4) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const dst = vm.stackValue(4);
  const startOop = vm.stackValue(3);
  const stopOop = vm.stackValue(2);
  const src = vm.stackValue(1);
  const repStartOop = vm.stackValue(0);
  if ((dst & 3) !== 0) return vm.failWith(PrimErr.badReceiver);
  const family = replaceFamily(mem.formatOf(dst));
  if (family === 0) return vm.failWith(PrimErr.badReceiver);
  if ((src & 3) !== 0 || replaceFamily(mem.formatOf(src)) !== family) return vm.failWith(PrimErr.badArgument);
  if ((startOop & stopOop & repStartOop & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const start = startOop >> 1;
  const stop = stopOop >> 1;
  const repStart = repStartOop >> 1;
  const count = stop - start + 1;
  const dstSize = basicSizeOf(vm, dst);
  const srcSize = basicSizeOf(vm, src);
  if (start < 1 || count < 0 || stop > dstSize || repStart < 1 || repStart - 1 + count > srcSize) return vm.failWith(PrimErr.badIndex);
  if (failIfReadOnly(vm, dst)) return false;
  if (count === 0) return answer(vm, argCount, dst);
  if (family === 1) {
    const to = mem.bodyIndex(dst) + mem.fixedFieldsOf(dst) + start - 1;
    const from = mem.bodyIndex(src) + mem.fixedFieldsOf(src) + repStart - 1;
    mem.words.copyWithin(to, from, from + count);
    if (!mem.isYoung(dst)) rememberIfYoungIn(mem, dst, to, count);
  } else if (family === 2) {
    const to = mem.bodyIndex(dst) + start - 1;
    const from = mem.bodyIndex(src) + repStart - 1;
    mem.words.copyWithin(to, from, from + count);
  } else {
    const to = mem.bodyByte(dst) + start - 1;
    const from = mem.bodyByte(src) + repStart - 1;
    mem.bytes.copyWithin(to, from, from + count);
  }
  return answer(vm, argCount, dst);
}

/** The write barrier for a block store: remembers `obj` if one of the `count` words from `index` is a young pointer. */
function rememberIfYoungIn(mem: ObjectMemory, obj: Oop, index: number, count: number): void {
  const words = mem.words;
  const young = mem.youngStart;
  for (let i = index; i < index + count; i++) {
    const v = words[i];
    if ((v & 3) === 0 && v >= young) {
      mem.remember(obj);
      return;
    }
  }
}

// ---------------------------------------------------------------- characters

/** 170: Character class>>value: anInteger (or SmallInteger>>asCharacter with no argument) */
function primitiveAsCharacter(vm: Interpreter, argCount: number): boolean {
  if (argCount > 1) return vm.failWith(PrimErr.badNumArgs);
  const code = vm.stackValue(0);
  if ((code & 1) !== 1 || code >> 1 < 0 || code >> 1 > MAX_CHARACTER) {
    return vm.failWith(argCount === 0 ? PrimErr.badReceiver : PrimErr.badArgument);
  }
  return answer(vm, argCount, characterOop(code >> 1));
}

/** 171: Character>>asInteger / value (immediateAsInteger) */
function primitiveImmediateAsInteger(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  if (!isCharacter(rcvr)) return vm.failWith(PrimErr.badReceiver);
  return answer(vm, argCount, ((rcvr >>> 2) << 1) | 1);
}

// ---------------------------------------------------------------- sizes in memory

/** 181: Behavior>>byteSizeOfInstance and byteSizeOfInstanceOfSize: — header included */
function primitiveSizeInBytesOfInstance(vm: Interpreter, argCount: number): boolean {
  if (argCount > 1) return vm.failWith(PrimErr.badNumArgs);
  const mem = vm.mem;
  const cls = vm.stackValue(argCount);
  if (!isBehavior(mem, cls)) return vm.failWith(PrimErr.badReceiver);
  let n = 0;
  if (argCount === 1) {
    const size = vm.stackValue(0);
    if ((size & 1) !== 1 || size >> 1 < 0) return vm.failWith(PrimErr.badArgument);
    n = size >> 1;
  }
  const bytes = instanceBytes(mem, cls, n);
  if (bytes < 0) return vm.failWith(argCount === 1 ? PrimErr.badArgument : PrimErr.badReceiver);
  return answer(vm, argCount, integerObjectOf(mem, bytes));
}

/** 182: Object>>sizeInMemory (sizeInBytes) — header included; 0 for immediates */
function primitiveSizeInBytes(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const rcvr = vm.stackValue(0);
  return answer(vm, argCount, (rcvr & 3) !== 0 ? 1 : integerObjectOf(vm.mem, vm.mem.objectBytes(rcvr)));
}

export const objectPrimitives: Record<number, PrimitiveFn> = {
  60: primitiveAt,
  61: primitiveAtPut,
  62: primitiveSize,
  63: primitiveStringAt,
  64: primitiveStringAtPut,
  68: primitiveObjectAt,
  69: primitiveObjectAtPut,
  70: primitiveNew,
  71: primitiveNewWithArg,
  73: primitiveInstVarAt,
  74: primitiveInstVarAtPut,
  75: primitiveIdentityHash,
  105: primitiveReplaceFromTo,
  110: primitiveIdentical,
  111: primitiveClass,
  115: primitiveChangeClass,
  132: primitiveObjectPointsTo,
  143: primitiveShortAt,
  144: primitiveShortAtPut,
  145: primitiveConstantFill,
  148: primitiveClone,
  160: primitiveAdoptInstance,
  163: primitiveGetImmutability,
  164: primitiveSetImmutability,
  165: primitiveIntegerAt,
  166: primitiveIntegerAtPut,
  168: primitiveCopyObject,
  169: primitiveNotIdentical,
  170: primitiveAsCharacter,
  171: primitiveImmediateAsInteger,
  173: primitiveSlotAt,
  174: primitiveSlotAtPut,
  175: primitiveBehaviorHash,
  176: primitiveMaxIdentityHash,
  181: primitiveSizeInBytesOfInstance,
  182: primitiveSizeInBytes,
};
