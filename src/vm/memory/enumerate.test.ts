import { describe, expect, it } from "vitest";
import {
  allInstancesOf, allObjects, firstObject, instanceCountOf, nextInstanceAfter, objectAfter, someInstanceOf,
} from "./enumerate.js";
import { HEAP_START } from "./heap.js";
import { Format } from "./format.js";
import { smallIntOop as int } from "./oop.js";
import { createHarness } from "../primitives/primitiveHarness.js";

describe("heap enumeration (memory)", () => {
  it("walks objects in address order", () => {
    const h = createHarness();
    const { mem } = h;
    expect(firstObject(mem)).toBe(HEAP_START);
    expect(firstObject(mem)).toBe(mem.nilOop);
    const all = allObjects(mem);
    let n = 0;
    for (let o = firstObject(mem); o !== 0; o = objectAfter(mem, o)) {
      expect(o).toBe(all[n]);
      n++;
    }
    expect(n).toBe(all.length);
    expect(objectAfter(mem, all[all.length - 1])).toBe(0);
    expect(objectAfter(mem, int(3))).toBe(0);
  });

  it("finds instances, dead ones included until a collection", () => {
    const h = createHarness();
    const { mem, vm } = h;
    const cls = h.defineClass("Object", Format.fixed, 1);
    const kept = [mem.newHandle(mem.instantiate(cls)), mem.newHandle(mem.instantiate(cls))];
    for (let i = 0; i < 5; i++) mem.instantiate(cls); // garbage
    expect(allInstancesOf(mem, cls)).toHaveLength(7);
    expect(instanceCountOf(mem, cls)).toBe(7);
    const clsHandle = mem.newHandle(cls);
    vm.collect(true);
    const live = allInstancesOf(mem, clsHandle.oop);
    expect(live).toEqual(kept.map((k) => k.oop));
    expect(someInstanceOf(mem, clsHandle.oop)).toBe(kept[0].oop);
    expect(nextInstanceAfter(mem, kept[0].oop)).toBe(kept[1].oop);
    expect(nextInstanceAfter(mem, kept[1].oop)).toBe(0);
    expect(someInstanceOf(mem, h.defineClass("Object", Format.fixed, 0))).toBe(0);
    expect(allInstancesOf(mem, int(1))).toEqual([]);
  });
});
