/**
 * Crash recovery from a guest's `.changes` file (design.md section 3): the changes appended after the
 * last snapshot marker are those the image on disk does not have; replaying them brings every source
 * change back.
 *
 * This is the hypervisor's own minimal version of the API the membrane is getting in
 * `src/membrane/changes.ts` (`parseChanges`, `changesSinceLastSnapshot`, `replayChanges`); the daemon
 * calls it only through these three functions, so switching is one import.
 *
 * Entries: a method (class, side, category, source and its byte position in the file, so that the
 * replayed method's source pointer is the original one), a removal, or a doit (class definitions and
 * other image-changing doits the image logged).
 */
import { readChunks } from "../vm/compiler/index.js";
import type { LocalObjectSpace } from "../membrane/local/space.js";
import { CHANGES_FILE_INDEX } from "../vm/method/trailer.js";

export type ChangeEntry =
  | { kind: "method"; className: string; classSide: boolean; category: string; source: string; position: number }
  | { kind: "removeMethod"; className: string; classSide: boolean; selector: string; source: string; position: number }
  | { kind: "doit"; source: string; position: number }
  | { kind: "snapshot"; stamp: string; position: number };

const CHANGE_STAMP = /^"----CHANGE----.*----"$/s;
const SNAPSHOT_STAMP = /^"----SNAPSHOT----(.*)----"$/s;
const REMOVE = /^([A-Za-z_][A-Za-z0-9_]*)(\s+class)?\s+removeSelector:\s*#(\S+)$/;

/** Byte offsets of character offsets in `text` (UTF-8), computed incrementally. */
function byteOffsets(text: string): (charOffset: number) => number {
  if (Buffer.byteLength(text, "utf8") === text.length) return (c) => c;
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

/** Every entry of a changes file, in order (stamp chunks dropped, snapshot markers kept). */
export function parseChanges(text: string): ChangeEntry[] {
  const toByte = byteOffsets(text);
  const out: ChangeEntry[] = [];
  for (const item of readChunks(text)) {
    if (item.kind === "methods") {
      for (const m of item.methods) {
        out.push({ kind: "method", className: item.className, classSide: item.classSide, category: item.category, source: m.source, position: toByte(m.offset) });
      }
    } else if (item.kind === "doit") {
      if (CHANGE_STAMP.test(item.source)) continue;
      const snap = SNAPSHOT_STAMP.exec(item.source);
      if (snap) {
        out.push({ kind: "snapshot", stamp: snap[1], position: toByte(item.offset) });
        continue;
      }
      const rm = REMOVE.exec(item.source);
      if (rm) {
        out.push({ kind: "removeMethod", className: rm[1], classSide: rm[2] !== undefined, selector: rm[3], source: item.source, position: toByte(item.offset) });
        continue;
      }
      out.push({ kind: "doit", source: item.source, position: toByte(item.offset) });
    }
  }
  return out;
}

/** The entries after the last snapshot marker (all of them when there is none). */
export function changesSinceLastSnapshot(text: string): ChangeEntry[] {
  const entries = parseChanges(text);
  let last = -1;
  entries.forEach((e, i) => {
    if (e.kind === "snapshot") last = i;
  });
  return entries.slice(last + 1);
}

export interface ReplayReport {
  replayed: number;
  failed: Array<{ entry: ChangeEntry; error: string }>;
}

/**
 * Replays entries into a space, in order. Methods keep their source pointer into the changes file (they
 * are not logged again); doits and removals run as in the original session. A failing entry is reported
 * and the others still run.
 */
export async function replayChanges(space: LocalObjectSpace, entries: ChangeEntry[], options: { doitBudgetMs?: number } = {}): Promise<ReplayReport> {
  const report: ReplayReport = { replayed: 0, failed: [] };
  for (const entry of entries) {
    try {
      switch (entry.kind) {
        case "snapshot":
          continue;
        case "method": {
          const cls = await space.classNamed(entry.classSide ? `${entry.className} class` : entry.className);
          if (!cls) throw new Error(`no class ${entry.className}`);
          const oop = space.ownOop(cls);
          await space.compileMethodIn(oop, entry.source, {
            category: entry.category,
            sourceRef: { kind: "file", file: CHANGES_FILE_INDEX, position: entry.position },
          });
          cls.release();
          break;
        }
        case "removeMethod":
        case "doit": {
          const r = await space.evaluate(entry.source, { budget: { ms: options.doitBudgetMs ?? 10_000 } });
          if (!r.ok) throw new Error(`${r.errorClass}: ${r.messageText}`);
          r.value.release();
          break;
        }
      }
      report.replayed++;
    } catch (e) {
      report.failed.push({ entry, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return report;
}
