/**
 * Host-side values that cross the membrane by translation (design.md section 5): nil, booleans, integers
 * of any size, floats, characters, strings, symbols, and arrays and byte arrays of these. Everything
 * else stays inside the guest and is seen only through mirrors.
 *
 * JavaScript numbers that are integers translate to Smalltalk Integers, others to Floats; bigint to
 * Integers; `Sym` and `Char` mark symbols and characters; `FloatValue` forces a Float (1.0).
 */

export class Sym {
  constructor(readonly name: string) {}
  toString(): string {
    return `#${this.name}`;
  }
}

export class Char {
  constructor(readonly code: number) {}
  toString(): string {
    return `$${String.fromCodePoint(this.code)}`;
  }
}

export class FloatValue {
  constructor(readonly value: number) {}
}

export type LocalValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Sym
  | Char
  | FloatValue
  | Uint8Array
  | LocalValue[];

export function sym(name: string): Sym {
  return new Sym(name);
}

export function char(c: string | number): Char {
  return new Char(typeof c === "number" ? c : c.codePointAt(0)!);
}

/** A readable rendering of a local value, Smalltalk literal style. */
export function formatLocal(v: LocalValue): string {
  if (v === null) return "nil";
  if (typeof v === "boolean") return String(v);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === "string") return `'${v.replace(/'/g, "''")}'`;
  if (v instanceof Sym) return `#${v.name}`;
  if (v instanceof Char) return `$${String.fromCodePoint(v.code)}`;
  if (v instanceof FloatValue) return String(v.value);
  if (v instanceof Uint8Array) return `#[${Array.from(v).join(" ")}]`;
  return `#(${v.map(formatLocal).join(" ")})`;
}

/** How an error names a host value that cannot cross the membrane (the same words locally and remotely). */
export function describeHostValue(value: unknown): string {
  if (value === undefined) return "undefined (use null for nil)";
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return `a JavaScript symbol (${String(value)}; use sym() for a Smalltalk symbol)`;
  if (typeof value === "object" && value !== null) {
    const name = (value as object).constructor?.name;
    return name && name !== "Object" ? `a host ${name}` : "a plain host object";
  }
  return `a host ${typeof value}`;
}
