/**
 * A recursive-descent parser for Pharo/Squeak method and doit syntax.
 *
 *   method    := pattern (pragma | temps)* statements
 *   pattern   := unarySelector | binarySelector arg | (keyword arg)+
 *   temps     := '|' name* '|'
 *   statement := '^' expression | expression            (nothing may follow a return)
 *   expression:= name ':=' expression | cascade
 *   cascade   := keywordExpr (';' message)*              (one message per cascade part, as Squeak)
 *   primary   := name | literal | block | '(' expression ')' | '{' expressions '}' | '-' number
 *
 * Literal arrays hold numbers, characters, strings, symbols, nested arrays (`#(...)` or `(...)`), byte
 * arrays, and bare names and keywords, which are symbols except true, false and nil.
 */
import type { LiteralSpec } from "../method/spec.js";
import type {
  BlockNode, BraceNode, CascadePart, DoItNode, ExpressionNode, MessageNode, MethodNode,
  PragmaArgument, PragmaNode, SequenceNode, Span, StatementNode, VariableNode,
} from "./ast.js";
import type { SourceInfo } from "./errors.js";
import { tokenize } from "./lexer.js";
import { isNumberLiteral, type Token } from "./tokens.js";

export function parseMethodSource(info: SourceInfo): MethodNode {
  return new Parser(info).parseMethod();
}

export function parseDoItSource(info: SourceInfo): DoItNode {
  return new Parser(info).parseDoIt();
}

const CONSTANTS: Record<string, LiteralSpec> = { nil: { kind: "nil" }, true: { kind: "true" }, false: { kind: "false" } };

type Terminator = "eof" | "rbracket";

function negate(spec: LiteralSpec): LiteralSpec {
  switch (spec.kind) {
    case "integer": return { kind: "integer", value: -spec.value };
    case "float": return { kind: "float", value: -spec.value };
    case "scaledDecimal": return { ...spec, numerator: -spec.numerator };
    case "fraction": return { ...spec, numerator: -spec.numerator };
    default: return spec;
  }
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  private readonly parenthesized = new Set<ExpressionNode>();

  constructor(private readonly info: SourceInfo) {
    this.tokens = tokenize(info);
  }

  /** the current token (a method, so that TypeScript does not narrow it across advance()) */
  private tok(): Token {
    return this.tokens[this.i];
  }

  private peek(n = 1): Token {
    return this.tokens[Math.min(this.i + n, this.tokens.length - 1)];
  }

  private advance(): Token {
    const t = this.tokens[this.i];
    if (t.kind !== "eof") this.i++;
    return t;
  }

  private fail(message: string, at: number = this.tok().start): never {
    throw this.info.error(message, at);
  }

  private isBinary(text: string): boolean {
    return this.tok().kind === "binary" && this.tok().text === text;
  }

  /** Consumes the first `length` characters of the current binary token, leaving the rest as a token. */
  private splitBinary(length: number): void {
    const t = this.tok();
    this.tokens[this.i] = { kind: "binary", start: t.start + length, end: t.end, text: t.text.slice(length) };
  }

  /** Consumes a `|` that may be the first character of a longer binary token (`||`). */
  private consumeBar(): boolean {
    if (this.tok().kind !== "binary" || this.tok().text[0] !== "|") return false;
    if (this.tok().text.length === 1) this.advance();
    else this.splitBinary(1);
    return true;
  }

  parseMethod(): MethodNode {
    const start = this.tok().start;
    const params: VariableNode[] = [];
    const selectorParts: Span[] = [];
    let selector = "";
    const t = this.tok();
    if (t.kind === "identifier") {
      this.advance();
      selector = t.text;
      selectorParts.push({ start: t.start, end: t.end });
    } else if (t.kind === "binary") {
      this.advance();
      selector = t.text;
      selectorParts.push({ start: t.start, end: t.end });
      params.push(this.parseArgumentName());
    } else if (t.kind === "keyword") {
      while (this.tok().kind === "keyword") {
        const k = this.advance();
        selector += k.text;
        selectorParts.push({ start: k.start, end: k.end });
        params.push(this.parseArgumentName());
      }
    } else {
      this.fail("Message pattern expected");
    }
    const pragmas: PragmaNode[] = [];
    let temps: VariableNode[] | undefined;
    const bodyStart = this.tok().start;
    for (;;) {
      if (this.isBinary("<")) pragmas.push(this.parsePragma());
      else if (temps === undefined && this.tok().kind === "binary" && this.tok().text[0] === "|") temps = this.parseTemps();
      else break;
    }
    const statements = this.parseStatements("eof");
    const body: SequenceNode = { temps: temps ?? [], statements, start: bodyStart, end: this.tok().start };
    return { kind: "method", selector, selectorParts, params, pragmas, body, source: this.info.source, start, end: this.info.source.length };
  }

  parseDoIt(): DoItNode {
    const body = this.parseSequence("eof");
    return { kind: "doit", body, source: this.info.source, start: 0, end: this.info.source.length };
  }

  private parseArgumentName(): VariableNode {
    const t = this.tok();
    if (t.kind !== "identifier") this.fail("Argument name expected");
    this.advance();
    return { kind: "variable", name: t.text, start: t.start, end: t.end };
  }

  private parseTemps(): VariableNode[] {
    if (this.isBinary("||")) {
      this.advance();
      return [];
    }
    this.consumeBar();
    const temps: VariableNode[] = [];
    while (this.tok().kind === "identifier") {
      const t = this.advance();
      temps.push({ kind: "variable", name: t.text, start: t.start, end: t.end });
    }
    if (!this.consumeBar()) this.fail("'|' expected after temporaries");
    return temps;
  }

  private parsePragma(): PragmaNode {
    const start = this.advance().start;
    let selector = "";
    const args: PragmaArgument[] = [];
    if (this.tok().kind === "identifier") {
      selector = this.advance().text;
    } else if (this.tok().kind === "keyword") {
      while (this.tok().kind === "keyword") {
        selector += this.advance().text;
        args.push(this.parsePragmaArgument());
      }
    } else {
      this.fail("Pragma selector expected");
    }
    if (this.tok().kind !== "binary" || this.tok().text[0] !== ">") this.fail("'>' expected at the end of the pragma");
    const end = this.tok().start + 1;
    if (this.tok().text.length === 1) this.advance();
    else this.splitBinary(1);
    return { selector, args, start, end };
  }

  private parsePragmaArgument(): PragmaArgument {
    const t = this.tok();
    if (t.kind === "identifier" && !(t.text in CONSTANTS)) {
      this.advance();
      return { kind: "name", name: t.text, start: t.start, end: t.end };
    }
    const node = this.parsePrimary();
    if (node.kind !== "literal") this.fail("Literal expected as pragma argument", node.start);
    return { kind: "literal", value: node.value, start: node.start, end: node.end };
  }

  private parseSequence(terminator: Terminator): SequenceNode {
    const start = this.tok().start;
    const temps = this.tok().kind === "binary" && this.tok().text[0] === "|" ? this.parseTemps() : [];
    const statements = this.parseStatements(terminator);
    return { temps, statements, start, end: this.tok().start };
  }

  private atTerminator(terminator: Terminator): boolean {
    return this.tok().kind === terminator;
  }

  private endExpected(terminator: Terminator): string {
    return terminator === "eof" ? "Nothing more expected" : "'.' or ']' expected";
  }

  private parseStatements(terminator: Terminator): StatementNode[] {
    const statements: StatementNode[] = [];
    for (;;) {
      while (this.tok().kind === "period") this.advance();
      if (this.atTerminator(terminator)) return statements;
      if (this.tok().kind === "caret") {
        const caret = this.advance();
        const value = this.parseExpression();
        statements.push({ kind: "return", value, start: caret.start, end: value.end });
        while (this.tok().kind === "period") this.advance();
        if (!this.atTerminator(terminator)) {
          this.fail(terminator === "eof" ? "Nothing more expected after a return" : "']' expected: nothing may follow a return");
        }
        return statements;
      }
      statements.push(this.parseExpression());
      if (this.tok().kind === "period") continue;
      if (this.atTerminator(terminator)) return statements;
      this.fail(this.endExpected(terminator));
    }
  }

  private parseExpression(): ExpressionNode {
    if (this.tok().kind === "identifier" && this.peek().kind === "assign") {
      const t = this.advance();
      this.advance();
      const variable: VariableNode = { kind: "variable", name: t.text, start: t.start, end: t.end };
      const value = this.parseExpression();
      return { kind: "assignment", variable, value, start: t.start, end: value.end };
    }
    return this.parseCascade();
  }

  private parseCascade(): ExpressionNode {
    const first = this.parseKeywordExpression();
    if (this.tok().kind !== "semicolon") return first;
    if (first.kind !== "message" || this.parenthesized.has(first)) this.fail("Cascade must follow a message send");
    const messages: CascadePart[] = [
      { selector: first.selector, args: first.args, selectorParts: first.selectorParts, start: first.selectorParts[0].start, end: first.end },
    ];
    while (this.tok().kind === "semicolon") {
      this.advance();
      messages.push(this.parseCascadePart());
    }
    return { kind: "cascade", receiver: first.receiver, messages, start: first.start, end: messages[messages.length - 1].end };
  }

  private parseCascadePart(): CascadePart {
    const t = this.tok();
    if (t.kind === "identifier") {
      this.advance();
      return { selector: t.text, args: [], selectorParts: [{ start: t.start, end: t.end }], start: t.start, end: t.end };
    }
    if (t.kind === "binary") {
      this.advance();
      const arg = this.parseUnaryExpression();
      return { selector: t.text, args: [arg], selectorParts: [{ start: t.start, end: t.end }], start: t.start, end: arg.end };
    }
    if (t.kind === "keyword") {
      const { selector, args, selectorParts } = this.parseKeywordParts();
      return { selector, args, selectorParts, start: t.start, end: args[args.length - 1].end };
    }
    return this.fail("Message expected after ';'");
  }

  private parseKeywordParts(): { selector: string; args: ExpressionNode[]; selectorParts: Span[] } {
    let selector = "";
    const args: ExpressionNode[] = [];
    const selectorParts: Span[] = [];
    while (this.tok().kind === "keyword") {
      const k = this.advance();
      selector += k.text;
      selectorParts.push({ start: k.start, end: k.end });
      args.push(this.parseBinaryExpression());
    }
    return { selector, args, selectorParts };
  }

  private parseKeywordExpression(): ExpressionNode {
    const receiver = this.parseBinaryExpression();
    if (this.tok().kind !== "keyword") return receiver;
    const { selector, args, selectorParts } = this.parseKeywordParts();
    return { kind: "message", receiver, selector, args, selectorParts, start: receiver.start, end: args[args.length - 1].end };
  }

  private parseBinaryExpression(): ExpressionNode {
    let receiver = this.parseUnaryExpression();
    while (this.tok().kind === "binary") {
      const op = this.advance();
      const arg = this.parseUnaryExpression();
      const node: MessageNode = {
        kind: "message", receiver, selector: op.text, args: [arg], selectorParts: [{ start: op.start, end: op.end }],
        start: receiver.start, end: arg.end,
      };
      receiver = node;
    }
    return receiver;
  }

  private parseUnaryExpression(): ExpressionNode {
    let receiver = this.parsePrimary();
    while (this.tok().kind === "identifier") {
      const t = this.advance();
      receiver = {
        kind: "message", receiver, selector: t.text, args: [], selectorParts: [{ start: t.start, end: t.end }],
        start: receiver.start, end: t.end,
      };
    }
    return receiver;
  }

  private isNegativeNumber(): boolean {
    const next = this.peek();
    return this.isBinary("-") && isNumberLiteral(next) && next.start === this.tok().end;
  }

  private parsePrimary(): ExpressionNode {
    const t = this.tok();
    switch (t.kind) {
      case "identifier": {
        this.advance();
        const constant = CONSTANTS[t.text];
        if (constant) return { kind: "literal", value: constant, start: t.start, end: t.end };
        return { kind: "variable", name: t.text, start: t.start, end: t.end };
      }
      case "literal":
        this.advance();
        return { kind: "literal", value: t.literal!, start: t.start, end: t.end };
      case "literalArray": {
        this.advance();
        const elements = this.parseLiteralArrayElements(t.start);
        return { kind: "literal", value: { kind: "array", elements }, start: t.start, end: this.advance().end };
      }
      case "byteArray": {
        this.advance();
        const bytes = this.parseByteArrayElements(t.start);
        return { kind: "literal", value: { kind: "byteArray", bytes }, start: t.start, end: this.advance().end };
      }
      case "lbracket":
        return this.parseBlock();
      case "lparen": {
        this.advance();
        const e = this.parseExpression();
        if (this.tok().kind !== "rparen") this.fail("')' expected");
        this.advance();
        this.parenthesized.add(e);
        return e;
      }
      case "lbrace":
        return this.parseBrace();
      case "binary":
        if (this.isNegativeNumber()) {
          this.advance();
          const n = this.advance();
          return { kind: "literal", value: negate(n.literal!), start: t.start, end: n.end };
        }
        break;
    }
    return this.fail("Variable or expression expected");
  }

  private parseLiteralArrayElements(start: number): LiteralSpec[] {
    const elements: LiteralSpec[] = [];
    for (;;) {
      const t = this.tok();
      switch (t.kind) {
        case "rparen":
          return elements;
        case "eof":
          return this.fail("')' expected: unmatched literal array", start);
        case "literal":
          this.advance();
          elements.push(t.literal!);
          break;
        case "identifier":
          this.advance();
          elements.push(CONSTANTS[t.text] ?? { kind: "symbol", value: t.text });
          break;
        case "keyword": {
          let value = this.advance().text;
          while (this.tok().kind === "keyword" && this.tok().start === this.tokens[this.i - 1].end) value += this.advance().text;
          elements.push({ kind: "symbol", value });
          break;
        }
        case "binary":
          if (this.isNegativeNumber()) {
            this.advance();
            elements.push(negate(this.advance().literal!));
          } else {
            elements.push({ kind: "symbol", value: this.advance().text });
          }
          break;
        case "lparen":
        case "literalArray": {
          this.advance();
          const nested = this.parseLiteralArrayElements(t.start);
          this.advance();
          elements.push({ kind: "array", elements: nested });
          break;
        }
        case "byteArray": {
          this.advance();
          const bytes = this.parseByteArrayElements(t.start);
          this.advance();
          elements.push({ kind: "byteArray", bytes });
          break;
        }
        default:
          this.fail("Invalid literal array element");
      }
    }
  }

  private parseByteArrayElements(start: number): number[] {
    const bytes: number[] = [];
    for (;;) {
      const t = this.tok();
      if (t.kind === "rbracket") return bytes;
      if (t.kind === "eof") this.fail("']' expected: unmatched byte array", start);
      const lit = t.literal;
      if (t.kind !== "literal" || lit?.kind !== "integer" || lit.value < 0n || lit.value > 255n) {
        this.fail("Byte array element must be an integer between 0 and 255");
      }
      bytes.push(Number(lit.value));
      this.advance();
    }
  }

  private parseBlock(): BlockNode {
    const open = this.advance();
    const params: VariableNode[] = [];
    while (this.tok().kind === "colon") {
      this.advance();
      params.push(this.parseArgumentName());
    }
    if (params.length > 0 && this.tok().kind !== "rbracket" && !this.consumeBar()) {
      this.fail("'|' or ']' expected after block parameters");
    }
    const body = this.parseSequence("rbracket");
    if (this.tok().kind !== "rbracket") this.fail("']' expected");
    const close = this.advance();
    return { kind: "block", params, body, start: open.start, end: close.end };
  }

  private parseBrace(): BraceNode {
    const open = this.advance();
    const elements: ExpressionNode[] = [];
    while (this.tok().kind !== "rbrace") {
      elements.push(this.parseExpression());
      if (this.tok().kind === "period") this.advance();
      else if (this.tok().kind !== "rbrace") this.fail("'.' or '}' expected");
    }
    const close = this.advance();
    return { kind: "brace", elements, start: open.start, end: close.end };
  }
}
