/** Local sessions for the CLI: an image file (or the kernel image) with a progress line when it is large. */
import * as fs from "node:fs";
import type { CommandIO } from "./io.js";
import { CliError } from "./io.js";
import { formatBytes, progress } from "./format.js";
import type { LocalObjectSpace } from "../../membrane/local/space.js";
import { MembraneError } from "../../membrane/objectSpace.js";

/** Images at least this large get a progress line while they load. */
export const LARGE_IMAGE_BYTES = 16 * 1024 * 1024;

export async function openLocal(io: CommandIO, command: string, image: string | undefined, largeBytes = LARGE_IMAGE_BYTES): Promise<LocalObjectSpace> {
  let size = 0;
  if (image !== undefined) {
    try {
      size = fs.statSync(image).size;
    } catch (e) {
      throw new CliError(`cannot read the image ${image}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  const p = image !== undefined && size >= largeBytes ? progress(io, `oz ${command}`, `loading ${image} (${formatBytes(size)})`) : undefined;
  try {
    const { openSession } = await import("../session.js");
    const space = await openSession({
      image,
      write: io.out,
      warn: (w) => io.err(`${w}\n`),
      log: (l) => io.err(`${l}\n`),
    });
    p?.done(`loaded ${image}`);
    return space;
  } catch (e) {
    p?.fail();
    if ((e instanceof Error && e.name === "ImageFormatError") || e instanceof MembraneError) throw new CliError(`cannot load the image ${image}: ${e.message}`);
    throw e;
  }
}
