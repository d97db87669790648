/**
 * The `OzCompiler` named-primitive module: the image compiles through the host's compiler (the compiler
 * is TypeScript, design.md section 5), and logs its source changes to the image's .changes file before
 * they take effect (section 3). Smalltalk signatures (receiver first):
 *
 *   aBehavior primitiveCompile: source classified: category   -> the selector, or a String describing the compile error
 *   anObject primitiveCompileDoIt: source for: receiver        -> a CompiledMethod to run on receiver (not installed), or a String
 *   anObject primitiveRecompile: selector in: aBehavior         -> the selector (recompiled from its source, same source pointer), or a String
 *   anObject primitiveSourceOf: aCompiledMethod                 -> its source String, or nil
 *   aBlockClosure primitiveBlockSource                          -> the block as written ('[:x | x]'), or nil when unknown
 *   anObject primitiveLogChange: aString                        -> true (a class definition or doit chunk), false when there is no changes file
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import { Format } from "../memory/format.js";
import { Special } from "../memory/special.js";
import type { Oop } from "../memory/oop.js";
import { compileDoIt, compileMethod, CompileError } from "../compiler/index.js";
import { compileContextFor, installMethod, literalEnvFor } from "../contract/compiling.js";
import { bytesText, className, GuestError, isBehavior, isMetaclass, methodAt, thisClassOf } from "../contract/guest.js";
import { MaterializeError, materializeMethod } from "../method/materialize.js";
import { decodeTrailer, type SourceRef } from "../method/trailer.js";
import { blockSourceOf, methodSourceOf } from "../contract/methods.js";
import { lookupSymbol } from "../memory/symbols.js";
import { PrimErr } from "./errors.js";
import { answer, newString } from "./support.js";

function text(vm: Interpreter, oop: Oop): string | undefined {
  return bytesText(vm.mem, oop);
}

/**
 * A class or a metaclass. Its class must be a metaclass (or it is one): any pointer object with a
 * SmallInteger third slot, or a byte string whose third word happens to be odd, is no class, and
 * installing a method in it would write into that object's fields (or its bytes) as if they were a
 * method dictionary.
 */
function isBehaviorOop(vm: Interpreter, oop: Oop): boolean {
  const mem = vm.mem;
  return isBehavior(mem, oop) && !mem.hasBytes(oop) && mem.slotCount(oop) >= 3 && (mem.fetchPointer(oop, 2) & 1) === 1;
}

function failure(vm: Interpreter, argCount: number, message: string): boolean {
  return answer(vm, argCount, newString(vm, message));
}

function sourceRefFor(vm: Interpreter, cls: Oop, source: string, category: string): SourceRef {
  const mem = vm.mem;
  const stored = vm.host.sources?.appendChange({
    kind: "method", className: className(mem, thisClassOf(mem, cls)), classSide: isMetaclass(mem, cls), category, source,
  });
  return stored ? { kind: "file", file: stored.file, position: stored.position } : { kind: "embedded", source };
}

function guarded(vm: Interpreter, argCount: number, body: () => boolean): boolean {
  try {
    return body();
  } catch (e) {
    if (e instanceof CompileError) return failure(vm, argCount, e.format());
    if (e instanceof GuestError) return vm.failWith(e.code === "resourceExhausted" ? PrimErr.insufficientObjectMemory : PrimErr.inappropriate);
    if (e instanceof MaterializeError) return e.outOfMemory ? vm.failWith(PrimErr.insufficientObjectMemory) : failure(vm, argCount, e.message);
    throw e;
  }
}

/** Behavior>>primitiveCompile: source classified: category */
function primitiveCompile(vm: Interpreter, argCount: number): boolean {
  const cls = vm.stackValue(2);
  const source = text(vm, vm.stackValue(1));
  const category = text(vm, vm.stackValue(0)) ?? "as yet unclassified";
  if (argCount !== 2 || !isBehaviorOop(vm, cls) || source === undefined) return vm.failWith(PrimErr.badArgument);
  return guarded(vm, argCount, () => {
    const { method: spec } = compileMethod(source, compileContextFor(vm.mem, cls));
    installMethod(vm.mem, cls, spec, sourceRefFor(vm, cls, source, category));
    vm.methodCache.flush();
    return answer(vm, argCount, lookupSymbol(vm.mem, spec.selector));
  });
}

/** Object>>primitiveCompileDoIt: source for: receiver */
function primitiveCompileDoIt(vm: Interpreter, argCount: number): boolean {
  const source = text(vm, vm.stackValue(1));
  const receiver = vm.stackValue(0);
  if (argCount !== 2 || source === undefined) return vm.failWith(PrimErr.badArgument);
  return guarded(vm, argCount, () => {
    const cls = vm.mem.fetchClassOf(receiver);
    const { method: spec } = compileDoIt(source, compileContextFor(vm.mem, cls));
    const method = materializeMethod(vm.mem, spec, literalEnvFor(vm.mem, cls), { kind: "embedded", source });
    return answer(vm, argCount, method);
  });
}

/** Object>>primitiveRecompile: selector in: aBehavior — after a class changed shape. */
function primitiveRecompile(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const selector = vm.stackValue(1);
  const cls = vm.stackValue(0);
  if (argCount !== 2 || !isBehaviorOop(vm, cls)) return vm.failWith(PrimErr.badArgument);
  const old = methodAt(mem, cls, selector);
  if (old === 0) return vm.failWith(PrimErr.notFound);
  const { ref } = decodeTrailer(mem.bytesView(old));
  const source = ref.kind === "embedded" ? ref.source : ref.kind === "file" ? vm.host.sources?.read(ref.file, ref.position) : undefined;
  if (source === undefined) return failure(vm, argCount, `the source of ${className(mem, cls)}>>${text(vm, selector)} is not available`);
  return guarded(vm, argCount, () => {
    const { method: spec } = compileMethod(source, compileContextFor(mem, cls));
    installMethod(mem, cls, spec, ref);
    vm.methodCache.flush();
    return answer(vm, argCount, selector);
  });
}

/** Object>>primitiveSourceOf: aCompiledMethod */
function primitiveSourceOf(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const method = vm.stackValue(0);
  if ((method & 3) !== 0 || mem.formatOf(method) < Format.compiledMethod) return vm.failWith(PrimErr.badArgument);
  const source = methodSourceOf(mem, vm.host.sources, method);
  return answer(vm, argCount, source === undefined ? mem.nilOop : newString(vm, source));
}

/** BlockClosure>>primitiveBlockSource — found again by recompiling the block's method (contract/methods.ts). */
function primitiveBlockSource(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  const closure = vm.stackValue(0);
  if ((closure & 3) !== 0 || mem.classOfPointer(closure) !== mem.specialObject(Special.classBlockClosure)) return vm.failWith(PrimErr.badReceiver);
  let source: string | undefined;
  try {
    source = blockSourceOf(mem, vm.host.sources, closure);
  } catch {
    source = undefined; // the compiler could not read the source again: unknown, like a missing one
  }
  return answer(vm, argCount, source === undefined ? mem.nilOop : newString(vm, source));
}

/** Object>>primitiveLogChange: aString — class definitions and doits that change the image. */
function primitiveLogChange(vm: Interpreter, argCount: number): boolean {
  const source = text(vm, vm.stackValue(0));
  if (source === undefined) return vm.failWith(PrimErr.badArgument);
  const stored = vm.host.sources?.appendChange({ kind: "classDefinition", source });
  return answer(vm, argCount, stored ? vm.mem.trueOop : vm.mem.falseOop);
}

/** Object>>primitiveLogRemoval: selector from: aBehavior */
function primitiveLogRemoval(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const selector = text(vm, vm.stackValue(1));
  const cls = vm.stackValue(0);
  if (selector === undefined || !isBehaviorOop(vm, cls)) return vm.failWith(PrimErr.badArgument);
  const stored = vm.host.sources?.appendChange({
    kind: "removeMethod", className: className(mem, thisClassOf(mem, cls)), classSide: isMetaclass(mem, cls), selector,
  });
  return answer(vm, argCount, stored ? mem.trueOop : mem.falseOop);
}

export const compilerModule: Record<string, PrimitiveFn> = {
  primitiveCompile,
  primitiveCompileDoIt,
  primitiveRecompile,
  primitiveSourceOf,
  primitiveBlockSource,
  primitiveLogChange,
  primitiveLogRemoval,
};

export { Special };
