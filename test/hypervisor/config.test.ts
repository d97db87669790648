/** ozd's configuration: defaults, the embedded demo configuration, and errors that name their field. */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, loadConfig, parseConfigText, validateConfig } from "../../src/hypervisor/config.js";
import { tempDir } from "./helpers.js";

function refused(doc: unknown): string {
  try {
    validateConfig(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("the configuration was accepted");
}

describe("configuration", () => {
  it("fills in the defaults of design.md section 7", () => {
    const c = validateConfig({});
    expect(c).toMatchObject({ dataDir: "./oz-data", grpc: "127.0.0.1:50051", http: "127.0.0.1:9464", heartbeatMs: 20, sliceMs: 2 });
    expect(c.guests).toEqual([]);
  });

  it("embeds a default configuration with three demo guests", () => {
    const c = validateConfig(DEFAULT_CONFIG);
    expect(c.guests.map((g) => g.name)).toEqual(["idle", "busy", "echo"]);
    expect(c.guests.every((g) => g.autostart)).toBe(true);
    expect(c.guests[1].cpu).toEqual({ quotaMs: 300, periodMs: 1000 });
    expect(c.logTranscripts).toBe(true);
  });

  it("refuses bad configurations with a message naming the field", () => {
    expect(refused({ htpp: "x" })).toMatch(/^htpp: unknown field/);
    expect(refused({ guests: {} })).toMatch(/^guests: must be an array/);
    expect(refused({ guests: [{}] })).toMatch(/^guests\[0\]\.name: is missing/);
    expect(refused({ guests: [{ name: "a b" }] })).toMatch(/^guests\[0\]\.name: "a b" is not a valid guest name/);
    expect(refused({ guests: [{ name: "a" }, { name: "a" }] })).toMatch(/^guests\[1\]\.name: duplicate guest name "a"/);
    expect(refused({ guests: [{ name: "a" }, { name: "b", cpu: { quotaMs: -5, periodMs: 1000 } }] })).toMatch(/^guests\[1\]\.cpu\.quotaMs: must be greater than 0 \(got -5\)/);
    expect(refused({ guests: [{ name: "a", cpu: { quotaMs: 5 } }] })).toMatch(/^guests\[0\]\.cpu\.periodMs: is missing/);
    expect(refused({ guests: [{ name: "a", cpu: { quotaMs: 1500, periodMs: 1000 } }] })).toMatch(/^guests\[0\]\.cpu\.quotaMs: must not exceed cpu\.periodMs/);
    expect(refused({ guests: [{ name: "a", cpu: { quotaMs: 5, periodMs: 10, burst: 1 } }] })).toMatch(/^guests\[0\]\.cpu\.burst: unknown field/);
    expect(refused({ guests: [{ name: "a", weight: "high" }] })).toMatch(/^guests\[0\]\.weight: must be a number \(got "high"\)/);
    expect(refused({ guests: [{ name: "a", memoryLimitBytes: 1000 }] })).toMatch(/^guests\[0\]\.memoryLimitBytes: must be at least 1048576/);
    expect(refused({ guests: [{ name: "a", autostart: "yes" }] })).toMatch(/^guests\[0\]\.autostart: must be true or false/);
    expect(refused({ guests: [{ name: "a", startup: "3 + " }] })).toMatch(/^guests\[0\]\.startup: does not parse/);
    expect(refused({ grpc: "localhost" })).toMatch(/^grpc: must be HOST:PORT/);
    expect(refused({ http: "127.0.0.1:99999" })).toMatch(/^http: port 99999 is out of range/);
    expect(refused({ heartbeatMs: 0 })).toMatch(/^heartbeatMs: must be at least 1/);
    expect(refused({ heartbeatMs: 5, sliceMs: 10 })).toMatch(/^sliceMs: must not exceed heartbeatMs/);
    expect(refused({ snapshotIntervalMs: 5 })).toMatch(/^snapshotIntervalMs: must be 0 \(never\) or at least 100/);
    expect(refused([])).toMatch(/must be a JSON object/);
  });

  it("reports JSON syntax errors with their line and column", () => {
    expect(() => parseConfigText('{\n  "guests": [,]\n}', "ozd.json")).toThrow(/^ozd\.json:2:\d+: not valid JSON/);
  });

  it("reads a file and applies the flags on top", () => {
    const dir = tempDir();
    const file = path.join(dir, "ozd.json");
    fs.writeFileSync(file, JSON.stringify({ dataDir: "/somewhere", grpc: null, guests: [{ name: "g", autostart: true }] }));
    const c = loadConfig({ config: file, data: dir, http: "127.0.0.1:0" });
    expect(c.dataDir).toBe(dir);
    expect(c.grpc).toBeNull();
    expect(c.http).toBe("127.0.0.1:0");
    expect(c.guests[0].name).toBe("g");
    expect(loadConfig({ grpc: "off" }).grpc).toBeNull();
    expect(() => loadConfig({ http: "nowhere" })).toThrow(/^--http: must be HOST:PORT/);
    expect(() => loadConfig({ config: path.join(dir, "missing.json") })).toThrow(/cannot read .*missing\.json: ENOENT/);
  });
});
