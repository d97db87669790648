/**
 * A client attached to a guest while it runs: the guest's own process keeps counting between the
 * client's calls; reads, descriptions, evaluations and process inspection work meanwhile; the control
 * plane pauses and resumes it under the client's eyes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ObjectSpace } from "../../src/membrane/objectSpace.js";
import { startFixture, type Fixture } from "./helpers.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture({ guests: ["busy"] });
  const space = fx.hv.space("busy");
  await space.setGlobal("BusyCounter", 0);
  const loop = await space.createProcess(30, "[true] whileTrue: [BusyCounter := BusyCounter + 1]");
  await loop.resume();
  await fx.hv.start("busy");
});
afterAll(async () => {
  await fx?.close();
});

async function counter(space: ObjectSpace): Promise<number> {
  return Number(await (await space.globalNamed("BusyCounter"))!.toLocal());
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a client attached to a running guest", () => {
  for (const t of ["grpc", "ws"] as const) {
    it(`${t}: sees the guest make progress, and inspects and evaluates while it runs`, async () => {
      const oz = await fx.connect(t);
      const space = oz.space("busy");
      expect((await oz.hypervisor.info("busy")).state).toBe("running");
      const first = await counter(space);
      await pause(100);
      const second = await counter(space);
      expect(second).toBeGreaterThan(first);

      const latencies: number[] = [];
      for (let i = 0; i < 30; i++) {
        const start = performance.now();
        const r = await space.evaluate("3 + 4");
        latencies.push(performance.now() - start);
        expect(r.ok && r.printString).toBe("7");
      }
      const point = await space.evaluate("3 @ 4");
      expect(point.ok && (await point.value.describe()).className).toBe("Point");
      expect(await counter(space)).toBeGreaterThan(second);

      const processes = await space.processes();
      const priorities = await Promise.all(processes.map((p) => p.priority()));
      const busy = processes[priorities.indexOf(30)];
      expect(["running", "runnable"]).toContain(await busy.state());
      const top = await busy.suspendedContext();
      expect(await top!.description()).toMatch(/DoIt/);
      expect((await busy.stack()).length).toBeGreaterThan(0);

      await oz.hypervisor.suspend("busy");
      const frozen = await counter(space);
      await pause(60);
      expect(await counter(space)).toBe(frozen);
      // a paused guest can still be looked at
      expect((await (await space.classNamed("Object"))!.selectors()).length).toBeGreaterThan(0);
      await oz.hypervisor.resume("busy");
      await pause(60);
      expect(await counter(space)).toBeGreaterThan(frozen);
      const stats = await oz.hypervisor.stats("busy");
      expect(stats.slices).toBeGreaterThan(0);
      expect(stats.bytecodes).toBeGreaterThan(0);
    });
  }
});
