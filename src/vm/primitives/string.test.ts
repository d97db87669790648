import { describe, expect, it } from "vitest";
import { createHarness, type Harness } from "./primitiveHarness.js";
import { LOWERCASE, UPPERCASE, squeakStringHash, stringModule, stringPrimitives } from "./string.js";
import { createPrimitiveTable } from "./table.js";
import { PrimErr } from "./errors.js";
import { smallIntOop as int, characterOop, type Oop } from "../memory/oop.js";
import type { PrimitiveFn } from "./table.js";
import { uncoveredPrimitives } from "./ledger.js";

const fn = (name: string): PrimitiveFn => {
  const f = stringModule[name];
  if (f === undefined) throw new Error(`no function ${name}`);
  return f;
};

function expectFail(h: Harness, name: string, code: number, receiver: Oop, ...args: Oop[]): void {
  expect(h.failure(fn(name), receiver, ...args)).toBe(code);
}

function expectAnswer(h: Harness, name: string, expected: Oop, receiver: Oop, ...args: Oop[]): void {
  const r = h.call(fn(name), receiver, ...args);
  expect(r.ok).toBe(true);
  expect(r.result).toBe(expected);
}

function ok(h: Harness, name: string, receiver: Oop, ...args: Oop[]): Oop {
  return h.answer(fn(name), receiver, ...args);
}

/** A 256-byte table mapping each byte through `map`. */
function table(h: Harness, map: (c: number) => number): Oop {
  return h.bytes(Array.from({ length: 256 }, (_, c) => map(c)));
}

describe("MiscPrimitivePlugin", () => {
  it("is registered under its Squeak name", () => {
    const t = createPrimitiveTable();
    const module = t.modules.get("MiscPrimitivePlugin");
    for (const name of [
      "primitiveCompareString", "primitiveFindFirstInString", "primitiveIndexOfAsciiInString", "primitiveFindSubstring",
      "primitiveStringHash", "primitiveTranslateStringWithTable", "primitiveAsUppercase", "primitiveAsLowercase",
      "primitiveIndexOfSubstring", "primitiveCompareIgnoringCase",
    ]) expect(module?.[name]).toBeTypeOf("function");
  });

  it("primitiveCompareString answers 1, 2, 3 with an order table or nil", () => {
    const h = createHarness();
    const nil = h.mem.nilOop;
    const cls = h.classes.ByteString;
    expectAnswer(h, "primitiveCompareString", int(1), cls, h.string("abc"), h.string("abd"), nil);
    expectAnswer(h, "primitiveCompareString", int(2), cls, h.string("abc"), h.string("abc"), nil);
    expectAnswer(h, "primitiveCompareString", int(3), cls, h.string("b"), h.string("abc"), nil);
    expectAnswer(h, "primitiveCompareString", int(1), cls, h.string("ab"), h.string("abc"), nil);
    expectAnswer(h, "primitiveCompareString", int(3), cls, h.string("abc"), h.string(""), nil);
    expectAnswer(h, "primitiveCompareString", int(2), cls, h.string(""), h.string(""), nil);
    const caseless = table(h, (c) => UPPERCASE[c]);
    expectAnswer(h, "primitiveCompareString", int(2), cls, h.string("Hello"), h.string("hELLO"), caseless);
    expectAnswer(h, "primitiveCompareString", int(1), cls, h.string("apple"), h.string("Banana"), caseless);
    expectAnswer(h, "primitiveCompareString", int(3), cls, h.string("apple"), h.string("Banana"), nil);
    const reversed = table(h, (c) => 255 - c);
    expectAnswer(h, "primitiveCompareString", int(3), cls, h.string("a"), h.string("b"), reversed);
    expectAnswer(h, "primitiveCompareString", int(2), cls, h.sym("abc"), h.bytes([97, 98, 99]), nil);
    expectFail(h, "primitiveCompareString", PrimErr.badArgument, cls, h.string("a"), h.string("b"), h.bytes([1, 2]));
    expectFail(h, "primitiveCompareString", PrimErr.badArgument, cls, h.string("a"), int(3), nil);
    expectFail(h, "primitiveCompareString", PrimErr.badArgument, cls, h.array([]), h.string("a"), nil);
    expectFail(h, "primitiveCompareString", PrimErr.badNumArgs, cls, h.string("a"), h.string("b"));
  });

  it("primitiveFindFirstInString finds the first byte of a set", () => {
    const h = createHarness();
    const cls = h.classes.ByteString;
    const spaces = table(h, (c) => (c === 32 || c === 9 ? 1 : 0));
    expectAnswer(h, "primitiveFindFirstInString", int(6), cls, h.string("hello world"), spaces, int(1));
    expectAnswer(h, "primitiveFindFirstInString", int(0), cls, h.string("hello world"), spaces, int(7));
    expectAnswer(h, "primitiveFindFirstInString", int(0), cls, h.string("hello"), spaces, int(99));
    expectAnswer(h, "primitiveFindFirstInString", int(0), cls, h.string("a b"), h.bytes([1, 1, 1]), int(1));
    expectFail(h, "primitiveFindFirstInString", PrimErr.badIndex, cls, h.string("a b"), spaces, int(0));
    expectFail(h, "primitiveFindFirstInString", PrimErr.badArgument, cls, h.string("a b"), h.mem.nilOop, int(1));
    expectFail(h, "primitiveFindFirstInString", PrimErr.badArgument, cls, int(3), spaces, int(1));
  });

  it("primitiveIndexOfAsciiInString finds a byte", () => {
    const h = createHarness();
    const cls = h.classes.ByteString;
    const s = h.string("banana");
    expectAnswer(h, "primitiveIndexOfAsciiInString", int(2), cls, int(97), s, int(1));
    expectAnswer(h, "primitiveIndexOfAsciiInString", int(4), cls, int(97), s, int(3));
    expectAnswer(h, "primitiveIndexOfAsciiInString", int(0), cls, int(122), s, int(1));
    expectAnswer(h, "primitiveIndexOfAsciiInString", int(0), cls, int(97), s, int(7));
    expectAnswer(h, "primitiveIndexOfAsciiInString", int(0), cls, int(300), s, int(1));
    expectFail(h, "primitiveIndexOfAsciiInString", PrimErr.badArgument, cls, characterOop(97), s, int(1));
    expectFail(h, "primitiveIndexOfAsciiInString", PrimErr.badIndex, cls, int(97), s, int(0));
  });

  it("primitiveFindSubstring finds a key through a match table", () => {
    const h = createHarness();
    const s = h.string("Hello, hello world");
    const identity = table(h, (c) => c);
    const caseless = table(h, (c) => LOWERCASE[c]);
    expectAnswer(h, "primitiveFindSubstring", int(8), s, h.string("hello"), s, int(1), identity);
    expectAnswer(h, "primitiveFindSubstring", int(1), s, h.string("hello"), s, int(1), caseless);
    expectAnswer(h, "primitiveFindSubstring", int(8), s, h.string("hello"), s, int(2), caseless);
    expectAnswer(h, "primitiveFindSubstring", int(14), s, h.string("world"), s, int(1), h.mem.nilOop);
    expectAnswer(h, "primitiveFindSubstring", int(0), s, h.string("worlds"), s, int(1), identity);
    expectAnswer(h, "primitiveFindSubstring", int(0), s, h.string(""), s, int(1), identity);
    expectAnswer(h, "primitiveFindSubstring", int(0), s, h.string("d"), s, int(19), identity);
    expectAnswer(h, "primitiveFindSubstring", int(18), s, h.string("d"), s, int(18), identity);
    expectFail(h, "primitiveFindSubstring", PrimErr.badIndex, s, h.string("d"), s, int(0), identity);
    expectFail(h, "primitiveFindSubstring", PrimErr.badArgument, s, h.string("d"), s, int(1), h.bytes([1]));
    expectFail(h, "primitiveFindSubstring", PrimErr.badArgument, s, h.array([]), s, int(1), identity);
  });

  it("primitiveStringHash follows Squeak's stringHash:initialHash:", () => {
    const h = createHarness();
    const cls = h.classes.ByteString;
    const reference = (text: string, initial: number): number => {
      // the Smalltalk of ByteString class>>stringHash:initialHash:, with exact integers
      let hash = BigInt(initial) & 0xfffffffn;
      for (const c of text) {
        hash += BigInt(c.charCodeAt(0));
        const low = hash & 16383n;
        hash = (0x260dn * low + ((0x260dn * (hash >> 14n) + 0x65n * low) & 16383n) * 16384n) & 0xfffffffn;
      }
      return Number(hash);
    };
    for (const [text, initial] of [["", 0], ["a", 0], ["hello world", 12345], ["\u00ff\u00fe", 0xfffffff], ["abc", -1]] as const) {
      expectAnswer(h, "primitiveStringHash", int(reference(text, initial)), cls, h.string(text), int(initial));
    }
    const bytes = new Uint8Array([1, 2, 3]);
    expect(squeakStringHash(bytes, 0, 3, 7)).toBe(reference("\u0001\u0002\u0003", 7));
    expectFail(h, "primitiveStringHash", PrimErr.badArgument, cls, h.string("a"), h.mem.nilOop);
    expectFail(h, "primitiveStringHash", PrimErr.badArgument, cls, h.array([]), int(0));
  });

  it("primitiveTranslateStringWithTable translates in place", () => {
    const h = createHarness();
    const cls = h.classes.ByteString;
    const upper = table(h, (c) => UPPERCASE[c]);
    const s = h.string("hello world");
    expectAnswer(h, "primitiveTranslateStringWithTable", cls, cls, s, int(1), int(5), upper);
    expect(h.mem.stringOf(s)).toBe("HELLO world");
    expectAnswer(h, "primitiveTranslateStringWithTable", cls, cls, s, int(5), int(4), upper);
    expectAnswer(h, "primitiveTranslateStringWithTable", cls, cls, s, int(1), int(11), h.mem.nilOop);
    expect(h.mem.stringOf(s)).toBe("HELLO world");
    expectFail(h, "primitiveTranslateStringWithTable", PrimErr.badIndex, cls, s, int(0), int(3), upper);
    expectFail(h, "primitiveTranslateStringWithTable", PrimErr.badIndex, cls, s, int(1), int(12), upper);
    expectFail(h, "primitiveTranslateStringWithTable", PrimErr.badArgument, cls, s, int(1), int(3), h.bytes([0]));
    expectFail(h, "primitiveTranslateStringWithTable", PrimErr.badArgument, cls, h.wordArray([1]), int(1), int(1), upper);
    h.mem.setReadOnly(s, true);
    expectFail(h, "primitiveTranslateStringWithTable", PrimErr.noModification, cls, s, int(1), int(3), upper);
    expect(h.mem.stringOf(s)).toBe("HELLO world");
  });
});

describe("Oz string helpers", () => {
  it("primitiveAsUppercase and primitiveAsLowercase map Latin-1 letters into a new string of the same class", () => {
    const h = createHarness();
    const { mem } = h;
    const s = mem.allocateString(h.classes.ByteString, "héllo wörld ÿ µ ß ÷ 123");
    const up = ok(h, "primitiveAsUppercase", s);
    expect(up).not.toBe(s);
    expect(mem.classOfPointer(up)).toBe(h.classes.ByteString);
    expect(mem.stringOf(up)).toBe("HÉLLO WÖRLD ÿ µ ß ÷ 123");
    const down = ok(h, "primitiveAsLowercase", up);
    expect(mem.stringOf(down)).toBe("héllo wörld ÿ µ ß ÷ 123");
    expect(mem.stringOf(s)).toBe("héllo wörld ÿ µ ß ÷ 123");
    expect(mem.stringOf(ok(h, "primitiveAsLowercase", h.string("ÀÖØÞ×")))).toBe("àöøþ×");
    const b = ok(h, "primitiveAsUppercase", h.bytes([97]));
    expect(mem.classOfPointer(b)).toBe(h.classes.ByteArray);
    expect(mem.stringOf(ok(h, "primitiveAsUppercase", h.string("")))).toBe("");
    expectFail(h, "primitiveAsUppercase", PrimErr.badReceiver, h.array([]));
    expectFail(h, "primitiveAsUppercase", PrimErr.badReceiver, int(3));
    expectFail(h, "primitiveAsLowercase", PrimErr.badReceiver, h.array([]));
    expectFail(h, "primitiveAsLowercase", PrimErr.badNumArgs, h.string("a"), h.string("b"));
  });

  it("answers interned symbols for symbols", () => {
    const h = createHarness();
    expectAnswer(h, "primitiveAsUppercase", h.sym("HELLO"), h.sym("hello"));
    expectAnswer(h, "primitiveAsLowercase", h.sym("hello"), h.sym("Hello"));
  });

  it("primitiveIndexOfSubstring searches with or without case", () => {
    const h = createHarness();
    const s = h.string("one Two two");
    expectAnswer(h, "primitiveIndexOfSubstring", int(9), s, h.string("two"), int(1));
    expectAnswer(h, "primitiveIndexOfSubstring", int(5), s, h.string("two"), int(1), h.mem.falseOop);
    expectAnswer(h, "primitiveIndexOfSubstring", int(9), s, h.string("two"), int(1), h.mem.trueOop);
    expectAnswer(h, "primitiveIndexOfSubstring", int(9), s, h.string("TWO"), int(6), h.mem.falseOop);
    expectAnswer(h, "primitiveIndexOfSubstring", int(0), s, h.string("three"), int(1));
    expectAnswer(h, "primitiveIndexOfSubstring", int(0), s, h.string(""), int(1));
    expectAnswer(h, "primitiveIndexOfSubstring", int(0), s, h.string("two"), int(100));
    expectAnswer(h, "primitiveIndexOfSubstring", int(1), s, s, int(1));
    expectFail(h, "primitiveIndexOfSubstring", PrimErr.badIndex, s, h.string("two"), int(0));
    expectFail(h, "primitiveIndexOfSubstring", PrimErr.badArgument, s, h.string("two"), int(1), h.mem.nilOop);
    expectFail(h, "primitiveIndexOfSubstring", PrimErr.badArgument, s, characterOop(116), int(1));
    expectFail(h, "primitiveIndexOfSubstring", PrimErr.badReceiver, h.array([]), h.string("a"), int(1));
  });

  it("finds keys whose first byte repeats", () => {
    const h = createHarness();
    const s = h.string("aaab aab ab");
    expectAnswer(h, "primitiveIndexOfSubstring", int(2), s, h.string("aab"), int(1));
    expectAnswer(h, "primitiveIndexOfSubstring", int(6), s, h.string("aab"), int(3));
    expectAnswer(h, "primitiveIndexOfSubstring", int(7), s, h.string("ab"), int(7));
    expectAnswer(h, "primitiveIndexOfSubstring", int(10), s, h.string("ab"), int(8));
  });

  it("primitiveCompareIgnoringCase folds to uppercase", () => {
    const h = createHarness();
    expectAnswer(h, "primitiveCompareIgnoringCase", int(2), h.string("Straße"), h.string("STRAßE"));
    expectAnswer(h, "primitiveCompareIgnoringCase", int(2), h.string("éa"), h.string("ÉA"));
    expectAnswer(h, "primitiveCompareIgnoringCase", int(1), h.string("a"), h.string("_"));
    expectAnswer(h, "primitiveCompareIgnoringCase", int(3), h.string("abc"), h.string("AB"));
    expectAnswer(h, "primitiveCompareIgnoringCase", int(1), h.string("abc"), h.string("ABD"));
    expectFail(h, "primitiveCompareIgnoringCase", PrimErr.badArgument, h.string("a"), int(1));
    expectFail(h, "primitiveCompareIgnoringCase", PrimErr.badReceiver, int(1), h.string("a"));
  });
});

describe("158 compareWith:collated:", () => {
  it("answers the first difference or the size difference", () => {
    const h = createHarness();
    const p = stringPrimitives[158]!;
    const call = (...oops: Oop[]) => h.call(p, oops[0], ...oops.slice(1));
    expect(call(h.string("abc"), h.string("abd")).result).toBe(int(-1));
    expect(call(h.string("abc"), h.string("abc")).result).toBe(int(0));
    expect(call(h.string("abcde"), h.string("abc")).result).toBe(int(2));
    expect(call(h.string("b"), h.string("a")).result).toBe(int(1));
    const caseless = table(h, (c) => UPPERCASE[c]);
    expect(call(h.string("ABC"), h.string("abc"), caseless).result).toBe(int(0));
    expect(call(h.string("a"), h.string("b"), h.mem.nilOop).result).toBe(int(-1));
    expect(call(h.string("a"), int(1)).code).toBe(PrimErr.badArgument);
    expect(call(int(1), h.string("a")).code).toBe(PrimErr.badReceiver);
    expect(call(h.string("a"), h.string("b"), h.bytes([0])).code).toBe(PrimErr.badArgument);
  });
});

describe("through a named-primitive method", () => {
  it("runs String class>>compare:with:collated: via MiscPrimitivePlugin", () => {
    const h = createHarness();
    const spec = h.array([h.string("MiscPrimitivePlugin"), h.string("primitiveCompareString"), int(0), int(0)]);
    h.defineMethod("ByteString class", "compare:with:collated:", [0x73, 0x7c], [spec], { primitive: 117 });
    const selector = h.sym("compare:with:collated:");
    const send = [0x70, 0x20, 0x21, 0x73, 0x83, (3 << 5) | 2, 0x7c];
    const run = h.run(send, [h.string("abc"), h.string("abd"), selector], { receiver: h.classes.ByteString });
    expect(run.slice.fault).toBeUndefined();
    expect(run.result).toBe(int(1));
  });
});

describe("string helpers under stress collection", () => {
  it("primitiveAsUppercase re-reads its receiver after the collector moves it", () => {
    const h = createHarness({ stressGC: true });
    for (let i = 0; i < 10; i++) {
      h.array([int(i)]); // garbage before the receiver, so that it moves
      const s = h.mem.newHandle(h.string(`mixed Case ${i}`));
      const up = ok(h, "primitiveAsUppercase", s.oop);
      expect(h.mem.stringOf(up)).toBe(`MIXED CASE ${i}`);
      h.mem.releaseHandle(s);
    }
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(uncoveredPrimitives(stringPrimitives)).toEqual({ notSucceeded: [], notFailed: [] });
    expect(uncoveredPrimitives(stringModule)).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
