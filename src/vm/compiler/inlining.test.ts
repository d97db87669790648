import { describe, expect, test } from "vitest";
import type { CompileContext } from "./context.js";
import { compileMethod, parseExpression } from "./compile.js";
import { inlineKind } from "./inlining.js";
import { listMethod } from "./listing.js";

const ctx: CompileContext = { className: "Foo", instanceVariableNames: [], resolveBinding: () => ({ kind: "global" }) };
const list = (src: string) => listMethod(compileMethod(src, ctx).method);

describe("which sends are inlined", () => {
  const kind = (src: string) => {
    const s = parseExpression(src).body.statements[0];
    return s.kind === "message" ? inlineKind(s) : "not a message";
  };
  test.each([
    ["x ifTrue: [1]", "ifTrue"],
    ["x ifFalse: [1]", "ifFalse"],
    ["x ifTrue: [1] ifFalse: [2]", "ifTrueIfFalse"],
    ["x ifFalse: [1] ifTrue: [2]", "ifFalseIfTrue"],
    ["x and: [1]", "and"],
    ["x or: [1]", "or"],
    ["[x] whileTrue: [1]", "whileTrue"],
    ["[x] whileFalse: [1]", "whileFalse"],
    ["[x] whileTrue", "whileTrue"],
    ["[x] whileFalse", "whileFalse"],
    ["[x] repeat", "repeat"],
    ["1 to: 3 do: [:i | i]", "toDo"],
    ["1 to: 3 by: 2 do: [:i | i]", "toDo"],
    ["1 to: 3 by: -1 do: [:i | i]", "toDo"],
    ["1 to: 3 by: 0.5 do: [:i | i]", "toDo"],
    ["3 timesRepeat: [1]", "timesRepeat"],
    ["x ifNil: [1]", "ifNil"],
    ["x ifNotNil: [1]", "ifNotNil"],
    ["x ifNotNil: [:y | y]", "ifNotNil"],
    ["x ifNil: [1] ifNotNil: [:y | y]", "ifNilIfNotNil"],
    ["x ifNotNil: [:y | y] ifNil: [1]", "ifNotNilIfNil"],
  ])("%s is inlined as %s", (src, expected) => {
    expect(kind(src)).toBe(expected);
  });

  test.each([
    "x ifTrue: y",
    "x ifTrue: [:a | a]",
    "x ifTrue: [1] ifFalse: y",
    "x and: y",
    "y whileTrue: [1]",
    "[:a | a] whileTrue: [1]",
    "[x] whileTrue: y",
    "1 to: 3 do: y",
    "1 to: 3 do: [1]",
    "1 to: 3 by: y do: [:i | i]",
    "1 to: 3 by: 0 do: [:i | i]",
    "3 timesRepeat: y",
    "x ifNil: [:y | y]",
    "x ifNotNil: [:y :z | y]",
    "super ifTrue: [1]",
    "x repeat",
  ])("%s is a real send", (src) => {
    expect(kind(src)).toBeUndefined();
  });

  test("messages of a cascade are never inlined", () => {
    expect(list("foo: x x foo; ifTrue: [3]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <88> dup",
      "2 <D0> send: #foo",
      "3 <87> pop",
      "4 <8F 00 00 02> closure(0 args, 0 copied) to 10",
      "8 <21> pushConstant: 3",
      "9 <7D> blockReturn",
      "10 <E2> send: #ifTrue:",
      "11 <87> pop",
      "12 <78> return: self",
    ]);
  });

  test("non-inlined control messages are ordinary sends", () => {
    expect(list("foo: x | b | b := [:y | y]. ^(x ifTrue: b) , (x and: b) , (x to: 3 by: x do: [:i | i])").slice(4)).toEqual([
      "7 <10> pushTemp: temp 0",
      "8 <11> pushTemp: temp 1",
      "9 <E0> send: #ifTrue:",
      "10 <10> pushTemp: temp 0",
      "11 <11> pushTemp: temp 1",
      "12 <E1> send: #and:",
      "13 <E2> send: #,",
      "14 <10> pushTemp: temp 0",
      "15 <23> pushConstant: 3",
      "16 <10> pushTemp: temp 0",
      "17 <8F 01 00 02> closure(1 args, 0 copied) to 23",
      "21 <10> pushTemp: temp 0",
      "22 <7D> blockReturn",
      "23 <83 64> send: #to:by:do: (3 args)",
      "25 <E2> send: #,",
      "26 <7C> returnTop",
    ]);
  });
});

describe("conditionals", () => {
  test("ifTrue: answers nil when false", () => {
    expect(list("foo: x ^x ifTrue: [1]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <99> jumpFalse: 4",
      "2 <76> pushConstant: 1",
      "3 <90> jumpTo: 5",
      "4 <73> pushConstant: nil",
      "5 <7C> returnTop",
    ]);
    expect(list("foo: x x ifTrue: [self bar]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <9A> jumpFalse: 5",
      "2 <70> self",
      "3 <D0> send: #bar",
      "4 <87> pop",
      "5 <78> return: self",
    ]);
  });

  test("ifFalse: answers nil when true", () => {
    expect(list("foo: x ^x ifFalse: [1]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <99> jumpFalse: 4",
      "2 <73> pushConstant: nil",
      "3 <90> jumpTo: 5",
      "4 <76> pushConstant: 1",
      "5 <7C> returnTop",
    ]);
    expect(list("foo: x x ifFalse: [self bar]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <A8 03> jumpTrue: 6",
      "3 <70> self",
      "4 <D0> send: #bar",
      "5 <87> pop",
      "6 <78> return: self",
    ]);
  });

  test("ifTrue:ifFalse: and ifFalse:ifTrue:", () => {
    expect(list("foo: x ^x ifTrue: [1] ifFalse: [2]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <99> jumpFalse: 4",
      "2 <76> pushConstant: 1",
      "3 <90> jumpTo: 5",
      "4 <77> pushConstant: 2",
      "5 <7C> returnTop",
    ]);
    expect(list("foo: x ^x ifFalse: [1] ifTrue: [2]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <99> jumpFalse: 4",
      "2 <77> pushConstant: 2",
      "3 <90> jumpTo: 5",
      "4 <76> pushConstant: 1",
      "5 <7C> returnTop",
    ]);
    expect(list("foo: x x ifTrue: [self a] ifFalse: [self b]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <9B> jumpFalse: 6",
      "2 <70> self",
      "3 <D0> send: #a",
      "4 <87> pop",
      "5 <92> jumpTo: 9",
      "6 <70> self",
      "7 <D1> send: #b",
      "8 <87> pop",
      "9 <78> return: self",
    ]);
  });

  test("empty branches answer nil", () => {
    expect(list("foo: x ^x ifTrue: [] ifFalse: [3]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <99> jumpFalse: 4",
      "2 <73> pushConstant: nil",
      "3 <90> jumpTo: 5",
      "4 <20> pushConstant: 3",
      "5 <7C> returnTop",
    ]);
  });

  test("branches that return need no jump, and nothing follows them", () => {
    expect(list("foo: x ^x ifTrue: [^1] ifFalse: [^2]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <99> jumpFalse: 4",
      "2 <76> pushConstant: 1",
      "3 <7C> returnTop",
      "4 <77> pushConstant: 2",
      "5 <7C> returnTop",
    ]);
    expect(list("foo: x x ifTrue: [^1] ifFalse: [^2]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <99> jumpFalse: 4",
      "2 <76> pushConstant: 1",
      "3 <7C> returnTop",
      "4 <77> pushConstant: 2",
      "5 <7C> returnTop",
    ]);
  });

  test("and: answers false, or: answers true, without evaluating the block", () => {
    expect(list("foo: x ^(x and: [self y]) or: [self z]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <9A> jumpFalse: 5",
      "2 <70> self",
      "3 <CF> send: #y",
      "4 <90> jumpTo: 6",
      "5 <72> pushConstant: false",
      "6 <99> jumpFalse: 9",
      "7 <71> pushConstant: true",
      "8 <91> jumpTo: 11",
      "9 <70> self",
      "10 <D0> send: #z",
      "11 <7C> returnTop",
    ]);
    expect(list("foo: x x and: [self y]. x or: [self z]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <9A> jumpFalse: 5",
      "2 <70> self",
      "3 <CF> send: #y",
      "4 <87> pop",
      "5 <10> pushTemp: temp 0",
      "6 <A8 03> jumpTrue: 11",
      "8 <70> self",
      "9 <D0> send: #z",
      "10 <87> pop",
      "11 <78> return: self",
    ]);
  });
});

describe("nil tests", () => {
  test("ifNil: answers the receiver when not nil", () => {
    expect(list("foo: x ^x ifNil: [1]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <88> dup",
      "2 <73> pushConstant: nil",
      "3 <C6> send: #==",
      "4 <99> jumpFalse: 7",
      "5 <87> pop",
      "6 <76> pushConstant: 1",
      "7 <7C> returnTop",
    ]);
    expect(list("foo: x x ifNil: [self a]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <73> pushConstant: nil",
      "2 <C6> send: #==",
      "3 <9A> jumpFalse: 7",
      "4 <70> self",
      "5 <D0> send: #a",
      "6 <87> pop",
      "7 <78> return: self",
    ]);
  });

  test("ifNotNil: binds its parameter and answers nil when nil", () => {
    expect(list("foo: x ^x ifNotNil: [:y | y + 1]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <81 41> storeIntoTemp: temp 1",
      "3 <88> dup",
      "4 <73> pushConstant: nil",
      "5 <C6> send: #==",
      "6 <A8 04> jumpTrue: 12",
      "8 <87> pop",
      "9 <11> pushTemp: temp 1",
      "10 <76> pushConstant: 1",
      "11 <B0> send: #+",
      "12 <7C> returnTop",
    ]);
    expect(list("foo: x x ifNotNil: [:y | self a: y]. ^x ifNotNil: [2]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <81 41> storeIntoTemp: temp 1",
      "3 <73> pushConstant: nil",
      "4 <C6> send: #==",
      "5 <A8 04> jumpTrue: 11",
      "7 <70> self",
      "8 <11> pushTemp: temp 1",
      "9 <E0> send: #a:",
      "10 <87> pop",
      "11 <10> pushTemp: temp 0",
      "12 <88> dup",
      "13 <73> pushConstant: nil",
      "14 <C6> send: #==",
      "15 <A8 02> jumpTrue: 19",
      "17 <87> pop",
      "18 <77> pushConstant: 2",
      "19 <7C> returnTop",
    ]);
  });

  test("ifNil:ifNotNil: and ifNotNil:ifNil: compile alike", () => {
    const expected = [
      "0 <10> pushTemp: temp 0",
      "1 <81 41> storeIntoTemp: temp 1",
      "3 <73> pushConstant: nil",
      "4 <C6> send: #==",
      "5 <99> jumpFalse: 8",
      "6 <75> pushConstant: 0",
      "7 <90> jumpTo: 9",
      "8 <11> pushTemp: temp 1",
      "9 <7C> returnTop",
    ];
    expect(list("foo: x ^x ifNil: [0] ifNotNil: [:y | y]")).toEqual(expected);
    expect(list("foo: x ^x ifNotNil: [:y | y] ifNil: [0]")).toEqual(expected);
    expect(list("foo: x x ifNil: [self a] ifNotNil: [self b]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <73> pushConstant: nil",
      "2 <C6> send: #==",
      "3 <9B> jumpFalse: 8",
      "4 <70> self",
      "5 <D0> send: #a",
      "6 <87> pop",
      "7 <92> jumpTo: 11",
      "8 <70> self",
      "9 <D1> send: #b",
      "10 <87> pop",
      "11 <78> return: self",
    ]);
  });
});

describe("loops", () => {
  test("whileTrue: and whileFalse: answer nil", () => {
    expect(list("foo: x [x > 0] whileTrue: [self a]. ^[x < 0] whileFalse: [self b]")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <75> pushConstant: 0",
      "2 <B3> send: #>",
      "3 <9C> jumpFalse: 9",
      "4 <70> self",
      "5 <D0> send: #a",
      "6 <87> pop",
      "7 <A3 F7> jumpTo: 0",
      "9 <10> pushTemp: temp 0",
      "10 <75> pushConstant: 0",
      "11 <B2> send: #<",
      "12 <A8 05> jumpTrue: 19",
      "14 <70> self",
      "15 <D1> send: #b",
      "16 <87> pop",
      "17 <A3 F6> jumpTo: 9",
      "19 <73> pushConstant: nil",
      "20 <7C> returnTop",
    ]);
  });

  test("whileTrue and whileFalse without argument", () => {
    expect(list("foo: x [x foo] whileTrue. [x bar] whileFalse")).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <D0> send: #foo",
      "2 <99> jumpFalse: 5",
      "3 <A3 FB> jumpTo: 0",
      "5 <10> pushTemp: temp 0",
      "6 <D1> send: #bar",
      "7 <A8 02> jumpTrue: 11",
      "9 <A3 FA> jumpTo: 5",
      "11 <78> return: self",
    ]);
  });

  test("repeat", () => {
    expect(list("foo: x [self a] repeat")).toEqual([
      "0 <70> self",
      "1 <D0> send: #a",
      "2 <87> pop",
      "3 <A3 FB> jumpTo: 0",
      "5 <78> return: self",
    ]);
  });

  test("to:do: with a stable limit uses it directly", () => {
    const m = compileMethod("foo: n 1 to: n do: [:i | self a: i]", ctx).method;
    expect(listMethod(m)).toEqual([
      "0 <76> pushConstant: 1",
      "1 <69> popIntoTemp: temp 1",
      "2 <11> pushTemp: temp 1",
      "3 <10> pushTemp: temp 0",
      "4 <B4> send: #<=",
      "5 <AC 0A> jumpFalse: 17",
      "7 <70> self",
      "8 <11> pushTemp: temp 1",
      "9 <E0> send: #a:",
      "10 <87> pop",
      "11 <11> pushTemp: temp 1",
      "12 <76> pushConstant: 1",
      "13 <B0> send: #+",
      "14 <69> popIntoTemp: temp 1",
      "15 <A3 F1> jumpTo: 2",
      "17 <78> return: self",
    ]);
    expect(m.tempNames).toEqual(["n", "i"]);
  });

  test("to:do: evaluates any other limit once, and answers the receiver", () => {
    const m = compileMethod("foo: n ^1 to: self size do: [:i | self a: i]", ctx).method;
    expect(listMethod(m)).toEqual([
      "0 <76> pushConstant: 1",
      "1 <81 42> storeIntoTemp: temp 2",
      "3 <70> self",
      "4 <C2> send: #size",
      "5 <69> popIntoTemp: temp 1",
      "6 <12> pushTemp: temp 2",
      "7 <11> pushTemp: temp 1",
      "8 <B4> send: #<=",
      "9 <AC 0A> jumpFalse: 21",
      "11 <70> self",
      "12 <12> pushTemp: temp 2",
      "13 <E0> send: #a:",
      "14 <87> pop",
      "15 <12> pushTemp: temp 2",
      "16 <76> pushConstant: 1",
      "17 <B0> send: #+",
      "18 <6A> popIntoTemp: temp 2",
      "19 <A3 F1> jumpTo: 6",
      "21 <7C> returnTop",
    ]);
    expect(m.tempNames).toEqual(["n", "<limit>", "i"]);
  });

  test("to:by:do: with negative and fractional steps", () => {
    expect(list("foo: n 10 to: 1 by: -2 do: [:i | self a: i]. ^n to: 3 by: 0.5 do: [:k | ]")).toEqual([
      "0 <20> pushConstant: 10",
      "1 <69> popIntoTemp: temp 1",
      "2 <11> pushTemp: temp 1",
      "3 <76> pushConstant: 1",
      "4 <B5> send: #>=",
      "5 <AC 0A> jumpFalse: 17",
      "7 <70> self",
      "8 <11> pushTemp: temp 1",
      "9 <E1> send: #a:",
      "10 <87> pop",
      "11 <11> pushTemp: temp 1",
      "12 <22> pushConstant: -2",
      "13 <B0> send: #+",
      "14 <69> popIntoTemp: temp 1",
      "15 <A3 F1> jumpTo: 2",
      "17 <10> pushTemp: temp 0",
      "18 <81 42> storeIntoTemp: temp 2",
      "20 <12> pushTemp: temp 2",
      "21 <23> pushConstant: 3",
      "22 <B4> send: #<=",
      "23 <9D> jumpFalse: 30",
      "24 <12> pushTemp: temp 2",
      "25 <24> pushConstant: 0.5",
      "26 <B0> send: #+",
      "27 <6A> popIntoTemp: temp 2",
      "28 <A3 F6> jumpTo: 20",
      "30 <7C> returnTop",
    ]);
  });

  test("timesRepeat: counts in a hidden temporary and answers the receiver", () => {
    const m = compileMethod("foo: n n timesRepeat: [self a]. ^self size timesRepeat: [self b]", ctx).method;
    expect(listMethod(m)).toEqual([
      "0 <76> pushConstant: 1",
      "1 <69> popIntoTemp: temp 1",
      "2 <11> pushTemp: temp 1",
      "3 <10> pushTemp: temp 0",
      "4 <B4> send: #<=",
      "5 <AC 09> jumpFalse: 16",
      "7 <70> self",
      "8 <D0> send: #a",
      "9 <87> pop",
      "10 <11> pushTemp: temp 1",
      "11 <76> pushConstant: 1",
      "12 <B0> send: #+",
      "13 <69> popIntoTemp: temp 1",
      "14 <A3 F2> jumpTo: 2",
      "16 <70> self",
      "17 <C2> send: #size",
      "18 <81 43> storeIntoTemp: temp 3",
      "20 <76> pushConstant: 1",
      "21 <6A> popIntoTemp: temp 2",
      "22 <12> pushTemp: temp 2",
      "23 <13> pushTemp: temp 3",
      "24 <B4> send: #<=",
      "25 <AC 09> jumpFalse: 36",
      "27 <70> self",
      "28 <D1> send: #b",
      "29 <87> pop",
      "30 <12> pushTemp: temp 2",
      "31 <76> pushConstant: 1",
      "32 <B0> send: #+",
      "33 <6A> popIntoTemp: temp 2",
      "34 <A3 F2> jumpTo: 22",
      "36 <7C> returnTop",
    ]);
    expect(m.tempNames).toEqual(["n", "<counter>", "<counter>", "<limit>"]);
  });

  test("temporaries of an inlined loop body are reset on every iteration", () => {
    expect(list("foo | i | i := 0. [i < 5] whileTrue: [| t | self add: t. t := i := i + 1]")).toEqual([
      "0 <75> pushConstant: 0",
      "1 <68> popIntoTemp: temp 0",
      "2 <10> pushTemp: temp 0",
      "3 <20> pushConstant: 5",
      "4 <B2> send: #<",
      "5 <AC 0E> jumpFalse: 21",
      "7 <73> pushConstant: nil",
      "8 <69> popIntoTemp: temp 1",
      "9 <70> self",
      "10 <11> pushTemp: temp 1",
      "11 <E1> send: #add:",
      "12 <87> pop",
      "13 <10> pushTemp: temp 0",
      "14 <76> pushConstant: 1",
      "15 <B0> send: #+",
      "16 <81 40> storeIntoTemp: temp 0",
      "18 <69> popIntoTemp: temp 1",
      "19 <A3 ED> jumpTo: 2",
      "21 <78> return: self",
    ]);
  });

  test("temporaries of inlined blocks outside loops are hoisted but not reset", () => {
    const m = compileMethod("foo: x ^x ifTrue: [| t | t := 3. t]", ctx).method;
    expect(listMethod(m)).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <9B> jumpFalse: 6",
      "2 <20> pushConstant: 3",
      "3 <69> popIntoTemp: temp 1",
      "4 <11> pushTemp: temp 1",
      "5 <90> jumpTo: 7",
      "6 <73> pushConstant: nil",
      "7 <7C> returnTop",
    ]);
    expect(m.tempNames).toEqual(["x", "t"]);
  });

  test("temporaries in an inlined block nested in a loop are reset too", () => {
    expect(list("foo: c 1 to: c do: [:i | i odd ifTrue: [| t | self add: t. t := i]]").slice(6, 11)).toEqual([
      "7 <11> pushTemp: temp 1",
      "8 <D0> send: #odd",
      "9 <9F> jumpFalse: 18",
      "10 <73> pushConstant: nil",
      "11 <6A> popIntoTemp: temp 2",
    ]);
  });
});
