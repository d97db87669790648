/**
 * Controlled interruption (examples/interruption.ts): a guest process looping forever at the highest
 * priority is stopped by the host; it stays the guest's active process, the host finds it, inspects its
 * stack and terminates it, and the guest goes on.
 */
import { expect, it } from "vitest";
import { interruption } from "../../../examples/interruption.js";

it("a runaway process at the highest priority is interrupted, found, inspected and terminated by the host", async () => {
  const report = await interruption(() => undefined, 200);
  expect(report.lastSlice).toBe("interrupted");
  expect(report.slices).toBeGreaterThan(1);
  // not moved to a list: still the active process, running
  expect(report.active).toEqual({ name: "runaway", priority: 80, state: "running", isRunaway: true, inReadyLists: false });
  expect(report.frames.length).toBeGreaterThanOrEqual(1);
  expect(report.frames[0].description).toBe("[] in UndefinedObject>>DoIt");
  expect(report.frames[0].line).toBe(1);
  expect(report.ticksAtInterrupt).toBeGreaterThan(1000);
  expect(report.stateAfterTerminate).toBe("terminated");
  expect(report.ticksAfterTerminate).toBe(report.ticksAtInterrupt);
  expect(report.guestAnswerAfterwards).toBe(55);
}, 60_000);
