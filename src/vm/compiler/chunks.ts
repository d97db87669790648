/**
 * The chunk format of Squeak/Pharo file-outs (.st files, .changes files). Chunks end with `!`; `!!`
 * stands for a `!` inside a chunk. A chunk that starts with `!` (after the previous one's terminator
 * and any white space) is a preamble:
 *
 *   Object subclass: #Point2 instanceVariableNames: 'x y' classVariableNames: '' package: 'Demo'!
 *
 *   !Point2 methodsFor: 'accessing' stamp: 'jd 1/1/2024'!
 *   x
 *       ^x
 *   !
 *   x: aNumber
 *       x := aNumber
 *   ! !
 *
 * A `methodsFor:` preamble is followed by method chunks up to an empty chunk (the second `!` of `! !`);
 * a `commentStamp:` preamble by one chunk, the class comment; any other preamble is a doit. Chunks of
 * white space only are skipped. Each source is trimmed and located in the file (1-based line and
 * column, 0-based offset of its first character) so that compile errors point into the file. A `!!`
 * inside a source shifts later columns of its line by one.
 */
import { LineMap } from "./positions.js";

export interface ChunkMethod {
  source: string;
  line: number;
  column: number;
  offset: number;
}

export type ChunkItem =
  | { kind: "doit"; source: string; line: number; column: number; offset: number }
  | {
      kind: "methods";
      className: string;
      classSide: boolean;
      category: string;
      stamp?: string;
      /** where the preamble starts */
      line: number;
      column: number;
      offset: number;
      methods: ChunkMethod[];
    }
  | { kind: "comment"; className: string; classSide: boolean; text: string; line: number; column: number; offset: number };

const METHODS_FOR = /^([A-Za-z_][A-Za-z0-9_]*)(\s+class)?\s+methodsFor:\s*'((?:[^']|'')*)'(?:\s+stamp:\s*'((?:[^']|'')*)')?/;
const COMMENT_STAMP = /^([A-Za-z_][A-Za-z0-9_]*)(\s+class)?\s+commentStamp:/;

function unquote(s: string): string {
  return s.replaceAll("''", "'");
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

interface Chunk {
  text: string;
  /** file offset of text[0] */
  start: number;
}

export function readChunks(text: string): ChunkItem[] {
  return new ChunkReader(text).read();
}

class ChunkReader {
  private pos = 0;
  private readonly lines: LineMap;
  private readonly items: ChunkItem[] = [];

  constructor(private readonly text: string) {
    this.lines = new LineMap(text);
  }

  read(): ChunkItem[] {
    for (;;) {
      while (this.pos < this.text.length && isSpace(this.text.charCodeAt(this.pos))) this.pos++;
      if (this.pos >= this.text.length) return this.items;
      if (this.text[this.pos] === "!") {
        this.pos++;
        this.preamble(this.trim(this.chunk()));
      } else {
        const c = this.trim(this.chunk());
        if (c.text !== "") this.items.push({ kind: "doit", source: c.text, ...this.where(c.start) });
      }
    }
  }

  private where(offset: number): { line: number; column: number; offset: number } {
    return { line: this.lines.lineOf(offset), column: this.lines.columnOf(offset), offset };
  }

  /** the text up to the next lone `!` (consumed), with `!!` unescaped */
  private chunk(): Chunk {
    const start = this.pos;
    let out = "";
    let from = this.pos;
    for (;;) {
      const bang = this.text.indexOf("!", from);
      if (bang < 0) {
        out += this.text.slice(from);
        this.pos = this.text.length;
        return { text: out, start };
      }
      if (this.text[bang + 1] === "!") {
        out += this.text.slice(from, bang + 1);
        from = bang + 2;
        continue;
      }
      out += this.text.slice(from, bang);
      this.pos = bang + 1;
      return { text: out, start };
    }
  }

  private trim(c: Chunk): Chunk {
    let lead = 0;
    while (lead < c.text.length && isSpace(c.text.charCodeAt(lead))) lead++;
    let end = c.text.length;
    while (end > lead && isSpace(c.text.charCodeAt(end - 1))) end--;
    return { text: c.text.slice(lead, end), start: c.start + lead };
  }

  private preamble(p: Chunk): void {
    const methods = METHODS_FOR.exec(p.text);
    if (methods) {
      const item: ChunkItem = {
        kind: "methods", className: methods[1], classSide: methods[2] !== undefined, category: unquote(methods[3]),
        ...this.where(p.start), methods: [],
      };
      if (methods[4] !== undefined) item.stamp = unquote(methods[4]);
      this.items.push(item);
      while (this.pos < this.text.length) {
        const m = this.trim(this.chunk());
        if (m.text === "") break;
        item.methods.push({ source: m.text, ...this.where(m.start) });
      }
      return;
    }
    const comment = COMMENT_STAMP.exec(p.text);
    if (comment) {
      const c = this.trim(this.chunk());
      this.items.push({ kind: "comment", className: comment[1], classSide: comment[2] !== undefined, text: c.text, ...this.where(c.start) });
      return;
    }
    if (p.text !== "") this.items.push({ kind: "doit", source: p.text, ...this.where(p.start) });
  }
}

export { parseClassDefinition, type ClassDefinition, type ClassKind } from "./classdef.js";
