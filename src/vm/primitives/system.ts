/**
 * System primitives (Squeak numbers 89, 97, 113, 114, 116, 119, 121, 129, 142, 149, 254) and the `OzVM`
 * named-primitive module: Transcript output, the unhandled-error hook, symbol interning and string hashing.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import { Special } from "../memory/special.js";
import { Format } from "../memory/format.js";
import type { Oop } from "../memory/oop.js";
import { internSymbol, lookupSymbol, stringHashOfBytes, stringHashOfWords } from "../memory/symbols.js";
import { HEADER_BYTES } from "../memory/heap.js";
import { activeProcess } from "../interpreter/scheduler.js";
import { snapshotImage } from "../image/snapshot.js";
import { PrimErr } from "./errors.js";
import { answer, integerResult, newString } from "./support.js";

function isBytes(vm: Interpreter, oop: Oop): boolean {
  return (oop & 3) === 0 && vm.mem.hasBytes(oop) && vm.mem.formatOf(oop) < Format.compiledMethod;
}

/** A WideString (or any word object of a String class): 32-bit code points. */
function isWordString(vm: Interpreter, oop: Oop): boolean {
  return (oop & 3) === 0 && oop !== vm.mem.nilOop && vm.mem.formatOf(oop) === Format.words;
}

/** The text of a byte string (Latin-1) or a word string (code points). */
function textOf(vm: Interpreter, oop: Oop): string | undefined {
  const mem = vm.mem;
  if (isBytes(vm, oop)) return mem.stringOf(oop);
  if (!isWordString(vm, oop)) return undefined;
  let s = "";
  for (let i = 0; i < mem.slotCount(oop); i++) {
    const c = mem.fetchWord(oop, i);
    s += c <= 0x10ffff ? String.fromCodePoint(c) : "\ufffd";
  }
  return s;
}

/** 113: Smalltalk quitPrimitive */
function primitiveQuit(vm: Interpreter, argCount: number): boolean {
  vm.pop(argCount);
  vm.stop("quit");
  return true;
}

/** 114: exitToDebugger — there is no C debugger: the image stops with a fault the host can inspect. */
function primitiveExitToDebugger(vm: Interpreter, argCount: number): boolean {
  vm.pop(argCount);
  vm.stop("fault", { kind: "vmError", message: "the image asked to exit to the debugger", process: vm.mem.newHandle(activeProcess(vm) || vm.mem.nilOop) });
  return true;
}

/** 89, 116, 119: flush the method cache (all, for a method, for a selector). */
function primitiveFlushCache(vm: Interpreter, argCount: number): boolean {
  vm.methodCache.flush();
  vm.primitives.namedCache.clear();
  vm.pop(argCount);
  return true;
}

/** 121: Smalltalk imageName */
function primitiveImageName(vm: Interpreter, argCount: number): boolean {
  if (argCount === 0) return answer(vm, argCount, newString(vm, vm.imageName));
  const name = vm.stackValue(0);
  if (!isBytes(vm, name)) return vm.failWith(PrimErr.badArgument);
  vm.imageName = vm.mem.stringOf(name);
  vm.pop(argCount);
  return true;
}

/** 129: Smalltalk specialObjectsArray */
function primitiveSpecialObjectsOop(vm: Interpreter, argCount: number): boolean {
  return answer(vm, argCount, vm.mem.specialObjectsOop);
}

/**
 * 97: Smalltalk snapshotPrimitive — answers false in the running image and true in the saved one when it
 * resumes; fails when the host gives this image nowhere to save.
 */
function primitiveSnapshot(vm: Interpreter, argCount: number): boolean {
  const sink = vm.host.snapshots;
  if (!sink) return vm.failWith(PrimErr.unsupported);
  vm.popThenPush(argCount + 1, vm.mem.trueOop);
  const bytes = snapshotImage(vm);
  vm.words[vm.sp] = vm.mem.falseOop;
  const error = sink.save(bytes);
  if (error !== undefined) {
    vm.popThenPush(1, vm.mem.nilOop);
  }
  return true;
}

/** 142: Smalltalk vmPath */
function primitiveVmPath(vm: Interpreter, argCount: number): boolean {
  return answer(vm, argCount, newString(vm, "oz"));
}

/** 149: Smalltalk getSystemAttribute: n */
function primitiveGetAttribute(vm: Interpreter, argCount: number): boolean {
  const n = vm.stackValue(0);
  if ((n & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const attributes: Record<number, string> = {
    0: "oz",
    1: vm.imageName,
    1001: "unix",
    1002: "oz",
    1003: "javascript",
    1004: "Oz VM 0.1",
    1005: "none",
    1006: "Oz VM 0.1 (Squeak V3 bytecodes with closures)",
  };
  const value = attributes[n >> 1];
  return answer(vm, argCount, value === undefined ? vm.mem.nilOop : newString(vm, value));
}

/** 254: Smalltalk vmParameterAt: n — a few of Squeak's parameters, nil for the others. */
function primitiveVMParameter(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 1) return vm.failWith(PrimErr.badNumArgs);
  const n = vm.stackValue(0);
  if ((n & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const stats = vm.collector.stats;
  const values: Record<number, number> = {
    1: vm.mem.youngStart,
    2: vm.mem.freeStart - vm.mem.youngStart,
    3: vm.mem.freeStart,
    7: stats.fullCollections,
    8: Math.round(stats.totalMs),
    9: stats.youngCollections,
    10: Math.round(stats.totalMs),
    34: vm.mem.stats.allocatedBytes,
  };
  const value = values[n >> 1];
  // a count such as the bytes allocated in all passes the SmallInteger range in a long-running image
  return answer(vm, argCount, value === undefined ? vm.mem.nilOop : integerResult(vm, value));
}

// ---------------------------------------------------------------- OzVM named primitives

/** Transcript output: `primitiveTranscriptShow: aString` */
function primitiveTranscriptShow(vm: Interpreter, argCount: number): boolean {
  const text = textOf(vm, vm.stackValue(0));
  if (text === undefined) return vm.failWith(PrimErr.badArgument);
  vm.host.console.write(text);
  vm.pop(argCount);
  return true;
}

/**
 * An exception nobody handled (`primitiveUnhandledError: anException description: aString`): the
 * image stops with its failing process intact, as the active process, for the host to inspect and repair.
 * The process is also recorded in the special objects array's list of failed processes.
 */
function primitiveUnhandledError(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const exception = vm.stackValue(argCount - 1);
  const description = argCount >= 2 ? vm.stackValue(0) : mem.nilOop;
  const text = isBytes(vm, description) ? mem.stringOf(description) : "unhandled error";
  const proc = activeProcess(vm);
  recordFailedProcess(vm, proc);
  vm.popThenPush(argCount + 1, mem.nilOop);
  vm.stop("fault", {
    kind: "unhandledError",
    message: text,
    process: mem.newHandle(proc || mem.nilOop),
    object: mem.newHandle(exception),
  });
  return true;
}

function recordFailedProcess(vm: Interpreter, proc: Oop): void {
  const mem = vm.mem;
  if (proc === 0) return;
  const old = mem.specialObject(Special.failedProcesses);
  const n = (old & 3) === 0 && old !== mem.nilOop ? mem.slotCount(old) : 0;
  for (let i = 0; i < n; i++) if (mem.fetchPointer(old, i) === proc) return;
  const fresh = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, n + 1);
  if (fresh === 0) return;
  for (let i = 0; i < n; i++) mem.storePointerUnchecked(fresh, i, mem.fetchPointer(old, i));
  mem.storePointerUnchecked(fresh, n, proc);
  mem.setSpecialObject(Special.failedProcesses, fresh);
}

/** `primitiveIntern: aString` answers the unique symbol with those characters. */
function primitiveIntern(vm: Interpreter, argCount: number): boolean {
  const text = vm.stackValue(0);
  if (!isBytes(vm, text)) return vm.failWith(PrimErr.badArgument);
  const sym = internSymbol(vm.mem, vm.mem.stringOf(text));
  return answer(vm, argCount, sym);
}

/** `primitiveLookupSymbol: aString` answers the symbol or nil. */
function primitiveLookupSymbol(vm: Interpreter, argCount: number): boolean {
  const text = vm.stackValue(0);
  if (!isBytes(vm, text)) return vm.failWith(PrimErr.badArgument);
  const sym = lookupSymbol(vm.mem, vm.mem.stringOf(text));
  return answer(vm, argCount, sym === 0 ? vm.mem.nilOop : sym);
}

/** `primitiveStringHash` (receiver: a byte string): the hash the symbol table uses, so 'abc' hash = #abc hash. */
function primitiveStringHash(vm: Interpreter, argCount: number): boolean {
  const text = vm.stackValue(0);
  let hash: number;
  if (isBytes(vm, text)) {
    const start = text + HEADER_BYTES;
    hash = stringHashOfBytes(vm.mem.bytes, start, start + vm.mem.byteLength(text));
  } else if (isWordString(vm, text)) {
    const start = vm.mem.bodyIndex(text);
    hash = stringHashOfWords(vm.words, start, start + vm.mem.slotCount(text));
  } else {
    return vm.failWith(PrimErr.badArgument);
  }
  return answer(vm, argCount, (hash << 1) | 1);
}

/** `primitiveFailedProcesses`: the processes stopped by unhandled errors (an Array). */
function primitiveFailedProcesses(vm: Interpreter, argCount: number): boolean {
  const list = vm.mem.specialObject(Special.failedProcesses);
  return answer(vm, argCount, list);
}

/** `primitiveForgetFailedProcess: aProcess` (after a debugger or the host dealt with it). */
function primitiveForgetFailedProcess(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const proc = vm.stackValue(0);
  const old = mem.specialObject(Special.failedProcesses);
  if ((old & 3) === 0 && old !== mem.nilOop) {
    const kept: Oop[] = [];
    for (let i = 0; i < mem.slotCount(old); i++) if (mem.fetchPointer(old, i) !== proc) kept.push(mem.fetchPointer(old, i));
    const fresh = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, kept.length);
    if (fresh === 0) return vm.failWith(PrimErr.insufficientObjectMemory);
    kept.forEach((p, i) => mem.storePointerUnchecked(fresh, i, p));
    mem.setSpecialObject(Special.failedProcesses, fresh);
  }
  vm.pop(argCount);
  return true;
}

export const systemPrimitives: Record<number, PrimitiveFn> = {
  89: primitiveFlushCache,
  97: primitiveSnapshot,
  113: primitiveQuit,
  114: primitiveExitToDebugger,
  116: primitiveFlushCache,
  119: primitiveFlushCache,
  121: primitiveImageName,
  129: primitiveSpecialObjectsOop,
  142: primitiveVmPath,
  149: primitiveGetAttribute,
  254: primitiveVMParameter,
};

export const systemModule: Record<string, PrimitiveFn> = {
  primitiveTranscriptShow,
  primitiveUnhandledError,
  primitiveIntern,
  primitiveLookupSymbol,
  primitiveStringHash,
  primitiveFailedProcesses,
  primitiveForgetFailedProcess,
};
