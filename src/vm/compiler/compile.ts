/**
 * The compiler pipeline: parse, check pragmas, analyse scopes, generate code, and assemble the
 * MethodSpec (quick-method primitives included).
 */
import type { LiteralSpec, MethodSpec, PragmaSpec } from "../method/spec.js";
import { MAX_PRIMITIVE, PRIM_EXTERNAL_CALL, QuickPrimitive } from "../method/header.js";
import type { DoItNode, MethodNode, PragmaArgument, PragmaNode } from "./ast.js";
import { CodeGenerator } from "./codegen.js";
import type { CompileContext } from "./context.js";
import { SourceInfo, type CompileOptions, type CompileWarning } from "./errors.js";
import { LiteralTable } from "./literals.js";
import { parseDoItSource, parseMethodSource } from "./parser.js";
import { analyze, type Analysis, type PrimErrorDeclaration } from "./scopes.js";

export interface CompileResult {
  method: MethodSpec;
  warnings: CompileWarning[];
}

/** Compiles a method definition (`selector pattern`, pragmas, temporaries, statements). */
export function compileMethod(source: string, ctx: CompileContext, options?: CompileOptions): CompileResult {
  const info = new SourceInfo(source, options);
  return generate(parseMethodSource(info), ctx, info);
}

/**
 * Compiles an expression sequence, optionally starting with `| temps |`, as a method #DoIt without
 * arguments that answers the value of its last statement (nil when there is none).
 */
export function compileDoIt(source: string, ctx: CompileContext, options?: CompileOptions): CompileResult {
  const info = new SourceInfo(source, options);
  return generate(parseDoItSource(info), ctx, info);
}

/** Parses a method definition without compiling it. */
export function parseMethod(source: string, options?: CompileOptions): MethodNode {
  return parseMethodSource(new SourceInfo(source, options));
}

/** Parses an expression sequence (a doit) without compiling it. */
export function parseExpression(source: string, options?: CompileOptions): DoItNode {
  return parseDoItSource(new SourceInfo(source, options));
}

interface PrimitiveDeclaration {
  number: number;
  named?: { module: string; name: string };
  error?: PrimErrorDeclaration;
}

function generate(root: MethodNode | DoItNode, ctx: CompileContext, info: SourceInfo): CompileResult {
  const { primitive, pragmas } = root.kind === "method" ? readPragmas(root.pragmas, info) : { primitive: undefined, pragmas: [] };
  const analysis = analyze(root, ctx, info, primitive?.error);
  const lits = new LiteralTable();
  if (primitive?.named) lits.add({ kind: "namedPrimitive", ...primitive.named });
  const code = new CodeGenerator(analysis, lits, ctx, info).generate(root);
  const selector = root.kind === "method" ? root.selector : "DoIt";
  const method: MethodSpec = {
    selector,
    numArgs: root.kind === "method" ? root.params.length : 0,
    numTemps: code.numTemps,
    primitive: primitive?.number ?? (root.kind === "method" ? quickPrimitive(root, analysis) : 0),
    largeFrame: code.largeFrame,
    literals: lits.finish(selector),
    bytecodes: code.bytecodes,
    pragmas,
    tempNames: code.tempNames,
    sourceMap: code.sourceMap,
    source: info.source,
  };
  return { method, warnings: analysis.warnings };
}

/** The quick-return primitive (256..519) for a method whose whole body is `^self`, `^true`, `^2`, `^ivar`... */
function quickPrimitive(node: MethodNode, analysis: Analysis): number {
  const { temps, statements } = node.body;
  if (temps.length > 0 || statements.length !== 1 || statements[0].kind !== "return") return 0;
  const value = statements[0].value;
  if (value.kind === "variable") {
    const ref = analysis.refs.get(value);
    if (ref?.kind === "self") return QuickPrimitive.returnSelf;
    if (ref?.kind === "instVar" && QuickPrimitive.returnInstVar + ref.index <= QuickPrimitive.last) return QuickPrimitive.returnInstVar + ref.index;
    return 0;
  }
  if (value.kind !== "literal") return 0;
  const v = value.value;
  switch (v.kind) {
    case "true": return QuickPrimitive.returnTrue;
    case "false": return QuickPrimitive.returnFalse;
    case "nil": return QuickPrimitive.returnNil;
    case "integer": return v.value >= -1n && v.value <= 2n ? QuickPrimitive.returnMinusOne + Number(v.value) + 1 : 0;
    default: return 0;
  }
}

const PRIMITIVE_SELECTORS = new Set(["primitive:", "primitive:error:", "primitive:module:", "primitive:module:error:"]);

function readPragmas(nodes: PragmaNode[], info: SourceInfo): { primitive: PrimitiveDeclaration | undefined; pragmas: PragmaSpec[] } {
  let primitive: PrimitiveDeclaration | undefined;
  const pragmas: PragmaSpec[] = [];
  for (const node of nodes) {
    if (!PRIMITIVE_SELECTORS.has(node.selector)) {
      pragmas.push({ keyword: node.selector, args: node.args.map((a) => pragmaValue(a, info)) });
      continue;
    }
    if (primitive) throw info.error("Only one primitive pragma is allowed", node.start);
    primitive = readPrimitive(node, info);
  }
  return { primitive, pragmas };
}

function readPrimitive(node: PragmaNode, info: SourceInfo): PrimitiveDeclaration {
  const keywords = node.selector.split(":").slice(0, -1);
  const arg = (keyword: string) => node.args[keywords.indexOf(keyword)];
  const which = arg("primitive");
  const result: PrimitiveDeclaration = { number: 0 };
  const text = (a: PragmaArgument): string | undefined =>
    a.kind === "literal" && (a.value.kind === "string" || a.value.kind === "symbol") ? a.value.value : undefined;
  if (which.kind === "literal" && which.value.kind === "integer") {
    if (keywords.includes("module")) throw info.error("A numbered primitive has no module", node.start);
    const n = which.value.value;
    if (n < 0n || n > BigInt(MAX_PRIMITIVE)) throw info.error(`Primitive number out of range (0 to ${MAX_PRIMITIVE})`, which.start);
    result.number = Number(n);
  } else {
    const name = text(which);
    if (name === undefined) throw info.error("Primitive number or name expected", which.start);
    let module = "";
    if (keywords.includes("module")) {
      const m = arg("module");
      const moduleName = text(m);
      if (moduleName === undefined) throw info.error("Module name (a string) expected", m.start);
      module = moduleName;
    }
    result.number = PRIM_EXTERNAL_CALL;
    result.named = { module, name };
  }
  if (keywords.includes("error")) {
    const e = arg("error");
    const name = e.kind === "name" ? e.name : text(e);
    if (name === undefined) throw info.error("Name of the error code temporary expected", e.start);
    result.error = { name, start: e.start };
  }
  return result;
}

function pragmaValue(arg: PragmaArgument, info: SourceInfo): PragmaSpec["args"][number] {
  if (arg.kind === "name") throw info.error("Literal expected as pragma argument", arg.start);
  const v: LiteralSpec = arg.value;
  switch (v.kind) {
    case "nil": return null;
    case "true": return true;
    case "false": return false;
    case "integer": return v.value;
    case "float": return v.value;
    case "scaledDecimal":
    case "fraction": return Number(v.numerator) / Number(v.denominator);
    case "character": return String.fromCodePoint(v.value);
    case "string":
    case "symbol": return v.value;
    default: throw info.error("Pragma arguments must be numbers, strings, symbols, characters, booleans or nil", arg.start);
  }
}
