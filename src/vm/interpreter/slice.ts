/**
 * What a slice of execution answers (design.md section 4): why it stopped and what it did.
 */
import type { Handle } from "../memory/heap.js";

export type StopReason =
  /** the time or bytecode budget was spent; the image is runnable */
  | "budget"
  /** no process wants to run (only the idle process, or none); see `wakeAt` */
  | "idle"
  /** the host asked the image to stop (it stays exactly as it was, paper section 5.2) */
  | "interrupted"
  /** the image cannot go on: see `fault` */
  | "fault"
  /** the image asked to quit */
  | "quit";

export type FaultKind =
  | "unhandledError"
  | "outOfMemory"
  | "recursiveDoesNotUnderstand"
  | "cannotReturn"
  | "badContext"
  | "noProcess"
  | "vmError";

export interface Fault {
  kind: FaultKind;
  message: string;
  /** the process that was running */
  process?: Handle;
  /** the exception or offending object, when there is one */
  object?: Handle;
}

export interface SliceBudget {
  /** stop after about this many milliseconds */
  ms?: number;
  /** stop after this many bytecodes */
  bytecodes?: number;
}

export interface SliceResult {
  reason: StopReason;
  bytecodes: number;
  sends: number;
  elapsedMs: number;
  /** when idle: the VM clock time (ms) at which a timer fires, if any */
  wakeAt?: number;
  fault?: Fault;
}
