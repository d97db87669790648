/**
 * Human-readable listings of compiled methods, for tests and tools:
 *
 *   0 <10> pushTemp: 0
 *   1 <D0> send: #printString
 *   2 <7C> returnTop
 */
import type { LiteralSpec, MethodSpec } from "../method/spec.js";
import { disassemble } from "../bytecode/disassembler.js";

export function printLiteral(spec: LiteralSpec, nested = false): string {
  switch (spec.kind) {
    case "nil":
    case "true":
    case "false":
      return spec.kind;
    case "integer":
      return String(spec.value);
    case "float":
      return Number.isInteger(spec.value) ? spec.value.toFixed(1) : String(spec.value);
    case "scaledDecimal":
      return `${spec.numerator}/${spec.denominator}s${spec.scale}`;
    case "fraction":
      return `(${spec.numerator}/${spec.denominator})`;
    case "character":
      return `$${String.fromCodePoint(spec.value)}`;
    case "string":
      return `'${spec.value.replaceAll("'", "''")}'`;
    case "symbol":
      return /^[A-Za-z_][A-Za-z0-9_:]*$|^[-+*/\\<>=~@%|&?,]+$/.test(spec.value) ? `#${spec.value}` : `#'${spec.value.replaceAll("'", "''")}'`;
    case "array":
      return `${nested ? "" : "#"}(${spec.elements.map((e) => printLiteral(e, true)).join(" ")})`;
    case "byteArray":
      return `#[${spec.bytes.join(" ")}]`;
    case "binding":
      return spec.scope.kind === "global" ? spec.name : `${spec.name} (${spec.scope.kind})`;
    case "methodClass":
      return "methodClass";
    case "namedPrimitive":
      return `<primitive: '${spec.name}' module: '${spec.module}'>`;
  }
}

/** The method's bytecodes, one instruction per line. */
export function listMethod(method: MethodSpec): string[] {
  return disassemble(method.bytecodes, { literal: (i) => printLiteral(method.literals[i] ?? { kind: "nil" }) });
}
