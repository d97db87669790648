/**
 * The real blocks of a compiled method, found again from its source: the names of the slots of each
 * block's context (arguments, copied values, then the block's own temporaries, as the compiler laid them
 * out: docs/compiler.md, "Frame layout") and the block's source text. A CompiledMethod keeps neither, so
 * they come from the compiler's own analysis of the method's source: the real blocks of the method, in
 * source order, are the push-closure instructions of its bytecodes, in pc order; a closure names its
 * block by its start pc. The match is checked (argument and copied-value counts); when it does not hold,
 * the answer is "unknown" rather than wrong.
 *
 *   "foo ^ #(1 2) collect: [:x | x * 2]"  ->  { startpc of that block: { names [x], source "[:x | x * 2]" } }
 */
import { SourceInfo } from "./errors.js";
import { parseDoItSource, parseMethodSource } from "./parser.js";
import { analyze, type PrimErrorDeclaration, type Scope } from "./scopes.js";
import type { CompileContext } from "./context.js";
import type { DoItNode, MethodNode, PragmaArgument } from "./ast.js";
import { decode } from "../bytecode/opcodes.js";

export interface BlockLayout {
  /** the block's start pc (Squeak 1-based pc of its first instruction) */
  startpc: number;
  numArgs: number;
  numCopied: number;
  /** every slot of the block's context: arguments, copied values, temporaries */
  names: string[];
  /** the block as written, from its '[' to its ']' */
  source: string;
}

function primErrorOf(root: MethodNode | DoItNode): PrimErrorDeclaration | undefined {
  if (root.kind !== "method") return undefined;
  for (const pragma of root.pragmas) {
    if (!pragma.selector.startsWith("primitive:")) continue;
    const keywords = pragma.selector.split(":").slice(0, -1);
    const at = keywords.indexOf("error");
    if (at < 0) continue;
    const arg: PragmaArgument = pragma.args[at];
    if (arg.kind === "name") return { name: arg.name, start: arg.start };
    if (arg.kind === "literal" && (arg.value.kind === "string" || arg.value.kind === "symbol")) return { name: arg.value.value, start: arg.start };
  }
  return undefined;
}

/**
 * The layouts of every real block of a method, by start pc. `code` is the method's bytecodes and
 * `initialPc` the pc of code[0]. Answers undefined when the source does not compile to these bytecodes'
 * blocks (an edited source file, a method from elsewhere).
 */
export function blockLayouts(source: string, doit: boolean, ctx: CompileContext, code: Uint8Array, initialPc: number): Map<number, BlockLayout> | undefined {
  let scopes: Scope[];
  try {
    const info = new SourceInfo(source);
    const root = doit ? parseDoItSource(info) : parseMethodSource(info);
    const analysis = analyze(root, ctx, info, primErrorOf(root));
    scopes = [...analysis.scopes.values()].filter((s) => s.kind === "block").sort((a, b) => a.node.start - b.node.start);
  } catch {
    return undefined;
  }
  const closures: Array<{ startpc: number; numArgs: number; numCopied: number }> = [];
  for (let i = 0; i < code.length; ) {
    const ins = decode(code, i);
    if (ins.op === "pushClosure") closures.push({ startpc: initialPc + i + ins.length, numArgs: ins.numArgs ?? 0, numCopied: ins.numCopied ?? 0 });
    i += Math.max(1, ins.length);
  }
  if (closures.length !== scopes.length) return undefined;
  const out = new Map<number, BlockLayout>();
  for (let i = 0; i < scopes.length; i++) {
    const scope = scopes[i];
    const closure = closures[i];
    if (scope.numArgs !== closure.numArgs || scope.copied.length !== closure.numCopied) return undefined;
    out.set(closure.startpc, { ...closure, names: scope.slots.map((v) => v.name), source: source.slice(scope.node.start, scope.node.end) });
  }
  return out;
}
