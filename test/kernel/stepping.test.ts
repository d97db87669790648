/**
 * The kernel's conformance suite (suite.ts) with the interpreter stepping one bytecode per dispatch call
 * (what the execution trace does): the fusions that span bytecodes, such as a comparison and the
 * conditional jump after it, are off, so their answers are checked against the plain path.
 */
import { afterAll, expect } from "vitest";
import { defineKernelSuite } from "./suite.js";

let steps = 0;
defineKernelSuite({
  name: "one bytecode at a time",
  prepare: (space) => {
    space.vm.trace = () => void steps++;
  },
});

afterAll(() => {
  expect(steps).toBeGreaterThan(1_000_000);
});
