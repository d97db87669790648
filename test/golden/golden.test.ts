/**
 * Golden programs: each test/golden/NAME.st runs through `oz run` (in-process) and its stdout must equal
 * NAME.out. A program that fails on purpose has NAME.err, the expected stderr, and must exit with 1.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/tools/cli/oz.js";

const dir = path.dirname(new URL(import.meta.url).pathname);
const programs = fs.readdirSync(dir).filter((f) => f.endsWith(".st")).sort();

async function run(file: string): Promise<{ out: string; err: string; code: number }> {
  let out = "";
  let err = "";
  const code = await main(["run", file], { out: (t) => void (out += t), err: (t) => void (err += t), env: process.env });
  return { out, err, code };
}

describe("golden programs", () => {
  for (const program of programs) {
    const base = program.slice(0, -3);
    it(base, async () => {
      const file = path.join(dir, program);
      const expectedOut = fs.readFileSync(path.join(dir, `${base}.out`), "utf8");
      const errFile = path.join(dir, `${base}.err`);
      const expectedErr = fs.existsSync(errFile) ? fs.readFileSync(errFile, "utf8") : undefined;
      const result = await run(path.relative(process.cwd(), file));
      expect(result.out).toBe(expectedOut);
      if (expectedErr !== undefined) {
        expect(result.err).toBe(expectedErr);
        expect(result.code).toBe(1);
      } else {
        expect(result.err).toBe("");
        expect(result.code).toBe(0);
      }
    });
  }
});
