import { describe, expect, it } from "vitest";
import { become, checkBecome } from "./become.js";
import { WeakHandle } from "./gc.js";
import { Format } from "./format.js";
import { smallIntOop as int, characterOop, type Oop } from "./oop.js";
import { CONTEXT_FIXED_SIZE } from "./layout.js";
import { createHarness, type Harness } from "../primitives/primitiveHarness.js";

function point(h: Harness, x: number, y: number): Oop {
  return h.instance("Point", [int(x), int(y)]);
}

describe("become (memory)", () => {
  it("forwards every reference one way, from objects, handles and the interpreter", () => {
    const h = createHarness();
    const { mem, vm } = h;
    const a = point(h, 1, 2);
    const b = point(h, 3, 4);
    const holder = h.array([a, int(5), a]);
    const handle = mem.newHandle(a);
    const weak = new WeakHandle(a, () => undefined);
    vm.collector.weakHandles.add(weak);
    mem.storePointer(h.context(), 5, a); // the active context's receiver field
    expect(become(mem, [a], [b], false, false, { weakHandles: vm.collector.weakHandles })).toBeUndefined();
    expect(mem.fetchPointer(holder, 0)).toBe(b);
    expect(mem.fetchPointer(holder, 2)).toBe(b);
    expect(mem.fetchPointer(holder, 1)).toBe(int(5));
    expect(handle.oop).toBe(b);
    expect(weak.oop).toBe(b);
    expect(mem.fetchPointer(h.context(), 5)).toBe(b);
    expect(mem.flagsOf(a) & 1).toBe(0); // the mark bit used during the scan is cleared
  });

  it("exchanges references two ways", () => {
    const h = createHarness();
    const { mem } = h;
    const a = point(h, 1, 2);
    const b = point(h, 3, 4);
    const x = h.array([a, b]);
    expect(become(mem, [a], [b], true, false)).toBeUndefined();
    expect(mem.fetchPointer(x, 0)).toBe(b);
    expect(mem.fetchPointer(x, 1)).toBe(a);
  });

  it("follows Squeak's identity hash rules", () => {
    const h = createHarness();
    const { mem } = h;
    const [a, b, c, d, e, f] = [1, 2, 3, 4, 5, 6].map((i) => point(h, i, i));
    const [ha, hb, hc, hd, he, hf] = [a, b, c, d, e, f].map((o) => mem.hashOf(o));
    become(mem, [a], [b], false, true);
    expect(mem.hashOf(b)).toBe(ha); // the target takes the hash of the forwarded object
    become(mem, [c], [d], false, false);
    expect(mem.hashOf(d)).toBe(hd);
    expect(mem.hashOf(c)).toBe(hc);
    become(mem, [e], [f], true, true);
    expect(mem.hashOf(e)).toBe(hf); // swapped: hashes stay with the references
    expect(mem.hashOf(f)).toBe(he);
    expect(hb).not.toBe(ha);
  });

  it("forwards class words, method literals and weak slots", () => {
    const h = createHarness();
    const { mem, classes } = h;
    const c1 = h.defineClass("Object", Format.fixed, 1);
    const c2 = h.defineClass("Object", Format.fixed, 1);
    const obj = mem.instantiate(c1);
    const a = point(h, 1, 1);
    const b = point(h, 2, 2);
    const m = h.makeMethod([0x20, 0x7c], [a]);
    const weak = mem.allocate(classes.WeakArray, Format.weak, 1);
    mem.storePointer(weak, 0, a);
    expect(become(mem, [c1, a], [c2, b], false, false)).toBeUndefined();
    expect(mem.classOfPointer(obj)).toBe(c2);
    expect(mem.fetchPointer(m, 1)).toBe(b);
    expect(mem.fetchPointer(weak, 0)).toBe(b);
  });

  it("leaves a context's slots above its stack pointer alone", () => {
    const h = createHarness();
    const { mem } = h;
    const a = point(h, 1, 1);
    const b = point(h, 2, 2);
    const ctx = mem.clone(h.context());
    mem.storePointer(ctx, 2, int(1));
    mem.storePointer(ctx, CONTEXT_FIXED_SIZE, a);
    mem.storePointer(ctx, CONTEXT_FIXED_SIZE + 1, a); // above the stack pointer: stale
    become(mem, [a], [b], false, false);
    expect(mem.fetchPointer(ctx, CONTEXT_FIXED_SIZE)).toBe(b);
    expect(mem.fetchPointer(ctx, CONTEXT_FIXED_SIZE + 1)).toBe(a);
  });

  it("remembers old objects that now point to young ones, so a young collection keeps them", () => {
    const h = createHarness();
    const { mem, vm } = h;
    const holder = mem.newHandle(h.array([int(0)]));
    const old = mem.newHandle(point(h, 1, 1));
    mem.storePointer(holder.oop, 0, old.oop);
    vm.collect(false); // everything so far is old now
    expect(mem.isYoung(holder.oop)).toBe(false);
    mem.releaseHandle(old);
    const young = point(h, 7, 8);
    expect(mem.isYoung(young)).toBe(true);
    expect(become(mem, [mem.fetchPointer(holder.oop, 0)], [young], false, true)).toBeUndefined();
    vm.collect(false);
    const p = mem.fetchPointer(holder.oop, 0);
    expect(mem.classOfPointer(p)).toBe(h.classes.Point);
    expect([mem.fetchPointer(p, 0), mem.fetchPointer(p, 1)]).toEqual([int(7), int(8)]);
    vm.collect(true);
    const q = mem.fetchPointer(holder.oop, 0);
    expect(mem.fetchPointer(q, 1)).toBe(int(8));
  });

  it("refuses bad input and changes nothing", () => {
    const h = createHarness();
    const { mem } = h;
    const a = point(h, 1, 1);
    const b = point(h, 2, 2);
    const x = h.array([a]);
    expect(become(mem, [a], [], false, false)).toMatch(/different lengths/);
    expect(become(mem, [a], [int(3)], false, false)).toMatch(/immediate/);
    expect(become(mem, [characterOop(65)], [a], false, false)).toMatch(/immediate/);
    expect(become(mem, [a, a], [b, b], false, false)).toMatch(/twice/);
    const c = point(h, 3, 3);
    expect(become(mem, [a, c], [b, b], true, false)).toMatch(/twice/);
    expect(become(mem, [a], [a], true, false)).toMatch(/same object/);
    expect(become(mem, [a, b], [b, a], true, false)).toMatch(/both arrays|twice/);
    expect(become(mem, [mem.nilOop], [a], false, false)).toMatch(/nil/);
    expect(become(mem, [a], [mem.trueOop], false, false)).toMatch(/nil, true or false/);
    expect(become(mem, [mem.freeStart + 64], [a], false, false)).toMatch(/not an object/);
    expect(mem.fetchPointer(x, 0)).toBe(a);
    expect(checkBecome(mem, [a], [b], true)).toBeUndefined();
    expect(become(mem, [a], [a], false, true)).toBeUndefined(); // one way into itself: nothing to do
    expect(mem.fetchPointer(x, 0)).toBe(a);
  });

  it("keeps nil, true and false cached when the special objects array itself is forwarded", () => {
    const h = createHarness();
    const { mem } = h;
    const soa = mem.specialObjectsOop;
    const copy = mem.clone(soa);
    expect(become(mem, [soa], [copy], false, true)).toBeUndefined();
    expect(mem.specialObjectsOop).toBe(copy);
    expect(mem.specialObject(0)).toBe(mem.nilOop);
  });
});
