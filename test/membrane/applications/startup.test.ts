/**
 * Startup recovery (examples/startup.ts): an image whose start-up code fails every time is opened as an
 * object space (so it does not start), fixed through mirrors, saved, and started.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, expect, it } from "vitest";
import { startupRecovery } from "../../../examples/startup.js";
import { changesSinceLastSnapshot, parseChanges } from "../../../src/membrane/changes.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-startup-test-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it("an image whose start-up fails every time is opened without running, fixed and started", async () => {
  const report = await startupRecovery(dir);
  expect(report.attempts.map((a) => a.ok)).toEqual([false, false]);
  for (const a of report.attempts) {
    expect(a.error).toMatch(/AppSettings|not found|KeyNotFound/);
    expect(a.frames).toContain("AppConfig class>>startUp");
  }
  expect(report.startUpList).toContain("AppConfig");
  expect(report.startUpList.at(-1)).toBe("AppConfig");
  expect(report.failingMethod).toBe("AppConfig class>>startUp");
  expect(report.failingSource).toMatch(/Smalltalk at: #AppSettings\) copy/);
  expect(report.afterFix).toEqual({ ok: true });
  expect(report.settingsAfterFix).toBe("safe");
  // the fix is in the changes file, before the snapshot marker of the save
  const entries = parseChanges(fs.readFileSync(path.join(dir, "app.changes"), "utf8"));
  expect(entries.some((e) => e.kind === "method" && e.className === "AppConfig" && e.classSide && e.source.includes("ifAbsent:"))).toBe(true);
  expect(changesSinceLastSnapshot(entries)).toEqual([]);
}, 60_000);
