/**
 * The VM host for Node tools: the system clock, Transcript output to a stream, method sources from the
 * kernel directory and a changes log, snapshots to a file.
 */
import * as fs from "node:fs";
import { systemClock, type VMHost } from "../../vm/host.js";
import { FileSourceStore, type ChangesLog } from "./sourceFiles.js";
import { kernelDirectory } from "../kernelImage.js";

export interface NodeHostOptions {
  /** where Transcript output goes (default: process.stdout) */
  write?: (text: string) => void;
  changes: ChangesLog;
  /** the kernel source files the image's SourceFiles names */
  kernelFiles: string[];
  /** file to write when the image snapshots itself */
  snapshotFile?: string;
}

export function nodeHost(options: NodeHostOptions): VMHost & { sources: FileSourceStore } {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const sources = new FileSourceStore(kernelDirectory(), options.kernelFiles, options.changes);
  return {
    clock: systemClock(),
    console: { write },
    sources,
    snapshots: options.snapshotFile
      ? {
          save(image: Uint8Array): string | undefined {
            try {
              const tmp = `${options.snapshotFile}.tmp`;
              fs.writeFileSync(tmp, image);
              fs.renameSync(tmp, options.snapshotFile!);
              options.changes.markSnapshot();
              return undefined;
            } catch (e) {
              return e instanceof Error ? e.message : String(e);
            }
          },
        }
      : undefined,
  };
}
