/**
 * Green processes, as Squeak schedules them: the ProcessorScheduler (the value of the special objects
 * array's scheduler association) has one LinkedList of runnable processes per priority and an active
 * process. The highest priority runnable process runs; a process made runnable at a higher priority
 * preempts the active one, which goes back to the front of its list (Pharo's "preemption does not
 * yield"); a process of equal or lower priority waits at the back of its list.
 *
 * When no process at all can run (every one waits on a semaphore), the VM keeps no active context and the
 * slice ends idle; a timer or a host signal that makes a process runnable resumes it.
 *
 * Worked example: the active process (priority 40) does `sem wait` with no excess signals. It is added to
 * the semaphore's list, the highest runnable process (say the idle process, priority 10) is removed from
 * its run queue and becomes active. Later the timer signals `sem`: the waiting process is removed from
 * the semaphore and, being above 10, preempts the idle process.
 */
import type { Interpreter } from "./interpreter.js";
import { Special } from "../memory/special.js";
import { LinkedListLayout, ProcessLayout, ProcessorSchedulerLayout, SemaphoreLayout } from "../memory/layout.js";
import type { Oop } from "../memory/oop.js";
import { Format } from "../memory/format.js";

export function schedulerOf(vm: Interpreter): Oop {
  const mem = vm.mem;
  const assoc = mem.specialObject(Special.schedulerAssociation);
  if ((assoc & 3) !== 0 || assoc === mem.nilOop || assoc === 0) return 0;
  const sched = mem.fetchPointer(assoc, 1);
  return (sched & 3) === 0 && sched !== mem.nilOop ? sched : 0;
}

/** The active process, or 0 when there is none. */
export function activeProcess(vm: Interpreter): Oop {
  const sched = schedulerOf(vm);
  if (sched === 0) return 0;
  const proc = vm.mem.fetchPointer(sched, ProcessorSchedulerLayout.activeProcess);
  return proc === vm.mem.nilOop ? 0 : proc;
}

export function priorityOf(vm: Interpreter, proc: Oop): number {
  return vm.mem.fetchPointer(proc, ProcessLayout.priority) >> 1;
}

// ---------------------------------------------------------------- linked lists

export function isEmptyList(vm: Interpreter, list: Oop): boolean {
  return vm.mem.fetchPointer(list, LinkedListLayout.firstLink) === vm.mem.nilOop;
}

export function addLastLink(vm: Interpreter, link: Oop, list: Oop): void {
  const mem = vm.mem;
  const nil = mem.nilOop;
  const last = mem.fetchPointer(list, LinkedListLayout.lastLink);
  if (last === nil) mem.storePointer(list, LinkedListLayout.firstLink, link);
  else mem.storePointer(last, ProcessLayout.nextLink, link);
  mem.storePointer(list, LinkedListLayout.lastLink, link);
  mem.storePointer(link, ProcessLayout.nextLink, nil);
  mem.storePointer(link, ProcessLayout.myList, list);
}

export function addFirstLink(vm: Interpreter, link: Oop, list: Oop): void {
  const mem = vm.mem;
  const first = mem.fetchPointer(list, LinkedListLayout.firstLink);
  if (first === mem.nilOop) mem.storePointer(list, LinkedListLayout.lastLink, link);
  mem.storePointer(link, ProcessLayout.nextLink, first);
  mem.storePointer(list, LinkedListLayout.firstLink, link);
  mem.storePointer(link, ProcessLayout.myList, list);
}

export function removeFirstLink(vm: Interpreter, list: Oop): Oop {
  const mem = vm.mem;
  const nil = mem.nilOop;
  const first = mem.fetchPointer(list, LinkedListLayout.firstLink);
  const last = mem.fetchPointer(list, LinkedListLayout.lastLink);
  if (first === last) {
    mem.storePointer(list, LinkedListLayout.firstLink, nil);
    mem.storePointer(list, LinkedListLayout.lastLink, nil);
  } else {
    mem.storePointer(list, LinkedListLayout.firstLink, mem.fetchPointer(first, ProcessLayout.nextLink));
  }
  mem.storePointer(first, ProcessLayout.nextLink, nil);
  mem.storePointer(first, ProcessLayout.myList, nil);
  return first;
}

/** Removes `link` from `list`; answers false if it was not there. */
export function removeLink(vm: Interpreter, link: Oop, list: Oop): boolean {
  const mem = vm.mem;
  const nil = mem.nilOop;
  let prev = nil;
  let cur = mem.fetchPointer(list, LinkedListLayout.firstLink);
  let guard = 0;
  while (cur !== nil && cur !== link) {
    if (++guard > 10_000_000) return false;
    prev = cur;
    cur = mem.fetchPointer(cur, ProcessLayout.nextLink);
  }
  if (cur === nil) return false;
  const next = mem.fetchPointer(link, ProcessLayout.nextLink);
  if (prev === nil) mem.storePointer(list, LinkedListLayout.firstLink, next);
  else mem.storePointer(prev, ProcessLayout.nextLink, next);
  if (mem.fetchPointer(list, LinkedListLayout.lastLink) === link) mem.storePointer(list, LinkedListLayout.lastLink, prev);
  mem.storePointer(link, ProcessLayout.nextLink, nil);
  mem.storePointer(link, ProcessLayout.myList, nil);
  return true;
}

// ---------------------------------------------------------------- scheduling

function runQueue(vm: Interpreter, priority: number): Oop {
  const lists = vm.mem.fetchPointer(schedulerOf(vm), ProcessorSchedulerLayout.quiescentProcessLists);
  const n = vm.mem.slotCount(lists);
  return vm.mem.fetchPointer(lists, Math.max(0, Math.min(n, priority) - 1));
}

/** Makes `proc` runnable without running it. */
export function putToSleep(vm: Interpreter, proc: Oop, front = false): void {
  const list = runQueue(vm, priorityOf(vm, proc));
  if (front) addFirstLink(vm, proc, list);
  else addLastLink(vm, proc, list);
}

/** Removes and answers the highest priority runnable process, or 0. */
export function wakeHighestPriority(vm: Interpreter): Oop {
  const mem = vm.mem;
  const sched = schedulerOf(vm);
  if (sched === 0) return 0;
  const lists = mem.fetchPointer(sched, ProcessorSchedulerLayout.quiescentProcessLists);
  for (let p = mem.slotCount(lists) - 1; p >= 0; p--) {
    const list = mem.fetchPointer(lists, p);
    if (!isEmptyList(vm, list)) return removeFirstLink(vm, list);
  }
  return 0;
}

/** Saves the active process's state and runs `proc` (which must not be on any list). */
export function transferTo(vm: Interpreter, proc: Oop): void {
  const mem = vm.mem;
  const nil = mem.nilOop;
  const sched = schedulerOf(vm);
  const old = mem.fetchPointer(sched, ProcessorSchedulerLayout.activeProcess);
  if (vm.activeContext !== 0 && old !== nil) {
    vm.storeContextRegisters();
    mem.storePointer(old, ProcessLayout.suspendedContext, vm.activeContext);
  }
  mem.storePointer(sched, ProcessorSchedulerLayout.activeProcess, proc);
  mem.storePointer(proc, ProcessLayout.myList, nil);
  const ctx = mem.fetchPointer(proc, ProcessLayout.suspendedContext);
  mem.storePointer(proc, ProcessLayout.suspendedContext, nil);
  vm.reclaimableContexts = 0;
  vm.processSwitches++;
  if ((ctx & 3) !== 0 || ctx === nil || !vm.fetchContextRegisters(ctx)) {
    vm.activeContext = 0;
    vm.stop("fault", {
      kind: "badContext",
      message: "a process was resumed whose context cannot run (it has terminated or its context is dead)",
      process: mem.newHandle(proc),
    });
  }
}

/** No process can run: keep the active one's state and run nothing until something becomes runnable. */
export function idleWithoutProcess(vm: Interpreter): void {
  const mem = vm.mem;
  const sched = schedulerOf(vm);
  const old = mem.fetchPointer(sched, ProcessorSchedulerLayout.activeProcess);
  if (vm.activeContext !== 0 && old !== mem.nilOop) {
    vm.storeContextRegisters();
    mem.storePointer(old, ProcessLayout.suspendedContext, vm.activeContext);
  }
  mem.storePointer(sched, ProcessorSchedulerLayout.activeProcess, mem.nilOop);
  vm.activeContext = 0;
  vm.reclaimableContexts = 0;
}

/** Runs the next runnable process after the active one stopped being runnable. */
export function switchToNext(vm: Interpreter): void {
  const next = wakeHighestPriority(vm);
  if (next !== 0) transferTo(vm, next);
  else idleWithoutProcess(vm);
}

/** Makes `proc` runnable; answers true if it preempted the active process. */
export function resumeProcess(vm: Interpreter, proc: Oop): boolean {
  const active = activeProcess(vm);
  if (vm.activeContext === 0 || active === 0) {
    transferTo(vm, proc);
    return true;
  }
  if (priorityOf(vm, proc) > priorityOf(vm, active)) {
    vm.storeContextRegisters();
    putToSleep(vm, active, true);
    transferTo(vm, proc);
    return true;
  }
  putToSleep(vm, proc);
  return false;
}

/**
 * Whether `oop` is a pointer object with at least `minSlots` slots whose class is the special class
 * `special` (Semaphore, Process) or inherits from it: what the scheduler may take apart as one.
 */
export function isKindOfSpecialClass(vm: Interpreter, oop: Oop, special: number, minSlots: number): boolean {
  const mem = vm.mem;
  if ((oop & 3) !== 0 || oop === 0 || oop === mem.nilOop) return false;
  if (mem.formatOf(oop) > Format.weak || mem.slotCount(oop) < minSlots) return false;
  const target = mem.specialObject(special);
  let cls = mem.classOfPointer(oop);
  for (let guard = 0; cls !== mem.nilOop && cls !== 0 && guard < 1000; guard++) {
    if (cls === target) return true;
    cls = mem.fetchPointer(cls, 0);
  }
  return false;
}

export function isSemaphoreObject(vm: Interpreter, oop: Oop): boolean {
  return isKindOfSpecialClass(vm, oop, Special.classSemaphore, 3);
}

/**
 * Semaphore>>signal: wakes the first waiting process, or counts an excess signal. Anything but a
 * Semaphore (a special object the image set to something else, a host signal on a semaphore that became
 * another object) is ignored rather than written into.
 */
export function signalSemaphore(vm: Interpreter, sem: Oop): boolean {
  const mem = vm.mem;
  if (!isSemaphoreObject(vm, sem)) return false;
  if (isEmptyList(vm, sem)) {
    const excess = mem.fetchPointer(sem, SemaphoreLayout.excessSignals);
    mem.storePointer(sem, SemaphoreLayout.excessSignals, (((excess & 1) === 1 ? excess >> 1 : 0) + 1) * 2 + 1);
    return false;
  }
  return resumeProcess(vm, removeFirstLink(vm, sem));
}

/** Semaphore>>wait for the active process. */
export function waitOnSemaphore(vm: Interpreter, sem: Oop): void {
  const mem = vm.mem;
  const excess = mem.fetchPointer(sem, SemaphoreLayout.excessSignals);
  const n = (excess & 1) === 1 ? excess >> 1 : 0;
  if (n > 0) {
    mem.storePointer(sem, SemaphoreLayout.excessSignals, ((n - 1) << 1) | 1);
    return;
  }
  const active = activeProcess(vm);
  vm.storeContextRegisters();
  addLastLink(vm, active, sem);
  switchToNext(vm);
}

/** Process>>suspend. Answers the list the process was on (nil for the active process or one on no list). */
export function suspendProcess(vm: Interpreter, proc: Oop): Oop {
  const mem = vm.mem;
  const nil = mem.nilOop;
  if (proc === activeProcess(vm)) {
    vm.storeContextRegisters();
    switchToNext(vm);
    return nil;
  }
  const list = mem.fetchPointer(proc, ProcessLayout.myList);
  if (list === nil || (list & 3) !== 0) return nil;
  removeLink(vm, proc, list);
  return list;
}

/** Processor yield: let the other runnable processes of the same priority run first. */
export function yieldProcessor(vm: Interpreter): void {
  const active = activeProcess(vm);
  if (active === 0) return;
  const list = runQueue(vm, priorityOf(vm, active));
  if (isEmptyList(vm, list)) return;
  vm.storeContextRegisters();
  putToSleep(vm, active);
  transferTo(vm, wakeHighestPriority(vm));
}

/** Every process reachable from the scheduler: active, runnable, and waiting on the semaphores it finds. */
export function runnableProcesses(vm: Interpreter): Oop[] {
  const mem = vm.mem;
  const out: Oop[] = [];
  const sched = schedulerOf(vm);
  if (sched === 0) return out;
  const lists = mem.fetchPointer(sched, ProcessorSchedulerLayout.quiescentProcessLists);
  for (let p = mem.slotCount(lists) - 1; p >= 0; p--) {
    let link = mem.fetchPointer(mem.fetchPointer(lists, p), LinkedListLayout.firstLink);
    let guard = 0;
    while (link !== mem.nilOop && guard++ < 1_000_000) {
      out.push(link);
      link = mem.fetchPointer(link, ProcessLayout.nextLink);
    }
  }
  return out;
}
