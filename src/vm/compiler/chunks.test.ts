import { describe, expect, test } from "vitest";
import { readChunks } from "./chunks.js";
import type { CompileContext } from "./context.js";
import { compileMethod } from "./compile.js";
import { CompileError } from "./errors.js";

const fileOut = [
  "\"A file-out\"",
  "Object subclass: #Point2",
  "\tinstanceVariableNames: 'x y'",
  "\tclassVariableNames: ''",
  "\tpackage: 'Demo'!",
  "",
  "!Point2 methodsFor: 'accessing' stamp: 'jd 1/1/2024'!",
  "x",
  "\t^x",
  "!",
  "x: aNumber",
  "\tx := aNumber",
  "! !",
  "",
  "!Point2 class methodsFor: 'instance creation'!",
  "x: ax y: ay",
  "\t^self new x: ax; y: ay; yourself! !",
  "",
  "Point2 class instanceVariableNames: 'cache'!",
  "Transcript show: 'done!!'; cr!",
].join("\n");

describe("readChunks", () => {
  test("doits and method sections with their positions", () => {
    expect(readChunks(fileOut)).toEqual([
      {
        kind: "doit",
        source: "\"A file-out\"\nObject subclass: #Point2\n\tinstanceVariableNames: 'x y'\n\tclassVariableNames: ''\n\tpackage: 'Demo'",
        line: 1, column: 1, offset: 0,
      },
      {
        kind: "methods", className: "Point2", classSide: false, category: "accessing", stamp: "jd 1/1/2024",
        line: 7, column: 2, offset: fileOut.indexOf("Point2 methodsFor"),
        methods: [
          { source: "x\n\t^x", line: 8, column: 1, offset: fileOut.indexOf("x\n\t^x") },
          { source: "x: aNumber\n\tx := aNumber", line: 11, column: 1, offset: fileOut.indexOf("x: aNumber") },
        ],
      },
      {
        kind: "methods", className: "Point2", classSide: true, category: "instance creation",
        line: 15, column: 2, offset: fileOut.indexOf("Point2 class methodsFor"),
        methods: [{ source: "x: ax y: ay\n\t^self new x: ax; y: ay; yourself", line: 16, column: 1, offset: fileOut.indexOf("x: ax y: ay") }],
      },
      { kind: "doit", source: "Point2 class instanceVariableNames: 'cache'", line: 19, column: 1, offset: fileOut.indexOf("Point2 class instanceVariableNames") },
      { kind: "doit", source: "Transcript show: 'done!'; cr", line: 20, column: 1, offset: fileOut.indexOf("Transcript") },
    ]);
  });

  test("!! is an escaped ! inside any chunk", () => {
    const items = readChunks("!Foo methodsFor: 'x'!\nbang\n\t^'!!' , '!!!!'\n! !");
    expect(items).toMatchObject([{ kind: "methods", methods: [{ source: "bang\n\t^'!' , '!!'" }] }]);
  });

  test("white-space chunks are skipped", () => {
    expect(readChunks(" \n ! 3 + 4 !\n\n!")).toEqual([{ kind: "doit", source: "3 + 4", line: 2, column: 4, offset: 5 }]);
    expect(readChunks("")).toEqual([]);
    expect(readChunks(" \n\t ")).toEqual([]);
  });

  test("a method section ends at an empty chunk or at the end of the file", () => {
    expect(readChunks("!Foo methodsFor: 'a'!\nfoo ^1!\nbar ^2!")).toMatchObject([
      { kind: "methods", methods: [{ source: "foo ^1" }, { source: "bar ^2" }] },
    ]);
    expect(readChunks("!Foo methodsFor: 'a'!foo ^1! !3!")).toMatchObject([
      { kind: "methods", methods: [{ source: "foo ^1", line: 1, column: 22, offset: 21 }] },
      { kind: "doit", source: "3" },
    ]);
    expect(readChunks("!Foo methodsFor: 'a'!")).toMatchObject([{ kind: "methods", methods: [] }]);
  });

  test("categories with quotes, and the category: form", () => {
    expect(readChunks("!Foo methodsFor: 'it''s'!\nfoo! !")).toMatchObject([{ kind: "methods", category: "it's" }]);
  });

  test("class comments", () => {
    const file = "!Foo commentStamp: 'jd 1/1/2024' prior: 0!\nI am a Foo.\nReally!! !\n\n4!";
    expect(readChunks(file)).toEqual([
      { kind: "comment", className: "Foo", classSide: false, text: "I am a Foo.\nReally!", line: 2, column: 1, offset: file.indexOf("I am") },
      { kind: "doit", source: "4", line: 5, column: 1, offset: file.indexOf("4!") },
    ]);
  });

  test("other preambles are doits", () => {
    expect(readChunks("!Foo initialize!\n3!")).toEqual([
      { kind: "doit", source: "Foo initialize", line: 1, column: 2, offset: 1 },
      { kind: "doit", source: "3", line: 2, column: 1, offset: 17 },
    ]);
  });

  test("carriage-return files count lines too", () => {
    expect(readChunks("1!\r\r!Foo methodsFor: 'a'!\rfoo\r\t^1! !")).toMatchObject([
      { kind: "doit", line: 1 },
      { kind: "methods", line: 3, methods: [{ source: "foo\r\t^1", line: 4, column: 1 }] },
    ]);
  });

  test("errors in a method point into the file", () => {
    const file = "Object subclass: #Foo!\n\n!Foo methodsFor: 'bad'!\nfoo: a\n\ta := 1! !";
    const [, section] = readChunks(file);
    if (section.kind !== "methods") throw new Error("expected methods");
    const m = section.methods[0];
    const ctx: CompileContext = { className: "Foo", instanceVariableNames: [], resolveBinding: () => undefined };
    let error: unknown;
    try {
      compileMethod(m.source, ctx, { fileName: "foo.st", line: m.line, column: m.column, offset: m.offset });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CompileError);
    const e = error as CompileError;
    expect(e.format()).toBe("foo.st:5:2: Cannot store into argument 'a'\n\ta := 1\n\t^");
    expect(file.slice(e.offset, e.offset + 6)).toBe("a := 1");
  });

  test("reading is linear in the size of the file", () => {
    const section = Array.from({ length: 5000 }, (_, i) => `m${i}\n\t^${i}\n!`).join("\n");
    const big = `!Foo methodsFor: 'many'!\n${section} !\n`;
    const start = performance.now();
    const [item] = readChunks(big);
    expect(performance.now() - start).toBeLessThan(500);
    expect(item).toMatchObject({ kind: "methods" });
    if (item.kind === "methods") {
      expect(item.methods).toHaveLength(5000);
      expect(item.methods[4999]).toMatchObject({ source: "m4999\n\t^4999", line: 2 + 4999 * 3 });
    }
  });
});
