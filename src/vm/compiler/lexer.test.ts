import { describe, expect, test } from "vitest";
import type { LiteralSpec } from "../method/spec.js";
import { CompileError, SourceInfo } from "./errors.js";
import { tokenize } from "./lexer.js";

const lex = (src: string) => tokenize(new SourceInfo(src)).slice(0, -1);
const kinds = (src: string) => lex(src).map((t) => `${t.kind}:${t.text}`);
const literal = (src: string): LiteralSpec => {
  const tokens = lex(src);
  expect(tokens).toHaveLength(1);
  expect(tokens[0].kind).toBe("literal");
  return tokens[0].literal!;
};
const int = (value: bigint): LiteralSpec => ({ kind: "integer", value });
const lexError = (src: string): CompileError => {
  try {
    lex(src);
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error(`no error for ${src}`);
};

describe("numbers", () => {
  test("decimal and radix integers", () => {
    expect(literal("0")).toEqual(int(0n));
    expect(literal("123")).toEqual(int(123n));
    expect(literal("16rFF")).toEqual(int(255n));
    expect(literal("2r1010")).toEqual(int(10n));
    expect(literal("36rZZ")).toEqual(int(1295n));
    expect(literal("8r777")).toEqual(int(511n));
  });

  test("large integers stay exact", () => {
    expect(literal("123456789012345678901234567890")).toEqual(int(123456789012345678901234567890n));
    expect(literal("16rFFFFFFFFFFFFFFFFFFFF")).toEqual(int(0xffffffffffffffffffffn));
  });

  test("an exponent on an integer keeps it an integer, in its radix", () => {
    expect(literal("1e10")).toEqual(int(10000000000n));
    expect(literal("2r1e4")).toEqual(int(16n));
    expect(literal("16r1e2")).toEqual(int(256n));
    expect(literal("3e0")).toEqual(int(3n));
  });

  test("floats", () => {
    expect(literal("1.5")).toEqual({ kind: "float", value: 1.5 });
    expect(literal("1.5e-3")).toEqual({ kind: "float", value: 0.0015 });
    expect(literal("2.5e2")).toEqual({ kind: "float", value: 250 });
    expect(literal("2r1.1e-60")).toEqual({ kind: "float", value: 1.5 * 2 ** -60 });
  });

  test("an integer with a negative exponent is an exact fraction, as in Pharo", () => {
    expect(literal("1e-2")).toEqual({ kind: "fraction", numerator: 1n, denominator: 100n });
    expect(literal("25e-2")).toEqual({ kind: "fraction", numerator: 1n, denominator: 4n });
    expect(literal("100e-2")).toEqual({ kind: "integer", value: 1n });
    expect(literal("2r1e-3")).toEqual({ kind: "fraction", numerator: 1n, denominator: 8n });
    expect(literal("2r1.1")).toEqual({ kind: "float", value: 1.5 });
    expect(literal("16r1.8")).toEqual({ kind: "float", value: 1.5 });
    expect(literal("0.1")).toEqual({ kind: "float", value: 0.1 });
    expect(literal("1.0d0")).toEqual({ kind: "float", value: 1 });
  });

  test("scaled decimals keep the exact value and the scale", () => {
    expect(literal("1.5s2")).toEqual({ kind: "scaledDecimal", numerator: 3n, denominator: 2n, scale: 2 });
    expect(literal("3s")).toEqual({ kind: "scaledDecimal", numerator: 3n, denominator: 1n, scale: 0 });
    expect(literal("3s2")).toEqual({ kind: "scaledDecimal", numerator: 3n, denominator: 1n, scale: 2 });
    expect(literal("1.25s")).toEqual({ kind: "scaledDecimal", numerator: 5n, denominator: 4n, scale: 2 });
  });

  test("a period not followed by a digit ends the number", () => {
    expect(kinds("1.")).toEqual(["literal:1", "period:."]);
    expect(kinds("1. 2")).toEqual(["literal:1", "period:.", "literal:2"]);
  });

  test("letters after a number that are not part of it", () => {
    expect(kinds("3 sqrt")).toEqual(["literal:3", "identifier:sqrt"]);
    expect(kinds("3sqrt")).toEqual(["literal:3", "identifier:sqrt"]);
    expect(kinds("1e")).toEqual(["literal:1", "identifier:e"]);
    expect(kinds("2r1e")).toEqual(["literal:2r1", "identifier:e"]);
  });

  test("minus is never part of a number token", () => {
    expect(kinds("-3")).toEqual(["binary:-", "literal:3"]);
    expect(kinds("3-4")).toEqual(["literal:3", "binary:-", "literal:4"]);
    expect(kinds("3--4")).toEqual(["literal:3", "binary:-", "binary:-", "literal:4"]);
  });

  test("bad radix", () => {
    expect(lexError("1r0").message).toMatch(/radix/);
    expect(lexError("37r1").message).toMatch(/radix/);
    expect(lexError("16rxyz").message).toMatch(/Digit of radix 16/);
  });
});

describe("characters, strings, symbols", () => {
  test("characters", () => {
    expect(literal("$a")).toEqual({ kind: "character", value: 97 });
    expect(literal("$ ")).toEqual({ kind: "character", value: 32 });
    expect(literal("$'")).toEqual({ kind: "character", value: 39 });
    expect(literal("$$")).toEqual({ kind: "character", value: 36 });
    expect(literal('$"')).toEqual({ kind: "character", value: 34 });
    expect(literal("$😀")).toEqual({ kind: "character", value: 0x1f600 });
    expect(kinds("$a$b")).toEqual(["literal:$a", "literal:$b"]);
  });

  test("strings with doubled quotes", () => {
    expect(literal("'abc'")).toEqual({ kind: "string", value: "abc" });
    expect(literal("''")).toEqual({ kind: "string", value: "" });
    expect(literal("'it''s'")).toEqual({ kind: "string", value: "it's" });
    expect(literal("''''")).toEqual({ kind: "string", value: "'" });
    expect(literal("'a\nb'")).toEqual({ kind: "string", value: "a\nb" });
  });

  test("symbols", () => {
    const sym = (value: string): LiteralSpec => ({ kind: "symbol", value });
    expect(literal("#foo")).toEqual(sym("foo"));
    expect(literal("#foo:")).toEqual(sym("foo:"));
    expect(literal("#at:put:")).toEqual(sym("at:put:"));
    expect(literal("#+")).toEqual(sym("+"));
    expect(literal("#->")).toEqual(sym("->"));
    expect(literal("#'hello world'")).toEqual(sym("hello world"));
    expect(literal("##foo")).toEqual(sym("foo"));
    expect(literal("#Foo2")).toEqual(sym("Foo2"));
  });

  test("literal array and byte array openers", () => {
    expect(kinds("#(1)")).toEqual(["literalArray:#(", "literal:1", "rparen:)"]);
    expect(kinds("#[1]")).toEqual(["byteArray:#[", "literal:1", "rbracket:]"]);
  });

  test("unterminated strings and comments", () => {
    const e = lexError("foo 'abc");
    expect(e.message).toBe("Unmatched string quote");
    expect(e.sourceOffset).toBe(4);
    expect(lexError('foo "abc').message).toBe("Unmatched comment quote");
    expect(lexError("#").message).toMatch(/after #/);
    expect(lexError("$").message).toMatch(/Character expected/);
  });
});

describe("names and punctuation", () => {
  test("identifiers, keywords, assignment", () => {
    expect(kinds("foo foo: x:=3 _bar baz2")).toEqual([
      "identifier:foo", "keyword:foo:", "identifier:x", "assign::=", "literal:3", "identifier:_bar", "identifier:baz2",
    ]);
    expect(kinds("at:put:")).toEqual(["keyword:at:", "keyword:put:"]);
  });

  test("binary selectors", () => {
    expect(kinds("a + b")).toEqual(["identifier:a", "binary:+", "identifier:b"]);
    expect(kinds("a->b ~= c <= d // e \\\\ f , g")).toEqual([
      "identifier:a", "binary:->", "identifier:b", "binary:~=", "identifier:c", "binary:<=", "identifier:d", "binary://",
      "identifier:e", "binary:\\\\", "identifier:f", "binary:,", "identifier:g",
    ]);
    expect(kinds("a|b & c ==> d")).toEqual(["identifier:a", "binary:|", "identifier:b", "binary:&", "identifier:c", "binary:==>", "identifier:d"]);
    expect(kinds("x@y %z ?w")).toEqual(["identifier:x", "binary:@", "identifier:y", "binary:%", "identifier:z", "binary:?", "identifier:w"]);
  });

  test("block syntax and specials", () => {
    expect(kinds("[:x | ^x]. {a; b}")).toEqual([
      "lbracket:[", "colon::", "identifier:x", "binary:|", "caret:^", "identifier:x", "rbracket:]", "period:.",
      "lbrace:{", "identifier:a", "semicolon:;", "identifier:b", "rbrace:}",
    ]);
  });

  test("comments are skipped and offsets are exact", () => {
    const tokens = lex('"one" foo "two" bar');
    expect(tokens.map((t) => [t.text, t.start, t.end])).toEqual([["foo", 6, 9], ["bar", 16, 19]]);
  });

  test("unexpected characters", () => {
    const e = lexError("a ! b");
    expect(e.message).toBe("Unexpected character '!'");
    expect(e.column).toBe(3);
  });
});
