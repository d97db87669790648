/**
 * The hypervisor benchmarks of issue 5: fairness across 4 busy guests, quota accuracy, the time to serve
 * a request while every guest is busy, the cost of switching between guests, guests per GiB of memory,
 * and the time to clone and snapshot a running guest. Figures come from the hypervisor's accounting.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Hypervisor } from "../src/hypervisor/hypervisor.js";
import { Daemon } from "../src/hypervisor/daemon.js";
import { validateConfig } from "../src/hypervisor/config.js";
import { kernelImageBytes } from "../src/tools/kernelImage.js";
import { percentile, type Measurement } from "./harness.js";

const BUSY = "| n | n := 0. [true] whileTrue: [n := n + 1]";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ozd-bench-"));
}

async function withHypervisor<T>(options: { heartbeatMs?: number; sliceMs?: number }, fn: (hv: Hypervisor) => Promise<T>): Promise<T> {
  const image = await kernelImageBytes();
  const dataDir = tempDir();
  const hv = await Hypervisor.open({ dataDir, kernelImage: async () => image, ...options });
  try {
    return await fn(hv);
  } finally {
    await hv.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function busyGuests(hv: Hypervisor, names: string[], config: Record<string, unknown> = {}): Promise<void> {
  for (const n of names) {
    await hv.define(n, { config: { startup: BUSY, ...config } });
    await hv.start(n);
  }
}

function cpuOf(hv: Hypervisor, names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, hv.info(n).stats.cpuMs]));
}

async function fairness(): Promise<Measurement[]> {
  return withHypervisor({}, async (hv) => {
    const names = ["b1", "b2", "b3", "b4"];
    await busyGuests(hv, names);
    await sleep(300);
    const before = cpuOf(hv, names);
    const t = performance.now();
    await sleep(5000);
    const wall = performance.now() - t;
    const after = cpuOf(hv, names);
    const used = names.map((n) => after[n] - before[n]);
    const total = used.reduce((a, b) => a + b, 0);
    const shares = used.map((u) => (100 * u) / total);
    const worst = Math.max(...shares.map((s) => Math.abs(s - 25)));
    return [
      { name: "fairness, 4 busy guests over 5 s: largest deviation from 25%", value: worst, unit: "points", note: `shares ${shares.map((s) => s.toFixed(2)).join(" / ")} %` },
      { name: "time charged to the 4 busy guests", value: (100 * total) / wall, unit: "% of wall time", note: "the rest: scheduler, event loop, timers" },
    ];
  });
}

async function quotaAccuracy(): Promise<Measurement[]> {
  return withHypervisor({}, async (hv) => {
    await busyGuests(hv, ["capped"], { cpu: { quotaMs: 300, periodMs: 1000 } });
    await busyGuests(hv, ["free"]);
    const s = hv.guest("capped").sched;
    while (s.periodStart === undefined) await sleep(5);
    // measure whole periods
    const next = s.periodStart + 1000 * Math.ceil((performance.now() - s.periodStart) / 1000);
    await sleep(next - performance.now() + 1);
    const before = hv.info("capped").stats;
    const t = performance.now();
    await sleep(5000);
    const wall = performance.now() - t;
    const after = hv.info("capped").stats;
    const share = (100 * (after.cpuMs - before.cpuMs)) / wall;
    return [
      { name: "quota 300 ms / 1000 ms with a competing busy guest: CPU share", value: share, unit: "%", note: `target 30%; ${after.throttledPeriods - before.throttledPeriods} throttled periods in 5 s` },
    ];
  });
}

/** Sequential GET requests from another process (a real client, not sharing the daemon's event loop). */
function clientLatencies(url: string, n: number): Promise<number[]> {
  const script = `
    const http = require("node:http");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () => new Promise((resolve, reject) => {
      const t = performance.now();
      http.get(${JSON.stringify(url)}, { agent }, (res) => { res.resume(); res.on("end", () => resolve(performance.now() - t)); }).on("error", reject);
    });
    (async () => { const out = []; for (let i = 0; i < ${n}; i++) out.push(await get()); console.log(JSON.stringify(out)); agent.destroy(); })();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`the client exited with ${code}`))));
  });
}

async function requestLatency(): Promise<Measurement[]> {
  const image = await kernelImageBytes();
  const dataDir = tempDir();
  const config = validateConfig({
    dataDir, http: "127.0.0.1:0", grpc: null, snapshotIntervalMs: 0,
    guests: ["b1", "b2", "b3", "b4"].map((name) => ({ name, autostart: true, startup: BUSY })),
  });
  const daemon = await Daemon.start({ config, log: () => undefined, hypervisor: { kernelImage: async () => image } });
  try {
    await sleep(300);
    const url = `http://${daemon.httpAddress}/healthz`;
    const busy = await clientLatencies(url, 500);
    for (const n of ["b1", "b2", "b3", "b4"]) await daemon.hypervisor.suspend(n);
    await sleep(50);
    const idle = await clientLatencies(url, 500);
    return [
      { name: "HTTP GET /healthz from another process while 4 guests are busy, median", value: percentile(busy, 50), unit: "ms", reference: percentile(idle, 50), note: "reference: the same with every guest paused" },
      { name: "HTTP GET /healthz from another process while 4 guests are busy, p99", value: percentile(busy, 99), unit: "ms", reference: percentile(idle, 99) },
    ];
  } finally {
    await daemon.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function switchCost(): Promise<Measurement[]> {
  // one slice per turn (heartbeat = slice = 1 ms): every turn switches guests
  return withHypervisor({ heartbeatMs: 1, sliceMs: 1 }, async (hv) => {
    const names = ["s1", "s2"];
    await busyGuests(hv, names);
    await sleep(300);
    hv.scheduler.switchGapsMs = [];
    const switches0 = hv.scheduler.guestSwitches;
    await sleep(3000);
    const gaps = hv.scheduler.switchGapsMs;
    const switches = hv.scheduler.guestSwitches - switches0;
    return [
      { name: "switch between two busy guests: from one guest's last slice to the next one's first, median", value: percentile(gaps, 50) * 1000, unit: "µs", note: `${switches} switches in 3 s (1 ms turns); includes a return to the event loop` },
      { name: "switch between two busy guests, p90", value: percentile(gaps, 90) * 1000, unit: "µs" },
    ];
  });
}

async function density(): Promise<Measurement[]> {
  return withHypervisor({}, async (hv) => {
    const n = 20;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage();
    for (let i = 0; i < n; i++) {
      await hv.define(`d${i}`);
      await hv.start(`d${i}`);
    }
    await sleep(200);
    gc?.();
    const after = process.memoryUsage();
    const perGuest = (after.rss - before.rss) / n;
    const heap = hv.info("d0").stats.heapBytes;
    const t = performance.now();
    const switches = hv.scheduler.turns;
    await sleep(1000);
    const idleTurns = hv.scheduler.turns - switches;
    void t;
    return [
      { name: `memory per idle kernel guest (${n} guests, process RSS)`, value: perGuest / 2 ** 20, unit: "MiB", note: `its heap: ${(heap / 2 ** 20).toFixed(2)} MiB of objects` },
      { name: "idle kernel guests per GiB", value: 2 ** 30 / perGuest, unit: "guests" },
      { name: `turns per second with ${n} idle guests`, value: idleTurns, unit: "turns/s", note: "idle guests are parked: they cost nothing" },
    ];
  });
}

async function cloneAndSnapshot(): Promise<Measurement[]> {
  return withHypervisor({}, async (hv) => {
    await busyGuests(hv, ["src"]);
    await sleep(100);
    const snap: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await hv.snapshot("src");
      snap.push(performance.now() - t);
    }
    const clone: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await hv.clone("src", `c${i}`, { start: true });
      clone.push(performance.now() - t);
    }
    return [
      { name: "snapshot of a running kernel guest (write + fsync)", value: percentile(snap, 50), unit: "ms", note: `${(hv.info("src").stats.heapBytes / 2 ** 20).toFixed(2)} MiB heap` },
      { name: "clone of a running kernel guest, started", value: percentile(clone, 50), unit: "ms" },
    ];
  });
}

export async function hypervisorBenchmarks(): Promise<Measurement[]> {
  return [
    ...(await fairness()),
    ...(await quotaAccuracy()),
    ...(await requestLatency()),
    ...(await switchCost()),
    ...(await density()),
    ...(await cloneAndSnapshot()),
  ];
}
