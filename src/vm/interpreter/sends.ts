/**
 * Sending messages: `send` looks the method up (through the method cache), runs its primitive if it has
 * one, and otherwise activates it in a new context. A failed primitive falls through to the method's
 * Smalltalk code, with the failure code in the error temp when the method declared one
 * (`<primitive: 60 error: ec>`, marked by the bytecodes 129 (0x40 | numArgs) at its start).
 *
 * VM-level faults become Smalltalk messages: a missing method sends #doesNotUnderstand: with a Message,
 * a non-boolean in a conditional jump sends #mustBeBoolean.
 */
import type { Interpreter } from "./interpreter.js";
import { HEADER_WORDS } from "../memory/heap.js";
import { Special, SPECIAL_SELECTORS } from "../memory/special.js";
import { Format } from "../memory/format.js";
import { MessageLayout } from "../memory/layout.js";
import type { Oop } from "../memory/oop.js";
import { lookupMethodInClass } from "./lookup.js";
import { checkForInterrupts } from "./interrupts.js";
import { allocateContext, hasStackRoom, interpreterAllocationFailed, stackOverflow } from "./contexts.js";
import { PRIM_EXTERNAL_CALL } from "../method/header.js";
import { resolveNamedPrimitive } from "../primitives/table.js";

const SENDER = 0, PC = 1, STACKP = 2, METHOD = 3, CLOSURE = 4, RECEIVER = 5, STACK = 6;

/** A send bytecode: checks for interrupts, then dispatches on the receiver's class. */
export function send(vm: Interpreter, selector: Oop, argCount: number, startIp: number): void {
  if (--vm.interruptCounter <= 0) {
    const back = vm.ip - startIp;
    selector = checkBeforeSend(vm, selector, startIp);
    if (selector === 0) return;
    startIp = vm.ip - back;
  }
  vm.sendCount++;
  const rcvr = vm.words[vm.sp - argCount];
  const cls = (rcvr & 1) === 1 ? vm.classSmallInteger : (rcvr & 3) === 2 ? vm.classCharacter : vm.words[rcvr >> 2];
  const cache = vm.methodCache;
  const h = ((selector ^ (cls >>> 1)) >>> 2) & cache.mask;
  if (cache.selectors[h] === selector && cache.classes[h] === cls && cache.primitives[h] === 0) {
    activateMethod(vm, cache.methods[h], argCount, startIp);
    return;
  }
  dispatch(vm, selector, argCount, cls, startIp);
}

/** A send of special selector `index` (bytecodes 176..207) whose inline fast path did not apply. */
export function sendSpecial(vm: Interpreter, index: number, startIp: number): void {
  const selectors = vm.mem.specialObject(Special.specialSelectors);
  send(vm, vm.mem.fetchPointer(selectors, index * 2), SPECIAL_SELECTORS[index][1], startIp);
}

/** A super send: the lookup starts in the superclass of the method's class (its last literal's value). */
export function superSend(vm: Interpreter, selector: Oop, argCount: number, startIp: number): void {
  if (--vm.interruptCounter <= 0) {
    const back = vm.ip - startIp;
    selector = checkBeforeSend(vm, selector, startIp);
    if (selector === 0) return;
    startIp = vm.ip - back;
  }
  vm.sendCount++;
  const mem = vm.mem;
  const header = mem.fetchPointer(vm.method, 0) >> 1;
  const binding = mem.fetchPointer(vm.method, (header >> 9) & 0xff);
  const methodClass = mem.fetchPointer(binding, 1);
  dispatch(vm, selector, argCount, mem.fetchPointer(methodClass, 0), startIp);
}

/**
 * The interrupt check of a send, made before the lookup. The check may collect garbage, which moves
 * objects: the selector (read from the literal frame before the check) is held in a handle so that it
 * follows, and `vm.ip` is re-derived from the moved method, so callers recompute absolute addresses from
 * it. Answers the selector, or 0 when the send must not run now (the slice stops or another process runs).
 */
function checkBeforeSend(vm: Interpreter, selector: Oop, startIp: number): Oop {
  const handle = vm.mem.newHandle(selector);
  const stop = checkForInterrupts(vm, startIp);
  vm.mem.releaseHandle(handle);
  return stop ? 0 : handle.oop;
}

/** A send the VM makes on its own (doesNotUnderstand:, cannotReturn:, mustBeBoolean...): no interrupt check. */
export function sendSynthetic(vm: Interpreter, selector: Oop, argCount: number): void {
  vm.sendCount++;
  const rcvr = vm.words[vm.sp - argCount];
  dispatch(vm, selector, argCount, vm.mem.fetchClassOf(rcvr), vm.ip);
}

export function dispatch(vm: Interpreter, selector: Oop, argCount: number, cls: Oop, startIp: number): void {
  const cache = vm.methodCache;
  const h = cache.slot(selector, cls);
  let method: Oop;
  let prim: number;
  if (cache.selectors[h] === selector && cache.classes[h] === cls) {
    method = cache.methods[h];
    prim = cache.primitives[h];
  } else {
    method = lookupMethodInClass(vm.mem, cls, selector);
    if (method === 0) {
      sendDoesNotUnderstand(vm, selector, argCount, cls, startIp);
      return;
    }
    prim = primitiveIndexOf(vm, method);
    cache.selectors[h] = selector;
    cache.classes[h] = cls;
    cache.methods[h] = method;
    cache.primitives[h] = prim;
    cache.misses++;
  }
  executeMethod(vm, method, prim, argCount, startIp, selector);
}

export function primitiveIndexOf(vm: Interpreter, method: Oop): number {
  if ((method & 3) !== 0 || vm.mem.formatOf(method) < Format.compiledMethod) return -1;
  const header = vm.words[(method >> 2) + HEADER_WORDS] >> 1;
  return (header & 0x1ff) | ((header >> 19) & 0x200);
}

/** Runs `method` for the receiver and arguments on the stack: its primitive first, then its code. */
export function executeMethod(vm: Interpreter, method: Oop, prim: number, argCount: number, startIp: number, selector: Oop): void {
  if (prim !== 0) {
    if (prim < 0) {
      runObjectAsMethod(vm, method, selector, argCount, startIp);
      return;
    }
    if (prim >= 256 && prim <= 519) {
      quickReturn(vm, prim, argCount);
      return;
    }
    vm.primFailCode = 0;
    const fn = prim === PRIM_EXTERNAL_CALL ? resolveNamedPrimitive(vm, method) : vm.primitives.numbered[prim];
    if (fn !== undefined && fn !== null) {
      // a primitive may collect garbage before it fails (allocation retries): the collector keeps the
      // method as a root and follows it, as Squeak's newMethod register
      const collector = vm.collector;
      collector.primitiveMethod = method;
      if (fn(vm, argCount)) return;
      method = collector.primitiveMethod;
      if (vm.stopReason !== null && vm.stopReason !== "budget") return;
    }
  }
  activateMethod(vm, method, argCount, startIp);
}

function quickReturn(vm: Interpreter, prim: number, argCount: number): void {
  const w = vm.words;
  const rcvrIndex = vm.sp - argCount;
  let value: Oop;
  if (prim === 256) value = w[rcvrIndex];
  else if (prim === 257) value = vm.mem.trueOop;
  else if (prim === 258) value = vm.mem.falseOop;
  else if (prim === 259) value = vm.mem.nilOop;
  else if (prim < 264) value = ((prim - 261) << 1) | 1;
  else {
    if (w[rcvrIndex] === vm.activeContext) vm.storeContextRegisters();
    value = w[(w[rcvrIndex] >> 2) + HEADER_WORDS + (prim - 264)];
  }
  vm.sp = rcvrIndex;
  w[rcvrIndex] = value;
}

/** Creates a context for `method` with the receiver and arguments on the stack, and makes it active. */
export function activateMethod(vm: Interpreter, method: Oop, argCount: number, startIp: number): void {
  const header = vm.words[(method >> 2) + HEADER_WORDS] >> 1;
  const numTemps = (header >> 18) & 0x3f;
  const numLits = (header >> 9) & 0xff;
  const large = (header & 0x20000) !== 0;
  const free = large ? vm.freeLargeContexts : vm.freeSmallContexts;
  let ctx: Oop;
  if (free.length > 0) {
    ctx = free.pop()!;
    vm.reclaimableContexts++;
  } else {
    ctx = allocateContext(vm, large);
    if (ctx === 0) {
      interpreterAllocationFailed(vm, startIp);
      return;
    }
  }
  const w = vm.words;
  const nil = vm.mem.nilOop;
  const rcvrIndex = vm.sp - argCount;
  const caller = vm.ctxBase;
  w[caller + PC] = ((vm.ip - vm.method - 11) << 1) | 1;
  w[caller + STACKP] = ((rcvrIndex - 1 - caller - 5) << 1) | 1;
  const base = (ctx >> 2) + HEADER_WORDS;
  w[base + SENDER] = vm.activeContext;
  w[base + PC] = ((((numLits + 1) << 2) + 1) << 1) | 1;
  w[base + STACKP] = (numTemps << 1) | 1;
  w[base + METHOD] = method;
  w[base + CLOSURE] = nil;
  const rcvr = w[rcvrIndex];
  w[base + RECEIVER] = rcvr;
  for (let i = 0; i < argCount; i++) w[base + STACK + i] = w[rcvrIndex + 1 + i];
  for (let i = argCount; i < numTemps; i++) w[base + STACK + i] = nil;
  vm.activeContext = ctx;
  vm.ctxBase = base;
  vm.method = method;
  vm.receiver = rcvr;
  vm.ip = method + 12 + ((numLits + 1) << 2);
  vm.sp = base + 5 + numTemps;
  if ((header & 0x1ff) !== 0 || (header & 0x10000000) !== 0) storePrimitiveErrorCode(vm, argCount);
}

/** After a failed primitive: the error temp of `<primitive: N error: ec>` receives the failure code. */
function storePrimitiveErrorCode(vm: Interpreter, argCount: number): void {
  const b = vm.bytes;
  if (b[vm.ip] !== 129 || b[vm.ip + 1] !== (0x40 | argCount)) return;
  vm.words[vm.ctxBase + STACK + argCount] = primitiveErrorObject(vm, vm.primFailCode);
  vm.ip += 2;
}

/** The object a failure code stands for: the symbol of the image's primitive error table, or the number. */
export function primitiveErrorObject(vm: Interpreter, code: number): Oop {
  const mem = vm.mem;
  if (code === 0) return mem.nilOop;
  const table = mem.specialObject(Special.primErrTable);
  if ((table & 3) === 0 && table !== mem.nilOop && mem.formatOf(table) <= Format.weak && code <= mem.slotCount(table)) {
    return mem.fetchPointer(table, code - 1);
  }
  return (code << 1) | 1;
}

/**
 * The receiver does not understand `selector`: replace the arguments by a Message and send
 * #doesNotUnderstand: to it, looking up from the same class.
 */
export function sendDoesNotUnderstand(vm: Interpreter, selector: Oop, argCount: number, cls: Oop, startIp: number): void {
  const mem = vm.mem;
  const dnu = mem.specialObject(Special.selectorDoesNotUnderstand);
  if (selector === dnu) {
    vm.stop("fault", {
      kind: "recursiveDoesNotUnderstand",
      message: `recursive doesNotUnderstand: the receiver's class ${describeClass(vm, cls)} has no #doesNotUnderstand:`,
      process: mem.newHandle(currentProcessOop(vm)),
    });
    vm.ip = startIp;
    return;
  }
  if (!hasStackRoom(vm, 1 - argCount)) {
    vm.ip = startIp;
    stackOverflow(vm, `the Message of #doesNotUnderstand: (${describeSelector(vm, selector)})`);
    return;
  }
  const args = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, argCount);
  const message = args === 0 ? 0 : mem.allocate(mem.specialObject(Special.classMessage), Format.fixed, 3);
  if (message === 0) {
    interpreterAllocationFailed(vm, startIp);
    return;
  }
  const w = vm.words;
  for (let i = 0; i < argCount; i++) w[(args >> 2) + HEADER_WORDS + i] = w[vm.sp - argCount + 1 + i];
  mem.storePointerUnchecked(message, MessageLayout.selector, selector);
  mem.storePointerUnchecked(message, MessageLayout.args, args);
  mem.storePointerUnchecked(message, MessageLayout.lookupClass, cls);
  vm.sp -= argCount;
  vm.push(message);
  dispatch(vm, dnu, 1, cls, startIp);
}

/** A conditional jump found `value` instead of a boolean: send #mustBeBoolean and retry the jump with its answer. */
export function mustBeBoolean(vm: Interpreter, value: Oop, jumpIp: number): void {
  vm.ip = jumpIp;
  vm.push(value);
  sendSynthetic(vm, vm.mem.specialObject(Special.selectorMustBeBoolean), 0);
}

/** A method slot held something other than a CompiledMethod: send #run:with:in: to it (objects as methods). */
function runObjectAsMethod(vm: Interpreter, object: Oop, selector: Oop, argCount: number, startIp: number): void {
  const mem = vm.mem;
  if (!hasStackRoom(vm, 3 - argCount)) {
    vm.ip = startIp;
    stackOverflow(vm, "the arguments of #run:with:in:");
    return;
  }
  const args = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, argCount);
  if (args === 0) {
    interpreterAllocationFailed(vm, startIp);
    return;
  }
  const w = vm.words;
  for (let i = 0; i < argCount; i++) w[(args >> 2) + HEADER_WORDS + i] = w[vm.sp - argCount + 1 + i];
  const rcvr = w[vm.sp - argCount];
  vm.sp -= argCount + 1;
  vm.push(object);
  vm.push(selector);
  vm.push(args);
  vm.push(rcvr);
  sendSynthetic(vm, mem.specialObject(Special.selectorRunWithIn), 3);
}

function describeSelector(vm: Interpreter, selector: Oop): string {
  return (selector & 3) === 0 && vm.mem.hasBytes(selector) ? `#${vm.mem.stringOf(selector)}` : "a selector";
}

function describeClass(vm: Interpreter, cls: Oop): string {
  try {
    const name = vm.mem.fetchPointer(cls, 6);
    return (name & 3) === 0 && vm.mem.hasBytes(name) ? vm.mem.stringOf(name) : "?";
  } catch {
    return "?";
  }
}

export function currentProcessOop(vm: Interpreter): Oop {
  const mem = vm.mem;
  const assoc = mem.specialObject(Special.schedulerAssociation);
  if ((assoc & 3) !== 0 || assoc === mem.nilOop) return mem.nilOop;
  const scheduler = mem.fetchPointer(assoc, 1);
  if ((scheduler & 3) !== 0 || scheduler === mem.nilOop) return mem.nilOop;
  return mem.fetchPointer(scheduler, 1);
}
