/**
 * The collector (gc.ts) seen from the heap and from running code: young and full collections, the write
 * barrier and the remembered set, contexts traced up to their stack pointer, handles, weak arrays and
 * finalization, WeakHandles, stress mode, heap growth, the heap limit and the low-space semaphore,
 * identity hashes and pause statistics.
 *
 * Oops held in test variables are stale after a collection: tests hold what they look at afterwards in
 * handles.
 */
import { describe, expect, it } from "vitest";
import { createSmalltalkImage, type SmalltalkImage } from "../testing/smalltalk.js";
import { FLAG_REMEMBERED, HEAP_START, type Handle } from "./heap.js";
import { WeakHandle, type GcResult } from "./gc.js";
import { Format } from "./format.js";
import { Special } from "./special.js";
import { smallIntOop, type Oop } from "./oop.js";
import { allInstancesOf } from "./enumerate.js";
import { bigIntValueOf } from "./integers.js";
import { ContextLayout } from "./layout.js";

const int = smallIntOop;

function image(options: Parameters<typeof createSmalltalkImage>[0] = {}): SmalltalkImage {
  const st = createSmalltalkImage(options);
  st.defineClass("Marker", "Object", ["tag"]);
  st.defineClass("Weak1", "Object", ["strong"], Format.weak);
  // start from a compact heap where everything is old
  st.vm.collect(true);
  return st;
}

function marker(st: SmalltalkImage, tag: number): Oop {
  const m = st.mem.instantiate(st.cls("Marker"));
  st.mem.storePointer(m, 0, int(tag));
  return m;
}

function markers(st: SmalltalkImage): number[] {
  return allInstancesOf(st.mem, st.cls("Marker")).map((m) => st.mem.fetchPointer(m, 0) >> 1).sort((a, b) => a - b);
}

function weakArray(st: SmalltalkImage, elements: Oop[]): Oop {
  const w = st.mem.instantiate(st.classes.WeakArray, elements.length);
  elements.forEach((e, i) => st.mem.storePointer(w, i, e));
  return w;
}

function hold(st: SmalltalkImage, oop: Oop): Handle {
  return st.mem.newHandle(oop);
}

function doIt(st: SmalltalkImage, source: string): Oop {
  const { result, slice } = st.doIt(source);
  expect(slice.fault?.message).toBeUndefined();
  expect(result, source).toBeDefined();
  return result!;
}

function elements(st: SmalltalkImage, array: Oop): Oop[] {
  return Array.from({ length: st.mem.slotCount(array) }, (_, i) => st.mem.fetchPointer(array, i));
}

/**
 * After a full collection, the heap is a sequence of well-formed objects whose class and pointer fields
 * all designate objects (the image loader's check, less its rule against collector flags: the active
 * context may be remembered).
 */
function expectValidHeap(st: SmalltalkImage): void {
  const { mem } = st;
  st.vm.collect(true);
  const starts = new Set<number>();
  for (let oop = HEAP_START; oop < mem.freeStart; oop = mem.nextObject(oop)) starts.add(oop);
  const problems: string[] = [];
  for (const oop of starts) {
    if (!starts.has(mem.classOfPointer(oop))) problems.push(`${oop}: class ${mem.classOfPointer(oop)}`);
    for (let i = 0; i < mem.pointerSlots(oop); i++) {
      const v = mem.fetchPointer(oop, i);
      if ((v & 3) === 0 && !starts.has(v)) problems.push(`${oop}: field ${i} = ${v}`);
    }
  }
  expect(problems).toEqual([]);
}

describe("young and full collections", () => {
  it("keeps the young objects reachable from roots, drops the others, and slides survivors down", () => {
    const st = image();
    const { mem } = st;
    const start = mem.freeStart;
    marker(st, 0); // garbage
    const inner = st.array([marker(st, 3)]);
    marker(st, 2); // garbage
    const root = hold(st, st.array([marker(st, 1), int(7), inner]));
    expect(markers(st)).toEqual([0, 1, 2, 3]);
    const result = st.vm.collector.collect(false);
    expect(result.full).toBe(false);
    expect(result.survivors).toBe(4); // root, inner, markers 1 and 3
    expect(result.regionBytes).toBeGreaterThan(result.survivorBytes);
    expect(mem.freeStart).toBe(start + result.survivorBytes);
    expect(mem.youngStart).toBe(mem.freeStart);
    expect(markers(st)).toEqual([1, 3]);
    const [m1, seven, inner2] = elements(st, root.oop);
    expect(mem.fetchPointer(m1, 0)).toBe(int(1));
    expect(seven).toBe(int(7));
    expect(mem.fetchPointer(mem.fetchPointer(inner2, 0), 0)).toBe(int(3));
    // survivors keep their order: the inner array (allocated first) is still below the root
    expect(inner2).toBeLessThan(root.oop);
    expectValidHeap(st);
  });

  it("leaves old garbage to full collections", () => {
    const st = image();
    const { mem } = st;
    const keep = hold(st, st.array([marker(st, 1), marker(st, 2), marker(st, 3)]));
    st.vm.collect(false); // now old
    mem.storePointer(keep.oop, 1, mem.nilOop); // marker 2 is old garbage
    st.vm.collect(false);
    expect(markers(st)).toEqual([1, 2, 3]);
    const before = mem.freeStart;
    const result = st.vm.collector.collect(true);
    expect(result.full).toBe(true);
    expect(markers(st)).toEqual([1, 3]);
    expect(mem.freeStart).toBeLessThan(before);
    expect(mem.fetchPointer(mem.fetchPointer(keep.oop, 2), 0)).toBe(int(3));
    expectValidHeap(st);
  });

  it("keeps objects reachable only from the special objects array, method literals and classes", () => {
    const st = image();
    const { mem } = st;
    st.makeMethod([32, 124], [marker(st, 11)]); // garbage: its literal dies with it
    st.defineMethod("Object", "litHolder", [32, 124], [marker(st, 12)]);
    mem.setSpecialObject(Special.externalObjectsArray, st.array([marker(st, 13)]));
    st.vm.collect(false);
    expect(markers(st)).toEqual([12, 13]);
    expect(mem.fetchPointer(doIt(st, "nil litHolder"), 0)).toBe(int(12));
    st.vm.collect(true);
    expect(markers(st)).toEqual([12, 13]);
    expectValidHeap(st);
  });

  it("keeps every object format intact: bytes, words, floats, large integers, compiled methods", () => {
    const st = image();
    const { mem } = st;
    const s = st.string("hello, collector");
    const f = st.float(2.5);
    const big = st.int(2n ** 100n + 7n);
    const words = mem.instantiate(st.classes.WordArray, 3);
    mem.storeWord(words, 2, 0xdeadbeef);
    const method = st.makeMethod([32, 33, 176, 124], [int(40), int(2)]);
    marker(st, 0);
    const root = hold(st, st.array([s, f, big, words, method]));
    for (const full of [false, true]) {
      st.vm.collect(full);
      const [s2, f2, big2, words2, method2] = elements(st, root.oop);
      expect(st.text(s2)).toBe("hello, collector");
      expect(mem.floatValueOf(f2)).toBe(2.5);
      expect(bigIntValueOf(mem, big2)).toBe(2n ** 100n + 7n);
      expect(mem.fetchWord(words2, 2)).toBe(0xdeadbeef);
      expect(st.runMethod(method2).result).toBe(int(42));
    }
  });
});

describe("the write barrier and the remembered set", () => {
  it("remembers an old object that stores a young one, so that a young collection keeps and updates it", () => {
    const st = image();
    const { mem } = st;
    const old = hold(st, st.array([mem.nilOop, mem.nilOop]));
    st.vm.collect(false);
    expect(mem.isYoung(old.oop)).toBe(false);
    marker(st, 0); // garbage below the young object, so that it moves
    const young = marker(st, 1);
    mem.storePointer(old.oop, 0, young);
    expect(mem.remembered).toContain(old.oop);
    expect(mem.flagsOf(old.oop) & FLAG_REMEMBERED).toBe(FLAG_REMEMBERED);
    st.vm.collect(false);
    const moved = mem.fetchPointer(old.oop, 0);
    expect(moved).not.toBe(young);
    expect(mem.fetchPointer(moved, 0)).toBe(int(1));
    expect(mem.remembered).toHaveLength(0);
    expect(mem.flagsOf(old.oop) & FLAG_REMEMBERED).toBe(0);
    expect(markers(st)).toEqual([1]);
  });

  it("does not remember stores of immediates, old objects, or into young objects", () => {
    const st = image();
    const { mem } = st;
    const old = hold(st, st.array([mem.nilOop]));
    const oldToo = hold(st, marker(st, 1));
    st.vm.collect(false);
    mem.storePointer(old.oop, 0, int(5));
    mem.storePointer(old.oop, 0, oldToo.oop);
    const young = st.array([mem.nilOop]);
    mem.storePointer(young, 0, marker(st, 2));
    expect(mem.remembered).toHaveLength(0);
  });

  it("sees stores made by running code: instance variables, at:put:, globals, remote temps", () => {
    const st = image();
    st.compile("Marker", "tag: x tag := x");
    const old = hold(st, marker(st, 0));
    const oldArray = hold(st, st.array([st.mem.nilOop]));
    st.setGlobal("M", old.oop);
    st.setGlobal("A", oldArray.oop);
    st.vm.collect(true);
    // everything below is young when stored into old objects, and collections happen right after
    doIt(st, "M tag: (Marker new tag: 5; yourself). A at: 1 put: (Marker new tag: 6; yourself). G := Marker new tag: 7; yourself. self youngGC");
    doIt(st, "self youngGC. self fullGC");
    expect(st.mem.fetchPointer(st.mem.fetchPointer(old.oop, 0), 0)).toBe(int(5));
    expect(st.mem.fetchPointer(st.mem.fetchPointer(oldArray.oop, 0), 0)).toBe(int(6));
    expect(st.mem.fetchPointer(st.global("G"), 0)).toBe(int(7));
    expect(allInstancesOf(st.mem, st.cls("Marker"))).toHaveLength(4);
  });

  it("misses a young object stored into an old one without the barrier (the barrier is what keeps it)", () => {
    const st = image();
    const { mem } = st;
    const old = hold(st, st.array([mem.nilOop]));
    st.vm.collect(false);
    const young = marker(st, 1);
    mem.words[mem.bodyIndex(old.oop)] = young; // a raw store
    st.vm.collect(false);
    expect(markers(st)).toEqual([]); // (and the old array now holds a dangling reference)
  });
});

describe("contexts", () => {
  function context(st: SmalltalkImage, stackp: number, slots: Oop[]): Oop {
    const { mem } = st;
    const ctx = mem.allocate(st.classes.Context, Format.fixedIndexable, 6 + 16);
    mem.storePointer(ctx, ContextLayout.stackp, int(stackp));
    mem.storePointer(ctx, ContextLayout.pc, int(1));
    slots.forEach((s, i) => mem.storePointer(ctx, 6 + i, s));
    return ctx;
  }

  it("traces a context only up to its stack pointer, and clears the slots above it", () => {
    for (const full of [false, true]) {
      const st = image();
      const { mem } = st;
      const ctx = hold(st, context(st, 2, [marker(st, 1), marker(st, 2), marker(st, 3), marker(st, 4)]));
      st.vm.collect(full);
      expect(markers(st)).toEqual([1, 2]);
      expect(mem.fetchPointer(ctx.oop, 6 + 2)).toBe(mem.nilOop);
      expect(mem.fetchPointer(ctx.oop, 6 + 3)).toBe(mem.nilOop);
      expect(mem.fetchPointer(mem.fetchPointer(ctx.oop, 6 + 1), 0)).toBe(int(2));
    }
  });

  it("traces a remembered old context up to its stack pointer in a young collection", () => {
    const st = image();
    const { mem } = st;
    const ctx = hold(st, context(st, 1, []));
    st.vm.collect(false);
    mem.storePointer(ctx.oop, 6, marker(st, 1));
    mem.storePointer(ctx.oop, 7, marker(st, 2)); // above the stack pointer
    st.vm.collect(false);
    expect(markers(st)).toEqual([1]);
  });

  it("does not keep what running code popped off its stack", () => {
    const st = image();
    const result = doIt(st, "| w | w := WeakArray new: 2. w at: 1 put: Marker new. w at: 2 put: #kept. self fullGC. {w at: 1. w at: 2}");
    expect(elements(st, result)).toEqual([st.mem.nilOop, st.sym("kept")]);
  });

  it("keeps the whole active chain and its stacks across collections at every safe point", () => {
    const st = image({ stressGC: true });
    st.compile("Object", "deep: n with: m ^n = 0 ifTrue: [m tag] ifFalse: [(self deep: n - 1 with: m) + 1]");
    st.compile("Marker", "tag ^tag");
    expect(doIt(st, "self deep: 200 with: (Marker new instVarAt: 1 put: 5; yourself)")).toBe(int(205));
  });
});

describe("handles", () => {
  it("follow their object when a collection moves it, and keep it alive until released", () => {
    const st = image();
    const { mem } = st;
    marker(st, 0);
    const m = marker(st, 1);
    const h = mem.newHandle(m);
    st.vm.collect(false);
    expect(h.oop).not.toBe(m);
    expect(mem.fetchPointer(h.oop, 0)).toBe(int(1));
    mem.releaseHandle(h);
    st.vm.collect(true);
    expect(markers(st)).toEqual([]);
  });

  it("hold immediates without registering them", () => {
    const st = image();
    const h = st.mem.newHandle(int(3));
    expect(st.mem.handles.has(h)).toBe(false);
    st.vm.collect(true);
    expect(h.oop).toBe(int(3));
  });
});

describe("weak arrays and finalization", () => {
  it("clears weak slots whose referents died in a young collection, and updates the others", () => {
    const st = image();
    const { mem } = st;
    const alive = hold(st, marker(st, 1));
    const w = hold(st, weakArray(st, [alive.oop, marker(st, 2), int(3), mem.nilOop, st.sym("sym")]));
    const result = st.vm.collector.collect(false);
    expect(result.weakCleared).toBe(1);
    expect(elements(st, w.oop)).toEqual([alive.oop, mem.nilOop, int(3), mem.nilOop, st.sym("sym")]);
  });

  it("clears old weak slots only in a full collection", () => {
    const st = image();
    const { mem } = st;
    const strong = hold(st, st.array([marker(st, 1), marker(st, 2)]));
    const w = hold(st, weakArray(st, elements(st, strong.oop)));
    st.vm.collect(false);
    mem.storePointer(strong.oop, 1, mem.nilOop);
    expect(st.vm.collector.collect(false).weakCleared).toBe(0);
    expect(mem.fetchPointer(mem.fetchPointer(w.oop, 1), 0)).toBe(int(2));
    expect(st.vm.collector.collect(true).weakCleared).toBe(1);
    expect(mem.fetchPointer(w.oop, 1)).toBe(mem.nilOop);
    expect(mem.fetchPointer(mem.fetchPointer(w.oop, 0), 0)).toBe(int(1));
  });

  it("clears a young referent of an old weak array (remembered by the barrier)", () => {
    const st = image();
    const { mem } = st;
    const w = hold(st, weakArray(st, [mem.nilOop, mem.nilOop]));
    st.vm.collect(false);
    const kept = hold(st, marker(st, 1));
    mem.storePointer(w.oop, 0, kept.oop);
    mem.storePointer(w.oop, 1, marker(st, 2));
    expect(st.vm.collector.collect(false).weakCleared).toBe(1);
    expect(mem.fetchPointer(w.oop, 0)).toBe(kept.oop);
    expect(mem.fetchPointer(w.oop, 1)).toBe(mem.nilOop);
  });

  it("keeps the named fields of a weak object strong", () => {
    const st = image();
    const { mem } = st;
    const w = mem.instantiate(st.cls("Weak1"), 1);
    mem.storePointer(w, 0, marker(st, 1));
    mem.storePointer(w, 1, marker(st, 2));
    const h = hold(st, w);
    for (const full of [false, true]) st.vm.collect(full);
    expect(mem.fetchPointer(mem.fetchPointer(h.oop, 0), 0)).toBe(int(1));
    expect(mem.fetchPointer(h.oop, 1)).toBe(mem.nilOop);
    expect(markers(st)).toEqual([1]);
  });

  it("traces a weak object within its bounds even when its class claims more named fields", () => {
    const st = image();
    const { mem } = st;
    const badWeak = st.defineClass("BadWeak", "Object", [], Format.weak);
    mem.storePointer(badWeak, 2, int((Format.weak << 16) | 1000)); // 1000 named fields, says the class
    const a = st.array([st.sym("a"), st.sym("b")]);
    const w = mem.instantiate(st.classes.WeakArray, 1);
    mem.setClass(w, badWeak);
    const words = mem.instantiate(st.classes.WordArray, 1);
    mem.storeWord(words, 0, a + 8); // a word that looks like a pointer into the array
    const root = hold(st, st.array([w, a, words]));
    st.vm.collect(true);
    const [, a2] = elements(st, root.oop);
    expect(elements(st, a2)).toEqual([st.sym("a"), st.sym("b")]);
  });

  it("keeps a referent that is reachable both weakly and strongly", () => {
    const st = image();
    const { mem } = st;
    const m = marker(st, 1);
    const w1 = hold(st, weakArray(st, [m]));
    const w2 = hold(st, weakArray(st, [m]));
    const strong = hold(st, st.array([m]));
    st.vm.collect(true);
    expect(mem.fetchPointer(w1.oop, 0)).toBe(mem.fetchPointer(strong.oop, 0));
    expect(mem.fetchPointer(w2.oop, 0)).toBe(mem.fetchPointer(strong.oop, 0));
  });

  it("signals the finalization semaphore when weak slots were cleared, so that its waiting process runs", () => {
    for (const gc of ["fullGC", "youngGC"]) {
      const st = image();
      st.setGlobal("FinSem", st.mem.specialObject(Special.finalizationSemaphore));
      const finalizer = st.process("[FinSem wait. self show: 'finalized'] repeat", 60);
      st.setGlobal("Finalizer", finalizer.oop);
      const { slice } = st.doIt(`Finalizer resume. W := WeakArray new: 1. W at: 1 put: Marker new. self ${gc}. self show: 'after'. W at: 1`);
      expect(slice.fault?.message).toBeUndefined();
      expect(st.output).toEqual(["finalized", "after"]);
    }
  });

  it("counts the signal when nobody waits on the finalization semaphore", () => {
    const st = image();
    st.doIt("W := WeakArray new: 1. W at: 1 put: Marker new. self fullGC. self yourself");
    const sem = st.mem.specialObject(Special.finalizationSemaphore);
    expect(st.mem.fetchPointer(sem, 2)).toBe(int(1));
  });

  it("calls WeakHandle onDeath for a dead object, and follows a live one", () => {
    const st = image();
    const { mem, vm } = st;
    marker(st, 0);
    const liveOop = marker(st, 1);
    const live = hold(st, liveOop);
    const deaths: string[] = [];
    const wLive = new WeakHandle(liveOop, () => deaths.push("live"));
    const wDead = new WeakHandle(marker(st, 2), () => deaths.push("dead"));
    vm.collector.weakHandles.add(wLive);
    vm.collector.weakHandles.add(wDead);
    st.vm.collect(false);
    expect(deaths).toEqual(["dead"]);
    expect(wDead.dead).toBe(true);
    expect(vm.collector.weakHandles.has(wDead)).toBe(false);
    expect(wLive.dead).toBe(false);
    expect(wLive.oop).toBe(live.oop);
    expect(mem.fetchPointer(wLive.oop, 0)).toBe(int(1));
    mem.releaseHandle(live);
    st.vm.collect(false);
    expect(deaths).toEqual(["dead"]); // old now: only a full collection finds it dead
    st.vm.collect(true);
    expect(deaths).toEqual(["dead", "live"]);
  });
});

describe("stress mode", () => {
  const programs: Array<[string, string, (st: SmalltalkImage, r: Oop) => void]> = [
    ["closures capturing and writing outer temps", "| n blocks | n := 0. blocks := Array new: 10. 1 to: 10 do: [:i | blocks at: i put: [:x | n := n + x + i]]. blocks do: [:b | b value: 1]. n",
      (st, r) => expect(r).toBe(int(65))],
    ["recursion through blocks", "| fib | fib := nil. fib := [:k | k < 2 ifTrue: [k] ifFalse: [(fib value: k - 1) + (fib value: k - 2)]]. fib value: 15",
      (st, r) => expect(r).toBe(int(610))],
    ["arrays built and sorted", "| a | a := Array new: 40. 1 to: 40 do: [:i | a at: i put: (i * 37) \\\\ 41]. 1 to: 40 do: [:i | i + 1 to: 40 do: [:j | (a at: j) < (a at: i) ifTrue: [| t | t := a at: i. a at: i put: (a at: j). a at: j put: t]]]. a",
      (st, r) => expect(elements(st, r)).toEqual(Array.from({ length: 40 }, (_, i) => int(i + 1)))],
    ["large integers", "| f | f := 1. 1 to: 30 do: [:i | f := f * i]. f",
      (st, r) => expect(bigIntValueOf(st.mem, r)).toBe(265252859812191058636308480000000n)],
    ["non-local returns through ensure:", "| log | log := Array new: 3. {self find: 7 in: #(3 5 7 9) log: log. log}",
      (st, r) => {
        const [found, log] = elements(st, r);
        expect(found).toBe(int(3));
        expect(elements(st, log)[0]).toBe(st.sym("unwound"));
      }],
    ["doesNotUnderstand: and perform:", "{3 perform: #zork: with: 4. 3 perform: #+ with: 4}",
      (st, r) => {
        const [dnu, sum] = elements(st, r);
        expect(st.mem.fetchPointer(dnu, 0)).toBe(st.sym("zork:"));
        expect(sum).toBe(int(7));
      }],
    ["deep recursion", "self down: 2000", (st, r) => expect(r).toBe(int(2000))],
  ];

  for (const [name, source, check] of programs) {
    it(`runs compiled code correctly while collecting at every safe point: ${name}`, () => {
      const st = image({ stressGC: true });
      st.compile("Object", "doesNotUnderstand: aMessage ^aMessage");
      st.compile("Object", "down: n ^n = 0 ifTrue: [0] ifFalse: [(self down: n - 1) + 1]");
      st.compile("Object", "find: x in: anArray log: log 1 to: anArray size do: [:i | [(anArray at: i) = x ifTrue: [^i]] ensure: [log at: 1 put: #unwound]]. ^0");
      st.compile("Array", "do: aBlock 1 to: self size do: [:i | aBlock value: (self at: i)]");
      const before = st.vm.collector.stats.youngCollections;
      const { result, slice } = st.doIt(source);
      expect(slice.fault?.message).toBeUndefined();
      check(st, result!);
      expect(st.vm.collector.stats.youngCollections - before).toBeGreaterThan(2);
      expectValidHeap(st);
    });
  }

  it("collects fully now and then, and finalizes under stress", () => {
    const st = image({ stressGC: true });
    st.setGlobal("FinSem", st.mem.specialObject(Special.finalizationSemaphore));
    const finalizer = st.process("[FinSem wait. Count := Count + 1] repeat", 60);
    st.setGlobal("Finalizer", finalizer.oop);
    st.setGlobal("Count", int(0));
    const { slice } = st.doIt("Finalizer resume. W := WeakArray new: 300. 1 to: 300 do: [:i | W at: i put: Marker new]. Count");
    expect(slice.fault?.message).toBeUndefined();
    expect(st.vm.collector.stats.fullCollections).toBeGreaterThan(0);
    expect(st.global("Count") >> 1).toBeGreaterThan(0);
  });
});

describe("heap growth and the heap limit", () => {
  it("grows the buffer while code runs, and the interpreter keeps working on the new one", () => {
    const st = image({ initialBytes: 64 * 1024 });
    const { mem, vm } = st;
    const buffer = mem.buffer;
    st.compile("Object", "down: n ^n = 0 ifTrue: [0] ifFalse: [(self down: n - 1) + 1]");
    const r = doIt(st, "| list sum | list := nil. 1 to: 5000 do: [:i | list := {i. list}]. sum := 0. [list == nil] whileFalse: [sum := sum + (list at: 1). list := list at: 2]. {sum. self down: 3000}");
    expect(elements(st, r)).toEqual([int(12502500), int(3000)]);
    expect(mem.stats.grows).toBeGreaterThan(0);
    expect(mem.buffer).not.toBe(buffer);
    expect(mem.buffer.byteLength).toBeGreaterThan(64 * 1024);
    expect(vm.words.buffer).toBe(mem.buffer);
    expect(vm.bytes.buffer).toBe(mem.buffer);
  });

  it("never lets the heap pass its limit, even when the buffer has room", () => {
    const st = image({ limitBytes: 256 * 1024 });
    const { mem } = st;
    while (mem.allocate(st.classes.Array, Format.indexable, 100) !== 0);
    expect(mem.bytesUsed()).toBeLessThanOrEqual(mem.limitBytes);
    expect(mem.buffer.byteLength).toBeLessThanOrEqual(mem.limitBytes + HEAP_START);
    expect(mem.canAllocate(404)).toBe(false);
  });

  it("signals the low-space semaphore before the hard stop, and stops with outOfMemory", () => {
    const st = image({ limitBytes: 2 * 1024 * 1024 });
    st.setGlobal("LowSem", st.mem.specialObject(Special.lowSpaceSemaphore));
    const watcher = st.process("LowSem wait. self show: 'low space'. Processor activeProcess suspend", 70);
    st.setGlobal("Watcher", watcher.oop);
    st.compile("Object", "forever: n ^(self forever: n + 1) + 1");
    const { slice } = st.doIt("Watcher resume. self forever: 0");
    expect(st.output).toEqual(["low space"]);
    expect(slice.reason).toBe("fault");
    expect(slice.fault?.kind).toBe("outOfMemory");
    expect(st.mem.bytesUsed()).toBeLessThanOrEqual(st.mem.limitBytes);
    // the process that was running when space got low is recorded
    expect(st.mem.specialObject(Special.processSignalingLowSpace)).not.toBe(st.mem.nilOop);
  });

  it("lets a low-space handler free memory so that the program goes on", () => {
    const st = image({ limitBytes: 2 * 1024 * 1024 });
    st.setGlobal("LowSem", st.mem.specialObject(Special.lowSpaceSemaphore));
    const watcher = st.process("[LowSem wait. Hoard := nil. Freed := Freed + 1] repeat", 70);
    st.setGlobal("Watcher", watcher.oop);
    st.setGlobal("Freed", int(0));
    const { result, slice } = st.doIt("Watcher resume. Hoard := nil. 1 to: 3000 do: [:i | Hoard := {Hoard. Array new: 500}]. #done");
    expect(slice.fault?.message).toBeUndefined();
    expect(result).toBe(st.sym("done"));
    expect(st.global("Freed") >> 1).toBeGreaterThan(0);
  });

  it("fails an allocation primitive beyond the limit without collecting, and runs its fallback code", () => {
    const st = image({ limitBytes: 2 * 1024 * 1024 });
    expect(doIt(st, "Array new: 1000000")).toBe(st.sym("failed"));
    expect(doIt(st, "Array new: 1000")).not.toBe(st.sym("failed"));
  });
});

describe("become from running code", () => {
  it("forwards the receiver, temporaries and stacks of running contexts (primitive 72)", () => {
    for (const stressGC of [false, true]) {
      const st = image({ stressGC });
      st.compile("Array", "elementsForwardIdentityTo: other <primitive: 72> ^#failed");
      st.compile("Marker", "tag ^tag");
      st.compile("Marker", "tag: x tag := x");
      st.compile("Marker", "becomeOther: other | before t | before := tag. t := self. {self} elementsForwardIdentityTo: {other}. ^{before. tag. self == other. t == other}");
      const r = doIt(st, "| a b pending | a := Marker new tag: 5; yourself. b := Marker new tag: 9; yourself. pending := {a}. {a becomeOther: b. a == b. (pending at: 1) == b}");
      const [inner, same, inArray] = elements(st, r);
      expect(elements(st, inner)).toEqual([int(5), int(9), st.mem.trueOop, st.mem.trueOop]);
      expect(same).toBe(st.mem.trueOop);
      expect(inArray).toBe(st.mem.trueOop);
    }
  });
});

describe("identity hashes and statistics", () => {
  it("keeps identity hashes across young and full collections", () => {
    const st = image();
    const { mem } = st;
    const objects = [marker(st, 1), st.array([]), st.string("x"), st.float(1.5)].map((o) => hold(st, o));
    marker(st, 0);
    const hashes = objects.map((h) => mem.hashOf(h.oop));
    st.vm.collect(false);
    expect(objects.map((h) => mem.hashOf(h.oop))).toEqual(hashes);
    marker(st, 0);
    st.vm.collect(true);
    expect(objects.map((h) => mem.hashOf(h.oop))).toEqual(hashes);
    const r = doIt(st, "| o h | o := Marker new. h := o identityHash. self youngGC. self fullGC. {h. o identityHash}");
    const [before, after] = elements(st, r);
    expect(after).toBe(before);
  });

  it("counts collections and measures their pauses", () => {
    const st = image();
    const { vm } = st;
    const seen: GcResult[] = [];
    vm.gcListeners.push((r) => seen.push(r));
    const stats0 = { ...vm.collector.stats };
    for (let i = 0; i < 3; i++) {
      st.array(new Array(1000).fill(int(1)));
      vm.collect(false);
    }
    vm.collect(true);
    const stats = vm.collector.stats;
    expect(stats.youngCollections - stats0.youngCollections).toBe(3);
    expect(stats.fullCollections - stats0.fullCollections).toBe(1);
    expect(seen.map((r) => r.full)).toEqual([false, false, false, true]);
    expect(stats.totalMs - stats0.totalMs).toBeCloseTo(seen.reduce((a, r) => a + r.ms, 0), 6);
    expect(stats.lastMs).toBe(seen[3].ms);
    expect(stats.maxPauseMs).toBeGreaterThanOrEqual(Math.max(...seen.map((r) => r.ms)));
    expect(stats.survivorBytes).toBe(seen[3].survivorBytes);
    for (const r of seen) {
      expect(r.ms).toBeGreaterThanOrEqual(0);
      expect(r.survivorBytes).toBeLessThanOrEqual(r.regionBytes);
    }
  });
});
