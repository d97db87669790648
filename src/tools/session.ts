/**
 * A local session on an image for the CLI: the kernel image (built when missing) or a given image file,
 * opened as an object space with a Node host whose Transcript goes to stdout. Sessions never save their
 * image, so their changes are kept in memory (after the image's own changes file, which is read only).
 */
import * as fs from "node:fs";
import { LocalObjectSpace } from "../membrane/local/space.js";
import type { ObjectMemory } from "../vm/memory/heap.js";
import type { InterpreterOptions } from "../vm/interpreter/interpreter.js";
import { Special } from "../vm/memory/special.js";
import { kernelFileNames, kernelImageBytes } from "./kernelImage.js";
import { nodeHost } from "./host/nodeHost.js";
import { MemoryChanges } from "./host/sourceFiles.js";
import { OverlayChanges, changesPathFor } from "../membrane/local/imageFiles.js";

export interface SessionOptions {
  image?: string;
  write?: (text: string) => void;
  warn?: (text: string) => void;
  log?: (line: string) => void;
  /** interpreter options (stress GC, interrupt interval...) for tests and diagnostics */
  vm?: InterpreterOptions;
}

/** The kernel file names an image records in its SourceFiles special object. */
export function sourceFilesOf(mem: ObjectMemory): string[] {
  const files = mem.specialObject(Special.sourceFiles);
  if ((files & 3) !== 0 || files === mem.nilOop) return kernelFileNames();
  const out: string[] = [];
  for (let i = 0; i < mem.slotCount(files); i++) out.push(mem.stringOf(mem.fetchPointer(files, i)));
  return out;
}

export async function openSession(options: SessionOptions = {}): Promise<LocalObjectSpace> {
  const bytes = options.image ? new Uint8Array(fs.readFileSync(options.image)) : await kernelImageBytes(options.log);
  // an image's own changes file holds the sources of its methods: read it, but never write it
  const changes = options.image ? new OverlayChanges(changesPathFor(options.image)) : new MemoryChanges();
  const host = nodeHost({ write: options.write, changes, kernelFiles: [] });
  const space = LocalObjectSpace.fromImage(bytes, host, { ...options.vm, onCompileWarning: options.warn });
  host.sources.kernelFiles.push(...sourceFilesOf(space.mem));
  return space;
}
