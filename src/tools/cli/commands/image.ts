import * as fs from "node:fs";
import type { Command } from "../io.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../io.js";
import { parseArgs } from "../args.js";
import { progress } from "../format.js";

export const imageCommand: Command = {
  name: "image",
  summary: "build the kernel image from kernel/*.st (oz image build)",
  usage: `oz image build [-o FILE] [--if-missing]

Bootstraps the kernel image from the kernel sources (kernel/*.st) through the ObjectSpace creation API and
writes it to FILE (default: build/kernel.image in the package, or $OZ_IMAGE). The same sources always give
a byte-identical image. With --if-missing, does nothing when the image exists and is newer than the sources.
Progress goes to stderr (one line updated in place on a terminal).

Exit status: 0 on success, 1 when the kernel does not bootstrap or the file cannot be written, 2 for bad
usage.`,
  async run(argv, io) {
    const { positional, options } = parseArgs(argv, { output: { value: true, short: "o" }, "if-missing": {}, help: {} });
    if (positional[0] !== "build" || positional.length !== 1) {
      io.err(`oz image: expected 'build'\n\n${this.usage}\n`);
      return EXIT_USAGE;
    }
    const { buildKernelImage, defaultImagePath, isUpToDate } = await import("../../kernelImage.js");
    const { BootstrapError } = await import("../../../bootstrap/bootstrap.js");
    const file = typeof options.output === "string" ? options.output : defaultImagePath();
    if (options["if-missing"] && fs.existsSync(file) && isUpToDate(file)) return EXIT_OK;
    const started = Date.now();
    // on a terminal, one progress line updated in place; otherwise every step on a line of its own
    const p = io.errIsTTY ? progress(io, "oz image build", "bootstrapping the kernel") : undefined;
    try {
      const size = await buildKernelImage(file, (line) => (p ? p.update(line) : io.err(`oz image build: ${line}\n`)));
      p?.fail();
      io.err(`oz image build: wrote ${file} (${size} bytes) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return EXIT_OK;
    } catch (e) {
      p?.fail();
      if (e instanceof BootstrapError) {
        io.err(`oz image build: ${e.message}\n`);
        return EXIT_FAILURE;
      }
      const code = (e as NodeJS.ErrnoException).code;
      if (code) {
        io.err(`oz image build: cannot write ${file}: ${code}\n`);
        return EXIT_FAILURE;
      }
      throw e;
    }
  },
};
