/**
 * The literal frame under construction. Equal literals share one slot, as in Squeak's encoder (a
 * symbol used as a constant and as a selector, a global read in several places, two equal strings);
 * kinds are never mixed (the string 'a' and the symbol #a, or 1 and 1.0, stay distinct). The selector and
 * the method class binding are appended at the end, in their own slots, as Squeak does.
 */
import type { LiteralSpec } from "../method/spec.js";
import { MAX_LITERALS } from "../method/header.js";

export function literalKey(spec: LiteralSpec): string {
  switch (spec.kind) {
    case "nil":
    case "true":
    case "false":
    case "methodClass":
      return spec.kind;
    case "integer":
      return `i${spec.value}`;
    case "float":
      return Object.is(spec.value, -0) ? "f-0" : `f${spec.value}`;
    case "scaledDecimal":
      return `s${spec.numerator}/${spec.denominator}s${spec.scale}`;
    case "fraction":
      return `q${spec.numerator}/${spec.denominator}`;
    case "character":
      return `c${spec.value}`;
    case "string":
      return `'${spec.value}`;
    case "symbol":
      return `#${spec.value}`;
    case "array":
      return `(${spec.elements.map(literalKey).join(" ")})`;
    case "byteArray":
      return `[${spec.bytes.join(" ")}]`;
    case "binding":
      return `=${spec.scope.kind}:${"owner" in spec.scope ? spec.scope.owner : "pool" in spec.scope ? spec.scope.pool : ""}:${spec.name}`;
    case "namedPrimitive":
      return `<${spec.module}:${spec.name}`;
  }
}

export class LiteralTable {
  readonly literals: LiteralSpec[] = [];
  private readonly index = new Map<string, number>();

  /** `reserved` slots are kept free for the selector and the method class */
  constructor(private readonly reserved = 2) {}

  /** the index of `spec`, adding it if new; undefined when the frame is full */
  add(spec: LiteralSpec): number | undefined {
    const key = literalKey(spec);
    const known = this.index.get(key);
    if (known !== undefined) return known;
    if (this.literals.length + this.reserved >= MAX_LITERALS) return undefined;
    this.index.set(key, this.literals.length);
    this.literals.push(spec);
    return this.literals.length - 1;
  }

  /** the complete frame: the literals, then the selector and the method class binding */
  finish(selector: string): LiteralSpec[] {
    return [...this.literals, { kind: "symbol", value: selector }, { kind: "methodClass" }];
  }
}
