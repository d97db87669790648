/**
 * Node module hooks that run the project's TypeScript sources directly (for child processes spawned by
 * tests): `.js` specifiers resolve to the `.ts` file beside them, and `.ts` files are transpiled with the
 * TypeScript compiler (types erased, nothing checked). Use: node --import ./register.mjs child.ts
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export async function resolve(specifier, context, nextResolve) {
  if (context.parentURL?.endsWith(".ts") && specifier.endsWith(".js") && (specifier.startsWith(".") || specifier.startsWith("/"))) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const source = await readFile(file, "utf8");
  const { outputText } = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true },
  });
  return { format: "module", source: outputText, shortCircuit: true };
}
