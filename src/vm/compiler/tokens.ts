/** The tokens of Smalltalk source, as the lexer produces them. */
import type { LiteralSpec } from "../method/spec.js";

export type TokenKind =
  | "identifier" // foo
  | "keyword" // foo:   (text includes the colon)
  | "binary" // + -> ~= ...
  | "literal" // numbers, characters, strings, symbols: see Token.literal
  | "assign" // :=
  | "caret" // ^
  | "period"
  | "semicolon"
  | "colon" // the colon of a block parameter
  | "lparen"
  | "rparen"
  | "lbracket"
  | "rbracket"
  | "lbrace"
  | "rbrace"
  | "literalArray" // #(
  | "byteArray" // #[
  | "eof";

export interface Token {
  kind: TokenKind;
  /** 0-based offsets into the source, end exclusive */
  start: number;
  end: number;
  /** identifier name, keyword, binary selector, or the literal's source text */
  text: string;
  literal?: LiteralSpec;
}

export function isNumberLiteral(t: Token): boolean {
  const k = t.literal?.kind;
  return t.kind === "literal" && (k === "integer" || k === "float" || k === "scaledDecimal" || k === "fraction");
}
