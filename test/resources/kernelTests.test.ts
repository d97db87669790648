/**
 * The Smalltalk suites of the network and file kernel (test/kernel/SocketTest.st, FileTest.st), run in a
 * guest that has sockets and a file sandbox: a resource account with a socket quota of 32, a file quota
 * of 1 MiB and 8 open files. (The plain kernel suite, without adapters, lists none of their tests.)
 * Each test selector is one vitest test, run with runCase so that a failure reports its Smalltalk stack;
 * afterwards the account must hold nothing the tests did not release.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fileIn, formatFailure } from "../../src/tools/fileIn.js";
import { TestDaemon, eventually } from "./harness.js";

const kernelTests = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "kernel");
const SUITES: Array<[string, string]> = [
  ["SocketTest.st", "SocketTest"],
  ["FileTest.st", "FileTest"],
];

const daemon = new TestDaemon();
afterAll(() => daemon.close());

for (const [file, cls] of SUITES) {
  describe(file, async () => {
    const guest = await daemon.guest(cls, { maxSockets: 32, maxFileBytes: 1024 * 1024, maxOpenFiles: 8 });
    const outcome = await fileIn(guest.space, fs.readFileSync(path.join(kernelTests, file), "utf8"), { fileName: `test/kernel/${file}` });
    if (!outcome.ok) throw new Error(`filing in ${file} failed:\n${formatFailure(outcome)}`);
    const selectors = (await guest.value(`(${cls} testSelectors asSortedCollection: [:a :b | a <= b]) asArray`)) as Array<{ name: string }>;
    it("lists its tests", () => {
      expect(selectors.length).toBeGreaterThan(10);
    });
    for (const selector of selectors) {
      it(selector.name, async () => {
        const result = await guest.space.evaluate(`(${cls} selector: #${selector.name}) runCase`, { budget: { ms: 30_000 } });
        const report = result.ok ? "" : [`${result.errorClass}: ${result.messageText}`, ...result.stack.map((f) => `  ${f.description}${f.line !== undefined ? ` (line ${f.line})` : ""}`)].join("\n");
        expect(report).toBe("");
      });
    }
    it("leaves nothing open", async () => {
      await eventually(() => guest.account.socketsOpen === 0 && guest.account.filesOpen === 0, 5000, "the tests' sockets and files to be released");
    });
  });
}
