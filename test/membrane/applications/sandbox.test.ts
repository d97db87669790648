/**
 * Sandboxing (examples/sandbox.ts): a test suite with careless and runaway tests runs in a clone of an
 * image under a CPU budget; the clone gets dirty, the original image file and its changes file are
 * byte-identical afterwards.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, expect, it } from "vitest";
import { sandbox } from "../../../examples/sandbox.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-sandbox-test-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it("a test suite runs in a clone under a CPU budget and leaves the original image byte-identical", async () => {
  const report = await sandbox(dir, () => undefined, { perTestMs: 1000, suiteMs: 15_000 });
  expect(report.results).toEqual({
    testDeposit: "pass",
    testOverdraftIsRefused: "pass",
    testRunaway: "timeout",
    testSideEffects: "pass",
    testWithdraw: "pass",
    testWrongExpectation: "fail",
  });
  expect(report.cpuMs).toBeLessThan(15_000);
  expect(report.cpuMs).toBeGreaterThanOrEqual(1000);
  expect(report.cloneDirty).toMatchObject({ auditRemoved: true, junkDefined: true, leftover: "dirty" });
  expect(report.cloneDirty.loggedChanges).toBeGreaterThanOrEqual(2);
  expect(report.original.imageAfter).toBe(report.original.imageBefore);
  expect(report.original.changesAfter).toBe(report.original.changesBefore);
  expect(report.original.cleanWhenReopened).toBe(true);
}, 60_000);
