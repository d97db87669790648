/**
 * Type checks of request fields against schema.ts, as the local space checks its arguments: a wrong
 * JavaScript type is a MembraneError "invalidArgument" naming the field. The client runs them before
 * sending (Protocol Buffers would otherwise coerce 42 into "42"), the server again on what it receives.
 */
import { MembraneError } from "../membrane/objectSpace.js";
import { describeHostValue } from "../membrane/values.js";
import { MESSAGES, type FieldDef } from "./schema.js";

function fail(where: string, what: string, value: unknown): never {
  throw new MembraneError("invalidArgument", `${where} must be ${what}, not ${describeHostValue(value)}`);
}

const SCALAR_CHECKS: Record<string, [string, (v: unknown) => boolean]> = {
  string: ["a string", (v) => typeof v === "string"],
  handle: ["a mirror handle", (v) => typeof v === "string"],
  double: ["a number", (v) => typeof v === "number"],
  uint32: ["a number", (v) => typeof v === "number"],
  int32: ["a number", (v) => typeof v === "number"],
  bool: ["a boolean", (v) => typeof v === "boolean"],
  bytes: ["a Uint8Array", (v) => v instanceof Uint8Array],
};

/**
 * Checks the JavaScript types of the present fields (absent ones are left to defaults). Values (`value`,
 * `local`, `integer`) are checked where they are encoded and decoded (wire.ts).
 */
export function checkFields(fields: readonly FieldDef[], args: Record<string, unknown>, prefix = ""): void {
  for (const field of fields) {
    const v = args[field.name];
    if (v === undefined) continue;
    const where = `${prefix}${field.name}`;
    if (field.repeated) {
      if (!Array.isArray(v)) fail(where, "an array", v);
      (v as unknown[]).forEach((e, i) => checkOne(field, e, `${where}[${i}]`));
    } else {
      checkOne(field, v, where);
    }
  }
}

function checkOne(field: FieldDef, v: unknown, where: string): void {
  const scalar = SCALAR_CHECKS[field.type];
  if (scalar) {
    if (!scalar[1](v)) fail(where, scalar[0], v);
    return;
  }
  if (field.type === "value" || field.type === "local" || field.type === "integer") return;
  const def = MESSAGES[field.type];
  if (!def) return;
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) fail(where, `an object (${field.type})`, v);
  checkFields(def.fields, v as Record<string, unknown>, `${where}.`);
}
