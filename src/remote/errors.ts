/**
 * Errors across the wire. The server turns every failure into a WireError: a gRPC status code a client
 * can act on, the domain and code of the original error, and its message. The client turns it back into
 * the same kind of error the local implementation throws (MembraneError, HypervisorError), or a
 * RemoteError for what only a remote call can meet (authentication, transport, protocol).
 *
 *   membrane notFound, released              NOT_FOUND (a stale, released or foreign handle: released)
 *   membrane invalidArgument, outOfRange,
 *            compileError, wrongSpace        INVALID_ARGUMENT (compile errors carry the compiler's message)
 *   membrane failedPrecondition              FAILED_PRECONDITION
 *   membrane resourceExhausted               RESOURCE_EXHAUSTED
 *   hypervisor notFound / alreadyExists /
 *            invalidArgument / failedPrecondition / resourceExhausted   the gRPC code of the same name
 *   remote unauthenticated / permissionDenied / unimplemented / ...      the gRPC code of the same name
 *   anything else                            INTERNAL
 */
import { MembraneError, type ErrorCode } from "../membrane/objectSpace.js";
import { HypervisorError, type HypervisorErrorCode } from "../hypervisor/types.js";

/** gRPC status codes (the numbers are the protocol's). */
export const Status = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12,
  INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;

export type StatusName = keyof typeof Status;

export function statusName(code: number): StatusName {
  return (Object.keys(Status) as StatusName[]).find((k) => Status[k] === code) ?? "UNKNOWN";
}

/** RemoteError codes: the gRPC status names in lowerCamelCase. */
export type RemoteErrorCode =
  | "cancelled" | "unknown" | "invalidArgument" | "deadlineExceeded" | "notFound" | "alreadyExists" | "permissionDenied"
  | "resourceExhausted" | "failedPrecondition" | "aborted" | "outOfRange" | "unimplemented" | "internal" | "unavailable"
  | "dataLoss" | "unauthenticated";

function camel(name: StatusName): RemoteErrorCode {
  return name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as RemoteErrorCode;
}

function upper(code: string): StatusName {
  return code.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase() as StatusName;
}

/** An error that only remote calls meet: authentication, permissions, transport, protocol. */
export class RemoteError extends Error {
  readonly status: number;
  constructor(
    readonly code: RemoteErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "RemoteError";
    this.status = Status[upper(code)] ?? Status.UNKNOWN;
  }

  static fromStatus(status: number, message: string): RemoteError {
    return new RemoteError(camel(statusName(status)), message);
  }
}

export type ErrorDomain = "membrane" | "hypervisor" | "remote";

export interface WireError {
  /** the gRPC status code */
  status: number;
  domain: ErrorDomain;
  /** the code in its domain (MembraneError/HypervisorError/RemoteError code) */
  code: string;
  message: string;
}

const MEMBRANE_STATUS: Record<ErrorCode, number> = {
  notFound: Status.NOT_FOUND,
  released: Status.NOT_FOUND,
  invalidArgument: Status.INVALID_ARGUMENT,
  outOfRange: Status.INVALID_ARGUMENT,
  compileError: Status.INVALID_ARGUMENT,
  wrongSpace: Status.INVALID_ARGUMENT,
  failedPrecondition: Status.FAILED_PRECONDITION,
  resourceExhausted: Status.RESOURCE_EXHAUSTED,
  internal: Status.INTERNAL,
};

const HYPERVISOR_STATUS: Record<HypervisorErrorCode, number> = {
  notFound: Status.NOT_FOUND,
  alreadyExists: Status.ALREADY_EXISTS,
  invalidArgument: Status.INVALID_ARGUMENT,
  failedPrecondition: Status.FAILED_PRECONDITION,
  resourceExhausted: Status.RESOURCE_EXHAUSTED,
  internal: Status.INTERNAL,
};

function named(e: unknown, name: string): e is Error & { code: string } {
  return e instanceof Error && e.name === name && typeof (e as { code?: unknown }).code === "string";
}

/** Any thrown thing to a WireError (by name, so that errors from another copy of a module map too). */
export function toWireError(e: unknown): WireError {
  if (named(e, "MembraneError")) {
    return { status: MEMBRANE_STATUS[e.code as ErrorCode] ?? Status.INTERNAL, domain: "membrane", code: e.code, message: e.message };
  }
  if (named(e, "HypervisorError")) {
    return { status: HYPERVISOR_STATUS[e.code as HypervisorErrorCode] ?? Status.INTERNAL, domain: "hypervisor", code: e.code, message: e.message };
  }
  if (e instanceof RemoteError) return { status: e.status, domain: "remote", code: e.code, message: e.message };
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return { status: Status.INVALID_ARGUMENT, domain: "remote", code: "invalidArgument", message: "the request is nested too deeply" };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: Status.INTERNAL, domain: "remote", code: "internal", message: `internal error: ${message}` };
}

/** A WireError back to the error the local implementation would have thrown. */
export function fromWireError(w: Partial<WireError> | undefined): Error {
  const message = typeof w?.message === "string" ? w.message : "unknown remote error";
  const status = typeof w?.status === "number" ? w.status : Status.UNKNOWN;
  switch (w?.domain) {
    case "membrane":
      if (typeof w.code === "string" && w.code in MEMBRANE_STATUS) return new MembraneError(w.code as ErrorCode, message);
      break;
    case "hypervisor":
      if (typeof w.code === "string" && w.code in HYPERVISOR_STATUS) return new HypervisorError(w.code as HypervisorErrorCode, message);
      break;
  }
  return RemoteError.fromStatus(status, message);
}

export function isWireError(x: unknown): x is WireError {
  return typeof x === "object" && x !== null && typeof (x as WireError).status === "number" && typeof (x as WireError).message === "string";
}
