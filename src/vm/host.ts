/**
 * Host services reach the VM only through these small interfaces (design.md section 6): the VM core
 * imports no Node module that touches the outside world. The hypervisor, the CLI and tests provide them,
 * and that is where per-image accounting and limits apply.
 */

export interface Clock {
  /** monotonic milliseconds (fractions allowed); the VM's millisecond clock counts from its first reading */
  now(): number;
  /** microseconds since 1970-01-01 UTC */
  utcMicroseconds(): bigint;
  /** offset of local time from UTC in seconds */
  localOffsetSeconds(): number;
}

/** Where Transcript output goes. */
export interface Console {
  write(text: string): void;
}

/**
 * Method sources: the kernel's .st files (the sources file) and the image's .changes file.
 * Positions are byte offsets into those files.
 */
export interface SourceStore {
  read(file: number, position: number): string | undefined;
  /** appends a chunk to the changes file before the change takes effect; answers where its source starts */
  appendChange(chunk: ChangeRecord): { file: number; position: number } | undefined;
}

export type ChangeRecord =
  | { kind: "method"; className: string; classSide: boolean; category: string; source: string }
  | { kind: "removeMethod"; className: string; classSide: boolean; selector: string }
  | { kind: "classDefinition"; source: string }
  | { kind: "doit"; source: string };

/** Writes a snapshot; answers an error message on failure. */
export interface SnapshotSink {
  save(image: Uint8Array): string | undefined;
}

export interface VMHost {
  clock: Clock;
  console: Console;
  sources?: SourceStore;
  snapshots?: SnapshotSink;
}

export function systemClock(): Clock {
  const origin = performance.timeOrigin;
  return {
    now: () => performance.now(),
    utcMicroseconds: () => BigInt(Math.round((origin + performance.now()) * 1000)),
    localOffsetSeconds: () => -new Date().getTimezoneOffset() * 60,
  };
}

/** A host for tests and tools: system clock, Transcript collected in memory. */
export function memoryHost(): VMHost & { output: string[] } {
  const output: string[] = [];
  return { clock: systemClock(), console: { write: (t) => void output.push(t) }, output };
}
