/**
 * Method sources on disk (design.md section 3): the kernel's .st files play the sources file, and each
 * image has a `.changes` file beside it, to which every change is appended (and flushed to disk) before
 * it takes effect. Positions in kernel files are character offsets of the decoded text; positions in the
 * changes file are byte offsets.
 *
 * Changes-file layout, chunk format: every change starts with a stamp chunk, then the change itself:
 *
 *   "----CHANGE----2026-11-21T05:40:00.000Z----"!
 *   !Point methodsFor: 'accessing' stamp: '2026-11-21T05:40:00.000Z'!
 *   double
 *       ^ x * 2 @ (y * 2)! !
 *
 * A snapshot appends `"----SNAPSHOT----<time>----"!`; the changes after the last one are those a crash
 * would lose from the image and that replay brings back.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ChangeRecord, SourceStore } from "../../vm/host.js";
import { CHANGES_FILE_INDEX } from "../../vm/method/trailer.js";

/** Reads one chunk starting at `start`: up to the first `!` that is not doubled, with `!!` unescaped. */
export function readChunkAt(text: string, start: number): string | undefined {
  if (start < 0 || start > text.length) return undefined;
  let out = "";
  let i = start;
  for (;;) {
    const bang = text.indexOf("!", i);
    if (bang < 0) return (out + text.slice(i)).trim();
    if (text[bang + 1] === "!") {
      out += text.slice(i, bang + 1);
      i = bang + 2;
      continue;
    }
    return (out + text.slice(i, bang)).trim();
  }
}

export function escapeChunk(text: string): string {
  return text.replace(/!/g, "!!");
}

function quote(text: string): string {
  return text.replace(/'/g, "''");
}

/** Formats a change as chunks; answers the text and the offset (in characters) of the change's source. */
export function formatChange(record: ChangeRecord, stamp: string): { text: string; sourceOffset: number } {
  const header = `\n"----CHANGE----${stamp}----"!\n`;
  switch (record.kind) {
    case "method": {
      const target = `${record.className}${record.classSide ? " class" : ""}`;
      const pre = `${header}!${target} methodsFor: '${quote(record.category)}' stamp: '${stamp}'!\n`;
      return { text: `${pre}${escapeChunk(record.source)}! !\n`, sourceOffset: pre.length };
    }
    case "removeMethod": {
      const target = `${record.className}${record.classSide ? " class" : ""}`;
      const body = `${target} removeSelector: #${record.selector}`;
      return { text: `${header}${body}!\n`, sourceOffset: header.length };
    }
    case "classDefinition":
    case "doit":
      return { text: `${header}${escapeChunk(record.source)}!\n`, sourceOffset: header.length };
  }
}

export interface ChangesLog {
  append(record: ChangeRecord): number | undefined;
  read(position: number): string | undefined;
  markSnapshot(): void;
}

/** A changes file on disk, appended with a synchronous write and fsync. */
export class ChangesFile implements ChangesLog {
  private fd: number | undefined;
  constructor(readonly file: string) {}

  private open(): number {
    if (this.fd === undefined) this.fd = fs.openSync(this.file, "a+");
    return this.fd;
  }

  append(record: ChangeRecord): number {
    const fd = this.open();
    const { text, sourceOffset } = formatChange(record, new Date().toISOString());
    const start = fs.fstatSync(fd).size;
    const bytes = Buffer.from(text, "utf8");
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
    return start + Buffer.byteLength(text.slice(0, sourceOffset), "utf8");
  }

  read(position: number): string | undefined {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.file);
    } catch {
      return undefined;
    }
    if (position < 0 || position >= data.length) return undefined;
    return readChunkAt(data.subarray(position).toString("utf8"), 0);
  }

  markSnapshot(): void {
    const fd = this.open();
    fs.writeSync(fd, `\n"----SNAPSHOT----${new Date().toISOString()}----"!\n`);
    fs.fsyncSync(fd);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Changes kept in memory, for sessions that never save their image (oz run, oz eval). */
export class MemoryChanges implements ChangesLog {
  private text = "";
  append(record: ChangeRecord): number {
    const { text, sourceOffset } = formatChange(record, new Date().toISOString());
    const start = this.text.length;
    this.text += text;
    return start + sourceOffset;
  }
  read(position: number): string | undefined {
    return position >= 0 && position < this.text.length ? readChunkAt(this.text, position) : undefined;
  }
  markSnapshot(): void {
    this.text += `\n"----SNAPSHOT----${new Date().toISOString()}----"!\n`;
  }
  contents(): string {
    return this.text;
  }
}

/** Kernel files by SourceFiles index, then the changes log as file 255. */
export class FileSourceStore implements SourceStore {
  private readonly cache = new Map<number, string | null>();
  constructor(
    private readonly kernelDir: string,
    readonly kernelFiles: string[],
    readonly changes: ChangesLog,
  ) {}

  read(file: number, position: number): string | undefined {
    if (file === CHANGES_FILE_INDEX) return this.changes.read(position);
    let text = this.cache.get(file);
    if (text === undefined) {
      const name = this.kernelFiles[file];
      try {
        text = name === undefined ? null : fs.readFileSync(path.join(this.kernelDir, name), "utf8");
      } catch {
        text = null;
      }
      this.cache.set(file, text);
    }
    return text === null ? undefined : readChunkAt(text, position);
  }

  appendChange(record: ChangeRecord): { file: number; position: number } | undefined {
    const position = this.changes.append(record);
    return position === undefined ? undefined : { file: CHANGES_FILE_INDEX, position };
  }
}
