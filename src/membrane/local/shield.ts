/**
 * The membrane's promise that every failure is a MembraneError: the methods of the local space and its
 * mirrors are wrapped so that an error from below (a guest structure that breaks the image contract, a
 * bug) reaches the caller as a MembraneError with a precise code rather than as a stray exception.
 * Compile errors become `compileError`, guest-contract errors `failedPrecondition` or
 * `resourceExhausted`, anything else `internal` (with the original error as its `cause`).
 */
import { MembraneError } from "../objectSpace.js";
import { CompileError } from "../../vm/compiler/index.js";
import { GuestError } from "../../vm/contract/guest.js";
import { MaterializeError } from "../../vm/method/materialize.js";
import { ImageFormatError } from "../../vm/image/imageFile.js";

export function asMembraneError(e: unknown): MembraneError {
  if (e instanceof MembraneError) return e;
  let converted: MembraneError;
  if (e instanceof CompileError) converted = new MembraneError("compileError", e.format());
  else if (e instanceof GuestError) converted = new MembraneError(e.code === "resourceExhausted" ? "resourceExhausted" : "failedPrecondition", e.message);
  else if (e instanceof MaterializeError) converted = new MembraneError("resourceExhausted", e.message);
  else if (e instanceof ImageFormatError) converted = new MembraneError("invalidArgument", e.message);
  else if (e instanceof RangeError && /allocation|Array buffer|memory/i.test(e.message)) converted = new MembraneError("resourceExhausted", `the host is out of memory: ${e.message}`);
  else converted = new MembraneError("internal", `internal error in the membrane: ${e instanceof Error ? e.message : String(e)}`);
  (converted as { cause?: unknown }).cause = e;
  return converted;
}

/** Wraps every method of `proto` (sync or async) so that what it throws or rejects with is a MembraneError. */
export function shield(proto: object): void {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === "constructor") continue;
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (!descriptor || typeof descriptor.value !== "function") continue;
    const original = descriptor.value as (...args: unknown[]) => unknown;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      let result: unknown;
      try {
        result = original.apply(this, args);
      } catch (e) {
        throw asMembraneError(e);
      }
      return result instanceof Promise ? result.catch((e: unknown) => Promise.reject(asMembraneError(e))) : result;
    };
    Object.defineProperty(wrapped, "name", { value: name });
    Object.defineProperty(proto, name, { ...descriptor, value: wrapped });
  }
}
