/**
 * Which message sends the compiler inlines, as Squeak's and Pharo's compilers do: control structures
 * whose block arguments are literal blocks with the right number of parameters. Anything else is a real
 * send (e.g. `x ifTrue: aBlock`, `x ifTrue: [:a | a]`, `super ifTrue: [...]`, or a message inside a
 * cascade). The closure analysis and the code generator both ask this module, so they always agree.
 */
import type { BlockNode, ExpressionNode, MessageNode } from "./ast.js";

export type InlineKind =
  | "ifTrue" | "ifFalse" | "ifTrueIfFalse" | "ifFalseIfTrue" | "and" | "or"
  | "whileTrue" | "whileFalse" | "repeat" | "toDo" | "timesRepeat"
  | "ifNil" | "ifNotNil" | "ifNilIfNotNil" | "ifNotNilIfNil";

function isBlock(node: ExpressionNode | undefined, ...paramCounts: number[]): node is BlockNode {
  return node?.kind === "block" && paramCounts.includes(node.params.length);
}

/** the step of an inlinable to:by:do: (a non-zero literal number) */
export function literalStep(node: ExpressionNode): number | undefined {
  if (node.kind !== "literal") return undefined;
  const v = node.value;
  if (v.kind === "integer" && v.value !== 0n) return v.value > 0n ? 1 : -1;
  if (v.kind === "float" && v.value !== 0 && Number.isFinite(v.value)) return v.value > 0 ? 1 : -1;
  return undefined;
}

export function inlineKind(node: MessageNode): InlineKind | undefined {
  const { receiver, args } = node;
  if (receiver.kind === "variable" && receiver.name === "super") return undefined;
  switch (node.selector) {
    case "ifTrue:": return isBlock(args[0], 0) ? "ifTrue" : undefined;
    case "ifFalse:": return isBlock(args[0], 0) ? "ifFalse" : undefined;
    case "ifTrue:ifFalse:": return isBlock(args[0], 0) && isBlock(args[1], 0) ? "ifTrueIfFalse" : undefined;
    case "ifFalse:ifTrue:": return isBlock(args[0], 0) && isBlock(args[1], 0) ? "ifFalseIfTrue" : undefined;
    case "and:": return isBlock(args[0], 0) ? "and" : undefined;
    case "or:": return isBlock(args[0], 0) ? "or" : undefined;
    case "whileTrue:": return isBlock(receiver, 0) && isBlock(args[0], 0) ? "whileTrue" : undefined;
    case "whileFalse:": return isBlock(receiver, 0) && isBlock(args[0], 0) ? "whileFalse" : undefined;
    case "whileTrue": return isBlock(receiver, 0) ? "whileTrue" : undefined;
    case "whileFalse": return isBlock(receiver, 0) ? "whileFalse" : undefined;
    case "repeat": return isBlock(receiver, 0) ? "repeat" : undefined;
    case "to:do:": return isBlock(args[1], 1) ? "toDo" : undefined;
    case "to:by:do:": return isBlock(args[2], 1) && literalStep(args[1]) !== undefined ? "toDo" : undefined;
    case "timesRepeat:": return isBlock(args[0], 0) ? "timesRepeat" : undefined;
    case "ifNil:": return isBlock(args[0], 0) ? "ifNil" : undefined;
    case "ifNotNil:": return isBlock(args[0], 0, 1) ? "ifNotNil" : undefined;
    case "ifNil:ifNotNil:": return isBlock(args[0], 0) && isBlock(args[1], 0, 1) ? "ifNilIfNotNil" : undefined;
    case "ifNotNil:ifNil:": return isBlock(args[0], 0, 1) && isBlock(args[1], 0) ? "ifNotNilIfNil" : undefined;
  }
  return undefined;
}

/** The inlined literal blocks of an inlined send, and whether each is a loop body (re-entered). */
export function inlinedBlocks(node: MessageNode, kind: InlineKind): Array<{ block: BlockNode; loop: boolean }> {
  const block = (n: ExpressionNode) => n as BlockNode;
  switch (kind) {
    case "whileTrue":
    case "whileFalse":
      return [{ block: block(node.receiver), loop: true }, ...node.args.map((a) => ({ block: block(a), loop: true }))];
    case "repeat":
      return [{ block: block(node.receiver), loop: true }];
    case "toDo":
    case "timesRepeat":
      return [{ block: block(node.args[node.args.length - 1]), loop: true }];
    default:
      return node.args.map((a) => ({ block: block(a), loop: false }));
  }
}
