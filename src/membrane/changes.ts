/**
 * The `.changes` file (design.md section 3): every method compiled or removed and every class defined,
 * through mirrors or inside the image, is appended to it (and flushed) before it takes effect; a
 * snapshot appends a marker. The changes after the last marker are the ones a crash would lose from the
 * image on disk, and replaying them brings them back. The file format is written by
 * src/tools/host/sourceFiles.ts:
 *
 *   "----CHANGE----2026-11-21T05:40:00.000Z----"!
 *   !Point methodsFor: 'accessing' stamp: '2026-11-21T05:40:00.000Z'!
 *   double
 *       ^ x * 2 @ (y * 2)! !
 *
 *   "----CHANGE----2026-11-21T05:41:00.000Z----"!
 *   Point removeSelector: #double!
 *
 *   "----CHANGE----2026-11-21T05:42:00.000Z----"!
 *   Object subclass: #Foo instanceVariableNames: 'a' classVariableNames: '' category: 'Demo'!
 *
 *   "----SNAPSHOT----2026-11-21T05:43:00.000Z----"!
 *
 * Worked example (crash recovery):
 *
 *   const text = fs.readFileSync("app.changes", "utf8");
 *   const pending = changesSinceLastSnapshot(parseChanges(text));
 *   const report = await replayChanges(space, pending);   // any ObjectSpace, local or remote
 *   report.failed;                                         // entries that did not apply, with why
 *
 * Only the ObjectSpace interface is used, so a remote space replays the same way.
 */
import type { ObjectSpace, RunBudget } from "./objectSpace.js";
import { MembraneError } from "./objectSpace.js";
import { parseClassDefinition, parseMethod } from "../vm/compiler/index.js";

interface EntryBase {
  /** the change's source: the method, the removal doit, the class definition, the doit ("" for a snapshot marker) */
  source: string;
  /** when the change was logged (ISO 8601), from its stamp */
  timestamp?: string;
  /** byte offset of the source in the file (a method's source pointer when it was compiled) */
  position: number;
}

export type ChangeEntry =
  | (EntryBase & { kind: "method"; className: string; classSide: boolean; category: string; selector: string })
  | (EntryBase & { kind: "removeMethod"; className: string; classSide: boolean; selector: string })
  | (EntryBase & { kind: "classDefinition"; className: string; classSide: boolean })
  | (EntryBase & { kind: "doit" })
  | (EntryBase & { kind: "snapshot"; stamp: string });

export type ChangeKind = ChangeEntry["kind"];

export interface ParsedChanges {
  entries: ChangeEntry[];
  /** the file ends inside an entry (a write cut short): that entry never took effect and is left out */
  truncated: boolean;
  /** byte offset where the unfinished entry starts, when truncated */
  truncatedAt?: number;
}

const CHANGE_STAMP = /^"----CHANGE----(.*)----"$/s;
const SNAPSHOT_STAMP = /^"----SNAPSHOT----(.*)----"$/s;
const REMOVAL = /^([A-Za-z_][A-Za-z0-9_]*)(\s+class)?\s+removeSelector:\s*#(\S+)$/s;
const METHODS_PREAMBLE = /^([A-Za-z_][A-Za-z0-9_]*)(\s+class)?\s+methodsFor:\s*'((?:[^']|'')*)'(?:\s+stamp:\s*'((?:[^']|'')*)')?\s*$/s;

/** Byte offsets of character offsets in `text` (UTF-8), for offsets asked in increasing order. */
function byteOffsets(text: string): (charOffset: number) => number {
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) if (text.charCodeAt(i) > 127) ascii = false;
  if (ascii) return (c) => c;
  let lastChar = 0;
  let lastByte = 0;
  return (c) => {
    if (c < lastChar) {
      lastChar = 0;
      lastByte = 0;
    }
    lastByte += Buffer.byteLength(text.slice(lastChar, c), "utf8");
    lastChar = c;
    return lastByte;
  };
}

/** The selector of a method source: from the parser, or from its first line when it does not parse. */
function selectorOf(source: string): string {
  try {
    return parseMethod(source).selector;
  } catch {
    const head = source.trimStart();
    const keywords = head.match(/^(?:[A-Za-z_][A-Za-z0-9_]*:\s*[A-Za-z_][A-Za-z0-9_]*\s*)+/);
    if (keywords) return (keywords[0].match(/[A-Za-z_][A-Za-z0-9_]*:/g) ?? []).join("");
    const binary = head.match(/^[-+*/\\<>=~@%|&?,]+/);
    if (binary) return binary[0];
    return head.match(/^[A-Za-z_][A-Za-z0-9_]*/)?.[0] ?? "?";
  }
}

/** A chunk scanner: chunks end at a `!` that is not doubled; `!!` is a `!` inside a chunk. */
class Scanner {
  i = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    const t = this.text;
    while (this.i < t.length && /\s/.test(t[this.i])) this.i++;
  }

  atEnd(): boolean {
    return this.i >= this.text.length;
  }

  /** Reads up to the terminating `!`; answers undefined (and stays put) when the text ends first. */
  chunk(): { text: string; start: number } | undefined {
    const t = this.text;
    const start = this.i;
    let out = "";
    let j = start;
    for (;;) {
      const bang = t.indexOf("!", j);
      if (bang < 0) return undefined;
      if (t[bang + 1] === "!") {
        out += t.slice(j, bang + 1);
        j = bang + 2;
        continue;
      }
      // the writer always follows a terminator with a newline or ` !`: a `!` that ends the text may be
      // half of a `!!` whose write was cut short
      if (bang === t.length - 1) return undefined;
      out += t.slice(j, bang);
      this.i = bang + 1;
      return { text: out, start };
    }
  }
}

/** Every entry of a changes file, in order, and whether its last entry was cut short. */
export function parseChangesFile(input: string | Uint8Array): ParsedChanges {
  const text = typeof input === "string" ? input : Buffer.from(input).toString("utf8");
  const toByte = byteOffsets(text);
  const s = new Scanner(text);
  const entries: ChangeEntry[] = [];
  let timestamp: string | undefined;
  const truncated = (at: number): ParsedChanges => ({ entries, truncated: true, truncatedAt: toByte(at) });
  for (;;) {
    s.skipSpace();
    if (s.atEnd()) return { entries, truncated: false };
    const entryStart = s.i;
    if (text[s.i] === "!") {
      // a preamble: `!Foo methodsFor: 'x' stamp: '...'!` then method chunks up to an empty one
      s.i++;
      const pre = s.chunk();
      if (!pre) return truncated(entryStart);
      const m = METHODS_PREAMBLE.exec(pre.text.trim());
      for (;;) {
        s.skipSpace();
        if (s.atEnd()) return { entries, truncated: false };
        if (text[s.i] === "!") {
          s.i++;
          break;
        }
        const chunk = s.chunk();
        if (!chunk) return truncated(m ? entryStart : s.i);
        const source = chunk.text.trim();
        if (m) {
          entries.push({
            kind: "method", className: m[1], classSide: m[2] !== undefined, category: m[3].replace(/''/g, "'"),
            selector: selectorOf(source), source, timestamp: timestamp ?? m[4]?.replace(/''/g, "'"), position: toByte(chunk.start),
          });
        } else {
          entries.push({ kind: "doit", source, timestamp, position: toByte(chunk.start) });
        }
      }
      timestamp = undefined;
      continue;
    }
    const chunk = s.chunk();
    if (!chunk) return truncated(entryStart);
    const source = chunk.text.trim();
    const position = toByte(chunk.start);
    const stamp = CHANGE_STAMP.exec(source);
    if (stamp) {
      timestamp = stamp[1];
      continue;
    }
    const snapshot = SNAPSHOT_STAMP.exec(source);
    if (snapshot) {
      entries.push({ kind: "snapshot", stamp: snapshot[1], timestamp: snapshot[1], source: "", position });
      timestamp = undefined;
      continue;
    }
    const removal = REMOVAL.exec(source);
    if (removal) {
      entries.push({ kind: "removeMethod", className: removal[1], classSide: removal[2] !== undefined, selector: removal[3], source, timestamp, position });
      timestamp = undefined;
      continue;
    }
    let definition: ReturnType<typeof parseClassDefinition>;
    try {
      definition = parseClassDefinition(source);
    } catch {
      definition = undefined;
    }
    if (definition) {
      entries.push({ kind: "classDefinition", className: definition.className, classSide: definition.kind === "classInstanceVariables", source, timestamp, position });
    } else {
      entries.push({ kind: "doit", source, timestamp, position });
    }
    timestamp = undefined;
  }
}

/** Every entry of a changes file, in order (an entry cut short at the end of the file is left out). */
export function parseChanges(input: string | Uint8Array): ChangeEntry[] {
  return parseChangesFile(input).entries;
}

/** The entries after the last snapshot marker (all of them when there is none). Accepts the entries or the file's text. */
export function changesSinceLastSnapshot(entries: ChangeEntry[] | string | Uint8Array): ChangeEntry[] {
  const list = Array.isArray(entries) ? entries : parseChanges(entries);
  let last = -1;
  list.forEach((e, i) => {
    if (e.kind === "snapshot") last = i;
  });
  return list.slice(last + 1);
}

/**
 * What a listing of a changes file shows (`oz changes`, the hypervisor's `changes`): the entries since the
 * last snapshot marker, or with `all` every entry, markers included; and whether the file ends inside a
 * change cut short.
 */
export function listChanges(input: string | Uint8Array, options: { all?: boolean } = {}): ParsedChanges {
  const parsed = parseChangesFile(input);
  return options.all ? parsed : { ...parsed, entries: changesSinceLastSnapshot(parsed.entries) };
}

/** One line per entry, for listings: `2026-11-21T05:40:00.000Z  method  Point>>double`. */
export function describeChange(entry: ChangeEntry): string {
  const side = (e: { className: string; classSide: boolean }) => `${e.className}${e.classSide ? " class" : ""}`;
  let what: string;
  switch (entry.kind) {
    case "method": what = `${side(entry)}>>${entry.selector}  {${entry.category}}`; break;
    case "removeMethod": what = `${side(entry)}>>${entry.selector}`; break;
    case "classDefinition": what = side(entry); break;
    case "doit": what = firstLine(entry.source); break;
    case "snapshot": what = ""; break;
  }
  return `${(entry.timestamp ?? "").padEnd(24)}  ${entry.kind.padEnd(15)}  ${what}`.trimEnd();
}

function firstLine(text: string): string {
  const line = text.split(/\r\n|\r|\n/)[0];
  return line.length > 70 || text.includes("\n") ? `${line.slice(0, 70)}...` : line;
}

export interface ReplayOptions {
  /** log the replayed methods to the space's changes file again (default true: their sources then point at the new chunks) */
  logChanges?: boolean;
  /** the budget of each doit and class definition (default 10 s) */
  doitBudget?: RunBudget;
  /** the same, in milliseconds (the hypervisor's spelling) */
  doitBudgetMs?: number;
  /** called after each entry */
  onEntry?: (entry: ChangeEntry, error: string | undefined) => void;
}

export interface ReplayReport {
  /** entries applied */
  replayed: number;
  /** entries that failed, in order, with why; the others were still applied */
  failed: Array<{ entry: ChangeEntry; error: string }>;
  /** snapshot markers met (and skipped) */
  skipped: number;
}

async function replayOne(space: ObjectSpace, entry: ChangeEntry, options: ReplayOptions): Promise<void> {
  const budget = options.doitBudget ?? { ms: options.doitBudgetMs ?? 10_000 };
  switch (entry.kind) {
    case "method": {
      const cls = await space.classNamed(entry.classSide ? `${entry.className} class` : entry.className);
      if (!cls) throw new MembraneError("notFound", `there is no class ${entry.className}`);
      try {
        const method = await cls.compile(entry.source, { category: entry.category, logChange: options.logChanges ?? true });
        method.release();
      } finally {
        cls.release();
      }
      return;
    }
    case "removeMethod": {
      const cls = await space.classNamed(entry.classSide ? `${entry.className} class` : entry.className);
      if (!cls) throw new MembraneError("notFound", `there is no class ${entry.className}`);
      try {
        await cls.removeMethod(entry.selector, { logChange: options.logChanges ?? true });
      } finally {
        cls.release();
      }
      return;
    }
    case "classDefinition":
    case "doit": {
      const r = await space.evaluate(entry.source, { budget });
      if (!r.ok) throw new MembraneError("failedPrecondition", r.messageText ? `${r.errorClass}: ${r.messageText}` : r.errorClass);
      r.value.release();
      return;
    }
    case "snapshot":
      return;
  }
}

/**
 * Applies changes to a space, in order: methods compiled with ClassMirror.compile (in their class and
 * category), removals with ClassMirror.removeMethod, class definitions and doits evaluated in the image
 * (its own class builder defines the classes). A failing entry is reported and the replay goes on.
 */
export async function replayChanges(space: ObjectSpace, entries: ChangeEntry[], options: ReplayOptions = {}): Promise<ReplayReport> {
  const report: ReplayReport = { replayed: 0, failed: [], skipped: 0 };
  for (const entry of entries) {
    if (entry.kind === "snapshot") {
      report.skipped++;
      options.onEntry?.(entry, undefined);
      continue;
    }
    let error: string | undefined;
    try {
      await replayOne(space, entry, options);
      report.replayed++;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      report.failed.push({ entry, error });
    }
    options.onEntry?.(entry, error);
  }
  return report;
}
