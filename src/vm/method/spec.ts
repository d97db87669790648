/**
 * What the compiler produces and what an installer turns into a CompiledMethod inside a heap. Literals
 * are described, not materialized: the compiler runs on the host and never touches a guest's objects, so
 * the same MethodSpec can be installed in any image (this is how the membrane keeps the transitive
 * closure property when it injects code).
 */

export type LiteralSpec =
  | { kind: "nil" }
  | { kind: "true" }
  | { kind: "false" }
  | { kind: "integer"; value: bigint }
  | { kind: "float"; value: number }
  | { kind: "scaledDecimal"; numerator: bigint; denominator: bigint; scale: number }
  /** `1e-2` is the Fraction 1/100, in lowest terms, as in Pharo */
  | { kind: "fraction"; numerator: bigint; denominator: bigint }
  | { kind: "character"; value: number }
  | { kind: "string"; value: string }
  | { kind: "symbol"; value: string }
  | { kind: "array"; elements: LiteralSpec[] }
  | { kind: "byteArray"; bytes: number[] }
  /** the association of a global, class variable or pool variable; `undeclared` ones go to Undeclared */
  | { kind: "binding"; name: string; scope: BindingScope }
  /** the association (name -> class) of the method's class, the last literal of every method */
  | { kind: "methodClass" }
  /** first literal of a named-primitive method: {module. name. 0. 0} */
  | { kind: "namedPrimitive"; module: string; name: string };

export type BindingScope =
  | { kind: "global" }
  | { kind: "classVariable"; owner: string }
  | { kind: "poolVariable"; pool: string }
  | { kind: "undeclared" };

export interface PragmaSpec {
  keyword: string;
  args: Array<string | number | bigint | boolean | null>;
}

export interface SourceRange {
  /** 0-based offsets into the method's source */
  start: number;
  end: number;
}

export interface MethodSpec {
  selector: string;
  numArgs: number;
  /** arguments included */
  numTemps: number;
  /** 0 for none */
  primitive: number;
  largeFrame: boolean;
  /** every literal, in order; the compiler puts the selector and then methodClass last, as Squeak does */
  literals: LiteralSpec[];
  bytecodes: Uint8Array;
  pragmas: PragmaSpec[];
  /** names of the method's temporaries by index (arguments first), for tools */
  tempNames: string[];
  /** for each instruction that can fail or send, its 0-based bytecode offset and source range */
  sourceMap: Array<{ pc: number; range: SourceRange }>;
  source: string;
}
