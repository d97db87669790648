import type { Command } from "../io.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../io.js";
import { parseArgs } from "../args.js";
import { openSession } from "../../session.js";
import { MembraneError } from "../../../membrane/objectSpace.js";

export const evalCommand: Command = {
  name: "eval",
  summary: "evaluate an expression and print its printString",
  usage: `oz eval 'EXPRESSION' [--image IMAGE]

Evaluates EXPRESSION (statements separated by periods, optionally starting with | temps |) in a fresh
session on the kernel image (or IMAGE) and prints the printString of its value. Transcript output goes to
stdout first.

Exit status: 0 on success, 1 when the expression does not compile or signals an unhandled error (its class
and message are printed on stderr), 2 for bad usage.`,
  async run(argv, io) {
    const { positional, options } = parseArgs(argv, { image: { value: true }, help: {} });
    if (positional.length !== 1) {
      io.err(`oz eval: expected one expression\n\n${this.usage}\n`);
      return EXIT_USAGE;
    }
    const space = await openSession({
      image: typeof options.image === "string" ? options.image : undefined,
      write: io.out,
      warn: (w) => io.err(`${w}\n`),
      log: (l) => io.err(`${l}\n`),
    });
    try {
      const result = await space.evaluate(positional[0], { origin: { fileName: "<eval>" } });
      if (!result.ok) {
        io.err(`${result.messageText ? `${result.errorClass}: ${result.messageText}` : result.errorClass}\n`);
        for (const f of result.stack) io.err(`  ${f.description}${f.line !== undefined ? ` (line ${f.line})` : ""}\n`);
        return EXIT_FAILURE;
      }
      io.out(`${result.printString}\n`);
      return EXIT_OK;
    } catch (e) {
      if (e instanceof MembraneError && e.code === "compileError") {
        io.err(`${e.message}\n`);
        return EXIT_FAILURE;
      }
      throw e;
    }
  },
};
