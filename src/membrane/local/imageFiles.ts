/**
 * Image files as object spaces (the paper's section 4.5: "loading an existing image file consists in
 * putting the object graph from that image inside the object space"): open an image file without running
 * it, with its `.changes` file beside it as the space's changes log, and save a space as an image file
 * (written atomically, then the changes file is marked: the changes before the mark are in the image).
 *
 *   const { space, changes, close } = openImageFile("app.image");   // nothing runs
 *   ...surgery through mirrors...                                   // logged to app.changes first
 *   await saveImageFile(space, "app.image", changes);               // app.image replaced, app.changes marked
 *   close();
 *
 *   const clone = cloneImageFile("app.image");                      // a sandbox: same objects, same sources,
 *   ...                                                              // nothing it does reaches app.image or app.changes
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ObjectSpace } from "../objectSpace.js";
import { MembraneError } from "../objectSpace.js";
import { LocalObjectSpace, type LocalSpaceOptions } from "./space.js";
import { ChangesFile, formatChange, readChunkAt, type ChangesLog } from "../../tools/host/sourceFiles.js";
import type { ChangeRecord } from "../../vm/host.js";
import { nodeHost } from "../../tools/host/nodeHost.js";
import { sourceFilesOf } from "../../tools/session.js";
import { ImageFormatError } from "../../vm/image/imageFile.js";

/** `app.image` → `app.changes`; any other name gets `.changes` appended. */
export function changesPathFor(imagePath: string): string {
  return imagePath.endsWith(".image") ? `${imagePath.slice(0, -".image".length)}.changes` : `${imagePath}.changes`;
}

export interface OpenImageOptions extends LocalSpaceOptions {
  /** the changes file (default: beside the image, see changesPathFor) */
  changesPath?: string;
  /** where Transcript output goes (default: discarded) */
  write?: (text: string) => void;
}

export interface OpenedImage {
  space: LocalObjectSpace;
  changes: ChangesFile;
  changesPath: string;
  /** closes the changes file and releases every mirror */
  close(): void;
}

function readImageBytes(imagePath: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(imagePath));
  } catch (e) {
    throw new MembraneError("notFound", `cannot read ${imagePath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** An object space on an image's bytes with a Node host logging to `changes`; a bad image names its file. */
function spaceOn(bytes: Uint8Array, imagePath: string, changes: ChangesLog, options: OpenImageOptions): LocalObjectSpace {
  const host = nodeHost({ write: options.write ?? (() => undefined), changes, kernelFiles: [] });
  let space: LocalObjectSpace;
  try {
    space = LocalObjectSpace.fromImage(bytes, host, options);
  } catch (e) {
    if (e instanceof ImageFormatError) throw new MembraneError("invalidArgument", `${imagePath}: ${e.message}`);
    throw e;
  }
  host.sources.kernelFiles.push(...sourceFilesOf(space.mem));
  return space;
}

/** Opens an image file as an object space, without running it; its changes log is the image's changes file. */
export function openImageFile(imagePath: string, options: OpenImageOptions = {}): OpenedImage {
  const bytes = readImageBytes(imagePath);
  const changesPath = options.changesPath ?? changesPathFor(imagePath);
  const changes = new ChangesFile(changesPath);
  const space = spaceOn(bytes, imagePath, changes, options);
  return {
    space,
    changes,
    changesPath,
    close() {
      space.releaseAll();
      changes.close();
    },
  };
}

/** Writes `bytes` to `file` atomically: a temporary file beside it, flushed, then renamed over it. */
export function writeFileAtomically(file: string, bytes: Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Saves a space (local or remote) as an image file, atomically, then marks its changes log: the changes
 * logged so far are in the image. Answers the image's size in bytes.
 */
export async function saveImageFile(space: ObjectSpace, imagePath: string, changes?: ChangesLog): Promise<number> {
  const bytes = await space.snapshot();
  writeFileAtomically(imagePath, bytes);
  changes?.markSnapshot();
  return bytes.length;
}

/**
 * A changes log over a read-only copy of an image's changes file: method sources already in the file
 * read from it, new changes are kept in memory after it (positions go on from the file's end), and
 * nothing is ever written. The log of a clone.
 */
export class OverlayChanges implements ChangesLog {
  private readonly base: Buffer;
  private added = "";
  private addedBytes = 0;
  private readonly chunks: Array<{ start: number; text: string }> = [];

  constructor(file: string) {
    let base: Buffer;
    try {
      base = fs.readFileSync(file);
    } catch {
      base = Buffer.alloc(0);
    }
    this.base = base;
  }

  append(record: ChangeRecord): number {
    const { text, sourceOffset } = formatChange(record, new Date().toISOString());
    const start = this.base.length + this.addedBytes;
    this.chunks.push({ start, text });
    this.added += text;
    this.addedBytes += Buffer.byteLength(text, "utf8");
    return start + Buffer.byteLength(text.slice(0, sourceOffset), "utf8");
  }

  read(position: number): string | undefined {
    if (position < 0) return undefined;
    if (position < this.base.length) return readChunkAt(this.base.subarray(position).toString("utf8"), 0);
    const added = Buffer.from(this.added, "utf8");
    const at = position - this.base.length;
    return at < added.length ? readChunkAt(added.subarray(at).toString("utf8"), 0) : undefined;
  }

  markSnapshot(): void {
    this.added += `\n"----SNAPSHOT----${new Date().toISOString()}----"!\n`;
    this.addedBytes = Buffer.byteLength(this.added, "utf8");
  }

  /** The changes made in the clone, in the changes-file format. */
  contents(): string {
    return this.added;
  }
}

/**
 * Opens a clone of an image file: an object space on a copy of its bytes whose changes log is an
 * OverlayChanges over the image's changes file. The clone can do anything; the image file and its changes
 * file are never written.
 */
export function cloneImageFile(imagePath: string, options: OpenImageOptions = {}): { space: LocalObjectSpace; changes: OverlayChanges } {
  const bytes = readImageBytes(imagePath);
  const changes = new OverlayChanges(options.changesPath ?? changesPathFor(imagePath));
  return { space: spaceOn(bytes, imagePath, changes, options), changes };
}
