/**
 * Turns a MethodSpec (host-side description) into a CompiledMethod inside a heap. Literal objects are
 * created in the heap, symbols interned, and bindings resolved through `LiteralEnv`, so nothing of the
 * host ends up in the guest (the transitive closure property of the membrane).
 *
 * Literals are read-only, as in Pharo: strings, arrays (and what they hold), byte arrays, floats, large
 * integers, fractions and scaled decimals get the read-only flag, so that modifying one raises
 * ModificationForbidden instead of silently changing the method. (Symbols are read-only from birth.)
 */
import type { ObjectMemory } from "../memory/heap.js";
import { HEADER_BYTES } from "../memory/heap.js";
import { Format } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { characterOop, smallIntOop, type Oop } from "../memory/oop.js";
import { integerObjectOf } from "../memory/integers.js";
import { internSymbol } from "../memory/symbols.js";
import { encodeMethodHeader } from "./header.js";
import { encodeTrailer, type SourceRef } from "./trailer.js";
import type { BindingScope, LiteralSpec, MethodSpec } from "./spec.js";

export interface LiteralEnv {
  /** the association for a variable (creating it in Undeclared when it is unknown) */
  binding(name: string, scope: BindingScope): Oop;
  /** the association name -> class of the class the method belongs to */
  methodClassBinding(): Oop;
  /** a ScaledDecimal literal */
  scaledDecimal?(numerator: bigint, denominator: bigint, scale: number): Oop;
  /** a Fraction literal (numerator and denominator in lowest terms, denominator > 1) */
  fraction?(numerator: bigint, denominator: bigint): Oop;
}

/** A literal that cannot be made in this heap: memory is short, or the image lacks what it needs. */
export class MaterializeError extends Error {
  constructor(
    message: string,
    readonly outOfMemory = false,
  ) {
    super(message);
  }
}

function need(oop: Oop, what: string): Oop {
  if (oop === 0) throw new MaterializeError(`out of memory while creating ${what}`, true);
  return oop;
}

/**
 * A ByteString for Latin-1 text, else a WideString (one 32-bit word per code point) when the image has
 * the class; 0 when memory is short.
 */
export function allocateText(mem: ObjectMemory, text: string): Oop {
  let wide = false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 255) wide = true;
  if (!wide) return mem.allocateString(mem.specialObject(Special.classByteString), text);
  const wideClass = mem.specialObject(Special.classWideString);
  if (wideClass === 0 || wideClass === mem.nilOop) {
    const c = [...text].find((ch) => ch.codePointAt(0)! > 255)!.codePointAt(0)!;
    throw new MaterializeError(`this image has no WideString for the character U+${c.toString(16).toUpperCase().padStart(4, "0")}`);
  }
  const codes = Array.from(text, (ch) => ch.codePointAt(0)!);
  const oop = mem.allocate(wideClass, Format.words, codes.length, 0);
  if (oop !== 0) codes.forEach((c, i) => mem.storeWord(oop, i, c));
  return oop;
}

/** Creates a literal object in the heap, read-only unless it is a binding or a named primitive's spec. */
export function materializeLiteral(mem: ObjectMemory, lit: LiteralSpec, env: LiteralEnv): Oop {
  const oop = createLiteral(mem, lit, env);
  if ((oop & 3) === 0 && lit.kind !== "binding" && lit.kind !== "methodClass" && lit.kind !== "namedPrimitive"
    && oop !== mem.nilOop && oop !== mem.trueOop && oop !== mem.falseOop) {
    mem.setReadOnly(oop, true);
  }
  return oop;
}

function createLiteral(mem: ObjectMemory, lit: LiteralSpec, env: LiteralEnv): Oop {
  switch (lit.kind) {
    case "nil": return mem.nilOop;
    case "true": return mem.trueOop;
    case "false": return mem.falseOop;
    case "integer": return need(integerObjectOf(mem, lit.value), "an integer literal");
    case "float": return need(mem.allocateFloat(lit.value), "a float literal");
    case "character": return characterOop(lit.value);
    case "string": return need(allocateText(mem, lit.value), "a string literal");
    case "symbol":
      if ([...lit.value].some((ch) => ch.codePointAt(0)! > 255)) throw new MaterializeError(`the symbol #${lit.value} has characters beyond Latin-1 (Oz symbols are byte symbols)`);
      return need(internSymbol(mem, lit.value), "a symbol");
    case "byteArray": {
      const oop = need(mem.allocateBytes(mem.specialObject(Special.classByteArray), lit.bytes.length), "a byte array literal");
      mem.bytes.set(lit.bytes, oop + HEADER_BYTES);
      return oop;
    }
    case "array": {
      const elements = lit.elements.map((e) => materializeLiteral(mem, e, env));
      const oop = need(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, elements.length), "an array literal");
      elements.forEach((e, i) => mem.storePointer(oop, i, e));
      return oop;
    }
    case "fraction":
      if (!env.fraction) throw new MaterializeError("this image has no Fraction");
      return env.fraction(lit.numerator, lit.denominator);
    case "scaledDecimal":
      if (!env.scaledDecimal) throw new MaterializeError("this image has no ScaledDecimal");
      return env.scaledDecimal(lit.numerator, lit.denominator, lit.scale);
    case "binding": return env.binding(lit.name, lit.scope);
    case "methodClass": return env.methodClassBinding();
    case "namedPrimitive": {
      const module = need(mem.allocateString(mem.specialObject(Special.classByteString), lit.module), "a module name");
      const name = need(mem.allocateString(mem.specialObject(Special.classByteString), lit.name), "a primitive name");
      const oop = need(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, 4), "a named primitive literal");
      mem.storePointer(oop, 0, module);
      mem.storePointer(oop, 1, name);
      mem.storePointer(oop, 2, smallIntOop(0));
      mem.storePointer(oop, 3, smallIntOop(0));
      return oop;
    }
  }
}

/** Creates the CompiledMethod for `spec`, with `source` recorded in its trailer. */
export function materializeMethod(mem: ObjectMemory, spec: MethodSpec, env: LiteralEnv, source: SourceRef): Oop {
  const literals = spec.literals.map((lit) => materializeLiteral(mem, lit, env));
  const header = encodeMethodHeader({
    primitive: spec.primitive,
    numLiterals: literals.length,
    largeFrame: spec.largeFrame,
    numTemps: spec.numTemps,
    numArgs: spec.numArgs,
  });
  const trailer = encodeTrailer(source);
  const byteCount = spec.bytecodes.length + trailer.length;
  const total = (1 + literals.length) * 4 + byteCount;
  const slots = (total + 3) >> 2;
  const method = need(
    mem.allocate(mem.specialObject(Special.classCompiledMethod), Format.compiledMethod + (slots * 4 - total), slots, 0),
    "a method",
  );
  mem.storePointerUnchecked(method, 0, smallIntOop(header));
  literals.forEach((lit, i) => mem.storePointer(method, 1 + i, lit));
  const codeStart = method + HEADER_BYTES + (1 + literals.length) * 4;
  mem.bytes.set(spec.bytecodes, codeStart);
  mem.bytes.set(trailer, codeStart + spec.bytecodes.length);
  return method;
}
