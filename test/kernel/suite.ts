/**
 * The kernel's conformance suite, written in Smalltalk: every test/kernel/*.st file defines SUnit test
 * cases; each file is filed into a fresh session on the kernel image and each test selector becomes one
 * vitest test, run with `runCase` so that a failure reports the error and its Smalltalk stack.
 *
 * The suite runs once per way the interpreter can execute (kernel.test.ts, stepping.test.ts...), so that
 * its fast paths and its plain one-bytecode-at-a-time path are held to the same answers.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openSession } from "../../src/tools/session.js";
import { fileIn, formatFailure } from "../../src/tools/fileIn.js";
import { parseClassDefinition, readChunks } from "../../src/vm/compiler/index.js";
import type { LocalObjectSpace } from "../../src/membrane/local/space.js";
import type { InterpreterOptions } from "../../src/vm/interpreter/interpreter.js";

const dir = path.dirname(new URL(import.meta.url).pathname);
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".st")).sort();

function testCaseClasses(text: string): string[] {
  const names: string[] = [];
  for (const item of readChunks(text)) {
    if (item.kind !== "doit") continue;
    const def = parseClassDefinition(item.source);
    if (def?.kind === "subclass") names.push(def.className);
  }
  return names;
}

/** How a run of the suite sets up the interpreter of each session. */
export interface SuiteMode {
  /** a name for the vitest report */
  name: string;
  vm?: InterpreterOptions;
  /** called on each session before the file is filed in */
  prepare?: (space: LocalObjectSpace) => void;
}

async function sessionFor(file: string, text: string, mode: SuiteMode): Promise<LocalObjectSpace> {
  const output: string[] = [];
  const space = await openSession({ write: (t) => void output.push(t), vm: mode.vm });
  mode.prepare?.(space);
  const outcome = await fileIn(space, text, { fileName: path.join("test/kernel", file) });
  if (!outcome.ok) throw new Error(`filing in ${file} failed:\n${formatFailure(outcome)}`);
  return space;
}

export function defineKernelSuite(mode: SuiteMode): void {
  describe(mode.name, () => {
    for (const file of files) {
      const text = fs.readFileSync(path.join(dir, file), "utf8");
      const classes = testCaseClasses(text);
      describe(file, async () => {
        const space = await sessionFor(file, text, mode);
        for (const cls of classes) {
          const listing = await space.evaluate(`(${cls} isAbstract not and: [${cls} inheritsFrom: TestCase]) ifTrue: [(${cls} testSelectors asSortedCollection: [:a :b | a <= b]) asArray] ifFalse: [#()]`);
          if (!listing.ok) throw new Error(`listing the tests of ${cls} failed: ${listing.errorClass}: ${listing.messageText}`);
          const selectors = (await listing.value.toLocal()) as Array<{ name: string }>;
          if (selectors.length === 0) continue; // a helper class of the suite, or an abstract test case
          describe(cls, () => {
            for (const selector of selectors) {
              it(selector.name, async () => {
                const result = await space.evaluate(`(${cls} selector: #${selector.name}) runCase`, { budget: { ms: 60_000 } });
                const report = result.ok ? "" : [`${result.errorClass}: ${result.messageText}`, ...result.stack.map((f) => `  ${f.description}${f.line !== undefined ? ` (line ${f.line})` : ""}`)].join("\n");
                expect(report).toBe("");
              });
            }
          });
        }
      });
    }
  });
}
