/**
 * Collections seen from the interpreter: registers are written back into the active context before the
 * collector moves objects and read again afterwards; caches keyed by oops are flushed; cleared weak slots
 * wake the image's finalization process; low space wakes its low-space watcher.
 */
import type { Interpreter } from "./interpreter.js";
import type { GcResult } from "../memory/gc.js";
import { Special } from "../memory/special.js";

export function collectGarbage(vm: Interpreter, full: boolean): GcResult {
  vm.storeContextRegisters();
  vm.freeSmallContexts.length = 0;
  vm.freeLargeContexts.length = 0;
  vm.reclaimableContexts = 0;
  const result = vm.collector.collect(full);
  vm.methodCache.flush();
  vm.primitives.namedCache.clear();
  vm.refreshCachedOops();
  if (vm.activeContext !== 0) vm.fetchContextRegisters(vm.activeContext);
  if (full) vm.oldBytesAfterFullGC = vm.mem.bytesUsed();
  if (result.weakCleared > 0) {
    vm.finalizationPending = true;
    vm.interruptCounter = 0;
  }
  checkLowSpace(vm);
  for (const listener of vm.gcListeners) listener(result);
  return result;
}

/** Signals the low-space semaphore once when free memory under the limit drops below the threshold. */
export function checkLowSpace(vm: Interpreter): void {
  const free = vm.mem.limitBytes - vm.mem.bytesUsed();
  if (free < vm.lowSpaceThreshold) {
    if (!vm.lowSpaceSignalled) {
      vm.lowSpaceSignalled = true;
      vm.lowSpacePending = true;
      vm.interruptCounter = 0;
    }
  } else if (free > vm.lowSpaceThreshold * 2) {
    vm.lowSpaceSignalled = false;
  }
}

/** Whether the nursery is full or the old space grew enough to deserve a full collection. */
/**
 * Which collection, if any, the interrupt check should run: a young one when the nursery is full; a full
 * one when the old space has doubled since the last full collection, or when free space is under the
 * low-space threshold and the image has allocated a good deal since the last full collection (once a
 * full collection could not free enough, repeating it at every check would only burn time: the
 * low-space semaphore has been signalled and the hard limit will stop the image if nobody reacts).
 */
export function collectionNeeded(vm: Interpreter): "young" | "full" | null {
  const mem = vm.mem;
  const used = mem.bytesUsed();
  const progress = Math.max(64 * 1024, Math.min(mem.nurseryBytes, vm.lowSpaceThreshold >> 2));
  if (mem.limitBytes - used < vm.lowSpaceThreshold && used > vm.oldBytesAfterFullGC + progress) return "full";
  if (used > vm.oldBytesAfterFullGC * 2 + 8 * 1024 * 1024) return "full";
  if (mem.freeStart - mem.youngStart > mem.nurseryBytes) return "young";
  return null;
}

export { Special };
