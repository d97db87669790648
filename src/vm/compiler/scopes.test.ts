import { describe, expect, test } from "vitest";
import type { CompileContext } from "./context.js";
import { compileMethod, parseMethod } from "./compile.js";
import { SourceInfo } from "./errors.js";
import { listMethod } from "./listing.js";
import { analyze } from "./scopes.js";

const ctx: CompileContext = { className: "Foo", instanceVariableNames: ["iv"], resolveBinding: () => ({ kind: "global" }) };
const compile = (src: string) => compileMethod(src, ctx).method;
const list = (src: string) => listMethod(compile(src));

/** where each named temporary of the method ends up: "copied"/"plain" slot or "vector" */
function placement(src: string): Record<string, string> {
  const node = parseMethod(src);
  const analysis = analyze(node, ctx, new SourceInfo(src));
  const out: Record<string, string> = {};
  const visit = (scope: typeof analysis.method) => {
    for (const v of scope.declared) {
      const captured = v.firstCapture !== Infinity;
      out[v.name] = v.inVector ? "vector" : captured ? "copied" : "local";
    }
  };
  visit(analysis.method);
  for (const s of analysis.scopes.values()) visit(s);
  return out;
}

describe("capture decisions", () => {
  test.each([
    ["read-only capture is copied", "foo | a | a := 1. ^[a]", { a: "copied" }],
    ["written inside a block goes to a vector", "foo | a | ^[a := 1]", { a: "vector" }],
    ["written after the capture goes to a vector", "foo | a b | a := [b]. b := 2. ^a", { a: "local", b: "vector" }],
    ["written before the capture is copied", "foo | a | a := 1. ^[a]", { a: "copied" }],
    ["arguments are copied", "foo: x ^[x]", { x: "copied" }],
    ["never captured", "foo | a | a := 1. ^a", { a: "local" }],
    ["to:do: counter is copied", "foo 1 to: 3 do: [:i | self add: [i]]", { i: "copied" }],
    ["loop body temp written before capture is copied", "foo 1 to: 3 do: [:i | | x | x := i. self add: [x]]", { i: "local", x: "copied" }],
    ["loop body temp written after capture is a per-iteration vector", "foo 1 to: 3 do: [:i | | x | self add: [x]. x := i]", { i: "local", x: "vector" }],
    ["outer temp written in the loop that captures it", "foo | t | 1 to: 3 do: [:i | t := i. self add: [t]]", { t: "vector", i: "local" }],
    ["outer temp written in the condition of the loop that captures it", "foo | t | [t := self next. t notNil] whileTrue: [self add: [t]]", { t: "vector" }],
    ["outer temp written in an inner loop", "foo | t | 1 to: 3 do: [:i | self add: [t]. 1 to: 2 do: [:j | t := j]]", { t: "vector", i: "local", j: "local" }],
    ["outer temp written before the loop is copied", "foo | t | t := 1. 1 to: 3 do: [:i | self add: [t]]", { t: "copied", i: "local" }],
    ["outer temp written in an earlier loop is copied", "foo | t | 1 to: 3 do: [:i | t := i]. self add: [t]", { t: "copied", i: "local" }],
    ["while loop modification before capture (Pharo: 5 5 5 5 5)", "foo | index | index := 0. [index < 5] whileTrue: [index := index + 1. self add: [index]]", { index: "vector" }],
    ["while loop modification after capture", "foo | index | index := 0. [index < 5] whileTrue: [self add: [index]. index := index + 1]", { index: "vector" }],
    ["while loop with a body temp (Pharo: 1 2 3 4 5)", "foo | index | index := 0. [index < 5] whileTrue: [| temp | temp := index := index + 1. self add: [temp]]", { index: "local", temp: "copied" }],
    ["nested blocks read through the middle block", "foo: x ^[:y | [:z | x + y + z]]", { x: "copied", y: "copied", z: "local" }],
    ["a block temp written by an inner block", "foo ^[:x | | t | [t := x]. t]", { x: "copied", t: "vector" }],
    ["ifNotNil: parameter", "foo: x ^x ifNotNil: [:y | [y]]", { x: "local", y: "copied" }],
  ])("%s", (_, src, expected) => {
    expect(placement(src)).toEqual(expected);
  });
});

describe("closure code", () => {
  test("copied values are pushed before the closure and follow the arguments", () => {
    expect(list("foo: x ^[:y | [:z | x + y + z]]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <8F 11 00 0D> closure(1 args, 1 copied) to 18",
      "5 <11> pushTemp: temp 1",
      "6 <10> pushTemp: temp 0",
      "7 <8F 21 00 06> closure(1 args, 2 copied) to 17",
      "11 <11> pushTemp: temp 1",
      "12 <12> pushTemp: temp 2",
      "13 <B0> send: #+",
      "14 <10> pushTemp: temp 0",
      "15 <B0> send: #+",
      "16 <7D> blockReturn",
      "17 <7D> blockReturn",
      "18 <7C> returnTop",
    ]);
  });

  test("block temporaries are pushed nil by the block", () => {
    expect(list("foo: x ^[:y | | t | t := y. [t + x]]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <8F 11 00 0E> closure(1 args, 1 copied) to 19",
      "5 <73> pushConstant: nil",
      "6 <10> pushTemp: temp 0",
      "7 <6A> popIntoTemp: temp 2",
      "8 <12> pushTemp: temp 2",
      "9 <11> pushTemp: temp 1",
      "10 <8F 20 00 04> closure(0 args, 2 copied) to 18",
      "14 <10> pushTemp: temp 0",
      "15 <11> pushTemp: temp 1",
      "16 <B0> send: #+",
      "17 <7D> blockReturn",
      "18 <7D> blockReturn",
      "19 <7C> returnTop",
    ]);
  });

  test("a method temp vector is created first and copied into blocks", () => {
    const m = compile("foo | a | a := 1. ^[a] -> [a := 2]");
    expect(listMethod(m)).toEqual([
      "0 <8A 01> push: (Array new: 1)",
      "2 <68> popIntoTemp: temp 0",
      "3 <76> pushConstant: 1",
      "4 <8E 00 00> popIntoTemp: 0 inVectorAt: 0",
      "7 <10> pushTemp: temp 0",
      "8 <8F 10 00 04> closure(0 args, 1 copied) to 16",
      "12 <8C 00 00> pushTemp: 0 inVectorAt: 0",
      "15 <7D> blockReturn",
      "16 <10> pushTemp: temp 0",
      "17 <8F 10 00 05> closure(0 args, 1 copied) to 26",
      "21 <77> pushConstant: 2",
      "22 <8D 00 00> storeIntoTemp: 0 inVectorAt: 0",
      "25 <7D> blockReturn",
      "26 <E0> send: #->",
      "27 <7C> returnTop",
    ]);
    expect(m.tempNames).toEqual(["<vector: a>"]);
    expect(m.numTemps).toBe(1);
  });

  test("a block's own temp vector is pushed in place of its nil", () => {
    expect(list("foo ^[:x | | t | [t := x]. t]")).toEqual([
      "0 <8F 01 00 12> closure(1 args, 0 copied) to 22",
      "4 <8A 01> push: (Array new: 1)",
      "6 <10> pushTemp: temp 0",
      "7 <11> pushTemp: temp 1",
      "8 <8F 20 00 05> closure(0 args, 2 copied) to 17",
      "12 <10> pushTemp: temp 0",
      "13 <8D 00 01> storeIntoTemp: 0 inVectorAt: 1",
      "16 <7D> blockReturn",
      "17 <87> pop",
      "18 <8C 00 01> pushTemp: 0 inVectorAt: 1",
      "21 <7D> blockReturn",
      "22 <7C> returnTop",
    ]);
  });

  test("a loop body gets a fresh vector on every iteration", () => {
    const m = compile("foo | a | a := 0. 1 to: 2 do: [:i | | b | self add: [b := a := i]]. ^a");
    expect(listMethod(m)).toEqual([
      "0 <8A 01> push: (Array new: 1)",
      "2 <68> popIntoTemp: temp 0",
      "3 <75> pushConstant: 0",
      "4 <8E 00 00> popIntoTemp: 0 inVectorAt: 0",
      "7 <76> pushConstant: 1",
      "8 <69> popIntoTemp: temp 1",
      "9 <11> pushTemp: temp 1",
      "10 <77> pushConstant: 2",
      "11 <B4> send: #<=",
      "12 <AC 1B> jumpFalse: 41",
      "14 <8A 01> push: (Array new: 1)",
      "16 <6A> popIntoTemp: temp 2",
      "17 <70> self",
      "18 <11> pushTemp: temp 1",
      "19 <10> pushTemp: temp 0",
      "20 <12> pushTemp: temp 2",
      "21 <8F 30 00 08> closure(0 args, 3 copied) to 33",
      "25 <10> pushTemp: temp 0",
      "26 <8D 00 01> storeIntoTemp: 0 inVectorAt: 1",
      "29 <8D 00 02> storeIntoTemp: 0 inVectorAt: 2",
      "32 <7D> blockReturn",
      "33 <E0> send: #add:",
      "34 <87> pop",
      "35 <11> pushTemp: temp 1",
      "36 <76> pushConstant: 1",
      "37 <B0> send: #+",
      "38 <69> popIntoTemp: temp 1",
      "39 <A3 E0> jumpTo: 9",
      "41 <8C 00 00> pushTemp: 0 inVectorAt: 0",
      "44 <7C> returnTop",
    ]);
    expect(m.tempNames).toEqual(["<vector: a>", "i", "<vector: b>"]);
  });

  test("loop counters and loop body temps are copied per iteration", () => {
    expect(list("foo 1 to: 3 do: [:i | | x | x := i. self add: [x]. self add: [i]]")).toEqual([
      "0 <76> pushConstant: 1",
      "1 <68> popIntoTemp: temp 0",
      "2 <10> pushTemp: temp 0",
      "3 <20> pushConstant: 3",
      "4 <B4> send: #<=",
      "5 <AC 1E> jumpFalse: 37",
      "7 <73> pushConstant: nil",
      "8 <69> popIntoTemp: temp 1",
      "9 <10> pushTemp: temp 0",
      "10 <69> popIntoTemp: temp 1",
      "11 <70> self",
      "12 <11> pushTemp: temp 1",
      "13 <8F 10 00 02> closure(0 args, 1 copied) to 19",
      "17 <10> pushTemp: temp 0",
      "18 <7D> blockReturn",
      "19 <E1> send: #add:",
      "20 <87> pop",
      "21 <70> self",
      "22 <10> pushTemp: temp 0",
      "23 <8F 10 00 02> closure(0 args, 1 copied) to 29",
      "27 <10> pushTemp: temp 0",
      "28 <7D> blockReturn",
      "29 <E1> send: #add:",
      "30 <87> pop",
      "31 <10> pushTemp: temp 0",
      "32 <76> pushConstant: 1",
      "33 <B0> send: #+",
      "34 <68> popIntoTemp: temp 0",
      "35 <A3 DD> jumpTo: 2",
      "37 <78> return: self",
    ]);
  });

  test("non-local return, empty blocks", () => {
    expect(list("foo ^[:x | ^x]")).toEqual([
      "0 <8F 01 00 02> closure(1 args, 0 copied) to 6",
      "4 <10> pushTemp: temp 0",
      "5 <7C> returnTop",
      "6 <7C> returnTop",
    ]);
    expect(list("foo ^[]")).toEqual(["0 <8F 00 00 02> closure(0 args, 0 copied) to 6", "4 <73> pushConstant: nil", "5 <7D> blockReturn", "6 <7C> returnTop"]);
    expect(list("foo ^[:x | ]")).toEqual(["0 <8F 01 00 02> closure(1 args, 0 copied) to 6", "4 <73> pushConstant: nil", "5 <7D> blockReturn", "6 <7C> returnTop"]);
    expect(list("foo ^[| t | ]")).toEqual([
      "0 <8F 00 00 03> closure(0 args, 0 copied) to 7",
      "4 <73> pushConstant: nil",
      "5 <73> pushConstant: nil",
      "6 <7D> blockReturn",
      "7 <7C> returnTop",
    ]);
    expect(list("foo [^self] value")).toEqual([
      "0 <8F 00 00 02> closure(0 args, 0 copied) to 6",
      "4 <70> self",
      "5 <7C> returnTop",
      "6 <C9> send: #value",
      "7 <87> pop",
      "8 <78> return: self",
    ]);
  });

  test("self, instance variables and thisContext need no copying", () => {
    expect(list("foo ^[thisContext. self. iv]")).toEqual([
      "0 <8F 00 00 02> closure(0 args, 0 copied) to 6",
      "4 <00> pushRcvr: rcvr 0",
      "5 <7D> blockReturn",
      "6 <7C> returnTop",
    ]);
    expect(list("foo ^[iv := thisContext]")).toEqual([
      "0 <8F 00 00 04> closure(0 args, 0 copied) to 8",
      "4 <89> pushThisContext",
      "5 <81 00> storeIntoRcvr: rcvr 0",
      "7 <7D> blockReturn",
      "8 <7C> returnTop",
    ]);
  });

  test("a block in effect position is still compiled", () => {
    expect(list("foo [:x | x]")).toEqual([
      "0 <8F 01 00 02> closure(1 args, 0 copied) to 6",
      "4 <10> pushTemp: temp 0",
      "5 <7D> blockReturn",
      "6 <87> pop",
      "7 <78> return: self",
    ]);
  });

  test("the primitive error temporary stays in its slot when it must live in a vector", () => {
    const m = compile("foo <primitive: 60 error: ec> ^[ec := 3]");
    expect(listMethod(m)).toEqual([
      "0 <81 40> storeIntoTemp: temp 0",
      "2 <8A 01> push: (Array new: 1)",
      "4 <69> popIntoTemp: temp 1",
      "5 <10> pushTemp: temp 0",
      "6 <8E 00 01> popIntoTemp: 0 inVectorAt: 1",
      "9 <11> pushTemp: temp 1",
      "10 <8F 10 00 05> closure(0 args, 1 copied) to 19",
      "14 <20> pushConstant: 3",
      "15 <8D 00 00> storeIntoTemp: 0 inVectorAt: 0",
      "18 <7D> blockReturn",
      "19 <7C> returnTop",
    ]);
    expect(m.tempNames).toEqual(["ec", "<vector: ec>"]);
  });

  test("a block's frame counts towards the method's large frame bit", () => {
    const temps = Array.from({ length: 12 }, (_, i) => `t${i}`).join(" ");
    expect(compile(`foo ^[| ${temps} | t0]`).largeFrame).toBe(false);
    expect(compile(`foo ^[:a :b | | ${temps} | t0]`).largeFrame).toBe(true);
  });
});
