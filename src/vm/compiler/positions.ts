/**
 * Line and column arithmetic over a text. Lines end at "\n", "\r\n" or a lone "\r" (Squeak files use
 * carriage returns); lines and columns are 1-based, offsets 0-based.
 */
export class LineMap {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }

  /** 1-based line of `offset` */
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  /** 1-based column of `offset` on its line */
  columnOf(offset: number): number {
    return offset - this.starts[this.lineOf(offset) - 1] + 1;
  }

  /** 0-based offset of the first character of `line` */
  lineStart(line: number): number {
    return this.starts[line - 1] ?? this.text.length;
  }

  /** the text of `line`, without its terminator */
  lineText(line: number): string {
    const start = this.lineStart(line);
    let end = start;
    while (end < this.text.length) {
      const c = this.text.charCodeAt(end);
      if (c === 10 || c === 13) break;
      end++;
    }
    return this.text.slice(start, end);
  }
}
