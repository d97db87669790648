/**
 * Process and semaphore primitives (Squeak numbers 85-88, 167, 230). They push their result before
 * switching, so that the process finds it on its stack when it runs again.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import { Special } from "../memory/special.js";
import { ProcessLayout } from "../memory/layout.js";
import type { Oop } from "../memory/oop.js";
import {
  activeProcess, isKindOfSpecialClass, isSemaphoreObject, resumeProcess, signalSemaphore, suspendProcess, waitOnSemaphore,
  yieldProcessor,
} from "../interpreter/scheduler.js";
import { PrimErr } from "./errors.js";

const isSemaphore = isSemaphoreObject;
const isProcess = (vm: Interpreter, oop: Oop) => isKindOfSpecialClass(vm, oop, Special.classProcess, 4);

/**
 * Whether a process's suspended context can run: a Context whose pc and stack pointer are set. A dead
 * context (pc nil, as a context that returned leaves it) is what the image calls terminated.
 */
function isRunnableContext(vm: Interpreter, ctx: Oop): boolean {
  const mem = vm.mem;
  if ((ctx & 3) !== 0 || ctx === mem.nilOop) return false;
  if (mem.classOfPointer(ctx) !== mem.specialObject(Special.classMethodContext)) return false;
  return (mem.fetchPointer(ctx, 1) & 1) === 1 && (mem.fetchPointer(ctx, 2) & 1) === 1;
}

/** 85: Semaphore>>signal */
function primitiveSignal(vm: Interpreter, argCount: number): boolean {
  const sem = vm.stackValue(0);
  if (argCount !== 0 || !isSemaphore(vm, sem)) return vm.failWith(PrimErr.badReceiver);
  signalSemaphore(vm, sem);
  return true;
}

/** 86: Semaphore>>wait */
function primitiveWait(vm: Interpreter, argCount: number): boolean {
  const sem = vm.stackValue(0);
  if (argCount !== 0 || !isSemaphore(vm, sem)) return vm.failWith(PrimErr.badReceiver);
  if (activeProcess(vm) === 0) return vm.failWith(PrimErr.inappropriate);
  waitOnSemaphore(vm, sem);
  return true;
}

/**
 * 87: Process>>resume — fails for the active process, a terminated one (no context, or a dead one), or one
 * already on a list.
 */
function primitiveResume(vm: Interpreter, argCount: number): boolean {
  const mem = vm.mem;
  const proc = vm.stackValue(0);
  if (argCount !== 0 || !isProcess(vm, proc)) return vm.failWith(PrimErr.badReceiver);
  if (proc === activeProcess(vm)) return vm.failWith(PrimErr.inappropriate);
  const ctx = mem.fetchPointer(proc, ProcessLayout.suspendedContext);
  if (!isRunnableContext(vm, ctx)) return vm.failWith(PrimErr.inappropriate);
  if (mem.fetchPointer(proc, ProcessLayout.myList) !== mem.nilOop) return vm.failWith(PrimErr.inappropriate);
  resumeProcess(vm, proc);
  return true;
}

/** 88: Process>>suspend — answers the list the process was waiting on (nil if none, or if it was running). */
function primitiveSuspend(vm: Interpreter, argCount: number): boolean {
  const proc = vm.stackValue(0);
  if (argCount !== 0 || !isProcess(vm, proc)) return vm.failWith(PrimErr.badReceiver);
  if (proc === activeProcess(vm)) {
    vm.popThenPush(1, vm.mem.nilOop);
    suspendProcess(vm, proc);
    return true;
  }
  vm.popThenPush(1, suspendProcess(vm, proc));
  return true;
}

/** 167: ProcessorScheduler>>yield */
function primitiveYield(vm: Interpreter, argCount: number): boolean {
  if (argCount !== 0) return vm.failWith(PrimErr.badNumArgs);
  yieldProcessor(vm);
  return true;
}

/**
 * 230: ProcessorScheduler>>relinquishProcessorForMicroseconds: — the idle process has nothing to do.
 * The slice ends idle (unless a timer or host signal is already due), telling the host when to wake it.
 */
function primitiveRelinquishProcessor(vm: Interpreter, argCount: number): boolean {
  vm.pop(argCount);
  const due = vm.pendingSignals.length > 0 || vm.finalizationPending || (vm.nextWakeupMs !== 0 && vm.msClock() >= vm.nextWakeupMs);
  if (due) {
    vm.interruptCounter = 0;
    return true;
  }
  vm.wakeAt = vm.nextWakeupMs !== 0 ? vm.nextWakeupMs : undefined;
  vm.stop("idle");
  return true;
}

export const processPrimitives: Record<number, PrimitiveFn> = {
  85: primitiveSignal,
  86: primitiveWait,
  87: primitiveResume,
  88: primitiveSuspend,
  167: primitiveYield,
  230: primitiveRelinquishProcessor,
};
