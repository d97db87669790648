/**
 * Helpers of the metrics tests: an in-process ozd on loopback (ephemeral ports, a temporary data
 * directory) with the plugins ozd loads (resources, remote, metrics), guests that work in different ways,
 * a parser of the text exposition format, and the lookup of the Prometheus binaries (Debian's
 * `prometheus` package, which .ci/run installs).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { validateConfig } from "../../src/hypervisor/config.js";
import { Daemon } from "../../src/hypervisor/daemon.js";
import type { GuestConfig } from "../../src/hypervisor/types.js";
import { defaultPlugins } from "../../src/hypervisor/plugins.js";
import { kernelImageBytes } from "../../src/tools/kernelImage.js";

let kernel: Promise<Uint8Array> | undefined;

export function kernelImage(): Promise<Uint8Array> {
  kernel ??= kernelImageBytes();
  return kernel;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `test` answers something other than false/undefined (polling); fails with `what` after `timeoutMs`. */
export async function waitFor<T>(test: () => T | false | undefined | Promise<T | false | undefined>, what: string, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await test();
      if (v !== false && v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : ""}`);
    await sleep(everyMs);
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Guests that work in different ways. */
export const GUESTS = {
  /** counts in a loop under a 100 ms/200 ms quota: CPU, bytecodes, sends, throttling */
  busy: { name: "busy", autostart: true, cpu: { quotaMs: 100, periodMs: 200 }, startup: "| n | n := 0. [true] whileTrue: [n := n + 1]" },
  /** allocates in a loop under a quota: collections */
  alloc: {
    name: "alloc", autostart: true, cpu: { quotaMs: 50, periodMs: 200 }, memoryLimitBytes: 8 * 2 ** 20,
    startup: "| keep | keep := OrderedCollection new. [true] whileTrue: [keep add: (Array new: 200). keep size > 500 ifTrue: [keep := OrderedCollection new]]",
  },
  /** connects to its own listening socket every 50 ms and sends a few bytes: sockets and bytes */
  net: {
    name: "net", autostart: true, maxSockets: 16,
    startup: [
      "| listener |",
      "listener := Socket newTCP. listener listenOn: 0 backlogSize: 8.",
      "[true] whileTrue: [ | client server |",
      "  client := Socket newTCP.",
      "  client connectTo: '127.0.0.1' port: listener localPort.",
      "  client waitForConnectionFor: 5.",
      "  server := listener waitForAcceptFor: 5.",
      "  client sendData: 'ping ping'.",
      "  server receiveData.",
      "  client destroy. server destroy.",
      "  (Delay forMilliseconds: 50) wait]",
    ].join("\n"),
  },
  /** does nothing: it costs nothing */
  idle: { name: "idle", autostart: true },
} satisfies Record<string, GuestConfig>;

/** ozd in-process with the plugins ozd loads (plugins.ts: resources, remote, metrics), on ephemeral loopback ports. */
export async function startDaemon(guests: GuestConfig[], extra: Record<string, unknown> = {}): Promise<{ daemon: Daemon; dir: string; url: string; close(): Promise<void> }> {
  const dir = tempDir("ozd-metrics-");
  const problems: string[] = [];
  const plugins = await defaultPlugins((line) => problems.push(line));
  if (problems.length > 0) throw new Error(problems.join("\n"));
  const daemon = await Daemon.start({
    config: validateConfig({ dataDir: dir, http: "127.0.0.1:0", grpc: "127.0.0.1:0", snapshotIntervalMs: 0, guests, ...extra }),
    plugins,
    log: () => undefined,
    hypervisor: { kernelImage },
  });
  return {
    daemon,
    dir,
    url: `http://${daemon.httpAddress}/metrics`,
    async close() {
      await daemon.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function fetchText(url: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

export interface Exposition {
  /** `name{a="x",b="y"}` (labels sorted) -> value */
  samples: Map<string, number>;
  /** metric family name -> type */
  types: Map<string, string>;
  /** metric family name -> help */
  help: Map<string, string>;
  /** one sample's value: `value("oz_guest_state", {guest: "a", state: "running"})` */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** the label sets of a sample name */
  series(name: string): Array<Record<string, string>>;
}

export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? name : `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",")}}`;
}

/** Parses the text exposition format (what prom-client writes: no timestamps, no escapes in our labels). */
export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const labelSets = new Map<string, Array<Record<string, string>>>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      (m[1] === "HELP" ? help : types).set(m[2], m[3]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    samples.set(seriesKey(m[1], labels), value);
    if (!labelSets.has(m[1])) labelSets.set(m[1], []);
    labelSets.get(m[1])!.push(labels);
  }
  return {
    samples,
    types,
    help,
    value: (name, labels = {}) => samples.get(seriesKey(name, labels)),
    series: (name) => labelSets.get(name) ?? [],
  };
}

/** A binary of Debian's prometheus package: $OZ_PROMETHEUS / $OZ_PROMTOOL, the PATH, or /usr/bin. */
export function findBinary(name: "prometheus" | "promtool"): string | undefined {
  const override = process.env[name === "prometheus" ? "OZ_PROMETHEUS" : "OZ_PROMTOOL"];
  if (override) return fs.existsSync(override) ? override : undefined;
  for (const dir of [...(process.env.PATH ?? "").split(path.delimiter), "/usr/bin", "/usr/local/bin", "/usr/sbin"]) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (spawnSync(file, ["--version"], { timeout: 10_000 }).status === 0) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Whether a test that needs `name` runs: it is skipped, saying why, only when the binary cannot be found
 * and OZ_REQUIRE_PROMETHEUS is not set (.ci/run sets it: in CI the test fails instead).
 */
export function requireBinary(name: "prometheus" | "promtool"): string | undefined {
  const bin = findBinary(name);
  if (bin) return bin;
  const message = `${name} not found (install Debian's prometheus package: apt-get install prometheus, as .ci/run does; or set OZ_${name.toUpperCase()})`;
  if (process.env.OZ_REQUIRE_PROMETHEUS) throw new Error(`${message}; OZ_REQUIRE_PROMETHEUS is set`);
  console.warn(`skipping: ${message}`);
  return undefined;
}
