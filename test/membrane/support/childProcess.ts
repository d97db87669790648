/**
 * Running TypeScript files of the project as separate Node processes, for tests that need a process they
 * can kill (kill -9): the file is bundled with rolldown (vite's bundler) into `.tmp/` at the package root,
 * once per test run; without rolldown, Node runs the sources through the TypeScript hooks of
 * ts-hooks.mjs (slower to start).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");

export interface ChildCommand {
  command: string;
  args: string[];
}

const built = new Map<string, Promise<ChildCommand>>();
const bundles: string[] = [];

async function bundle(entry: string): Promise<ChildCommand> {
  const out = path.join(root, ".tmp", `${path.basename(entry, ".ts")}.${process.pid}.mjs`);
  try {
    const { rolldown } = (await import("rolldown")) as typeof import("rolldown");
    const b = await rolldown({ input: entry, platform: "node", logLevel: "silent", external: [/^node:/, /^typescript$/] });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await b.write({ file: out, format: "esm", codeSplitting: false } as never);
    await b.close();
    bundles.push(out);
    return { command: process.execPath, args: [out] };
  } catch {
    return { command: process.execPath, args: ["--import", path.join(here, "register.mjs"), entry] };
  }
}

/** The command that runs `entry` (a .ts file of the project) in a new Node process. */
export function childCommand(entry: string): Promise<ChildCommand> {
  let p = built.get(entry);
  if (!p) {
    p = bundle(entry);
    built.set(entry, p);
  }
  return p;
}

/** Removes the bundles made by this test process. */
export function removeChildBundles(): void {
  for (const file of bundles.splice(0)) fs.rmSync(file, { force: true });
  built.clear();
}
