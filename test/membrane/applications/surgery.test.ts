/**
 * Image surgery (examples/surgery.ts): a guest that broke its own kernel (do: and its error reporting) is
 * repaired from the host through mirrors and resumed in the same process; the cured image is saved.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, expect, it } from "vitest";
import { surgery } from "../../../examples/surgery.js";
import { changesSinceLastSnapshot, parseChanges } from "../../../src/membrane/changes.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-surgery-test-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it("a broken kernel is repaired from the host and the failing request resumes", async () => {
  const lines: string[] = [];
  const report = await surgery(dir, (l) => lines.push(l));
  // before: the request never finishes (its error handling fails again and again)
  expect(report.before).toBe("budgetExhausted");
  expect(report.state).toBe("running");
  expect(report.depth).toBeGreaterThan(50);
  expect(report.bottomFrames.at(-1)).toMatch(/^UndefinedObject>>DoIt/);
  expect(report.bottomFrames.at(-2)).toMatch(/^Inventory>>total \(line 4\)/);
  expect(report.brokenSource).toMatch(/index \+ 1/);
  // after: the same process finished the request with the right answer
  expect(report.resumedResult).toBe(60);
  expect(report.afterSave).toEqual({ total: 60, printString: "#(1 $a 'b')" });
  // the image's own botched change and the host's fixes are all in the changes file, in order
  const entries = parseChanges(fs.readFileSync(path.join(dir, "patient.changes"), "utf8"));
  const methods = entries.filter((e) => e.kind === "method").map((e) => `${(e as { className: string }).className}>>${(e as { selector: string }).selector}`);
  expect(methods).toEqual([
    "Inventory>>items:", "Inventory>>total", "Inventory>>default",
    "SequenceableCollection>>do:", "Exception>>description", "Exception>>defaultAction",
    "SequenceableCollection>>do:", "Exception>>description",
  ]);
  expect(changesSinceLastSnapshot(entries)).toEqual([]);
  expect(lines.join("\n")).toMatch(/answers 60/);
}, 60_000);
