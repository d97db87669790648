/**
 * The lexer: Pharo/Squeak source to tokens, in one pass. Numbers follow Squeak's syntax:
 *
 *   123  16rFF  36rZZ  2r1010   integers (radix digits are 0-9 and upper-case letters)
 *   1e10  2r1e4                 integers (an exponent on an integer keeps it an integer; 2r1e4 = 16)
 *   1.5  1.5e-3  2r1.1          floats (rounded once, exactly)
 *   1e-2  5e-324                fractions (a negative exponent on an integer: 1/100, as Pharo)
 *   1.5s2  3s  1.25s            scaled decimals (exact fraction, scale explicit or the fraction digits)
 *
 * A minus sign is never part of a number token: the parser makes `-` directly followed by a number a
 * negative literal where an operand is expected, so `3-4` and `x-1` are subtractions and `3 - -4`,
 * `#(-1)` hold negative numbers. A binary selector may contain `-` only as its first character, so
 * `3--4` is `3 - -4`, as in Pharo.
 */
import { ratioToFloat } from "../primitives/float.js";
import type { LiteralSpec } from "../method/spec.js";
import type { SourceInfo } from "./errors.js";
import type { Token, TokenKind } from "./tokens.js";

const BINARY_CHARS = "+-*/\\<>=~@%|&?,";

function isBinaryChar(c: string): boolean {
  return c !== "" && BINARY_CHARS.includes(c);
}
function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}
function isLetter(c: string): boolean {
  if (c === "") return false;
  if ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_") return true;
  return c.charCodeAt(0) > 127 && /\p{L}/u.test(c);
}
function isIdentifierChar(c: string): boolean {
  return isLetter(c) || isDigit(c);
}
function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f";
}
function digitValue(c: string): number {
  if (isDigit(c)) return c.charCodeAt(0) - 48;
  if (c >= "A" && c <= "Z") return c.charCodeAt(0) - 55;
  return 99;
}
function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

const SINGLE: Record<string, TokenKind> = {
  "^": "caret",
  ".": "period",
  ";": "semicolon",
  "(": "lparen",
  ")": "rparen",
  "[": "lbracket",
  "]": "rbracket",
  "{": "lbrace",
  "}": "rbrace",
};

export function tokenize(info: SourceInfo): Token[] {
  return new Lexer(info).run();
}

class Lexer {
  private readonly src: string;
  private pos = 0;
  private readonly tokens: Token[] = [];

  constructor(private readonly info: SourceInfo) {
    this.src = info.source;
  }

  run(): Token[] {
    for (;;) {
      this.skipSeparators();
      if (this.pos >= this.src.length) break;
      this.tokens.push(this.scan());
    }
    this.tokens.push({ kind: "eof", start: this.src.length, end: this.src.length, text: "" });
    return this.tokens;
  }

  private at(i: number): string {
    return this.src[i] ?? "";
  }

  private skipSeparators(): void {
    for (;;) {
      const c = this.at(this.pos);
      if (isSpace(c)) this.pos++;
      else if (c === '"') {
        const end = this.src.indexOf('"', this.pos + 1);
        if (end < 0) throw this.info.error("Unmatched comment quote", this.pos);
        this.pos = end + 1;
      } else return;
    }
  }

  private token(kind: TokenKind, start: number, literal?: LiteralSpec, text?: string): Token {
    const t: Token = { kind, start, end: this.pos, text: text ?? this.src.slice(start, this.pos) };
    if (literal) t.literal = literal;
    return t;
  }

  private scan(): Token {
    const start = this.pos;
    const c = this.at(start);
    if (isLetter(c)) return this.scanIdentifier();
    if (isDigit(c)) return this.scanNumber();
    const single = SINGLE[c];
    if (single) {
      this.pos++;
      return this.token(single, start);
    }
    switch (c) {
      case ":":
        this.pos++;
        if (this.at(this.pos) === "=") {
          this.pos++;
          return this.token("assign", start);
        }
        return this.token("colon", start);
      case "'": {
        const value = this.scanString();
        return this.token("literal", start, { kind: "string", value });
      }
      case "$": {
        if (this.pos + 1 >= this.src.length) throw this.info.error("Character expected after $", start);
        const cp = this.src.codePointAt(this.pos + 1)!;
        this.pos += cp > 0xffff ? 3 : 2;
        return this.token("literal", start, { kind: "character", value: cp });
      }
      case "#":
        return this.scanHash();
    }
    if (isBinaryChar(c)) {
      this.pos++;
      while (isBinaryChar(this.at(this.pos)) && this.at(this.pos) !== "-") this.pos++;
      return this.token("binary", start);
    }
    throw this.info.error(`Unexpected character '${c}'`, start);
  }

  private scanIdentifier(): Token {
    const start = this.pos;
    while (isIdentifierChar(this.at(this.pos))) this.pos++;
    if (this.at(this.pos) === ":" && this.at(this.pos + 1) !== "=") {
      this.pos++;
      return this.token("keyword", start);
    }
    return this.token("identifier", start);
  }

  /** the value of a string literal starting at pos (a quote), '' being a quote */
  private scanString(): string {
    const start = this.pos;
    let value = "";
    let from = this.pos + 1;
    for (;;) {
      const q = this.src.indexOf("'", from);
      if (q < 0) throw this.info.error("Unmatched string quote", start);
      value += this.src.slice(from, q);
      if (this.at(q + 1) === "'") {
        value += "'";
        from = q + 2;
      } else {
        this.pos = q + 1;
        return value;
      }
    }
  }

  private scanHash(): Token {
    const start = this.pos;
    this.pos++;
    while (this.at(this.pos) === "#") this.pos++;
    const c = this.at(this.pos);
    if (c === "(" || c === "[") {
      if (this.pos !== start + 1) throw this.info.error("Invalid literal", start);
      this.pos++;
      return this.token(c === "(" ? "literalArray" : "byteArray", start);
    }
    if (c === "'") {
      const value = this.scanString();
      return this.token("literal", start, { kind: "symbol", value });
    }
    if (isLetter(c)) {
      const from = this.pos;
      while (isIdentifierChar(this.at(this.pos)) || this.at(this.pos) === ":") this.pos++;
      return this.token("literal", start, { kind: "symbol", value: this.src.slice(from, this.pos) });
    }
    if (isBinaryChar(c)) {
      const from = this.pos;
      while (isBinaryChar(this.at(this.pos))) this.pos++;
      return this.token("literal", start, { kind: "symbol", value: this.src.slice(from, this.pos) });
    }
    throw this.info.error("Invalid literal: symbol, array or byte array expected after #", start);
  }

  private readDigits(radix: number): string {
    const from = this.pos;
    while (digitValue(this.at(this.pos)) < radix) this.pos++;
    return this.src.slice(from, this.pos);
  }

  private scanNumber(): Token {
    const start = this.pos;
    let radix = 10;
    let intDigits = this.readDigits(10);
    if (this.at(this.pos) === "r") {
      radix = Number(intDigits);
      if (radix < 2 || radix > 36) throw this.info.error(`Invalid radix ${intDigits} (2 to 36)`, start);
      this.pos++;
      intDigits = this.readDigits(radix);
      if (intDigits === "") throw this.info.error(`Digit of radix ${radix} expected`, this.pos);
    }
    let fracDigits = "";
    if (this.at(this.pos) === "." && digitValue(this.at(this.pos + 1)) < radix) {
      this.pos++;
      fracDigits = this.readDigits(radix);
    }
    let exponent = 0;
    const e = this.at(this.pos);
    if (e === "e" || e === "d" || e === "q") {
      const next = this.at(this.pos + 1);
      if (isDigit(next) || (next === "-" && isDigit(this.at(this.pos + 2)))) {
        this.pos++;
        const negative = this.at(this.pos) === "-";
        if (negative) this.pos++;
        const digits = this.readDigits(10);
        exponent = negative ? -Number(digits) : Number(digits);
      }
    }
    let scale: number | undefined;
    if (this.at(this.pos) === "s") {
      let end = this.pos + 1;
      while (isDigit(this.at(end))) end++;
      if (!isIdentifierChar(this.at(end))) {
        scale = end > this.pos + 1 ? Number(this.src.slice(this.pos + 1, end)) : fracDigits.length;
        this.pos = end;
      }
    }
    const big = BigInt(radix);
    let mantissa = 0n;
    if (radix === 10) mantissa = BigInt(intDigits + fracDigits);
    else for (const d of intDigits + fracDigits) mantissa = mantissa * big + BigInt(digitValue(d));
    const power = exponent - fracDigits.length;
    if (scale !== undefined) {
      let numerator = power >= 0 ? mantissa * big ** BigInt(power) : mantissa;
      let denominator = power >= 0 ? 1n : big ** BigInt(-power);
      const g = gcd(numerator, denominator);
      if (g > 1n) {
        numerator /= g;
        denominator /= g;
      }
      return this.token("literal", start, { kind: "scaledDecimal", numerator, denominator, scale });
    }
    if (fracDigits === "" && exponent >= 0) {
      return this.token("literal", start, { kind: "integer", value: mantissa * big ** BigInt(exponent) });
    }
    if (fracDigits === "") {
      // an integer with a negative exponent is an exact Fraction (Pharo: 1e-2 = 1/100)
      let denominator = big ** BigInt(-exponent);
      const g = gcd(mantissa, denominator);
      const numerator = mantissa / g;
      denominator /= g;
      if (denominator === 1n) return this.token("literal", start, { kind: "integer", value: numerator });
      return this.token("literal", start, { kind: "fraction", numerator, denominator });
    }
    let value: number;
    if (radix === 10) value = Number(`${intDigits}.${fracDigits || "0"}e${exponent}`);
    else if (power >= 0) value = Number(mantissa * big ** BigInt(power));
    else value = ratioToFloat(mantissa, big ** BigInt(-power));
    return this.token("literal", start, { kind: "float", value });
  }
}
