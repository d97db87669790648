/**
 * Where the kernel sources and the kernel image live, and building the image when it is missing
 * (`npm install` and the first `oz` command do that).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { bootstrapKernel, type KernelSource } from "../bootstrap/bootstrap.js";

/** The package root: the directory holding package.json, found from this file (src/ or dist/src/). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "kernel"))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error("cannot find the Oz package root (a directory with package.json and kernel/)");
}

export function kernelDirectory(): string {
  return process.env.OZ_KERNEL_DIR ?? path.join(packageRoot(), "kernel");
}

export function defaultImagePath(): string {
  return process.env.OZ_IMAGE ?? path.join(packageRoot(), "build", "kernel.image");
}

/** The kernel sources in load order (file names sorted). */
export function readKernelSources(dir = kernelDirectory()): KernelSource[] {
  const names = fs.readdirSync(dir).filter((n) => n.endsWith(".st")).sort();
  return names.map((name) => ({ name, text: fs.readFileSync(path.join(dir, name), "utf8") }));
}

export function kernelFileNames(dir = kernelDirectory()): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith(".st")).sort();
}

/** Builds the kernel image into `file` (written atomically); answers its size. */
export async function buildKernelImage(file: string, log: (line: string) => void = () => undefined): Promise<number> {
  const sources = readKernelSources();
  const { image } = await bootstrapKernel(sources, { log });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, image);
  fs.renameSync(tmp, file);
  return image.length;
}

/** The kernel image's bytes, building it first when it is missing or older than the kernel sources. */
export async function kernelImageBytes(log?: (line: string) => void): Promise<Uint8Array> {
  const file = defaultImagePath();
  if (!isUpToDate(file)) await buildKernelImage(file, log);
  return fs.readFileSync(file);
}

export function isUpToDate(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  if (process.env.OZ_IMAGE) return true;
  const built = fs.statSync(file).mtimeMs;
  const dir = kernelDirectory();
  return kernelFileNames(dir).every((n) => fs.statSync(path.join(dir, n)).mtimeMs <= built);
}
