/**
 * Code generation: from the analysed tree to bytecodes (via the Emitter) and the literal frame. Every
 * expression is generated either for its value (it leaves one object on the stack) or for effect
 * (nothing), as in Opal. Inlined control structures become conditional and unconditional jumps;
 * everything else is a send, special selectors (opcodes.ts, 176..207) without a literal.
 *
 * Worked example:
 *
 *   max: a and: b
 *     ^a > b ifTrue: [a] ifFalse: [b]
 *
 *   0 <10> pushTemp: 0           a
 *   1 <11> pushTemp: 1           b
 *   2 <B3> send: #>              special selector 3
 *   3 <99> jumpFalse: 6          short conditional jump over the then-branch
 *   4 <10> pushTemp: 0           then-branch: a
 *   5 <90> jumpTo: 7             short jump over the else-branch
 *   6 <11> pushTemp: 1           else-branch: b
 *   7 <7C> returnTop
 *   literals: #max:and:, methodClass
 *
 * Values follow Pharo: `x ifTrue: [...]` answers nil when x is false, ifFalse: likewise when x is true,
 * ifNil: answers the receiver when it is not nil and ifNotNil: nil when it is nil, whileTrue: and friends
 * answer nil, to:do: and timesRepeat: answer the receiver. A block ends with blockReturnTop and answers
 * nil when empty; `^` inside a block is returnTop (the VM's non-local return). The quick returns
 * 120..123 are used at method level only.
 */
import type { LiteralSpec, SourceRange } from "../method/spec.js";
import { SPECIAL_SELECTORS } from "../memory/special.js";
import type { BlockNode, BraceNode, CascadeNode, DoItNode, ExpressionNode, MessageNode, MethodNode, ReturnNode, StatementNode, VariableNode } from "./ast.js";
import type { CompileContext } from "./context.js";
import type { SourceInfo } from "./errors.js";
import { Emitter, type SpecialPush } from "./emitter.js";
import type { InlineKind } from "./inlining.js";
import { literalStep } from "./inlining.js";
import type { LiteralTable } from "./literals.js";
import type { Analysis, Scope, TempVar } from "./scopes.js";

/** Brace arrays up to this size are built on the stack; larger ones with `Array new:` and at:put:. */
export const BRACE_STACK_LIMIT = 32;
/** Frame sizes of small and large contexts (header.ts: the large frame bit). */
export const SMALL_FRAME = 16;
export const LARGE_FRAME = 56;
/**
 * Slots a frame keeps free for what the VM itself pushes on a method's behalf: the Message of a unary
 * doesNotUnderstand: (1), #cannotReturn: (2), #aboutToReturn:through: and #run:with:in: (3).
 */
export const VM_PUSH_RESERVE = 3;

const SPECIAL_INDEX = new Map<string, number>(SPECIAL_SELECTORS.map(([selector], index) => [selector, index]));
const IDENTICAL = SPECIAL_INDEX.get("==")!;

export interface GeneratedCode {
  bytecodes: Uint8Array;
  sourceMap: Array<{ pc: number; range: SourceRange }>;
  numTemps: number;
  largeFrame: boolean;
  tempNames: string[];
}

function span(node: { start: number; end: number }): SourceRange {
  return { start: node.start, end: node.end };
}

export class CodeGenerator {
  private readonly em: Emitter;
  private real: Scope;
  private frameNeed = 0;

  constructor(
    private readonly analysis: Analysis,
    private readonly lits: LiteralTable,
    private readonly ctx: CompileContext,
    private readonly info: SourceInfo,
  ) {
    this.em = new Emitter((message, at) => {
      throw this.info.error(message, at);
    });
    this.real = analysis.method;
  }

  generate(root: MethodNode | DoItNode): GeneratedCode {
    const method = this.analysis.method;
    const { primErrorTemp, primErrorRaw } = this.analysis;
    if (primErrorTemp) this.em.primitiveErrorMarker(method.numArgs);
    this.enterScope(method);
    if (primErrorRaw && primErrorTemp) {
      this.em.pushTemp(primErrorRaw.slot);
      this.storeVar(primErrorTemp, true);
    }
    const statements = root.body.statements;
    if (root.kind === "method") {
      for (const s of statements) this.statement(s, true);
      if (statements.length === 0 || !this.returns(statements[statements.length - 1])) this.em.returnSpecial("self");
    } else if (statements.length === 0) {
      this.em.returnSpecial("nil");
    } else {
      for (const s of statements.slice(0, -1)) this.statement(s, true);
      const last = statements[statements.length - 1];
      if (last.kind === "return") this.returnStatement(last);
      else this.returnStatement({ kind: "return", value: last, start: last.start, end: last.end });
    }
    this.frameNeed = Math.max(this.frameNeed, method.numTemps + this.em.maxDepth) + VM_PUSH_RESERVE;
    if (this.frameNeed > LARGE_FRAME) {
      throw this.info.error(`Method too complex: it needs ${this.frameNeed} stack slots (at most ${LARGE_FRAME})`, root.start);
    }
    const { bytecodes, sourceMap } = this.em.assemble();
    return {
      bytecodes, sourceMap, numTemps: method.numTemps, largeFrame: this.frameNeed > SMALL_FRAME,
      tempNames: method.slots.map((v) => v.name),
    };
  }

  // --- variables -------------------------------------------------------------------------------

  private literal(spec: LiteralSpec): number {
    const index = this.lits.add(spec);
    if (index === undefined) throw this.info.error("Too many literals (at most 255, selector and class binding included)", this.em.at);
    return index;
  }

  /** the frame index of `v` (a plain variable or a vector holder) in the current context */
  private localIndex(v: TempVar): number {
    if (v.home === this.real) return v.slot;
    const copied = this.real.copiedIndex.get(v);
    if (copied === undefined) throw new Error(`compiler bug: '${v.name}' is not available in this context`);
    return this.real.numArgs + copied;
  }

  private pushVar(v: TempVar): void {
    if (v.inVector) this.em.pushRemoteTemp(v.vectorIndex, this.localIndex(v.scope.holder!));
    else this.em.pushTemp(this.localIndex(v));
  }

  private storeVar(v: TempVar, pop: boolean): void {
    if (v.inVector) this.em.storeRemoteTemp(v.vectorIndex, this.localIndex(v.scope.holder!), pop);
    else this.em.storeTemp(this.localIndex(v), pop);
  }

  private pushVariable(node: VariableNode): void {
    const ref = this.analysis.refs.get(node)!;
    switch (ref.kind) {
      case "temp": return this.pushVar(ref.v);
      case "instVar": return this.em.pushReceiverVariable(ref.index);
      case "self":
      case "super": return this.em.pushSelf();
      case "thisContext": return this.em.pushThisContext();
      case "binding": return this.em.pushLiteralVariable(this.literal(ref.literal));
    }
  }

  private store(node: VariableNode, pop: boolean, range: SourceRange): void {
    const ref = this.analysis.refs.get(node)!;
    switch (ref.kind) {
      case "temp": return this.storeVar(ref.v, pop);
      case "instVar": return this.em.storeReceiverVariable(ref.index, pop, range);
      case "binding": return this.em.storeLiteralVariable(this.literal(ref.literal), pop, range);
      default: throw new Error(`compiler bug: store into ${ref.kind}`);
    }
  }

  private pushLiteral(spec: LiteralSpec): void {
    switch (spec.kind) {
      case "nil":
      case "true":
      case "false":
        return this.em.pushSpecial(spec.kind);
      case "integer":
        if (spec.value >= -1n && spec.value <= 2n) return this.em.pushSpecial(Number(spec.value) as SpecialPush);
    }
    this.em.pushLiteralConstant(this.literal(spec));
  }

  // --- scopes ----------------------------------------------------------------------------------

  /** creates the scope's temp vector; a scope in an inlined loop also resets its temporaries */
  private enterScope(scope: Scope): void {
    if (scope.holder && scope.kind !== "block") {
      this.em.pushNewArray(scope.vector.length);
      this.em.storeTemp(this.localIndex(scope.holder), true);
    }
    if (scope.inLoop) {
      for (const v of scope.declared) {
        if (v.kind !== "temp" || v.inVector) continue;
        this.em.pushSpecial("nil");
        this.em.storeTemp(v.slot, true);
      }
    }
  }

  // --- statements and expressions --------------------------------------------------------------

  private statement(node: StatementNode, effect: boolean): void {
    if (node.kind === "return") this.returnStatement(node);
    else this.expression(node, effect);
  }

  /** whether control never continues after the statement */
  private returns(node: StatementNode): boolean {
    if (node.kind === "return") return true;
    if (node.kind !== "message") return false;
    const kind = this.analysis.inlined.get(node);
    if (kind !== "ifTrueIfFalse" && kind !== "ifFalseIfTrue" && kind !== "ifNilIfNotNil" && kind !== "ifNotNilIfNil") return false;
    return node.args.every((a) => this.blockReturns(a as BlockNode));
  }

  private blockReturns(block: BlockNode): boolean {
    const s = block.body.statements;
    return s.length > 0 && this.returns(s[s.length - 1]);
  }

  private returnStatement(node: ReturnNode): void {
    const value = node.value;
    this.em.at = node.start;
    if (this.real.kind === "method") {
      if (value.kind === "variable") {
        const ref = this.analysis.refs.get(value)!;
        if (ref.kind === "self" || ref.kind === "super") return this.em.returnSpecial("self");
      }
      if (value.kind === "literal") {
        const k = value.value.kind;
        if (k === "nil" || k === "true" || k === "false") return this.em.returnSpecial(k);
      }
      this.expression(value, false);
      if (!this.returns(value)) this.em.returnTop();
      return;
    }
    this.expression(value, false);
    if (!this.returns(value)) this.em.returnTop(span(node));
  }

  private expression(node: ExpressionNode, effect: boolean): void {
    this.em.at = node.start;
    switch (node.kind) {
      case "literal":
        if (!effect) this.pushLiteral(node.value);
        return;
      case "variable":
        if (!effect) this.pushVariable(node);
        return;
      case "assignment":
        this.expression(node.value, false);
        this.em.at = node.start;
        return this.store(node.variable, effect, span(node));
      case "message":
        return this.message(node, effect);
      case "cascade":
        return this.cascade(node, effect);
      case "block":
        return this.block(node, effect);
      case "brace":
        return this.brace(node, effect);
    }
  }

  private send(selector: string, numArgs: number, isSuper: boolean, range: SourceRange): void {
    const special = isSuper ? undefined : SPECIAL_INDEX.get(selector);
    if (special !== undefined) return this.em.specialSend(special, numArgs, range);
    const index = this.literal({ kind: "symbol", value: selector });
    if (isSuper) this.em.superSend(index, numArgs, range);
    else this.em.send(index, numArgs, range);
  }

  private isSuper(node: ExpressionNode): boolean {
    return node.kind === "variable" && node.name === "super";
  }

  private message(node: MessageNode, effect: boolean): void {
    const kind = this.analysis.inlined.get(node);
    if (kind) return this.inlined(node, kind, effect);
    this.expression(node.receiver, false);
    for (const a of node.args) this.expression(a, false);
    this.em.at = node.start;
    this.send(node.selector, node.args.length, this.isSuper(node.receiver), span(node));
    if (effect) this.em.pop();
  }

  private cascade(node: CascadeNode, effect: boolean): void {
    const isSuper = this.isSuper(node.receiver);
    this.expression(node.receiver, false);
    node.messages.forEach((part, i) => {
      const last = i === node.messages.length - 1;
      if (!last) this.em.dup();
      for (const a of part.args) this.expression(a, false);
      this.em.at = part.start;
      this.send(part.selector, part.args.length, isSuper, span(part));
      if (!last) this.em.pop();
    });
    if (effect) this.em.pop();
  }

  private brace(node: BraceNode, effect: boolean): void {
    const n = node.elements.length;
    if (n <= BRACE_STACK_LIMIT) {
      for (const e of node.elements) this.expression(e, false);
      this.em.popIntoNewArray(n);
    } else {
      const scope = this.ctx.resolveBinding("Array") ?? { kind: "global" };
      this.em.pushLiteralVariable(this.literal({ kind: "binding", name: "Array", scope }));
      this.pushLiteral({ kind: "integer", value: BigInt(n) });
      this.send("new:", 1, false, span(node));
      node.elements.forEach((e, i) => {
        this.em.dup();
        this.pushLiteral({ kind: "integer", value: BigInt(i + 1) });
        this.expression(e, false);
        this.em.at = node.start;
        this.send("at:put:", 2, false, span(e));
        this.em.pop();
      });
    }
    if (effect) this.em.pop();
  }

  private block(node: BlockNode, effect: boolean): void {
    const scope = this.analysis.scopes.get(node)!;
    for (const c of scope.copied) this.em.pushTemp(this.localIndex(c));
    const end = this.em.label();
    this.em.closure(scope.numArgs, scope.copied.length, end);
    const outer = { depth: this.em.depth, maxDepth: this.em.maxDepth, real: this.real };
    this.real = scope;
    this.em.depth = this.em.maxDepth = scope.numArgs + scope.copied.length;
    for (let slot = this.em.depth; slot < scope.numTemps; slot++) {
      if (scope.slots[slot] === scope.holder) this.em.pushNewArray(scope.vector.length);
      else this.em.pushSpecial("nil");
    }
    const statements = node.body.statements;
    if (statements.length === 0) {
      this.em.pushSpecial("nil");
      this.em.blockReturnTop();
    } else {
      for (const s of statements.slice(0, -1)) this.statement(s, true);
      const last = statements[statements.length - 1];
      this.statement(last, false);
      if (!this.returns(last)) this.em.blockReturnTop();
    }
    this.frameNeed = Math.max(this.frameNeed, this.em.maxDepth);
    this.em.place(end);
    this.real = outer.real;
    this.em.depth = outer.depth - scope.copied.length + 1;
    this.em.maxDepth = Math.max(outer.maxDepth, this.em.depth);
    if (effect) this.em.pop();
  }

  // --- inlined control structures --------------------------------------------------------------

  /** the statements of an inlined block, for value or effect */
  private inlinedBody(block: BlockNode, effect: boolean): void {
    this.enterScope(this.analysis.scopes.get(block)!);
    const statements = block.body.statements;
    if (statements.length === 0) {
      if (!effect) this.em.pushSpecial("nil");
      return;
    }
    for (const s of statements.slice(0, -1)) this.statement(s, true);
    this.statement(statements[statements.length - 1], effect);
  }

  private inlined(node: MessageNode, kind: InlineKind, effect: boolean): void {
    const range = span(node);
    const args = node.args as BlockNode[];
    switch (kind) {
      case "ifTrue": return this.conditional(node, args[0], undefined, effect);
      case "ifFalse": return this.conditional(node, undefined, args[0], effect);
      case "ifTrueIfFalse": return this.conditional(node, args[0], args[1], effect);
      case "ifFalseIfTrue": return this.conditional(node, args[1], args[0], effect);
      case "and":
      case "or": return this.andOr(node, kind === "and", args[0], effect);
      case "whileTrue":
      case "whileFalse": return this.whileLoop(node.receiver as BlockNode, kind === "whileTrue", args[0], effect, range);
      case "repeat": return this.repeat(node.receiver as BlockNode, effect);
      case "toDo": return this.toDo(node, effect);
      case "timesRepeat": return this.timesRepeat(node, effect);
      case "ifNil":
      case "ifNotNil": return this.ifNil(node, kind === "ifNil", args[0], effect);
      case "ifNilIfNotNil": return this.ifNilIfNotNil(node, args[0], args[1], effect);
      case "ifNotNilIfNil": return this.ifNilIfNotNil(node, args[1], args[0], effect);
    }
  }

  /** the branches after the condition: `whenTrue` runs if it is true, `whenFalse` if false */
  private branches(whenTrue: BlockNode | undefined, whenFalse: BlockNode | undefined, effect: boolean, range: SourceRange): void {
    const base = this.em.depth - 1;
    const end = this.em.label();
    if (effect && !whenTrue) {
      this.em.jumpIf(true, end, range);
      this.inlinedBody(whenFalse!, true);
    } else if (effect && !whenFalse) {
      this.em.jumpIf(false, end, range);
      this.inlinedBody(whenTrue!, true);
    } else {
      const otherwise = this.em.label();
      this.em.jumpIf(false, otherwise, range);
      if (whenTrue) this.inlinedBody(whenTrue, effect);
      else this.em.pushSpecial("nil");
      if (!whenTrue || !this.blockReturns(whenTrue)) this.em.jump(end);
      this.em.place(otherwise);
      this.em.depth = base;
      if (whenFalse) this.inlinedBody(whenFalse, effect);
      else this.em.pushSpecial("nil");
    }
    this.em.place(end);
    this.em.depth = base + (effect ? 0 : 1);
  }

  private conditional(node: MessageNode, whenTrue: BlockNode | undefined, whenFalse: BlockNode | undefined, effect: boolean): void {
    this.expression(node.receiver, false);
    this.em.at = node.start;
    this.branches(whenTrue, whenFalse, effect, span(node));
  }

  private andOr(node: MessageNode, isAnd: boolean, block: BlockNode, effect: boolean): void {
    this.expression(node.receiver, false);
    this.em.at = node.start;
    const range = span(node);
    const base = this.em.depth - 1;
    const end = this.em.label();
    if (effect) {
      this.em.jumpIf(!isAnd, end, range);
      this.inlinedBody(block, true);
    } else {
      const otherwise = this.em.label();
      this.em.jumpIf(false, otherwise, range);
      if (isAnd) this.inlinedBody(block, false);
      else this.em.pushSpecial("true");
      if (!isAnd || !this.blockReturns(block)) this.em.jump(end);
      this.em.place(otherwise);
      this.em.depth = base;
      if (isAnd) this.em.pushSpecial("false");
      else this.inlinedBody(block, false);
    }
    this.em.place(end);
    this.em.depth = base + (effect ? 0 : 1);
  }

  private whileLoop(condition: BlockNode, whileTrue: boolean, body: BlockNode | undefined, effect: boolean, range: SourceRange): void {
    const base = this.em.depth;
    const start = this.em.label();
    const end = this.em.label();
    this.em.place(start);
    this.inlinedBody(condition, false);
    this.em.at = range.start;
    this.em.jumpIf(!whileTrue, end, range);
    if (body) this.inlinedBody(body, true);
    this.em.jump(start);
    this.em.place(end);
    this.em.depth = base;
    if (!effect) this.em.pushSpecial("nil");
  }

  private repeat(body: BlockNode, effect: boolean): void {
    const base = this.em.depth;
    const start = this.em.label();
    this.em.place(start);
    this.inlinedBody(body, true);
    this.em.jump(start);
    this.em.depth = base;
    if (!effect) this.em.pushSpecial("nil");
  }

  /** pushes a loop limit: from its hidden temporary, or the (stable) expression again */
  private pushLimit(limit: ExpressionNode, temp: TempVar | undefined): void {
    if (temp) this.em.pushTemp(temp.slot);
    else this.expression(limit, false);
  }

  private toDo(node: MessageNode, effect: boolean): void {
    const range = span(node);
    const block = node.args[node.args.length - 1] as BlockNode;
    const counter = this.analysis.scopes.get(block)!.declared[0];
    const limit = node.args[0];
    const limitTemp = this.analysis.loopTemps.get(node)?.limit;
    const stepNode = node.args.length === 3 ? node.args[1] : undefined;
    const step: LiteralSpec = stepNode?.kind === "literal" ? stepNode.value : { kind: "integer", value: 1n };
    const ascending = stepNode ? literalStep(stepNode)! > 0 : true;
    const base = this.em.depth;
    this.expression(node.receiver, false);
    this.em.storeTemp(counter.slot, effect);
    if (limitTemp) {
      this.expression(limit, false);
      this.em.storeTemp(limitTemp.slot, true);
    }
    const start = this.em.label();
    const end = this.em.label();
    this.em.place(start);
    this.em.pushTemp(counter.slot);
    this.pushLimit(limit, limitTemp);
    this.em.at = node.start;
    this.send(ascending ? "<=" : ">=", 1, false, range);
    this.em.jumpIf(false, end, range);
    this.inlinedBody(block, true);
    this.em.pushTemp(counter.slot);
    this.pushLiteral(step);
    this.send("+", 1, false, range);
    this.em.storeTemp(counter.slot, true);
    this.em.jump(start);
    this.em.place(end);
    this.em.depth = base + (effect ? 0 : 1);
  }

  private timesRepeat(node: MessageNode, effect: boolean): void {
    const range = span(node);
    const temps = this.analysis.loopTemps.get(node)!;
    const counter = temps.counter!;
    const base = this.em.depth;
    if (temps.limit) {
      this.expression(node.receiver, false);
      this.em.storeTemp(temps.limit.slot, effect);
    } else if (!effect) {
      this.expression(node.receiver, false);
    }
    this.em.pushSpecial(1);
    this.em.storeTemp(counter.slot, true);
    const start = this.em.label();
    const end = this.em.label();
    this.em.place(start);
    this.em.pushTemp(counter.slot);
    this.pushLimit(node.receiver, temps.limit);
    this.em.at = node.start;
    this.send("<=", 1, false, range);
    this.em.jumpIf(false, end, range);
    this.inlinedBody(node.args[0] as BlockNode, true);
    this.em.pushTemp(counter.slot);
    this.em.pushSpecial(1);
    this.send("+", 1, false, range);
    this.em.storeTemp(counter.slot, true);
    this.em.jump(start);
    this.em.place(end);
    this.em.depth = base + (effect ? 0 : 1);
  }

  /** stores the receiver into the parameter of an ifNotNil: block, if it has one */
  private bindNotNilParameter(block: BlockNode): void {
    if (block.params.length === 0) return;
    this.em.storeTemp(this.analysis.scopes.get(block)!.declared[0].slot, false);
  }

  private ifNil(node: MessageNode, isIfNil: boolean, block: BlockNode, effect: boolean): void {
    const range = span(node);
    this.expression(node.receiver, false);
    this.em.at = node.start;
    const base = this.em.depth - 1;
    if (!isIfNil) this.bindNotNilParameter(block);
    if (!effect) this.em.dup();
    this.em.pushSpecial("nil");
    this.em.specialSend(IDENTICAL, 1, range);
    const end = this.em.label();
    this.em.jumpIf(!isIfNil, end, range);
    if (!effect) this.em.pop();
    this.inlinedBody(block, effect);
    this.em.place(end);
    this.em.depth = base + (effect ? 0 : 1);
  }

  private ifNilIfNotNil(node: MessageNode, nilBlock: BlockNode, notNilBlock: BlockNode, effect: boolean): void {
    const range = span(node);
    this.expression(node.receiver, false);
    this.em.at = node.start;
    this.bindNotNilParameter(notNilBlock);
    this.em.pushSpecial("nil");
    this.em.specialSend(IDENTICAL, 1, range);
    this.branches(nilBlock, notNilBlock, effect, range);
  }
}
