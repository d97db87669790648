import { describe, expect, it } from "vitest";
import { createHarness, type Harness } from "./primitiveHarness.js";
import { storagePrimitives } from "./storage.js";
import { objectPrimitives } from "./object.js";
import { PrimErr } from "./errors.js";
import { Format } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { SMALL_FRAME_SIZE, CONTEXT_FIXED_SIZE } from "../memory/layout.js";
import { bigIntValueOf } from "../memory/integers.js";
import { smallIntOop as int, type Oop } from "../memory/oop.js";
import { encodeMethodHeader } from "../method/header.js";
import type { PrimitiveFn } from "./table.js";
import { uncoveredPrimitives } from "./ledger.js";

const prim = (n: number): PrimitiveFn => {
  const fn = storagePrimitives[n] ?? objectPrimitives[n];
  if (fn === undefined) throw new Error(`no primitive ${n}`);
  return fn;
};

function expectFail(h: Harness, n: number, code: number, receiver: Oop, ...args: Oop[]): void {
  expect(h.failure(prim(n), receiver, ...args)).toBe(code);
}

function ok(h: Harness, n: number, receiver: Oop, ...args: Oop[]): Oop {
  return h.answer(prim(n), receiver, ...args);
}

function point(h: Harness, x: number, y: number): Oop {
  return h.instance("Point", [int(x), int(y)]);
}

function elements(h: Harness, array: Oop): Oop[] {
  return Array.from({ length: h.mem.slotCount(array) }, (_, i) => h.mem.fetchPointer(array, i));
}

describe("become primitives", () => {
  it("72 elementsForwardIdentityTo: forwards one way and copies the hash", () => {
    const h = createHarness();
    const { mem } = h;
    const a = point(h, 1, 2);
    const b = point(h, 3, 4);
    const holder = h.array([a]);
    const hashA = mem.hashOf(a);
    const from = h.array([a]);
    expect(ok(h, 72, from, h.array([b]))).toBe(from);
    expect(mem.fetchPointer(holder, 0)).toBe(b);
    expect(mem.fetchPointer(from, 0)).toBe(b); // the receiver's own elements are references too
    expect(mem.hashOf(b)).toBe(hashA);
  });

  it("248 and 249 forward one way without or with the hash", () => {
    const h = createHarness();
    const { mem } = h;
    const [a, b, c, d] = [point(h, 1, 1), point(h, 2, 2), point(h, 3, 3), point(h, 4, 4)];
    const hb = mem.hashOf(b);
    const hc = mem.hashOf(c);
    ok(h, 248, h.array([a]), h.array([b]));
    expect(mem.hashOf(b)).toBe(hb);
    ok(h, 249, h.array([c]), h.array([d]), mem.trueOop);
    expect(mem.hashOf(d)).toBe(hc);
    expectFail(h, 249, PrimErr.badArgument, h.array([c]), h.array([d]), h.mem.nilOop);
  });

  it("128 elementsExchangeIdentityWith: swaps references and hashes", () => {
    const h = createHarness();
    const { mem } = h;
    const a = point(h, 1, 2);
    const b = point(h, 3, 4);
    const x = h.array([a, b, a]);
    const [ha, hb] = [mem.hashOf(a), mem.hashOf(b)];
    ok(h, 128, h.array([a]), h.array([b]));
    expect(elements(h, x)).toEqual([b, a, b]);
    expect(mem.hashOf(a)).toBe(hb);
    expect(mem.hashOf(b)).toBe(ha);
  });

  it("fails on bad arrays, leaving everything as it was", () => {
    const h = createHarness();
    const { mem } = h;
    const a = point(h, 1, 2);
    const b = point(h, 3, 4);
    const x = h.array([a]);
    expectFail(h, 72, PrimErr.badArgument, h.array([a]), h.array([]));
    expectFail(h, 72, PrimErr.badArgument, h.array([a]), point(h, 0, 0));
    expectFail(h, 72, PrimErr.badReceiver, a, h.array([b]));
    expectFail(h, 72, PrimErr.badReceiver, int(3), h.array([b]));
    expectFail(h, 72, PrimErr.inappropriate, h.array([a]), h.array([int(1)]));
    expectFail(h, 72, PrimErr.inappropriate, h.array([a, a]), h.array([b, b]));
    expectFail(h, 128, PrimErr.inappropriate, h.array([a]), h.array([a]));
    expectFail(h, 72, PrimErr.inappropriate, h.array([mem.nilOop]), h.array([b]));
    expectFail(h, 248, PrimErr.badArgument, h.array([a]), h.array([]));
    expectFail(h, 248, PrimErr.badReceiver, int(3), h.array([b]));
    expectFail(h, 248, PrimErr.badNumArgs, h.array([a]));
    expect(mem.fetchPointer(x, 0)).toBe(a);
    // read-only objects cannot become others, nor (two-way) be exchanged
    mem.setReadOnly(a, true);
    for (const n of [72, 248]) expectFail(h, n, PrimErr.noModification, h.array([a]), h.array([b]));
    expectFail(h, 249, PrimErr.noModification, h.array([a]), h.array([b]), mem.trueOop);
    expectFail(h, 128, PrimErr.noModification, h.array([a]), h.array([b]));
    expectFail(h, 128, PrimErr.noModification, h.array([b]), h.array([a]));
    ok(h, 72, h.array([b]), h.array([a])); // a read-only target is fine
    expect(mem.fetchPointer(x, 0)).toBe(a);
  });

  it("updates the interpreter's receiver register and keeps the young collector right", () => {
    const h = createHarness();
    const { mem, vm } = h;
    const holder = mem.newHandle(h.array([int(0)]));
    const a = mem.newHandle(point(h, 1, 1));
    mem.storePointer(holder.oop, 0, a.oop);
    mem.storePointer(h.context(), 5, a.oop);
    vm.fetchContextRegisters(h.context());
    vm.collect(false);
    expect(vm.receiver).toBe(a.oop);
    const young = point(h, 7, 8);
    ok(h, 72, h.array([a.oop]), h.array([young]));
    expect(vm.receiver).toBe(young);
    expect(mem.fetchPointer(vm.activeContext, 5)).toBe(young);
    vm.collect(false);
    const p = mem.fetchPointer(holder.oop, 0);
    expect(mem.fetchPointer(p, 0)).toBe(int(7));
    expect(vm.receiver).toBe(p);
  });
});

describe("enumeration primitives", () => {
  function makeGarbage(h: Harness, cls: Oop): Oop[] {
    const kept = [h.mem.newHandle(h.mem.instantiate(cls)), h.mem.newHandle(h.mem.instantiate(cls))];
    for (let i = 0; i < 10; i++) h.mem.instantiate(cls);
    return kept.map((k) => k.oop);
  }

  it("177 allInstances answers the live instances only", () => {
    const h = createHarness();
    const { mem } = h;
    const cls = mem.newHandle(h.defineClass("Object", Format.fixed, 1));
    makeGarbage(h, cls.oop);
    const all = ok(h, 177, cls.oop);
    // classes may move in the full collection: h.classes holds their old addresses
    expect(mem.classOfPointer(all)).toBe(mem.specialObject(Special.classArray));
    expect(mem.slotCount(all)).toBe(2);
    for (const o of elements(h, all)) expect(mem.classOfPointer(o)).toBe(cls.oop);
    expectFail(h, 177, PrimErr.badReceiver, int(3));
  });

  it("177 allInstances of Array does not include its own answer", () => {
    const h = createHarness();
    const arrayClass = () => h.mem.specialObject(Special.classArray); // classes move in full collections
    const before = h.mem.newHandle(ok(h, 177, arrayClass()));
    const n = h.mem.slotCount(before.oop);
    const after = ok(h, 177, arrayClass());
    expect(h.mem.slotCount(after)).toBe(n + 1);
    expect(elements(h, after)).toContain(before.oop);
    expect(elements(h, after)).not.toContain(after);
  });

  it("77/78 someInstance and nextInstance walk the live instances", () => {
    const h = createHarness();
    const { mem } = h;
    const cls = mem.newHandle(h.defineClass("Object", Format.fixed, 1));
    makeGarbage(h, cls.oop);
    const first = ok(h, 77, cls.oop);
    const second = ok(h, 78, first);
    expect(second).not.toBe(first);
    expect(mem.classOfPointer(second)).toBe(cls.oop);
    expectFail(h, 78, PrimErr.notFound, second);
    expectFail(h, 77, PrimErr.notFound, h.defineClass("Object", Format.fixed, 0));
    expectFail(h, 78, PrimErr.badReceiver, int(1));
  });

  it("138/139 someObject and nextObject reach every object and end with 0", () => {
    const h = createHarness();
    const { mem } = h;
    let o = ok(h, 138, mem.nilOop);
    expect(o).toBe(mem.nilOop);
    let n = 1;
    const marker = h.array([]);
    let sawMarker = false;
    for (;;) {
      o = ok(h, 139, o);
      if (o === int(0)) break;
      if (o === marker) sawMarker = true;
      n++;
    }
    expect(sawMarker).toBe(true);
    expect(n).toBeGreaterThan(100);
    expectFail(h, 139, PrimErr.badReceiver, int(3));
  });

  it("178 allObjects answers live objects, not itself", () => {
    const h = createHarness();
    const { mem } = h;
    const kept = mem.newHandle(h.array([int(1)]));
    for (let i = 0; i < 10; i++) h.array([int(2)]);
    const all = ok(h, 178, mem.nilOop);
    const list = elements(h, all);
    expect(list).toContain(kept.oop);
    expect(list).not.toContain(all);
    expect(list[0]).toBe(mem.nilOop);
    const garbageArrays = list.filter((o) => mem.classOfPointer(o) === mem.specialObject(Special.classArray) && mem.slotCount(o) === 1 && mem.fetchPointer(o, 0) === int(2));
    expect(garbageArrays).toHaveLength(0);
  });

  it("never exposes the contexts on the interpreter's free lists", () => {
    const h = createHarness();
    const { mem, vm } = h;
    const spare = mem.allocate(h.classes.Context, Format.fixedIndexable, CONTEXT_FIXED_SIZE + SMALL_FRAME_SIZE);
    vm.freeSmallContexts.push(spare);
    vm.reclaimableContexts = 3;
    const contexts = ok(h, 177, mem.specialObject(Special.classMethodContext));
    expect(elements(h, contexts)).toEqual([vm.activeContext]);
    expect(vm.freeSmallContexts).toHaveLength(0);
    vm.freeSmallContexts.push(mem.allocate(mem.specialObject(Special.classMethodContext), Format.fixedIndexable, CONTEXT_FIXED_SIZE + SMALL_FRAME_SIZE));
    vm.reclaimableContexts = 2;
    ok(h, 139, mem.nilOop);
    expect(vm.freeSmallContexts).toHaveLength(0);
    expect(vm.reclaimableContexts).toBe(0);
  });
});

describe("memory and semaphores", () => {
  it("130/131 collect and answer the free bytes; 112 answers them without collecting", () => {
    const h = createHarness();
    const { mem } = h;
    for (let i = 0; i < 100; i++) h.array([int(i)]);
    const used = mem.bytesUsed();
    const young = ok(h, 131, mem.nilOop);
    expect(young >> 1).toBe(mem.limitBytes - mem.bytesUsed());
    expect(mem.bytesUsed()).toBeLessThan(used);
    const full = ok(h, 130, mem.nilOop);
    expect(bigIntValueOf(mem, full)).toBe(BigInt(mem.limitBytes - mem.bytesUsed()));
    const left = ok(h, 112, mem.nilOop);
    expect(bigIntValueOf(mem, left)).toBe(BigInt(mem.limitBytes - mem.bytesUsed()));
  });

  it("answers a LargePositiveInteger when the free space passes SmallInteger range", () => {
    const h = createHarness({ limitBytes: 1024 * 1024 * 1024 });
    const free = ok(h, 112, h.mem.nilOop);
    expect(bigIntValueOf(h.mem, free)).toBe(BigInt(h.mem.limitBytes - h.mem.bytesUsed()));
  });

  it("124/134 register the low-space and interrupt semaphores", () => {
    const h = createHarness();
    const { mem } = h;
    const sem = h.newSemaphore();
    expect(ok(h, 124, mem.nilOop, sem)).toBe(mem.nilOop);
    expect(mem.specialObject(Special.lowSpaceSemaphore)).toBe(sem);
    ok(h, 134, mem.nilOop, sem);
    expect(mem.specialObject(Special.interruptSemaphore)).toBe(sem);
    ok(h, 134, mem.nilOop, mem.nilOop);
    expect(mem.specialObject(Special.interruptSemaphore)).toBe(mem.nilOop);
    expectFail(h, 124, PrimErr.badArgument, mem.nilOop, int(3));
  });

  it("125 sets the low-space threshold, capped at a quarter of the heap limit", () => {
    const h = createHarness({ limitBytes: 64 * 1024 * 1024 });
    ok(h, 125, h.mem.nilOop, int(400_000));
    expect(h.vm.lowSpaceThreshold).toBe(400_000);
    ok(h, 125, h.mem.nilOop, int(0x3fffffff));
    expect(h.vm.lowSpaceThreshold).toBe(16 * 1024 * 1024);
    expectFail(h, 125, PrimErr.badArgument, h.mem.nilOop, int(-1));
    expectFail(h, 125, PrimErr.badArgument, h.mem.nilOop, h.mem.nilOop);
  });
});

describe("79 newMethod:header:", () => {
  it("creates a method with nil literals and zeroed bytes", () => {
    const h = createHarness();
    const { mem, classes } = h;
    const header = encodeMethodHeader({ primitive: 0, numLiterals: 3, largeFrame: false, numTemps: 1, numArgs: 1 });
    const m = ok(h, 79, classes.CompiledMethod, int(6), int(header));
    expect(mem.classOfPointer(m)).toBe(classes.CompiledMethod);
    expect(mem.fetchPointer(m, 0)).toBe(int(header));
    expect(mem.fetchPointer(m, 3)).toBe(mem.nilOop);
    expect(mem.byteLength(m)).toBe(16 + 6);
    expect(mem.pointerSlots(m)).toBe(4);
    expect(mem.fetchByte(m, 21)).toBe(0);
    const size = h.call(objectPrimitives[62]!, m);
    expect(size.result).toBe(int(22));
    expectFail(h, 79, PrimErr.badReceiver, classes.Array, int(6), int(header));
    expectFail(h, 79, PrimErr.badArgument, classes.CompiledMethod, int(-1), int(header));
    expectFail(h, 79, PrimErr.badArgument, classes.CompiledMethod, int(6), mem.nilOop);
  });
});

describe("argument checks of the enumeration and space primitives", () => {
  it("fail when their method declares the wrong number of arguments, so the fallback code runs", () => {
    const h = createHarness();
    const a = h.array([]);
    expectFail(h, 112, PrimErr.badNumArgs, a, a, a);
    expectFail(h, 134, PrimErr.badNumArgs, a);
    expectFail(h, 138, PrimErr.badNumArgs, a, a);
    expectFail(h, 178, PrimErr.badNumArgs, a, a);
  });

  it("134 interruptSemaphore: refuses anything but a Semaphore or nil", () => {
    const h = createHarness();
    const { mem } = h;
    expectFail(h, 134, PrimErr.badArgument, mem.nilOop, int(3));
    expectFail(h, 134, PrimErr.badArgument, mem.nilOop, h.array([mem.nilOop, mem.nilOop, int(0)]));
    const sem = h.instance("Semaphore", [mem.nilOop, mem.nilOop, int(0)]);
    ok(h, 134, mem.nilOop, sem);
    expect(mem.specialObject(Special.interruptSemaphore)).toBe(sem);
    ok(h, 134, mem.nilOop, mem.nilOop);
    expect(mem.specialObject(Special.interruptSemaphore)).toBe(mem.nilOop);
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    // 130 and 131 collect and answer the free bytes whatever they are sent to
    expect(uncoveredPrimitives(storagePrimitives, [130, 131])).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
