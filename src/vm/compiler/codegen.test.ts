import { describe, expect, test } from "vitest";
import { decode } from "../bytecode/opcodes.js";
import type { CompileContext } from "./context.js";
import { compileDoIt, compileMethod } from "./compile.js";
import { listMethod, printLiteral } from "./listing.js";

const ivars = ["a", "b", ...Array.from({ length: 300 }, (_, i) => `i${i}`)];
const ctx: CompileContext = {
  className: "Foo",
  instanceVariableNames: ivars,
  resolveBinding: (name) => (/^[A-Z]/.test(name) ? { kind: "global" } : undefined),
};
const method = (src: string) => compileMethod(src, ctx).method;
const list = (src: string) => listMethod(method(src));
const doit = (src: string) => listMethod(compileDoIt(src, ctx).method);
const literals = (src: string) => method(src).literals.map((l) => printLiteral(l));

describe("sends", () => {
  test("short literal sends with 0, 1, 2 arguments", () => {
    expect(list("foo ^self bar: 1 baz: 2")).toEqual([
      "0 <70> self",
      "1 <76> pushConstant: 1",
      "2 <77> pushConstant: 2",
      "3 <F0> send: #bar:baz:",
      "4 <7C> returnTop",
    ]);
    expect(list("foo ^self zork; bar: self")).toEqual([
      "0 <70> self",
      "1 <88> dup",
      "2 <D0> send: #zork",
      "3 <87> pop",
      "4 <70> self",
      "5 <E1> send: #bar:",
      "6 <7C> returnTop",
    ]);
  });

  test("three or more arguments use the extended send", () => {
    expect(list("foo ^self a: 1 b: 2 c: 3")).toEqual([
      "0 <70> self",
      "1 <76> pushConstant: 1",
      "2 <77> pushConstant: 2",
      "3 <20> pushConstant: 3",
      "4 <83 61> send: #a:b:c: (3 args)",
      "6 <7C> returnTop",
    ]);
  });

  test("special selectors need no literal", () => {
    expect(list("foo ^(self foo: 1) + (self bar at: 2 put: 3) == nil")).toEqual([
      "0 <70> self",
      "1 <76> pushConstant: 1",
      "2 <E0> send: #foo:",
      "3 <70> self",
      "4 <D1> send: #bar",
      "5 <77> pushConstant: 2",
      "6 <22> pushConstant: 3",
      "7 <C1> send: #at:put:",
      "8 <B0> send: #+",
      "9 <73> pushConstant: nil",
      "10 <C6> send: #==",
      "11 <7C> returnTop",
    ]);
    expect(literals("foo ^(self foo: 1) + (self bar at: 2 put: 3) == nil")).toEqual(["#foo:", "#bar", "3", "#foo", "methodClass"]);
  });

  test("every special selector compiles to its bytecode", () => {
    const sources = [
      "a + 1", "a - 1", "a < 1", "a > 1", "a <= 1", "a >= 1", "a = 1", "a ~= 1", "a * 1", "a / 1", "a \\\\ 1", "a @ 1",
      "a bitShift: 1", "a // 1", "a bitAnd: 1", "a bitOr: 1", "a at: 1", "a at: 1 put: 1", "a size", "a next",
      "a nextPut: 1", "a atEnd", "a == 1", "a class", "a blockCopy: 1", "a value", "a value: 1", "a do: 1", "a new",
      "a new: 1", "a x", "a y",
    ];
    sources.forEach((src, index) => {
      const m = method(`foo ^${src}`);
      const code = m.bytecodes;
      expect(code[code.length - 2]).toBe(176 + index);
      expect(m.literals).toHaveLength(2);
    });
  });

  test("super sends", () => {
    expect(list("foo super foo. ^super bar: 3")).toEqual([
      "0 <70> self",
      "1 <85 00> superSend: #foo (0 args)",
      "3 <87> pop",
      "4 <70> self",
      "5 <21> pushConstant: 3",
      "6 <85 22> superSend: #bar: (1 args)",
      "8 <7C> returnTop",
    ]);
    expect(list("foo ^super + 1")).toEqual([
      "0 <70> self",
      "1 <76> pushConstant: 1",
      "2 <85 20> superSend: #+ (1 args)",
      "4 <7C> returnTop",
    ]);
    expect(list("foo ^super value; yourself")).toEqual([
      "0 <70> self",
      "1 <88> dup",
      "2 <85 00> superSend: #value (0 args)",
      "4 <87> pop",
      "5 <85 01> superSend: #yourself (0 args)",
      "7 <7C> returnTop",
    ]);
  });

  test("extended sends by literal index", () => {
    const selectors = Array.from({ length: 70 }, (_, i) => `self s${i}.`).join(" ");
    const m = method(`foo ${selectors} ^self s3: 1 t: 2`);
    const sends = listMethod(m).filter((l) => l.includes("send"));
    expect(sends[15]).toBe("46 <DF> send: #s15");
    expect(sends[16]).toBe("49 <83 10> send: #s16 (0 args)");
    expect(sends[31]).toBe("109 <83 1F> send: #s31 (0 args)");
    expect(sends[32]).toBe("113 <86 20> send: #s32 (0 args)");
    expect(sends[63]).toBe("237 <86 3F> send: #s63 (0 args)");
    expect(sends[64]).toBe("241 <84 00 40> send: #s64 (0 args)");
    expect(sends[70]).toBe("273 <84 02 46> send: #s3:t: (2 args)");
    const many = Array.from({ length: 40 }, (_, i) => `self s${i}.`).join(" ");
    expect(listMethod(method(`foo ${many} ^super x: 1 y: 2 z: 3`)).slice(-3)).toEqual([
      "147 <80 A8> pushConstant: 3",
      "149 <84 23 29> superSend: #x:y:z: (3 args)",
      "152 <7C> returnTop",
    ]);
  });
});

describe("literals", () => {
  test("constants with their own bytecodes", () => {
    expect(list("foo ^{-1. 0. 1. 2. true. false. nil. 3. -2}")).toEqual([
      "0 <74> pushConstant: -1",
      "1 <75> pushConstant: 0",
      "2 <76> pushConstant: 1",
      "3 <77> pushConstant: 2",
      "4 <71> pushConstant: true",
      "5 <72> pushConstant: false",
      "6 <73> pushConstant: nil",
      "7 <20> pushConstant: 3",
      "8 <21> pushConstant: -2",
      "9 <8A 89> pop 9 into (Array new: 9)",
      "11 <7C> returnTop",
    ]);
  });

  test("equal literals share a slot; kinds never mix", () => {
    expect(literals("foo ^{'abc'. 'abc'. #abc. #abc. 1.5. 1.5. 3. 3.0. 3. $a. $a. #(1 #a). #(1 #a). #[1]. #[1]. 1.5s2. 3/4}")).toEqual([
      "'abc'", "#abc", "1.5", "3", "3.0", "$a", "#(1 #a)", "#[1]", "3/2s2", "4", "#foo", "methodClass",
    ]);
  });

  test("a symbol constant and a selector share a slot, but not with the method's selector", () => {
    expect(list("foo self foo. ^#foo")).toEqual([
      "0 <70> self",
      "1 <D0> send: #foo",
      "2 <87> pop",
      "3 <20> pushConstant: #foo",
      "4 <7C> returnTop",
    ]);
    expect(literals("foo self foo. ^#foo")).toEqual(["#foo", "#foo", "methodClass"]);
  });

  test("the same global binding is one literal", () => {
    expect(list("foo Bar new. ^Bar")).toEqual([
      "0 <40> pushLitVar: Bar",
      "1 <CC> send: #new",
      "2 <87> pop",
      "3 <40> pushLitVar: Bar",
      "4 <7C> returnTop",
    ]);
  });

  test("literal arrays and byte arrays are single literals", () => {
    const m = method("foo ^#(1 $a 'b' #c d e: true false nil #(1) (2 3) #[1 2] #+ + at:put:)");
    expect(m.literals[0]).toEqual({
      kind: "array",
      elements: [
        { kind: "integer", value: 1n }, { kind: "character", value: 97 }, { kind: "string", value: "b" },
        { kind: "symbol", value: "c" }, { kind: "symbol", value: "d" }, { kind: "symbol", value: "e:" },
        { kind: "true" }, { kind: "false" }, { kind: "nil" },
        { kind: "array", elements: [{ kind: "integer", value: 1n }] },
        { kind: "array", elements: [{ kind: "integer", value: 2n }, { kind: "integer", value: 3n }] },
        { kind: "byteArray", bytes: [1, 2] }, { kind: "symbol", value: "+" }, { kind: "symbol", value: "+" },
        { kind: "symbol", value: "at:put:" },
      ],
    });
    expect(method("foo ^#[1 2 255]").literals[0]).toEqual({ kind: "byteArray", bytes: [1, 2, 255] });
  });

  test("large integers, floats and scaled decimals", () => {
    expect(method("foo ^100 factorial + 123456789012345678901234567890").literals[0]).toEqual({ kind: "integer", value: 100n });
    expect(method("foo ^123456789012345678901234567890").literals[0]).toEqual({ kind: "integer", value: 123456789012345678901234567890n });
    expect(method("foo ^-16rFF").literals[0]).toEqual({ kind: "integer", value: -255n });
    expect(method("foo ^1.5e-3").literals[0]).toEqual({ kind: "float", value: 0.0015 });
    expect(method("foo ^-1.5s2").literals[0]).toEqual({ kind: "scaledDecimal", numerator: -3n, denominator: 2n, scale: 2 });
  });

  test("literal constants beyond 31 and 63", () => {
    const pushes = Array.from({ length: 70 }, (_, i) => `self foo: #c${i}.`).join(" ");
    const lines = list(`foo ${pushes} ^nil`).filter((l) => l.includes("pushConstant"));
    expect(lines[30]).toBe("121 <3F> pushConstant: #c30");
    expect(lines[31]).toBe("125 <80 A0> pushConstant: #c31");
    expect(lines[62]).toBe("280 <80 BF> pushConstant: #c62");
    expect(lines[63]).toBe("285 <84 60 40> pushConstant: #c63");
  });
});

describe("variables", () => {
  test("instance variables: short and extended forms", () => {
    expect(list("foo ^{a. i13. i14. i61. i62. i253}")).toEqual([
      "0 <00> pushRcvr: rcvr 0",
      "1 <0F> pushRcvr: rcvr 15",
      "2 <80 10> pushRcvr: rcvr 16",
      "4 <80 3F> pushRcvr: rcvr 63",
      "6 <84 40 40> pushRcvr: rcvr 64",
      "9 <84 40 FF> pushRcvr: rcvr 255",
      "12 <8A 86> pop 6 into (Array new: 6)",
      "14 <7C> returnTop",
    ]);
    expect(list("foo i5 := 1. i6 := 2. i70 := 3. i200 := 4. i80 := i90. ^i7 := 5")).toEqual([
      "0 <76> pushConstant: 1",
      "1 <67> popIntoRcvr: rcvr 7",
      "2 <77> pushConstant: 2",
      "3 <82 08> popIntoRcvr: rcvr 8",
      "5 <20> pushConstant: 3",
      "6 <84 C0 48> popIntoRcvr: rcvr 72",
      "9 <21> pushConstant: 4",
      "10 <84 C0 CA> popIntoRcvr: rcvr 202",
      "13 <84 40 5C> pushRcvr: rcvr 92",
      "16 <84 C0 52> popIntoRcvr: rcvr 82",
      "19 <22> pushConstant: 5",
      "20 <81 09> storeIntoRcvr: rcvr 9",
      "22 <7C> returnTop",
    ]);
    expect(list("foo ^i70 := 1")).toEqual(["0 <76> pushConstant: 1", "1 <84 A0 48> storeIntoRcvr: rcvr 72", "4 <7C> returnTop"]);
  });

  test("temporaries beyond 7 and 15", () => {
    const temps = Array.from({ length: 20 }, (_, i) => `t${i}`).join(" ");
    expect(list(`foo | ${temps} | t7 := 1. t8 := 2. t19 := t16. ^t17`)).toEqual([
      "0 <76> pushConstant: 1",
      "1 <6F> popIntoTemp: temp 7",
      "2 <77> pushConstant: 2",
      "3 <82 48> popIntoTemp: temp 8",
      "5 <80 50> pushTemp: temp 16",
      "7 <82 53> popIntoTemp: temp 19",
      "9 <80 51> pushTemp: temp 17",
      "11 <7C> returnTop",
    ]);
  });

  test("globals: push, store, pop into, in every range", () => {
    expect(list("foo Bar := 3. ^Baz := Bar")).toEqual([
      "0 <20> pushConstant: 3",
      "1 <82 C1> popIntoLitVar: Bar",
      "3 <41> pushLitVar: Bar",
      "4 <81 C2> storeIntoLitVar: Baz",
      "6 <7C> returnTop",
    ]);
    const uses = Array.from({ length: 70 }, (_, i) => `G${i} foo.`).join(" ");
    const lines = list(`foo ${uses} ^G69 := G1`).filter((l) => l.includes("LitVar"));
    expect(lines[30]).toBe("90 <5F> pushLitVar: G30");
    expect(lines[31]).toBe("93 <80 E0> pushLitVar: G31");
    expect(lines[62]).toBe("217 <80 FF> pushLitVar: G62");
    expect(lines[63]).toBe("221 <84 80 40> pushLitVar: G63");
    expect(lines.slice(-2)).toEqual(["256 <42> pushLitVar: G1", "257 <84 E0 46> storeIntoLitVar: G69"]);
  });

  test("popping into a global past 63 stores then pops", () => {
    const uses = Array.from({ length: 66 }, (_, i) => `G${i} x.`).join(" ");
    expect(list(`foo ${uses} G65 := 3`).slice(-4)).toEqual([
      "234 <84 60 42> pushConstant: 3",
      "237 <84 E0 41> storeIntoLitVar: G65",
      "240 <87> pop",
      "241 <78> return: self",
    ]);
  });

  test("pseudo variables", () => {
    expect(list("foo ^{self. super. thisContext}")).toEqual([
      "0 <70> self",
      "1 <70> self",
      "2 <89> pushThisContext",
      "3 <8A 83> pop 3 into (Array new: 3)",
      "5 <7C> returnTop",
    ]);
  });
});

describe("statements and returns", () => {
  test("a method without a return answers self", () => {
    expect(list("foo")).toEqual(["0 <78> return: self"]);
    expect(list("foo self bar")).toEqual(["0 <70> self", "1 <D0> send: #bar", "2 <87> pop", "3 <78> return: self"]);
  });

  test("quick returns at method level", () => {
    expect(list("foo self bar. ^self")).toEqual(["0 <70> self", "1 <D0> send: #bar", "2 <87> pop", "3 <78> return: self"]);
    expect(list("foo self bar. ^true")).toEqual(["0 <70> self", "1 <D0> send: #bar", "2 <87> pop", "3 <79> return: true"]);
    expect(list("foo self bar. ^false").slice(-1)).toEqual(["3 <7A> return: false"]);
    expect(list("foo self bar. ^nil").slice(-1)).toEqual(["3 <7B> return: nil"]);
    expect(list("foo self bar. ^super").slice(-1)).toEqual(["3 <78> return: self"]);
  });

  test("expressions for effect generate nothing", () => {
    expect(list("foo 1. a. Foo. self. #(1 2). ^false")).toEqual(["0 <7A> return: false"]);
  });

  test("assignment chains", () => {
    expect(list("foo | x y | x := y := 3. ^x")).toEqual([
      "0 <20> pushConstant: 3",
      "1 <81 41> storeIntoTemp: temp 1",
      "3 <68> popIntoTemp: temp 0",
      "4 <10> pushTemp: temp 0",
      "5 <7C> returnTop",
    ]);
  });

  test("cascades for effect and value", () => {
    expect(list("foo Transcript show: 'a'; cr")).toEqual([
      "0 <40> pushLitVar: Transcript",
      "1 <88> dup",
      "2 <21> pushConstant: 'a'",
      "3 <E2> send: #show:",
      "4 <87> pop",
      "5 <D3> send: #cr",
      "6 <87> pop",
      "7 <78> return: self",
    ]);
    expect(list("foo ^OrderedCollection new add: 1; add: 2; yourself")).toEqual([
      "0 <40> pushLitVar: OrderedCollection",
      "1 <CC> send: #new",
      "2 <88> dup",
      "3 <76> pushConstant: 1",
      "4 <E1> send: #add:",
      "5 <87> pop",
      "6 <88> dup",
      "7 <77> pushConstant: 2",
      "8 <E1> send: #add:",
      "9 <87> pop",
      "10 <D2> send: #yourself",
      "11 <7C> returnTop",
    ]);
  });

  test("brace arrays on the stack, and large ones through Array new:", () => {
    expect(list("foo ^{}")).toEqual(["0 <8A 80> pop 0 into (Array new: 0)", "2 <7C> returnTop"]);
    const elements = Array.from({ length: 33 }, (_, i) => `${i + 3}.`).join(" ");
    const lines = list(`foo ^{${elements}}`);
    expect(lines.slice(0, 9)).toEqual([
      "0 <40> pushLitVar: Array",
      "1 <21> pushConstant: 33",
      "2 <CD> send: #new:",
      "3 <88> dup",
      "4 <76> pushConstant: 1",
      "5 <22> pushConstant: 3",
      "6 <C1> send: #at:put:",
      "7 <87> pop",
      "8 <88> dup",
    ]);
    expect(lines.slice(-2)).toEqual(["169 <87> pop", "170 <7C> returnTop"]);
    expect(method(`foo ^{${elements}}`).largeFrame).toBe(false);
  });
});

describe("doits", () => {
  test("answer the last statement", () => {
    expect(doit("3 + 4")).toEqual(["0 <20> pushConstant: 3", "1 <21> pushConstant: 4", "2 <B0> send: #+", "3 <7C> returnTop"]);
    expect(doit("| t | t := 3. t")).toEqual(["0 <20> pushConstant: 3", "1 <68> popIntoTemp: temp 0", "2 <10> pushTemp: temp 0", "3 <7C> returnTop"]);
    expect(doit("x := 3")).toEqual(["0 <20> pushConstant: 3", "1 <81 C1> storeIntoLitVar: x (undeclared)", "3 <7C> returnTop"]);
    expect(doit("self")).toEqual(["0 <78> return: self"]);
    expect(doit("3. ^4")).toEqual(["0 <20> pushConstant: 4", "1 <7C> returnTop"]);
  });

  test("an empty doit answers nil", () => {
    expect(doit("")).toEqual(["0 <7B> return: nil"]);
    expect(doit('"nothing" ')).toEqual(["0 <7B> return: nil"]);
    expect(doit("| t |")).toEqual(["0 <7B> return: nil"]);
  });

  test("the spec of a doit", () => {
    const { method: m, warnings } = compileDoIt("| t | t := Zork. t", ctx);
    expect(m).toMatchObject({ selector: "DoIt", numArgs: 0, numTemps: 1, primitive: 0, tempNames: ["t"] });
    expect(m.literals.slice(-2)).toEqual([{ kind: "symbol", value: "DoIt" }, { kind: "methodClass" }]);
    expect(warnings).toEqual([]);
  });
});

describe("the method spec", () => {
  test("header fields", () => {
    const m = method("at: i put: v | t | t := v. ^t");
    expect(m).toMatchObject({ selector: "at:put:", numArgs: 2, numTemps: 3, primitive: 0, largeFrame: false, tempNames: ["i", "v", "t"] });
    expect(m.source).toBe("at: i put: v | t | t := v. ^t");
  });

  test("the source map covers sends and instructions that can fail", () => {
    const src = "foo: x\n  x bar.\n  i0 := x baz: 1.\n  ^x ifTrue: [1]";
    const m = method(src);
    expect(listMethod(m)).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <D0> send: #bar",
      "2 <87> pop",
      "3 <10> pushTemp: temp 0",
      "4 <76> pushConstant: 1",
      "5 <E1> send: #baz:",
      "6 <62> popIntoRcvr: rcvr 2",
      "7 <10> pushTemp: temp 0",
      "8 <99> jumpFalse: 11",
      "9 <76> pushConstant: 1",
      "10 <90> jumpTo: 12",
      "11 <73> pushConstant: nil",
      "12 <7C> returnTop",
    ]);
    const text = (r: { start: number; end: number }) => src.slice(r.start, r.end);
    expect(m.sourceMap.map((e) => [e.pc, text(e.range)])).toEqual([
      [1, "x bar"],
      [5, "x baz: 1"],
      [6, "i0 := x baz: 1"],
      [8, "x ifTrue: [1]"],
    ]);
  });

  test("non-local returns are mapped", () => {
    const src = "foo ^[:x | ^x]";
    const m = method(src);
    expect(m.sourceMap).toEqual([{ pc: 5, range: { start: 11, end: 13 } }]);
    expect(decode(m.bytecodes, 5).op).toBe("returnTop");
  });
});
