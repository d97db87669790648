import { describe, expect, test } from "vitest";
import type { CompileContext } from "./context.js";
import { compileDoIt, compileMethod } from "./compile.js";
import { CompileError, formatWarning, type CompileOptions } from "./errors.js";

const ctx: CompileContext = { className: "Foo", instanceVariableNames: [], resolveBinding: () => undefined };
const error = (src: string, options?: CompileOptions): CompileError => {
  try {
    compileMethod(src, ctx, options);
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error(`no error for ${src}`);
};

describe("CompileError", () => {
  test("locates the error in the source", () => {
    const e = error("foo: a\n  | t |\n  a := 3");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("CompileError");
    expect(e.message).toBe("Cannot store into argument 'a'");
    expect([e.offset, e.sourceOffset, e.line, e.column, e.lineText]).toEqual([17, 17, 3, 3, "  a := 3"]);
    expect(e.fileName).toBeUndefined();
  });

  test("format prints FILE:LINE:COL, the line and a caret", () => {
    const e = error("foo: a\n  | t |\n  a := 3");
    expect(e.format()).toBe("<input>:3:3: Cannot store into argument 'a'\n  a := 3\n  ^");
    expect(e.format("Foo.st", 100)).toBe("Foo.st:103:3: Cannot store into argument 'a'\n  a := 3\n  ^");
  });

  test("options place the source in its file", () => {
    const e = error("foo: a\n  a := 3", { fileName: "Kernel/Foo.st", line: 40, offset: 1200 });
    expect([e.offset, e.sourceOffset, e.line, e.column, e.fileName]).toEqual([1209, 9, 41, 3, "Kernel/Foo.st"]);
    expect(e.format()).toBe("Kernel/Foo.st:41:3: Cannot store into argument 'a'\n  a := 3\n  ^");
  });

  test("a source starting in the middle of a line shifts first-line columns", () => {
    const e = error("foo: a a := 3", { line: 7, column: 5 });
    expect([e.line, e.column]).toEqual([7, 12]);
    expect(e.format("x.st")).toBe("x.st:7:12: Cannot store into argument 'a'\n    foo: a a := 3\n           ^");
    const second = error("foo: a\na := 3", { line: 7, column: 5 });
    expect([second.line, second.column]).toEqual([8, 1]);
  });

  test("the caret keeps the tabs of the line", () => {
    const e = error("foo: a\n\t\ta := 3");
    expect(e.format()).toBe("<input>:2:3: Cannot store into argument 'a'\n\t\ta := 3\n\t\t^");
  });

  test("syntax errors at the end of the source", () => {
    const e = error("foo\n  ^(3 + 4");
    expect(e.message).toBe("')' expected");
    expect([e.line, e.column, e.lineText]).toEqual([2, 10, "  ^(3 + 4"]);
    expect(e.format()).toBe("<input>:2:10: ')' expected\n  ^(3 + 4\n         ^");
  });

  test("carriage returns end lines too", () => {
    const e = error("foo: a\r  | t |\r\n  a := 3");
    expect([e.line, e.column, e.lineText]).toEqual([3, 3, "  a := 3"]);
  });

  test("doits report errors the same way", () => {
    let e: unknown;
    try {
      compileDoIt("3 +", ctx, { fileName: "script.st", line: 3 });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(CompileError);
    expect((e as CompileError).format()).toBe("script.st:3:4: Variable or expression expected\n3 +\n   ^");
  });
});

describe("warnings", () => {
  test("carry a location and format like errors", () => {
    const { warnings } = compileMethod("foo\n  ^zork", ctx, { fileName: "a.st", line: 10, offset: 50 });
    expect(warnings).toEqual([
      { kind: "undeclared", message: "Undeclared variable 'zork'", offset: 57, sourceOffset: 7, line: 11, column: 4, lineText: "  ^zork", fileName: "a.st" },
    ]);
    expect(formatWarning(warnings[0])).toBe("a.st:11:4: warning: Undeclared variable 'zork'");
  });
});
