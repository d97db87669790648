/**
 * Interrupt checks, made on sends and backward jumps when `interruptCounter` runs out (design.md
 * section 4). A check may collect garbage, stop the slice (budget spent, heartbeat flag set, host interrupt), fire the timer,
 * deliver semaphore signals posted by the host, and wake the finalization and low-space processes.
 *
 * The instruction that triggered the check has not run yet: if the check switches to another process or
 * stops the slice, the active context is saved with its pc at that instruction, so it runs when the
 * process resumes.
 */
import type { Interpreter } from "./interpreter.js";
import { Special } from "../memory/special.js";
import { collectGarbage, collectionNeeded } from "./collect.js";
import { activeProcess, signalSemaphore } from "./scheduler.js";

/** Answers true when the interrupted instruction must not run now (the slice stops or another process runs). */
export function checkForInterrupts(vm: Interpreter, startIp: number): boolean {
  vm.interruptCounter = vm.stressGC ? 1 : vm.interruptInterval;
  const hasContext = vm.activeContext !== 0;
  const resumeOffset = vm.ip - vm.method;
  const startOffset = startIp - vm.method;
  if (hasContext) vm.ip = startIp;

  const needed = vm.stressGC ? (++vm.stressCount % 64 === 0 ? "full" : "young") : collectionNeeded(vm);
  if (needed !== null) {
    collectGarbage(vm, needed === "full");
    if (hasContext) vm.ip = vm.method + startOffset;
  }
  if (vm.interruptRequested) {
    vm.interruptRequested = false;
    vm.stop("interrupted");
    return true;
  }
  if (vm.stopReason !== null) return true;
  if (Atomics.load(vm.heartbeatFlag, 0) !== 0 || vm.host.clock.now() >= vm.sliceDeadline) {
    Atomics.store(vm.heartbeatFlag, 0, 0);
    vm.stop("budget");
    return true;
  }

  const before = vm.activeContext;
  if (vm.nextWakeupMs !== 0 && vm.msClock() >= vm.nextWakeupMs) {
    vm.nextWakeupMs = 0;
    signalSemaphore(vm, vm.mem.specialObject(Special.timerSemaphore));
  }
  if (vm.pendingSignals.length > 0) {
    const pending = vm.pendingSignals.splice(0);
    for (const handle of pending) {
      signalSemaphore(vm, handle.oop);
      vm.mem.releaseHandle(handle);
    }
  }
  if (vm.finalizationPending) {
    vm.finalizationPending = false;
    signalSemaphore(vm, vm.mem.specialObject(Special.finalizationSemaphore));
  }
  if (vm.lowSpacePending) {
    vm.lowSpacePending = false;
    vm.mem.setSpecialObject(Special.processSignalingLowSpace, activeProcess(vm) || vm.mem.nilOop);
    signalSemaphore(vm, vm.mem.specialObject(Special.lowSpaceSemaphore));
  }
  if (vm.activeContext !== before || !hasContext) return true;
  vm.ip = vm.method + resumeOffset;
  return false;
}

/** After a backward jump (ip already at its target). */
export function jumpBackward(vm: Interpreter): void {
  if (--vm.interruptCounter <= 0) checkForInterrupts(vm, vm.ip);
}
