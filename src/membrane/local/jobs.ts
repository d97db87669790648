/**
 * Running host code in the guest (the paper's section 3.5): the host compiles an expression, creates the
 * method and a process for it inside the guest, lets the guest run, and reads the result from the
 * process. Such processes are "host jobs": when their bottom context returns, the VM hands the result to
 * the job and the process ends; when they fail with an unhandled error, the VM stops with that process
 * intact.
 */
import type { Interpreter, HostJob } from "../../vm/interpreter/interpreter.js";
import type { Handle } from "../../vm/memory/heap.js";
import type { Oop } from "../../vm/memory/oop.js";
import type { SliceResult } from "../../vm/interpreter/slice.js";

export class Job implements HostJob {
  done = false;
  result: Handle | undefined;
  constructor(
    private readonly vm: Interpreter,
    readonly process: Handle,
  ) {
    vm.hostJobs.add(this);
  }

  finish(result: Oop): void {
    this.done = true;
    this.result = this.vm.mem.newHandle(result);
    this.vm.hostJobs.delete(this);
    this.vm.stop("budget");
  }

  cancel(): void {
    this.vm.hostJobs.delete(this);
  }
}

export type JobOutcome =
  | { state: "finished"; result: Handle }
  | { state: "failed"; error: Handle; description: string }
  | { state: "budgetExhausted" }
  | { state: "idle" }
  | { state: "interrupted" }
  | { state: "crashed"; description: string; slice: SliceResult };

export interface JobBudget {
  ms?: number;
  bytecodes?: number;
  /** slice by bytecodes instead of time, so that runs are reproducible (the bootstrap) */
  deterministic?: boolean;
}

const SLICE_MS = 20;

function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(ms, 1000))));
}

/** Runs slices until the job's process finishes, fails, or the budget is spent. */
export async function runJob(vm: Interpreter, job: Job, budget: JobBudget = {}): Promise<JobOutcome> {
  const start = vm.host.clock.now();
  let bytecodes = 0;
  for (;;) {
    if (job.done) return { state: "finished", result: job.result! };
    const elapsed = vm.host.clock.now() - start;
    if ((budget.ms !== undefined && elapsed >= budget.ms) || (budget.bytecodes !== undefined && bytecodes >= budget.bytecodes)) {
      return { state: "budgetExhausted" };
    }
    const sliceMs = budget.deterministic ? undefined : budget.ms === undefined ? SLICE_MS : Math.max(1, Math.min(SLICE_MS, budget.ms - elapsed));
    const remaining = budget.bytecodes === undefined ? Infinity : budget.bytecodes - bytecodes;
    const slice = vm.run({ ms: sliceMs, bytecodes: budget.deterministic ? Math.min(remaining, 50_000_000) : budget.bytecodes === undefined ? undefined : remaining });
    bytecodes += slice.bytecodes;
    if (job.done) return { state: "finished", result: job.result! };
    switch (slice.reason) {
      case "fault": {
        const fault = slice.fault!;
        const mine = fault.kind === "unhandledError" && fault.process?.oop === job.process.oop && fault.object !== undefined;
        if (fault.process) vm.mem.releaseHandle(fault.process);
        if (mine) return { state: "failed", error: fault.object!, description: fault.message };
        if (fault.object) vm.mem.releaseHandle(fault.object);
        return { state: "crashed", description: fault.message, slice };
      }
      case "quit":
        return { state: "crashed", description: "the image quit", slice };
      case "interrupted":
        return { state: "interrupted" };
      case "idle":
        if (slice.wakeAt === undefined) return { state: "idle" };
        await sleep(slice.wakeAt - vm.msClock());
        break;
      case "budget":
        await nextTick();
        break;
    }
  }
}
