/**
 * Returning. A method context returns to its sender; a block context's `^` is a non-local return to the
 * sender of its home method context, which must still be on the stack: otherwise the context receives
 * #cannotReturn:. If a context marked by primitive 198 (`ensure:` / `ifCurtailed:`) lies between, the
 * VM sends #aboutToReturn:through: to the active context and the image runs the unwind blocks (Squeak's
 * protocol); the image then finishes the return itself.
 *
 * Stores into read-only objects (cannotAssign) live here too, since their store-and-pop forms need the
 * return path: the answer of #attemptToAssign:withIndex: is dropped when it comes back.
 */
import type { Interpreter } from "./interpreter.js";
import { HEADER_WORDS } from "../memory/heap.js";
import { Special } from "../memory/special.js";
import type { Oop } from "../memory/oop.js";
import { hasStackRoom, homeContextOf, isLiveContext, killContext, stackOverflow } from "./contexts.js";
import { sendSynthetic } from "./sends.js";
import { PRIM_MARK_UNWIND } from "../method/header.js";
import { activeProcess, switchToNext } from "./scheduler.js";

const SENDER = 0, PC = 1, STACKP = 2, METHOD = 3, CLOSURE = 4, RECEIVER = 5;
const SMALL_CONTEXT_SLOTS = 6 + 16;

/** Bytecodes 120-124: return from the method (non-local when executed in a block). */
export function returnFromMethod(vm: Interpreter, value: Oop): void {
  const closure = vm.words[vm.ctxBase + CLOSURE];
  if (closure === vm.mem.nilOop) returnTo(vm, vm.words[vm.ctxBase + SENDER], value);
  else nonLocalReturn(vm, value);
}

/** Bytecode 125: a block answers its value to whoever evaluated it. */
export function returnFromBlock(vm: Interpreter, value: Oop): void {
  returnTo(vm, vm.words[vm.ctxBase + SENDER], value);
}

function returnTo(vm: Interpreter, target: Oop, value: Oop): void {
  const discard = vm.discardingContexts.length > 0 && takeDiscarding(vm, vm.activeContext);
  const w = vm.words;
  const tbase = (target >> 2) + HEADER_WORDS;
  const nil = vm.mem.nilOop;
  const pc = w[tbase + PC];
  if ((target & 3) !== 0 || target === nil || (pc & 1) === 0) {
    if (target === nil && finishHostProcess(vm, value)) return;
    cannotReturn(vm, value);
    return;
  }
  const ctx = vm.activeContext;
  const base = vm.ctxBase;
  w[base + SENDER] = nil;
  w[base + PC] = nil;
  if (vm.reclaimableContexts > 0) {
    vm.reclaimableContexts--;
    if (!vm.stressGC) (w[base - 1] === SMALL_CONTEXT_SLOTS ? vm.freeSmallContexts : vm.freeLargeContexts).push(ctx);
  }
  const method = w[tbase + METHOD];
  vm.activeContext = target;
  vm.ctxBase = tbase;
  vm.method = method;
  vm.receiver = w[tbase + RECEIVER];
  vm.ip = method + 11 + (pc >> 1);
  const sp = tbase + 6 + (w[tbase + STACKP] >> 1);
  if (discard) {
    vm.sp = sp - 1;
  } else {
    w[sp] = value;
    vm.sp = sp;
  }
  if (target < vm.mem.youngStart) vm.mem.remember(target);
}

function nonLocalReturn(vm: Interpreter, value: Oop): void {
  const mem = vm.mem;
  const nil = mem.nilOop;
  const home = homeContextOf(vm, vm.activeContext);
  if (home === 0 || !isLiveContext(vm, home)) {
    cannotReturn(vm, value);
    return;
  }
  const target = mem.fetchPointer(home, SENDER);
  const discard = vm.discardingContexts.length > 0 && takeDiscarding(vm, home);
  // the home is the bottom context of a host job (a doit): the return answers the job
  const toHost = target === nil && isHostJob(vm);
  if (!toHost && !isLiveContext(vm, target)) {
    cannotReturn(vm, value);
    return;
  }
  let ctx = vm.activeContext;
  while (ctx !== home) {
    if (ctx === nil || (ctx & 3) !== 0) {
      cannotReturn(vm, value);
      return;
    }
    if (isUnwindMarked(vm, ctx)) {
      aboutToReturn(vm, value, ctx);
      return;
    }
    ctx = mem.fetchPointer(ctx, SENDER);
  }
  ctx = vm.activeContext;
  for (;;) {
    const next = mem.fetchPointer(ctx, SENDER);
    killContext(vm, ctx);
    if (ctx === home) break;
    ctx = next;
  }
  vm.reclaimableContexts = 0;
  if (toHost) {
    finishHostProcess(vm, value);
    return;
  }
  vm.fetchContextRegisters(target);
  if (!discard) vm.words[++vm.sp] = value;
}

/**
 * A store into an instance variable of `target` (0-based `index`), or into the value of a read-only
 * binding, found the object read-only: instead of storing, send `target attemptToAssign: value
 * withIndex: index + 1` (special object selectorAttemptToAssign). Its answer is what the store leaves on
 * the stack; a store-and-pop (`pop`) leaves nothing: the answer is dropped when the context running
 * #attemptToAssign:withIndex: returns (or at once if a primitive or quick method answered). The store's
 * value is on top of the stack, and vm.ip is already past the store bytecode.
 */
export function cannotAssign(vm: Interpreter, target: Oop, index: number, pop: boolean): void {
  if (!hasStackRoom(vm, 2)) {
    stackOverflow(vm, "the arguments of #attemptToAssign:withIndex:");
    return;
  }
  const w = vm.words;
  const value = w[vm.sp];
  w[vm.sp] = target;
  vm.push(value);
  vm.push(((index + 1) << 1) | 1);
  const sender = vm.activeContext;
  sendSynthetic(vm, vm.mem.specialObject(Special.selectorAttemptToAssign), 2);
  if (!pop || vm.stopReason === "fault") return;
  if (vm.activeContext === sender) {
    vm.sp--;
  } else if (vm.activeContext !== 0 && vm.words[vm.ctxBase + SENDER] === sender) {
    vm.discardingContexts.push(vm.activeContext);
  }
}

/**
 * Whether `ctx` runs an #attemptToAssign:withIndex: whose answer must be dropped; forgets it, and any
 * entry whose context died without returning (an exception unwound it).
 */
function takeDiscarding(vm: Interpreter, ctx: Oop): boolean {
  const list = vm.discardingContexts;
  let found = false;
  for (let i = list.length - 1; i >= 0; i--) {
    const entry = list[i];
    if (entry === ctx) found = true;
    if (entry === ctx || (vm.words[(entry >> 2) + HEADER_WORDS + PC] & 1) === 0) list.splice(i, 1);
  }
  return found;
}

function isHostJob(vm: Interpreter): boolean {
  const proc = activeProcess(vm);
  return proc !== 0 && vm.hostProcessFor(proc) !== undefined;
}

/**
 * The bottom context of a process the host started (membrane `evaluate`, `createProcess`) returned: the
 * process is done. Its result goes to the host, the process leaves the scheduler, and the next runs.
 */
function finishHostProcess(vm: Interpreter, value: Oop): boolean {
  const proc = activeProcess(vm);
  const job = proc === 0 ? undefined : vm.hostProcessFor(proc);
  if (job === undefined) return false;
  vm.storeContextRegisters();
  killContext(vm, vm.activeContext);
  vm.activeContext = 0;
  const mem = vm.mem;
  mem.storePointer(proc, 1, mem.nilOop);
  switchToNext(vm);
  job.finish(value);
  return true;
}

/** A method context whose method has primitive 198 (ensure:, ifCurtailed:). */
export function isUnwindMarked(vm: Interpreter, ctx: Oop): boolean {
  const w = vm.words;
  const base = (ctx >> 2) + HEADER_WORDS;
  if (w[base + CLOSURE] !== vm.mem.nilOop) return false;
  const method = w[base + METHOD];
  if ((method & 3) !== 0) return false;
  const header = w[(method >> 2) + HEADER_WORDS] >> 1;
  return ((header & 0x1ff) | ((header >> 19) & 0x200)) === PRIM_MARK_UNWIND;
}

function aboutToReturn(vm: Interpreter, value: Oop, unwindContext: Oop): void {
  vm.reclaimableContexts = 0;
  if (!hasStackRoom(vm, 3)) {
    stackOverflow(vm, "the arguments of #aboutToReturn:through:");
    return;
  }
  vm.push(vm.activeContext);
  vm.push(value);
  vm.push(unwindContext);
  sendSynthetic(vm, vm.mem.specialObject(Special.selectorAboutToReturn), 2);
}

/** The return cannot happen (its target is gone): tell the context, as Smalltalk code can handle it. */
export function cannotReturn(vm: Interpreter, value: Oop): void {
  vm.reclaimableContexts = 0;
  if (!hasStackRoom(vm, 2)) {
    stackOverflow(vm, "the arguments of #cannotReturn:");
    return;
  }
  vm.push(vm.activeContext);
  vm.push(value);
  sendSynthetic(vm, vm.mem.specialObject(Special.selectorCannotReturn), 1);
}
