/**
 * Control primitives: closure evaluation, perform, executing a given method, and the context primitives
 * the exception and unwinding machinery uses (Squeak numbers 83, 84, 100, 118, 188, 195-201..206, 210-212,
 * 221, 222, 76).
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import { Special } from "../memory/special.js";
import { Format } from "../memory/format.js";
import { BlockClosureLayout, ContextLayout, CONTEXT_FIXED_SIZE } from "../memory/layout.js";
import type { Oop } from "../memory/oop.js";
import { activateClosure, activateMethodWithArray, hasStackRoom, isLiveContext, killContext } from "../interpreter/contexts.js";
import { dispatch, executeMethod, primitiveIndexOf } from "../interpreter/sends.js";
import { lookupMethodInClass } from "../interpreter/lookup.js";
import { HEADER_WORDS } from "../memory/heap.js";
import { PRIM_MARK_HANDLER, PRIM_MARK_UNWIND } from "../method/header.js";
import { PrimErr } from "./errors.js";
import { answer, answerBool } from "./support.js";

function isClosure(vm: Interpreter, oop: Oop): boolean {
  return (oop & 3) === 0 && vm.mem.classOfPointer(oop) === vm.mem.specialObject(Special.classBlockClosure);
}

function isContext(vm: Interpreter, oop: Oop): boolean {
  const mem = vm.mem;
  return (oop & 3) === 0 && oop !== mem.nilOop && mem.classOfPointer(oop) === mem.specialObject(Special.classMethodContext)
    && mem.slotCount(oop) >= CONTEXT_FIXED_SIZE;
}

/**
 * The most contexts a sender chain can hold: each takes at least HEADER_WORDS + CONTEXT_FIXED_SIZE words.
 * A walk that goes further is going round a loop (the image can store any context into a sender field),
 * and a primitive cannot be interrupted, so the walks below fail there instead of hanging the VM.
 */
function chainLimit(vm: Interpreter): number {
  return Math.floor(vm.mem.bytesUsed() / ((HEADER_WORDS + CONTEXT_FIXED_SIZE) * 4)) + 1;
}

/** Whether `ctx` is a method (not block) activation of a method marked by primitive `marker` (198, 199). */
function isMarkedContext(vm: Interpreter, ctx: Oop, marker: number): boolean {
  const mem = vm.mem;
  return mem.fetchPointer(ctx, ContextLayout.closureOrNil) === mem.nilOop && primitiveIndexOf(vm, mem.fetchPointer(ctx, ContextLayout.method)) === marker;
}

function isArray(vm: Interpreter, oop: Oop): boolean {
  return (oop & 3) === 0 && vm.mem.classOfPointer(oop) === vm.mem.specialObject(Special.classArray);
}

function methodNumArgs(vm: Interpreter, method: Oop): number {
  return ((vm.mem.fetchPointer(method, 0) >> 1) >> 24) & 0xf;
}

/** 201-205, 221, 222: BlockClosure>>value..., valueNoContextSwitch... */
function primitiveClosureValue(vm: Interpreter, argCount: number): boolean {
  const closure = vm.stackValue(argCount);
  if (!isClosure(vm, closure)) return vm.failWith(PrimErr.badReceiver);
  if (!vm.mem.canAllocate(4096)) return vm.failWith(PrimErr.insufficientObjectMemory);
  return activateClosure(vm, closure, argCount) || vm.failWith(PrimErr.badNumArgs);
}

/** 206: BlockClosure>>valueWithArguments: */
function primitiveClosureValueWithArgs(vm: Interpreter, argCount: number): boolean {
  const closure = vm.stackValue(1);
  const args = vm.stackValue(0);
  if (!isClosure(vm, closure)) return vm.failWith(PrimErr.badReceiver);
  if (!isArray(vm, args)) return vm.failWith(PrimErr.badArgument);
  const n = vm.mem.slotCount(args);
  if (vm.mem.fetchPointer(closure, BlockClosureLayout.numArgs) !== ((n << 1) | 1)) return vm.failWith(PrimErr.badNumArgs);
  if (!vm.mem.canAllocate(4096)) return vm.failWith(PrimErr.insufficientObjectMemory);
  if (!hasStackRoom(vm, n - 1)) return activateClosure(vm, closure, n, args) || vm.failWith(PrimErr.badNumArgs);
  vm.pop(1);
  for (let i = 0; i < n; i++) vm.push(vm.mem.fetchPointer(args, i));
  if (activateClosure(vm, closure, n)) return true;
  vm.pop(n);
  vm.push(args);
  return argCount === 1 && vm.failWith(PrimErr.badNumArgs);
}

/** 83: Object>>perform: aSymbol with: ... */
function primitivePerform(vm: Interpreter, argCount: number): boolean {
  if (argCount < 1) return vm.failWith(PrimErr.badNumArgs);
  const selector = vm.stackValue(argCount - 1);
  const rcvr = vm.stackValue(argCount);
  const cls = vm.mem.fetchClassOf(rcvr);
  const method = lookupMethodInClass(vm.mem, cls, selector);
  if (method !== 0 && primitiveIndexOf(vm, method) >= 0 && methodNumArgs(vm, method) !== argCount - 1) {
    return vm.failWith(PrimErr.badNumArgs);
  }
  if (!vm.mem.canAllocate(4096)) return vm.failWith(PrimErr.insufficientObjectMemory);
  const w = vm.words;
  for (let i = argCount - 1; i > 0; i--) w[vm.sp - i] = w[vm.sp - i + 1];
  vm.sp--;
  dispatch(vm, selector, argCount - 1, cls, vm.ip);
  return true;
}

/** Pushes the elements of `args` in place of the selector and array, then sends. */
function performWithArgs(vm: Interpreter, selector: Oop, args: Oop, lookupClass: Oop, popCount: number): boolean {
  const n = vm.mem.slotCount(args);
  const method = lookupMethodInClass(vm.mem, lookupClass, selector);
  if (method !== 0 && primitiveIndexOf(vm, method) >= 0 && methodNumArgs(vm, method) !== n) return vm.failWith(PrimErr.badNumArgs);
  if (!vm.mem.canAllocate(4096)) return vm.failWith(PrimErr.insufficientObjectMemory);
  if (!hasStackRoom(vm, n - popCount)) {
    // no room to push the arguments: activate straight from the array (a method without primitive only)
    if (method === 0 || primitiveIndexOf(vm, method) !== 0) return vm.failWith(PrimErr.limitExceeded);
    return activateMethodWithArray(vm, method, vm.sp - popCount, args);
  }
  vm.pop(popCount);
  for (let i = 0; i < n; i++) vm.push(vm.mem.fetchPointer(args, i));
  dispatch(vm, selector, n, lookupClass, vm.ip);
  return true;
}

/** 84: Object>>perform: aSymbol withArguments: anArray */
function primitivePerformWithArgs(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const args = vm.stackValue(0);
  if (!isArray(vm, args)) return vm.failWith(PrimErr.badArgument);
  return performWithArgs(vm, vm.stackValue(1), args, vm.mem.fetchClassOf(vm.stackValue(2)), 2);
}

/** 100: Object>>perform: aSymbol withArguments: anArray inSuperclass: aClass */
function primitivePerformInSuperclass(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 3) return vm.failWith(PrimErr.badNumArgs);
  const lookupClass = vm.stackValue(0);
  const args = vm.stackValue(1);
  if (!isArray(vm, args)) return vm.failWith(PrimErr.badArgument);
  const mem = vm.mem;
  let cls = mem.fetchClassOf(vm.stackValue(3));
  while (cls !== mem.nilOop && cls !== lookupClass) cls = mem.fetchPointer(cls, 0);
  if (cls === mem.nilOop) return vm.failWith(PrimErr.badArgument);
  return performWithArgs(vm, vm.stackValue(2), args, lookupClass, 3);
}

/**
 * 188: `receiver:withArguments:executeMethod:` (3 arguments, sent to anything) or
 * `withArgs:executeMethod:` (2 arguments, the receiver runs the method). No lookup happens.
 */
function primitiveExecuteMethodArgsArray(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const method = vm.stackValue(0);
  const args = vm.stackValue(1);
  let rcvr: Oop;
  if (argCount === 3) rcvr = vm.stackValue(2);
  else if (argCount === 2) rcvr = vm.stackValue(2);
  else return vm.failWith(PrimErr.badNumArgs);
  if ((method & 3) !== 0 || mem.formatOf(method) < Format.compiledMethod) return vm.failWith(PrimErr.badArgument);
  if (!isArray(vm, args)) return vm.failWith(PrimErr.badArgument);
  const n = mem.slotCount(args);
  if (methodNumArgs(vm, method) !== n) return vm.failWith(PrimErr.badNumArgs);
  if (!mem.canAllocate(4096)) return vm.failWith(PrimErr.insufficientObjectMemory);
  if (!hasStackRoom(vm, n - argCount)) {
    if (primitiveIndexOf(vm, method) !== 0) return vm.failWith(PrimErr.limitExceeded);
    const receiverIndex = vm.sp - argCount;
    vm.words[receiverIndex] = rcvr;
    return activateMethodWithArray(vm, method, receiverIndex, args);
  }
  vm.pop(argCount + 1);
  vm.push(rcvr);
  for (let i = 0; i < n; i++) vm.push(mem.fetchPointer(args, i));
  executeMethod(vm, method, primitiveIndexOf(vm, method), n, vm.ip, mem.nilOop);
  return true;
}

/** 118: Object>>tryPrimitive: primIndex withArgs: argumentArray */
function primitiveDoPrimitiveWithArgs(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 2) return vm.failWith(PrimErr.badNumArgs);
  const index = vm.stackValue(1);
  const args = vm.stackValue(0);
  if ((index & 1) !== 1 || !isArray(vm, args)) return vm.failWith(PrimErr.badArgument);
  const prim = vm.primitives.numbered[index >> 1];
  if (prim === undefined || (index >> 1) === 118) return vm.failWith(PrimErr.notFound);
  const n = vm.mem.slotCount(args);
  if (!hasStackRoom(vm, n - 2)) return vm.failWith(PrimErr.limitExceeded);
  vm.pop(2);
  for (let i = 0; i < n; i++) vm.push(vm.mem.fetchPointer(args, i));
  if (prim(vm, n)) return true;
  vm.pop(n);
  vm.push(index);
  vm.push(args);
  return false;
}

/**
 * 195: Context>>findNextUnwindContextUpTo: aContext, searching from the receiver's sender. The chain ends at
 * nil or at anything else that is not a context.
 */
function primitiveFindNextUnwindContext(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const stop = vm.stackValue(0);
  let ctx = vm.stackValue(1);
  if (!isContext(vm, ctx)) return vm.failWith(PrimErr.badReceiver);
  vm.storeContextRegisters();
  for (let steps = chainLimit(vm); steps > 0; steps--) {
    ctx = mem.fetchPointer(ctx, ContextLayout.sender);
    if (ctx === stop || !isContext(vm, ctx)) return answer(vm, argCount, mem.nilOop);
    if (isMarkedContext(vm, ctx, PRIM_MARK_UNWIND)) return answer(vm, argCount, ctx);
  }
  return vm.failWith(PrimErr.inappropriate);
}

/** 197: Context>>findNextHandlerContextStarting: the first context from the receiver marked by primitive 199. */
function primitiveFindHandlerContext(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  let ctx = vm.stackValue(0);
  if (!isContext(vm, ctx)) return vm.failWith(PrimErr.badReceiver);
  vm.storeContextRegisters();
  for (let steps = chainLimit(vm); steps > 0; steps--) {
    if (isMarkedContext(vm, ctx, PRIM_MARK_HANDLER)) return answer(vm, argCount, ctx);
    ctx = mem.fetchPointer(ctx, ContextLayout.sender);
    if (!isContext(vm, ctx)) return answer(vm, argCount, mem.nilOop);
  }
  return vm.failWith(PrimErr.inappropriate);
}

/**
 * 196: Context>>terminateTo: previousContext — kill the contexts in between, make it the sender. The chain
 * is checked before anything is killed, so that a failure (the running context is in between, or the
 * chain loops) changes nothing.
 */
function primitiveTerminateTo(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const target = vm.stackValue(0);
  const rcvr = vm.stackValue(1);
  if (!isContext(vm, rcvr)) return vm.failWith(PrimErr.badReceiver);
  vm.storeContextRegisters();
  let ctx = mem.fetchPointer(rcvr, ContextLayout.sender);
  let found = false;
  let crossesActive = false;
  let steps = chainLimit(vm);
  for (let probe = ctx; isContext(vm, probe); probe = mem.fetchPointer(probe, ContextLayout.sender)) {
    if (probe === target) {
      found = true;
      break;
    }
    if (probe === vm.activeContext) crossesActive = true;
    if (--steps === 0) return vm.failWith(PrimErr.inappropriate);
  }
  if (found) {
    if (crossesActive) return vm.failWith(PrimErr.inappropriate);
    while (ctx !== target) {
      const next = mem.fetchPointer(ctx, ContextLayout.sender);
      killContext(vm, ctx);
      ctx = next;
    }
  }
  mem.storePointer(rcvr, ContextLayout.sender, target);
  vm.reclaimableContexts = 0;
  vm.pop(argCount);
  return true;
}

/** 198, 199: markers for ensure:/ifCurtailed: and on:do:; they always fail so the method's code runs. */
const primitiveMarkUnwindMethod: PrimitiveFn = () => false;
const primitiveMarkHandlerMethod: PrimitiveFn = () => false;

/** The receiver's stack pointer, never beyond its own slots (the image may have stored anything there). */
function contextStackp(vm: Interpreter, ctx: Oop): number {
  if (ctx === vm.activeContext) vm.storeContextRegisters();
  const sp = vm.mem.fetchPointer(ctx, ContextLayout.stackp);
  if ((sp & 1) !== 1) return 0;
  return Math.max(0, Math.min(vm.mem.slotCount(ctx) - CONTEXT_FIXED_SIZE, sp >> 1));
}

/** 210: Context>>at: index — stack slots up to the stack pointer. */
function primitiveContextAt(vm: Interpreter, argCount: number): boolean {
  const ctx = vm.stackValue(1);
  const index = vm.stackValue(0);
  if (!isContext(vm, ctx)) return vm.failWith(PrimErr.badReceiver);
  if ((index & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const i = index >> 1;
  if (i < 1 || i > contextStackp(vm, ctx)) return vm.failWith(PrimErr.badIndex);
  return answer(vm, argCount, vm.mem.fetchPointer(ctx, CONTEXT_FIXED_SIZE + i - 1));
}

/** 211: Context>>at: index put: value */
function primitiveContextAtPut(vm: Interpreter, argCount: number): boolean {
  const ctx = vm.stackValue(2);
  const index = vm.stackValue(1);
  const value = vm.stackValue(0);
  if (!isContext(vm, ctx)) return vm.failWith(PrimErr.badReceiver);
  if ((index & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const i = index >> 1;
  if (i < 1 || i > contextStackp(vm, ctx)) return vm.failWith(PrimErr.badIndex);
  vm.mem.storePointer(ctx, CONTEXT_FIXED_SIZE + i - 1, value);
  return answer(vm, argCount, value);
}

/** 212: Context>>size — the number of slots in use (the stack pointer). */
function primitiveContextSize(vm: Interpreter, argCount: number): boolean {
  const ctx = vm.stackValue(0);
  if (!isContext(vm, ctx)) return vm.failWith(PrimErr.badReceiver);
  return answer(vm, argCount, (contextStackp(vm, ctx) << 1) | 1);
}

/** 76: Context>>stackp: newStackp — slots that become live read nil. */
function primitiveStoreStackp(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const ctx = vm.stackValue(1);
  const value = vm.stackValue(0);
  if (!isContext(vm, ctx) || ctx === vm.activeContext) return vm.failWith(PrimErr.badReceiver);
  if ((value & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const n = value >> 1;
  const capacity = mem.slotCount(ctx) - CONTEXT_FIXED_SIZE;
  if (n < 0 || n > capacity) return vm.failWith(PrimErr.badArgument);
  const old = contextStackp(vm, ctx);
  for (let i = old; i < n; i++) mem.storePointer(ctx, CONTEXT_FIXED_SIZE + i, mem.nilOop);
  mem.storePointer(ctx, ContextLayout.stackp, value);
  vm.pop(argCount);
  return true;
}

/** 200: BlockClosure class>>outerContext:startpc:numArgs:copiedValues: */
function primitiveClosureCopyWithCopiedValues(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  if (argCount !== 4) return vm.failWith(PrimErr.badNumArgs);
  const outer = vm.stackValue(3);
  const startpc = vm.stackValue(2);
  const numArgs = vm.stackValue(1);
  const copied = vm.stackValue(0);
  if (!isContext(vm, outer) || (startpc & 1) !== 1 || (numArgs & 1) !== 1) return vm.failWith(PrimErr.badArgument);
  const n = copied === mem.nilOop ? 0 : isArray(vm, copied) ? mem.slotCount(copied) : -1;
  if (n < 0) return vm.failWith(PrimErr.badArgument);
  const closure = mem.allocate(mem.specialObject(Special.classBlockClosure), Format.fixedIndexable, 3 + n);
  if (closure === 0) return vm.failWith(PrimErr.insufficientObjectMemory);
  mem.storePointerUnchecked(closure, BlockClosureLayout.outerContext, outer);
  mem.storePointerUnchecked(closure, BlockClosureLayout.startpc, startpc);
  mem.storePointerUnchecked(closure, BlockClosureLayout.numArgs, numArgs);
  for (let i = 0; i < n; i++) mem.storePointerUnchecked(closure, 3 + i, mem.fetchPointer(copied, i));
  vm.reclaimableContexts = 0;
  return answer(vm, argCount, closure);
}

/** Context>>isDead-style check used by tools: 0 args, answers whether the receiver context can still run. */
function primitiveContextIsLive(vm: Interpreter, argCount: number): boolean {
  const ctx = vm.stackValue(0);
  if (!isContext(vm, ctx)) return vm.failWith(PrimErr.badReceiver);
  return answerBool(vm, argCount, isLiveContext(vm, ctx));
}

export const blockPrimitives: Record<number, PrimitiveFn> = {
  76: primitiveStoreStackp,
  83: primitivePerform,
  84: primitivePerformWithArgs,
  100: primitivePerformInSuperclass,
  118: primitiveDoPrimitiveWithArgs,
  188: primitiveExecuteMethodArgsArray,
  195: primitiveFindNextUnwindContext,
  196: primitiveTerminateTo,
  197: primitiveFindHandlerContext,
  198: primitiveMarkUnwindMethod,
  199: primitiveMarkHandlerMethod,
  200: primitiveClosureCopyWithCopiedValues,
  201: primitiveClosureValue,
  202: primitiveClosureValue,
  203: primitiveClosureValue,
  204: primitiveClosureValue,
  205: primitiveClosureValue,
  206: primitiveClosureValueWithArgs,
  210: primitiveContextAt,
  211: primitiveContextAtPut,
  212: primitiveContextSize,
  221: primitiveClosureValue,
  222: primitiveClosureValue,
};

export const blockModule: Record<string, PrimitiveFn> = {
  primitiveContextIsLive,
};
