/**
 * CompiledMethod headers, laid out as Squeak V3's (the value of the SmallInteger in slot 0):
 *
 *   bits 0-8   primitive index, low 9 bits      bits 18-23  number of temporaries (arguments included)
 *   bits 9-16  number of literals               bits 24-27  number of arguments
 *   bit  17    large frame (56 stack slots)     bit  28     primitive index, bit 9
 *
 * Primitives 256..519 are "quick" methods that never need a context: 256 answers self, 257 true,
 * 258 false, 259 nil, 260..263 the integers -1..2, and 264..519 answer instance variable (n - 264).
 */

export interface MethodHeader {
  primitive: number;
  numLiterals: number;
  largeFrame: boolean;
  numTemps: number;
  numArgs: number;
}

export const MAX_LITERALS = 255;
export const MAX_TEMPS = 63;
export const MAX_ARGS = 15;
export const MAX_PRIMITIVE = 1023;

export const QuickPrimitive = {
  returnSelf: 256,
  returnTrue: 257,
  returnFalse: 258,
  returnNil: 259,
  /** 260..263 answer -1, 0, 1, 2 */
  returnMinusOne: 260,
  /** 264 + n answers instance variable n (0-based) */
  returnInstVar: 264,
  last: 519,
} as const;

/** The primitive that marks `ensure:` and `ifCurtailed:` (it always fails; the VM looks for it when unwinding). */
export const PRIM_MARK_UNWIND = 198;
/** The primitive that marks `on:do:` (it always fails; exception handling looks for it). */
export const PRIM_MARK_HANDLER = 199;
/** Named primitives: the first literal is {moduleName. functionName. 0. 0}. */
export const PRIM_EXTERNAL_CALL = 117;

export function encodeMethodHeader(h: MethodHeader): number {
  if (h.numLiterals < 0 || h.numLiterals > MAX_LITERALS) throw new RangeError(`too many literals (${h.numLiterals}, at most ${MAX_LITERALS})`);
  if (h.numTemps < 0 || h.numTemps > MAX_TEMPS) throw new RangeError(`too many temporaries (${h.numTemps}, at most ${MAX_TEMPS})`);
  if (h.numArgs < 0 || h.numArgs > MAX_ARGS) throw new RangeError(`too many arguments (${h.numArgs}, at most ${MAX_ARGS})`);
  if (h.primitive < 0 || h.primitive > MAX_PRIMITIVE) throw new RangeError(`primitive index out of range (${h.primitive})`);
  return (
    (h.primitive & 0x1ff) |
    (h.numLiterals << 9) |
    (h.largeFrame ? 1 << 17 : 0) |
    (h.numTemps << 18) |
    (h.numArgs << 24) |
    ((h.primitive & 0x200) << 19)
  );
}

export function decodeMethodHeader(value: number): MethodHeader {
  return {
    primitive: headerPrimitive(value),
    numLiterals: headerNumLiterals(value),
    largeFrame: headerLargeFrame(value),
    numTemps: headerNumTemps(value),
    numArgs: headerNumArgs(value),
  };
}

export function headerPrimitive(value: number): number {
  return (value & 0x1ff) | ((value >> 19) & 0x200);
}
export function headerNumLiterals(value: number): number {
  return (value >> 9) & 0xff;
}
export function headerLargeFrame(value: number): boolean {
  return (value & (1 << 17)) !== 0;
}
export function headerNumTemps(value: number): number {
  return (value >> 18) & 0x3f;
}
export function headerNumArgs(value: number): number {
  return (value >> 24) & 0xf;
}

/** The 1-based pc of the first bytecode, Squeak style: bytes are counted from the start of the body. */
export function initialPC(numLiterals: number): number {
  return (numLiterals + 1) * 4 + 1;
}
