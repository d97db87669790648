import * as fs from "node:fs";
import type { Command, CommandIO } from "../io.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../io.js";
import { parseArgs, UsageError } from "../args.js";
import { openLocal } from "../local.js";
import { REMOTE_OPTIONS, REMOTE_USAGE, explicitRemote, withClient } from "../remote.js";
import type { OzClient } from "../../../remote/client/connect.js";

/** How long a remote run waits, after its last doit, for the guest's Transcript events still on their way. */
const QUIET_MS = 150;
const MAX_DRAIN_MS = 2000;

function readSource(io: CommandIO, file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    io.err(`oz run: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return undefined;
  }
}

/**
 * Runs `body` while printing on stdout the Transcript output `guest` writes meanwhile (its event feed,
 * subscribed before `body` starts, so nothing is missed). What `body` itself prints (through the io it is
 * given) comes after that output, once the feed has been quiet for a moment, as it would locally.
 */
export async function echoingTranscript<T>(client: OzClient, guest: string, io: CommandIO, body: (io: CommandIO) => Promise<T>): Promise<T> {
  let lastEvent = Date.now();
  let ended = false;
  const unsubscribe = client.hypervisor.subscribe(
    (e) => {
      if (e.type !== "transcript") return;
      lastEvent = Date.now();
      io.out(e.text);
    },
    { guests: [guest], onEnd: () => (ended = true) },
  );
  const deferred: Array<() => void> = [];
  const later: CommandIO = { ...io, out: (text) => deferred.push(() => io.out(text)), err: (text) => deferred.push(() => io.err(text)) };
  try {
    await client.hypervisor.info(guest); // an unknown guest is refused here, before anything runs
    const result = await body(later);
    const start = Date.now();
    while (!ended && Date.now() - lastEvent < QUIET_MS && Date.now() - start < MAX_DRAIN_MS) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return result;
  } finally {
    unsubscribe();
    for (const write of deferred) write();
  }
}

/** Files `text` into a daemon's running guest, echoing its Transcript output. */
async function runInGuest(client: OzClient, guest: string, file: string, text: string, io: CommandIO, budgetMs: number | undefined): Promise<number> {
  const { fileIn, formatFailure } = await import("../../fileIn.js");
  const outcome = await echoingTranscript(client, guest, io, () => fileIn(client.space(guest), text, { fileName: file, doitBudgetMs: budgetMs }));
  if (!outcome.ok) {
    io.err(`${formatFailure(outcome)}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

export const runCommand: Command = {
  name: "run",
  summary: "file in a chunk-format Smalltalk file and run its doits (locally, or in a daemon's guest)",
  usage: `oz run FILE.st [--image IMAGE] [--trace]
oz run GUEST FILE.st --remote URL [--token-file FILE] [--budget MS]

Files in FILE.st: class definitions, method sections (!Foo methodsFor: 'x'!) and doits, in order.

Without a daemon (no --remote and no $OZ_REMOTE, or --local): in a fresh session on the kernel image (or
IMAGE), then lets the processes the file started run until none wants to run and no Delay is pending.
Transcript output goes to stdout. The image is not saved. --trace prints every executed bytecode to stderr
(slow: a debugging aid).

With --remote URL or $OZ_REMOTE: into the daemon's guest GUEST, which keeps what the file defines (the
changes go to its changes file). The Transcript output the guest writes while the file runs is printed
on stdout (it also stays in the guest's log); processes the file forks go on running in the guest.
--budget MS stops each doit after MS milliseconds of CPU.

${REMOTE_USAGE}

Exit status: 0 when the whole file ran, 1 for a compile error (printed as FILE:LINE:COL with the line and
a caret) or an unhandled error (its class, message and Smalltalk stack on stderr), 2 for bad usage,
3 cannot reach the daemon, 4 not authorized.`,
  async run(argv, io) {
    const { positional, options } = parseArgs(argv, {
      ...REMOTE_OPTIONS, image: { value: true }, local: {}, trace: {}, budget: { value: true }, help: {},
    });
    const local = options.local === true || options.image !== undefined || options.trace === true;
    if (local && options.remote !== undefined) throw new UsageError("--remote runs in a daemon's guest; --image, --trace and --local work locally: not both");
    const remote = local ? undefined : explicitRemote(options, io.env);
    if (remote === undefined) {
      if (positional.length !== 1) {
        io.err(
          positional.length === 2
            ? `oz run: 'oz run GUEST FILE.st' runs in a daemon's guest: give --remote URL (or set OZ_REMOTE)\n`
            : `oz run: expected one file\n\n${this.usage}\n`,
        );
        return EXIT_USAGE;
      }
      const file = positional[0];
      const text = readSource(io, file);
      if (text === undefined) return EXIT_FAILURE;
      const { fileIn, formatFailure, runUntilQuiet } = await import("../../fileIn.js");
      const space = await openLocal(io, "run", typeof options.image === "string" ? options.image : undefined);
      if (options.trace) space.vm.trace = (await import("../../../vm/interpreter/trace.js")).bytecodeTracer((line) => io.err(line));
      const outcome = await fileIn(space, text, { fileName: file });
      const finished = outcome.ok ? await runUntilQuiet(space, file, outcome.doitLines) : outcome;
      if (finished !== undefined && !finished.ok) {
        io.err(`${formatFailure(finished)}\n`);
        return EXIT_FAILURE;
      }
      return EXIT_OK;
    }
    if (positional.length !== 2) {
      io.err(
        positional.length === 1
          ? `oz run: with a daemon (${remote}), give the guest: oz run GUEST FILE.st (--local runs on the kernel image)\n`
          : `oz run: expected a guest and one file\n\n${this.usage}\n`,
      );
      return EXIT_USAGE;
    }
    let budgetMs: number | undefined;
    if (options.budget !== undefined) {
      budgetMs = Number(options.budget);
      if (typeof options.budget !== "string" || !Number.isFinite(budgetMs) || budgetMs <= 0) throw new UsageError("--budget needs a positive number of milliseconds");
    }
    const [guest, file] = positional;
    const text = readSource(io, file);
    if (text === undefined) return EXIT_FAILURE;
    return withClient(remote, options, io.env, (client) => runInGuest(client, guest, file, text, io, budgetMs));
  },
};
