/**
 * Guest lifecycle in-process: every verb, the state/reason transitions and their events, the errors,
 * snapshots and restores, clones, surgery on a guest that is not running, and crash recovery from the
 * changes file (the in-process analogue of kill -9: the hypervisor is dropped without saving anything).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Hypervisor } from "../../src/hypervisor/hypervisor.js";
import { HypervisorError } from "../../src/hypervisor/types.js";
import { evaluate, openHypervisor, record, sleep, tempDir, waitFor } from "./helpers.js";

const open: Hypervisor[] = [];
async function hypervisor(dataDir?: string): Promise<Hypervisor> {
  const hv = await openHypervisor(dataDir ? { dataDir } : {});
  open.push(hv);
  return hv;
}

afterEach(async () => {
  for (const hv of open.splice(0)) await hv.close();
});

function states(events: ReturnType<typeof record>, guest: string): string[] {
  return events.filter((e) => e.type === "state" && e.guest === guest).map((e) => (e.type === "state" ? `${e.state}/${e.reason}` : ""));
}

async function rejects(p: Promise<unknown>, code: string, text?: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(HypervisorError);
  expect((e as HypervisorError).code).toBe(code);
  if (text) expect((e as Error).message).toMatch(text);
}

describe("guest lifecycle", () => {
  it("goes through every verb with libvirt-style states and reasons, and publishes them", async () => {
    const hv = await hypervisor();
    const events = record(hv);
    const defined = await hv.define("a", { config: { startup: "Transcript show: 'hello from a'; cr" } });
    expect([defined.state, defined.reason]).toEqual(["shutoff", "defined"]);
    expect(fs.existsSync(path.join(hv.guestsDir, "a", "a.image"))).toBe(true);
    expect(fs.existsSync(path.join(hv.guestsDir, "a", "a.changes"))).toBe(true);
    expect(fs.existsSync(path.join(hv.guestsDir, "a", "guest.json"))).toBe(true);
    expect(fs.statSync(path.join(hv.guestsDir, "a", "files")).isDirectory()).toBe(true);

    const started = await hv.start("a");
    expect([started.state, started.reason]).toEqual(["running", "booted"]);
    await waitFor(() => hv.transcript("a").includes("hello from a"), "the startup source's output");
    expect(events.some((e) => e.type === "transcript" && e.guest === "a" && e.text.includes("hello"))).toBe(true);

    expect((await hv.suspend("a")).reason).toBe("user");
    expect((await hv.resume("a")).reason).toBe("unpaused");
    expect((await hv.interrupt("a")).reason).toBe("interrupt");
    expect((await hv.resume("a")).state).toBe("running");
    const image = await hv.snapshot("a");
    expect(image).toBe(path.join(hv.guestsDir, "a", "a.image"));
    expect(fs.readFileSync(path.join(hv.guestsDir, "a", "a.changes"), "utf8")).toMatch(/----SNAPSHOT----/);
    const stopped = await hv.stop("a");
    expect([stopped.state, stopped.reason]).toEqual(["shutoff", "stopped"]);
    await hv.destroy("a");
    expect(hv.list()).toEqual([]);
    expect(fs.existsSync(path.join(hv.guestsDir, "a"))).toBe(false);
    expect(fs.readdirSync(hv.trashDir).some((n) => n.startsWith("a-"))).toBe(true);

    expect(states(events, "a")).toEqual([
      "shutoff/defined", "running/booted", "paused/user", "running/unpaused", "paused/interrupt", "running/unpaused",
      "paused/snapshot", "running/unpaused", "paused/snapshot", "shutoff/stopped", "shutoff/destroyed",
    ]);
    expect(events.filter((e) => e.type === "defined" || e.type === "undefined").map((e) => e.type)).toEqual(["defined", "undefined"]);
  });

  it("refuses what does not make sense, with the right error codes", async () => {
    const hv = await hypervisor();
    await hv.define("a");
    await rejects(hv.define("a"), "alreadyExists");
    await rejects(hv.define("../etc"), "invalidArgument", /not a valid guest name/);
    await rejects(hv.define("b", { config: { cpu: { quotaMs: 2000, periodMs: 1000 } } }), "invalidArgument", /config\.cpu\.quotaMs/);
    await rejects(hv.define("c", { config: { startup: "3 +" } }), "invalidArgument", /config\.startup/);
    await rejects(hv.define("d", { image: new Uint8Array([1, 2, 3]) }), "invalidArgument", /not a usable image/);
    await rejects(hv.define("e", { image: "/nonexistent/x.image" }), "invalidArgument", /cannot read/);
    expect(() => hv.info("nobody")).toThrow(/no guest named/);
    await rejects(hv.suspend("a"), "failedPrecondition", /shutoff/);
    await rejects(hv.resume("a"), "failedPrecondition");
    await hv.start("a");
    await rejects(hv.start("a"), "failedPrecondition", /running/);
    await rejects(hv.clone("a", "a"), "alreadyExists");
    await rejects(hv.clone("nobody", "x"), "notFound");
  });

  it("snapshots, stops and starts again with everything the image had", async () => {
    const hv = await hypervisor();
    await hv.define("a");
    await hv.start("a");
    await evaluate(hv, "a", "Smalltalk at: #Counter put: 41");
    const object = (await hv.space("a").classNamed("Object"))!;
    await object.compile("answerForLifecycle ^ (Smalltalk at: #Counter) + 1", { category: "test" });
    await hv.stop("a");
    expect(hv.info("a").stats.heapBytes).toBe(0);
    const again = await hv.start("a");
    expect([again.state, again.reason]).toEqual(["running", "booted"]);
    expect(await evaluate(hv, "a", "nil answerForLifecycle")).toBe("42");
    const method = await (await hv.space("a").classNamed("Object"))!.methodAt("answerForLifecycle");
    expect(await method!.source()).toBe("answerForLifecycle ^ (Smalltalk at: #Counter) + 1");
  });

  it("clones a running guest in milliseconds, and clones from an image file", async () => {
    const hv = await hypervisor();
    await hv.define("src", { config: { cpu: { quotaMs: 500, periodMs: 1000 }, startup: "| n | n := 0. [true] whileTrue: [n := n + 1]" } });
    await hv.start("src");
    await evaluate(hv, "src", "Smalltalk at: #Marker put: 'cloned'");
    await (await hv.space("src").classNamed("Object"))!.compile("cloneCheck ^ #cloneCheck");
    const t = performance.now();
    const info = await hv.clone("src", "copy", { start: true });
    const ms = performance.now() - t;
    expect(ms).toBeLessThan(5000);
    expect(info.state).toBe("running");
    expect(info.config.cpu).toEqual({ quotaMs: 500, periodMs: 1000 });
    expect(await evaluate(hv, "copy", "Smalltalk at: #Marker")).toBe("'cloned'");
    expect(await evaluate(hv, "copy", "nil cloneCheck")).toBe("#cloneCheck");
    // the method's source pointer reads the clone's own copy of the changes file
    const m = await (await hv.space("copy").classNamed("Object"))!.methodAt("cloneCheck");
    expect(await m!.source()).toBe("cloneCheck ^ #cloneCheck");
    // the source is untouched and still running
    expect(hv.info("src").state).not.toBe("shutoff");

    await hv.snapshot("src");
    const fromFile = await hv.clone("src", "fromfile", { fromFile: path.join(hv.guestsDir, "src", "src.image") });
    expect(fromFile.state).toBe("shutoff");
    await hv.start("fromfile");
    expect(await evaluate(hv, "fromfile", "nil cloneCheck")).toBe("#cloneCheck");
  });

  it("lets the host work on a guest that is not running (surgery), charged to it", async () => {
    const hv = await hypervisor();
    await hv.define("cold");
    expect(await evaluate(hv, "cold", "6 * 7")).toBe("42");
    const info = hv.info("cold");
    expect([info.state, info.reason]).toEqual(["shutoff", "defined"]);
    expect(info.stats.cpuMs).toBeGreaterThan(0);
    expect(info.stats.bytecodes).toBeGreaterThan(0);
    await (await hv.space("cold").classNamed("Object"))!.compile("coldSurgery ^ 7");
    await hv.start("cold");
    expect(await evaluate(hv, "cold", "nil coldSurgery")).toBe("7");

    await hv.suspend("cold");
    expect(await evaluate(hv, "cold", "3 + 4")).toBe("7");
    expect(hv.info("cold").state).toBe("paused");
  });

  it("recovers the changes made since the last snapshot after the hypervisor dies without saving", async () => {
    const dataDir = tempDir();
    const first = await hypervisor(dataDir);
    await first.define("g");
    await first.start("g");
    await evaluate(first, "g", "Object subclass: #RecoveredThing instanceVariableNames: 'x' classVariableNames: '' package: 'Recovery'");
    const cls = (await first.space("g").classNamed("RecoveredThing"))!;
    await cls.compile("x ^ x ifNil: [#recovered]", { category: "accessing" });
    await (await first.space("g").classNamed("Object"))!.compile("recoveredAnswer ^ RecoveredThing new x");
    await (await first.space("g").classNamed("Object"))!.compile("removedLater ^ 1");
    await (await first.space("g").classNamed("Object"))!.removeMethod("removedLater");
    // "kill -9": nothing is saved, the VM is dropped
    await first.close();
    open.splice(open.indexOf(first), 1);

    const logs: string[] = [];
    const second = await openHypervisor({ dataDir, log: (l) => logs.push(l) });
    open.push(second);
    expect(logs.join("\n")).toMatch(/guest g: recovered \d+ change/);
    expect(second.info("g").reason).toBe("shutdown");
    const info = await second.start("g");
    expect([info.state, info.reason]).toEqual(["running", "restored"]);
    expect(await evaluate(second, "g", "nil recoveredAnswer")).toBe("#recovered");
    expect(await evaluate(second, "g", "Object includesSelector: #removedLater")).toBe("false");
    const m = await (await second.space("g").classNamed("RecoveredThing"))!.methodAt("x");
    expect(await m!.source()).toBe("x ^ x ifNil: [#recovered]");
    // the recovery was snapshotted: a second recovery has nothing to do
    await second.close();
    open.splice(open.indexOf(second), 1);
    const logs3: string[] = [];
    const third = await openHypervisor({ dataDir, log: (l) => logs3.push(l) });
    open.push(third);
    expect(logs3.join("\n")).not.toMatch(/recovered/);
  });

  it("does not mark the changes file when a change was logged while the image was being written", async () => {
    const dataDir = tempDir();
    const first = await hypervisor(dataDir);
    await first.define("w");
    await first.start("w");
    const object = (await first.space("w").classNamed("Object"))!;
    const changesFile = path.join(first.guestsDir, "w", "w.changes");
    const markers = () => (fs.readFileSync(changesFile, "utf8").match(/----SNAPSHOT----/g) ?? []).length;
    const before = markers();
    // compile right after the image was captured, while it is being written
    let compiled: Promise<unknown> | undefined;
    const unsubscribe = first.subscribe((e) => {
      if (e.type === "state" && e.guest === "w" && e.reason === "snapshot") {
        setImmediate(() => (compiled = object.compile("duringSnapshot ^ #kept")));
      }
    });
    await first.snapshot("w");
    unsubscribe();
    await compiled;
    expect(fs.readFileSync(changesFile, "utf8")).toContain("duringSnapshot");
    expect(markers()).toBe(before);
    await first.close();
    open.splice(open.indexOf(first), 1);
    const second = await hypervisor(dataDir);
    await second.start("w");
    expect(await evaluate(second, "w", "nil duringSnapshot")).toBe("#kept");
  });

  it("answers a guest's changes since its last snapshot, or all of them, parsed from its changes file", async () => {
    const hv = await hypervisor();
    await hv.define("c");
    expect(hv.changes("c")).toEqual({ entries: [], truncated: false, file: path.join(hv.guestsDir, "c", "c.changes") });
    await hv.start("c");
    const object = (await hv.space("c").classNamed("Object"))!;
    await object.compile("beforeSnapshot ^ 1", { category: "c-test" });
    expect(hv.changes("c").entries).toEqual([expect.objectContaining({ kind: "method", className: "Object", classSide: false, selector: "beforeSnapshot", category: "c-test" })]);
    await hv.snapshot("c");
    expect(hv.changes("c").entries).toEqual([]);
    await evaluate(hv, "c", "Object compile: 'afterSnapshot ^ 2' classified: 'c-test'");
    await object.removeMethod("beforeSnapshot");
    expect(hv.changes("c").entries.map((e) => [e.kind, "selector" in e ? e.selector : undefined])).toEqual([["method", "afterSnapshot"], ["removeMethod", "beforeSnapshot"]]);
    expect(hv.changes("c", { all: true }).entries.map((e) => e.kind)).toEqual(["method", "snapshot", "method", "removeMethod"]);
    // the same entries the file's own parser sees
    const { listChanges } = await import("../../src/membrane/changes.js");
    const file = path.join(hv.guestsDir, "c", "c.changes");
    expect(hv.changes("c", { all: true })).toEqual({ ...listChanges(fs.readFileSync(file), { all: true }), file });
    // a change cut short at the end of the file is left out and reported
    const size = fs.statSync(file).size;
    fs.appendFileSync(file, `\n"----CHANGE----2026-01-01T00:00:00.000Z----"!\n!Object methodsFor: 'x'!\nhalfWritten ^ `);
    const cut = hv.changes("c");
    expect(cut.entries).toHaveLength(2);
    expect(cut.truncated).toBe(true);
    expect(cut.truncatedAt).toBeGreaterThan(size);
    fs.rmSync(file);
    expect(hv.changes("c").entries).toEqual([]);
    expect(() => hv.changes("nosuch")).toThrow(expect.objectContaining({ code: "notFound", message: 'no guest named "nosuch"' }));
  });

  it("brings running guests back after a graceful shutdown, and keeps stopped ones stopped", async () => {
    const dataDir = tempDir();
    const first = await hypervisor(dataDir);
    await first.define("up", { config: { startup: "Smalltalk at: #Boots put: (Smalltalk at: #Boots ifAbsent: [0]) + 1" } });
    await first.define("down");
    await first.start("up");
    await first.start("down");
    await first.stop("down");
    await waitFor(async () => (await evaluate(first, "up", "Smalltalk at: #Boots ifAbsent: [0]")) === "1", "the first boot");
    await first.shutdown();
    open.splice(open.indexOf(first), 1);
    expect(first.info("up").reason).toBe("shutdown");

    const second = await hypervisor(dataDir);
    expect(await second.autostart()).toEqual(["up"]);
    expect(second.info("up").reason).toBe("restored");
    expect(second.info("down").state).toBe("shutoff");
    await waitFor(async () => (await evaluate(second, "up", "Smalltalk at: #Boots")) === "2", "the startup source to run again");
  });

  it("keeps a bounded Transcript and changes quotas at run time", async () => {
    const hv = await hypervisor();
    await hv.define("t", { config: { startup: "1 to: 3000 do: [:i | Transcript show: 'line ', i printString; cr]" } });
    await hv.start("t");
    await waitFor(() => hv.transcript("t").includes("line 3000"), "the Transcript output");
    expect(hv.transcript("t").length).toBeLessThanOrEqual(64 * 1024);
    expect(hv.transcript("t", 10)).toBe("line 3000\n");
    const info = await hv.reconfigure("t", { cpu: { quotaMs: 100, periodMs: 500 }, weight: 300 });
    expect(info.config.cpu).toEqual({ quotaMs: 100, periodMs: 500 });
    expect(info.config.weight).toBe(300);
    expect(JSON.parse(fs.readFileSync(path.join(hv.guestsDir, "t", "guest.json"), "utf8")).config.weight).toBe(300);
  });
  it("counts the guest's processes by state, and sees a change once the heap changed", async () => {
    const hv = await hypervisor();
    await hv.define("p", { config: { startup: "Smalltalk at: #Gate put: Semaphore new. [Gate wait] forkAt: 30" } });
    await hv.start("p");
    await evaluate(hv, "p", "Gate");
    // settled: the startup's process has ended, and the counts taken now are walked at least a second on
    await sleep(1100);
    const before = hv.info("p").stats.processes;
    expect(before.waiting).toBeGreaterThanOrEqual(1);
    // a suspended process made through the membrane: it allocates, so the next count (a second on) walks
    await evaluate(hv, "p", "Smalltalk at: #Parked put: ([42] newProcess)");
    await waitFor(() => hv.info("p").stats.processes.suspended === before.suspended + 1, "the new suspended process");
    await evaluate(hv, "p", "Gate signal");
    await waitFor(() => hv.info("p").stats.processes.waiting === before.waiting - 1, "the released process");
  });
});
