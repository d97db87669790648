/**
 * Scheduling, measured from the accounting (never from how fast the machine is): round-robin fairness of
 * busy guests, weights, cgroup-style quotas, idle guests that cost nothing and wake on their Delay,
 * host evaluations charged to their guest, and slices short enough to keep the daemon responsive.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Hypervisor } from "../../src/hypervisor/hypervisor.js";
import { evaluate, openHypervisor, sleep, waitFor } from "./helpers.js";

const BUSY = "| n | n := 0. [true] whileTrue: [n := n + 1]";

const open: Hypervisor[] = [];
async function hypervisor(): Promise<Hypervisor> {
  const hv = await openHypervisor();
  open.push(hv);
  return hv;
}

afterEach(async () => {
  for (const hv of open.splice(0)) await hv.close();
});

/** CPU charged to each guest during `ms` of wall time (from the accounting). */
async function measure(hv: Hypervisor, names: string[], ms: number): Promise<{ cpu: Record<string, number>; wall: number; throttled: Record<string, number> }> {
  const before = Object.fromEntries(names.map((n) => [n, hv.info(n).stats]));
  const t = performance.now();
  await sleep(ms);
  const wall = performance.now() - t;
  const cpu: Record<string, number> = {};
  const throttled: Record<string, number> = {};
  for (const n of names) {
    const s = hv.info(n).stats;
    cpu[n] = s.cpuMs - before[n].cpuMs;
    throttled[n] = s.throttledPeriods - before[n].throttledPeriods;
  }
  return { cpu, wall, throttled };
}

describe("scheduling", () => {
  it("gives 4 busy guests equal shares of the CPU, within a few percent", async () => {
    const hv = await hypervisor();
    const names = ["b1", "b2", "b3", "b4"];
    for (const n of names) {
      await hv.define(n, { config: { startup: BUSY } });
      await hv.start(n);
    }
    await sleep(200);
    const { cpu } = await measure(hv, names, 3000);
    const total = Object.values(cpu).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(500);
    for (const n of names) {
      const share = cpu[n] / total;
      expect(Math.abs(share - 0.25), `${n}: ${(share * 100).toFixed(1)}% of ${total.toFixed(0)} ms`).toBeLessThan(0.03);
    }
    expect(hv.daemonStats().guestSwitches).toBeGreaterThan(20);
  });

  it("shares the CPU in proportion to the weights", async () => {
    const hv = await hypervisor();
    await hv.define("heavy", { config: { startup: BUSY, weight: 300 } });
    await hv.define("light", { config: { startup: BUSY, weight: 100 } });
    await hv.start("heavy");
    await hv.start("light");
    await sleep(200);
    const { cpu } = await measure(hv, ["heavy", "light"], 2000);
    const ratio = cpu.heavy / cpu.light;
    expect(ratio, `heavy ${cpu.heavy.toFixed(0)} ms, light ${cpu.light.toFixed(0)} ms`).toBeGreaterThan(2.6);
    expect(ratio).toBeLessThan(3.4);
  });

  it("holds a guest to its cpu.max quota (300 ms per 1000 ms) even when it competes, and counts throttling", async () => {
    const hv = await hypervisor();
    await hv.define("capped", { config: { startup: BUSY, cpu: { quotaMs: 300, periodMs: 1000 } } });
    await hv.define("free", { config: { startup: BUSY } });
    await hv.start("capped");
    await hv.start("free");
    // align on a period boundary of the capped guest so that whole periods are measured
    const s = hv.guest("capped").sched;
    await waitFor(() => s.periodStart !== undefined, "the first period");
    const next = s.periodStart! + 1000 * Math.ceil((performance.now() - s.periodStart!) / 1000);
    await sleep(next - performance.now() + 1);
    const { cpu, wall, throttled } = await measure(hv, ["capped", "free"], 3000);
    const share = cpu.capped / wall;
    const given = cpu.capped + cpu.free;
    const report = `capped used ${cpu.capped.toFixed(0)} ms and free ${cpu.free.toFixed(0)} ms of ${wall.toFixed(0)} ms`;
    // never more than its quota
    expect(share, report).toBeLessThan(0.34);
    // and its whole quota, unless the machine did not even give the daemon 60% of the time (then its half)
    expect(cpu.capped, report).toBeGreaterThan(Math.min(0.26 * wall, 0.45 * given));
    if (share > 0.26) {
      expect(throttled.capped).toBeGreaterThanOrEqual(2);
      expect(hv.info("capped").stats.throttledMs).toBeGreaterThan(500);
      // the free guest takes the rest
      expect(cpu.free).toBeGreaterThan(cpu.capped);
    }
    expect(hv.info("free").stats.throttledPeriods).toBe(0);
    // during a throttle, the throttled time grows as it goes (not only when the throttle ends)
    await waitFor(() => s.throttled, "a throttle");
    const during = hv.info("capped").stats.throttledMs;
    await sleep(50);
    if (s.throttled) expect(hv.info("capped").stats.throttledMs).toBeGreaterThan(during + 30);
  });

  it("costs nothing for idle guests, and wakes a guest on time when its Delay fires", async () => {
    const hv = await hypervisor();
    await hv.define("idle", { config: { startup: "Transcript show: 'idle'; cr" } });
    await hv.define("ticker", {
      config: { startup: "[true] whileTrue: [(Delay forMilliseconds: 100) wait. Transcript show: 'tick'; cr]" },
    });
    await hv.define("busy", { config: { startup: BUSY } });
    for (const n of ["idle", "ticker", "busy"]) await hv.start(n);
    await waitFor(() => hv.transcript("idle").includes("idle") && hv.transcript("ticker").includes("tick"), "the guests to settle");
    const slicesBefore = hv.info("idle").stats.slices;
    const ticksBefore = hv.transcript("ticker").split("tick").length;
    const { cpu, wall } = await measure(hv, ["idle", "ticker", "busy"], 1500);
    const ticks = hv.transcript("ticker").split("tick").length - ticksBefore;
    expect(hv.info("idle").stats.slices - slicesBefore).toBe(0);
    expect(cpu.idle).toBe(0);
    // about 15 ticks in 1.5 s, each late by at most a heartbeat
    expect(ticks, `${ticks} ticks in ${wall.toFixed(0)} ms`).toBeGreaterThanOrEqual(Math.floor(wall / 130));
    expect(ticks).toBeLessThanOrEqual(Math.ceil(wall / 100) + 1);
    expect(cpu.ticker).toBeLessThan(cpu.busy / 10);
    expect(hv.info("idle").state).toBe("running");
  });

  it("parks a guest waiting on a Delay of days without spinning", async () => {
    const hv = await hypervisor();
    await hv.define("sleeper", { config: { startup: "Transcript show: 'asleep'; cr. (Delay forDays: 30) wait. Transcript show: 'awake'; cr" } });
    await hv.start("sleeper");
    await waitFor(() => hv.transcript("sleeper").includes("asleep"), "the guest to fall asleep");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = hv.info("sleeper").stats.slices;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(hv.info("sleeper").stats.slices - before).toBe(0);
    expect(hv.transcript("sleeper")).not.toContain("awake");
  });

  it("charges host evaluations to their guest and to its quota", async () => {
    const hv = await hypervisor();
    await hv.define("q");
    await hv.start("q");
    const work = "| x | x := 0. 1 to: 1000000 do: [:i | x := x + 1]. x";
    // calibrate: the CPU this work takes here, without a quota
    await evaluate(hv, "q", work);
    let before = hv.info("q").stats;
    await evaluate(hv, "q", work);
    const calibration = hv.info("q").stats.cpuMs - before.cpuMs;
    const quotaMs = Math.max(5, Math.round(calibration / 4));
    await hv.reconfigure("q", { cpu: { quotaMs, periodMs: 500 } });
    before = hv.info("q").stats;
    const t = performance.now();
    const r = await evaluate(hv, "q", work);
    const wall = performance.now() - t;
    const after = hv.info("q").stats;
    expect(r).toBe("1000000");
    const cpu = after.cpuMs - before.cpuMs;
    const quotas = Math.floor(cpu / quotaMs);
    expect(quotas, `the evaluation took ${cpu.toFixed(1)} ms of CPU, quota ${quotaMs} ms`).toBeGreaterThanOrEqual(2);
    // it ran about quotaMs in each period: it waited for the ends of the periods in between (one slice
    // may overrun its period's quota, by a collection or the machine's load: allow one period for it)
    const throttled = after.throttledPeriods - before.throttledPeriods;
    expect(throttled).toBeGreaterThanOrEqual(quotas - 2);
    expect(wall).toBeGreaterThan(500 * (throttled - 1));
  });

  it("returns to the event loop between every two slices while every guest is busy", async () => {
    const hv = await hypervisor();
    for (const n of ["s1", "s2", "s3"]) {
      await hv.define(n, { config: { startup: BUSY } });
      await hv.start(n);
    }
    await sleep(100);
    hv.daemonStats();
    // a chain of setImmediate callbacks runs once per event-loop iteration
    let iterations = 0;
    let running = true;
    const tick = () => {
      iterations++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const slicesBefore = ["s1", "s2", "s3"].reduce((n, g) => n + hv.info(g).stats.slices, 0);
    await sleep(500);
    running = false;
    const slices = ["s1", "s2", "s3"].reduce((n, g) => n + hv.info(g).stats.slices, 0) - slicesBefore;
    expect(slices).toBeGreaterThan(10);
    // the loop ran at least once per slice (each slice is followed by a setImmediate)
    expect(iterations, `${iterations} event-loop iterations for ${slices} slices`).toBeGreaterThanOrEqual(slices * 0.9);
    const stats = hv.daemonStats();
    expect(stats.slicesMs.length).toBeGreaterThan(10);
    expect(stats.heartbeatLatenessMs.length).toBeGreaterThan(0);
  });
});
