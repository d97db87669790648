/**
 * Name resolution and closure analysis: which variable each name denotes, and where every temporary
 * lives. Follows Squeak's closure compiler and Pharo's Opal (OCASTSemanticAnalyzer/OCASTClosureAnalyzer).
 *
 * Scopes: the method, each real block (a BlockClosure at run time, with its own context), and each
 * inlined block (the literal blocks of ifTrue:, whileTrue:, to:do:, ...). An inlined block has no
 * context: its parameters and temporaries are hoisted into the context of the nearest real scope.
 *
 * A temporary is, in the context of its home (the real scope that declares it, or hosts the inlined
 * scope that does):
 *   - a plain slot, when no block captures it, or when the blocks that read it may simply copy its
 *     value at creation ("copied value": no write can follow the creation of a capturing block);
 *   - an element of a temp vector (an Array held in a hidden slot of the home context and shared by
 *     the blocks), when a block writes it, or when it is written after a block that reads it was
 *     created: textually later in the home, or earlier but in an inlined loop that also contains the
 *     block's creation and runs inside the temporary's declaring scope.
 * Every scope with vector temporaries has its own vector, created when the scope is entered; for a loop
 * body that is every iteration, so each iteration's blocks share a fresh vector (Pharo semantics:
 * `1 to: 3 do: [:i | | x | x := i. blocks add: [x]]` answers 1, 2, 3). Temporaries of an inlined scope
 * inside an inlined loop are reset to nil on entry, as Pharo does for loop bodies. The counter of an
 * inlined to:do: is an argument and never assigned by user code, so blocks copy it: `1 to: 3 do: [:i |
 * blocks add: [i]]` also answers 1, 2, 3.
 *
 * Worked example:
 *
 *   sumOf: aCollection
 *     | sum count |
 *     sum := 0.
 *     aCollection do: [:each | | double | double := each * 2. sum := sum + double].
 *     count := aCollection size.
 *     ^[sum / count]
 *
 *   - aCollection: argument, slot 0 of the method context.
 *   - sum: written inside a block, so it goes into the method's temp vector at index 0.
 *   - count: read by the last block, written before that block exists: copied, a plain slot.
 *   - method slots: 0 aCollection, 1 count, 2 the vector (created by the method's first bytecodes).
 *   - block [:each | ...]: slot 0 each, 1 the vector (copied value), 2 double (pushed nil on entry).
 *   - block [sum / count]: copies the vector then count (first-reference order): slots 0 and 1.
 */
import type { BindingScope, LiteralSpec } from "../method/spec.js";
import { MAX_ARGS, MAX_TEMPS } from "../method/header.js";
import type { BlockNode, DoItNode, ExpressionNode, MessageNode, MethodNode, StatementNode, VariableNode } from "./ast.js";
import type { CompileContext } from "./context.js";
import type { CompileWarning, SourceInfo } from "./errors.js";
import { inlineKind, inlinedBlocks, type InlineKind } from "./inlining.js";

export const MAX_COPIED = 15;
/** the largest array pushNewArray can create */
export const MAX_VECTOR = 127;
export const RESERVED_NAMES: ReadonlySet<string> = new Set(["self", "super", "thisContext", "true", "false", "nil"]);

export type TempKind = "arg" | "temp" | "hidden";

export class TempVar {
  /** index in the home context's frame, when not in a vector */
  slot = -1;
  inVector = false;
  /** index in its scope's temp vector, when in a vector */
  vectorIndex = -1;
  escapingWrite = false;
  /** creation order of the first block that captures the variable */
  firstCapture = Infinity;
  /** order of the last write in the home context */
  lastWrite = -1;
  writeLoops: Set<MessageNode> | undefined;
  captureLoops: Set<MessageNode> | undefined;

  constructor(readonly name: string, readonly kind: TempKind, readonly scope: Scope, readonly start: number) {}

  get home(): Scope {
    return this.scope.real;
  }
}

export type ScopeKind = "method" | "block" | "inlined";

export class Scope {
  readonly vars = new Map<string, TempVar>();
  /** parameters then temporaries, in declaration order */
  readonly declared: TempVar[] = [];
  /** the variables of this scope held in its temp vector */
  readonly vector: TempVar[] = [];
  /** the hidden variable holding the temp vector */
  holder: TempVar | undefined;
  /** the nearest real (method or block) scope: itself unless inlined */
  readonly real: Scope;
  /** an inlined scope that is, or is inside, an inlined loop of the same context */
  readonly inLoop: boolean;

  // the fields below are used by real scopes only
  /** creation order of a block scope */
  seq = 0;
  /** the outer variables a block copies, in order; they follow the block's arguments in its frame */
  readonly copied: TempVar[] = [];
  readonly copiedIndex = new Map<TempVar, number>();
  /** every frame slot of the context: arguments, copied values, then temporaries */
  readonly slots: TempVar[] = [];
  numArgs = 0;
  /** declared variables and scope markers (for vector holders) hosted by this context, in order */
  readonly candidates: Array<TempVar | Scope> = [];

  constructor(
    readonly kind: ScopeKind,
    readonly parent: Scope | undefined,
    readonly node: MethodNode | DoItNode | BlockNode,
    /** the inlined send this scope is a loop block of */
    readonly loop?: MessageNode,
  ) {
    this.real = kind === "inlined" ? parent!.real : this;
    this.inLoop = kind === "inlined" && (loop !== undefined || parent!.inLoop);
  }

  get numTemps(): number {
    return this.slots.length;
  }
}

export type VariableRef =
  | { kind: "temp"; v: TempVar }
  | { kind: "instVar"; index: number }
  | { kind: "self" }
  | { kind: "super" }
  | { kind: "thisContext" }
  | { kind: "binding"; literal: LiteralSpec & { kind: "binding" } };

export interface LoopTemps {
  limit?: TempVar;
  counter?: TempVar;
}

export interface Analysis {
  method: Scope;
  refs: Map<VariableNode, VariableRef>;
  /** the scope of every block node, real or inlined */
  scopes: Map<BlockNode, Scope>;
  inlined: Map<MessageNode, InlineKind>;
  loopTemps: Map<MessageNode, LoopTemps>;
  /** the primitive error temporary, and the raw slot the VM stores into when that temporary is in a vector */
  primErrorTemp: TempVar | undefined;
  primErrorRaw: TempVar | undefined;
  warnings: CompileWarning[];
}

export interface PrimErrorDeclaration {
  name: string;
  start: number;
}

export function analyze(root: MethodNode | DoItNode, ctx: CompileContext, info: SourceInfo, primError?: PrimErrorDeclaration): Analysis {
  return new Analyzer(ctx, info).run(root, primError);
}

function intersects<T>(a: Set<T> | undefined, b: Set<T> | undefined): boolean {
  if (!a || !b) return false;
  for (const x of a) if (b.has(x)) return true;
  return false;
}

class Analyzer {
  private seq = 1;
  private readonly refs = new Map<VariableNode, VariableRef>();
  private readonly scopes = new Map<BlockNode, Scope>();
  private readonly inlined = new Map<MessageNode, InlineKind>();
  private readonly loopTemps = new Map<MessageNode, LoopTemps>();
  private readonly warnings: CompileWarning[] = [];
  private readonly allScopes: Scope[] = [];
  private readonly allVars: TempVar[] = [];
  private readonly crossings: Array<{ v: TempVar; from: Scope }> = [];
  private readonly ivars = new Map<string, number>();
  private readonly bindings = new Map<string, VariableRef>();
  private primErrorTemp: TempVar | undefined;
  private primErrorRaw: TempVar | undefined;

  constructor(private readonly ctx: CompileContext, private readonly info: SourceInfo) {
    ctx.instanceVariableNames.forEach((name, index) => {
      if (!this.ivars.has(name)) this.ivars.set(name, index);
    });
  }

  run(root: MethodNode | DoItNode, primError: PrimErrorDeclaration | undefined): Analysis {
    const scope = this.newScope("method", undefined, root);
    if (root.kind === "method") {
      if (root.params.length > MAX_ARGS) throw this.info.error(`Too many arguments (${root.params.length}, at most ${MAX_ARGS})`, root.params[MAX_ARGS].start);
      for (const p of root.params) this.declare(scope, p.name, "arg", p.start);
    }
    if (primError) this.primErrorTemp = this.declare(scope, primError.name, "temp", primError.start);
    this.visitBody(scope, root.body.temps, root.body.statements);
    this.finish();
    return {
      method: scope, refs: this.refs, scopes: this.scopes, inlined: this.inlined, loopTemps: this.loopTemps,
      primErrorTemp: this.primErrorTemp, primErrorRaw: this.primErrorRaw, warnings: this.warnings,
    };
  }

  private newScope(kind: ScopeKind, parent: Scope | undefined, node: MethodNode | DoItNode | BlockNode, loop?: MessageNode): Scope {
    const scope = new Scope(kind, parent, node, loop);
    this.allScopes.push(scope);
    if (node.kind === "block") this.scopes.set(node, scope);
    return scope;
  }

  private lookup(scope: Scope, name: string): TempVar | undefined {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const v = s.vars.get(name);
      if (v) return v;
    }
    return undefined;
  }

  private declare(scope: Scope, name: string, kind: TempKind, start: number): TempVar {
    if (RESERVED_NAMES.has(name)) throw this.info.error(`'${name}' is a reserved name and cannot be declared`, start);
    if (scope.vars.has(name)) throw this.info.error(`Duplicate variable name '${name}'`, start);
    if (scope.parent && this.lookup(scope.parent, name)) {
      this.warnings.push(this.info.warning("shadowed", `'${name}' shadows an outer temporary`, start));
    } else if (this.ivars.has(name)) {
      this.warnings.push(this.info.warning("shadowed", `'${name}' shadows an instance variable`, start));
    }
    const v = new TempVar(name, kind, scope, start);
    scope.vars.set(name, v);
    scope.declared.push(v);
    scope.real.candidates.push(v);
    this.allVars.push(v);
    return v;
  }

  private hidden(scope: Scope, name: string, start: number): TempVar {
    const v = new TempVar(name, "hidden", scope, start);
    scope.real.candidates.push(v);
    return v;
  }

  private visitBody(scope: Scope, temps: VariableNode[], statements: StatementNode[]): void {
    for (const t of temps) this.declare(scope, t.name, "temp", t.start);
    scope.real.candidates.push(scope);
    for (const s of statements) this.visit(s, scope);
  }

  private visit(node: StatementNode, scope: Scope): void {
    switch (node.kind) {
      case "literal":
        return;
      case "variable":
        return this.read(node, scope);
      case "assignment":
        this.visit(node.value, scope);
        return this.write(node.variable, scope);
      case "return":
        return this.visit(node.value, scope);
      case "message":
        return this.visitMessage(node, scope);
      case "cascade":
        this.visit(node.receiver, scope);
        for (const m of node.messages) for (const a of m.args) this.visit(a, scope);
        return;
      case "block":
        return this.visitBlock(node, scope);
      case "brace":
        for (const e of node.elements) this.visit(e, scope);
        return;
    }
  }

  private visitBlock(node: BlockNode, parent: Scope): void {
    const scope = this.newScope("block", parent, node);
    scope.seq = this.seq++;
    if (node.params.length > MAX_ARGS) throw this.info.error(`Too many block arguments (${node.params.length}, at most ${MAX_ARGS})`, node.params[MAX_ARGS].start);
    for (const p of node.params) this.declare(scope, p.name, "arg", p.start);
    this.visitBody(scope, node.body.temps, node.body.statements);
  }

  private visitInlined(node: BlockNode, parent: Scope, loop: MessageNode | undefined): void {
    const scope = this.newScope("inlined", parent, node, loop);
    for (const p of node.params) this.declare(scope, p.name, "arg", p.start);
    this.visitBody(scope, node.body.temps, node.body.statements);
  }

  private visitMessage(node: MessageNode, scope: Scope): void {
    const kind = inlineKind(node);
    if (!kind) {
      this.visit(node.receiver, scope);
      for (const a of node.args) this.visit(a, scope);
      return;
    }
    this.inlined.set(node, kind);
    const blocks = inlinedBlocks(node, kind);
    if (kind === "whileTrue" || kind === "whileFalse" || kind === "repeat") {
      for (const b of blocks) this.visitInlined(b.block, scope, node);
      return;
    }
    this.visit(node.receiver, scope);
    if (kind === "toDo") {
      const limit = node.args[0];
      for (const a of node.args.slice(0, -1)) this.visit(a, scope);
      if (!this.isStable(limit)) this.loopTemps.set(node, { limit: this.hidden(scope, "<limit>", limit.start) });
      this.visitInlined(blocks[0].block, scope, node);
      return;
    }
    if (kind === "timesRepeat") {
      const temps: LoopTemps = { counter: this.hidden(scope, "<counter>", node.start) };
      if (!this.isStable(node.receiver)) temps.limit = this.hidden(scope, "<limit>", node.receiver.start);
      this.loopTemps.set(node, temps);
      this.visitInlined(blocks[0].block, scope, node);
      return;
    }
    for (const b of blocks) this.visitInlined(b.block, scope, undefined);
  }

  /** whether an expression, once evaluated, keeps its value while a loop runs (no need to store it) */
  private isStable(node: ExpressionNode): boolean {
    if (node.kind === "literal") return true;
    if (node.kind !== "variable") return false;
    const ref = this.refs.get(node);
    if (ref?.kind === "self" || ref?.kind === "super") return true;
    return ref?.kind === "temp" && ref.v.kind === "arg" && ref.v.scope.kind !== "inlined";
  }

  private read(node: VariableNode, scope: Scope): void {
    const name = node.name;
    if (name === "self" || name === "super" || name === "thisContext") {
      this.refs.set(node, { kind: name });
      return;
    }
    const v = this.lookup(scope, name);
    if (v) {
      this.refs.set(node, { kind: "temp", v });
      if (v.home !== scope.real) this.capture(v, scope);
      return;
    }
    this.resolveOther(node, false);
  }

  private write(node: VariableNode, scope: Scope): void {
    const name = node.name;
    if (RESERVED_NAMES.has(name)) throw this.info.error(`Cannot store into ${name}`, node.start);
    const v = this.lookup(scope, name);
    if (v) {
      if (v.kind === "arg") throw this.info.error(`Cannot store into argument '${name}'`, node.start);
      this.refs.set(node, { kind: "temp", v });
      const seq = this.seq++;
      if (v.home !== scope.real) {
        v.escapingWrite = true;
        this.crossings.push({ v, from: scope.real });
      } else {
        v.lastWrite = seq;
        v.writeLoops = this.loopsBetween(scope, v.scope, v.writeLoops);
      }
      return;
    }
    this.resolveOther(node, true);
  }

  /** a read of `v` from a block nested (at any depth) in v's home context */
  private capture(v: TempVar, scope: Scope): void {
    let block = scope.real;
    while (block.parent!.real !== v.home) block = block.parent!.real;
    if (block.seq < v.firstCapture) v.firstCapture = block.seq;
    v.captureLoops = this.loopsBetween(block.parent!, v.scope, v.captureLoops);
    this.crossings.push({ v, from: scope.real });
  }

  /** the inlined loops enclosing `from` inside `to` (exclusive), added to `into` */
  private loopsBetween(from: Scope, to: Scope, into: Set<MessageNode> | undefined): Set<MessageNode> | undefined {
    for (let s = from; s !== to; s = s.parent!) {
      if (s.loop) (into ??= new Set()).add(s.loop);
    }
    return into;
  }

  private resolveOther(node: VariableNode, forWrite: boolean): void {
    const index = this.ivars.get(node.name);
    if (index !== undefined) {
      this.refs.set(node, { kind: "instVar", index });
      return;
    }
    let ref = this.bindings.get(node.name);
    if (!ref) {
      let scope: BindingScope | undefined = this.ctx.resolveBinding(node.name);
      if (!scope) {
        scope = { kind: "undeclared" };
        this.warnings.push(this.info.warning("undeclared", `Undeclared variable '${node.name}'`, node.start));
      }
      ref = { kind: "binding", literal: { kind: "binding", name: node.name, scope } };
      this.bindings.set(node.name, ref);
    }
    if (forWrite && ref.kind === "binding" && ref.literal.scope.kind === "poolVariable") {
      throw this.info.error(`Cannot store into pool variable '${node.name}'`, node.start);
    }
    this.refs.set(node, ref);
  }

  private finish(): void {
    for (const v of this.allVars) {
      if (v.kind !== "temp") continue;
      v.inVector = v.escapingWrite || (v.firstCapture !== Infinity && (v.lastWrite > v.firstCapture || intersects(v.writeLoops, v.captureLoops)));
      if (v.inVector) {
        v.vectorIndex = v.scope.vector.length;
        v.scope.vector.push(v);
      }
    }
    for (const s of this.allScopes) {
      if (s.vector.length > MAX_VECTOR) {
        throw this.info.error(`Too many temporaries shared with blocks (${s.vector.length}, at most ${MAX_VECTOR})`, s.node.start);
      }
      if (s.vector.length > 0) s.holder = new TempVar(`<vector: ${s.vector.map((v) => v.name).join(" ")}>`, "hidden", s, s.node.start);
    }
    for (const { v, from } of this.crossings) {
      const target = v.inVector ? v.scope.holder! : v;
      for (let r = from; r !== v.home; r = r.parent!.real) {
        if (r.copiedIndex.has(target)) break;
        r.copiedIndex.set(target, r.copied.length);
        r.copied.push(target);
      }
    }
    for (const s of this.allScopes) if (s.kind !== "inlined") this.allocate(s);
  }

  private allocate(r: Scope): void {
    const assign = (v: TempVar) => {
      v.slot = r.slots.length;
      r.slots.push(v);
    };
    const args = r.declared.filter((v) => v.kind === "arg");
    args.forEach(assign);
    r.numArgs = args.length;
    if (r.copied.length > MAX_COPIED) {
      throw this.info.error(`Block needs too many outer variables (${r.copied.length}, at most ${MAX_COPIED})`, r.node.start);
    }
    for (const c of r.copied) r.slots.push(c);
    for (const c of r.candidates) {
      if (c instanceof Scope) {
        if (c.holder) assign(c.holder);
      } else if (c.kind === "arg" && c.scope === r) {
        continue;
      } else if (c === this.primErrorTemp && c.inVector) {
        this.primErrorRaw = new TempVar(c.name, "hidden", r, c.start);
        assign(this.primErrorRaw);
      } else if (!c.inVector) {
        assign(c);
      }
    }
    if (r.slots.length > MAX_TEMPS) {
      throw this.info.error(`Too many temporaries (${r.slots.length}, at most ${MAX_TEMPS})`, r.node.start);
    }
  }
}
