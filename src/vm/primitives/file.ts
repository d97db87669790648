/**
 * The `FilePlugin` named-primitive module: files in the guest's sandbox over the host's FileAdapter
 * (host.ts). File I/O is asynchronous, so that a guest never blocks the daemon: every operation is a
 * request. Its primitive starts it and answers a request id; when it completes, the plugin signals the
 * semaphore given with it; the image then fetches the result (or the error). A refusal the adapter can
 * decide at once (a quota, a limit, a path outside the sandbox) fails the starting primitive itself.
 *
 * As for sockets, the plugin keeps the table of file ids this VM opened (others are refused) and watches
 * the object that owns each open file (the FileStream) with a WeakHandle, for the host's backstop.
 *
 * Smalltalk signatures (receiver first; ids are SmallIntegers):
 *
 *   aFileStream primOpen: path mode: modeString semaphore: s        -> request (result: the file id)
 *   x primFile: id readAt: position count: n semaphore: s           -> request (result: a ByteArray, empty at the end)
 *   x primFile: id writeAt: position from: bytes startIndex: i count: n semaphore: s -> request (result: the size after)
 *   x primFile: id truncateTo: size semaphore: s                    -> request (result: nil)
 *   x primFileSize: id semaphore: s                                 -> request (result: an Integer)
 *   x primFileClose: id semaphore: s                                -> request (result: nil); a nil semaphore: closed without an answer
 *   x primStat: path semaphore: s                                   -> request (result: #(name isDirectory size modifiedMs) or nil)
 *   x primDelete: path semaphore: s / primDeleteDirectory: / primCreateDirectory: -> request (result: nil)
 *   x primRename: from to: to semaphore: s                          -> request (result: nil)
 *   x primEntries: path semaphore: s                                -> request (result: an Array of #(name isDirectory size modifiedMs))
 *   x primRequestDone: requestId                                    -> Boolean
 *   x primRequestResult: requestId                                  -> the result; fails with the request's error. Either way the request is forgotten.
 *   x primitiveFileLastError                                        -> #(#kind 'message') or nil
 *   x primitiveFileAvailable                                        -> whether this host gives the guest files
 *
 * Positions are 0-based byte offsets.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import type { Handle } from "../memory/heap.js";
import type { WeakHandle } from "../memory/gc.js";
import type { Oop } from "../memory/oop.js";
import { HostError, type FileAdapter, type FileEntry, type FileMode } from "../host.js";
import { answer, answerBool, integerResult } from "./support.js";
import {
  copyBytes, failWith, failWithError, intArg, isSemaphore, lastErrorOop, newArray, newByteArray, newText, textArg, unwatch, watchOwner,
  type LastError,
} from "./hostio.js";

/** Requests started and not yet fetched, per VM: a guest that never fetches cannot pile them up. */
export const MAX_PENDING_FILE_REQUESTS = 256;

type FileValue = undefined | number | Uint8Array | FileEntry | FileEntry[] | { entryOrNil: FileEntry | undefined };

interface FileRequest {
  done: boolean;
  value?: FileValue;
  error?: HostError;
  semaphore: Handle;
}

interface FileRecord {
  owner: WeakHandle | undefined;
  ownerDead: boolean;
  released: boolean;
}

interface FilePluginState {
  requests: Map<number, FileRequest>;
  nextRequest: number;
  files: Map<number, FileRecord>;
  lastError: LastError | undefined;
}

const states = new WeakMap<Interpreter, FilePluginState>();

function stateOf(vm: Interpreter): FilePluginState {
  let state = states.get(vm);
  if (!state) {
    state = { requests: new Map(), nextRequest: 1, files: new Map(), lastError: undefined };
    states.set(vm, state);
  }
  return state;
}

const MODES: Record<string, FileMode> = { read: "read", write: "write", append: "append", readWrite: "readWrite" };

function asHostError(e: unknown): HostError {
  return e instanceof HostError ? e : new HostError("io", e instanceof Error ? e.message : String(e));
}

/**
 * Starts a request: `start` calls the adapter (a synchronous throw fails the primitive at once); the
 * promise's outcome is kept for primRequestResult: and the semaphore (the last argument) signalled.
 */
function request(vm: Interpreter, argCount: number, start: (adapter: FileAdapter, state: FilePluginState) => Promise<FileValue> | false): boolean {
  const state = stateOf(vm);
  const adapter = vm.host.files;
  if (!adapter) return failWith(vm, state, "unavailable", "this host gives the image no files");
  const semaphore = vm.stackValue(0);
  if (!isSemaphore(vm, semaphore)) return failWith(vm, state, "invalid", "a file request needs a Semaphore");
  if (state.requests.size >= MAX_PENDING_FILE_REQUESTS) {
    return failWith(vm, state, "quotaExceeded", `too many file requests not yet answered (${MAX_PENDING_FILE_REQUESTS})`);
  }
  let promise: Promise<FileValue> | false;
  try {
    promise = start(adapter, state);
  } catch (e) {
    return failWithError(vm, state, e);
  }
  if (promise === false) return false;
  const id = state.nextRequest++;
  if (state.nextRequest > 0x3fffffff) state.nextRequest = 1;
  const req: FileRequest = { done: false, semaphore: vm.mem.newHandle(semaphore) };
  state.requests.set(id, req);
  const settle = (): void => {
    req.done = true;
    if (req.semaphore.released) return;
    vm.signalSemaphoreAsync(req.semaphore.oop);
    vm.host.wake?.();
  };
  promise.then(
    (value) => {
      req.value = value;
      settle();
    },
    (e: unknown) => {
      req.error = asHostError(e);
      settle();
    },
  );
  return answer(vm, argCount, integerResult(vm, id));
}

/** The file id at stack depth `n`, checked against this VM's open files. */
function fileArg(vm: Interpreter, state: FilePluginState, n: number): number | false {
  const id = intArg(vm.stackValue(n));
  if (id === undefined) return failWith(vm, state, "invalid", "a file handle must be an Integer");
  if (!state.files.has(id)) return failWith(vm, state, "closed", `file ${id} is not open in this image (closed, or from an earlier run)`);
  return id;
}

function pathArg(vm: Interpreter, state: FilePluginState, n: number): string | false {
  const path = textArg(vm, vm.stackValue(n));
  if (path === undefined) return failWith(vm, state, "invalid", "a path must be a String");
  return path;
}

function natArg(vm: Interpreter, state: FilePluginState, n: number, what: string): number | false {
  const oop = vm.stackValue(n);
  const v = intArg(oop);
  if (v === undefined || v < 0) return failWith(vm, state, "invalid", `${what} must be a non-negative SmallInteger`);
  return v;
}

// ---------------------------------------------------------------- requests

/** aFileStream primOpen: path mode: modeString semaphore: s */
function primitiveFileOpen(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const path = pathArg(vm, state, 2);
    if (path === false) return false;
    const modeName = textArg(vm, vm.stackValue(1));
    const mode = modeName === undefined ? undefined : MODES[modeName];
    if (mode === undefined) return failWith(vm, state, "invalid", "the mode must be 'read', 'write', 'append' or 'readWrite'");
    const record: FileRecord = { owner: undefined, ownerDead: false, released: false };
    let fileId: number | undefined;
    record.owner = watchOwner(vm, vm.stackValue(argCount), () => {
      record.owner = undefined;
      record.ownerDead = true;
      if (fileId !== undefined && state.files.get(fileId) === record) adapter.ownerCollected(fileId);
    });
    const released = (): void => {
      record.released = true;
      unwatch(vm, record.owner);
      record.owner = undefined;
      if (fileId !== undefined && state.files.get(fileId) === record) state.files.delete(fileId);
    };
    let promise: Promise<number>;
    try {
      promise = adapter.open(path, mode, released);
    } catch (e) {
      unwatch(vm, record.owner);
      throw e;
    }
    return promise.then(
      (id) => {
        fileId = id;
        if (record.released) return id;
        state.files.set(id, record);
        if (record.ownerDead) adapter.ownerCollected(id);
        return id;
      },
      (e: unknown) => {
        unwatch(vm, record.owner);
        throw e;
      },
    );
  });
}

/** x primFile: id readAt: position count: n semaphore: s */
function primitiveFileRead(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const id = fileArg(vm, state, 3);
    const position = id === false ? false : natArg(vm, state, 2, "the position");
    const count = position === false ? false : natArg(vm, state, 1, "the count");
    if (id === false || position === false || count === false) return false;
    return adapter.read(id, position, count);
  });
}

/** x primFile: id writeAt: position from: bytes startIndex: i count: n semaphore: s */
function primitiveFileWrite(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const id = fileArg(vm, state, 5);
    const position = id === false ? false : natArg(vm, state, 4, "the position");
    if (id === false || position === false) return false;
    const start = intArg(vm.stackValue(2));
    const count = intArg(vm.stackValue(1));
    const data = start === undefined || count === undefined ? undefined : copyBytes(vm, vm.stackValue(3), start, count);
    if (data === undefined) return failWith(vm, state, "invalid", "a write needs a String or ByteArray and a range inside it");
    return adapter.write(id, position, data);
  });
}

/** x primFile: id truncateTo: size semaphore: s */
function primitiveFileTruncate(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const id = fileArg(vm, state, 2);
    const size = id === false ? false : natArg(vm, state, 1, "the size");
    if (id === false || size === false) return false;
    return adapter.truncate(id, size).then(() => undefined);
  });
}

function primitiveFileSize(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const id = fileArg(vm, state, 1);
    if (id === false) return false;
    return adapter.size(id);
  });
}

/**
 * x primFileClose: id semaphore: s — with a nil semaphore the close is started and nothing is answered
 * (finalization closes files that way, without waiting).
 */
function primitiveFileClose(vm: Interpreter, argCount: number): boolean {
  if (vm.stackValue(0) === vm.mem.nilOop) {
    const state = stateOf(vm);
    const adapter = vm.host.files;
    const id = intArg(vm.stackValue(1));
    if (adapter && id !== undefined && state.files.has(id)) {
      try {
        adapter.close(id).catch(() => undefined);
      } catch {
        // already closed
      }
    }
    return answer(vm, argCount, vm.mem.nilOop);
  }
  return request(vm, argCount, (adapter, state) => {
    const id = fileArg(vm, state, 1);
    if (id === false) return false;
    return adapter.close(id).then(() => undefined);
  });
}

function primitiveFileStat(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const path = pathArg(vm, state, 1);
    if (path === false) return false;
    return adapter.stat(path).then((entry) => ({ entryOrNil: entry }));
  });
}

function primitiveFileDelete(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const path = pathArg(vm, state, 1);
    if (path === false) return false;
    return adapter.delete(path).then(() => undefined);
  });
}

function primitiveFileRename(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const from = pathArg(vm, state, 2);
    const to = from === false ? false : pathArg(vm, state, 1);
    if (from === false || to === false) return false;
    return adapter.rename(from, to).then(() => undefined);
  });
}

function primitiveFileCreateDirectory(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const path = pathArg(vm, state, 1);
    if (path === false) return false;
    return adapter.createDirectory(path).then(() => undefined);
  });
}

function primitiveFileDeleteDirectory(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const path = pathArg(vm, state, 1);
    if (path === false) return false;
    return adapter.deleteDirectory(path).then(() => undefined);
  });
}

function primitiveFileEntries(vm: Interpreter, argCount: number): boolean {
  return request(vm, argCount, (adapter, state) => {
    const path = pathArg(vm, state, 1);
    if (path === false) return false;
    return adapter.entries(path);
  });
}

// ---------------------------------------------------------------- results

function requestArg(vm: Interpreter, state: FilePluginState): [number, FileRequest] | false {
  const id = intArg(vm.stackValue(0));
  const req = id === undefined ? undefined : state.requests.get(id);
  if (id === undefined || !req) return failWith(vm, state, "invalid", "no such file request (already answered, or from an earlier run)");
  return [id, req];
}

function primitiveFileRequestDone(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  const r = requestArg(vm, state);
  if (r === false) return false;
  return answerBool(vm, argCount, r[1].done);
}

function entryOop(vm: Interpreter, entry: FileEntry): Oop {
  const name = newText(vm, entry.name);
  const size = integerResult(vm, entry.size);
  const time = integerResult(vm, Math.round(entry.modifiedMs));
  if (name === 0 || size === 0 || time === 0) return 0;
  return newArray(vm, [name, vm.bool(entry.isDirectory), size, time]);
}

function valueOop(vm: Interpreter, value: FileValue): Oop {
  if (value === undefined) return vm.mem.nilOop;
  if (typeof value === "number") return integerResult(vm, value);
  if (value instanceof Uint8Array) return newByteArray(vm, value);
  if (Array.isArray(value)) {
    const items: Oop[] = [];
    for (const entry of value) {
      const oop = entryOop(vm, entry);
      if (oop === 0) return 0;
      items.push(oop);
    }
    return newArray(vm, items);
  }
  if ("entryOrNil" in value) return value.entryOrNil ? entryOop(vm, value.entryOrNil) : vm.mem.nilOop;
  return entryOop(vm, value);
}

/** x primRequestResult: requestId — the value, or a failure with the request's error; the request is forgotten. */
function primitiveFileRequestResult(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  const r = requestArg(vm, state);
  if (r === false) return false;
  const [id, req] = r;
  if (!req.done) return failWith(vm, state, "invalid", "the file request is not finished (wait on its semaphore)");
  if (req.error) {
    state.requests.delete(id);
    vm.mem.releaseHandle(req.semaphore);
    return failWithError(vm, state, req.error);
  }
  const oop = valueOop(vm, req.value);
  if (oop === 0) return failWith(vm, state, "io", "not enough memory in the image for the result");
  state.requests.delete(id);
  vm.mem.releaseHandle(req.semaphore);
  return answer(vm, argCount, oop);
}

function primitiveFileLastError(vm: Interpreter, argCount: number): boolean {
  return answer(vm, argCount, lastErrorOop(vm, stateOf(vm).lastError));
}

function primitiveFileAvailable(vm: Interpreter, argCount: number): boolean {
  return answerBool(vm, argCount, vm.host.files !== undefined);
}

export const fileModule: Record<string, PrimitiveFn> = {
  primitiveFileOpen,
  primitiveFileRead,
  primitiveFileWrite,
  primitiveFileTruncate,
  primitiveFileSize,
  primitiveFileClose,
  primitiveFileStat,
  primitiveFileDelete,
  primitiveFileRename,
  primitiveFileCreateDirectory,
  primitiveFileDeleteDirectory,
  primitiveFileEntries,
  primitiveFileRequestDone,
  primitiveFileRequestResult,
  primitiveFileLastError,
  primitiveFileAvailable,
};

/** The files this VM's plugin knows are open. */
export function openFileCount(vm: Interpreter): number {
  return states.get(vm)?.files.size ?? 0;
}
