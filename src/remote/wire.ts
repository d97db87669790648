/**
 * Values on the wire, shared by the server and the client and by both transports: LocalValue (values.ts)
 * to and from the `Value` message, faithfully (a JavaScript number stays a number, a bigint a bigint,
 * FloatValue a FloatValue, -0 stays -0, bytes come back as a plain Uint8Array).
 *
 * Decoding is defensive: the input may come from anyone (a WebSocket frame), so every field is checked and
 * a bad one is an "invalidArgument" error naming it, never a crash.
 */
import { Packr } from "msgpackr";
import { MembraneError, type ObjectMirror } from "../membrane/objectSpace.js";
import { Char, FloatValue, Sym, type LocalValue } from "../membrane/values.js";
import { describeHostValue } from "../membrane/values.js";

/** gRPC metadata: the session of a call, and the domain and code of an error (see errors.ts) */
export const SESSION_METADATA = "oz-session";
export const ERROR_DOMAIN_METADATA = "oz-error-domain";
export const ERROR_CODE_METADATA = "oz-error-code";

/** The handles a client sends for a mirror of another space (another client's, a local one) and for a mirror it released. */
export const FOREIGN_HANDLE = "foreign";
export const RELEASED_HANDLE = "released";

/** The MessagePack codec of the WebSocket transport: plain maps (no msgpackr records), undefined as nil. */
export function wirePackr(): Packr {
  return new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true, moreTypes: false });
}

export interface WireValue {
  nil?: boolean;
  boolean?: boolean;
  number?: number;
  integer?: string;
  float?: number;
  string?: string;
  symbol?: string;
  character?: number;
  byteArray?: Uint8Array;
  array?: { values?: WireValue[] };
  handle?: string;
  negativeZero?: "number" | "float";
  tree?: { nodes?: WireValue[] };
  arraySize?: number;
}

export interface MirrorRef {
  handle: string;
  kind: string;
}

/** The deepest Value nesting decoded (the membrane itself refuses more than 1000 levels). */
export const MAX_VALUE_DEPTH = 1100;

const VALUE_KEYS = ["nil", "boolean", "number", "integer", "float", "string", "symbol", "character", "byteArray", "array", "handle", "negativeZero", "tree", "arraySize"] as const;

/** Arrays nested deeper than this travel as a flat ValueTree (no decoder recursion on either side). */
export const NESTED_ARRAY_LIMIT = 16;

export function bad(message: string): MembraneError {
  return new MembraneError("invalidArgument", message);
}

/** A plain Uint8Array (not a Buffer view), so that results compare equal to the local space's. */
export function plainBytes(b: Uint8Array): Uint8Array {
  if (b.constructor === Uint8Array) return b;
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}

const NESTED_TOO_DEEPLY = "the value is nested too deeply (more than 1000 levels)";

/**
 * Host value to wire, refusing what the local space refuses, with its messages: host objects, cycles,
 * more than 1000 levels. A mirror inside a value is not a host value: `mirrorCheck` throws the error for
 * it (wrongSpace for another space's, invalidArgument for one of this space); without it, invalidArgument.
 */
export function encodeLocal(v: LocalValue, mirrorCheck?: (m: ObjectMirror) => void): WireValue {
  const depth = { max: 0 };
  const w = encodeAt(v, new Set(), 0, depth, mirrorCheck);
  return depth.max > NESTED_ARRAY_LIMIT ? { tree: { nodes: flattenWire(w) } } : w;
}

function encodeAt(v: unknown, seen: Set<unknown>, depth: number, deepest: { max: number }, mirrorCheck?: (m: ObjectMirror) => void): WireValue {
  if (v === null) return { nil: true };
  switch (typeof v) {
    case "boolean":
      return { boolean: v };
    case "number":
      return Object.is(v, -0) ? { negativeZero: "number" } : { number: v };
    case "bigint":
      return { integer: v.toString() };
    case "string":
      return { string: v };
  }
  if (v instanceof Sym) return { symbol: v.name };
  if (v instanceof Char) return { character: v.code };
  if (v instanceof FloatValue) {
    if (typeof v.value !== "number") throw bad("a FloatValue holds a number");
    return Object.is(v.value, -0) ? { negativeZero: "float" } : { float: v.value };
  }
  if (v instanceof Uint8Array) return { byteArray: v };
  if (Array.isArray(v)) {
    if (seen.has(v)) throw bad("the array contains itself: a cyclic host value cannot be translated");
    if (depth > 1000) throw bad(NESTED_TOO_DEEPLY);
    if (depth + 1 > deepest.max) deepest.max = depth + 1;
    seen.add(v);
    const values = v.map((e) => encodeAt(e, seen, depth + 1, deepest, mirrorCheck));
    seen.delete(v);
    return { array: { values } };
  }
  if (isMirrorLike(v)) {
    if (mirrorCheck) mirrorCheck(v);
    throw bad("a mirror is not a host value: pass the mirror itself where a value is expected, not inside a host array");
  }
  throw bad(
    `cannot translate ${describeHostValue(v)} into the guest: only nil, booleans, integers, floats, characters, strings, symbols, and arrays and byte arrays of these cross the membrane`,
  );
}

/** A nested wire Array as preorder tree nodes, without recursion. */
function flattenWire(root: WireValue): WireValue[] {
  const nodes: WireValue[] = [];
  const stack: Array<{ items: WireValue[]; next: number }> = [];
  const visit = (w: WireValue) => {
    if (w.array) {
      const items = w.array.values ?? [];
      nodes.push({ arraySize: items.length });
      stack.push({ items, next: 0 });
    } else {
      nodes.push(w);
    }
  };
  visit(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next >= top.items.length) stack.pop();
    else visit(top.items[top.next++]);
  }
  return nodes;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

/**
 * Wire to host value. `resolveHandle` turns a handle into a mirror (server side, for arguments); without
 * it a handle is an error (results and LocalValue-only arguments).
 */
function decodeTree(tree: unknown, where: string): LocalValue {
  const nodes = isRecord(tree) ? (tree as { nodes?: unknown }).nodes ?? [] : undefined;
  if (!Array.isArray(nodes)) throw bad(`${where}.tree must be a ValueTree ({ nodes: [...] })`);
  let root: LocalValue | undefined;
  let rooted = false;
  const stack: Array<{ items: LocalValue[]; remaining: number }> = [];
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const size = isRecord(node) ? node.arraySize : undefined;
    let value: LocalValue;
    let open: { items: LocalValue[]; remaining: number } | undefined;
    if (size !== undefined && size !== null) {
      if (typeof size !== "number" || !Number.isInteger(size) || size < 0 || size > nodes.length) throw bad(`${where}.tree node ${i + 1}: a bad arraySize`);
      value = [];
      if (size > 0) open = { items: value, remaining: size };
    } else {
      value = decodeValue(node, `${where}.tree node ${i + 1}`, undefined, 1) as LocalValue;
    }
    if (stack.length === 0) {
      if (rooted) throw bad(`${where}.tree has nodes after its root`);
      root = value;
      rooted = true;
    } else {
      const top = stack[stack.length - 1];
      top.items.push(value);
      top.remaining--;
    }
    if (open) {
      if (stack.length >= MAX_VALUE_DEPTH) throw bad(NESTED_TOO_DEEPLY);
      stack.push(open);
    }
    while (stack.length > 0 && stack[stack.length - 1].remaining === 0) stack.pop();
  }
  if (!rooted || stack.length > 0) throw bad(`${where}.tree is truncated`);
  return root!;
}

export function decodeValue(w: unknown, where: string, resolveHandle?: (handle: string) => ObjectMirror, depth = 0, topLevelOnly = false): LocalValue | ObjectMirror {
  if (depth > MAX_VALUE_DEPTH) throw bad(NESTED_TOO_DEEPLY);
  if (!isRecord(w)) throw bad(`${where} must be a Value (an object with one of ${VALUE_KEYS.join(", ")})`);
  let key: (typeof VALUE_KEYS)[number] | undefined;
  for (const k of VALUE_KEYS) {
    if (w[k] === undefined || w[k] === null) continue;
    if (key !== undefined) throw bad(`${where} has both ${key} and ${k}: a Value has exactly one field`);
    key = k;
  }
  if (key === undefined) throw bad(`${where} is an empty Value (set one of ${VALUE_KEYS.join(", ")})`);
  const x = w[key];
  const expect = (ok: boolean, what: string) => {
    if (!ok) throw bad(`${where}.${key} must be ${what}`);
  };
  switch (key) {
    case "nil":
      expect(x === true, "true");
      return null;
    case "boolean":
      expect(typeof x === "boolean", "a boolean");
      return x as boolean;
    case "number":
      expect(typeof x === "number", "a number");
      return x as number;
    case "integer":
      expect(typeof x === "string" && /^-?[0-9]{1,100000}$/.test(x), "an integer in decimal");
      return BigInt(x as string);
    case "float":
      expect(typeof x === "number", "a number");
      return new FloatValue(x as number);
    case "string":
      expect(typeof x === "string", "a string");
      return x as string;
    case "symbol":
      expect(typeof x === "string", "a string");
      return new Sym(x as string);
    case "character":
      expect(typeof x === "number" && Number.isInteger(x) && x >= 0, "a code point");
      return new Char(x as number);
    case "byteArray":
      expect(isBytes(x), "bytes");
      return plainBytes(x as Uint8Array);
    case "array": {
      expect(isRecord(x), "a ValueList ({ values: [...] })");
      const values = (x as { values?: unknown }).values ?? [];
      expect(Array.isArray(values), "a ValueList ({ values: [...] })");
      return (values as unknown[]).map((e, i) => decodeValue(e, `${where}[${i + 1}]`, topLevelOnly ? undefined : resolveHandle, depth + 1)) as LocalValue[];
    }
    case "handle":
      expect(typeof x === "string", "a string");
      if (!resolveHandle) throw bad(`${where} must be a host value, not a mirror`);
      return resolveHandle(x as string);
    case "negativeZero":
      expect(x === "number" || x === "float", '"number" or "float"');
      return x === "number" ? -0 : new FloatValue(-0);
    case "tree":
      if (depth > 0) throw bad(`${where}: a tree is a whole value, not an element`);
      return decodeTree(x, where);
    case "arraySize":
      throw bad(`${where}: arraySize belongs in a tree`);
  }
}

/** A wire value that must be a LocalValue (results, FromLocal arguments). */
export function decodeLocal(w: unknown, where = "value"): LocalValue {
  return decodeValue(w, where) as LocalValue;
}

export function isMirrorLike(v: unknown): v is ObjectMirror {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && "space" in v && "kind" in v;
}
