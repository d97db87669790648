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
  /** TCP sockets (the SocketPlugin); absent: the guest has no network */
  sockets?: SocketAdapter;
  /** a file sandbox (the FilePlugin); absent: the guest has no files */
  files?: FileAdapter;
  /**
   * Called after a plugin posted a semaphore signal for a host event (data arrived, a file request
   * finished): the hypervisor runs the guest if it was idle.
   */
  wake?: () => void;
}

// ---------------------------------------------------------------- resources: sockets and files
//
// The plugins (primitives/socket.ts, primitives/file.ts) translate between the guest's objects and these
// adapters; the hypervisor's resource accounts implement them over Node's `net` and `fs`, applying the
// per-guest quotas, the daemon-wide limits and the file sandbox (docs/resources.md). Adapters never see
// an oop: a handle is a small integer the adapter chooses, and events reach the guest through
// `HandleEvents`, which the plugin implements by signalling a Smalltalk semaphore.

/** Why a host service refused or failed an operation; the plugins turn it into a Smalltalk error. */
export type HostErrorKind =
  /** the guest's own quota (sockets, open files, bytes in its sandbox) */
  | "quotaExceeded"
  /** a daemon-wide limit (all guests together) */
  | "limitExceeded"
  /** outside the sandbox: an absolute path, `..`, a symbolic link, a forbidden address */
  | "accessDenied"
  | "notFound"
  | "exists"
  /** a bad argument, or an operation the handle's state does not allow */
  | "invalid"
  /** the handle was closed or destroyed (or belongs to an earlier run of the image) */
  | "closed"
  /** the host provides no such service */
  | "unavailable"
  /** the operating system refused (connection refused, address in use, I/O error): see the message */
  | "io";

export class HostError extends Error {
  constructor(
    readonly kind: HostErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "HostError";
  }
}

/** How an adapter reaches the guest about one handle. */
export interface HandleEvents {
  /** something happened (connected, data, closed, error, room to send, a connection to accept) */
  signal(): void;
  /** the adapter forgot the handle and will not signal again */
  released(): void;
}

/** Socket states, numbered as Pharo's Socket status codes. */
export const SocketStatus = {
  invalid: -1,
  unconnected: 0,
  /** connecting, or listening */
  waitingForConnection: 1,
  connected: 2,
  otherEndClosed: 3,
  thisEndClosed: 4,
} as const;

export interface SocketInfo {
  /** a SocketStatus value */
  status: number;
  /** the last error (connection refused, address in use...), if any */
  error?: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** bytes received and not yet read */
  available: number;
  /** whether send would accept bytes now */
  canSend: boolean;
  /** for a listening socket: connections waiting to be accepted */
  pendingAccepts: number;
}

/**
 * TCP sockets. Every method is synchronous and never blocks: it starts the I/O and answers at once;
 * progress is reported through the handle's events. Failures throw HostError.
 */
export interface SocketAdapter {
  /** a new, unconnected TCP socket (it counts against the quotas from now on) */
  create(events: HandleEvents): number;
  connect(id: number, host: string, port: number): void;
  /** listen on `port` (0: any free port) of `address` (default: the loopback interface) */
  listen(id: number, port: number, backlog: number, address?: string): void;
  /** a connection waiting on listening socket `id`, as a new socket; undefined when none waits */
  accept(id: number, events: HandleEvents): number | undefined;
  info(id: number): SocketInfo;
  /** queues bytes to send; answers how many were taken (0 when the send buffer is full: wait) */
  send(id: number, data: Uint8Array): number;
  /** at most `max` received bytes (none when nothing is buffered) */
  receive(id: number, max: number): Uint8Array;
  /** closes gracefully: sends what is queued, then the end of the stream; data received can still be read */
  close(id: number): void;
  /** aborts the connection and forgets the handle */
  destroy(id: number): void;
  /** the guest object that held `id` was garbage collected (the host's finalization backstop) */
  ownerCollected(id: number): void;
}

export type FileMode =
  /** an existing file, for reading */
  | "read"
  /** created or truncated, for writing */
  | "write"
  /** created if missing, every write at the end */
  | "append"
  /** created if missing, not truncated, reading and writing at any position */
  | "readWrite";

export interface FileEntry {
  name: string;
  isDirectory: boolean;
  size: number;
  /** modification time, milliseconds since 1970 */
  modifiedMs: number;
}

/**
 * Files in the guest's sandbox. Paths are relative to the sandbox, with `/` between names; `..`,
 * absolute paths and symbolic links are refused (accessDenied). Operations are asynchronous; a
 * quota or limit refusal is thrown synchronously (HostError), before any I/O starts.
 */
export interface FileAdapter {
  /** opens a file; `released` runs when the adapter forgets the id (closed by the guest, the backstop or a release) */
  open(path: string, mode: FileMode, released?: () => void): Promise<number>;
  /** up to `max` bytes at `position` (fewer at the end of the file, none past it) */
  read(id: number, position: number, max: number): Promise<Uint8Array>;
  /** writes all of `data` at `position` (at the end in append mode); answers the file's size afterwards */
  write(id: number, position: number, data: Uint8Array): Promise<number>;
  truncate(id: number, size: number): Promise<void>;
  size(id: number): Promise<number>;
  close(id: number): Promise<void>;
  /** the guest object that held `id` was garbage collected (the host's finalization backstop) */
  ownerCollected(id: number): void;
  /** the entry at `path`, or undefined when there is none */
  stat(path: string): Promise<FileEntry | undefined>;
  delete(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  createDirectory(path: string): Promise<void>;
  deleteDirectory(path: string): Promise<void>;
  /** the entries of a directory ("" is the sandbox itself), sorted by name */
  entries(path: string): Promise<FileEntry[]>;
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
