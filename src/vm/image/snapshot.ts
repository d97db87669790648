/**
 * Snapshots of a running VM: the active process's context is recorded in the process (where an image
 * resumes from), the heap is collected and written. The VM keeps running afterwards.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import { activeProcess } from "../interpreter/scheduler.js";
import { ProcessLayout } from "../memory/layout.js";
import { writeImage } from "./imageFile.js";

export function snapshotImage(vm: Interpreter): Uint8Array {
  vm.collect(true);
  const mem = vm.mem;
  const proc = activeProcess(vm);
  const recordContext = proc !== 0 && vm.activeContext !== 0;
  if (recordContext) {
    vm.storeContextRegisters();
    mem.storePointer(proc, ProcessLayout.suspendedContext, vm.activeContext);
  }
  try {
    return writeImage(mem);
  } finally {
    if (recordContext) mem.storePointer(proc, ProcessLayout.suspendedContext, mem.nilOop);
  }
}
