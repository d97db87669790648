import { describe, expect, test } from "vitest";
import type { BindingScope } from "../method/spec.js";
import type { CompileContext } from "./context.js";
import { compileDoIt, compileMethod } from "./compile.js";
import { CompileError } from "./errors.js";
import { listMethod } from "./listing.js";

const bindings: Record<string, BindingScope> = {
  Transcript: { kind: "global" },
  Counter: { kind: "classVariable", owner: "Foo" },
  Tab: { kind: "poolVariable", pool: "Chars" },
};
const ctx: CompileContext = {
  className: "Foo",
  instanceVariableNames: ["x", "y", ...Array.from({ length: 260 }, (_, i) => `v${i}`)],
  resolveBinding: (name) => bindings[name],
};
const compile = (src: string) => compileMethod(src, ctx);
const method = (src: string) => compile(src).method;
const error = (src: string, doit = false): CompileError => {
  try {
    if (doit) compileDoIt(src, ctx);
    else compile(src);
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error(`no error for ${src}`);
};

describe("quick methods", () => {
  test.each([
    ["foo ^self", 256, [120]],
    ["foo ^true", 257, [121]],
    ["foo ^false", 258, [122]],
    ["foo ^nil", 259, [123]],
    ["foo ^-1", 260, [116, 124]],
    ["foo ^0", 261, [117, 124]],
    ["foo ^1", 262, [118, 124]],
    ["foo ^2", 263, [119, 124]],
    ["foo ^x", 264, [0, 124]],
    ["foo ^y", 265, [1, 124]],
    ["foo ^v253", 519, [132, 64, 255, 124]],
    ["foo: a bar: b ^self", 256, [120]],
    ["foo: a ^x", 264, [0, 124]],
  ])("%s has primitive %i and keeps its bytecodes", (src, primitive, bytecodes) => {
    const m = method(src);
    expect(m.primitive).toBe(primitive);
    expect([...m.bytecodes]).toEqual(bytecodes);
  });

  test.each([
    "foo ^3",
    "foo ^super",
    "foo | t | ^self",
    "foo self bar. ^self",
    "foo ^Transcript",
    "foo: a ^a",
    "foo",
    "foo self",
    "foo <primitive: 60> ^self",
  ])("%s is not quick", (src) => {
    const m = method(src);
    expect(m.primitive === 0 || m.primitive === 60).toBe(true);
  });

  test("doits are never quick", () => {
    expect(compileDoIt("^true", ctx).method.primitive).toBe(0);
  });
});

describe("primitives and pragmas", () => {
  test("numbered primitive", () => {
    const m = method("+ other <primitive: 1> ^super + other");
    expect(m.primitive).toBe(1);
    expect(m.pragmas).toEqual([]);
  });

  test("primitive error code: marker, then the temporary after the arguments", () => {
    const m = method("at: i put: v <primitive: 61 error: ec> | t | t := ec. ^t");
    expect(m.primitive).toBe(61);
    expect(m.tempNames).toEqual(["i", "v", "ec", "t"]);
    expect(m.numTemps).toBe(4);
    expect(listMethod(m)).toEqual([
      "0 <81 42> storeIntoTemp: temp 2",
      "2 <12> pushTemp: temp 2",
      "3 <6B> popIntoTemp: temp 3",
      "4 <13> pushTemp: temp 3",
      "5 <7C> returnTop",
    ]);
    expect(method("foo <primitive: 60 error: 'code'> ^code").tempNames).toEqual(["code"]);
  });

  test("the error code temporary is not quick and may be named like nothing else", () => {
    expect(method("foo <primitive: 60 error: ec> ^self").primitive).toBe(60);
    expect(error("foo: ec <primitive: 60 error: ec> ^ec").message).toBe("Duplicate variable name 'ec'");
    expect(error("foo <primitive: 60 error: ec> | ec | ^ec").message).toBe("Duplicate variable name 'ec'");
  });

  test("named primitives", () => {
    const m = method("foo: a <primitive: 'primitiveFoo' module: 'FooPlugin'> ^nil");
    expect(m.primitive).toBe(117);
    expect(m.literals).toEqual([
      { kind: "namedPrimitive", module: "FooPlugin", name: "primitiveFoo" },
      { kind: "symbol", value: "foo:" },
      { kind: "methodClass" },
    ]);
    const core = method("foo <primitive: 'primitiveBar'> ^self bar");
    expect(core.literals[0]).toEqual({ kind: "namedPrimitive", module: "", name: "primitiveBar" });
    expect(listMethod(core)).toEqual(["0 <70> self", "1 <D1> send: #bar", "2 <7C> returnTop"]);
    const withError = method("foo <primitive: 'p' module: 'M' error: ec> ^ec");
    expect(withError.primitive).toBe(117);
    expect(withError.tempNames).toEqual(["ec"]);
    expect([...withError.bytecodes.slice(0, 2)]).toEqual([129, 64]);
  });

  test("other pragmas are recorded", () => {
    const m = method("foo <foo: 1 bar: 'x' baz: #sym qux: true n: nil f: 1.5 c: $a s: -2> <gtInspectorPresentationOrder> ^1");
    expect(m.pragmas).toEqual([
      { keyword: "foo:bar:baz:qux:n:f:c:s:", args: [1n, "x", "sym", true, null, 1.5, "a", -2n] },
      { keyword: "gtInspectorPresentationOrder", args: [] },
    ]);
    expect(m.primitive).toBe(262);
  });

  test.each([
    ["foo <primitive: 1> <primitive: 2>", "Only one primitive pragma is allowed"],
    ["foo <primitive: 2000>", "Primitive number out of range (0 to 1023)"],
    ["foo <primitive: 1 module: 'x'>", "A numbered primitive has no module"],
    ["foo <primitive: 'x' module: 3>", "Module name (a string) expected"],
    ["foo <primitive: 1.5>", "Primitive number or name expected"],
    ["foo <primitive: 1 error: 3>", "Name of the error code temporary expected"],
    ["foo <foo: #(1 2)>", "Pragma arguments must be numbers, strings, symbols, characters, booleans or nil"],
    ["foo <foo: bar>", "Literal expected as pragma argument"],
  ])("%s fails: %s", (src, message) => {
    expect(error(src).message).toBe(message);
  });
});

describe("variables", () => {
  test("assignments to arguments and pseudo variables are errors", () => {
    const cases: Array<[string, string, number]> = [
      ["foo: a a := 3", "Cannot store into argument 'a'", 7],
      ["foo [:b | b := 3]", "Cannot store into argument 'b'", 10],
      ["foo 1 to: 3 do: [:i | i := 2]", "Cannot store into argument 'i'", 22],
      ["foo self := 3", "Cannot store into self", 4],
      ["foo super := 3", "Cannot store into super", 4],
      ["foo thisContext := 3", "Cannot store into thisContext", 4],
      ["foo true := 3", "Cannot store into true", 4],
      ["foo nil := 3", "Cannot store into nil", 4],
      ["foo Tab := 3", "Cannot store into pool variable 'Tab'", 4],
    ];
    for (const [src, message, offset] of cases) {
      const e = error(src);
      expect([src, e.message, e.sourceOffset]).toEqual([src, message, offset]);
    }
  });

  test("globals, class variables and undeclared variables are assignable", () => {
    expect(listMethod(method("foo Transcript := Counter := zork := 1"))).toEqual([
      "0 <76> pushConstant: 1",
      "1 <81 C0> storeIntoLitVar: zork (undeclared)",
      "3 <81 C1> storeIntoLitVar: Counter (classVariable)",
      "5 <82 C2> popIntoLitVar: Transcript",
      "7 <78> return: self",
    ]);
    expect(method("foo ^Counter").literals[0]).toEqual({ kind: "binding", name: "Counter", scope: { kind: "classVariable", owner: "Foo" } });
    expect(method("foo ^Tab").literals[0]).toEqual({ kind: "binding", name: "Tab", scope: { kind: "poolVariable", pool: "Chars" } });
  });

  test("declarations", () => {
    expect(error("foo | a a |").message).toBe("Duplicate variable name 'a'");
    expect(error("foo: a | a |").message).toBe("Duplicate variable name 'a'");
    expect(error("foo: a bar: a").message).toBe("Duplicate variable name 'a'");
    expect(error("foo [:a :a | a]").message).toBe("Duplicate variable name 'a'");
    expect(error("foo [:a | | a | a]").message).toBe("Duplicate variable name 'a'");
    expect(error("foo | self |").message).toBe("'self' is a reserved name and cannot be declared");
    expect(error("foo: nil").message).toBe("'nil' is a reserved name and cannot be declared");
    expect(error("foo [:thisContext | ]").message).toBe("'thisContext' is a reserved name and cannot be declared");
  });

  test("instance variables are found by index", () => {
    expect(listMethod(method("foo ^y"))).toEqual(["0 <01> pushRcvr: rcvr 1", "1 <7C> returnTop"]);
    const e = error("foo ^v254");
    expect(e.message).toBe("Instance variable index 256 is out of range");
  });

  test("temporaries shadow instance variables and globals", () => {
    const { method: m, warnings } = compile("foo: x | Transcript | Transcript := x. ^Transcript");
    expect(listMethod(m)).toEqual(["0 <10> pushTemp: temp 0", "1 <69> popIntoTemp: temp 1", "2 <11> pushTemp: temp 1", "3 <7C> returnTop"]);
    expect(warnings.map((w) => [w.kind, w.message, w.column])).toEqual([["shadowed", "'x' shadows an instance variable", 6]]);
  });

  test("inner temporaries shadow outer ones with a warning", () => {
    const { method: m, warnings } = compile("foo | t | t := 1. ^[:t | t]");
    expect(warnings.map((w) => w.message)).toEqual(["'t' shadows an outer temporary"]);
    expect(listMethod(m).slice(2)).toEqual(["2 <8F 01 00 02> closure(1 args, 0 copied) to 8", "6 <10> pushTemp: temp 0", "7 <7D> blockReturn", "8 <7C> returnTop"]);
  });

  test("undeclared variables are bound in Undeclared with one warning per name", () => {
    const { method: m, warnings } = compile("foo\n  zork := Zork new.\n  ^zork + Zork");
    expect(m.literals.slice(0, 2)).toEqual([
      { kind: "binding", name: "Zork", scope: { kind: "undeclared" } },
      { kind: "binding", name: "zork", scope: { kind: "undeclared" } },
    ]);
    expect(warnings).toMatchObject([
      { kind: "undeclared", message: "Undeclared variable 'Zork'", line: 2, column: 11, sourceOffset: 14 },
      { kind: "undeclared", message: "Undeclared variable 'zork'", line: 2, column: 3, sourceOffset: 6 },
    ]);
  });

  test("resolveBinding is asked once per name", () => {
    const asked: string[] = [];
    const counting: CompileContext = { ...ctx, resolveBinding: (n) => (asked.push(n), bindings[n]) };
    compileMethod("foo Transcript show: 1; show: Transcript. ^Transcript", counting);
    expect(asked).toEqual(["Transcript"]);
  });
});
