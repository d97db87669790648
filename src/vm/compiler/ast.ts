/**
 * The abstract syntax tree the parser produces. Every node carries its 0-based source range
 * [start, end). Tools get the tree from parseMethod/parseExpression; the compiler's later phases keep
 * their own information in maps keyed by nodes, so a tree is never modified after parsing.
 */
import type { LiteralSpec } from "../method/spec.js";

export interface Span {
  start: number;
  end: number;
}

/** numbers, characters, strings, symbols, literal and byte arrays, and the constants nil, true, false */
export interface LiteralNode extends Span {
  kind: "literal";
  value: LiteralSpec;
}

/** a reference to a name, including self, super and thisContext */
export interface VariableNode extends Span {
  kind: "variable";
  name: string;
}

export interface AssignmentNode extends Span {
  kind: "assignment";
  variable: VariableNode;
  value: ExpressionNode;
}

export interface MessageNode extends Span {
  kind: "message";
  receiver: ExpressionNode;
  selector: string;
  args: ExpressionNode[];
  /** the ranges of the selector's parts (one per keyword, or the unary/binary selector) */
  selectorParts: Span[];
}

/** one message of a cascade; its receiver is the cascade's */
export interface CascadePart extends Span {
  selector: string;
  args: ExpressionNode[];
  selectorParts: Span[];
}

export interface CascadeNode extends Span {
  kind: "cascade";
  receiver: ExpressionNode;
  messages: CascadePart[];
}

export interface BlockNode extends Span {
  kind: "block";
  params: VariableNode[];
  body: SequenceNode;
}

/** a brace array `{a. b}` */
export interface BraceNode extends Span {
  kind: "brace";
  elements: ExpressionNode[];
}

export type ExpressionNode = LiteralNode | VariableNode | AssignmentNode | MessageNode | CascadeNode | BlockNode | BraceNode;

export interface ReturnNode extends Span {
  kind: "return";
  value: ExpressionNode;
}

export type StatementNode = ExpressionNode | ReturnNode;

export interface SequenceNode extends Span {
  temps: VariableNode[];
  statements: StatementNode[];
}

export type PragmaArgument = { kind: "literal"; value: LiteralSpec; start: number; end: number } | { kind: "name"; name: string; start: number; end: number };

export interface PragmaNode extends Span {
  selector: string;
  args: PragmaArgument[];
}

export interface MethodNode extends Span {
  kind: "method";
  selector: string;
  selectorParts: Span[];
  params: VariableNode[];
  pragmas: PragmaNode[];
  body: SequenceNode;
  source: string;
}

/** an expression sequence, optionally with temporaries: what a doit or a workspace evaluates */
export interface DoItNode extends Span {
  kind: "doit";
  body: SequenceNode;
  source: string;
}

export type Node = ExpressionNode | ReturnNode | MethodNode | DoItNode;
