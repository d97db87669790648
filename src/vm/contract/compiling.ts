/**
 * Compiling for a guest class: the compiler runs on the host and asks the guest's classes about their
 * variables (CompileContext); the resulting MethodSpec is materialized inside the guest, where bindings
 * are the guest's own associations (Smalltalk's, a class pool's, or Undeclared's).
 */
import type { ObjectMemory } from "../memory/heap.js";
import type { Oop } from "../memory/oop.js";
import { Special } from "../memory/special.js";
import { Format } from "../memory/format.js";
import { internSymbol } from "../memory/symbols.js";
import type { CompileContext } from "../compiler/context.js";
import type { BindingScope } from "../method/spec.js";
import { materializeMethod, type LiteralEnv } from "../method/materialize.js";
import type { MethodSpec } from "../method/spec.js";
import type { SourceRef } from "../method/trailer.js";
import { integerObjectOf } from "../memory/integers.js";
import {
  addMethod, allInstVarNames, className, classPoolOf, dictionaryAssociationAt, dictionaryAtPut, globalAssociation, isMetaclass,
  isNil, newAssociation, superclassOf, thisClassOf,
} from "./guest.js";
import { GuestError } from "./guest.js";

/** The class in `cls`'s chain (instance side) whose class pool defines `name`, or 0. */
function classVariableOwner(mem: ObjectMemory, cls: Oop, name: string): Oop {
  for (let c = thisClassOf(mem, cls); !isNil(mem, c); c = superclassOf(mem, c)) {
    const pool = classPoolOf(mem, c);
    if (!isNil(mem, pool) && dictionaryAssociationAt(mem, pool, name) !== 0) return c;
  }
  return 0;
}

export function compileContextFor(mem: ObjectMemory, cls: Oop): CompileContext {
  return {
    className: className(mem, cls),
    instanceVariableNames: allInstVarNames(mem, cls),
    resolveBinding(name: string): BindingScope | undefined {
      const owner = classVariableOwner(mem, cls, name);
      if (owner !== 0) return { kind: "classVariable", owner: className(mem, owner) };
      if (globalAssociation(mem, name) !== 0) return { kind: "global" };
      return undefined;
    },
  };
}

function undeclaredBinding(mem: ObjectMemory, name: string): Oop {
  const undeclared = mem.specialObject(Special.undeclared);
  if (isNil(mem, undeclared)) return newAssociation(mem, internSymbol(mem, name), mem.nilOop);
  const found = dictionaryAssociationAt(mem, undeclared, name);
  return found !== 0 ? found : dictionaryAtPut(mem, undeclared, name, mem.nilOop);
}

export function literalEnvFor(mem: ObjectMemory, cls: Oop): LiteralEnv {
  return {
    binding(name: string, scope: BindingScope): Oop {
      if (scope.kind === "classVariable") {
        const owner = classVariableOwner(mem, cls, name);
        if (owner !== 0) return dictionaryAssociationAt(mem, classPoolOf(mem, owner), name);
      }
      if (scope.kind !== "undeclared") {
        const global = globalAssociation(mem, name);
        if (global !== 0) return global;
      }
      return undeclaredBinding(mem, name);
    },
    methodClassBinding(): Oop {
      if (isMetaclass(mem, cls)) return newAssociation(mem, mem.nilOop, cls);
      const name = className(mem, cls);
      const global = globalAssociation(mem, name);
      if (global !== 0 && mem.fetchPointer(global, 1) === cls) return global;
      return newAssociation(mem, internSymbol(mem, name), cls);
    },
    fraction(numerator: bigint, denominator: bigint): Oop {
      return fractionObject(mem, numerator, denominator);
    },
    scaledDecimal(numerator: bigint, denominator: bigint, scale: number): Oop {
      const scaledClass = mem.fetchPointer(globalAssociation(mem, "ScaledDecimal"), 1);
      if (globalAssociation(mem, "ScaledDecimal") === 0 || isNil(mem, scaledClass)) {
        throw new GuestError("contract", "this image has no ScaledDecimal class");
      }
      const fraction = fractionObject(mem, numerator, denominator);
      const sd = mem.allocate(scaledClass, Format.fixed, 2);
      mem.storePointer(sd, 0, fraction);
      mem.storePointer(sd, 1, (scale << 1) | 1);
      return sd;
    },
  };
}

/** The exact number numerator/denominator: an Integer when the denominator divides, else a Fraction. */
function fractionObject(mem: ObjectMemory, numerator: bigint, denominator: bigint): Oop {
  const g = gcd(numerator < 0n ? -numerator : numerator, denominator);
  const num = numerator / g;
  const den = denominator / g;
  if (den === 1n) return integerObjectOf(mem, num);
  const assoc = globalAssociation(mem, "Fraction");
  if (assoc === 0 || isNil(mem, mem.fetchPointer(assoc, 1))) throw new GuestError("contract", "this image has no Fraction class");
  const fraction = mem.allocate(mem.fetchPointer(assoc, 1), Format.fixed, 2);
  if (fraction === 0) throw new GuestError("resourceExhausted", "the guest is out of memory (creating a fraction)");
  mem.storePointer(fraction, 0, integerObjectOf(mem, num));
  mem.storePointer(fraction, 1, integerObjectOf(mem, den));
  return fraction;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

/** Materializes `spec` for `cls` and installs it in the class's method dictionary. */
export function installMethod(mem: ObjectMemory, cls: Oop, spec: MethodSpec, source: SourceRef): Oop {
  const method = materializeMethod(mem, spec, literalEnvFor(mem, cls), source);
  const selector = internSymbol(mem, spec.selector);
  if (selector === 0) throw new GuestError("resourceExhausted", "the guest is out of memory (creating a selector)");
  addMethod(mem, cls, selector, method);
  return method;
}
