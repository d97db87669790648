/**
 * Primitive failure codes, numbered as Squeak's primitive error table (special object primErrTable holds
 * the matching symbols: code n is element n).
 */
export const PrimErr = {
  generic: 0,
  badReceiver: 1,
  badArgument: 2,
  badIndex: 3,
  badNumArgs: 4,
  inappropriate: 5,
  unsupported: 6,
  noModification: 7,
  insufficientObjectMemory: 8,
  insufficientCMemory: 9,
  notFound: 10,
  badMethod: 11,
  namedInternal: 12,
  objectMayMove: 13,
  limitExceeded: 14,
  objectIsPinned: 15,
  writeBeyondEnd: 16,
} as const;

/** The symbols of the table, in order (element n is code n). */
export const PRIM_ERROR_NAMES = [
  "bad receiver", "bad argument", "bad index", "bad number of arguments", "inappropriate operation",
  "unsupported operation", "no modification", "insufficient object memory", "insufficient C memory",
  "not found", "bad method", "internal error in named primitive machinery", "object may move",
  "resource limit exceeded", "object is pinned", "primitive write beyond end of object",
];
