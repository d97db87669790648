/**
 * Fault isolation: guests built to fail in each way (an unhandled error, recursion without end, heap
 * exhaustion under a small heap limit, a VM-level fault, an exception thrown by a host adapter) crash on
 * their own, keep their failing process for inspection, and every other guest goes on. Then the
 * emergency kernel: the host opens a crashed guest through the membrane, repairs it and resumes it.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Hypervisor } from "../../src/hypervisor/hypervisor.js";
import { decodeMethodHeader, initialPC } from "../../src/vm/method/header.js";
import { evaluate, openHypervisor, record, sleep, waitFor } from "./helpers.js";

const BUSY = "| n | n := 0. [true] whileTrue: [n := n + 1]";
const SMALL_HEAP = 8 * 1024 * 1024;

const open: Hypervisor[] = [];
async function hypervisor(): Promise<Hypervisor> {
  const hv = await openHypervisor();
  open.push(hv);
  return hv;
}

afterEach(async () => {
  for (const hv of open.splice(0)) await hv.close();
});

/** Starts a busy bystander and the guest; waits for the crash; checks that the bystander still runs. */
async function crashAlone(hv: Hypervisor, name: string, reasons: string[]): Promise<void> {
  if (!hv.has("bystander")) {
    await hv.define("bystander", { config: { startup: BUSY } });
    await hv.start("bystander");
  }
  if (hv.info(name).state === "shutoff") await hv.start(name);
  await waitFor(() => hv.info(name).state === "crashed", `${name} to crash`, 30_000);
  const info = hv.info(name);
  expect(reasons).toContain(info.reason);
  expect(info.crash?.kind).toBe(info.reason);
  expect(info.crash?.message).toBeTruthy();
  // the bystander and the hypervisor go on
  const before = hv.info("bystander").stats.cpuMs;
  await sleep(150);
  expect(hv.info("bystander").state).toBe("running");
  expect(hv.info("bystander").stats.cpuMs).toBeGreaterThan(before);
  expect(await evaluate(hv, "bystander", "3 + 4")).toBe("7");
  // a crashed guest costs nothing
  const slices = hv.info(name).stats.slices;
  await sleep(100);
  expect(hv.info(name).stats.slices).toBe(slices);
}

describe("fault isolation", () => {
  it("an unhandled error crashes its guest only, with the failing process's stack", async () => {
    const hv = await hypervisor();
    const events = record(hv);
    await hv.define("zero", { config: { startup: "Transcript show: 'before'; cr. 1/0. Transcript show: 'after'; cr" } });
    await crashAlone(hv, "zero", ["unhandledError"]);
    const info = hv.info("zero");
    expect(info.crash!.message).toMatch(/ZeroDivide/);
    expect(info.crash!.stack!.join("\n")).toMatch(/SmallInteger.*\/.*\n(.*\n)*.*\[\] in UndefinedObject>>DoIt/);
    expect(hv.transcript("zero")).toBe("before\n");
    expect(events.some((e) => e.type === "error" && e.guest === "zero" && /ZeroDivide/.test(e.message))).toBe(true);
    // the failing process is intact: it is the active process, its top frame is the one that failed
    const scheduler = await hv.space("zero").scheduler();
    const proc = await scheduler.activeProcess();
    expect(await proc!.state()).toMatch(/failed|running/);
    const frames = await proc!.stack(20);
    const descriptions = await Promise.all(frames.map((f) => f.description()));
    expect(descriptions.join("\n")).toMatch(/\[\] in UndefinedObject>>DoIt/);
  });

  it("recursion without end crashes its guest (small heap limit)", async () => {
    const hv = await hypervisor();
    await hv.define("recursion", {
      config: { memoryLimitBytes: SMALL_HEAP, startup: "| b | b := nil. b := [:n | (b value: n + 1) + 1]. b value: 1" },
    });
    await crashAlone(hv, "recursion", ["outOfMemory", "unhandledError"]);
    expect(hv.info("recursion").crash!.stack!.join("\n")).toMatch(/\[\] in UndefinedObject>>DoIt/);
  });

  it("running out of heap crashes its guest", async () => {
    const hv = await hypervisor();
    await hv.define("heap", {
      config: { memoryLimitBytes: SMALL_HEAP, startup: "| c | c := OrderedCollection new. [true] whileTrue: [c add: (Array new: 10000)]" },
    });
    await crashAlone(hv, "heap", ["outOfMemory", "unhandledError"]);
    expect(hv.info("heap").stats.heapBytes).toBeGreaterThan(SMALL_HEAP * 0.9);
  });

  it("a VM-level fault (a method with an invalid bytecode) crashes its guest", async () => {
    const hv = await hypervisor();
    await hv.define("vmfault", { config: { startup: "nil brokenMethod" } });
    // surgery before the start: a method whose first bytecode is not a bytecode
    const space = hv.space("vmfault");
    const method = await (await space.classNamed("UndefinedObject"))!.compile("brokenMethod ^ 1 + 2");
    const oop = space.ownOop(method);
    const header = decodeMethodHeader(space.mem.fetchPointer(oop, 0) >> 1);
    space.mem.bytes[oop + 11 + initialPC(header.numLiterals)] = 126;
    await crashAlone(hv, "vmfault", ["vmError"]);
    expect(hv.info("vmfault").crash!.message).toMatch(/unknown bytecode 126/);
    expect(hv.info("vmfault").crash!.stack![0]).toMatch(/UndefinedObject>>brokenMethod/);
  });

  it("an exception thrown in the guest's host code path crashes that guest only", async () => {
    const hv = await hypervisor();
    await hv.define("hostfault", { config: { startup: "(Delay forMilliseconds: 50) wait. Transcript show: 'boom'; cr" } });
    await hv.start("hostfault");
    // a broken host adapter: its console throws
    hv.space("hostfault").host.console.write = () => {
      throw new Error("the console adapter broke");
    };
    await crashAlone(hv, "hostfault", ["vmError"]);
    expect(hv.info("hostfault").crash!.message).toMatch(/the console adapter broke/);
  });

  it("a failing host evaluation reports its error and leaves the guest running", async () => {
    const hv = await hypervisor();
    await hv.define("calm", { config: { startup: "Smalltalk at: #Steps put: 0. [true] whileTrue: [(Delay forMilliseconds: 20) wait. Smalltalk at: #Steps put: (Smalltalk at: #Steps) + 1]" } });
    await hv.start("calm");
    await waitFor(async () => (await evaluate(hv, "calm", "Smalltalk at: #Steps ifAbsent: [nil]")) !== "nil", "the guest's process to start");
    const r = await hv.space("calm").evaluate("Transcript show: 'x'. 1/0. Transcript show: 'not reached'");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errorClass).toBe("ZeroDivide");
    expect(hv.info("calm").state).toBe("running");
    const steps = Number(await evaluate(hv, "calm", "Smalltalk at: #Steps"));
    await waitFor(async () => Number(await evaluate(hv, "calm", "Smalltalk at: #Steps")) > steps + 2, "the guest's own process to go on");
    await sleep(50);
    expect(hv.transcript("calm")).not.toContain("not reached");
  });
});

describe("the emergency kernel: surgery on a crashed guest", () => {
  it("repairs a crashed guest through the membrane and resumes it: the message is sent again", async () => {
    const hv = await hypervisor();
    await hv.define("patient", { config: { startup: "Transcript show: (3 zork) printString; cr. Transcript show: 'after'; cr" } });
    await crashAlone(hv, "patient", ["unhandledError"]);
    expect(hv.info("patient").crash!.message).toMatch(/zork/);
    // surgery: compile the missing method in the crashed guest
    await (await hv.space("patient").classNamed("SmallInteger"))!.compile("zork ^ 42", { category: "surgery" });
    expect(hv.info("patient").state).toBe("crashed");
    // resume: the failing process proceeds; doesNotUnderstand: sends the message again, which now works
    const info = await hv.resume("patient");
    expect([info.state, info.reason]).toEqual(["running", "unpaused"]);
    expect(info.crash).toBeUndefined();
    await waitFor(() => hv.transcript("patient").includes("after"), "the repaired guest to finish its startup");
    expect(hv.transcript("patient")).toBe("42\nafter\n");
  });

  it("restarts a frame of the failing process before resuming (context surgery)", async () => {
    const hv = await hypervisor();
    await hv.define("frames", {
      config: { startup: "Smalltalk at: #Attempts put: (Smalltalk at: #Attempts ifAbsent: [0]) + 1. Transcript show: (10 / (Smalltalk at: #Divisor ifAbsent: [0])) printString; cr" },
    });
    await crashAlone(hv, "frames", ["unhandledError"]);
    const space = hv.space("frames");
    await space.setGlobal("Divisor", 5);
    const proc = (await (await space.scheduler()).activeProcess())!;
    let block;
    for (const f of await proc.stack(30)) if ((await f.description()).startsWith("[] in UndefinedObject>>DoIt")) block = f;
    expect(block).toBeDefined();
    await block!.restart();
    await hv.resume("frames");
    await waitFor(() => hv.transcript("frames").includes("2"), "the restarted frame to print");
    expect(hv.transcript("frames")).toBe("2\n");
    expect(await evaluate(hv, "frames", "Smalltalk at: #Attempts")).toBe("2");
  });

  it("resumes a crashed guest as it is: the error answers nil and the process goes on (Pharo's proceed)", async () => {
    const hv = await hypervisor();
    await hv.define("proceed", { config: { startup: "Transcript show: (1/0) printString; cr. Transcript show: 'after'; cr" } });
    await crashAlone(hv, "proceed", ["unhandledError"]);
    await hv.resume("proceed");
    await waitFor(() => hv.transcript("proceed").includes("after"), "the process to proceed");
    expect(hv.transcript("proceed")).toBe("nil\nafter\n");
  });

  it("stops a crashed guest without saving it, and starts it again from its last good image", async () => {
    const hv = await hypervisor();
    await hv.define("again", { config: { startup: "Smalltalk at: #Tries put: (Smalltalk at: #Tries ifAbsent: [0]) + 1. 1/0" } });
    await crashAlone(hv, "again", ["unhandledError"]);
    const stopped = await hv.stop("again");
    expect([stopped.state, stopped.reason]).toEqual(["shutoff", "stopped"]);
    await hv.start("again");
    await waitFor(() => hv.info("again").state === "crashed", "the second crash");
    // the first crashed image was not saved: the counter starts from the defined image again
    await hv.suspend("bystander");
    expect(await evaluate(hv, "again", "Smalltalk at: #Tries")).toBe("1");
  });
});
