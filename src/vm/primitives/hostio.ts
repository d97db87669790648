/**
 * What the SocketPlugin and the FilePlugin share: reading byte arguments, the last error of a plugin
 * (which the image fetches after a failure to signal the right Smalltalk error), and watching the guest
 * object that owns an OS handle (the host's finalization backstop, through a collector WeakHandle).
 */
import { isSemaphoreObject } from "../interpreter/scheduler.js";
import type { Interpreter } from "../interpreter/interpreter.js";
import { Format } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { HEADER_BYTES } from "../memory/heap.js";
import { WeakHandle } from "../memory/gc.js";
import type { Oop } from "../memory/oop.js";
import { HostError, type HostErrorKind } from "../host.js";
import { internSymbol } from "../memory/symbols.js";
import { PrimErr } from "./errors.js";
import { newString } from "./support.js";
import { allocateText } from "../method/materialize.js";

/** Whether `oop` is a byte object (String, Symbol, ByteArray), not a compiled method. */
export function isByteObject(vm: Interpreter, oop: Oop): boolean {
  return (oop & 3) === 0 && oop !== vm.mem.nilOop && vm.mem.hasBytes(oop) && vm.mem.formatOf(oop) < Format.compiledMethod;
}

/**
 * Whether `oop` is a Semaphore (an instance of the special class Semaphore or of a subclass): the plugins
 * signal it later, from host events. Anything else is refused up front: a byte object of 12 bytes or more
 * has "three slots" too, and signalling it would read and write its bytes as a list of processes.
 */
export const isSemaphore = isSemaphoreObject;

/** The text of a byte string (Latin-1) or a word string (a WideString: code points), or undefined. */
export function textArg(vm: Interpreter, oop: Oop): string | undefined {
  const mem = vm.mem;
  if (isByteObject(vm, oop)) return mem.stringOf(oop);
  if ((oop & 3) !== 0 || oop === mem.nilOop || mem.formatOf(oop) !== Format.words) return undefined;
  let s = "";
  for (let i = 0; i < mem.slotCount(oop); i++) {
    const c = mem.fetchWord(oop, i) >>> 0;
    s += c <= 0x10ffff ? String.fromCodePoint(c) : "\ufffd";
  }
  return s;
}

/** A ByteString for Latin-1 text, else a WideString; 0 when memory is short. */
export function newText(vm: Interpreter, text: string): Oop {
  try {
    return allocateText(vm.mem, text);
  } catch {
    return newString(vm, text.replace(/[^\x00-\xff]/g, "?"));
  }
}

/** A SmallInteger's value, or undefined. */
export function intArg(oop: Oop): number | undefined {
  return (oop & 1) === 1 ? oop >> 1 : undefined;
}

/** A copy of bytes `start..start+count-1` (1-based start) of a byte object, or undefined when out of range. */
export function copyBytes(vm: Interpreter, oop: Oop, start: number, count: number): Uint8Array | undefined {
  if (!isByteObject(vm, oop)) return undefined;
  const length = vm.mem.byteLength(oop);
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 1 || count < 0 || start - 1 + count > length) return undefined;
  const from = oop + HEADER_BYTES + start - 1;
  return vm.mem.bytes.slice(from, from + count);
}

/** Copies `data` into a byte object at 1-based `start`; the caller checked the range. */
export function storeBytes(vm: Interpreter, oop: Oop, start: number, data: Uint8Array): void {
  vm.mem.bytes.set(data, oop + HEADER_BYTES + start - 1);
}

/** A new ByteArray holding `data`; 0 when memory is short. */
export function newByteArray(vm: Interpreter, data: Uint8Array): Oop {
  const oop = vm.mem.allocateBytes(vm.mem.specialObject(Special.classByteArray), data.length);
  if (oop !== 0) vm.mem.bytes.set(data, oop + HEADER_BYTES);
  return oop;
}

/** A new Array of `items` (oops the caller just allocated: nothing collects in between); 0 when memory is short. */
export function newArray(vm: Interpreter, items: Oop[]): Oop {
  const oop = vm.mem.allocate(vm.mem.specialObject(Special.classArray), Format.indexable, items.length);
  if (oop === 0) return 0;
  items.forEach((item, i) => vm.mem.storePointerUnchecked(oop, i, item));
  return oop;
}

/** The last failure of a plugin in one VM, for `primitive...LastError`. */
export interface LastError {
  kind: HostErrorKind;
  message: string;
}

/** Records why a primitive fails and fails it (limit codes for quotas and limits, else a close Squeak code). */
export function failWithError(vm: Interpreter, holder: { lastError: LastError | undefined }, error: unknown): false {
  const e = error instanceof HostError ? error : new HostError("io", error instanceof Error ? error.message : String(error));
  holder.lastError = { kind: e.kind, message: e.message };
  const code =
    e.kind === "quotaExceeded" || e.kind === "limitExceeded" ? PrimErr.limitExceeded
    : e.kind === "invalid" ? PrimErr.badArgument
    : e.kind === "unavailable" ? PrimErr.unsupported
    : PrimErr.inappropriate;
  return vm.failWith(code);
}

/** Fails with a HostError made here (bad arguments and the like). */
export function failWith(vm: Interpreter, holder: { lastError: LastError | undefined }, kind: HostErrorKind, message: string): false {
  return failWithError(vm, holder, new HostError(kind, message));
}

/** `#(#kind 'message')` for the last error, nil when there was none; 0 when memory is short. */
export function lastErrorOop(vm: Interpreter, last: LastError | undefined): Oop {
  if (!last) return vm.mem.nilOop;
  const kind = internSymbol(vm.mem, last.kind);
  const message = newText(vm, last.message);
  if (kind === 0 || message === 0) return 0;
  return newArray(vm, [kind, message]);
}

/**
 * Watches the guest object that owns an OS handle: when a collection finds it dead, `onDeath` runs
 * (after the collection, outside the heap). Answers the WeakHandle, to forget with `unwatch`.
 */
export function watchOwner(vm: Interpreter, owner: Oop, onDeath: () => void): WeakHandle | undefined {
  if ((owner & 3) !== 0 || owner === vm.mem.nilOop) return undefined;
  const weak = new WeakHandle(owner, onDeath);
  vm.collector.weakHandles.add(weak);
  return weak;
}

export function unwatch(vm: Interpreter, weak: WeakHandle | undefined): void {
  if (weak) vm.collector.weakHandles.delete(weak);
}
