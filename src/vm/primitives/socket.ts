/**
 * The `SocketPlugin` named-primitive module: TCP sockets over the host's SocketAdapter (host.ts). The
 * plugin owns what belongs to the VM: the semaphore each socket signals (held by a handle, signalled with
 * `signalSemaphoreAsync`), the table of the socket ids this VM created (an id from an earlier run of the
 * image, or never created here, is refused), and a WeakHandle on the Socket object that owns each id, so
 * that the host learns when it dies (the finalization backstop). Everything else (Node's `net`, buffers,
 * quotas, counters) is the adapter's.
 *
 * Smalltalk signatures (receiver first; ids are SmallIntegers; a failure records the reason, which
 * `primitiveSocketLastError` answers as #(#kind 'message')):
 *
 *   aSocket primSocketCreateSemaphore: aSemaphore                 -> id (fails: quotaExceeded, limitExceeded)
 *   aSocket primSocket: id connectTo: hostStringOrByteArray port: n -> receiver (the connection is made asynchronously)
 *   aSocket primSocket: id listenOn: port backlog: n interface: addressOrNil -> receiver
 *   aNewSocket primAcceptFrom: listenerId semaphore: aSemaphore   -> id of the new connection, or nil when none waits
 *   aSocket primSocketStatus: id                                  -> Pharo's status code (-1 invalid ... 4 this end closed)
 *   aSocket primSocketError: id                                   -> a String (the last error on the socket) or nil
 *   aSocket primSocketLocalPort: id / primSocketRemotePort: id    -> Integer
 *   aSocket primSocketRemoteAddress: id                           -> a String
 *   aSocket primSocketDataAvailable: id                           -> Boolean
 *   aSocket primSocketSendDone: id                                -> Boolean (room to send)
 *   aSocket primSocket: id sendData: aStringOrByteArray startIndex: i count: n -> bytes taken (0: wait)
 *   aSocket primSocket: id receiveDataInto: aStringOrByteArray startingAt: i count: n -> bytes copied (0: none)
 *   aSocket primSocketCloseConnection: id / primSocketDestroy: id -> receiver
 *   anObject primitiveSocketLastError                             -> #(#kind 'message') or nil
 *   anObject primitiveSocketAvailable                             -> whether this host gives the guest sockets
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { PrimitiveFn } from "./table.js";
import type { Handle } from "../memory/heap.js";
import type { WeakHandle } from "../memory/gc.js";
import type { Oop } from "../memory/oop.js";
import { Special } from "../memory/special.js";
import { HostError, SocketStatus, type HandleEvents, type SocketAdapter, type SocketInfo } from "../host.js";
import { answer, answerBool, integerResult } from "./support.js";
import {
  copyBytes, failWith, failWithError, intArg, isByteObject, isSemaphore, lastErrorOop, newText, storeBytes, textArg, unwatch, watchOwner,
  type LastError,
} from "./hostio.js";

interface SocketEntry {
  id: number;
  semaphore: Handle;
  owner: WeakHandle | undefined;
}

interface SocketPluginState {
  sockets: Map<number, SocketEntry>;
  lastError: LastError | undefined;
}

const states = new WeakMap<Interpreter, SocketPluginState>();

function stateOf(vm: Interpreter): SocketPluginState {
  let state = states.get(vm);
  if (!state) {
    state = { sockets: new Map(), lastError: undefined };
    states.set(vm, state);
  }
  return state;
}

function adapterOf(vm: Interpreter, state: SocketPluginState): SocketAdapter | undefined {
  const adapter = vm.host.sockets;
  if (!adapter) failWith(vm, state, "unavailable", "this host gives the image no sockets");
  return adapter;
}

/** Events for a new socket: signal its semaphore; forget it when the adapter does. */
function newEntry(vm: Interpreter, state: SocketPluginState, semaphore: Oop): { entry: SocketEntry; events: HandleEvents } {
  const entry: SocketEntry = { id: 0, semaphore: vm.mem.newHandle(semaphore), owner: undefined };
  const events: HandleEvents = {
    signal: () => {
      if (entry.semaphore.released) return;
      vm.signalSemaphoreAsync(entry.semaphore.oop);
      vm.host.wake?.();
    },
    released: () => {
      vm.mem.releaseHandle(entry.semaphore);
      unwatch(vm, entry.owner);
      entry.owner = undefined;
      if (state.sockets.get(entry.id) === entry) state.sockets.delete(entry.id);
    },
  };
  return { entry, events };
}

/** Registers a socket the adapter created for `owner`. */
function adopt(vm: Interpreter, state: SocketPluginState, adapter: SocketAdapter, entry: SocketEntry, id: number, owner: Oop): void {
  entry.id = id;
  state.sockets.set(id, entry);
  entry.owner = watchOwner(vm, owner, () => {
    entry.owner = undefined;
    adapter.ownerCollected(id);
  });
}

/** The socket id argument at stack depth `n`, checked against this VM's table. */
function socketArg(vm: Interpreter, state: SocketPluginState, n: number): number | undefined {
  const id = intArg(vm.stackValue(n));
  if (id === undefined) {
    failWith(vm, state, "invalid", "a socket handle must be an Integer");
    return undefined;
  }
  if (!state.sockets.has(id)) {
    failWith(vm, state, "closed", `socket ${id} is not open in this image (destroyed, or from an earlier run)`);
    return undefined;
  }
  return id;
}

/** Runs `body` with the adapter; a HostError (or any error) becomes a recorded failure. */
function guarded(vm: Interpreter, state: SocketPluginState, body: (adapter: SocketAdapter) => boolean): boolean {
  const adapter = adapterOf(vm, state);
  if (!adapter) return false;
  try {
    return body(adapter);
  } catch (e) {
    return failWithError(vm, state, e);
  }
}

/** A host name from a String, or a dotted/IPv6 address from a ByteArray of 4 or 16 bytes. */
function hostArg(vm: Interpreter, oop: Oop): string | undefined {
  const text = textArg(vm, oop);
  if (text === undefined) return undefined;
  const cls = vm.mem.fetchClassOf(oop);
  const byteArrayClass = vm.mem.specialObject(Special.classByteArray);
  if (cls === byteArrayClass) {
    const bytes = Array.from(text, (c) => c.charCodeAt(0));
    if (bytes.length === 4) return bytes.join(".");
    if (bytes.length === 16) {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
      return groups.join(":");
    }
    return undefined;
  }
  return text;
}

function info(vm: Interpreter, state: SocketPluginState, argCount: number, pick: (info: SocketInfo) => Oop): boolean {
  return guarded(vm, state, (adapter) => {
    const id = socketArg(vm, state, 0);
    if (id === undefined) return false;
    return answer(vm, argCount, pick(adapter.info(id)));
  });
}

// ---------------------------------------------------------------- primitives

/** aSocket primSocketCreateSemaphore: aSemaphore */
function primitiveSocketCreate(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const semaphore = vm.stackValue(0);
    const owner = vm.stackValue(argCount);
    if (!isSemaphore(vm, semaphore)) return failWith(vm, state, "invalid", "a socket needs a Semaphore");
    const { entry, events } = newEntry(vm, state, semaphore);
    let id: number;
    try {
      id = adapter.create(events);
    } catch (e) {
      vm.mem.releaseHandle(entry.semaphore);
      throw e;
    }
    adopt(vm, state, adapter, entry, id, owner);
    return answer(vm, argCount, integerResult(vm, id));
  });
}

/** aSocket primSocket: id connectTo: host port: port */
function primitiveSocketConnect(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const id = socketArg(vm, state, 2);
    if (id === undefined) return false;
    const host = hostArg(vm, vm.stackValue(1));
    const port = intArg(vm.stackValue(0));
    if (host === undefined || host === "") return failWith(vm, state, "invalid", "the host must be a name or address String, or a ByteArray of 4 or 16 bytes");
    if (port === undefined || port < 1 || port > 65535) return failWith(vm, state, "invalid", "the port must be an Integer from 1 to 65535");
    adapter.connect(id, host, port);
    vm.pop(argCount);
    return true;
  });
}

/** aSocket primSocket: id listenOn: port backlog: n interface: addressOrNil */
function primitiveSocketListen(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const id = socketArg(vm, state, 3);
    if (id === undefined) return false;
    const port = intArg(vm.stackValue(2));
    const backlog = intArg(vm.stackValue(1));
    const iface = vm.stackValue(0);
    const address = iface === vm.mem.nilOop ? undefined : hostArg(vm, iface);
    if (port === undefined || port < 0 || port > 65535) return failWith(vm, state, "invalid", "the port must be an Integer from 0 to 65535");
    if (backlog === undefined || backlog < 1) return failWith(vm, state, "invalid", "the backlog must be a positive Integer");
    if (iface !== vm.mem.nilOop && address === undefined) return failWith(vm, state, "invalid", "the interface must be an address String or ByteArray, or nil");
    adapter.listen(id, port, backlog, address);
    vm.pop(argCount);
    return true;
  });
}

/** aNewSocket primAcceptFrom: listenerId semaphore: aSemaphore */
function primitiveSocketAccept(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const listener = socketArg(vm, state, 1);
    if (listener === undefined) return false;
    const semaphore = vm.stackValue(0);
    const owner = vm.stackValue(argCount);
    if (!isSemaphore(vm, semaphore)) return failWith(vm, state, "invalid", "a socket needs a Semaphore");
    const { entry, events } = newEntry(vm, state, semaphore);
    let id: number | undefined;
    try {
      id = adapter.accept(listener, events);
    } catch (e) {
      vm.mem.releaseHandle(entry.semaphore);
      throw e;
    }
    if (id === undefined) {
      vm.mem.releaseHandle(entry.semaphore);
      return answer(vm, argCount, vm.mem.nilOop);
    }
    adopt(vm, state, adapter, entry, id, owner);
    return answer(vm, argCount, integerResult(vm, id));
  });
}

/** aSocket primSocketStatus: id (an id this VM does not know is invalid, -1) */
function primitiveSocketStatus(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  const adapter = vm.host.sockets;
  const id = intArg(vm.stackValue(0));
  if (!adapter || id === undefined || !state.sockets.has(id)) return answer(vm, argCount, integerResult(vm, SocketStatus.invalid));
  try {
    return answer(vm, argCount, integerResult(vm, adapter.info(id).status));
  } catch {
    return answer(vm, argCount, integerResult(vm, SocketStatus.invalid));
  }
}

function primitiveSocketError(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return info(vm, state, argCount, (i) => (i.error === undefined ? vm.mem.nilOop : newText(vm, i.error)));
}

function primitiveSocketLocalPort(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return info(vm, state, argCount, (i) => integerResult(vm, i.localPort));
}

function primitiveSocketRemotePort(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return info(vm, state, argCount, (i) => integerResult(vm, i.remotePort));
}

function primitiveSocketRemoteAddress(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return info(vm, state, argCount, (i) => newText(vm, i.remoteAddress));
}

function primitiveSocketDataAvailable(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const id = socketArg(vm, state, 0);
    if (id === undefined) return false;
    return answerBool(vm, argCount, adapter.info(id).available > 0);
  });
}

function primitiveSocketSendDone(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const id = socketArg(vm, state, 0);
    if (id === undefined) return false;
    return answerBool(vm, argCount, adapter.info(id).canSend);
  });
}

/** aSocket primSocket: id sendData: buffer startIndex: i count: n */
function primitiveSocketSend(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const id = socketArg(vm, state, 3);
    if (id === undefined) return false;
    const start = intArg(vm.stackValue(1));
    const count = intArg(vm.stackValue(0));
    const data = start === undefined || count === undefined ? undefined : copyBytes(vm, vm.stackValue(2), start, count);
    if (data === undefined) return failWith(vm, state, "invalid", "sendData: needs a String or ByteArray and a range inside it");
    return answer(vm, argCount, integerResult(vm, adapter.send(id, data)));
  });
}

/** aSocket primSocket: id receiveDataInto: buffer startingAt: i count: n */
function primitiveSocketReceive(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const id = socketArg(vm, state, 3);
    if (id === undefined) return false;
    const buffer = vm.stackValue(2);
    const start = intArg(vm.stackValue(1));
    const count = intArg(vm.stackValue(0));
    if (!isByteObject(vm, buffer) || start === undefined || count === undefined || start < 1 || count < 0 || start - 1 + count > vm.mem.byteLength(buffer)) {
      return failWith(vm, state, "invalid", "receiveDataInto: needs a String or ByteArray and a range inside it");
    }
    if (vm.mem.isReadOnly(buffer)) return failWith(vm, state, "invalid", "receiveDataInto: cannot fill a read-only buffer");
    const data = adapter.receive(id, count);
    storeBytes(vm, buffer, start, data);
    return answer(vm, argCount, integerResult(vm, data.length));
  });
}

function primitiveSocketClose(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  return guarded(vm, state, (adapter) => {
    const id = socketArg(vm, state, 0);
    if (id === undefined) return false;
    adapter.close(id);
    vm.pop(argCount);
    return true;
  });
}

/** Destroying an id this VM no longer knows does nothing (finalization may come after the host released it). */
function primitiveSocketDestroy(vm: Interpreter, argCount: number): boolean {
  const state = stateOf(vm);
  const id = intArg(vm.stackValue(0));
  const adapter = vm.host.sockets;
  if (adapter && id !== undefined && state.sockets.has(id)) {
    try {
      adapter.destroy(id);
    } catch (e) {
      if (!(e instanceof HostError)) throw e;
    }
  }
  vm.pop(argCount);
  return true;
}

function primitiveSocketLastError(vm: Interpreter, argCount: number): boolean {
  return answer(vm, argCount, lastErrorOop(vm, stateOf(vm).lastError));
}

function primitiveSocketAvailable(vm: Interpreter, argCount: number): boolean {
  return answerBool(vm, argCount, vm.host.sockets !== undefined);
}

export const socketModule: Record<string, PrimitiveFn> = {
  primitiveSocketCreate,
  primitiveSocketConnect,
  primitiveSocketListen,
  primitiveSocketAccept,
  primitiveSocketStatus,
  primitiveSocketError,
  primitiveSocketLocalPort,
  primitiveSocketRemotePort,
  primitiveSocketRemoteAddress,
  primitiveSocketDataAvailable,
  primitiveSocketSendDone,
  primitiveSocketSend,
  primitiveSocketReceive,
  primitiveSocketClose,
  primitiveSocketDestroy,
  primitiveSocketLastError,
  primitiveSocketAvailable,
};

/** The number of sockets this VM's plugin knows (open, or closed and not yet destroyed). */
export function socketCount(vm: Interpreter): number {
  return states.get(vm)?.sockets.size ?? 0;
}
