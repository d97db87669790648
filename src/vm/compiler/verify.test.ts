/**
 * A bytecode verifier run over many generated methods: every instruction is reached with one stack
 * height, jumps land on instruction boundaries, every path ends in a return, temporaries and literals
 * are in range, and the large frame bit is set whenever the frames need it.
 */
import { VM_PUSH_RESERVE } from "./codegen.js";
import { describe, expect, test } from "vitest";
import { decode, type Instruction } from "../bytecode/opcodes.js";
import { SPECIAL_SELECTORS } from "../memory/special.js";
import type { MethodSpec } from "../method/spec.js";
import type { CompileContext } from "./context.js";
import { compileDoIt, compileMethod } from "./compile.js";

function stackEffect(ins: Instruction): number {
  switch (ins.op) {
    case "pushReceiverVariable": case "pushTemporary": case "pushLiteralConstant": case "pushLiteralVariable":
    case "pushSpecial": case "dup": case "pushThisContext": case "pushNewArray": case "pushRemoteTemp":
      return 1;
    case "popIntoReceiverVariable": case "popIntoTemporary": case "popIntoLiteralVariable": case "pop":
    case "popIntoRemoteTemp": case "jumpIfTrue": case "jumpIfFalse":
      return -1;
    case "storeReceiverVariable": case "storeTemporary": case "storeLiteralVariable": case "storeRemoteTemp": case "jump":
      return 0;
    case "send": case "superSend":
      return -ins.numArgs!;
    case "specialSend":
      return -SPECIAL_SELECTORS[ins.index!][1];
    case "popIntoNewArray":
      return 1 - ins.index!;
    default:
      throw new Error(`unexpected ${ins.op} at ${ins.pc}`);
  }
}

/** verifies the context whose code runs from `start` to `end`; answers its largest stack height */
function verifyContext(m: MethodSpec, start: number, end: number, initial: number, isBlock: boolean): number {
  const heights = new Map<number, number>();
  const boundaries = new Set<number>();
  for (let pc = start; pc < end; ) {
    boundaries.add(pc);
    const ins = decode(m.bytecodes, pc);
    pc = ins.op === "pushClosure" ? ins.target! : pc + ins.length;
  }
  let max = initial;
  const work: Array<[number, number]> = [[start, initial]];
  const reach = (pc: number, h: number) => {
    if (!boundaries.has(pc)) throw new Error(`jump to ${pc}, not an instruction boundary`);
    const known = heights.get(pc);
    if (known === undefined) work.push([pc, h]);
    else if (known !== h) throw new Error(`stack height ${h} at ${pc}, but ${known} on another path`);
  };
  while (work.length) {
    const [pc, h] = work.pop()!;
    const known = heights.get(pc);
    if (known !== undefined) {
      if (known !== h) throw new Error(`stack height ${h} at ${pc}, but ${known} on another path`);
      continue;
    }
    heights.set(pc, h);
    max = Math.max(max, h);
    const ins = decode(m.bytecodes, pc);
    const frameTemps = isBlock ? h : m.numTemps;
    if ((ins.op.endsWith("Temporary") || ins.op.endsWith("RemoteTemp")) && (ins.op.endsWith("RemoteTemp") ? ins.vector! : ins.index!) >= frameTemps) {
      throw new Error(`temporary out of range at ${pc}`);
    }
    if ((ins.op.includes("Literal") || ins.op === "send" || ins.op === "superSend") && ins.index! >= m.literals.length) {
      throw new Error(`literal out of range at ${pc}`);
    }
    if (ins.op === "unknown") throw new Error(`unknown bytecode at ${pc}`);
    if (ins.op === "returnTop" || ins.op === "blockReturnTop") {
      if (h < 1) throw new Error(`return with an empty stack at ${pc}`);
      if (ins.op === "blockReturnTop" && !isBlock) throw new Error(`block return in a method at ${pc}`);
      continue;
    }
    if (ins.op === "returnSpecial") {
      if (isBlock) throw new Error(`quick return in a block at ${pc}`);
      continue;
    }
    if (ins.op === "pushClosure") {
      const inner = verifyContext(m, pc + 4, ins.target!, ins.numArgs! + ins.numCopied!, true);
      blockNeeds.push(inner);
      if (h < ins.numCopied!) throw new Error(`closure copies more than the stack holds at ${pc}`);
      reach(ins.target!, h - ins.numCopied! + 1);
      continue;
    }
    const next = h + stackEffect(ins);
    if (next < 0) throw new Error(`stack underflow at ${pc}`);
    max = Math.max(max, next);
    if (ins.op === "jump") reach(ins.target!, next);
    else {
      if (ins.op === "jumpIfTrue" || ins.op === "jumpIfFalse") reach(ins.target!, next);
      if (pc + ins.length >= end) throw new Error(`falls off the end at ${pc}`);
      reach(pc + ins.length, next);
    }
  }
  return max;
}

let blockNeeds: number[] = [];

function verify(m: MethodSpec): void {
  blockNeeds = [];
  const marker = m.primitive > 0 && m.bytecodes[0] === 129 && m.bytecodes[1] === (0x40 | m.numArgs);
  const methodMax = verifyContext(m, marker ? 2 : 0, m.bytecodes.length, 0, false);
  const need = Math.max(m.numTemps + methodMax, ...blockNeeds);
  // Never too small. The compiler's estimate may exceed the reachable need (it counts code after a `^` in
  // an inlined block), which only costs a larger context; the exact boundaries are tested in limits.test.ts.
  if (!m.largeFrame && need + VM_PUSH_RESERVE > 16) throw new Error(`largeFrame is false but the frames need ${need} (+ ${VM_PUSH_RESERVE} for the VM)`);
  if (m.literals.at(-1)?.kind !== "methodClass" || m.literals.at(-2)?.kind !== "symbol") throw new Error("bad literal frame end");
}

/** a small deterministic generator of nested Smalltalk expressions */
class Generator {
  private seed: number;
  private names = 0;
  constructor(seed: number) {
    this.seed = seed;
  }
  private rand(n: number): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed % n;
  }
  private pick<T>(xs: T[]): T {
    return xs[this.rand(xs.length)];
  }
  private fresh(prefix: string): string {
    return `${prefix}${this.names++}`;
  }

  expr(depth: number, env: { readable: string[]; writable: string[] }): string {
    if (depth <= 0 || this.rand(10) < 2) {
      return this.pick(["1", "3", "-1", "'s'", "#sym", "nil", "true", "2.5", "$a", "#(1 #b)", "self", "iv", "Global", "thisContext", ...env.readable]);
    }
    const e = () => this.expr(depth - 1, env);
    const s = (e2 = env) => this.statements(depth - 1, e2);
    const w = env.writable;
    switch (this.rand(22)) {
      case 0: return `(${e()} foo)`;
      case 1: return `(${e()} + ${e()})`;
      case 2: return `(${e()} at: ${e()} put: ${e()})`;
      case 3: return `(${e()} ifTrue: [${s()}] ifFalse: [${s()}])`;
      case 4: return `(${e()} ifTrue: [${s()}])`;
      case 5: return `(${e()} ifFalse: [${s()}])`;
      case 6: return `(${e()} and: [${s()}])`;
      case 7: return `(${e()} or: [${s()}])`;
      case 8: return `([${s()}] whileTrue: [${s()}])`;
      case 9: return `([${s()}] whileFalse)`;
      case 10: {
        const i = this.fresh("i");
        const k = this.fresh("k");
        return `(${e()} to: ${e()} do: [:${i} | | ${k} | ${this.statements(depth - 1, { readable: [...env.readable, i, k], writable: [...w, k] })}])`;
      }
      case 11: return `(${e()} timesRepeat: [${s()}])`;
      case 12: {
        const x = this.fresh("x");
        return `(${e()} ifNil: [${s()}] ifNotNil: [:${x} | ${this.statements(depth - 1, { readable: [...env.readable, x], writable: w })}])`;
      }
      case 13: return `(${e()} ifNotNil: [${s()}])`;
      case 14: return `(${e()} ifNil: [${s()}])`;
      case 15: {
        const p = this.fresh("p");
        const q = this.fresh("q");
        return `[:${p} | | ${q} | ${this.statements(depth - 1, { readable: [...env.readable, p, q], writable: [...w, q] })}]`;
      }
      case 16: return `([${s()}] value)`;
      case 17: return w.length ? `(${this.pick(w)} := ${e()})` : `(iv := ${e()})`;
      case 18: return `(${e()} foo; bar: ${e()}; yourself)`;
      case 19: return `{${e()}. ${e()}}`;
      case 20: return `(super foo: ${e()})`;
      default: return `(${e()} to: 10 by: -2 do: [:${this.fresh("j")} | ${s()}])`;
    }
  }

  statements(depth: number, env: { readable: string[]; writable: string[] }): string {
    const n = this.rand(4);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.expr(depth, env));
    if (this.rand(5) === 0) out.push(`^${this.expr(depth, env)}`);
    return out.join(". ");
  }
}

const ctx: CompileContext = { className: "Foo", instanceVariableNames: ["iv"], resolveBinding: () => ({ kind: "global" }) };

describe("generated methods verify", () => {
  test("hand-picked methods", () => {
    for (const src of [
      "foo: x ^x ifTrue: [^1] ifFalse: [^2]",
      "foo: x ^[:y | x ifNil: [y] ifNotNil: [:z | ^z]]",
      "foo | a | 1 to: 3 do: [:i | | b | self add: [b := a := i]]. ^a",
      "foo <primitive: 60 error: ec> ^[ec := 3]",
      "foo: x ^(x and: [x or: [x]]) ifTrue: [[:k | k] value: 3]",
      "foo [^self] repeat",
      "foo ^[:x | [x] whileTrue. x]",
    ]) {
      verify(compileMethod(src, ctx).method);
    }
    verify(compileDoIt("| t | t := 3. [t] value", ctx).method);
  });

  test("the verifier rejects broken code", () => {
    const good = compileMethod("foo: x ^x ifTrue: [1] ifFalse: [2]", ctx).method;
    const big = compileMethod(`foo | ${Array.from({ length: 14 }, (_, i) => `t${i}`).join(" ")} | ^t0 + t1`, ctx).method;
    expect(() => verify({ ...big, largeFrame: false })).toThrow(/largeFrame/);
    const unbalanced = Uint8Array.from(good.bytecodes);
    unbalanced[3] = 0x88;
    expect(() => verify({ ...good, bytecodes: unbalanced })).toThrow(/stack height/);
    expect(() => verify({ ...good, bytecodes: good.bytecodes.slice(0, -1) })).toThrow(/falls off the end|jump to/);
  });

  test("2000 generated methods", () => {
    const gen = new Generator(42);
    let verified = 0;
    for (let n = 0; n < 2000; n++) {
      const body = gen.statements(4, { readable: ["a", "t", "u"], writable: ["t", "u"] });
      const src = `foo: a | t u | ${body}`;
      let spec: MethodSpec;
      try {
        spec = compileMethod(src, ctx).method;
      } catch (e) {
        if (e instanceof Error && /too (far|large|complex)|Too many/.test(e.message)) continue;
        throw new Error(`${(e as Error).message} compiling ${src}`);
      }
      try {
        verify(spec);
        verified++;
      } catch (e) {
        throw new Error(`${(e as Error).message} in ${src}`);
      }
    }
    expect(verified).toBeGreaterThan(1900);
  });
});
