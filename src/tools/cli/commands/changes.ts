/**
 * `oz changes`: the changes an image's `.changes` file holds since its last snapshot, and replaying them
 * into the image (crash recovery, design.md section 3).
 */
import * as fs from "node:fs";
import type { Command, CommandIO } from "../io.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../io.js";
import { parseArgs, UsageError } from "../args.js";
import type { ChangeEntry } from "../../../membrane/changes.js";
import { MembraneError } from "../../../membrane/objectSpace.js";

const USAGE = `oz changes IMAGE [--all] [--json] [--changes FILE]
oz changes replay IMAGE [-o OUT] [--json] [--changes FILE] [--doit-budget MS]

Lists the changes in IMAGE's changes file (IMAGE with .image replaced by .changes, or FILE) made since
the image was last saved: methods compiled and removed, classes defined, doits. --all lists every change
of the file, snapshot markers included. --json prints them as a JSON array (kind, className, classSide,
selector, category, source, timestamp, position).

'replay' opens IMAGE as an object space without running it, applies those changes in order (methods
compiled in their class and category, removals, class definitions and doits run in the image), writes
the image (to OUT, or over IMAGE, atomically) and marks the changes file, so that the replayed changes
are not listed again. With -o OUT, OUT gets its own copy of the changes file (OUT's .changes) and IMAGE
is left unchanged. A change that fails is reported on stderr and the others are still applied.

Exit status: 0 on success, 1 when a file cannot be read or written or some change failed to replay
(the image is still written with the others), 2 for bad usage.`;

function readChanges(io: CommandIO, file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "";
    io.err(`oz changes: cannot read ${file}: ${code ?? String(e)}\n`);
    return undefined;
  }
}

function entryJson(entry: ChangeEntry): Record<string, unknown> {
  return { ...entry };
}

async function list(argv: string[], io: CommandIO): Promise<number> {
  const { positional, options } = parseArgs(argv, { all: {}, json: {}, changes: { value: true }, help: {} });
  if (positional.length !== 1) throw new UsageError("expected one image file");
  const image = positional[0];
  if (!fs.existsSync(image)) {
    io.err(`oz changes: no such image: ${image}\n`);
    return EXIT_FAILURE;
  }
  const { changesSinceLastSnapshot, describeChange, parseChangesFile } = await import("../../../membrane/changes.js");
  const { changesPathFor } = await import("../../../membrane/local/imageFiles.js");
  const changesFile = typeof options.changes === "string" ? options.changes : changesPathFor(image);
  const text = readChanges(io, changesFile);
  if (text === undefined) return EXIT_FAILURE;
  const parsed = parseChangesFile(text);
  const entries = options.all ? parsed.entries : changesSinceLastSnapshot(parsed.entries);
  if (options.json) {
    io.out(`${JSON.stringify(entries.map(entryJson), null, 2)}\n`);
  } else {
    for (const e of entries) io.out(`${describeChange(e)}\n`);
    const count = entries.filter((e) => e.kind !== "snapshot").length;
    io.err(`${count} change${count === 1 ? "" : "s"}${options.all ? " in" : " since the last snapshot of"} ${changesFile}\n`);
  }
  if (parsed.truncated) io.err(`oz changes: ${changesFile} ends inside a change (at byte ${parsed.truncatedAt}): it never took effect and is ignored\n`);
  return EXIT_OK;
}

async function replay(argv: string[], io: CommandIO): Promise<number> {
  const { positional, options } = parseArgs(argv, {
    output: { value: true, short: "o" }, json: {}, changes: { value: true }, "doit-budget": { value: true }, help: {},
  });
  if (positional.length !== 1) throw new UsageError("expected one image file");
  const image = positional[0];
  const out = typeof options.output === "string" ? options.output : image;
  let budgetMs = 10_000;
  if (typeof options["doit-budget"] === "string") {
    budgetMs = Number(options["doit-budget"]);
    if (!Number.isFinite(budgetMs) || budgetMs <= 0) throw new UsageError("--doit-budget needs a positive number of milliseconds");
  }
  if (!fs.existsSync(image)) {
    io.err(`oz changes replay: no such image: ${image}\n`);
    return EXIT_FAILURE;
  }
  const { changesSinceLastSnapshot, describeChange, parseChangesFile, replayChanges } = await import("../../../membrane/changes.js");
  const { changesPathFor, openImageFile, saveImageFile } = await import("../../../membrane/local/imageFiles.js");
  const sourceChanges = typeof options.changes === "string" ? options.changes : changesPathFor(image);
  const text = readChanges(io, sourceChanges);
  if (text === undefined) return EXIT_FAILURE;
  // the space logs into the changes file of the image being written
  let logTo = sourceChanges;
  if (out !== image) {
    logTo = changesPathFor(out);
    try {
      fs.writeFileSync(logTo, text);
    } catch (e) {
      io.err(`oz changes replay: cannot write ${logTo}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      return EXIT_FAILURE;
    }
  }
  const parsed = parseChangesFile(text);
  const pending = changesSinceLastSnapshot(parsed.entries);
  let opened;
  try {
    opened = openImageFile(image, { changesPath: logTo, write: (t) => io.err(t) });
  } catch (e) {
    if (e instanceof MembraneError) {
      io.err(`oz changes replay: ${e.message}\n`);
      return EXIT_FAILURE;
    }
    throw e;
  }
  try {
    const report = await replayChanges(opened.space, pending, { doitBudget: { ms: budgetMs } });
    let size: number;
    try {
      size = await saveImageFile(opened.space, out, opened.changes);
    } catch (e) {
      io.err(`oz changes replay: cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))}\n`);
      return EXIT_FAILURE;
    }
    for (const f of report.failed) io.err(`oz changes replay: failed (byte ${f.entry.position} of ${sourceChanges}): ${describeChange(f.entry).trim()}: ${f.error}\n`);
    if (options.json) {
      io.out(`${JSON.stringify({ image: out, bytes: size, replayed: report.replayed, failed: report.failed.map((f) => ({ ...entryJson(f.entry), error: f.error })) }, null, 2)}\n`);
    } else {
      io.out(`replayed ${report.replayed} of ${report.replayed + report.failed.length} changes into ${out} (${size} bytes)\n`);
    }
    return report.failed.length === 0 ? EXIT_OK : EXIT_FAILURE;
  } finally {
    opened.close();
  }
}

export const changesCommand: Command = {
  name: "changes",
  summary: "list an image's changes since its last snapshot, or replay them (oz changes [replay] IMAGE)",
  usage: USAGE,
  async run(argv, io) {
    if (argv[0] === "replay") return replay(argv.slice(1), io);
    if (argv.length === 0) {
      io.err(`oz changes: expected an image file\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    return list(argv, io);
  },
};
