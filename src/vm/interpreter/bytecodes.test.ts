/**
 * Every bytecode of the Squeak V3 + closures set, run by the interpreter, and the behaviour around them:
 * sends and lookup, returns (local, non-local, through unwind contexts, to dead contexts), primitives and
 * quick methods, context recycling, deep recursion, slices and interrupts.
 *
 * Every test runs with a bytecode trace that records which opcodes (and which sub-kinds of the extended
 * ones) actually executed; the last test checks that each opcode `decode` calls valid was exercised.
 * Hand-assembled methods are used where a test is about one precise encoding; compiled Smalltalk where
 * that is clearer, after checking (with `decode`) that the compiler really emitted the opcode in question.
 */
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { createSmalltalkImage, instructionsOf, opcodesOf, type SmalltalkImage } from "../testing/smalltalk.js";
import { decode } from "../bytecode/opcodes.js";
import { smallIntOop, characterOop, MAX_SMALLINT, MIN_SMALLINT, type Oop } from "../memory/oop.js";
import { HEAP_START } from "../memory/heap.js";
import { bigIntValueOf } from "../memory/integers.js";
import { SPECIAL_SELECTORS } from "../memory/special.js";
import { addMethod } from "../contract/guest.js";
import { ContextLayout, BlockClosureLayout, MessageLayout } from "../memory/layout.js";
import type { Interpreter } from "./interpreter.js";
import type { MethodSpec } from "../method/spec.js";

const int = smallIntOop;

// ------------------------------------------------------------------ coverage

const executed = new Set<string>();

function recordOpcode(vm: Interpreter): void {
  const b = vm.bytes[vm.ip];
  const b1 = vm.bytes[vm.ip + 1];
  executed.add(String(b));
  if (b >= 128 && b <= 130) executed.add(`${b}/${b1 >> 6}`);
  if (b === 132) executed.add(`132/${b1 >> 5}`);
  if (b === 138) executed.add(`138/${b1 & 128 ? "pop" : "push"}`);
}

/** The opcodes (and sub-kinds) `decode` accepts: what the coverage table must contain. */
function requiredKeys(): string[] {
  const keys: string[] = [];
  for (let b = 0; b < 256; b++) {
    if (b >= 128 && b <= 130) {
      for (let kind = 0; kind < 4; kind++) {
        if (decode(Uint8Array.of(b, kind << 6, 0, 0), 0).op !== "unknown") keys.push(`${b}/${kind}`);
      }
    } else if (b === 132) {
      for (let kind = 0; kind < 8; kind++) keys.push(`132/${kind}`);
    } else if (b === 138) {
      keys.push("138/push", "138/pop");
    } else if (decode(Uint8Array.of(b, 0, 0, 0), 0).op !== "unknown") {
      keys.push(String(b));
    }
  }
  return keys;
}

/** A Smalltalk micro image whose interpreter records every executed opcode. */
function image(options: Parameters<typeof createSmalltalkImage>[0] = {}): SmalltalkImage {
  const st = createSmalltalkImage(options);
  st.vm.trace = recordOpcode;
  return st;
}

function expectEmits(spec: MethodSpec, ...opcodes: number[]): void {
  const present = opcodesOf(spec);
  for (const op of opcodes) expect(present, `opcode ${op} in ${spec.selector}`).toContain(op);
}

/** Runs hand-assembled code and answers its result, failing the test if the slice did not finish it. */
function run(st: SmalltalkImage, bytecodes: number[], literals: Oop[] = [], options: Parameters<SmalltalkImage["run"]>[2] = {}): Oop {
  const { result, slice } = st.run(bytecodes, literals, options);
  expect(slice.fault?.message).toBeUndefined();
  expect(result).toBeDefined();
  return result!;
}

function doIt(st: SmalltalkImage, source: string, receiver?: Oop): Oop {
  const { result, slice } = st.doIt(source, { receiver });
  expect(slice.fault?.message).toBeUndefined();
  expect(result, `${source} answered`).toBeDefined();
  return result!;
}

/** A class with `n` instance variables v0..v(n-1), and an instance whose variable i holds 3i + 1. */
function wide(st: SmalltalkImage, n = 256): { cls: Oop; obj: Oop } {
  const names = Array.from({ length: n }, (_, i) => `v${i}`);
  const cls = st.defineClass(`Wide${n}`, "Object", names);
  const obj = st.mem.instantiate(cls);
  for (let i = 0; i < n; i++) st.mem.storePointer(obj, i, int(3 * i + 1));
  return { cls, obj };
}

/** The long jump bytecodes for `offset` (-1024..1023 unconditional). */
function longJump(offset: number, base = 160): number[] {
  const hi = Math.floor(offset / 256);
  return [base + hi + (base === 160 ? 4 : 0), offset - hi * 256];
}

function elements(st: SmalltalkImage, array: Oop): Oop[] {
  return Array.from({ length: st.mem.slotCount(array) }, (_, i) => st.mem.fetchPointer(array, i));
}

function integer(st: SmalltalkImage, oop: Oop): bigint | undefined {
  return bigIntValueOf(st.mem, oop);
}

// ------------------------------------------------------------------ pushes, stores, pops

describe("pushes and stores", () => {
  it("pushes receiver variables 0-15 (0-15), up to 63 (128) and 255 (132)", () => {
    const st = image();
    const { obj } = wide(st);
    for (let n = 0; n < 16; n++) expect(run(st, [n, 124], [], { receiver: obj })).toBe(int(3 * n + 1));
    expect(run(st, [128, 40, 124], [], { receiver: obj })).toBe(int(121));
    expect(run(st, [128, 63, 124], [], { receiver: obj })).toBe(int(190));
    expect(run(st, [132, 2 << 5, 200, 124], [], { receiver: obj })).toBe(int(601));
    expect(run(st, [132, 2 << 5, 255, 124], [], { receiver: obj })).toBe(int(766));
  });

  it("pops into and pushes temporaries 0-15 (104-111, 130, 129, 16-31, 128)", () => {
    const st = image();
    const code: number[] = [];
    const lits = Array.from({ length: 20 }, (_, i) => int(2 ** i));
    for (let i = 0; i < 8; i++) code.push(32 + i, 104 + i);
    for (let i = 8; i < 16; i++) code.push(32 + i, 130, 0x40 | i);
    for (let i = 16; i < 20; i++) code.push(32 + i, 129, 0x40 | i, 135);
    code.push(16);
    for (let i = 1; i < 16; i++) code.push(16 + i, 176);
    for (let i = 16; i < 20; i++) code.push(128, 0x40 | i, 176);
    code.push(124);
    expect(run(st, code, lits, { numTemps: 20, largeFrame: true })).toBe(int(2 ** 20 - 1));
  });

  it("pushes literal constants 0-31 (32-63), up to 63 (128) and 255 (132)", () => {
    const st = image();
    const lits = Array.from({ length: 250 }, (_, i) => int(1000 + i));
    for (let n = 0; n < 32; n++) expect(run(st, [32 + n, 124], lits)).toBe(int(1000 + n));
    expect(run(st, [128, 0x80 | 50, 124], lits)).toBe(int(1050));
    expect(run(st, [132, 3 << 5, 249, 124], lits)).toBe(int(1249));
  });

  it("pushes literal variables 0-31 (64-95), up to 63 (128) and 255 (132)", () => {
    const st = image();
    const lits = Array.from({ length: 250 }, (_, i) => st.association(st.sym(`G${i}`), int(i * 7)));
    for (let n = 0; n < 32; n++) expect(run(st, [64 + n, 124], lits)).toBe(int(n * 7));
    expect(run(st, [128, 0xc0 | 63, 124], lits)).toBe(int(63 * 7));
    expect(run(st, [132, 4 << 5, 240, 124], lits)).toBe(int(240 * 7));
  });

  it("stores into receiver variables (96-103, 129, 130, 132 store and pop-store)", () => {
    const st = image();
    const { obj } = wide(st);
    const h = st.mem.newHandle(obj);
    const v = int(-5);
    for (let i = 0; i < 8; i++) {
      expect(run(st, [32, 96 + i, 120], [v], { receiver: h.oop })).toBe(h.oop);
      expect(st.mem.fetchPointer(h.oop, i)).toBe(v);
    }
    expect(run(st, [32, 129, 30, 124], [int(77)], { receiver: h.oop })).toBe(int(77));
    expect(st.mem.fetchPointer(h.oop, 30)).toBe(int(77));
    expect(run(st, [32, 130, 63, 120], [int(78)], { receiver: h.oop })).toBe(h.oop);
    expect(st.mem.fetchPointer(h.oop, 63)).toBe(int(78));
    expect(run(st, [32, 132, 5 << 5, 200, 124], [int(79)], { receiver: h.oop })).toBe(int(79));
    expect(st.mem.fetchPointer(h.oop, 200)).toBe(int(79));
    expect(run(st, [32, 33, 132, 6 << 5, 255, 124], [int(80), int(81)], { receiver: h.oop })).toBe(int(80));
    expect(st.mem.fetchPointer(h.oop, 255)).toBe(int(81));
  });

  it("stores into literal variables (129, 130, 132 store; 132 store + pop past 63)", () => {
    const st = image();
    const lits = Array.from({ length: 100 }, (_, i) => st.association(st.sym(`G${i}`), st.mem.nilOop));
    const value = (i: number) => st.mem.fetchPointer(lits[i], 1);
    expect(run(st, [117, 129, 0xc0 | 5, 124], lits)).toBe(int(0));
    expect(value(5)).toBe(int(0));
    expect(run(st, [118, 130, 0xc0 | 63, 121], lits)).toBe(st.mem.trueOop);
    expect(value(63)).toBe(int(1));
    expect(run(st, [119, 132, 7 << 5, 99, 135, 123], lits)).toBe(st.mem.nilOop);
    expect(value(99)).toBe(int(2));
  });

  it("refuses to store into a literal constant (129 kind 2) with a fault, not a crash", () => {
    const st = image();
    const { slice } = st.run([117, 129, 0x80 | 0, 124], [int(1)]);
    expect(slice.reason).toBe("fault");
    expect(slice.fault?.message).toMatch(/literal constant/);
  });

  it("sends #attemptToAssign:withIndex: instead of storing into a read-only receiver; the pop forms drop its answer", () => {
    const st = image();
    st.setGlobal("Log", st.mem.nilOop);
    const cls = st.defineClass("ReadOnlyHolder", "Object", Array.from({ length: 201 }, (_, i) => `v${i}`));
    st.compile("ReadOnlyHolder", "attemptToAssign: value withIndex: index Log := {value. index}. ^ value + 1000");
    const h = st.mem.newHandle(st.mem.instantiate(cls));
    st.mem.setReadOnly(h.oop, true);
    const log = () => elements(st, st.global("Log"));
    const x = int(5);
    // pop forms: {1. (store x). 2} must be {1. 2}, the variable unchanged, the send made with the 1-based index
    for (let i = 0; i < 8; i++) {
      expect(elements(st, run(st, [118, 32, 96 + i, 119, 138, 0x80 | 2, 124], [x], { receiver: h.oop }))).toEqual([int(1), int(2)]);
      expect(log()).toEqual([x, int(i + 1)]);
      expect(st.mem.fetchPointer(h.oop, i)).toBe(st.mem.nilOop);
    }
    expect(elements(st, run(st, [118, 32, 130, 40, 119, 138, 0x80 | 2, 124], [x], { receiver: h.oop }))).toEqual([int(1), int(2)]);
    expect(log()).toEqual([x, int(41)]);
    expect(elements(st, run(st, [118, 32, 132, 6 << 5, 200, 119, 138, 0x80 | 2, 124], [x], { receiver: h.oop }))).toEqual([int(1), int(2)]);
    expect(log()).toEqual([x, int(201)]);
    // store forms leave the answer
    expect(run(st, [32, 129, 30, 124], [x], { receiver: h.oop })).toBe(int(1005));
    expect(log()).toEqual([x, int(31)]);
    expect(run(st, [32, 132, 5 << 5, 199, 124], [x], { receiver: h.oop })).toBe(int(1005));
    expect(log()).toEqual([x, int(200)]);
    expect(st.mem.fetchPointer(h.oop, 30)).toBe(st.mem.nilOop);
    // a writable object again takes the stores
    st.mem.setReadOnly(h.oop, false);
    expect(run(st, [32, 96, 120], [x], { receiver: h.oop })).toBe(h.oop);
    expect(st.mem.fetchPointer(h.oop, 0)).toBe(x);
  });

  it("drops the answer of a pop form at once when #attemptToAssign:withIndex: is a quick method, and in loops", () => {
    const st = image({ stressGC: true });
    const cls = st.defineClass("QuickReadOnly", "Object", ["a"]);
    st.compile("QuickReadOnly", "attemptToAssign: value withIndex: index ^ self");
    st.compile("QuickReadOnly", "fill: n 1 to: n do: [:i | a := i]. ^ a");
    const obj = st.mem.newHandle(st.mem.instantiate(cls));
    st.mem.setReadOnly(obj.oop, true);
    expect(elements(st, run(st, [118, 32, 96, 119, 138, 0x80 | 2, 124], [int(5)], { receiver: obj.oop }))).toEqual([int(1), int(2)]);
    expect(doIt(st, "self fill: 500", obj.oop)).toBe(st.mem.nilOop);
    st.compile("QuickReadOnly", "attemptToAssign: value withIndex: index ^ {value}");
    expect(doIt(st, "self fill: 500", obj.oop)).toBe(st.mem.nilOop);
  });

  it("sends #attemptToAssign:withIndex: to a read-only binding for stores into literal variables (129, 130, 132)", () => {
    const st = image();
    st.setGlobal("Log", st.mem.nilOop);
    st.compile("Association", "attemptToAssign: value withIndex: index Log := {value. index}. ^ 9");
    const binding = st.association(st.sym("X"), int(0));
    st.mem.setReadOnly(binding, true);
    const x = int(5);
    const log = () => elements(st, st.global("Log"));
    expect(run(st, [33, 129, 0xc0, 124], [binding, x])).toBe(int(9));
    expect(log()).toEqual([x, int(2)]);
    expect(elements(st, run(st, [118, 33, 130, 0xc0, 119, 138, 0x80 | 2, 124], [binding, x]))).toEqual([int(1), int(2)]);
    expect(run(st, [33, 132, 7 << 5, 0, 124], [binding, x])).toBe(int(9));
    expect(st.mem.fetchPointer(binding, 1)).toBe(int(0));
  });

  it("compiles variable access to these bytecodes", () => {
    const st = image();
    st.defineClass("Holder", "Object", ["a", "b"]);
    const spec = st.compile("Holder", "shuffle: x | t | t := a. a := b. b := x. G := t. ^{a. b. G. t}");
    expectEmits(spec, 0, 1, 16, 17, 96, 97, 105, 138);
    const ops = instructionsOf(spec).map((i) => i.op);
    expect(ops).toContain("pushLiteralVariable");
    expect(ops).toContain("popIntoLiteralVariable");
    const h = st.mem.instantiate(st.cls("Holder"));
    st.mem.storePointer(h, 0, int(1));
    st.mem.storePointer(h, 1, int(2));
    const result = doIt(st, "self shuffle: 3", h);
    expect(elements(st, result)).toEqual([int(2), int(3), int(1), int(1)]);
  });

  it("pushes self, true, false, nil, -1, 0, 1, 2 (112-119)", () => {
    const st = image();
    const { mem } = st;
    const expected = [int(42), mem.trueOop, mem.falseOop, mem.nilOop, int(-1), int(0), int(1), int(2)];
    for (let i = 0; i < 8; i++) expect(run(st, [112 + i, 124], [], { receiver: int(42) })).toBe(expected[i]);
  });

  it("pops (135), duplicates (136) and pushes thisContext (137)", () => {
    const st = image();
    expect(run(st, [32, 33, 135, 124], [int(5), int(6)])).toBe(int(5));
    expect(run(st, [32, 136, 176, 124], [int(21)])).toBe(int(42));
    const method = st.makeMethod([137, 124], []);
    const { result } = st.runMethod(method, int(3));
    const { mem } = st;
    expect(mem.classOfPointer(result!)).toBe(st.classes.Context);
    expect(mem.fetchPointer(result!, ContextLayout.method)).toBe(method);
    expect(mem.fetchPointer(result!, ContextLayout.receiver)).toBe(int(3));
  });

  it("pushes new arrays (138) and builds brace arrays from the stack (138 with the pop bit)", () => {
    const st = image();
    const { mem } = st;
    for (const n of [0, 1, 5, 127]) {
      const a = run(st, [138, n, 124]);
      expect(mem.classOfPointer(a)).toBe(st.classes.Array);
      expect(elements(st, a)).toEqual(new Array(n).fill(mem.nilOop));
    }
    expect(elements(st, run(st, [138, 0x80, 124]))).toEqual([]);
    expect(elements(st, run(st, [32, 33, 34, 138, 0x80 | 3, 124], [int(1), int(2), int(3)]))).toEqual([int(1), int(2), int(3)]);
    const big = Array.from({ length: 40 }, (_, i) => 32 + (i % 32));
    const lits = Array.from({ length: 32 }, (_, i) => int(i));
    const a = run(st, [...big, 138, 0x80 | 40, 124], lits, { largeFrame: true });
    expect(elements(st, a)).toEqual(Array.from({ length: 40 }, (_, i) => int(i % 32)));
    const spec = st.compile("Object", "pair: x ^{x. x + 1}");
    expectEmits(spec, 138);
    expect(elements(st, doIt(st, "3 pair: 4"))).toEqual([int(4), int(5)]);
  });
});

// ------------------------------------------------------------------ closures and remote temps

describe("closures and temp vectors", () => {
  it("creates closures with copied values and arguments (143) and evaluates them", () => {
    const st = image();
    const spec = st.compile("Object", "combine: x with: y ^[:a :b | a * x + (b * y)] value: 10 value: 100");
    const closure = instructionsOf(spec).find((i) => i.op === "pushClosure")!;
    expect(closure.numCopied).toBe(2);
    expect(closure.numArgs).toBe(2);
    expect(doIt(st, "self combine: 3 with: 4")).toBe(int(430));
  });

  it("lays out the closure object: outer context, startpc, numArgs, copied values", () => {
    const st = image();
    st.compile("Object", "adder: n ^[:x | x + n]");
    const { mem } = st;
    const closure = doIt(st, "self adder: 5");
    expect(mem.classOfPointer(closure)).toBe(st.classes.BlockClosure);
    expect(mem.fetchPointer(closure, BlockClosureLayout.numArgs)).toBe(int(1));
    expect(mem.fetchPointer(closure, 3)).toBe(int(5));
    const outer = mem.fetchPointer(closure, BlockClosureLayout.outerContext);
    expect(mem.classOfPointer(outer)).toBe(st.classes.Context);
    const method = mem.fetchPointer(outer, ContextLayout.method);
    // startpc designates the first bytecode of the block body in the outer method
    const startpc = mem.fetchPointer(closure, BlockClosureLayout.startpc) >> 1;
    const numLits = (mem.fetchPointer(method, 0) >> 10) & 0xff;
    const body = mem.fetchByte(method, startpc - 1);
    expect(startpc).toBeGreaterThan((numLits + 1) * 4);
    expect(decode(Uint8Array.of(body, 0, 0, 0), 0).op).toBe("pushTemporary");
    st.setGlobal("Adder", closure);
    expect(doIt(st, "Adder value: 37")).toBe(int(42));
  });

  it("shares written variables through temp vectors (138, 140, 141, 142)", () => {
    const st = image();
    const spec = st.compile(
      "Object",
      "counter | n inc | n := 0. inc := [:k | n := n + k]. inc value: 3. inc value: 4. ^{n. inc value: 10. n}",
    );
    expectEmits(spec, 138, 140, 142);
    expect(elements(st, doIt(st, "self counter"))).toEqual([int(7), int(17), int(17)]);
    const spec2 = st.compile("Object", "chain | a b | a := 1. [b := a := 5] value. ^a + b");
    expectEmits(spec2, 141);
    expect(doIt(st, "self chain")).toBe(int(10));
  });

  it("addresses any vector and index in remote temp bytecodes (hand-assembled)", () => {
    const st = image();
    // temp 0 := {1. 2. 3} (a vector); temp 1 := {10. 20}; push 1@0 + 0@2; store into 1@1; pop into 0@0
    const code = [
      32, 33, 34, 138, 0x83, 104,
      35, 36, 138, 0x82, 105,
      140, 0, 1, 140, 2, 0, 176, // 10 + 3
      141, 1, 1, // vector1[1] := 13 (kept on the stack)
      142, 0, 0, // vector0[0] := 13
      140, 0, 0, 140, 1, 1, 176, // 13 + 13
      124,
    ];
    expect(run(st, code, [int(1), int(2), int(3), int(10), int(20)], { numTemps: 2 })).toBe(int(26));
  });
});

// ------------------------------------------------------------------ jumps

describe("jumps", () => {
  it("short jumps forward 1..8 bytes (144-151)", () => {
    const st = image();
    for (let k = 0; k < 8; k++) expect(run(st, [144 + k, ...new Array(k + 1).fill(122), 121])).toBe(st.mem.trueOop);
  });

  it("short jumps if false (152-159), and falls through on true", () => {
    const st = image();
    for (let k = 0; k < 8; k++) {
      expect(run(st, [114, 152 + k, ...new Array(k + 1).fill(122), 121])).toBe(st.mem.trueOop);
      expect(run(st, [113, 152 + k, 121, ...new Array(k + 1).fill(122)])).toBe(st.mem.trueOop);
    }
  });

  it("long jumps forward and backward (160-167), from -1024 to 1023", () => {
    const st = image();
    for (const offset of [0, 3, 255, 256, 300, 600, 1000, 1023]) {
      expect(run(st, [...longJump(offset), ...new Array(offset).fill(122), 121])).toBe(st.mem.trueOop);
    }
    for (const offset of [-3, -5, -256, -257, -300, -600, -1000, -1024]) {
      // jump over the landing zone to a backward jump that lands on its first byte, `returnTrue`
      const landing = [121, ...new Array(-offset - 3).fill(122)];
      const code = [...longJump(landing.length), ...landing, ...longJump(offset)];
      expect(run(st, code)).toBe(st.mem.trueOop);
    }
  });

  it("long jumps if true (168-171) and if false (172-175), up to 1023 bytes", () => {
    const st = image();
    for (const [b, offset] of [[168, 10], [169, 300], [170, 600], [171, 1023]] as const) {
      const jump = [168 + (offset >> 8), offset & 255];
      expect(jump[0]).toBe(b);
      expect(run(st, [113, ...jump, ...new Array(offset).fill(122), 121])).toBe(st.mem.trueOop);
      expect(run(st, [114, ...jump, 121, ...new Array(offset).fill(122)])).toBe(st.mem.trueOop);
    }
    for (const [b, offset] of [[172, 10], [173, 300], [174, 600], [175, 1023]] as const) {
      const jump = [172 + (offset >> 8), offset & 255];
      expect(jump[0]).toBe(b);
      expect(run(st, [114, ...jump, ...new Array(offset).fill(122), 121])).toBe(st.mem.trueOop);
      expect(run(st, [113, ...jump, 121, ...new Array(offset).fill(122)])).toBe(st.mem.trueOop);
    }
  });

  it("compiles loops and conditionals to these jumps", () => {
    const st = image();
    const spec = st.compile("Object", "sumTo: n | s | s := 0. 1 to: n do: [:i | i odd ifTrue: [s := s + i]]. ^s");
    const ops = instructionsOf(spec).map((i) => i.op);
    expect(ops).toContain("jumpIfFalse");
    expect(ops).toContain("jump");
    st.compile("SmallInteger", "odd ^(self bitAnd: 1) = 1");
    expect(doIt(st, "self sumTo: 100")).toBe(int(2500));
    const spec2 = st.compile("Object", "firstOver: n | i | i := 0. [i > n] whileFalse: [i := i + 7]. ^i");
    expect(instructionsOf(spec2).some((i) => i.op === "jump" && i.target! < i.pc)).toBe(true);
    expect(doIt(st, "self firstOver: 100")).toBe(int(105));
    const spec3 = st.compile("Object", "orElse: x ^x or: [x isNil]");
    expect(instructionsOf(spec3).some((i) => i.op === "jumpIfTrue" || i.op === "jumpIfFalse")).toBe(true);
    expect(doIt(st, "self orElse: false")).toBe(st.mem.falseOop);
    expect(doIt(st, "self orElse: true")).toBe(st.mem.trueOop);
  });

  it("sends #mustBeBoolean for a non-boolean and retries the jump with its answer", () => {
    const st = image();
    st.setGlobal("Count", int(0));
    st.compile("SmallInteger", "mustBeBoolean Count := Count + 1. ^self > 0");
    const t = st.mem.trueOop;
    // jump if false, short: 5 -> true -> falls through; -5 -> false -> jumps
    expect(run(st, [32, 152, 122, 121], [int(5)])).toBe(st.mem.falseOop);
    expect(run(st, [32, 152, 122, 121], [int(-5)])).toBe(t);
    // long jump if true
    expect(run(st, [32, 168, 1, 122, 121], [int(5)])).toBe(t);
    expect(run(st, [32, 168, 1, 122, 121], [int(-5)])).toBe(st.mem.falseOop);
    // long jump if false
    expect(run(st, [32, 172, 1, 122, 121], [int(-5)])).toBe(t);
    expect(run(st, [32, 172, 1, 122, 121], [int(5)])).toBe(st.mem.falseOop);
    expect(st.global("Count")).toBe(int(6));
    // in compiled code, and with the stack below the jump intact
    const spec = st.compile("Object", "choose: x ^{7. x ifTrue: [#yes] ifFalse: [#no]. 8}");
    expect(instructionsOf(spec).some((i) => i.op === "jumpIfFalse")).toBe(true);
    expect(elements(st, doIt(st, "self choose: 3"))).toEqual([int(7), st.sym("yes"), int(8)]);
    expect(elements(st, doIt(st, "self choose: -3"))).toEqual([int(7), st.sym("no"), int(8)]);
    expect(st.global("Count")).toBe(int(8));
  });

  it("sends #mustBeBoolean to the non-boolean itself, with the jump's context as sender", () => {
    const st = image();
    st.compile("Object", "mustBeBoolean Seen := {self. thisContext sender method}. ^false");
    const method = st.makeMethod([32, 152, 121, 122], [st.sym("x")]);
    expect(st.runMethod(method).result).toBe(st.mem.falseOop);
    const seen = elements(st, st.global("Seen"));
    expect(seen[0]).toBe(st.sym("x"));
    expect(seen[1]).toBe(method);
  });
});

// ------------------------------------------------------------------ returns

describe("returns", () => {
  it("returns self, true, false, nil and the top from methods (120-124), to the sender", () => {
    const st = image();
    const { mem } = st;
    const names = ["rSelf", "rTrue", "rFalse", "rNil"];
    names.forEach((name, i) => st.defineMethod("Object", name, [117, 118, 120 + i]));
    st.defineMethod("Object", "rTop", [117, 32, 124], [int(9)]);
    const result = doIt(st, "{3 rSelf. 3 rTrue. 3 rFalse. 3 rNil. 3 rTop. 4}");
    expect(elements(st, result)).toEqual([int(3), mem.trueOop, mem.falseOop, mem.nilOop, int(9), int(4)]);
  });

  it("returns from a block to its caller (125)", () => {
    const st = image();
    const spec = st.compile("Object", "twice: x ^{[x + 1] value. [:y | y * 2] value: x}");
    expectEmits(spec, 125);
    expect(elements(st, doIt(st, "self twice: 5"))).toEqual([int(6), int(10)]);
  });

  it("returns non-locally from a block to the home's sender (124 in a block), killing the frames between", () => {
    const st = image();
    const spec = st.compile("Object", "early ^self run: [^#early]");
    expect(instructionsOf(spec).filter((i) => i.op === "returnTop").length).toBeGreaterThan(0);
    st.compile("Object", "run: aBlock Inner := thisContext. aBlock value. ^#late");
    expect(elements(st, doIt(st, "{self early. 5}"))).toEqual([st.sym("early"), int(5)]);
    const inner = st.global("Inner");
    expect(st.mem.fetchPointer(inner, ContextLayout.sender)).toBe(st.mem.nilOop);
    expect(st.mem.fetchPointer(inner, ContextLayout.pc)).toBe(st.mem.nilOop);
  });

  it("returns non-locally with 120-123 inside a block (hand-assembled)", () => {
    const st = image();
    const { mem } = st;
    const expected = [int(5), mem.trueOop, mem.falseOop, mem.nilOop];
    for (let i = 0; i < 4; i++) {
      // [^self / ^true / ^false / ^nil] value. ^#fellThrough
      st.defineMethod("Object", `nlr${i}`, [143, 0, 0, 1, 120 + i, 201, 135, 32, 124], [st.sym("fellThrough")]);
      expect(elements(st, doIt(st, `{5 nlr${i}. 6}`))).toEqual([expected[i], int(6)]);
    }
  });

  it("returns non-locally from a doit's block to the host", () => {
    const st = image();
    expect(doIt(st, "[^3] value. 4")).toBe(int(3));
    expect(doIt(st, "#(1 2 3) yourself. [:x | x > 1 ifTrue: [^x * 10]] value: 2. 0")).toBe(int(20));
  });

  it("sends #aboutToReturn:through: to thisContext when a non-local return crosses an ensure: context", () => {
    const st = image();
    st.compile(
      "Context",
      "aboutToReturn: result through: firstUnwindContext Seen := {self. result. firstUnwindContext}. ^self home return: result through: firstUnwindContext",
    );
    st.compile("Object", "guarded ^[Block := thisContext. ^42] ensure: [Ensured := true]");
    expect(elements(st, doIt(st, "{self guarded. 7}"))).toEqual([int(42), int(7)]);
    const [ctx, value, unwind] = elements(st, st.global("Seen"));
    const { mem } = st;
    expect(ctx).toBe(st.global("Block"));
    expect(value).toBe(int(42));
    const ensureMethod = mem.fetchPointer(unwind, ContextLayout.method);
    expect(mem.fetchPointer(ensureMethod, 0) >> 1 & 0x1ff).toBe(198);
    expect(st.global("Ensured")).toBe(mem.trueOop);
  });

  it("runs every unwind block on the way, innermost first, and ifCurtailed: blocks", () => {
    const st = image();
    st.setGlobal("Log", st.array([]));
    st.compile("Object", "note: x Log := {Log. x}");
    st.compile("Object", "nested ^[[[^#done] ifCurtailed: [self note: 1]] ensure: [self note: 2]] ensure: [self note: 3]");
    expect(doIt(st, "self nested")).toBe(st.sym("done"));
    const order: number[] = [];
    for (let log = st.global("Log"); st.mem.slotCount(log) === 2; log = st.mem.fetchPointer(log, 0)) {
      order.unshift(st.mem.fetchPointer(log, 1) >> 1);
    }
    expect(order).toEqual([1, 2, 3]);
  });

  it("sends #cannotReturn: when a block returns to a method that has already returned", () => {
    const st = image();
    st.compile("Context", "cannotReturn: value Seen := {self. value}. ^#handled");
    // makeBlock ^[^42] with a blockReturnTop after the ^, so that the block can go on after #cannotReturn:
    st.defineMethod("Object", "makeBlock", [143, 0, 0, 3, 32, 124, 125, 124], [int(42)]);
    expect(doIt(st, "self makeBlock value")).toBe(st.sym("handled"));
    const [ctx, value] = elements(st, st.global("Seen"));
    expect(st.mem.classOfPointer(ctx)).toBe(st.classes.Context);
    expect(st.mem.fetchPointer(ctx, ContextLayout.closureOrNil)).not.toBe(st.mem.nilOop);
    expect(value).toBe(int(42));
  });

  it("sends #cannotReturn: when a method returns to a dead sender", () => {
    const st = image();
    st.compile("Context", "cannotReturn: value Seen := {self. value}. self quit");
    st.compile("Object", "killSender Me := thisContext. thisContext sender instVarAt: 2 put: nil. ^5");
    const { slice } = st.doIt("self killSender. 6");
    expect(slice.reason).toBe("quit");
    const [ctx, value] = elements(st, st.global("Seen"));
    expect(ctx).toBe(st.global("Me"));
    expect(value).toBe(int(5));
  });

  it("sends #cannotReturn: when the bottom context of a process that is not a host job returns", () => {
    const st = image();
    st.compile("Context", "cannotReturn: value Seen := value. self quit");
    const p = st.process("3 + 4", 50);
    st.setGlobal("P", p.oop);
    const { slice } = st.doIt("P resume. #notReached");
    expect(slice.reason).toBe("quit");
    expect(st.global("Seen")).toBe(int(7));
  });
});

// ------------------------------------------------------------------ arithmetic and special selectors

type Op = { b: number; sel: string; f: (x: bigint, y: bigint) => bigint | boolean | "zeroDivide" | "inexact" };

const floorDiv = (x: bigint, y: bigint) => (x / y) * y === x || (x < 0n) === (y < 0n) ? x / y : x / y - 1n;
const ARITHMETIC: Op[] = [
  { b: 176, sel: "+", f: (x, y) => x + y },
  { b: 177, sel: "-", f: (x, y) => x - y },
  { b: 178, sel: "<", f: (x, y) => x < y },
  { b: 179, sel: ">", f: (x, y) => x > y },
  { b: 180, sel: "<=", f: (x, y) => x <= y },
  { b: 181, sel: ">=", f: (x, y) => x >= y },
  { b: 182, sel: "=", f: (x, y) => x === y },
  { b: 183, sel: "~=", f: (x, y) => x !== y },
  { b: 184, sel: "*", f: (x, y) => x * y },
  { b: 185, sel: "/", f: (x, y) => (y === 0n ? "zeroDivide" : x % y === 0n ? x / y : "inexact") },
  { b: 186, sel: "\\\\", f: (x, y) => (y === 0n ? "zeroDivide" : x - floorDiv(x, y) * y) },
  { b: 188, sel: "bitShift:", f: (x, y) => (y >= 0n ? x << y : x >> -y) },
  { b: 189, sel: "//", f: (x, y) => (y === 0n ? "zeroDivide" : floorDiv(x, y)) },
  { b: 190, sel: "bitAnd:", f: (x, y) => x & y },
  { b: 191, sel: "bitOr:", f: (x, y) => x | y },
];

const MAX = BigInt(MAX_SMALLINT);
const MIN = BigInt(MIN_SMALLINT);
const OPERANDS: bigint[] = [0n, 1n, -1n, 2n, -2n, 3n, 7n, -7n, 100n, -100n, 65536n, -65536n, MAX, MIN, MAX - 1n, MIN + 1n];
const SHIFTS: bigint[] = [0n, 1n, -1n, 5n, -5n, 29n, 30n, 31n, 32n, -30n, -31n, -32n, -40n, 40n];

describe("inlined arithmetic and comparisons (176-191)", () => {
  it("computes every SmallInteger operation exactly, inline when the result fits and by a real send otherwise", () => {
    const st = image();
    const { mem } = st;
    for (const op of ARITHMETIC) {
      const rights = op.sel === "bitShift:" ? SHIFTS : OPERANDS;
      for (const x of OPERANDS) {
        for (const y of rights) {
          const { result, slice } = st.run([32, 33, op.b, 124], [int(Number(x)), int(Number(y))]);
          const label = `${x} ${op.sel} ${y}`;
          expect(slice.fault?.message, label).toBeUndefined();
          const want = op.f(x, y);
          if (typeof want === "boolean") expect(result, label).toBe(want ? mem.trueOop : mem.falseOop);
          else if (typeof want === "string") expect(result, label).toBe(st.sym(want));
          else expect(integer(st, result!), label).toBe(want);
          const fits = typeof want === "boolean" || (typeof want === "bigint" && want >= MIN && want <= MAX);
          const inline = fits && !(op.sel === "bitShift:" && (y >= 31n || y <= -32n));
          if (inline) expect(slice.sends, `${label} inline`).toBe(0);
          else expect(slice.sends, `${label} sent`).toBeGreaterThan(0);
        }
      }
    }
  });

  it("overflows into a real send that answers a LargeInteger", () => {
    const st = image();
    const { mem } = st;
    const r = st.run([32, 118, 176, 124], [int(MAX_SMALLINT)]);
    expect(r.slice.sends).toBeGreaterThan(0);
    expect(mem.classOfPointer(r.result!)).toBe(st.classes.LargePositiveInteger);
    expect(integer(st, r.result!)).toBe(MAX + 1n);
    const neg = st.run([32, 118, 177, 124], [int(MIN_SMALLINT)]);
    expect(mem.classOfPointer(neg.result!)).toBe(st.classes.LargeNegativeInteger);
    expect(integer(st, neg.result!)).toBe(MIN - 1n);
    expect(integer(st, st.run([32, 116, 185, 124], [int(MIN_SMALLINT)]).result!)).toBe(-MIN);
    expect(integer(st, st.run([32, 116, 189, 124], [int(MIN_SMALLINT)]).result!)).toBe(-MIN);
    expect(integer(st, doIt(st, "65536 * 65536"))).toBe(1n << 32n);
  });

  it("sends division by zero (/, \\\\, //) instead of computing it", () => {
    const st = image();
    for (const b of [185, 186, 189]) {
      const r = st.run([32, 117, b, 124], [int(7)]);
      expect(r.slice.sends).toBeGreaterThan(0);
      expect(r.result).toBe(st.sym("zeroDivide"));
    }
  });

  it("sends the selector when an operand is not a SmallInteger", () => {
    const st = image();
    st.defineClass("Num", "Object", []);
    for (const op of ARITHMETIC) st.compile("Num", `${op.sel} other ^#${op.sel === "\\\\" ? "mod" : op.sel}`);
    const num = st.mem.instantiate(st.cls("Num"));
    for (const op of ARITHMETIC) {
      const r = st.run([32, 118, op.b, 124], [num]);
      expect(r.result, op.sel).toBe(st.sym(op.sel === "\\\\" ? "mod" : op.sel));
    }
    // a SmallInteger receiver with a non-integer argument goes through SmallInteger>>+ and its fallback
    expect(st.run([118, 32, 176, 124], [characterOop(65)]).result).toBe(st.sym("failed"));
  });

  it("runs a comparison and the conditional jump after it as one step, with the answers and counts of stepping", () => {
    const st = image();
    const ops: Array<[string, (x: number, y: number) => boolean]> = [
      ["<", (x, y) => x < y], [">", (x, y) => x > y], ["<=", (x, y) => x <= y],
      [">=", (x, y) => x >= y], ["=", (x, y) => x === y], ["~=", (x, y) => x !== y],
    ];
    ops.forEach(([op], i) => {
      st.compile("Object", `short${i}: a with: b ^(a ${op} b) ifTrue: [#yes] ifFalse: [#no]`);
      // a body longer than a short jump reaches: the compiler emits a long jumpFalse
      st.compile("Object", `long${i}: a with: b ^(a ${op} b) ifTrue: [| t | t := 1. t := 2. t := 3. t := 4. t := 5. t := 6. #yes] ifFalse: [#no]`);
    });
    const shortOps = opcodesOf(st.compile("Object", "probeShort: a ^(a < 1) ifTrue: [#yes] ifFalse: [#no]"));
    expect(shortOps.some((b) => b >= 152 && b <= 159)).toBe(true);
    const longOps = opcodesOf(st.compile("Object", "probeLong: a ^(a < 1) ifTrue: [| t | t := 1. t := 2. t := 3. t := 4. t := 5. t := 6. #yes] ifFalse: [#no]"));
    expect(longOps.some((b) => b >= 172 && b <= 175)).toBe(true);
    const operands = [-3, 0, 3, MAX_SMALLINT, MIN_SMALLINT];
    for (const stepping of [false, true]) {
      st.vm.trace = stepping ? () => undefined : null;
      ops.forEach(([op, f], i) => {
        for (const x of operands) {
          for (const y of operands) {
            const want = f(x, y) ? st.sym("yes") : st.sym("no");
            expect(doIt(st, `self short${i}: ${x} with: ${y}`), `${x} ${op} ${y}`).toBe(want);
            expect(doIt(st, `self long${i}: ${x} with: ${y}`), `${x} ${op} ${y} (long)`).toBe(want);
          }
        }
      });
    }
    // an operand that is not a SmallInteger takes the send, and the jump then tests its answer
    st.vm.trace = null;
    st.defineClass("Odd", "Object", []);
    st.compile("Odd", "< other ^true");
    st.compile("Odd", ">= other ^false");
    const odd = st.mem.instantiate(st.cls("Odd"));
    expect(doIt(st, "self short0: self with: 2", odd)).toBe(st.sym("yes"));
    expect(doIt(st, "self long3: self with: 2", odd)).toBe(st.sym("no"));
    // the fused pair still counts as two bytecodes: the same loop counts the same with and without it
    const loop = "| k | k := 0. [k <= 1000] whileTrue: [k := k + 1]. k";
    const fused = st.doIt(loop);
    st.vm.trace = () => undefined;
    const stepped = st.doIt(loop);
    expect(fused.result).toBe(int(1001));
    expect(fused.slice.bytecodes).toBe(stepped.slice.bytecodes);
  });

  it("compiles arithmetic to the special bytecodes", () => {
    const st = image();
    const spec = st.compile("Object", "mix: a with: b ^{a + b. a - b. a < b. a > b. a <= b. a >= b. a = b. a ~= b. a * b. a / b. a \\\\ b. a bitShift: b. a // b. a bitAnd: b. a bitOr: b}");
    expectEmits(spec, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 188, 189, 190, 191);
    const { mem } = st;
    expect(elements(st, doIt(st, "self mix: -7 with: 2"))).toEqual([
      int(-5), int(-9), mem.trueOop, mem.falseOop, mem.trueOop, mem.falseOop, mem.falseOop, mem.trueOop,
      int(-14), st.sym("inexact"), int(1), int(-28), int(-4), int(0), int(-5),
    ]);
  });
});

describe("special selector sends (176-207)", () => {
  it("looks up every special selector in the receiver's class except == and class", () => {
    const st = image();
    st.defineClass("Probe", "Object", []);
    SPECIAL_SELECTORS.forEach(([sel, n]) => {
      const keywords = sel.split(":").filter((k) => k !== "");
      const pattern = n === 0 ? sel : n === 1 && !sel.endsWith(":") ? `${sel} a` : keywords.map((k, i) => `${k}: a${i}`).join(" ");
      st.compile("Probe", `${pattern} ^${n === 0 ? `#${sel}` : `#'${sel}'`}`);
    });
    const probe = st.mem.newHandle(st.mem.instantiate(st.cls("Probe")));
    SPECIAL_SELECTORS.forEach(([sel, n], i) => {
      const b = 176 + i;
      const { result } = st.run([32, ...new Array(n).fill(115), b, 124], [probe.oop]);
      if (sel === "==") expect(result).toBe(st.mem.falseOop);
      else if (sel === "class") expect(result).toBe(st.cls("Probe"));
      else expect(result, sel).toBe(st.sym(sel));
    });
  });

  it("answers identity (198) and class (199) inline for every kind of receiver", () => {
    const st = image();
    const { mem } = st;
    const a = st.array([]);
    expect(run(st, [32, 32, 198, 124], [a])).toBe(mem.trueOop);
    expect(run(st, [32, 33, 198, 124], [a, st.array([])])).toBe(mem.falseOop);
    expect(run(st, [32, 199, 124], [int(3)])).toBe(st.classes.SmallInteger);
    expect(run(st, [32, 199, 124], [characterOop(97)])).toBe(st.classes.Character);
    expect(run(st, [115, 199, 124])).toBe(st.classes.UndefinedObject);
    expect(run(st, [32, 199, 124], [a])).toBe(st.classes.Array);
  });

  it("sends at:, at:put:, size, new, new: to the real methods", () => {
    const st = image();
    const spec = st.compile("Object", "fill | a | a := Array new: 3. a at: 1 put: 7. a at: 2 put: (a at: 1) + 1. ^{a size. a. Object new class}");
    expectEmits(spec, 192, 193, 194, 205, 204);
    const [size, a, cls] = elements(st, doIt(st, "self fill"));
    expect(size).toBe(int(3));
    expect(elements(st, a)).toEqual([int(7), int(8), st.mem.nilOop]);
    expect(cls).toBe(st.classes.Object);
  });
});

// ------------------------------------------------------------------ sends

describe("sends", () => {
  it("sends literal selectors with 0, 1 and 2 arguments from every literal slot (208-255)", () => {
    const st = image();
    st.defineClass("Sel", "Object", []);
    const sels: Oop[][] = [[], [], []];
    for (let i = 0; i < 16; i++) {
      st.compile("Sel", `s${i} ^${i}`);
      st.compile("Sel", `k${i}: a ^${i * 100} + a`);
      st.compile("Sel", `b${i}: a x: b ^${i * 10000} + (a * 100) + b`);
    }
    for (let i = 0; i < 16; i++) sels[0].push(st.sym(`s${i}`)), sels[1].push(st.sym(`k${i}:`)), sels[2].push(st.sym(`b${i}:x:`));
    const sel = st.mem.newHandle(st.mem.instantiate(st.cls("Sel")));
    for (let argc = 0; argc < 3; argc++) {
      const code: number[] = [];
      for (let i = 0; i < 16; i++) code.push(112, ...[118, 119].slice(0, argc), 208 + 16 * argc + i);
      code.push(138, 0x80 | 16, 124);
      const result = run(st, code, sels[argc], { receiver: sel.oop, largeFrame: true });
      const expected = Array.from({ length: 16 }, (_, i) => int(argc === 0 ? i : argc === 1 ? i * 100 + 1 : i * 10000 + 102));
      expect(elements(st, result)).toEqual(expected);
    }
  });

  it("sends with 0 to 15 arguments through 131, 134 and 132", () => {
    const st = image();
    const keywords = "abcdefghijklmno";
    const selectorOf = (n: number) => (n === 0 ? "m" : Array.from({ length: n }, (_, i) => `${keywords[i]}:`).join(""));
    for (let n = 0; n <= 15; n++) {
      const pattern = n === 0 ? "m" : Array.from({ length: n }, (_, i) => `${keywords[i]}: x${i}`).join(" ");
      const body = n === 0 ? "0" : Array.from({ length: n }, (_, i) => `(x${i} * ${i + 1})`).join(" + ");
      st.compile("Object", `${pattern} ^${body}`);
    }
    const expected = (n: number) => int(Array.from({ length: n }, (_, i) => (i + 1) * (i + 1)).reduce((a, b) => a + b, 0));
    const args = (n: number) => Array.from({ length: n }, (_, i) => 32 + i);
    const lits = (n: number, selIndex: number) => {
      const l = Array.from({ length: Math.max(selIndex + 1, n) }, (_, i) => int(i + 1));
      l[selIndex] = st.sym(selectorOf(n));
      return l;
    };
    for (let n = 0; n <= 7; n++) {
      const selIndex = 20;
      expect(run(st, [112, ...args(n), 131, (n << 5) | selIndex, 124], lits(n, selIndex), { largeFrame: true }), `131 with ${n}`).toBe(expected(n));
    }
    for (let n = 0; n <= 3; n++) {
      const selIndex = 50;
      expect(run(st, [112, ...args(n), 134, (n << 6) | selIndex, 124], lits(n, selIndex)), `134 with ${n}`).toBe(expected(n));
    }
    for (let n = 0; n <= 15; n++) {
      const selIndex = 200;
      expect(run(st, [112, ...args(n), 132, n, selIndex, 124], lits(n, selIndex), { largeFrame: true }), `132 with ${n}`).toBe(expected(n));
    }
    // and the compiler's choices
    const spec = st.compile("Object", "call15 ^self a: 1 b: 2 c: 3 d: 4 e: 5 f: 6 g: 7 h: 8 i: 9 j: 10 k: 11 l: 12 m: 13 n: 14 o: 15");
    expect(instructionsOf(spec).find((i) => i.op === "send")?.numArgs).toBe(15);
    expect(doIt(st, "self call15")).toBe(expected(15));
  });

  it("sends to super (133, 132 kind 1), starting the lookup above the method's class", () => {
    const st = image();
    st.defineClass("A", "Object", []);
    st.defineClass("B", "A", []);
    st.defineClass("C", "B", []);
    st.compile("A", "who ^#a");
    st.compile("B", "who ^#b");
    st.compile("C", "who ^#c");
    const spec = st.compile("B", "superWho ^super who");
    expectEmits(spec, 133);
    const c = st.mem.newHandle(st.mem.instantiate(st.cls("C")));
    expect(doIt(st, "self superWho", c.oop)).toBe(st.sym("a"));
    st.defineMethod("B", "superWho2", [112, 132, 1 << 5, 0, 124], [st.sym("who")]);
    expect(doIt(st, "self superWho2", c.oop)).toBe(st.sym("a"));
    st.defineMethod("B", "superWithArgs", [112, 118, 119, 133, (2 << 5) | 0, 124], [st.sym("x:y:")]);
    st.compile("A", "x: a y: b ^a - b");
    expect(doIt(st, "self superWithArgs", c.oop)).toBe(int(-1));
  });

  it("sends #doesNotUnderstand: with a Message holding the selector, the arguments and the lookup class", () => {
    const st = image();
    st.compile("Object", "doesNotUnderstand: aMessage ^aMessage");
    const { mem } = st;
    const m = doIt(st, "3 foo: 4 bar: $a");
    expect(mem.classOfPointer(m)).toBe(st.classes.Message);
    expect(mem.fetchPointer(m, MessageLayout.selector)).toBe(st.sym("foo:bar:"));
    expect(elements(st, mem.fetchPointer(m, MessageLayout.args))).toEqual([int(4), characterOop(97)]);
    expect(mem.fetchPointer(m, MessageLayout.lookupClass)).toBe(st.classes.SmallInteger);
    const unary = doIt(st, "nil zork");
    expect(mem.fetchPointer(unary, MessageLayout.selector)).toBe(st.sym("zork"));
    expect(elements(st, mem.fetchPointer(unary, MessageLayout.args))).toEqual([]);
    const special = doIt(st, "nil + 1");
    expect(mem.fetchPointer(special, MessageLayout.selector)).toBe(st.sym("+"));
    expect(mem.fetchPointer(special, MessageLayout.lookupClass)).toBe(st.classes.UndefinedObject);
  });

  it("gives a super send's lookup class to #doesNotUnderstand:", () => {
    const st = image();
    st.defineClass("A", "Object", []);
    st.defineClass("B", "A", []);
    st.compile("Object", "doesNotUnderstand: aMessage ^{self. aMessage lookupClass. aMessage selector}");
    st.compile("A", "missing ^#found");
    st.compile("B", "callSuper ^super zork");
    const b = st.mem.newHandle(st.mem.instantiate(st.cls("B")));
    expect(elements(st, doIt(st, "self callSuper", b.oop))).toEqual([b.oop, st.cls("A"), st.sym("zork")]);
  });

  it("stops with a fault when #doesNotUnderstand: itself is not understood", () => {
    const st = image();
    const { slice } = st.doIt("3 zork");
    expect(slice.reason).toBe("fault");
    expect(slice.fault?.kind).toBe("recursiveDoesNotUnderstand");
    expect(slice.fault?.message).toMatch(/SmallInteger/);
  });

  it("sends #run:with:in: to an object found in a method dictionary", () => {
    const st = image();
    st.defineClass("Runner", "Object", []);
    st.compile("Runner", "run: aSelector with: arguments in: aReceiver ^{aSelector. arguments. aReceiver}");
    const runner = st.mem.instantiate(st.cls("Runner"));
    const sel = st.sym("weird:");
    addMethod(st.mem, st.classes.Object, sel, runner);
    st.vm.methodCache.flush();
    const [s, args, rcvr] = elements(st, doIt(st, "5 weird: 6"));
    expect(s).toBe(sel);
    expect(elements(st, args)).toEqual([int(6)]);
    expect(rcvr).toBe(int(5));
  });

  it("runs quick methods (primitives 256-519) without a context, popping the arguments", () => {
    const st = image();
    const { mem } = st;
    const { obj } = wide(st);
    const w = mem.newHandle(obj);
    const cases: Array<[number, Oop]> = [
      [256, w.oop], [257, mem.trueOop], [258, mem.falseOop], [259, mem.nilOop],
      [260, int(-1)], [261, int(0)], [262, int(1)], [263, int(2)],
      [264, int(1)], [264 + 15, int(46)], [264 + 100, int(301)], [519, int(766)],
    ];
    for (const [prim, expected] of cases) {
      st.defineMethod("Wide256", `q${prim}`, [122], [], { primitive: prim });
      st.defineMethod("Wide256", `q${prim}:with:`, [122], [], { primitive: prim });
      expect(doIt(st, `self q${prim}`, w.oop), `quick ${prim}`).toBe(expected);
      expect(elements(st, doIt(st, `{7. self q${prim}: 1 with: 2. 8}`, w.oop)), `quick ${prim} with args`).toEqual([int(7), expected, int(8)]);
    }
    const spec = st.compile("Wide256", "v7 ^v7");
    expect(spec.primitive).toBe(264 + 7);
    expect(doIt(st, "self v7", w.oop)).toBe(int(22));
  });

  it("runs a failed primitive's Smalltalk code, with the failure in the error temp", () => {
    const st = image();
    const spec = st.compile("Object", "tryAt: i <primitive: 60 error: ec> ^{#failed. ec}");
    expect(decode(spec.bytecodes, 0).op).toBe("storeTemporary");
    const { mem } = st;
    expect(doIt(st, "#(5 6) tryAt: 2")).toBe(int(6));
    expect(elements(st, doIt(st, "#(5 6) tryAt: 3"))).toEqual([st.sym("failed"), st.sym("bad index")]);
    expect(elements(st, doIt(st, "#(5 6) tryAt: #x"))).toEqual([st.sym("failed"), st.sym("bad argument")]);
    st.compile("Object", "noSuchPrimitive: x <primitive: 1000 error: code> ^{x. code}");
    expect(elements(st, doIt(st, "3 noSuchPrimitive: 4"))).toEqual([int(4), mem.nilOop]);
    st.compile("Object", "plainFailure: x <primitive: 60> | t | t := x. ^{#ran. t}");
    expect(elements(st, doIt(st, "#(1) plainFailure: 9"))).toEqual([st.sym("ran"), int(9)]);
  });

  it("finds the selector of a send whose interrupt check collected garbage (the selector moved)", () => {
    // everything compiled here is young: the first young collection moves it, selectors included
    // (an interrupt check at every send and backward jump; the allocation just before the send fills the
    // nursery, so the collection happens at the send's check)
    for (const sup of [false, true]) {
      const st = image({ nurseryBytes: 64 * 1024, interruptInterval: 1 });
      st.vm.trace = null;
      st.doIt("nil"); // young garbage (the doit's method) below what follows, so that it moves
      st.compile("Object", "id: x ^x + 0");
      st.defineClass("Sub", "Object", []);
      st.compile("Sub", `churn | s | s := 0. 1 to: 2000 do: [:i | {i. i. i. i. i. i. i. i}. s := s + (${sup ? "super" : "self"} id: i)]. ^s`);
      const selector = st.mem.newHandle(st.sym("id:"));
      const before = selector.oop;
      expect(doIt(st, "Sub new churn")).toBe(int(2001000));
      expect(st.vm.collector.stats.youngCollections).toBeGreaterThan(0);
      expect(selector.oop).not.toBe(before);
    }
  });

  it("runs a method's code from its moved address when its primitive collected garbage and then failed", () => {
    // the second allocation cannot fit: the primitive collects fully (the image's first full collection,
    // which moves Behavior>>new:), then fails, and Behavior>>new:'s fallback code must run
    const st = image({ limitBytes: 4 * 1024 * 1024 });
    st.setGlobal("Keep", doIt(st, "Array new: 500000"));
    expect(doIt(st, "Array new: 600000")).toBe(st.sym("failed"));
    expect(st.vm.collector.stats.fullCollections).toBe(1);
  });

  it("runs a method's code from its moved address when its primitive collected and failed on a method cache hit", () => {
    // mid-slice, the send hits the method cache: an interpreter that calls primitives inline must keep
    // the method in Collector.primitiveMethod across the call, as executeMethod does
    const st2 = image({ limitBytes: 4 * 1024 * 1024 });
    expect(doIt(st2, "Keep := Array new: 500000. Array new: 5. Array new: 600000")).toBe(st2.sym("failed"));
    expect(st2.vm.collector.stats.fullCollections).toBe(1);
  });

  it("performs selectors with arguments (perform: primitives 83, 84)", () => {
    const st = image();
    st.compile("Object", "doesNotUnderstand: aMessage ^{#dnu. aMessage selector. aMessage arguments}");
    expect(doIt(st, "3 perform: #+ with: 4")).toBe(int(7));
    expect(doIt(st, "3 perform: #yourself")).toBe(int(3));
    st.compile("Object", "sum: a with: b ^a + b + self");
    expect(doIt(st, "3 perform: #sum:with: with: 1 with: 5")).toBe(int(9));
    expect(doIt(st, "7 perform: #- withArguments: #(2)")).toBe(int(5));
    const dnu = elements(st, doIt(st, "3 perform: #zork: with: 9"));
    expect(dnu[0]).toBe(st.sym("dnu"));
    expect(dnu[1]).toBe(st.sym("zork:"));
    expect(elements(st, dnu[2])).toEqual([int(9)]);
    expect(doIt(st, "3 perform: #+ withArguments: #(1 2)")).toBe(st.sym("performFailed"));
  });

  it("evaluates blocks with value, value:, ... valueWithArguments:, failing on a wrong argument count", () => {
    const st = image();
    expect(doIt(st, "[7] value")).toBe(int(7));
    expect(doIt(st, "[:a | a] value: 1")).toBe(int(1));
    expect(doIt(st, "[:a :b | a - b] value: 1 value: 2")).toBe(int(-1));
    expect(doIt(st, "[:a :b :c | a - b - c] value: 1 value: 2 value: 3")).toBe(int(-4));
    expect(doIt(st, "[:a :b :c :d | a - b - c - d] value: 1 value: 2 value: 3 value: 4")).toBe(int(-8));
    expect(doIt(st, "[:a :b | a * b] valueWithArguments: #(6 7)")).toBe(int(42));
    expect(doIt(st, "[:a | a] value")).toBe(st.sym("wrongNumArgs"));
    expect(doIt(st, "[:a | a] valueWithArguments: #(1 2)")).toBe(st.sym("wrongNumArgs"));
    expect(doIt(st, "[:a :b | a] numArgs")).toBe(int(2));
  });
});

// ------------------------------------------------------------------ frames

/** Every object's class is a class or a metaclass: nothing wrote a stray oop over a header. */
function classesIntact(st: SmalltalkImage): string[] {
  const { mem } = st;
  const metaclass = st.classes.Metaclass;
  const isBehavior = (c: Oop) => (c & 3) === 0 && c !== 0 && (mem.classOfPointer(c) === metaclass || mem.classOfPointer(mem.classOfPointer(c)) === metaclass);
  const bad: string[] = [];
  for (let oop = HEAP_START; oop < mem.freeStart; oop = mem.nextObject(oop)) {
    const cls = mem.classOfPointer(oop);
    if (cls !== 0 && !isBehavior(cls)) bad.push(`object at ${oop} has class ${cls}`);
  }
  return bad;
}

const FIFTEEN_TEMPS = Array.from({ length: 15 }, (_, i) => `t${i}`).join(" ");
/** A block whose stack is full (16 slots) when it returns non-locally. */
const FULL_BLOCK = "[:x | self a: 1 b: 2 c: 3 d: 4 e: 5 f: 6 g: 7 h: 8 i: 9 j: 10 k: 11 l: 12 m: 13 n: (x ifTrue: [^x] ifFalse: [0])]";

/**
 * Installs a method as a small-frame method even though the compiler (which reserves slots for what the
 * VM pushes) made it a large one: the frames of images compiled without that reserve, which the VM must
 * still survive.
 */
function compileWithoutReserve(st: SmalltalkImage, className: string, source: string): void {
  const { method, spec } = st.methodFor(className, source);
  const header = st.mem.fetchPointer(method, 0) >> 1;
  st.mem.storePointer(method, 0, ((header & ~(1 << 17)) << 1) | 1);
  addMethod(st.mem, st.cls(className), st.sym(spec.selector), method);
  st.vm.methodCache.flush();
}

function frameImage(reserve: boolean): SmalltalkImage {
  const st = image();
  st.compile("Object", "a: a b: b c: c d: d e: e f: f g: g h: h i: i j: j k: k l: l m: m n: n ^n");
  st.compile("Object", "doesNotUnderstand: aMessage ^aMessage selector");
  st.compile("Context", "cannotReturn: value ^#cannot");
  const sources = [`fullDnu | ${FIFTEEN_TEMPS} | t0 := 1. ^self zork`, `fullBlock ^${FULL_BLOCK}`, `fullEnsure ^[${FULL_BLOCK} value: true] ensure: [nil]`];
  for (const source of sources) {
    if (reserve) expect(st.compile("Object", source).largeFrame).toBe(true);
    else compileWithoutReserve(st, "Object", source);
  }
  return st;
}

/** Methods whose frames are exactly full (no slot left for what the VM pushes). */
function fullFrameImage(): SmalltalkImage {
  return frameImage(false);
}

describe("frames the VM pushes into", () => {
  // The compiler sizes a frame for what the method's code pushes (numTemps + stack depth <= 16 is a small
  // frame); the VM pushes more in a few slow paths. Where the frame has no room the VM stops with a fault
  // instead of writing past the context (it used to overwrite the next object's class word).

  it("stops, without writing past the context, when a unary doesNotUnderstand: finds a full frame", () => {
    const st = fullFrameImage();
    const { slice } = st.doIt("self fullDnu. Array new: 3");
    expect(slice.reason).toBe("fault");
    expect(slice.fault?.message).toMatch(/no room on the stack of Object>>fullDnu for the Message of #doesNotUnderstand: \(#zork\)/);
    expect(classesIntact(st)).toEqual([]);
  });

  it("stops, without writing past the context, when #cannotReturn: or #aboutToReturn:through: find a full frame", () => {
    const st = fullFrameImage();
    st.setGlobal("B", doIt(st, "self fullBlock"));
    const dead = st.doIt("B value: true. Array new: 3");
    expect(dead.slice.fault?.message).toMatch(/for the arguments of #cannotReturn:/);
    expect(classesIntact(st)).toEqual([]);
    const st2 = fullFrameImage();
    const unwinding = st2.doIt("self fullEnsure. Array new: 3");
    expect(unwinding.slice.fault?.message).toMatch(/for the arguments of #aboutToReturn:through:/);
    expect(classesIntact(st2)).toEqual([]);
  });

  it("delivers #doesNotUnderstand: for a unary send at a full frame (the compiler reserves spare slots)", () => {
    const st = frameImage(true);
    expect(doIt(st, "self fullDnu")).toBe(st.sym("zork"));
  });

  // Primitives that spread an Array onto the stack (84 perform:withArguments:, 100, 118, 188, 206
  // valueWithArguments:) do not check the frame either: from a small frame, fifteen arguments land past
  // the context, where the callee's new context is then allocated (primitives/block.ts).
  const TEMPS13 = Array.from({ length: 13 }, (_, i) => `t${i}`).join(" ");
  const ARGS15 = "#(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)";

  it("passes valueWithArguments:'s arguments from a small frame (primitive 206 activates from the array)", () => {
    const st = image();
    st.compile("Object", `block15 ^[${"abcdefghijklmno".split("").map((k) => `:${k}`).join(" ")} | {a. h. o}]`);
    compileWithoutReserve(st, "Object", `spread: aBlock | ${TEMPS13} | t0 := 0. ^aBlock valueWithArguments: ${ARGS15}`);
    expect(elements(st, doIt(st, "self spread: self block15"))).toEqual([int(1), int(8), int(15)]);
  });

  it("passes perform:withArguments:'s arguments from a small frame (primitive 84 activates from the array)", () => {
    const st = image();
    st.compile("Object", `${"abcdefghijklmno".split("").map((k, i) => `${k}: x${i}`).join(" ")} ^{x0. x7. x14}`);
    compileWithoutReserve(st, "Object", `spread | ${TEMPS13} | t0 := 0. ^self perform: #a:b:c:d:e:f:g:h:i:j:k:l:m:n:o: withArguments: ${ARGS15}`);
    expect(elements(st, doIt(st, "self spread"))).toEqual([int(1), int(8), int(15)]);
  });

  it("delivers #cannotReturn: and #aboutToReturn:through: from a full block frame (the compiler reserves spare slots)", () => {
    const st = frameImage(true);
    st.setGlobal("B", doIt(st, "self fullBlock"));
    expect(st.doIt("B value: true").slice.fault?.message).toBeUndefined();
    expect(doIt(st, "self fullEnsure")).toBe(st.mem.trueOop);
  });
});

// ------------------------------------------------------------------ contexts

describe("context recycling", () => {
  it("leaves a returned context dead, with nil sender and pc", () => {
    const st = image();
    st.compile("Object", "captured ^thisContext");
    const ctx = doIt(st, "self captured");
    expect(st.mem.fetchPointer(ctx, ContextLayout.sender)).toBe(st.mem.nilOop);
    expect(st.mem.fetchPointer(ctx, ContextLayout.pc)).toBe(st.mem.nilOop);
  });

  it("leaves the bottom context of a finished host job dead", () => {
    const st = image();
    const ctx = doIt(st, "thisContext");
    expect(st.mem.fetchPointer(ctx, ContextLayout.sender)).toBe(st.mem.nilOop);
    expect(st.mem.fetchPointer(ctx, ContextLayout.pc)).toBe(st.mem.nilOop);
  });

  it("never reuses a context that escaped through thisContext", () => {
    const st = image();
    st.compile("Object", "captured ^thisContext");
    st.compile("Object", "busy: n | s | s := 0. 1 to: n do: [:i | s := s + (self id: i)]. ^s");
    st.compile("Object", "id: x ^x yourself");
    st.compile("Object", "keep Kept := self captured. ^self busy: 100");
    expect(doIt(st, "self keep")).toBe(int(5050));
    const kept = st.global("Kept");
    const { mem } = st;
    const method = mem.fetchPointer(kept, ContextLayout.method);
    const selector = mem.fetchPointer(method, ((mem.fetchPointer(method, 0) >> 10) & 0xff) - 1);
    expect(selector).toBe(st.sym("captured"));
    expect(mem.fetchPointer(kept, ContextLayout.pc)).toBe(mem.nilOop);
  });

  it("never reuses a context a callee captured, nor the outer context of a closure", () => {
    const st = image();
    st.compile("Object", "grab Grabbed := thisContext. ^self id: 3");
    st.compile("Object", "id: x ^x yourself");
    st.compile("Object", "adder: n ^[:x | x + n + (self id: 0)]");
    st.compile("Object", "churn: k | s | s := 0. 1 to: k do: [:i | s := s + (self id: i)]. ^s");
    const spec = st.compile("Object", "test | a | self grab. a := self adder: 10. self churn: 50. ^{a value: 5. self churn: 10. a value: 6}");
    void spec;
    expect(elements(st, doIt(st, "self test"))).toEqual([int(15), int(55), int(16)]);
    const { mem } = st;
    const grabbed = st.global("Grabbed");
    const method = mem.fetchPointer(grabbed, ContextLayout.method);
    expect(mem.fetchPointer(method, ((mem.fetchPointer(method, 0) >> 10) & 0xff) - 1)).toBe(st.sym("grab"));
  });

  it("recycles contexts that did not escape (sends allocate little)", () => {
    const st = image();
    st.compile("Object", "id: x ^x yourself");
    st.compile("Object", "churn: k | s | s := 0. 1 to: k do: [:i | s := s + (self id: i)]. ^s");
    st.vm.trace = null;
    const before = st.mem.stats.allocations;
    expect(doIt(st, "self churn: 10000")).toBe(int(50005000));
    expect(st.mem.stats.allocations - before).toBeLessThan(100);
  });
});

describe("deep recursion", () => {
  it("recurses 100,000 frames deep and back (long: about a second, mostly collections)", () => {
    const st = createSmalltalkImage();
    st.compile("Object", "down: n ^n = 0 ifTrue: [0] ifFalse: [(self down: n - 1) + 1]");
    const { result, slice } = st.doIt("self down: 100000");
    expect(slice.fault?.message).toBeUndefined();
    expect(result).toBe(int(100000));
    // blocks too: each level evaluates a closure
    st.compile("Object", "blockDown: n ^n = 0 ifTrue: [0] ifFalse: [[(self blockDown: n - 1) + 1] value]");
    expect(st.doIt("self blockDown: 30000").result).toBe(int(30000));
  });

  it("stops with an outOfMemory fault when recursion reaches the heap limit, and the image recovers", () => {
    const st = createSmalltalkImage({ limitBytes: 4 * 1024 * 1024 });
    st.compile("Object", "forever: n ^(self forever: n + 1) + 1");
    const { slice } = st.doIt("self forever: 0");
    expect(slice.reason).toBe("fault");
    expect(slice.fault?.kind).toBe("outOfMemory");
    expect(slice.fault?.message).toMatch(/out of memory/);
    expect(st.mem.bytesUsed()).toBeLessThanOrEqual(st.mem.limitBytes);
    // the host gives up the failed computation: the process is left without its context, memory comes back
    const failed = slice.fault?.process?.oop;
    if (failed !== undefined) st.mem.storePointer(failed, 1, st.mem.nilOop);
    st.vm.activeContext = 0;
    st.vm.collect(true);
    expect(st.mem.bytesUsed()).toBeLessThan(st.mem.limitBytes / 2);
    expect(st.doIt("3 + 4").result).toBe(int(7));
  });
});

// ------------------------------------------------------------------ slices and interrupts

function fakeClock(st: SmalltalkImage, step = 0): { advance(ms: number): void; now(): number } {
  let t = 1000;
  const clock = st.vm.host.clock;
  st.vm.host.clock = { ...clock, now: () => (t += step) };
  st.vm.clockOrigin = t;
  return { advance: (ms) => void (t += ms), now: () => t };
}

describe("slices", () => {
  it("ends a slice of an endless loop at the highest priority when the bytecode budget is spent", () => {
    const st = image();
    st.vm.trace = null;
    const p = st.process("[true] whileTrue", 80);
    st.setGlobal("P", p.oop);
    const first = st.doIt("P resume. #notReached", { maxBytecodes: 100_000 });
    expect(first.slice.reason).toBe("budget");
    expect(first.slice.bytecodes).toBe(100_000);
    const again = st.vm.run({ bytecodes: 12_345 });
    expect(again.reason).toBe("budget");
    expect(again.bytecodes).toBe(12_345);
  });

  it("ends a slice of an endless loop when its time is up (fake clock)", () => {
    const st = image();
    st.vm.trace = null;
    // every reading of the clock advances it by a millisecond: the slice sees time pass at each check
    fakeClock(st, 1);
    st.compile("Object", "spin [self yourself] repeat");
    const p = st.process("self spin", 80);
    st.setGlobal("P", p.oop);
    st.doIt("P resume", { maxBytecodes: 10 });
    const slice = st.vm.run({ ms: 20 });
    expect(slice.reason).toBe("budget");
    expect(slice.elapsedMs).toBeGreaterThanOrEqual(20);
    expect(slice.elapsedMs).toBeLessThanOrEqual(22);
    const again = st.vm.run({ ms: 20 });
    expect(again.bytecodes).toBe(slice.bytecodes);
  });

  it("ends a slice of an endless loop on the real clock", () => {
    const st = createSmalltalkImage();
    const p = st.process("[true] whileTrue", 80);
    st.setGlobal("P", p.oop);
    st.doIt("P resume", { maxBytecodes: 10 });
    const t0 = performance.now();
    const slice = st.vm.run({ ms: 10 });
    expect(slice.reason).toBe("budget");
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("stops at the next interrupt check after requestInterrupt, and resumes where it stopped", () => {
    const st = image();
    st.vm.trace = null;
    st.setGlobal("N", int(0));
    st.vm.registerModule("Test", {
      interrupt: (vm, argc) => {
        vm.requestInterrupt();
        vm.pop(argc);
        return true;
      },
    });
    st.compile("Object", "interruptMe <primitive: 'interrupt' module: 'Test'> ^#failed");
    st.setGlobal("Sem", st.newSemaphore());
    const { slice } = st.doIt("N := 1. self interruptMe. N := 2. [N := N + 1. N < 1000] whileTrue. Sem wait");
    // the check comes at the next send or backward jump: the loop's first jump back
    expect(slice.reason).toBe("interrupted");
    expect(st.global("N")).toBe(int(3));
    const next = st.vm.run({ bytecodes: 1_000_000 });
    expect(next.reason).toBe("idle");
    expect(st.global("N")).toBe(int(1000));
  });

  it("stops at the first check of a slice when the interrupt was requested before it", () => {
    const st = image();
    st.vm.trace = null;
    const p = st.process("[true] whileTrue", 80);
    st.setGlobal("P", p.oop);
    st.doIt("P resume", { maxBytecodes: 10 });
    st.vm.requestInterrupt();
    const stopped = st.vm.run({ bytecodes: 1_000_000 });
    expect(stopped.reason).toBe("interrupted");
    expect(stopped.bytecodes).toBeLessThan(10_000);
  });

  it("cuts a slice short when the heartbeat flag is set, and resumes where it stopped", () => {
    const st = image();
    st.vm.trace = null;
    st.setGlobal("N", int(0));
    st.vm.registerModule("Test", {
      beat: (vm, argc) => {
        vm.heartbeat();
        vm.pop(argc);
        return true;
      },
    });
    st.compile("Object", "beat <primitive: 'beat' module: 'Test'> ^#failed");
    st.setGlobal("Sem", st.newSemaphore());
    const { slice } = st.doIt("N := 1. self beat. [N := N + 1. N < 100000] whileTrue. Sem wait");
    // the flag is polled at the regular checks, every `interruptInterval` sends and backward jumps
    expect(slice.reason).toBe("budget");
    expect(st.global("N")).toBeGreaterThan(int(1));
    expect(st.global("N")).toBeLessThan(int(2 + st.vm.interruptInterval));
    expect(Atomics.load(st.vm.heartbeatFlag, 0)).toBe(0);
    expect(st.vm.run({ bytecodes: 10_000_000 }).reason).toBe("idle");
    expect(st.global("N")).toBe(int(100000));
  });

  it("ignores a heartbeat that arrived between slices", () => {
    const st = image();
    st.vm.trace = null;
    st.setGlobal("Sem", st.newSemaphore());
    st.vm.heartbeat();
    const { slice } = st.doIt("| n | n := 0. [n := n + 1. n < 5000] whileTrue. Sem wait");
    expect(slice.reason).toBe("idle");
  });

  it("stops an endless loop with no budget when another thread sets a shared heartbeat flag", async () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const st = image({ heartbeatFlag: flag });
    st.vm.trace = null;
    const p = st.process("[true] whileTrue", 80);
    st.setGlobal("P", p.oop);
    const ticker = new Worker(
      `const { workerData } = require("node:worker_threads");
       const f = new Int32Array(workerData);
       Atomics.wait(f, 0, 0, 50);
       Atomics.store(f, 0, 1);`,
      { eval: true, workerData: flag.buffer },
    );
    try {
      const { slice } = st.doIt("P resume", { maxBytecodes: 1e15 });
      expect(slice.reason).toBe("budget");
      expect(slice.bytecodes).toBeGreaterThan(0);
    } finally {
      await ticker.terminate();
    }
  });

  it("faults on an unknown bytecode instead of crashing the host", () => {
    const st = image();
    for (const b of [126, 127, 139]) {
      const { slice } = st.run([117, b, 124]);
      expect(slice.reason).toBe("fault");
      expect(slice.fault?.message).toMatch(new RegExp(`unknown bytecode ${b}`));
    }
  });
});

// ------------------------------------------------------------------ the table

describe("bytecode coverage", () => {
  it("executed every valid opcode and every sub-kind of the extended ones", () => {
    const required = requiredKeys();
    const missing = required.filter((k) => !executed.has(k));
    const rows: string[] = [];
    for (let start = 0; start < 256; start += 16) {
      const cells: string[] = [];
      for (let b = start; b < start + 16; b++) {
        const keys = required.filter((k) => k === String(b) || k.startsWith(`${b}/`));
        cells.push(keys.length === 0 ? "  -" : keys.every((k) => executed.has(k)) ? "  ✓" : "  ✗");
      }
      rows.push(`${String(start).padStart(3)}: ${cells.join("")}`);
    }
    expect(missing, `not exercised: ${missing.join(", ")}\n${rows.join("\n")}`).toEqual([]);
    expect(required.length).toBeGreaterThan(240);
  });
});
