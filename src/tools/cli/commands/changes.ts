/**
 * `oz changes`: the changes an image's `.changes` file holds since its last snapshot (a local image file,
 * or a daemon's guest through the hypervisor's Changes operation), and replaying them into a local image
 * (crash recovery, design.md section 3).
 */
import * as fs from "node:fs";
import type { Command, CommandIO } from "../io.js";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../io.js";
import { parseArgs, UsageError } from "../args.js";
import { REMOTE_OPTIONS, REMOTE_USAGE, explicitRemote, withClient } from "../remote.js";
import type { ChangeEntry } from "../../../membrane/changes.js";
import { MembraneError } from "../../../membrane/objectSpace.js";
import { HypervisorError, type GuestChanges } from "../../../hypervisor/types.js";

const USAGE = `oz changes IMAGE [--all] [--json] [--changes FILE]
oz changes GUEST --remote URL [--all] [--json] [--token-file FILE]
oz changes replay IMAGE [-o OUT] [--json] [--changes FILE] [--doit-budget MS]

Lists the changes in IMAGE's changes file (IMAGE with .image replaced by .changes, or FILE) made since
the image was last saved: methods compiled and removed, classes defined, doits. --all lists every change
of the file, snapshot markers included. --json prints them as a JSON array (kind, className, classSide,
selector, category, source, timestamp, position).

With --remote URL or $OZ_REMOTE (and not --local): the same listing for the daemon's guest GUEST, from
its changes file on the daemon's machine (DATA_DIR/guests/GUEST/GUEST.changes), since its last snapshot
('oz snapshot GUEST'). A read token is enough.

'replay' opens IMAGE as an object space without running it, applies those changes in order (methods
compiled in their class and category, removals, class definitions and doits run in the image), writes
the image (to OUT, or over IMAGE, atomically) and marks the changes file, so that the replayed changes
are not listed again. With -o OUT, OUT gets its own copy of the changes file (OUT's .changes) and IMAGE
is left unchanged. A change that fails is reported on stderr and the others are still applied. It works
on image files only: ozd replays a guest's changes itself when it opens its data directory or starts it.

${REMOTE_USAGE}

Exit status: 0 on success, 1 when a file cannot be read or written, the guest does not exist, or some
change failed to replay (the image is still written with the others), 2 for bad usage, 3 cannot reach
the daemon, 4 not authorized.`;

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

/** Prints a listing (an image's or a guest's, the same way): one line per entry and a count on stderr, or a JSON array. */
async function printChanges(io: CommandIO, listing: GuestChanges, options: { all: boolean; json: boolean }): Promise<void> {
  const { describeChange } = await import("../../../membrane/changes.js");
  const { entries, file } = listing;
  if (options.json) {
    io.out(`${JSON.stringify(entries.map(entryJson), null, 2)}\n`);
  } else {
    for (const e of entries) io.out(`${describeChange(e)}\n`);
    const count = entries.filter((e) => e.kind !== "snapshot").length;
    io.err(`${count} change${count === 1 ? "" : "s"}${options.all ? " in" : " since the last snapshot of"} ${file}\n`);
  }
  if (listing.truncated) io.err(`oz changes: ${file} ends inside a change (at byte ${listing.truncatedAt}): it never took effect and is ignored\n`);
}

async function list(argv: string[], io: CommandIO): Promise<number> {
  const { positional, options } = parseArgs(argv, { ...REMOTE_OPTIONS, local: {}, all: {}, json: {}, changes: { value: true }, help: { short: "h" } });
  const flags = { all: options.all === true, json: options.json === true };
  const local = options.local === true || options.changes !== undefined;
  if (local && options.remote !== undefined) throw new UsageError("--remote lists a daemon's guest; --local and --changes a local image: not both");
  const remote = local ? undefined : explicitRemote(options, io.env);
  if (remote !== undefined) {
    if (positional.length !== 1) throw new UsageError(`with a daemon (${remote}), expected one guest: oz changes GUEST (--local lists a local image's changes)`);
    const guest = positional[0];
    return withClient(remote, options, io.env, async (client) => {
      let listing: GuestChanges;
      try {
        listing = await client.hypervisor.changes(guest, { all: flags.all });
      } catch (e) {
        // an image file named as a guest: say how to list it
        if (e instanceof HypervisorError && fs.existsSync(guest)) throw new CliError(`${e.message}; ${guest} is a local file: add --local to list its changes`);
        throw e;
      }
      await printChanges(io, listing, flags);
      return EXIT_OK;
    });
  }
  if (positional.length !== 1) throw new UsageError("expected one image file");
  const image = positional[0];
  if (!fs.existsSync(image)) {
    io.err(`oz changes: no such image: ${image}\n`);
    return EXIT_FAILURE;
  }
  const { listChanges } = await import("../../../membrane/changes.js");
  const { changesPathFor } = await import("../../../membrane/local/imageFiles.js");
  const changesFile = typeof options.changes === "string" ? options.changes : changesPathFor(image);
  const text = readChanges(io, changesFile);
  if (text === undefined) return EXIT_FAILURE;
  await printChanges(io, { ...listChanges(text, { all: flags.all }), file: changesFile }, flags);
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
  summary: "list an image's or a guest's changes since its last snapshot, or replay them (oz changes [replay] IMAGE)",
  usage: USAGE,
  async run(argv, io) {
    if (argv[0] === "replay") return replay(argv.slice(1), io);
    if (argv.length === 0) {
      io.err(`oz changes: expected an image file (or, with a daemon, a guest)\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    return list(argv, io);
  },
};
