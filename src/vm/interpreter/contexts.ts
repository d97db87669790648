/**
 * Contexts and closures: allocation with recycling, `thisContext`, closure creation and activation,
 * and what happens when the interpreter itself cannot allocate.
 *
 * Recycling (Squeak V3's reclaimable contexts). `reclaimableContexts` counts the contexts allocated since
 * the last escape: pushing thisContext, creating a closure (which captures its outer context), a process
 * switch, a collection, or the start of a slice (the host may hold mirrors on any context). Those contexts
 * are reachable only through the active chain, so the one that returns is the most recent of them and
 * can go straight back to a free list. Worked example: `a foo` sends `b bar` (2 reclaimable); `bar`
 * returns and its context is recycled (1); `foo` evaluates `thisContext` (0); when `foo` returns its
 * context is only marked dead (sender and pc nil), because someone may still hold it.
 */
import type { Interpreter } from "./interpreter.js";
import { HEADER_WORDS } from "../memory/heap.js";
import { Special } from "../memory/special.js";
import { Format, isCompiledMethodFormat } from "../memory/format.js";
import { CONTEXT_FIXED_SIZE, LARGE_FRAME_SIZE, SMALL_FRAME_SIZE, BLOCK_CLOSURE_FIXED_SIZE } from "../memory/layout.js";
import type { Oop } from "../memory/oop.js";

const SENDER = 0, PC = 1, STACKP = 2, METHOD = 3, CLOSURE = 4, RECEIVER = 5, STACK = 6;
const OUTER_CONTEXT = 0, STARTPC = 1, NUM_ARGS = 2;
const SMALL_CONTEXT_SLOTS = CONTEXT_FIXED_SIZE + SMALL_FRAME_SIZE;

export function allocateContext(vm: Interpreter, large: boolean): Oop {
  const list = large ? vm.freeLargeContexts : vm.freeSmallContexts;
  let ctx = list.length > 0 ? list.pop()! : 0;
  if (ctx === 0) {
    const mem = vm.mem;
    ctx = mem.allocate(
      mem.specialObject(Special.classMethodContext),
      Format.fixedIndexable,
      CONTEXT_FIXED_SIZE + (large ? LARGE_FRAME_SIZE : SMALL_FRAME_SIZE),
    );
    if (ctx === 0) return 0;
  }
  vm.reclaimableContexts++;
  return ctx;
}

/** Puts a context that nobody else can reference back on its free list. */
export function recycleContext(vm: Interpreter, ctx: Oop): void {
  const w = vm.words;
  const base = (ctx >> 2) + HEADER_WORDS;
  w[base + SENDER] = vm.mem.nilOop;
  w[base + PC] = vm.mem.nilOop;
  if (vm.stressGC) return;
  if (w[base - 1] === SMALL_CONTEXT_SLOTS) vm.freeSmallContexts.push(ctx);
  else vm.freeLargeContexts.push(ctx);
}

/** Marks a context dead: it has returned, so it can never be returned to or resumed. */
export function killContext(vm: Interpreter, ctx: Oop): void {
  const w = vm.words;
  const base = (ctx >> 2) + HEADER_WORDS;
  w[base + SENDER] = vm.mem.nilOop;
  w[base + PC] = vm.mem.nilOop;
}

export function isLiveContext(vm: Interpreter, ctx: Oop): boolean {
  return (ctx & 3) === 0 && ctx !== vm.mem.nilOop && (vm.words[(ctx >> 2) + HEADER_WORDS + PC] & 1) === 1;
}

export function pushThisContext(vm: Interpreter): void {
  vm.reclaimableContexts = 0;
  vm.push(vm.activeContext);
}

/** Bytecode 143: creates a closure over the active context with `numCopied` values popped from the stack. */
export function pushClosure(vm: Interpreter, descriptor: number, blockSize: number): void {
  const startIp = vm.ip - 1;
  if (vm.stressGC) vm.collect(false);
  const mem = vm.mem;
  const numArgs = descriptor & 15;
  const numCopied = descriptor >> 4;
  const closure = mem.allocate(mem.specialObject(Special.classBlockClosure), Format.fixedIndexable, BLOCK_CLOSURE_FIXED_SIZE + numCopied);
  if (closure === 0) {
    interpreterAllocationFailed(vm, startIp);
    return;
  }
  vm.ip += 3;
  const w = vm.words;
  const base = (closure >> 2) + HEADER_WORDS;
  w[base + OUTER_CONTEXT] = vm.activeContext;
  w[base + STARTPC] = ((vm.ip - vm.method - 11) << 1) | 1;
  w[base + NUM_ARGS] = (numArgs << 1) | 1;
  const first = vm.sp - numCopied + 1;
  for (let i = 0; i < numCopied; i++) w[base + BLOCK_CLOSURE_FIXED_SIZE + i] = w[first + i];
  vm.sp -= numCopied;
  vm.push(closure);
  vm.ip += blockSize;
  vm.reclaimableContexts = 0;
}

/** Bytecode 138 without pop: pushes `Array new: size`. */
export function pushNewArray(vm: Interpreter, size: number): void {
  const startIp = vm.ip - 2;
  if (vm.stressGC) vm.collect(false);
  const mem = vm.mem;
  const array = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, size);
  if (array === 0) {
    interpreterAllocationFailed(vm, startIp);
    return;
  }
  vm.push(array);
}

/** Bytecode 138 with pop: a brace array `{a. b. c}` made of the top `size` values. */
export function popIntoNewArray(vm: Interpreter, size: number): void {
  const startIp = vm.ip - 2;
  if (vm.stressGC) vm.collect(false);
  const mem = vm.mem;
  const array = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, size);
  if (array === 0) {
    interpreterAllocationFailed(vm, startIp);
    return;
  }
  const w = vm.words;
  const first = vm.sp - size + 1;
  for (let i = 0; i < size; i++) w[(array >> 2) + HEADER_WORDS + i] = w[first + i];
  vm.sp -= size;
  vm.push(array);
}

/**
 * Saves the caller's registers (its stack cut back to `callerTop`) and makes `ctx`, already filled by the
 * caller of this function, the active context, about to run `method` at byte `ip` with stack top `sp`.
 */
function enterContext(vm: Interpreter, ctx: Oop, method: Oop, receiver: Oop, callerTop: number, ip: number, stackp: number): void {
  const w = vm.words;
  const caller = vm.ctxBase;
  w[caller + PC] = ((vm.ip - vm.method - 11) << 1) | 1;
  w[caller + STACKP] = ((callerTop - caller - 5) << 1) | 1;
  const base = (ctx >> 2) + HEADER_WORDS;
  vm.activeContext = ctx;
  vm.ctxBase = base;
  vm.method = method;
  vm.receiver = receiver;
  vm.ip = ip;
  vm.sp = base + 5 + stackp;
}

/**
 * Activates `closure` with `argCount` arguments on the stack above it (primitives 201-206, 221-222), or,
 * when `spread` is an Array, with the arguments held by that array (the stack then holds the closure and
 * the array: valueWithArguments: from a frame too small to push them). Answers false (the primitive
 * fails) when the argument count does not match.
 */
export function activateClosure(vm: Interpreter, closure: Oop, argCount: number, spread: Oop = 0): boolean {
  const mem = vm.mem;
  let w = vm.words;
  const cbase = (closure >> 2) + HEADER_WORDS;
  if (w[cbase + NUM_ARGS] !== ((argCount << 1) | 1)) return false;
  const outer = w[cbase + OUTER_CONTEXT];
  if ((outer & 3) !== 0 || outer === mem.nilOop) return false;
  // the image can store anything in a closure's outerContext or a context's method: only a real context
  // of a real method gives the new frame its method and receiver
  if (mem.classOfPointer(outer) !== mem.specialObject(Special.classMethodContext)) return false;
  const method = w[(outer >> 2) + HEADER_WORDS + METHOD];
  if ((method & 3) !== 0 || !isCompiledMethodFormat(mem.formatOf(method))) return false;
  const header = w[(method >> 2) + HEADER_WORDS] >> 1;
  const ctx = allocateContext(vm, (header & 0x20000) !== 0);
  if (ctx === 0) return vm.failWith(8);
  w = vm.words;
  const numCopied = w[cbase - 1] - BLOCK_CLOSURE_FIXED_SIZE;
  const rcvrIndex = spread === 0 ? vm.sp - argCount : vm.sp - 1;
  const args = spread === 0 ? rcvrIndex + 1 : (spread >> 2) + HEADER_WORDS;
  const base = (ctx >> 2) + HEADER_WORDS;
  const stackp = argCount + numCopied;
  w[base + SENDER] = vm.activeContext;
  w[base + PC] = w[cbase + STARTPC];
  w[base + STACKP] = (stackp << 1) | 1;
  w[base + METHOD] = method;
  w[base + CLOSURE] = closure;
  const rcvr = w[(outer >> 2) + HEADER_WORDS + RECEIVER];
  w[base + RECEIVER] = rcvr;
  for (let i = 0; i < argCount; i++) w[base + STACK + i] = w[args + i];
  for (let i = 0; i < numCopied; i++) w[base + STACK + argCount + i] = w[cbase + BLOCK_CLOSURE_FIXED_SIZE + i];
  enterContext(vm, ctx, method, rcvr, rcvrIndex - 1, method + 11 + (w[cbase + STARTPC] >> 1), stackp);
  return true;
}

/**
 * Activates `method` (which must have no primitive to run) for the receiver at stack index
 * `receiverIndex`, its arguments taken from the Array `args`; the caller's stack is cut back below the
 * receiver. For primitives that spread an argument array (perform:withArguments:, executeMethod) when
 * the caller's frame has no room to push the arguments.
 */
export function activateMethodWithArray(vm: Interpreter, method: Oop, receiverIndex: number, args: Oop): boolean {
  let w = vm.words;
  const header = w[(method >> 2) + HEADER_WORDS] >> 1;
  const numTemps = (header >> 18) & 0x3f;
  const numLits = (header >> 9) & 0xff;
  const numArgs = (header >> 24) & 0xf;
  if (vm.mem.slotCount(args) !== numArgs) return vm.failWith(4);
  const ctx = allocateContext(vm, (header & 0x20000) !== 0);
  if (ctx === 0) return vm.failWith(8);
  w = vm.words;
  const nil = vm.mem.nilOop;
  const base = (ctx >> 2) + HEADER_WORDS;
  const rcvr = w[receiverIndex];
  w[base + SENDER] = vm.activeContext;
  w[base + PC] = ((((numLits + 1) << 2) + 1) << 1) | 1;
  w[base + STACKP] = (numTemps << 1) | 1;
  w[base + METHOD] = method;
  w[base + CLOSURE] = nil;
  w[base + RECEIVER] = rcvr;
  const from = (args >> 2) + HEADER_WORDS;
  for (let i = 0; i < numArgs; i++) w[base + STACK + i] = w[from + i];
  for (let i = numArgs; i < numTemps; i++) w[base + STACK + i] = nil;
  enterContext(vm, ctx, method, rcvr, receiverIndex - 1, method + 12 + ((numLits + 1) << 2), numTemps);
  return true;
}

/**
 * Whether the active context's stack can take `n` more values. The compiler sizes a frame for what the
 * method's own code pushes; the VM pushes more on its behalf in a few slow paths (the Message of a unary
 * doesNotUnderstand:, #cannotReturn:'s and #aboutToReturn:through:'s arguments, #run:with:in:'s).
 */
export function hasStackRoom(vm: Interpreter, n: number): boolean {
  return vm.sp + n < vm.ctxBase + vm.words[vm.ctxBase - 1];
}

/** The VM must push `what` but the active context has no room: stop rather than write past the context. */
export function stackOverflow(vm: Interpreter, what: string): void {
  vm.stop("fault", {
    kind: "vmError",
    message: `no room on the stack of ${vm.describeMethod(vm.method)} for ${what} (its frame is too small)`,
    process: vm.mem.newHandle(currentProcess(vm)),
  });
}

/**
 * The interpreter could not allocate (a context, a closure, an array). The instruction is rewound so that
 * it runs again; memory is collected; if there is still no room the image stops, out of memory.
 */
export function interpreterAllocationFailed(vm: Interpreter, startIp: number): void {
  vm.ip = startIp;
  vm.collect(true);
  if (!vm.mem.canAllocate(64 * 1024)) {
    vm.stop("fault", {
      kind: "outOfMemory",
      message: `out of memory: the image uses ${vm.mem.bytesUsed()} bytes of its ${vm.mem.limitBytes} byte limit`,
      process: vm.mem.newHandle(currentProcess(vm)),
    });
  }
}

function currentProcess(vm: Interpreter): Oop {
  const mem = vm.mem;
  const assoc = mem.specialObject(Special.schedulerAssociation);
  if ((assoc & 3) !== 0 || assoc === mem.nilOop) return mem.nilOop;
  return mem.fetchPointer(mem.fetchPointer(assoc, 1), 1);
}

/** The method context a block context or closure ultimately belongs to (0 if the chain is broken). */
export function homeContextOf(vm: Interpreter, ctx: Oop): Oop {
  const mem = vm.mem;
  const nil = mem.nilOop;
  for (let guard = 0; guard < 100000; guard++) {
    if ((ctx & 3) !== 0 || ctx === nil) return 0;
    const closure = mem.fetchPointer(ctx, CLOSURE);
    if (closure === nil) return ctx;
    ctx = mem.fetchPointer(closure, OUTER_CONTEXT);
  }
  return 0;
}

export { SENDER as CTX_SENDER, PC as CTX_PC, STACKP as CTX_STACKP, METHOD as CTX_METHOD, CLOSURE as CTX_CLOSURE, RECEIVER as CTX_RECEIVER, STACK as CTX_STACK };
