/**
 * ozd as a real child process (`node bin/ozd.js`, the built daemon) on loopback with ephemeral ports and
 * a temporary data directory: bad configuration refused with the field named, the embedded default
 * configuration, kill -9 then restart with no change lost, and SIGTERM with snapshots. Every child a
 * test starts is stopped by the test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir, waitFor } from "./helpers.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(root, "bin", "ozd.js");
const built = fs.existsSync(path.join(root, "dist", "src", "hypervisor", "cli.js"));

interface Child {
  proc: ChildProcess;
  out: string[];
  err: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  http?: string;
  token?: string;
}

const children: Child[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      c.proc.kill("SIGKILL");
      await c.exit;
    }
  }
});

function spawnOzd(args: string[]): Child {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: root, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  const child: Child = {
    proc,
    out: [],
    err: [],
    exit: new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal }))),
  };
  let partial = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
    partial += d;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    child.out.push(...lines);
  });
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => child.err.push(d));
  children.push(child);
  return child;
}

/** Starts ozd on a data directory and waits until it is ready. */
async function startOzd(dataDir: string, extra: string[] = []): Promise<Child> {
  const child = spawnOzd(["--data", dataDir, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", ...extra]);
  await Promise.race([
    waitFor(() => child.out.some((l) => l.startsWith("ozd: ready")), "ozd to be ready", 60_000),
    child.exit.then(({ code }) => {
      throw new Error(`ozd exited (${code}): ${child.err.join("")}${child.out.join("\n")}`);
    }),
  ]);
  child.http = /http (\S+);/.exec(child.out.find((l) => l.startsWith("ozd: ready"))!)![1];
  child.token = fs.readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
  return child;
}

async function call(c: Child, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`http://${c.http}${p}`, {
    method,
    headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

async function evaluate(c: Child, guest: string, source: string): Promise<string> {
  const r = await call(c, "POST", `/v1/guests/${guest}/evaluate`, { source });
  if (!r.ok) throw new Error(`${source}: ${JSON.stringify(r)}`);
  return r.printString;
}

function writeConfig(dir: string, config: unknown): string {
  const file = path.join(dir, "ozd.config.json");
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

describe.skipIf(!built)("ozd as a child process", () => {
  it("refuses a bad configuration with a message that names the field", async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { guests: [{ name: "ok" }, { name: "bad", cpu: { quotaMs: "lots", periodMs: 1000 } }] });
    const child = spawnOzd(["--config", config, "--data", dir]);
    const { code } = await child.exit;
    expect(code).toBe(2);
    expect(child.err.join("")).toContain("ozd: bad configuration: guests[1].cpu.quotaMs: must be a number (got \"lots\")");
    const usage = spawnOzd(["--frobnicate"]);
    expect((await usage.exit).code).toBe(2);
    expect(usage.err.join("")).toMatch(/unknown option --frobnicate/);
  });

  it("runs its embedded default configuration: three guests, one line each, the ports of design.md", async () => {
    const dir = tempDir();
    const child = await startOzd(dir);
    const out = () => child.out.join("\n");
    expect(out()).toContain(`created the admin token in ${path.join(dir, "admin.token")}`);
    for (const name of ["idle", "busy", "echo"]) expect(out()).toMatch(new RegExp(`ozd: guest ${name}: (running|paused) \\(`));
    await waitFor(() => /\[busy\] busy: computing/.test(out()) && /\[idle\] idle:/.test(out()) && /\[echo\] echo:/.test(out()), "a line from each guest");
    const health = (await (await fetch(`http://${child.http}/healthz`)).json()) as any;
    expect(health.status).toBe("ok");
    expect(health.guests.map((g: { name: string }) => g.name)).toEqual(["busy", "echo", "idle"]);
    // the busy guest runs under its 300 ms/s quota
    const busy = await call(child, "GET", "/v1/guests/busy");
    expect(busy.config.cpu).toEqual({ quotaMs: 300, periodMs: 1000 });
    child.proc.kill("SIGTERM");
    expect((await child.exit).code).toBe(0);
  });

  it("loses no change when killed with SIGKILL: the next start replays the changes file", async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { snapshotIntervalMs: 0, guests: [{ name: "g", autostart: true }] });
    const first = await startOzd(dir, ["--config", config]);
    expect(await evaluate(first, "g", "Object compile: 'survivor ^ 6 * 7' classified: 'kill-9'")).toBe("#survivor");
    expect(await evaluate(first, "g", "Object subclass: #Survivor instanceVariableNames: '' classVariableNames: '' package: 'Kill9'")).toBe("Survivor");
    expect(await evaluate(first, "g", "Survivor compile: 'kind ^ #survived' classified: 'kill-9'")).toBe("#kind");
    await call(first, "POST", "/v1/guests/other", {});
    first.proc.kill("SIGKILL");
    expect((await first.exit).signal).toBe("SIGKILL");

    const second = await startOzd(dir, ["--config", config]);
    expect(second.out.join("\n")).toMatch(/guest g: recovered 3 change\(s\)/);
    expect(second.out.join("\n")).toMatch(/ozd: guest g: running \(restored\)/);
    expect(await evaluate(second, "g", "nil survivor")).toBe("42");
    expect(await evaluate(second, "g", "Survivor new kind")).toBe("#survived");
    expect(await evaluate(second, "g", "(Object sourceCodeAt: #survivor) asString")).toBe("'survivor ^ 6 * 7'");
    expect((await call(second, "GET", "/v1/guests/other")).state).toBe("shutoff");
    second.proc.kill("SIGTERM");
    expect((await second.exit).code).toBe(0);
  });

  it("saves running guests on SIGTERM and brings them back as they were", async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { snapshotIntervalMs: 0, guests: [{ name: "g", autostart: true }, { name: "cold" }] });
    const first = await startOzd(dir, ["--config", config]);
    // state that lives only in the heap (no source change): only a snapshot keeps it
    await evaluate(first, "g", "Smalltalk at: #KeptAcrossRestarts put: 1234");
    first.proc.kill("SIGTERM");
    const { code } = await first.exit;
    expect(code).toBe(0);
    expect(first.out.join("\n")).toMatch(/ozd: shutting down/);
    expect(first.out.join("\n")).toMatch(/ozd: guest g: shutoff \(shutdown\)/);
    expect(first.out[first.out.length - 1]).toBe("ozd: stopped");
    expect(fs.existsSync(path.join(dir, "ozd.pid"))).toBe(false);

    const second = await startOzd(dir, ["--config", config]);
    expect(second.out.join("\n")).not.toMatch(/recovered/);
    expect((await call(second, "GET", "/v1/guests/g")).reason).toBe("restored");
    expect((await call(second, "GET", "/v1/guests/cold")).state).toBe("shutoff");
    expect(await evaluate(second, "g", "Smalltalk at: #KeptAcrossRestarts")).toBe("1234");
    second.proc.kill("SIGINT");
    expect((await second.exit).code).toBe(0);
  });
});
