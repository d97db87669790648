/**
 * Compile errors and warnings, located in the source and, through CompileOptions, in the file the
 * source came from (a method chunk of a .st file starts on some line of that file).
 *
 *   foo.st:12:9: Cannot store into argument 'x'
 *       x := 3
 *       ^
 */
import { LineMap } from "./positions.js";

export interface CompileOptions {
  /** the file the source comes from, for messages */
  fileName?: string;
  /** 1-based line of the source's first character in its file (default 1) */
  line?: number;
  /** 1-based column of the source's first character in its file (default 1) */
  column?: number;
  /** 0-based offset of the source's first character in its file (default 0) */
  offset?: number;
}

export interface SourceLocation {
  /** 0-based offset in the file (the source offset plus CompileOptions.offset) */
  offset: number;
  /** 0-based offset in the compiled source */
  sourceOffset: number;
  /** 1-based line in the file */
  line: number;
  /** 1-based column in the file */
  column: number;
  /** the text of the line, padded on the left when the source starts in the middle of a file line */
  lineText: string;
  fileName: string | undefined;
}

export class CompileError extends Error {
  override readonly name = "CompileError";
  readonly offset: number;
  readonly sourceOffset: number;
  readonly line: number;
  readonly column: number;
  readonly lineText: string;
  readonly fileName: string | undefined;

  constructor(message: string, location: SourceLocation) {
    super(message);
    this.offset = location.offset;
    this.sourceOffset = location.sourceOffset;
    this.line = location.line;
    this.column = location.column;
    this.lineText = location.lineText;
    this.fileName = location.fileName;
  }

  /** `FILE:LINE:COL: message`, the offending line, and a caret under the column */
  format(fileName?: string, lineOffset = 0): string {
    const file = fileName ?? this.fileName ?? "<input>";
    return `${file}:${this.line + lineOffset}:${this.column}: ${this.message}\n${this.lineText}\n${caretLine(this.lineText, this.column)}`;
  }
}

export type WarningKind = "undeclared" | "shadowed";

export interface CompileWarning extends SourceLocation {
  kind: WarningKind;
  message: string;
}

export function formatWarning(w: CompileWarning, fileName?: string): string {
  return `${fileName ?? w.fileName ?? "<input>"}:${w.line}:${w.column}: warning: ${w.message}`;
}

/** Spaces (tabs where the line has tabs) up to `column`, then a caret. */
function caretLine(lineText: string, column: number): string {
  let out = "";
  for (let i = 0; i < column - 1; i++) out += lineText[i] === "\t" ? "\t" : " ";
  return out + "^";
}

/** The source being compiled and where it sits in its file. */
export class SourceInfo {
  private lines: LineMap | undefined;

  constructor(readonly source: string, readonly options: CompileOptions = {}) {}

  locate(sourceOffset: number): SourceLocation {
    const pos = Math.max(0, Math.min(sourceOffset, this.source.length));
    this.lines ??= new LineMap(this.source);
    const line = this.lines.lineOf(pos);
    let column = this.lines.columnOf(pos);
    let lineText = this.lines.lineText(line);
    const firstColumn = this.options.column ?? 1;
    if (line === 1 && firstColumn > 1) {
      column += firstColumn - 1;
      lineText = " ".repeat(firstColumn - 1) + lineText;
    }
    return {
      offset: pos + (this.options.offset ?? 0),
      sourceOffset: pos,
      line: line + (this.options.line ?? 1) - 1,
      column,
      lineText,
      fileName: this.options.fileName,
    };
  }

  error(message: string, sourceOffset: number): CompileError {
    return new CompileError(message, this.locate(sourceOffset));
  }

  warning(kind: WarningKind, message: string, sourceOffset: number): CompileWarning {
    return { kind, message, ...this.locate(sourceOffset) };
  }
}
