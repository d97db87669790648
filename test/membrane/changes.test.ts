/**
 * The changes file: parsing, the changes since the last snapshot, replay into a space, `oz changes`, and
 * the crash test: a child process compiling into an image with a real changes file is killed with
 * SIGKILL at random points; every change whose call returned before the kill is in the file and replays.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changesSinceLastSnapshot, describeChange, parseChanges, parseChangesFile, replayChanges, type ChangeEntry } from "../../src/membrane/changes.js";
import { changesPathFor, openImageFile, saveImageFile } from "../../src/membrane/local/imageFiles.js";
import { ChangesFile } from "../../src/tools/host/sourceFiles.js";
import { kernelImageBytes } from "../../src/tools/kernelImage.js";
import { main } from "../../src/tools/cli/oz.js";
import type { CommandIO } from "../../src/tools/cli/io.js";
import { childCommand, removeChildBundles } from "./support/childProcess.js";
import { sym } from "../../src/membrane/values.js";

const here = path.dirname(fileURLToPath(import.meta.url));
let dir: string;
let kernel: Uint8Array;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-changes-"));
  kernel = await kernelImageBytes();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  removeChildBundles();
});

let counter = 0;
function freshImage(): string {
  const file = path.join(dir, `img${++counter}.image`);
  fs.writeFileSync(file, kernel);
  return file;
}

function capture(): CommandIO & { output: string; errors: string } {
  const io = {
    output: "",
    errors: "",
    env: {},
    out(t: string) {
      io.output += t;
    },
    err(t: string) {
      io.errors += t;
    },
  };
  return io;
}

function sample(): { text: string; file: string; positions: Record<string, number> } {
  const file = path.join(dir, `sample${++counter}.changes`);
  const log = new ChangesFile(file);
  const positions: Record<string, number> = {};
  log.append({ kind: "classDefinition", source: "Object subclass: #OzSample\n\tinstanceVariableNames: 'a b'\n\tclassVariableNames: ''\n\tcategory: 'Oz-Sample'" });
  positions.first = log.append({ kind: "method", className: "OzSample", classSide: false, category: "accessing", source: "a\n\t^ a" });
  log.append({ kind: "method", className: "OzSample", classSide: true, category: "instance creation", source: "with: x\n\t^ self new setA: x" });
  log.markSnapshot();
  positions.bang = log.append({ kind: "method", className: "OzSample", classSide: false, category: "it's", source: "shout\n\t^ 'hey!' , '!!'" });
  log.append({ kind: "removeMethod", className: "OzSample", classSide: false, selector: "a" });
  log.append({ kind: "doit", source: "Smalltalk at: #OzSampleGlobal put: 42" });
  log.append({ kind: "classDefinition", source: "OzSample class instanceVariableNames: 'cache'" });
  positions.binary = log.append({ kind: "method", className: "OzSample", classSide: false, category: "arith", source: "+ other\n\t^ a + other" });
  positions.unicode = log.append({ kind: "method", className: "OzSample", classSide: false, category: "text", source: "caf\u00e9\n\t\"\u00e9t\u00e9 \u263a\"\n\t^ 1" });
  log.close();
  return { text: fs.readFileSync(file, "utf8"), file, positions };
}

describe("parseChanges", () => {
  it("reads every kind of entry with its class, side, category, selector, source, stamp and byte position", () => {
    const { text, file, positions } = sample();
    const entries = parseChanges(text);
    expect(entries.map((e) => e.kind)).toEqual([
      "classDefinition", "method", "method", "snapshot", "method", "removeMethod", "doit", "classDefinition", "method", "method",
    ]);
    const [def, a, withX, snap, shout, removal, doit, classSide, plus, cafe] = entries as Array<ChangeEntry & Record<string, unknown>>;
    expect(def).toMatchObject({ kind: "classDefinition", className: "OzSample", classSide: false });
    expect(a).toMatchObject({ kind: "method", className: "OzSample", classSide: false, category: "accessing", selector: "a", source: "a\n\t^ a" });
    expect(withX).toMatchObject({ classSide: true, selector: "with:", category: "instance creation" });
    expect(snap.kind).toBe("snapshot");
    expect(shout).toMatchObject({ selector: "shout", category: "it's", source: "shout\n\t^ 'hey!' , '!!'" });
    expect(removal).toMatchObject({ kind: "removeMethod", className: "OzSample", classSide: false, selector: "a" });
    expect(doit).toMatchObject({ kind: "doit", source: "Smalltalk at: #OzSampleGlobal put: 42" });
    expect(classSide).toMatchObject({ kind: "classDefinition", className: "OzSample", classSide: true });
    expect(plus).toMatchObject({ selector: "+" });
    expect(cafe).toMatchObject({ selector: "caf\u00e9" });
    for (const e of entries) expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    // positions are byte offsets, the same a method's source pointer holds
    expect(a.position).toBe(positions.first);
    expect(shout.position).toBe(positions.bang);
    expect(plus.position).toBe(positions.binary);
    expect(cafe.position).toBe(positions.unicode);
    const log = new ChangesFile(file);
    for (const e of entries) if (e.kind === "method") expect(log.read(e.position)).toBe(e.source);
    expect(parseChanges(Buffer.from(text))).toEqual(entries);
  });

  it("changesSinceLastSnapshot keeps what follows the last marker", () => {
    const { text } = sample();
    const since = changesSinceLastSnapshot(parseChanges(text));
    expect(since.map((e) => e.kind)).toEqual(["method", "removeMethod", "doit", "classDefinition", "method", "method"]);
    expect(changesSinceLastSnapshot(text)).toEqual(since);
    expect(changesSinceLastSnapshot([])).toEqual([]);
    const noMarker = parseChanges(text).filter((e) => e.kind !== "snapshot");
    expect(changesSinceLastSnapshot(noMarker)).toEqual(noMarker);
    expect(changesSinceLastSnapshot(`${text}\n"----SNAPSHOT----x----"!\n`)).toEqual([]);
  });

  it("an empty or missing file has no entries; a file cut anywhere gives a prefix of the entries", () => {
    expect(parseChanges("")).toEqual([]);
    expect(parseChanges("\n\n")).toEqual([]);
    const { text } = sample();
    const full = parseChanges(text);
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut += 7) {
      const parsed = parseChangesFile(bytes.subarray(0, cut).toString("utf8"));
      const n = parsed.entries.length;
      expect(parsed.entries).toEqual(full.slice(0, n));
      if (parsed.truncated) expect(parsed.truncatedAt).toBeLessThanOrEqual(cut);
    }
  });

  it("describeChange makes one line per entry", () => {
    const entries = parseChanges(sample().text);
    const lines = entries.map(describeChange);
    expect(lines[1]).toMatch(/method\s+OzSample>>a\s+\{accessing\}$/);
    expect(lines[2]).toMatch(/OzSample class>>with:/);
    expect(lines[5]).toMatch(/removeMethod\s+OzSample>>a$/);
    expect(lines[6]).toMatch(/doit\s+Smalltalk at: #OzSampleGlobal put: 42$/);
    for (const l of lines) expect(l).not.toMatch(/\n/);
  });
});

describe("replayChanges", () => {
  it("applies methods, removals, class definitions and doits in order, through the ObjectSpace interface", async () => {
    const image = freshImage();
    const { text } = sample();
    const { space, close } = openImageFile(image, { changesPath: path.join(dir, `replay${counter}.changes`) });
    try {
      const object = (await space.classNamed("Object"))!;
      await object.defineSubclass({ name: "OzSample", instanceVariableNames: ["a", "b"], category: "Oz-Sample" });
      await (await space.classNamed("OzSample"))!.compile("a\n\t^ a");
      await (await space.classNamed("OzSample"))!.compile("setA: x\n\ta := x");
      const report = await replayChanges(space, changesSinceLastSnapshot(parseChanges(text)));
      expect(report.failed).toEqual([]);
      expect(report.replayed).toBe(6);
      const cls = (await space.classNamed("OzSample"))!;
      expect(await cls.includesSelector("a")).toBe(false);
      expect(await cls.includesSelector("shout")).toBe(true);
      expect(await cls.includesSelector("+")).toBe(true);
      expect(await (await cls.methodAt("shout"))!.source()).toBe("shout\n\t^ 'hey!' , '!!'");
      expect(await (await space.globalNamed("OzSampleGlobal"))!.toLocal()).toBe(42);
      expect(await (await space.classNamed("OzSample class"))!.instVarNames()).toEqual(["cache"]);
      const r = await space.evaluate("OzSample new shout", { budget: { ms: 5000 } });
      expect(r.ok && (await r.value.toLocal())).toBe("hey!!!");
    } finally {
      close();
    }
  });

  it("reports failing entries and still applies the others", async () => {
    const { space, close } = openImageFile(freshImage(), { changesPath: path.join(dir, `fail${++counter}.changes`) });
    try {
      const entries: ChangeEntry[] = [
        { kind: "method", className: "OzNowhere", classSide: false, category: "x", selector: "a", source: "a ^ 1", position: 0 },
        { kind: "method", className: "Object", classSide: false, category: "x", selector: "broken", source: "broken ^ (1 +", position: 0 },
        { kind: "removeMethod", className: "Object", classSide: false, selector: "ozNeverDefined", source: "Object removeSelector: #ozNeverDefined", position: 0 },
        { kind: "doit", source: "nil ozNoSuchMessage", position: 0 },
        { kind: "snapshot", stamp: "x", source: "", position: 0 },
        { kind: "method", className: "Object", classSide: false, category: "x", selector: "ozReplayed", source: "ozReplayed ^ #yes", position: 0 },
        { kind: "doit", source: "[true] whileTrue", position: 0 },
      ];
      const seen: Array<string | undefined> = [];
      const report = await replayChanges(space, entries, { doitBudget: { ms: 100 }, onEntry: (_e, error) => seen.push(error) });
      expect(report.replayed).toBe(1);
      expect(report.skipped).toBe(1);
      expect(report.failed.map((f) => f.entry)).toEqual([entries[0], entries[1], entries[2], entries[3], entries[6]]);
      expect(report.failed[0].error).toMatch(/OzNowhere/);
      expect(report.failed[2].error).toMatch(/ozNeverDefined/);
      expect(report.failed[3].error).toMatch(/MessageNotUnderstood/);
      expect(report.failed[4].error).toMatch(/budget/);
      expect(seen.length).toBe(entries.length);
      const r = await space.evaluate("nil ozReplayed", { budget: { ms: 5000 } });
      expect(r.ok && (await r.value.toLocal())).toEqual(sym("yes"));
    } finally {
      close();
    }
  });
});

describe("image files and their changes files", () => {
  it("openImageFile does not run the image; compiles are logged before they take effect; saveImageFile marks the changes", async () => {
    const image = freshImage();
    const before = fs.readFileSync(image);
    const { space, changes, changesPath, close } = openImageFile(image);
    try {
      expect(changesPath).toBe(changesPathFor(image));
      expect(changesPathFor("x/app.image")).toBe("x/app.changes");
      expect(changesPathFor("x/app.img")).toBe("x/app.img.changes");
      const stats = await space.stats();
      expect(stats.bytecodes).toBe(0);
      const object = (await space.classNamed("Object"))!;
      await object.compile("ozLogged\n\t^ 1", { category: "oz" });
      await expect(object.compile("ozNotLogged ^ (")).rejects.toThrow();
      await object.removeMethod("ozLogged");
      await expect(object.removeMethod("ozLogged")).rejects.toThrow();
      const logged = parseChanges(fs.readFileSync(changesPath, "utf8"));
      expect(logged.map((e) => `${e.kind}:${"selector" in e ? e.selector : ""}`)).toEqual(["method:ozLogged", "removeMethod:ozLogged"]);
      expect(fs.readFileSync(image).equals(before)).toBe(true);
      await object.compile("ozSaved\n\t^ 2");
      const size = await saveImageFile(space, image, changes);
      expect(size).toBe(fs.statSync(image).size);
      expect(changesSinceLastSnapshot(fs.readFileSync(changesPath, "utf8"))).toEqual([]);
    } finally {
      close();
    }
    const reopened = openImageFile(image);
    try {
      const m = await (await reopened.space.classNamed("Object"))!.methodAt("ozSaved");
      expect(await m!.source()).toBe("ozSaved\n\t^ 2");
    } finally {
      reopened.close();
    }
  });

  it("openImageFile refuses missing and foreign files with a clear error", () => {
    expect(() => openImageFile(path.join(dir, "missing.image"))).toThrow(/cannot read/);
    const bogus = path.join(dir, "bogus.image");
    fs.writeFileSync(bogus, "not an image at all");
    expect(() => openImageFile(bogus)).toThrow(/bogus\.image/);
  });
});

describe("oz changes", () => {
  async function prepare(): Promise<string> {
    const image = freshImage();
    const { space, close } = openImageFile(image);
    try {
      const object = (await space.classNamed("Object"))!;
      await object.defineSubclass({ name: "OzCli", instanceVariableNames: ["v"], category: "Oz-Cli" });
      const cls = (await space.classNamed("OzCli"))!;
      await cls.compile("v\n\t^ v", { category: "accessing" });
      await cls.compile("v: x\n\tv := x", { category: "accessing" });
      await (await cls.metaclass()).compile("answer\n\t^ 42", { category: "demo" });
      await cls.compile("gone ^ 0");
      await cls.removeMethod("gone");
    } finally {
      close();
    }
    return image;
  }

  it("lists the changes since the last snapshot, all of them, or as JSON", async () => {
    const image = await prepare();
    const io = capture();
    expect(await main(["changes", image], io)).toBe(0);
    const lines = io.output.trim().split("\n");
    expect(lines.length).toBe(6);
    expect(lines[0]).toMatch(/classDefinition\s+OzCli$/);
    expect(lines[1]).toMatch(/method\s+OzCli>>v\s+\{accessing\}/);
    expect(lines[3]).toMatch(/OzCli class>>answer/);
    expect(lines[5]).toMatch(/removeMethod\s+OzCli>>gone/);
    expect(io.errors).toMatch(/6 changes since the last snapshot/);
    const json = capture();
    expect(await main(["changes", image, "--json"], json)).toBe(0);
    const entries = JSON.parse(json.output);
    expect(entries.length).toBe(6);
    expect(entries[1]).toMatchObject({ kind: "method", className: "OzCli", classSide: false, selector: "v", category: "accessing", source: "v\n\t^ v" });
    expect(typeof entries[1].position).toBe("number");
    expect(typeof entries[1].timestamp).toBe("string");
    fs.appendFileSync(changesPathFor(image), `\n"----SNAPSHOT----2026-01-01T00:00:00.000Z----"!\n`);
    const after = capture();
    expect(await main(["changes", image], after)).toBe(0);
    expect(after.output).toBe("");
    const all = capture();
    expect(await main(["changes", image, "--all"], all)).toBe(0);
    expect(all.output.trim().split("\n").length).toBe(7);
  });

  it("replay applies them to the image in place and marks the changes file", async () => {
    const image = await prepare();
    const io = capture();
    expect(await main(["changes", "replay", image], io)).toBe(0);
    expect(io.output).toMatch(/replayed 6 of 6 changes into/);
    const listing = capture();
    expect(await main(["changes", image], listing)).toBe(0);
    expect(listing.output).toBe("");
    const { space, close } = openImageFile(image);
    try {
      const r = await space.evaluate("(OzCli new v: 7; yourself) v + OzCli answer", { budget: { ms: 5000 } });
      expect(r.ok && (await r.value.toLocal())).toBe(49);
      expect(await (await space.classNamed("OzCli"))!.includesSelector("gone")).toBe(false);
      expect(await (await (await space.classNamed("OzCli"))!.methodAt("v"))!.source()).toBe("v\n\t^ v");
    } finally {
      close();
    }
  });

  it("replay -o writes another image with its own changes file and leaves the original alone", async () => {
    const image = await prepare();
    const before = fs.readFileSync(image);
    const changesBefore = fs.readFileSync(changesPathFor(image));
    const out = path.join(dir, `out${++counter}.image`);
    const io = capture();
    expect(await main(["changes", "replay", image, "-o", out, "--json"], io)).toBe(0);
    expect(JSON.parse(io.output)).toMatchObject({ image: out, replayed: 6, failed: [] });
    expect(fs.readFileSync(image).equals(before)).toBe(true);
    expect(fs.readFileSync(changesPathFor(image)).equals(changesBefore)).toBe(true);
    expect(changesSinceLastSnapshot(fs.readFileSync(changesPathFor(out), "utf8"))).toEqual([]);
    const { space, close } = openImageFile(out);
    try {
      const r = await space.evaluate("OzCli answer", { budget: { ms: 5000 } });
      expect(r.ok && (await r.value.toLocal())).toBe(42);
    } finally {
      close();
    }
  });

  it("a failing change is reported, the others applied, and the exit status is 1", async () => {
    const image = freshImage();
    fs.writeFileSync(changesPathFor(image), "");
    const log = new ChangesFile(changesPathFor(image));
    log.append({ kind: "method", className: "OzMissingClass", classSide: false, category: "x", source: "a ^ 1" });
    log.append({ kind: "method", className: "Object", classSide: false, category: "x", source: "ozFine ^ 1" });
    log.close();
    const io = capture();
    expect(await main(["changes", "replay", image], io)).toBe(1);
    expect(io.errors).toMatch(/failed .*OzMissingClass/);
    expect(io.output).toMatch(/replayed 1 of 2/);
  });

  it("usage, help and missing files", async () => {
    const help = capture();
    expect(await main(["changes", "--help"], help)).toBe(0);
    expect(help.output).toMatch(/oz changes IMAGE/);
    expect(await main(["changes"], capture())).toBe(2);
    expect(await main(["changes", "a", "b"], capture())).toBe(2);
    expect(await main(["changes", "replay"], capture())).toBe(2);
    expect(await main(["changes", "x.image", "--bogus"], capture())).toBe(2);
    expect(await main(["changes", "replay", "x.image", "--doit-budget", "soon"], capture())).toBe(2);
    const missing = capture();
    expect(await main(["changes", path.join(dir, "nope.image")], missing)).toBe(1);
    expect(missing.errors).toMatch(/no such image/);
    expect(await main(["changes", "replay", path.join(dir, "nope.image")], capture())).toBe(1);
    // an image without a changes file has no changes
    const bare = freshImage();
    const io = capture();
    expect(await main(["changes", bare], io)).toBe(0);
    expect(io.output).toBe("");
  });
});

describe("crash safety", () => {
  interface Round {
    image: string;
    ready: boolean;
    done: number[];
  }

  async function runAndKill(afterMs: number): Promise<Round> {
    const image = freshImage();
    const { command, args } = await childCommand(path.join(here, "support", "changesChild.ts"));
    const child = spawn(command, [...args, image], { stdio: ["ignore", "pipe", "pipe"] });
    const round: Round = { image, ready: false, done: [] };
    let stderr = "";
    let buffered = "";
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on("data", (d) => void (stderr += d));
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === "ready") {
          round.ready = true;
          timer = setTimeout(() => child.kill("SIGKILL"), afterMs);
        } else if (line.startsWith("done ")) round.done.push(Number(line.slice(5)));
      }
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(guard);
    if (timer) clearTimeout(timer);
    if (!round.ready) throw new Error(`the child never got ready:\n${stderr}`);
    return round;
  }

  it("every change whose call returned before a kill -9 is in the changes file and replays", async () => {
    const delays = [0, 5, 40, 120, 250];
    for (const afterMs of delays) {
      const round = await runAndKill(afterMs);
      const text = fs.readFileSync(changesPathFor(round.image), "utf8");
      const parsed = parseChangesFile(text);
      const entries = parsed.entries;
      expect(entries[0]).toMatchObject({ kind: "classDefinition", className: "OzKillTarget" });
      const methods = new Map(entries.filter((e) => e.kind === "method").map((e) => [(e as { selector: string }).selector, e]));
      const removals = new Set(entries.filter((e) => e.kind === "removeMethod").map((e) => (e as { selector: string }).selector));
      const classes = new Set(entries.filter((e) => e.kind === "classDefinition").map((e) => (e as { className: string }).className));
      for (const i of round.done) {
        expect(methods.get(`m${i}`)?.source, `m${i} after ${afterMs} ms`).toBe(`m${i}\n\t^ ${i}`);
        expect(methods.has(`r${i}`)).toBe(true);
        expect(removals.has(`r${i}`)).toBe(true);
        if (i % 5 === 0) expect(classes.has(`OzKillClass${i}`)).toBe(true);
      }
      // the image on disk never saw these changes: replay them into it
      const { space, close } = openImageFile(round.image);
      try {
        const report = await replayChanges(space, changesSinceLastSnapshot(entries));
        expect(report.failed).toEqual([]);
        const target = (await space.classNamed("OzKillTarget"))!;
        expect(target).toBeDefined();
        for (const i of round.done) {
          const r = await space.evaluate(`OzKillTarget new m${i}`, { budget: { ms: 5000 } });
          expect(r.ok && (await r.value.toLocal())).toBe(i);
          expect(await target.includesSelector(`r${i}`)).toBe(false);
          if (i % 5 === 0) expect(await space.classNamed(`OzKillClass${i}`)).toBeDefined();
        }
      } finally {
        close();
      }
    }
  }, 120_000);
});
