/**
 * Process and context surgery from the host (the paper's sections 3.4 and 5): finding a process's top
 * context, its state, suspending, resuming and terminating it at the VM level, restarting a context and
 * returning a value from one. The guest is not running while these happen (the host and the guest share
 * one thread), so the scheduler's structures are consistent.
 */
import type { Interpreter } from "../../vm/interpreter/interpreter.js";
import { ContextLayout, CONTEXT_FIXED_SIZE, BlockClosureLayout, ProcessLayout, ProcessorSchedulerLayout } from "../../vm/memory/layout.js";
import { Special } from "../../vm/memory/special.js";
import { smallIntOop, smallIntValue, isSmallInt, type Oop } from "../../vm/memory/oop.js";
import {
  activeProcess, putToSleep, removeLink, resumeProcess as schedulerResume, schedulerOf, suspendProcess as schedulerSuspend,
  switchToNext, transferTo,
} from "../../vm/interpreter/scheduler.js";
import { killContext, isLiveContext } from "../../vm/interpreter/contexts.js";
import { decodeMethodHeader, initialPC } from "../../vm/method/header.js";
import { MembraneError, type ProcessState } from "../objectSpace.js";
import { isNil } from "../../vm/contract/guest.js";

/** The context a process would continue from: the VM's active context for the running process. */
export function topContextOf(vm: Interpreter, proc: Oop): Oop {
  const mem = vm.mem;
  if (proc === activeProcess(vm) && vm.activeContext !== 0) {
    vm.storeContextRegisters();
    return vm.activeContext;
  }
  const ctx = mem.fetchPointer(proc, ProcessLayout.suspendedContext);
  return isNil(mem, ctx) || (ctx & 3) !== 0 ? 0 : ctx;
}

export function isFailed(vm: Interpreter, proc: Oop): boolean {
  const mem = vm.mem;
  const list = mem.specialObject(Special.failedProcesses);
  if ((list & 3) !== 0 || isNil(mem, list)) return false;
  for (let i = 0; i < mem.slotCount(list); i++) if (mem.fetchPointer(list, i) === proc) return true;
  return false;
}

export function forgetFailed(vm: Interpreter, proc: Oop): void {
  const mem = vm.mem;
  const list = mem.specialObject(Special.failedProcesses);
  if ((list & 3) !== 0 || isNil(mem, list)) return;
  for (let i = 0; i < mem.slotCount(list); i++) if (mem.fetchPointer(list, i) === proc) mem.storePointer(list, i, mem.nilOop);
}

function isRunQueue(vm: Interpreter, list: Oop): boolean {
  const mem = vm.mem;
  const sched = schedulerOf(vm);
  if (sched === 0) return false;
  const lists = mem.fetchPointer(sched, ProcessorSchedulerLayout.quiescentProcessLists);
  for (let i = 0; i < mem.slotCount(lists); i++) if (mem.fetchPointer(lists, i) === list) return true;
  return false;
}

export function processState(vm: Interpreter, proc: Oop): ProcessState {
  const mem = vm.mem;
  if (isFailed(vm, proc)) return "failed";
  if (proc === activeProcess(vm) && vm.activeContext !== 0) return "running";
  if (topContextOf(vm, proc) === 0) return "terminated";
  const list = mem.fetchPointer(proc, ProcessLayout.myList);
  if (isNil(mem, list)) return "suspended";
  return isRunQueue(vm, list) ? "runnable" : "waiting";
}

export function suspendProcess(vm: Interpreter, proc: Oop): void {
  const state = processState(vm, proc);
  if (state === "terminated") throw new MembraneError("failedPrecondition", "the process has terminated");
  if (proc === activeProcess(vm) && vm.activeContext !== 0) {
    schedulerSuspend(vm, proc);
    return;
  }
  const list = vm.mem.fetchPointer(proc, ProcessLayout.myList);
  if (!isNil(vm.mem, list)) removeLink(vm, proc, list);
}

export function resumeProcess(vm: Interpreter, proc: Oop): void {
  const mem = vm.mem;
  if (isFailed(vm, proc)) forgetFailed(vm, proc);
  if (proc === activeProcess(vm) && vm.activeContext !== 0) return;
  if (topContextOf(vm, proc) === 0) throw new MembraneError("failedPrecondition", "the process has terminated");
  if (!isNil(mem, mem.fetchPointer(proc, ProcessLayout.myList))) {
    throw new MembraneError("failedPrecondition", "the process is already runnable or waiting on a semaphore");
  }
  schedulerResume(vm, proc);
}

/** Ends a process without running its unwind blocks (the guest-level terminate is preferred when it works). */
export function terminateAtVMLevel(vm: Interpreter, proc: Oop): void {
  const mem = vm.mem;
  forgetFailed(vm, proc);
  if (proc === activeProcess(vm) && vm.activeContext !== 0) {
    let ctx = topContextOf(vm, proc);
    vm.activeContext = 0;
    while (ctx !== 0 && !isNil(mem, ctx)) {
      const next = mem.fetchPointer(ctx, ContextLayout.sender);
      killContext(vm, ctx);
      ctx = next;
    }
    mem.storePointer(proc, ProcessLayout.suspendedContext, mem.nilOop);
    switchToNext(vm);
    return;
  }
  const list = mem.fetchPointer(proc, ProcessLayout.myList);
  if (!isNil(mem, list)) removeLink(vm, proc, list);
  mem.storePointer(proc, ProcessLayout.suspendedContext, mem.nilOop);
}

/** Makes `proc` the running process now; the previously active one waits at the front of its run queue. */
export function installAsActive(vm: Interpreter, proc: Oop): void {
  const mem = vm.mem;
  const active = activeProcess(vm);
  if (proc === active && vm.activeContext !== 0) return;
  const list = mem.fetchPointer(proc, ProcessLayout.myList);
  if (!isNil(mem, list)) removeLink(vm, proc, list);
  if (active !== 0 && vm.activeContext !== 0) {
    vm.storeContextRegisters();
    putToSleep(vm, active, true);
  }
  transferTo(vm, proc);
}

export function setPriority(vm: Interpreter, proc: Oop, priority: number): void {
  const mem = vm.mem;
  const list = mem.fetchPointer(proc, ProcessLayout.myList);
  const runnable = !isNil(mem, list) && isRunQueue(vm, list);
  if (runnable) removeLink(vm, proc, list);
  mem.storePointer(proc, ProcessLayout.priority, smallIntOop(priority));
  if (runnable) putToSleep(vm, proc);
}

/** The process whose stack contains `ctx`, or 0. */
export function ownerProcess(vm: Interpreter, ctx: Oop, processes: Oop[]): Oop {
  const mem = vm.mem;
  for (const proc of processes) {
    for (let c = topContextOf(vm, proc), guard = 0; c !== 0 && !isNil(mem, c) && guard < 1_000_000; guard++) {
      if (c === ctx) return proc;
      c = mem.fetchPointer(c, ContextLayout.sender);
    }
  }
  return 0;
}

function makeTop(vm: Interpreter, proc: Oop, ctx: Oop): void {
  const mem = vm.mem;
  if (proc === activeProcess(vm) && vm.activeContext !== 0) {
    vm.activeContext = 0;
    if (!vm.fetchContextRegisters(ctx)) throw new MembraneError("failedPrecondition", "that context cannot run");
  } else {
    mem.storePointer(proc, ProcessLayout.suspendedContext, ctx);
  }
  vm.reclaimableContexts = 0;
}

function killAbove(vm: Interpreter, proc: Oop, ctx: Oop, inclusive: boolean): void {
  const mem = vm.mem;
  let c = topContextOf(vm, proc);
  while (c !== 0 && c !== ctx && !isNil(mem, c)) {
    const next = mem.fetchPointer(c, ContextLayout.sender);
    killContext(vm, c);
    c = next;
  }
  if (inclusive) killContext(vm, ctx);
}

/** Restarts `ctx` from its first instruction; the contexts above it on its process are discarded. */
export function restartContext(vm: Interpreter, ctx: Oop, proc: Oop): void {
  const mem = vm.mem;
  if (!isLiveContext(vm, ctx)) throw new MembraneError("failedPrecondition", "a dead context cannot be restarted");
  killAbove(vm, proc, ctx, false);
  const method = mem.fetchPointer(ctx, ContextLayout.method);
  const header = decodeMethodHeader(mem.fetchPointer(method, 0) >> 1);
  const closure = mem.fetchPointer(ctx, ContextLayout.closureOrNil);
  if (isNil(mem, closure)) {
    mem.storePointer(ctx, ContextLayout.pc, smallIntOop(initialPC(header.numLiterals)));
    for (let i = header.numArgs; i < header.numTemps; i++) mem.storePointer(ctx, CONTEXT_FIXED_SIZE + i, mem.nilOop);
    mem.storePointer(ctx, ContextLayout.stackp, smallIntOop(header.numTemps));
  } else {
    const numArgs = smallIntValue(mem.fetchPointer(closure, BlockClosureLayout.numArgs));
    const numCopied = mem.slotCount(closure) - 3;
    for (let i = 0; i < numCopied; i++) mem.storePointer(ctx, CONTEXT_FIXED_SIZE + numArgs + i, mem.fetchPointer(closure, 3 + i));
    mem.storePointer(ctx, ContextLayout.pc, mem.fetchPointer(closure, BlockClosureLayout.startpc));
    mem.storePointer(ctx, ContextLayout.stackp, smallIntOop(numArgs + numCopied));
  }
  makeTop(vm, proc, ctx);
}

/** Returns `value` from `ctx` to its sender; the contexts above and `ctx` itself are discarded. */
export function returnFromContext(vm: Interpreter, ctx: Oop, proc: Oop, value: Oop): void {
  const mem = vm.mem;
  const sender = mem.fetchPointer(ctx, ContextLayout.sender);
  if (isNil(mem, sender) || !isLiveContext(vm, sender)) throw new MembraneError("failedPrecondition", "this context has no live sender to return to");
  const sp = mem.fetchPointer(sender, ContextLayout.stackp);
  const stackp = isSmallInt(sp) ? smallIntValue(sp) : 0;
  if (CONTEXT_FIXED_SIZE + stackp >= mem.slotCount(sender)) throw new MembraneError("failedPrecondition", "the sender's stack is full");
  killAbove(vm, proc, ctx, true);
  mem.storePointer(sender, CONTEXT_FIXED_SIZE + stackp, value);
  mem.storePointer(sender, ContextLayout.stackp, smallIntOop(stackp + 1));
  makeTop(vm, proc, sender);
}

export { schedulerOf, ProcessorSchedulerLayout };
