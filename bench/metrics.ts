/**
 * The cost of a metrics scrape (issue 8, docs/metrics.md) with many guests: reading the figures
 * (`OzMetrics.update()`: the hypervisor's scrape, the per-guest series, the histograms) and rendering the
 * text format, when the guests' process counts are cached (a scrape less than a second after the previous
 * one), when they are not (a scrape at Prometheus's usual 15 s interval walks each heap that changed), and
 * when the guests stood still (nothing to walk), with the size of the exposition. The daemon's thread does this work between two slices.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Hypervisor } from "../src/hypervisor/hypervisor.js";
import { OzMetrics } from "../src/metrics/exporter.js";
import { kernelImageBytes } from "../src/tools/kernelImage.js";
import type { Measurement } from "./harness.js";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wall time of `fn`, best of `runs` (the scrape runs on the daemon's thread: wall time is what it blocks). */
async function best(runs: number, before: () => Promise<void>, fn: () => unknown): Promise<number> {
  let ms = Infinity;
  for (let i = 0; i < runs; i++) {
    await before();
    const t = performance.now();
    await fn();
    ms = Math.min(ms, performance.now() - t);
  }
  return ms;
}

async function scrapeCost(guests: number): Promise<Measurement[]> {
  const image = await kernelImageBytes();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ozd-bench-metrics-"));
  const hv = await Hypervisor.open({ dataDir, kernelImage: async () => image });
  const metrics = new OzMetrics({ source: hv });
  try {
    for (let i = 0; i < guests; i++) {
      const name = `g${i}`;
      // idle guests that allocated a little (a heap like a small service's)
      await hv.define(name, { config: { startup: "| keep | keep := (1 to: 2000) collect: [:i | Array new: 10]. (Delay forSeconds: 3600) wait" } });
      await hv.start(name);
    }
    await sleep(500);
    await metrics.metrics();
    // The process counts are cached for a second, and for longer while a heap does not change: "cold"
    // scrapes come more than a second after the previous one, to heaps that each allocated a string.
    const touchAll = async () => {
      for (let i = 0; i < guests; i++) await hv.space(`g${i}`).fromLocalString("touched");
    };
    const cold = async () => {
      await sleep(1100);
      await touchAll();
    };
    const idle = () => sleep(1100);
    const warm = () => Promise.resolve();
    const updateCold = await best(3, cold, () => metrics.update());
    const updateIdle = await best(3, idle, () => metrics.update());
    const updateWarm = await best(5, warm, () => metrics.update());
    const renderWarm = await best(5, warm, () => metrics.metrics());
    const text = await metrics.metrics();
    const series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
    const heap = hv.list().reduce((n, g) => n + g.stats.heapBytes, 0) / guests;
    const note = `${guests} guests, ${(heap / 2 ** 20).toFixed(1)} MiB heap each`;
    return [
      { name: `scrape, reading the figures, process counts not cached (${guests} guests)`, value: updateCold, unit: "ms", note: `${note}: walks every heap` },
      { name: `scrape, reading the figures, idle guests after a second (${guests} guests)`, value: updateIdle, unit: "ms", note: `${note}: unchanged heaps are not walked` },
      { name: `scrape, reading the figures, process counts cached (${guests} guests)`, value: updateWarm, unit: "ms", note },
      { name: `scrape, reading and rendering, cached (${guests} guests)`, value: renderWarm, unit: "ms", note: `${(text.length / 1024).toFixed(0)} KiB, ${series} samples` },
    ];
  } finally {
    metrics.close();
    await hv.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function metricsBenchmarks(): Promise<Measurement[]> {
  const out: Measurement[] = [];
  for (const n of [10, 100]) out.push(...(await scrapeCost(n)));
  return out;
}
