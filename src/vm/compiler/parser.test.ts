import { describe, expect, test } from "vitest";
import type { SequenceNode, StatementNode } from "./ast.js";
import { parseExpression, parseMethod } from "./compile.js";
import { CompileError } from "./errors.js";
import { printLiteral } from "./listing.js";

/** a compact rendering of the tree: (selector receiver args...), [block], {brace}, x:=v, ^v */
function show(node: StatementNode): string {
  switch (node.kind) {
    case "literal": return printLiteral(node.value);
    case "variable": return node.name;
    case "assignment": return `${node.variable.name}:=${show(node.value)}`;
    case "return": return `^${show(node.value)}`;
    case "message": return `(${[node.selector, show(node.receiver), ...node.args.map(show)].join(" ")})`;
    case "cascade": return `(cascade ${show(node.receiver)} ${node.messages.map((m) => `(${[m.selector, ...m.args.map(show)].join(" ")})`).join(" ")})`;
    case "block": return `[${node.params.map((p) => `:${p.name} `).join("")}${sequence(node.body)}]`;
    case "brace": return `{${node.elements.map(show).join(". ")}}`;
  }
}
function sequence(s: SequenceNode): string {
  const temps = s.temps.length ? `|${s.temps.map((t) => t.name).join(" ")}| ` : "";
  return temps + s.statements.map(show).join(". ");
}
const expr = (src: string) => sequence(parseExpression(src).body);
const parseError = (src: string, method = false): CompileError => {
  try {
    if (method) parseMethod(src);
    else parseExpression(src);
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error(`no error for ${src}`);
};

describe("expressions", () => {
  test("unary, binary, keyword precedence", () => {
    expect(expr("a b c")).toBe("(c (b a))");
    expect(expr("a + b * c")).toBe("(* (+ a b) c)");
    expect(expr("a + b c")).toBe("(+ a (c b))");
    expect(expr("a at: b + 1 put: c d")).toBe("(at:put: a (+ b 1) (d c))");
    expect(expr("(a at: 1) + 2")).toBe("(+ (at: a 1) 2)");
    expect(expr("a foo: (b bar: c)")).toBe("(foo: a (bar: b c))");
  });

  test("minus and negative literals", () => {
    expect(expr("3-4")).toBe("(- 3 4)");
    expect(expr("3 - -4")).toBe("(- 3 -4)");
    expect(expr("3--4")).toBe("(- 3 -4)");
    expect(expr("x-1")).toBe("(- x 1)");
    expect(expr("x -1")).toBe("(- x 1)");
    expect(expr("-16rFF abs")).toBe("(abs -255)");
    expect(expr("-1.5")).toBe("-1.5");
    expect(expr("a - 2 negated")).toBe("(- a (negated 2))");
    expect(expr("#(-1 - 2)")).toBe("#(-1 #- 2)");
  });

  test("assignments", () => {
    expect(expr("a := b := 3 + 4")).toBe("a:=b:=(+ 3 4)");
  });

  test("cascades", () => {
    expect(expr("Transcript show: 'a'; cr; show: 'b' , 'c'")).toBe("(cascade Transcript (show: 'a') (cr) (show: (, 'b' 'c')))");
    expect(expr("OrderedCollection new add: 1; add: 2; yourself")).toBe("(cascade (new OrderedCollection) (add: 1) (add: 2) (yourself))");
    expect(expr("a b c; d")).toBe("(cascade (b a) (c) (d))");
    expect(expr("a + 1; - 2")).toBe("(cascade a (+ 1) (- 2))");
    const node = parseExpression("x foo; bar: 1").body.statements[0];
    expect(node.kind).toBe("cascade");
    if (node.kind === "cascade") {
      expect(node.messages.map((m) => [m.start, m.end])).toEqual([[2, 5], [7, 13]]);
    }
  });

  test("blocks", () => {
    expect(expr("[]")).toBe("[]");
    expect(expr("[:x | x]")).toBe("[:x x]");
    expect(expr("[:x]")).toBe("[:x ]");
    expect(expr("[:x :y | | t | t := x. y]")).toBe("[:x :y |t| t:=x. y]");
    expect(expr("[:x || t | t]")).toBe("[:x |t| t]");
    expect(expr("[ : x | x]")).toBe("[:x x]");
    expect(expr("[| a b | a]")).toBe("[|a b| a]");
    expect(expr("[^self]")).toBe("[^self]");
    expect(expr("[:x | ]")).toBe("[:x ]");
  });

  test("braces", () => {
    expect(expr("{}")).toBe("{}");
    expect(expr("{1. a + 2. b}")).toBe("{1. (+ a 2). b}");
    expect(expr("{1. 2.}")).toBe("{1. 2}");
  });

  test("constants and pseudo variables", () => {
    expect(parseExpression("true").body.statements[0]).toMatchObject({ kind: "literal", value: { kind: "true" } });
    expect(parseExpression("nil").body.statements[0]).toMatchObject({ kind: "literal", value: { kind: "nil" } });
    expect(parseExpression("thisContext").body.statements[0]).toMatchObject({ kind: "variable", name: "thisContext" });
  });

  test("literal arrays", () => {
    expect(expr("#(1 $a 'b' #c d e: true false nil #(1) (2 3) #[1 2] #+ +)")).toBe(
      "#(1 $a 'b' #c #d #e: true false nil (1) (2 3) #[1 2] #+ #+)",
    );
    expect(expr("#(at:put: foo: bar)")).toBe("#(#at:put: #foo: #bar)");
    expect(expr("#(foo: bar:)")).toBe("#(#foo: #bar:)");
    expect(expr("#()")).toBe("#()");
    expect(expr("#(#(#()))")).toBe("#((()))");
    expect(expr("#[]")).toBe("#[]");
    expect(expr("#[0 255 16rFF]")).toBe("#[0 255 255]");
  });

  test("statement sequences", () => {
    expect(expr("| a | a := 1. a")).toBe("|a| a:=1. a");
    expect(expr("a. b.")).toBe("a. b");
    expect(expr("a.. b")).toBe("a. b");
    expect(expr("")).toBe("");
    expect(expr("^a")).toBe("^a");
    expect(expr('"only a comment"')).toBe("");
  });

  test("source ranges", () => {
    const s = parseExpression("foo bar: 1 + 2").body.statements[0];
    expect(s).toMatchObject({ kind: "message", selector: "bar:", start: 0, end: 14, selectorParts: [{ start: 4, end: 8 }] });
    if (s.kind === "message") expect(s.args[0]).toMatchObject({ start: 9, end: 14 });
  });
});

describe("methods", () => {
  test("patterns", () => {
    expect(parseMethod("foo ^1")).toMatchObject({ selector: "foo", params: [] });
    expect(parseMethod("+ other ^1").params.map((p) => p.name)).toEqual(["other"]);
    const m = parseMethod("at: i put: v ^v");
    expect(m.selector).toBe("at:put:");
    expect(m.params.map((p) => p.name)).toEqual(["i", "v"]);
    expect(m.selectorParts).toEqual([{ start: 0, end: 3 }, { start: 6, end: 10 }]);
  });

  test("temporaries and pragmas in either order", () => {
    const a = parseMethod("foo <primitive: 60> | a b | ^a");
    expect(a.pragmas).toMatchObject([{ selector: "primitive:", args: [{ kind: "literal", value: { kind: "integer", value: 60n } }] }]);
    expect(a.body.temps.map((t) => t.name)).toEqual(["a", "b"]);
    const b = parseMethod("foo | a | <foo> <bar: #baz quux: 'x'> ^a");
    expect(b.pragmas.map((p) => p.selector)).toEqual(["foo", "bar:quux:"]);
    expect(b.body.temps.map((t) => t.name)).toEqual(["a"]);
    const c = parseMethod("foo <primitive: 60 error: ec> ^ec");
    expect(c.pragmas[0].args[1]).toMatchObject({ kind: "name", name: "ec" });
    const d = parseMethod("foo <a><b: -1>|x| ^x");
    expect(d.pragmas.map((p) => p.selector)).toEqual(["a", "b:"]);
    expect(d.pragmas[1].args[0]).toMatchObject({ value: { kind: "integer", value: -1n } });
  });

  test("an empty method body", () => {
    expect(parseMethod("foo").body.statements).toEqual([]);
    expect(parseMethod("foo | |").body.temps).toEqual([]);
  });
});

describe("syntax errors", () => {
  const cases: Array<[string, string, number]> = [
    ["a :=", "Variable or expression expected", 4],
    ["(a foo", "')' expected", 6],
    ["[:x y]", "'|' or ']' expected after block parameters", 4],
    ["[a b", "'.' or ']' expected", 4],
    ["[1 2]", "'.' or ']' expected", 3],
    ["a foo: ]", "Variable or expression expected", 7],
    ["^1. 2", "Nothing more expected after a return", 4],
    ["[^1. 2]", "']' expected: nothing may follow a return", 5],
    ["1 2", "Nothing more expected", 2],
    ["(a); b", "Cascade must follow a message send", 3],
    ["a; b", "Cascade must follow a message send", 1],
    ["a foo; 3", "Message expected after ';'", 7],
    ["#(1 2", "')' expected: unmatched literal array", 0],
    ["#[1 256]", "Byte array element must be an integer between 0 and 255", 4],
    ["#[1 a]", "Byte array element must be an integer between 0 and 255", 4],
    ["#(1 ^)", "Invalid literal array element", 4],
    ["{1 2}", "'.' or '}' expected", 3],
    ["| a b", "'|' expected after temporaries", 5],
  ];
  test.each(cases)("%s", (src, message, offset) => {
    const e = parseError(src);
    expect(e.message).toBe(message);
    expect(e.sourceOffset).toBe(offset);
  });

  test("method errors", () => {
    expect(parseError("3 + 4", true).message).toBe("Message pattern expected");
    expect(parseError("at: 3", true).message).toBe("Argument name expected");
    expect(parseError("foo <primitive: 1", true).message).toBe("'>' expected at the end of the pragma");
    expect(parseError("foo <primitive: a + 1>", true).message).toBe("'>' expected at the end of the pragma");
    expect(parseError("foo <3>", true).message).toBe("Pragma selector expected");
    expect(parseError("foo 1 ]", true).message).toBe("Nothing more expected");
  });
});
