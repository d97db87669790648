import * as fs from "node:fs";
import type { Command } from "../io.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../io.js";
import { parseArgs } from "../args.js";
import { openLocal } from "../local.js";

export const runCommand: Command = {
  name: "run",
  summary: "file in a chunk-format Smalltalk file and run its doits",
  usage: `oz run FILE.st [--image IMAGE] [--trace]

Files in FILE.st: class definitions, method sections (!Foo methodsFor: 'x'!) and doits, in order, in a
fresh session on the kernel image (or IMAGE), then lets the processes the file started run until none
wants to run and no Delay is pending. Transcript output goes to stdout. The image is not saved.
--trace prints every executed bytecode to stderr (slow: a debugging aid).

Exit status: 0 when the whole file ran, 1 for a compile error (printed as FILE:LINE:COL with the line and
a caret) or an unhandled error (its class, message and Smalltalk stack on stderr), 2 for bad usage.`,
  async run(argv, io) {
    const { positional, options } = parseArgs(argv, { image: { value: true }, trace: {}, help: {} });
    if (positional.length !== 1) {
      io.err(`oz run: expected one file\n\n${this.usage}\n`);
      return EXIT_USAGE;
    }
    const file = positional[0];
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      io.err(`oz run: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      return EXIT_FAILURE;
    }
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
  },
};
