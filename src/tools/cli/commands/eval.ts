import type { Command, CommandIO } from "../io.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../io.js";
import { parseArgs, UsageError } from "../args.js";
import { REMOTE_OPTIONS, REMOTE_USAGE, explicitRemote, withClient } from "../remote.js";
import { openLocal } from "../local.js";
import { echoingTranscript } from "./run.js";
import { MembraneError, type EvaluationResult, type ObjectSpace } from "../../../membrane/objectSpace.js";

/** Evaluates and prints the result (or the error); answers the exit code. */
async function evaluateAndPrint(space: ObjectSpace, source: string, io: CommandIO, options: { json: boolean; budgetMs?: number }): Promise<number> {
  let result: EvaluationResult;
  try {
    result = await space.evaluate(source, { origin: { fileName: "<eval>" }, budget: options.budgetMs ? { ms: options.budgetMs } : undefined });
  } catch (e) {
    if (e instanceof MembraneError && e.code === "compileError") {
      if (options.json) io.out(`${JSON.stringify({ ok: false, errorClass: "CompileError", messageText: e.message, stack: [] })}\n`);
      io.err(`${e.message}\n`);
      return EXIT_FAILURE;
    }
    throw e;
  }
  if (!result.ok) {
    if (options.json) io.out(`${JSON.stringify({ ok: false, errorClass: result.errorClass, messageText: result.messageText, stack: result.stack })}\n`);
    io.err(`${result.messageText ? `${result.errorClass}: ${result.messageText}` : result.errorClass}\n`);
    for (const f of result.stack) io.err(`  ${f.description}${f.line !== undefined ? ` (line ${f.line})` : ""}\n`);
    result.error.release();
    return EXIT_FAILURE;
  }
  io.out(options.json ? `${JSON.stringify({ ok: true, printString: result.printString })}\n` : `${result.printString}\n`);
  result.value.release();
  return EXIT_OK;
}

export const evalCommand: Command = {
  name: "eval",
  summary: "evaluate an expression (locally, or in a daemon's guest) and print its printString",
  usage: `oz eval 'EXPRESSION' [--image IMAGE] [--json] [--budget MS]
oz eval GUEST 'EXPRESSION' --remote URL [--token-file FILE] [--json] [--budget MS]

Evaluates EXPRESSION (statements separated by periods, optionally starting with | temps |) and prints
the printString of its value.

Without a daemon (no --remote and no $OZ_REMOTE, or --local): in a fresh session on the kernel image (or
IMAGE), which is not saved; Transcript output goes to stdout first.
With --remote URL or $OZ_REMOTE: in the daemon's guest GUEST, whatever its state (running, paused,
crashed: surgery); the Transcript output the guest writes meanwhile is printed first (it also stays in
the guest's log, 'oz logs GUEST'; with --json it is not printed).

--budget MS stops the evaluation after MS milliseconds of CPU (default: no limit).
--json prints {"ok": true, "printString": ...} or {"ok": false, "errorClass", "messageText", "stack"}.

${REMOTE_USAGE}

Exit status: 0 on success, 1 when the expression does not compile or signals an unhandled error (its class
and message are printed on stderr, then the Smalltalk stack), 2 for bad usage, 3 cannot reach the daemon,
4 not authorized.`,
  async run(argv, io) {
    const { positional, options } = parseArgs(argv, {
      ...REMOTE_OPTIONS, image: { value: true }, local: {}, json: {}, budget: { value: true }, help: { short: "h" },
    });
    let budgetMs: number | undefined;
    if (options.budget !== undefined) {
      budgetMs = Number(options.budget);
      if (typeof options.budget !== "string" || !Number.isFinite(budgetMs) || budgetMs <= 0) throw new UsageError("--budget needs a positive number of milliseconds");
    }
    const local = options.local === true || options.image !== undefined;
    if (local && options.remote !== undefined) throw new UsageError("--remote works on a daemon's guest; --image and --local on a local image: not both");
    const remote = local ? undefined : explicitRemote(options, io.env);
    const json = options.json === true;
    if (remote === undefined) {
      if (positional.length !== 1) {
        io.err(
          positional.length === 2
            ? `oz eval: 'oz eval GUEST EXPRESSION' evaluates in a daemon's guest: give --remote URL (or set OZ_REMOTE)\n`
            : `oz eval: expected one expression\n\n${this.usage}\n`,
        );
        return EXIT_USAGE;
      }
      const space = await openLocal(io, "eval", typeof options.image === "string" ? options.image : undefined);
      return evaluateAndPrint(space, positional[0], io, { json, budgetMs });
    }
    if (positional.length !== 2) {
      io.err(
        positional.length === 1
          ? `oz eval: with a daemon (${remote}), give the guest: oz eval GUEST 'EXPRESSION' (--local evaluates on the kernel image)\n`
          : `oz eval: expected a guest and one expression\n\n${this.usage}\n`,
      );
      return EXIT_USAGE;
    }
    const [guest, source] = positional;
    return withClient(remote, options, io.env, (client) =>
      json
        ? evaluateAndPrint(client.space(guest), source, io, { json, budgetMs })
        : echoingTranscript(client, guest, io, (later) => evaluateAndPrint(client.space(guest), source, later, { json, budgetMs })));
  },
};

