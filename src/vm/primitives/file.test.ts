import { describe, expect, it } from "vitest";
import { createHarness, type Harness, type PrimitiveCall } from "./primitiveHarness.js";
import { MAX_PENDING_FILE_REQUESTS, fileModule, openFileCount } from "./file.js";
import { PrimErr } from "./errors.js";
import { uncoveredPrimitives } from "./ledger.js";
import { HostError, type FileAdapter, type FileEntry, type FileMode } from "../host.js";
import { smallIntOop as int, type Oop } from "../memory/oop.js";
import { bigIntValueOf } from "../memory/integers.js";
import type { PrimitiveFn } from "./table.js";

// ---------------------------------------------------------------- an in-memory FileAdapter

interface OpenFile {
  path: string;
  mode: FileMode;
  released?: () => void;
}

type Call = [string, ...unknown[]];

const enc = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const dec = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const parentOf = (path: string): string => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
const nameOf = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

/**
 * A sandbox in memory. Operations complete in a later microtask, or when `resume` is called while
 * `paused`; `refuseNext` is thrown synchronously by the next call (as quota and limit refusals are);
 * `maxBytes` is the guest's quota of bytes.
 */
class FakeFiles implements FileAdapter {
  readonly calls: Call[] = [];
  readonly data = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>([""]);
  readonly handles = new Map<number, OpenFile>();
  readonly collected: number[] = [];
  nextId = 3;
  modifiedMs = 1_700_000_000_000.4;
  refuseNext: Error | undefined;
  maxBytes = Infinity;
  paused = false;
  private readonly queue: Array<() => void> = [];

  private enter(name: string, ...args: unknown[]): void {
    this.calls.push([name, ...args]);
    const refusal = this.refuseNext;
    if (refusal) {
      this.refuseNext = undefined;
      throw refusal;
    }
  }

  private later<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        try {
          resolve(work());
        } catch (e) {
          reject(e);
        }
      };
      if (this.paused) this.queue.push(run);
      else queueMicrotask(run);
    });
  }

  resume(): void {
    this.paused = false;
    for (const run of this.queue.splice(0)) run();
  }

  private checked(path: string): string {
    if (path.startsWith("/") || path.split("/").includes("..")) throw new HostError("accessDenied", `${path}: outside the sandbox`);
    return path;
  }

  private handle(id: number): OpenFile {
    const f = this.handles.get(id);
    if (!f) throw new HostError("closed", `file ${id} is not open`);
    return f;
  }

  private used(): number {
    let n = 0;
    for (const d of this.data.values()) n += d.length;
    return n;
  }

  private entry(path: string): FileEntry | undefined {
    if (this.dirs.has(path)) return { name: nameOf(path), isDirectory: true, size: 0, modifiedMs: this.modifiedMs };
    const d = this.data.get(path);
    return d && { name: nameOf(path), isDirectory: false, size: d.length, modifiedMs: this.modifiedMs };
  }

  open(path: string, mode: FileMode, released?: () => void): Promise<number> {
    this.enter("open", path, mode);
    return this.later(() => {
      this.checked(path);
      if (this.dirs.has(path)) throw new HostError("invalid", `${path} is a directory`);
      if (!this.dirs.has(parentOf(path))) throw new HostError("notFound", `${parentOf(path)}: no such directory`);
      if (!this.data.has(path)) {
        if (mode === "read") throw new HostError("notFound", `${path}: no such file`);
        this.data.set(path, new Uint8Array(0));
      } else if (mode === "write") this.data.set(path, new Uint8Array(0));
      const id = this.nextId++;
      this.handles.set(id, { path, mode, released });
      return id;
    });
  }

  read(id: number, position: number, max: number): Promise<Uint8Array> {
    this.enter("read", id, position, max);
    const f = this.handle(id);
    if (f.mode !== "read" && f.mode !== "readWrite") throw new HostError("invalid", `${f.path}: not open for reading`);
    return this.later(() => this.data.get(f.path)!.slice(position, position + max));
  }

  write(id: number, position: number, data: Uint8Array): Promise<number> {
    this.enter("write", id, position, Array.from(data));
    const f = this.handle(id);
    if (f.mode === "read") throw new HostError("invalid", `${f.path}: not open for writing`);
    const old = this.data.get(f.path)!;
    const at = f.mode === "append" ? old.length : position;
    const size = Math.max(old.length, at + data.length);
    if (this.used() - old.length + size > this.maxBytes) throw new HostError("quotaExceeded", `the sandbox holds at most ${this.maxBytes} bytes`);
    const copy = data; // not copied here: the plugin must hand over bytes the guest can no longer change
    return this.later(() => {
      const next = new Uint8Array(size);
      next.set(this.data.get(f.path)!);
      next.set(copy, at);
      this.data.set(f.path, next);
      return size;
    });
  }

  truncate(id: number, size: number): Promise<void> {
    this.enter("truncate", id, size);
    const f = this.handle(id);
    return this.later(() => {
      const next = new Uint8Array(size);
      next.set(this.data.get(f.path)!.subarray(0, size));
      this.data.set(f.path, next);
    });
  }

  /** sizes above this one are reported as `hugeSize` (a file too big to hold here) */
  hugeSize: number | undefined;

  size(id: number): Promise<number> {
    this.enter("size", id);
    const f = this.handle(id);
    return this.later(() => this.hugeSize ?? this.data.get(f.path)!.length);
  }

  close(id: number): Promise<void> {
    this.enter("close", id);
    const f = this.handle(id);
    return this.later(() => {
      this.handles.delete(id);
      f.released?.();
    });
  }

  ownerCollected(id: number): void {
    this.calls.push(["ownerCollected", id]);
    this.collected.push(id);
  }

  stat(path: string): Promise<FileEntry | undefined> {
    this.enter("stat", path);
    return this.later(() => this.entry(this.checked(path)));
  }

  delete(path: string): Promise<void> {
    this.enter("delete", path);
    return this.later(() => {
      if (!this.data.has(this.checked(path))) throw new HostError("notFound", `${path}: no such file`);
      this.data.delete(path);
    });
  }

  rename(from: string, to: string): Promise<void> {
    this.enter("rename", from, to);
    return this.later(() => {
      const d = this.data.get(this.checked(from));
      if (!d) throw new HostError("notFound", `${from}: no such file`);
      if (this.entry(this.checked(to))) throw new HostError("exists", `${to} exists`);
      this.data.delete(from);
      this.data.set(to, d);
    });
  }

  createDirectory(path: string): Promise<void> {
    this.enter("createDirectory", path);
    return this.later(() => {
      if (this.entry(this.checked(path))) throw new HostError("exists", `${path} exists`);
      this.dirs.add(path);
    });
  }

  deleteDirectory(path: string): Promise<void> {
    this.enter("deleteDirectory", path);
    return this.later(() => {
      if (!this.dirs.has(this.checked(path))) throw new HostError("notFound", `${path}: no such directory`);
      if (this.children(path).length > 0) throw new HostError("io", `${path}: directory not empty`);
      this.dirs.delete(path);
    });
  }

  private children(path: string): string[] {
    const all = [...this.dirs, ...this.data.keys()].filter((p) => p !== "" && p !== path && parentOf(p) === path);
    return all.sort();
  }

  entries(path: string): Promise<FileEntry[]> {
    this.enter("entries", path);
    return this.later(() => {
      if (!this.dirs.has(this.checked(path))) throw new HostError("notFound", `${path}: no such directory`);
      return this.children(path).map((p) => this.entry(p)!);
    });
  }

  callsOf(name: string): unknown[][] {
    return this.calls.filter((c) => c[0] === name).map((c) => c.slice(1));
  }
}

// ---------------------------------------------------------------- helpers

const fn = (name: string): PrimitiveFn => {
  const f = fileModule[name];
  if (f === undefined) throw new Error(`no function ${name}`);
  return f;
};

/** Lets the fake's completions and the plugin's reactions to them run. */
const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

interface Setup {
  h: Harness;
  fake: FakeFiles;
  wakes: () => number;
  nil: Oop;
  /** a stand-in for a FileStream (the owner of a file id) */
  owner: () => Oop;
  str: (text: string) => Oop;
}

function setup(withAdapter = true, options: Parameters<typeof createHarness>[0] = {}): Setup {
  const h = createHarness(options);
  const fake = new FakeFiles();
  if (withAdapter) h.vm.host.files = fake;
  let wakes = 0;
  h.vm.host.wake = () => void wakes++;
  return {
    h, fake, wakes: () => wakes, nil: h.mem.nilOop,
    owner: () => h.instance("Point", [h.mem.nilOop, h.mem.nilOop]),
    str: (text) => h.string(text),
  };
}

function call(s: Setup, name: string, receiver: Oop, ...args: Oop[]): PrimitiveCall {
  return s.h.call(fn(name), receiver, ...args);
}

function ok(s: Setup, name: string, receiver: Oop, ...args: Oop[]): Oop {
  const r = call(s, name, receiver, ...args);
  if (!r.ok) throw new Error(`${name} failed with code ${r.code} (${JSON.stringify(lastError(s))})`);
  return r.result;
}

function expectFail(s: Setup, code: number, name: string, receiver: Oop, ...args: Oop[]): void {
  const r = call(s, name, receiver, ...args);
  expect(r.ok).toBe(false);
  expect(r.code).toBe(code);
}

function lastError(s: Setup): [string, string] | undefined {
  const r = s.h.call(fn("primitiveFileLastError"), s.nil);
  expect(r.ok).toBe(true);
  if (r.result === s.nil) return undefined;
  const { mem } = s.h;
  expect(mem.slotCount(r.result)).toBe(2);
  return [mem.stringOf(mem.fetchPointer(r.result, 0)), mem.stringOf(mem.fetchPointer(r.result, 1))];
}

function expectLastError(s: Setup, kind: string, message?: RegExp): void {
  const e = lastError(s);
  expect(e?.[0]).toBe(kind);
  if (message) expect(e?.[1]).toMatch(message);
}

function signalled(s: Setup, semaphore: Oop): number {
  return s.h.vm.pendingSignals.filter((p) => p.oop === semaphore).length;
}

interface Started {
  req: Oop;
  sem: Oop;
}

/** Starts a request with a new Semaphore as the last argument; answers the request id and the semaphore. */
function start(s: Setup, name: string, receiver: Oop, ...args: Oop[]): Started {
  const sem = s.h.newSemaphore();
  const req = ok(s, name, receiver, ...args, sem);
  expect(req & 1).toBe(1);
  return { req, sem };
}

/** Waits for a request: it must be done and its semaphore signalled once; answers primRequestResult:. */
async function finish(s: Setup, started: Started): Promise<PrimitiveCall> {
  await flush();
  expect(ok(s, "primitiveFileRequestDone", s.nil, started.req)).toBe(s.h.mem.trueOop);
  expect(signalled(s, started.sem)).toBe(1);
  return call(s, "primitiveFileRequestResult", s.nil, started.req);
}

/** Runs a request to its end and answers its result, which must be a success. */
async function value(s: Setup, name: string, receiver: Oop, ...args: Oop[]): Promise<Oop> {
  const r = await finish(s, start(s, name, receiver, ...args));
  if (!r.ok) throw new Error(`${name}'s request failed with code ${r.code} (${JSON.stringify(lastError(s))})`);
  return r.result;
}

/** Runs a request that the adapter fails asynchronously: its result fails with `kind`. */
async function failedRequest(s: Setup, kind: string, name: string, receiver: Oop, ...args: Oop[]): Promise<void> {
  const started = start(s, name, receiver, ...args);
  const r = await finish(s, started);
  expect(r.ok).toBe(false);
  expect(r.code).toBe(kind === "quotaExceeded" || kind === "limitExceeded" ? PrimErr.limitExceeded : kind === "invalid" ? PrimErr.badArgument : PrimErr.inappropriate);
  expectLastError(s, kind);
  // the request is forgotten
  expectFail(s, PrimErr.badArgument, "primitiveFileRequestDone", s.nil, started.req);
}

async function open(s: Setup, path: string, mode: FileMode, owner = s.owner()): Promise<{ id: number; idOop: Oop }> {
  const idOop = await value(s, "primitiveFileOpen", owner, s.str(path), s.str(mode));
  expect(idOop & 1).toBe(1);
  return { id: idOop >> 1, idOop };
}

function bytesOf(s: Setup, oop: Oop): number[] {
  const { mem } = s.h;
  expect(mem.fetchClassOf(oop)).toBe(s.h.classes.ByteArray);
  return Array.from({ length: mem.byteLength(oop) }, (_, i) => mem.fetchByte(oop, i));
}

/** An entry array #(name isDirectory size modifiedMs) as a JS object. */
function entryOf(s: Setup, oop: Oop): FileEntry {
  const { mem } = s.h;
  expect(mem.fetchClassOf(oop)).toBe(s.h.classes.Array);
  expect(mem.slotCount(oop)).toBe(4);
  const dir = mem.fetchPointer(oop, 1);
  expect([mem.trueOop, mem.falseOop]).toContain(dir);
  return {
    name: mem.stringOf(mem.fetchPointer(oop, 0)),
    isDirectory: dir === mem.trueOop,
    size: Number(bigIntValueOf(mem, mem.fetchPointer(oop, 2))),
    modifiedMs: Number(bigIntValueOf(mem, mem.fetchPointer(oop, 3))),
  };
}


/** The request-starting primitives, with valid arguments (but the semaphore) for a file id `f`. */
function requestArgs(s: Setup, f: Oop): Array<[string, Oop[]]> {
  const path = s.str("a.txt");
  return [
    ["primitiveFileOpen", [path, s.str("read")]],
    ["primitiveFileRead", [f, int(0), int(1)]],
    ["primitiveFileWrite", [f, int(0), s.h.bytes([1]), int(1), int(1)]],
    ["primitiveFileTruncate", [f, int(0)]],
    ["primitiveFileSize", [f]],
    ["primitiveFileClose", [f]],
    ["primitiveFileStat", [path]],
    ["primitiveFileDelete", [path]],
    ["primitiveFileRename", [path, s.str("b.txt")]],
    ["primitiveFileCreateDirectory", [path]],
    ["primitiveFileDeleteDirectory", [path]],
    ["primitiveFileEntries", [s.str("")]],
  ];
}

// ---------------------------------------------------------------- tests

describe("requests", () => {
  it("answer a request id at once; the semaphore is signalled and the host woken only when the adapter completes", async () => {
    const s = setup();
    s.fake.data.set("a.txt", enc("abc"));
    s.fake.paused = true;
    const started = start(s, "primitiveFileStat", s.nil, s.str("a.txt"));
    expect(started.req).toBe(int(1));
    await flush();
    expect(ok(s, "primitiveFileRequestDone", s.nil, started.req)).toBe(s.h.mem.falseOop);
    expect(signalled(s, started.sem)).toBe(0);
    expect(s.wakes()).toBe(0);
    expectFail(s, PrimErr.badArgument, "primitiveFileRequestResult", s.nil, started.req);
    expectLastError(s, "invalid", /not finished/);
    const second = start(s, "primitiveFileStat", s.nil, s.str("b.txt"));
    expect(second.req).toBe(int(2));
    s.fake.resume();
    const r = await finish(s, started);
    expect(r.ok).toBe(true);
    expect(entryOf(s, r.result)).toEqual({ name: "a.txt", isDirectory: false, size: 3, modifiedMs: 1_700_000_000_000 });
    expect(signalled(s, second.sem)).toBe(1);
    expect(s.wakes()).toBe(2);
    expect(ok(s, "primitiveFileRequestResult", s.nil, second.req)).toBe(s.nil);
  });

  it("every request fails without an adapter, or without a Semaphore, before calling the adapter", async () => {
    const s = setup();
    const { idOop } = await open(s, "a.txt", "write");
    s.fake.calls.length = 0;
    for (const [name, args] of requestArgs(s, idOop)) {
      expectFail(s, PrimErr.badArgument, name, s.owner(), ...args, int(1));
      expectLastError(s, "invalid", /Semaphore/);
      expectFail(s, PrimErr.badArgument, name, s.owner(), ...args, s.str("twelve bytes or more"));
      expectFail(s, PrimErr.badArgument, name, s.owner(), ...args, s.h.bytes(new Array(12).fill(0)));
      if (name !== "primitiveFileClose") expectFail(s, PrimErr.badArgument, name, s.owner(), ...args, s.nil);
    }
    expect(s.fake.calls).toEqual([]);
    s.h.vm.host.files = undefined;
    for (const [name, args] of requestArgs(s, idOop)) {
      expectFail(s, PrimErr.unsupported, name, s.owner(), ...args, s.h.newSemaphore());
      expectLastError(s, "unavailable");
    }
  });

  it(`refuse more than ${MAX_PENDING_FILE_REQUESTS} requests not yet fetched`, async () => {
    const s = setup();
    s.fake.paused = true;
    const started: Started[] = [];
    for (let i = 0; i < MAX_PENDING_FILE_REQUESTS; i++) started.push(start(s, "primitiveFileStat", s.nil, s.str(`f${i}`)));
    expectFail(s, PrimErr.limitExceeded, "primitiveFileStat", s.nil, s.str("one more"), s.h.newSemaphore());
    expectLastError(s, "quotaExceeded", /too many file requests/);
    expect(s.fake.callsOf("stat")).toHaveLength(MAX_PENDING_FILE_REQUESTS);
    s.fake.resume();
    await flush();
    // finished but not fetched still counts
    expectFail(s, PrimErr.limitExceeded, "primitiveFileStat", s.nil, s.str("one more"), s.h.newSemaphore());
    expect(ok(s, "primitiveFileRequestResult", s.nil, started[0].req)).toBe(s.nil);
    start(s, "primitiveFileStat", s.nil, s.str("one more"));
  });
});

describe("primitiveFileOpen", () => {
  it("opens in each mode, answering the adapter's id, which the other primitives then accept", async () => {
    const s = setup();
    s.fake.data.set("old.txt", enc("old contents"));
    const w = await open(s, "new.txt", "write");
    expect(w.id).toBe(3);
    const r = await open(s, "old.txt", "read");
    const a = await open(s, "old.txt", "append");
    const rw = await open(s, "log.txt", "readWrite");
    expect([r.id, a.id, rw.id]).toEqual([4, 5, 6]);
    expect(s.fake.callsOf("open")).toEqual([["new.txt", "write"], ["old.txt", "read"], ["old.txt", "append"], ["log.txt", "readWrite"]]);
    expect(openFileCount(s.h.vm)).toBe(4);
    expect(s.fake.data.get("new.txt")).toEqual(new Uint8Array(0));
    expect(await value(s, "primitiveFileSize", s.nil, r.idOop)).toBe(int(12));
  });

  it("takes a Symbol or a wide string as the path", async () => {
    const s = setup();
    await value(s, "primitiveFileOpen", s.owner(), s.h.sym("sym.txt"), s.h.sym("write"));
    await value(s, "primitiveFileOpen", s.owner(), s.h.wordArray([0x3b1, 0x3b2, 0x2e, 0x74]), s.str("write"));
    expect(s.fake.callsOf("open")).toEqual([["sym.txt", "write"], ["\u03b1\u03b2.t", "write"]]);
  });

  it("tells the adapter when the owner of an open file is collected, even before the open completes", async () => {
    const s = setup();
    const kept = s.h.mem.newHandle(s.owner());
    const a = await open(s, "a.txt", "write");
    await open(s, "b.txt", "write", kept.oop);
    s.h.vm.collect(true);
    expect(s.fake.collected).toEqual([a.id]);
    s.fake.paused = true;
    const sem = s.h.mem.newHandle(s.h.newSemaphore()); // the collection moves it
    const req = ok(s, "primitiveFileOpen", s.owner(), s.str("c.txt"), s.str("write"), sem.oop);
    s.h.vm.collect(true);
    expect(s.fake.collected).toEqual([a.id]);
    s.fake.resume();
    await flush();
    expect(signalled(s, sem.oop)).toBe(1);
    const id = ok(s, "primitiveFileRequestResult", s.nil, req);
    expect(s.fake.collected).toEqual([a.id, id >> 1]);
  });

  it("fails on a path that is not a String or an unknown mode, without calling the adapter", () => {
    const s = setup();
    const sem = s.h.newSemaphore();
    for (const [path, mode] of [
      [s.nil, s.str("read")],
      [int(1), s.str("read")],
      [s.h.array([]), s.str("read")],
      [s.str("a.txt"), s.str("rw")],
      [s.str("a.txt"), s.str("READ")],
      [s.str("a.txt"), s.nil],
      [s.str("a.txt"), int(0)],
    ]) {
      expectFail(s, PrimErr.badArgument, "primitiveFileOpen", s.owner(), path, mode, sem);
    }
    expectLastError(s, "invalid", /mode/);
    expect(s.fake.calls).toEqual([]);
  });

  it("fails at once on a quota or limit refusal, holding nothing", () => {
    const s = setup();
    const weak = s.h.vm.collector.weakHandles.size;
    const handles = s.h.mem.handles.size;
    s.fake.refuseNext = new HostError("quotaExceeded", "this guest has 64 open files");
    expectFail(s, PrimErr.limitExceeded, "primitiveFileOpen", s.owner(), s.str("a.txt"), s.str("write"), s.h.newSemaphore());
    expectLastError(s, "quotaExceeded", /64 open files/);
    s.fake.refuseNext = new HostError("limitExceeded", "the daemon has 1024 open files");
    expectFail(s, PrimErr.limitExceeded, "primitiveFileOpen", s.owner(), s.str("a.txt"), s.str("write"), s.h.newSemaphore());
    expectLastError(s, "limitExceeded", /daemon/);
    expect(s.h.vm.collector.weakHandles.size).toBe(weak);
    expect(s.h.mem.handles.size).toBe(handles);
    expect(openFileCount(s.h.vm)).toBe(0);
  });

  it("reports a refusal the adapter finds later through the request's result", async () => {
    const s = setup();
    const weak = s.h.vm.collector.weakHandles.size;
    await failedRequest(s, "notFound", "primitiveFileOpen", s.owner(), s.str("missing.txt"), s.str("read"));
    await failedRequest(s, "accessDenied", "primitiveFileOpen", s.owner(), s.str("../other/secret"), s.str("read"));
    await failedRequest(s, "invalid", "primitiveFileOpen", s.owner(), s.str(""), s.str("write"));
    expect(s.h.vm.collector.weakHandles.size).toBe(weak);
    expect(openFileCount(s.h.vm)).toBe(0);
  });
});

describe("primitiveFileRead", () => {
  it("answers a ByteArray of exactly the bytes at the position, empty at the end", async () => {
    const s = setup();
    s.fake.data.set("a.bin", Uint8Array.from([104, 101, 108, 108, 111, 0, 255, 119, 111]));
    const { id, idOop } = await open(s, "a.bin", "read");
    expect(bytesOf(s, await value(s, "primitiveFileRead", s.nil, idOop, int(5), int(3)))).toEqual([0, 255, 119]);
    expect(bytesOf(s, await value(s, "primitiveFileRead", s.nil, idOop, int(0), int(100)))).toEqual([104, 101, 108, 108, 111, 0, 255, 119, 111]);
    expect(bytesOf(s, await value(s, "primitiveFileRead", s.nil, idOop, int(9), int(10)))).toEqual([]);
    expect(bytesOf(s, await value(s, "primitiveFileRead", s.nil, idOop, int(2), int(0)))).toEqual([]);
    expect(s.fake.callsOf("read")).toEqual([[id, 5, 3], [id, 0, 100], [id, 9, 10], [id, 2, 0]]);
  });

  it("fails on a foreign, closed or non-Integer id and on a bad position or count", async () => {
    const s = setup();
    s.fake.data.set("a.txt", enc("abc"));
    const { idOop } = await open(s, "a.txt", "read");
    const closed = await open(s, "a.txt", "read");
    await value(s, "primitiveFileClose", s.nil, closed.idOop);
    const sem = s.h.newSemaphore();
    expectFail(s, PrimErr.inappropriate, "primitiveFileRead", s.nil, int(99), int(0), int(1), sem);
    expectLastError(s, "closed", /99/);
    expectFail(s, PrimErr.inappropriate, "primitiveFileRead", s.nil, closed.idOop, int(0), int(1), sem);
    expectFail(s, PrimErr.badArgument, "primitiveFileRead", s.nil, s.nil, int(0), int(1), sem);
    expectLastError(s, "invalid", /handle/);
    expectFail(s, PrimErr.badArgument, "primitiveFileRead", s.nil, idOop, int(-1), int(1), sem);
    expectLastError(s, "invalid", /position/);
    expectFail(s, PrimErr.badArgument, "primitiveFileRead", s.nil, idOop, s.h.float(1), int(1), sem);
    expectFail(s, PrimErr.badArgument, "primitiveFileRead", s.nil, idOop, int(0), int(-1), sem);
    expectLastError(s, "invalid", /count/);
    expectFail(s, PrimErr.badArgument, "primitiveFileRead", s.nil, idOop, int(0), s.nil, sem);
    expect(s.fake.callsOf("read")).toEqual([]);
  });

  it("fails at once when the adapter refuses, and through the result when the read fails", async () => {
    const s = setup();
    const w = await open(s, "a.txt", "write");
    expectFail(s, PrimErr.badArgument, "primitiveFileRead", s.nil, w.idOop, int(0), int(1), s.h.newSemaphore());
    expectLastError(s, "invalid", /not open for reading/);
    const r = await open(s, "a.txt", "read");
    s.fake.data.delete("a.txt"); // the fake then fails inside the operation
    const started = start(s, "primitiveFileRead", s.nil, r.idOop, int(0), int(1));
    const result = await finish(s, started);
    expect(result.ok).toBe(false);
    expect(result.code).toBe(PrimErr.inappropriate);
    expectLastError(s, "io");
  });
});

describe("primitiveFileWrite", () => {
  it("writes exactly the range of a ByteArray or String at the position, answering the size after", async () => {
    const s = setup();
    const { id, idOop } = await open(s, "a.bin", "readWrite");
    const data = s.h.bytes([1, 2, 3, 4, 5, 6]);
    expect(await value(s, "primitiveFileWrite", s.nil, idOop, int(0), data, int(2), int(3))).toBe(int(3));
    expect(await value(s, "primitiveFileWrite", s.nil, idOop, int(5), s.str("hello world"), int(7), int(5))).toBe(int(10));
    expect(await value(s, "primitiveFileWrite", s.nil, idOop, int(1), data, int(7), int(0))).toBe(int(10));
    expect(Array.from(s.fake.data.get("a.bin")!)).toEqual([2, 3, 4, 0, 0, ...enc("world")]);
    expect(s.fake.callsOf("write")).toEqual([[id, 0, [2, 3, 4]], [id, 5, Array.from(enc("world"))], [id, 1, []]]);
    expect(bytesOf(s, data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("writes the bytes the buffer held when the write started", async () => {
    const s = setup();
    const { idOop } = await open(s, "a.bin", "write");
    const data = s.h.bytes([1, 2, 3]);
    s.fake.paused = true;
    const started = start(s, "primitiveFileWrite", s.nil, idOop, int(0), data, int(1), int(3));
    s.h.mem.storeByte(data, 0, 99);
    s.fake.resume();
    expect((await finish(s, started)).result).toBe(int(3));
    expect(Array.from(s.fake.data.get("a.bin")!)).toEqual([1, 2, 3]);
  });

  it("appends in append mode", async () => {
    const s = setup();
    s.fake.data.set("log", enc("one\n"));
    const { idOop } = await open(s, "log", "append");
    expect(await value(s, "primitiveFileWrite", s.nil, idOop, int(0), s.str("two\n"), int(1), int(4))).toBe(int(8));
    expect(dec(s.fake.data.get("log")!)).toBe("one\ntwo\n");
  });

  it("fails on a buffer that is not bytes, a range outside it, a bad position or a stale id", async () => {
    const s = setup();
    const { idOop } = await open(s, "a.bin", "write");
    const data = s.h.bytes([1, 2, 3]);
    const sem = s.h.newSemaphore();
    for (const [buffer, from, count] of [
      [data, int(0), int(1)],
      [data, int(1), int(4)],
      [data, int(3), int(2)],
      [data, int(5), int(0)],
      [data, int(1), int(-1)],
      [data, s.nil, int(1)],
      [data, int(1), s.nil],
      [s.h.array([int(1)]), int(1), int(1)],
      [s.h.wordArray([1]), int(1), int(1)],
      [s.nil, int(1), int(0)],
      [s.h.makeMethod([0x7c], []), int(1), int(1)],
    ]) {
      expectFail(s, PrimErr.badArgument, "primitiveFileWrite", s.nil, idOop, int(0), buffer, from, count, sem);
    }
    expectLastError(s, "invalid", /range/);
    expectFail(s, PrimErr.badArgument, "primitiveFileWrite", s.nil, idOop, int(-1), data, int(1), int(1), sem);
    expectLastError(s, "invalid", /position/);
    expectFail(s, PrimErr.inappropriate, "primitiveFileWrite", s.nil, int(42), int(0), data, int(1), int(1), sem);
    expectLastError(s, "closed");
    expect(s.fake.callsOf("write")).toEqual([]);
  });

  it("fails at once on the sandbox's byte quota, writing nothing", async () => {
    const s = setup();
    s.fake.maxBytes = 4;
    const { idOop } = await open(s, "a.bin", "write");
    expect(await value(s, "primitiveFileWrite", s.nil, idOop, int(0), s.str("abc"), int(1), int(3))).toBe(int(3));
    expectFail(s, PrimErr.limitExceeded, "primitiveFileWrite", s.nil, idOop, int(3), s.str("de"), int(1), int(2), s.h.newSemaphore());
    expectLastError(s, "quotaExceeded", /at most 4 bytes/);
    expect(dec(s.fake.data.get("a.bin")!)).toBe("abc");
    const r = await open(s, "a.bin", "read");
    expectFail(s, PrimErr.badArgument, "primitiveFileWrite", s.nil, r.idOop, int(0), s.str("x"), int(1), int(1), s.h.newSemaphore());
    expectLastError(s, "invalid", /not open for writing/);
  });
});

describe("primitiveFileTruncate and primitiveFileSize", () => {
  it("truncate answers nil once the adapter cut the file", async () => {
    const s = setup();
    s.fake.data.set("a.txt", enc("hello world"));
    const { id, idOop } = await open(s, "a.txt", "readWrite");
    expect(await value(s, "primitiveFileTruncate", s.nil, idOop, int(5))).toBe(s.nil);
    expect(dec(s.fake.data.get("a.txt")!)).toBe("hello");
    expect(await value(s, "primitiveFileTruncate", s.nil, idOop, int(0))).toBe(s.nil);
    expect(s.fake.callsOf("truncate")).toEqual([[id, 5], [id, 0]]);
    expect(await value(s, "primitiveFileSize", s.nil, idOop)).toBe(int(0));
  });

  it("truncate fails on a bad size or a stale id, and reports the adapter's failure", async () => {
    const s = setup();
    const { idOop } = await open(s, "a.txt", "write");
    const sem = s.h.newSemaphore();
    expectFail(s, PrimErr.badArgument, "primitiveFileTruncate", s.nil, idOop, int(-1), sem);
    expectLastError(s, "invalid", /size/);
    expectFail(s, PrimErr.badArgument, "primitiveFileTruncate", s.nil, idOop, s.str("0"), sem);
    expectFail(s, PrimErr.inappropriate, "primitiveFileTruncate", s.nil, int((idOop >> 1) + 2), int(0), sem);
    expect(s.fake.callsOf("truncate")).toEqual([]);
    s.fake.data.delete("a.txt");
    await failedRequest(s, "io", "primitiveFileTruncate", s.nil, idOop, int(0));
  });

  it("size answers the adapter's size, a LargePositiveInteger when it is big", async () => {
    const s = setup();
    s.fake.data.set("a.txt", enc("four"));
    const { id, idOop } = await open(s, "a.txt", "read");
    expect(await value(s, "primitiveFileSize", s.nil, idOop)).toBe(int(4));
    s.fake.hugeSize = 3_000_000_000;
    const big = await value(s, "primitiveFileSize", s.nil, idOop);
    expect(s.h.mem.fetchClassOf(big)).toBe(s.h.classes.LargePositiveInteger);
    expect(bigIntValueOf(s.h.mem, big)).toBe(3_000_000_000n);
    expect(s.fake.callsOf("size")).toEqual([[id], [id]]);
  });

  it("size fails on a stale or non-Integer id, and when the adapter refuses", async () => {
    const s = setup();
    const { idOop } = await open(s, "a.txt", "write");
    expectFail(s, PrimErr.inappropriate, "primitiveFileSize", s.nil, int(1000), s.h.newSemaphore());
    expectFail(s, PrimErr.badArgument, "primitiveFileSize", s.nil, s.str("3"), s.h.newSemaphore());
    s.fake.refuseNext = new HostError("closed", "the backstop closed it");
    expectFail(s, PrimErr.inappropriate, "primitiveFileSize", s.nil, idOop, s.h.newSemaphore());
    expectLastError(s, "closed", /backstop/);
  });
});

describe("primitiveFileClose", () => {
  it("answers nil once closed; the id is then forgotten", async () => {
    const s = setup();
    const { id, idOop } = await open(s, "a.txt", "write");
    expect(await value(s, "primitiveFileClose", s.nil, idOop)).toBe(s.nil);
    expect(s.fake.callsOf("close")).toEqual([[id]]);
    expect(openFileCount(s.h.vm)).toBe(0);
    expectFail(s, PrimErr.inappropriate, "primitiveFileClose", s.nil, idOop, s.h.newSemaphore());
    expectLastError(s, "closed");
    // the owner is no longer watched
    s.h.vm.collect(true);
    expect(s.fake.collected).toEqual([]);
  });

  it("with a nil semaphore starts the close and answers nil, whatever the id", async () => {
    const s = setup();
    const { id, idOop } = await open(s, "a.txt", "write");
    expect(ok(s, "primitiveFileClose", s.nil, idOop, s.nil)).toBe(s.nil);
    expect(s.fake.callsOf("close")).toEqual([[id]]);
    await flush();
    expect(openFileCount(s.h.vm)).toBe(0);
    expect(ok(s, "primitiveFileClose", s.nil, idOop, s.nil)).toBe(s.nil);
    expect(ok(s, "primitiveFileClose", s.nil, s.nil, s.nil)).toBe(s.nil);
    expect(s.fake.callsOf("close")).toEqual([[id]]);
    const other = await open(s, "b.txt", "write");
    s.fake.refuseNext = new HostError("closed", "already closed");
    expect(ok(s, "primitiveFileClose", s.nil, other.idOop, s.nil)).toBe(s.nil);
    s.h.vm.host.files = undefined;
    expect(ok(s, "primitiveFileClose", s.nil, other.idOop, s.nil)).toBe(s.nil);
  });

  it("fails on a stale or non-Integer id, and when the adapter refuses", async () => {
    const s = setup();
    const { idOop } = await open(s, "a.txt", "write");
    expectFail(s, PrimErr.inappropriate, "primitiveFileClose", s.nil, int(77), s.h.newSemaphore());
    expectFail(s, PrimErr.badArgument, "primitiveFileClose", s.nil, s.nil, s.h.newSemaphore());
    s.fake.refuseNext = new HostError("io", "EIO");
    expectFail(s, PrimErr.inappropriate, "primitiveFileClose", s.nil, idOop, s.h.newSemaphore());
    expectLastError(s, "io", /EIO/);
    expect(openFileCount(s.h.vm)).toBe(1);
  });
});

describe("paths", () => {
  it("stat answers #(name isDirectory size modifiedMs), or nil when there is nothing", async () => {
    const s = setup();
    s.fake.dirs.add("docs");
    s.fake.data.set("docs/a.txt", enc("12345"));
    expect(entryOf(s, await value(s, "primitiveFileStat", s.nil, s.str("docs/a.txt")))).toEqual({ name: "a.txt", isDirectory: false, size: 5, modifiedMs: 1_700_000_000_000 });
    expect(entryOf(s, await value(s, "primitiveFileStat", s.nil, s.str("docs")))).toEqual({ name: "docs", isDirectory: true, size: 0, modifiedMs: 1_700_000_000_000 });
    expect(await value(s, "primitiveFileStat", s.nil, s.str("docs/none"))).toBe(s.nil);
    expect(s.fake.callsOf("stat")).toEqual([["docs/a.txt"], ["docs"], ["docs/none"]]);
  });

  it("delete, rename, createDirectory and deleteDirectory answer nil once done", async () => {
    const s = setup();
    s.fake.data.set("a.txt", enc("A"));
    expect(await value(s, "primitiveFileCreateDirectory", s.nil, s.str("d"))).toBe(s.nil);
    expect(s.fake.dirs.has("d")).toBe(true);
    expect(await value(s, "primitiveFileRename", s.nil, s.str("a.txt"), s.str("d/b.txt"))).toBe(s.nil);
    expect(dec(s.fake.data.get("d/b.txt")!)).toBe("A");
    expect(s.fake.data.has("a.txt")).toBe(false);
    expect(await value(s, "primitiveFileDelete", s.nil, s.str("d/b.txt"))).toBe(s.nil);
    expect(s.fake.data.size).toBe(0);
    expect(await value(s, "primitiveFileDeleteDirectory", s.nil, s.str("d"))).toBe(s.nil);
    expect(s.fake.dirs.has("d")).toBe(false);
    expect(s.fake.calls).toEqual([
      ["createDirectory", "d"],
      ["rename", "a.txt", "d/b.txt"],
      ["delete", "d/b.txt"],
      ["deleteDirectory", "d"],
    ]);
  });

  it("entries answers an Array of entry arrays in the adapter's order, empty for an empty directory", async () => {
    const s = setup();
    s.fake.dirs.add("sub");
    s.fake.dirs.add("sub/inner");
    s.fake.data.set("b.txt", enc("bb"));
    s.fake.data.set("sub/x", enc("x"));
    const list = await value(s, "primitiveFileEntries", s.nil, s.str(""));
    const { mem } = s.h;
    expect(mem.fetchClassOf(list)).toBe(s.h.classes.Array);
    expect(Array.from({ length: mem.slotCount(list) }, (_, i) => entryOf(s, mem.fetchPointer(list, i)))).toEqual([
      { name: "b.txt", isDirectory: false, size: 2, modifiedMs: 1_700_000_000_000 },
      { name: "sub", isDirectory: true, size: 0, modifiedMs: 1_700_000_000_000 },
    ]);
    const sub = await value(s, "primitiveFileEntries", s.nil, s.str("sub"));
    expect(mem.slotCount(sub)).toBe(2);
    expect(entryOf(s, mem.fetchPointer(sub, 0)).name).toBe("inner");
    expect(mem.slotCount(await value(s, "primitiveFileEntries", s.nil, s.str("sub/inner")))).toBe(0);
    expect(s.fake.callsOf("entries")).toEqual([[""], ["sub"], ["sub/inner"]]);
  });

  it("each fails at once on a path that is not a String, without calling the adapter", () => {
    const s = setup();
    const sem = s.h.newSemaphore();
    const good = s.str("a");
    for (const bad of [s.nil, int(3), s.h.array([good]), s.h.char(97)]) {
      expectFail(s, PrimErr.badArgument, "primitiveFileStat", s.nil, bad, sem);
      expectFail(s, PrimErr.badArgument, "primitiveFileDelete", s.nil, bad, sem);
      expectFail(s, PrimErr.badArgument, "primitiveFileRename", s.nil, bad, good, sem);
      expectFail(s, PrimErr.badArgument, "primitiveFileRename", s.nil, good, bad, sem);
      expectFail(s, PrimErr.badArgument, "primitiveFileCreateDirectory", s.nil, bad, sem);
      expectFail(s, PrimErr.badArgument, "primitiveFileDeleteDirectory", s.nil, bad, sem);
      expectFail(s, PrimErr.badArgument, "primitiveFileEntries", s.nil, bad, sem);
    }
    expectLastError(s, "invalid", /path/);
    expect(s.fake.calls).toEqual([]);
  });

  it("each reports the adapter's refusals through the request's result", async () => {
    const s = setup();
    s.fake.dirs.add("full");
    s.fake.data.set("full/f", enc("f"));
    s.fake.data.set("a", enc("a"));
    await failedRequest(s, "accessDenied", "primitiveFileStat", s.nil, s.str("/etc/passwd"));
    await failedRequest(s, "notFound", "primitiveFileDelete", s.nil, s.str("missing"));
    await failedRequest(s, "notFound", "primitiveFileRename", s.nil, s.str("missing"), s.str("b"));
    await failedRequest(s, "exists", "primitiveFileRename", s.nil, s.str("a"), s.str("full"));
    await failedRequest(s, "accessDenied", "primitiveFileRename", s.nil, s.str("a"), s.str("../b"));
    await failedRequest(s, "exists", "primitiveFileCreateDirectory", s.nil, s.str("full"));
    await failedRequest(s, "io", "primitiveFileDeleteDirectory", s.nil, s.str("full"));
    await failedRequest(s, "notFound", "primitiveFileDeleteDirectory", s.nil, s.str("none"));
    await failedRequest(s, "notFound", "primitiveFileEntries", s.nil, s.str("none"));
    expect(dec(s.fake.data.get("a")!)).toBe("a");
    expect(s.fake.dirs.has("full")).toBe(true);
  });

  it("each fails at once when the adapter refuses synchronously", () => {
    const s = setup();
    const cases: Array<[string, Oop[]]> = [
      ["primitiveFileStat", [s.str("a")]],
      ["primitiveFileDelete", [s.str("a")]],
      ["primitiveFileRename", [s.str("a"), s.str("b")]],
      ["primitiveFileCreateDirectory", [s.str("a")]],
      ["primitiveFileDeleteDirectory", [s.str("a")]],
      ["primitiveFileEntries", [s.str("")]],
    ];
    for (const [name, args] of cases) {
      s.fake.refuseNext = new HostError("limitExceeded", `${name}: the daemon is busy`);
      expectFail(s, PrimErr.limitExceeded, name, s.nil, ...args, s.h.newSemaphore());
      expectLastError(s, "limitExceeded", new RegExp(name));
    }
  });
});

describe("primitiveFileRequestDone and primitiveFileRequestResult", () => {
  it("RequestDone answers false, then true; RequestResult answers once and forgets the request", async () => {
    const s = setup();
    s.fake.paused = true;
    const started = start(s, "primitiveFileCreateDirectory", s.nil, s.str("d"));
    expect(ok(s, "primitiveFileRequestDone", s.nil, started.req)).toBe(s.h.mem.falseOop);
    s.fake.resume();
    await flush();
    expect(ok(s, "primitiveFileRequestDone", s.nil, started.req)).toBe(s.h.mem.trueOop);
    expect(ok(s, "primitiveFileRequestDone", s.nil, started.req)).toBe(s.h.mem.trueOop);
    const handles = s.h.mem.handles.size;
    expect(ok(s, "primitiveFileRequestResult", s.nil, started.req)).toBe(s.nil);
    expect(s.h.mem.handles.size).toBe(handles - 1);
    expectFail(s, PrimErr.badArgument, "primitiveFileRequestDone", s.nil, started.req);
    expectFail(s, PrimErr.badArgument, "primitiveFileRequestResult", s.nil, started.req);
    expectLastError(s, "invalid", /no such file request/);
  });

  it("both fail on an id that is not a request of this VM", () => {
    const s = setup();
    for (const name of ["primitiveFileRequestDone", "primitiveFileRequestResult"]) {
      expectFail(s, PrimErr.badArgument, name, s.nil, int(1));
      expectFail(s, PrimErr.badArgument, name, s.nil, int(-3));
      expectFail(s, PrimErr.badArgument, name, s.nil, s.nil);
      expectFail(s, PrimErr.badArgument, name, s.nil, s.str("1"));
    }
    s.h.vm.host.files = undefined; // they need no adapter, only the request
    expectFail(s, PrimErr.badArgument, "primitiveFileRequestDone", s.nil, int(1));
  });

  it("RequestResult fails with the request's error, which LastError then describes", async () => {
    const s = setup();
    const started = start(s, "primitiveFileDelete", s.nil, s.str("nothing"));
    const r = await finish(s, started);
    expect(r.ok).toBe(false);
    expect(r.code).toBe(PrimErr.inappropriate);
    expect(lastError(s)).toEqual(["notFound", "nothing: no such file"]);
  });

  it("RequestResult fails while the heap cannot hold the result, and answers it once there is room", async () => {
    const s = setup(true, { limitBytes: 1024 * 1024 });
    s.fake.data.set("big", new Uint8Array(40_000).fill(7));
    const { idOop } = await open(s, "big", "read");
    const started = start(s, "primitiveFileRead", s.nil, idOop, int(0), int(40_000));
    await flush();
    s.h.exhaustHeap();
    const r = call(s, "primitiveFileRequestResult", s.nil, started.req);
    expect(r.ok).toBe(false);
    expect(r.code).toBe(PrimErr.inappropriate);
    expect(ok(s, "primitiveFileRequestDone", s.nil, started.req)).toBe(s.h.mem.trueOop);
    s.h.vm.collect(true);
    expectLastError(s, "io", /memory/);
    const bytes = ok(s, "primitiveFileRequestResult", s.nil, started.req);
    expect(s.h.mem.byteLength(bytes)).toBe(40_000);
    expect(s.h.mem.fetchByte(bytes, 39_999)).toBe(7);
  });
});

describe("primitiveFileLastError and primitiveFileAvailable", () => {
  it("LastError answers nil, then #(#kind 'message') of the last failure", () => {
    const s = setup();
    expect(lastError(s)).toBeUndefined();
    expectFail(s, PrimErr.inappropriate, "primitiveFileSize", s.nil, int(12), s.h.newSemaphore());
    const r = ok(s, "primitiveFileLastError", s.nil);
    const { mem } = s.h;
    expect(mem.fetchClassOf(r)).toBe(s.h.classes.Array);
    expect(mem.fetchPointer(r, 0)).toBe(s.h.sym("closed"));
    expect(mem.stringOf(mem.fetchPointer(r, 1))).toBe("file 12 is not open in this image (closed, or from an earlier run)");
  });

  it("LastError fails when the heap cannot hold the answer", () => {
    const s = setup(true, { limitBytes: 1024 * 1024 });
    expectFail(s, PrimErr.inappropriate, "primitiveFileSize", s.nil, int(12), s.h.newSemaphore());
    s.h.exhaustHeap();
    expectFail(s, PrimErr.insufficientObjectMemory, "primitiveFileLastError", s.nil);
  });

  it("Available answers whether the host gives files", () => {
    const s = setup();
    expect(ok(s, "primitiveFileAvailable", s.nil)).toBe(s.h.mem.trueOop);
    s.h.vm.host.files = undefined;
    expect(ok(s, "primitiveFileAvailable", s.nil)).toBe(s.h.mem.falseOop);
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(
      uncoveredPrimitives(fileModule, [
        // answers a Boolean whatever the receiver
        "primitiveFileAvailable",
      ]),
    ).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
