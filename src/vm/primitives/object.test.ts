import { describe, expect, it } from "vitest";
import { createHarness, type Harness } from "./primitiveHarness.js";
import { objectPrimitives } from "./object.js";
import { PrimErr } from "./errors.js";
import { Format } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { HASH_MASK } from "../memory/heap.js";
import { bigIntValueOf } from "../memory/integers.js";
import { characterOop, smallIntOop, type Oop } from "../memory/oop.js";
import { CONTEXT_FIXED_SIZE } from "../memory/layout.js";
import type { PrimitiveFn } from "./table.js";
import { uncoveredPrimitives } from "./ledger.js";

const prim = (n: number): PrimitiveFn => {
  const fn = objectPrimitives[n];
  if (fn === undefined) throw new Error(`no primitive ${n}`);
  return fn;
};
const int = smallIntOop;
const ch = (s: string) => characterOop(s.charCodeAt(0));

function expectFail(h: Harness, n: number, code: number, receiver: Oop, ...args: Oop[]): void {
  expect(h.failure(prim(n), receiver, ...args)).toBe(code);
}

function expectAnswer(h: Harness, n: number, expected: Oop, receiver: Oop, ...args: Oop[]): void {
  const r = h.call(prim(n), receiver, ...args);
  expect(r.ok).toBe(true);
  expect(r.result).toBe(expected);
}

function ok(h: Harness, n: number, receiver: Oop, ...args: Oop[]): Oop {
  return h.answer(prim(n), receiver, ...args);
}

/** A CompiledMethod with one literal (42) and bytecodes 0x70 0x7c; answers it and its literal byte size. */
function method(h: Harness): { m: Oop; literalBytes: number } {
  const m = h.makeMethod([0x70, 0x7c], [int(42)]);
  return { m, literalBytes: h.mem.pointerSlots(m) * 4 };
}

describe("60/61 at: and at:put:", () => {
  it("reads and writes the indexable slots of pointer objects, after the named ones", () => {
    const h = createHarness();
    const a = h.array([int(1), int(2), int(3)]);
    expectAnswer(h, 60, int(2), a, int(2));
    expectAnswer(h, 61, int(9), a, int(2), int(9));
    expect(h.mem.fetchPointer(a, 1)).toBe(int(9));
    const dict = h.mem.instantiate(h.classes.MethodDictionary, 2);
    h.mem.storePointer(dict, 0, int(77));
    h.mem.storePointer(dict, 2, int(5));
    expectAnswer(h, 60, int(5), dict, int(1));
    expectAnswer(h, 62, int(2), dict);
  });

  it("fails with badIndex out of range, badArgument for a non-integer index, badReceiver otherwise", () => {
    const h = createHarness();
    const a = h.array([int(1)]);
    expectFail(h, 60, PrimErr.badIndex, a, int(0));
    expectFail(h, 60, PrimErr.badIndex, a, int(2));
    expectFail(h, 60, PrimErr.badIndex, a, h.int(2n ** 40n));
    expectFail(h, 60, PrimErr.badArgument, a, h.mem.nilOop);
    expectFail(h, 60, PrimErr.badReceiver, int(3), int(1));
    expectFail(h, 60, PrimErr.badReceiver, ch("a"), int(1));
    expectFail(h, 60, PrimErr.badReceiver, h.instance("Point", [int(1), int(2)]), int(1));
    expectFail(h, 61, PrimErr.badIndex, a, int(5), int(1));
    expectFail(h, 61, PrimErr.badReceiver, int(3), int(1), int(1));
  });

  it("answers Characters for strings (String and its subclasses) and integers for other byte objects", () => {
    const h = createHarness();
    const s = h.string("abc");
    expectAnswer(h, 60, ch("b"), s, int(2));
    expectAnswer(h, 60, ch("a"), h.sym("abc"), int(1));
    expectAnswer(h, 60, int(7), h.bytes([7]), int(1));
    const large = h.int(2n ** 40n);
    expectAnswer(h, 60, int(1), large, int(6));
    const myString = h.defineClass("ByteString", Format.bytes, 0);
    const t = h.mem.allocateString(myString, "xyz");
    expectAnswer(h, 60, ch("z"), t, int(3));
  });

  it("stores Characters into strings and bytes into other byte objects", () => {
    const h = createHarness();
    const s = h.string("abc");
    expectAnswer(h, 61, ch("Z"), s, int(1), ch("Z"));
    expect(h.mem.stringOf(s)).toBe("Zbc");
    expectAnswer(h, 61, characterOop(0xe9), s, int(2), characterOop(0xe9));
    expectFail(h, 61, PrimErr.badArgument, s, int(1), int(65));
    expectFail(h, 61, PrimErr.badArgument, s, int(1), characterOop(0x100));
    const b = h.bytes([0, 0]);
    expectAnswer(h, 61, int(255), b, int(1), int(255));
    expect(h.mem.fetchByte(b, 0)).toBe(255);
    expectFail(h, 61, PrimErr.badArgument, b, int(1), int(256));
    expectFail(h, 61, PrimErr.badArgument, b, int(1), int(-1));
    expectFail(h, 61, PrimErr.badArgument, b, int(1), ch("a"));
  });

  it("reads words as unsigned 32-bit integers and stores up to 2^32-1", () => {
    const h = createHarness();
    const w = h.wordArray([5, 0xffffffff]);
    expectAnswer(h, 60, int(5), w, int(1));
    const big = ok(h, 60, w, int(2));
    expect(bigIntValueOf(h.mem, big)).toBe(0xffffffffn);
    expectAnswer(h, 61, big, w, int(1), big);
    expect(h.mem.fetchWord(w, 0)).toBe(0xffffffff);
    expectFail(h, 61, PrimErr.badArgument, w, int(1), h.int(2n ** 32n));
    expectFail(h, 61, PrimErr.badArgument, w, int(1), int(-1));
    expectFail(h, 61, PrimErr.badArgument, w, int(1), ch("a"));
    const f = h.float(1.5);
    expect(bigIntValueOf(h.mem, ok(h, 60, f, int(1)))).toBe(0x3ff80000n);
  });

  it("indexes a CompiledMethod over its whole body, refusing the header and literal bytes", () => {
    const h = createHarness();
    const { m, literalBytes } = method(h);
    expectAnswer(h, 62, int(h.mem.byteLength(m)), m);
    expectAnswer(h, 60, int(0x70), m, int(literalBytes + 1));
    expectFail(h, 60, PrimErr.badIndex, m, int(literalBytes));
    expectFail(h, 60, PrimErr.badIndex, m, int(1));
    expectAnswer(h, 61, int(0x71), m, int(literalBytes + 1), int(0x71));
    expect(h.mem.fetchByte(m, literalBytes)).toBe(0x71);
    expectFail(h, 61, PrimErr.badIndex, m, int(2), int(0));
  });

  it("never reads a context past its stack pointer", () => {
    const h = createHarness();
    const ctx = h.context();
    // the active context's stack pointer is stale until the primitive writes the registers back
    const depth = ok(h, 62, ctx);
    expect(depth >> 1).toBe(1); // the context itself, pushed as the receiver
    expectAnswer(h, 60, ctx, ctx, int(1));
    expectFail(h, 60, PrimErr.badIndex, ctx, int(3));
  });

  it("supports the mirror form with the object as an extra argument", () => {
    const h = createHarness();
    const a = h.array([int(4)]);
    expectAnswer(h, 60, int(4), h.mem.nilOop, a, int(1));
    expectAnswer(h, 61, int(6), h.mem.nilOop, a, int(1), int(6));
    expectAnswer(h, 62, int(1), h.mem.nilOop, a);
    expectAnswer(h, 110, h.mem.trueOop, h.mem.nilOop, a, a);
  });
});

describe("62 size", () => {
  it("answers basicSize for every kind of object", () => {
    const h = createHarness();
    expectAnswer(h, 62, int(3), h.array([int(1), int(2), int(3)]));
    expectAnswer(h, 62, int(5), h.string("hello"));
    expectAnswer(h, 62, int(2), h.wordArray([1, 2]));
    expectAnswer(h, 62, int(0), h.instance("Point", [int(1), int(2)]));
    expectAnswer(h, 62, int(0), int(12));
    expectAnswer(h, 62, int(0), ch("x"));
  });
});

describe("63/64 stringAt: and stringAt:put:", () => {
  it("uses Characters for bytes and words whatever the class", () => {
    const h = createHarness();
    const b = h.bytes([65]);
    expectAnswer(h, 63, ch("A"), b, int(1));
    expectAnswer(h, 64, ch("B"), b, int(1), ch("B"));
    expect(h.mem.fetchByte(b, 0)).toBe(66);
    expectFail(h, 64, PrimErr.badArgument, b, int(1), int(66));
    const w = h.wordArray([0x1f600, 0x400000]);
    expectAnswer(h, 63, characterOop(0x1f600), w, int(1));
    expectFail(h, 63, PrimErr.inappropriate, w, int(2));
    expectAnswer(h, 64, characterOop(0x3b1), w, int(2), characterOop(0x3b1));
    expect(h.mem.fetchWord(w, 1)).toBe(0x3b1);
    const a = h.array([int(1)]);
    expectAnswer(h, 63, int(1), a, int(1));
    expectFail(h, 63, PrimErr.badIndex, b, int(2));
  });
});

describe("68/69 objectAt: and objectAt:put:", () => {
  it("reads and writes the header and literals of a CompiledMethod", () => {
    const h = createHarness();
    const { m } = method(h);
    const header = h.mem.fetchPointer(m, 0);
    expectAnswer(h, 68, header, m, int(1));
    expectAnswer(h, 68, int(42), m, int(2));
    const last = h.mem.pointerSlots(m);
    expectFail(h, 68, PrimErr.badIndex, m, int(last + 1));
    expectFail(h, 68, PrimErr.badIndex, m, int(0));
    expectFail(h, 68, PrimErr.badArgument, m, h.mem.nilOop);
    expectFail(h, 68, PrimErr.badReceiver, h.array([int(1)]), int(1));
    expectAnswer(h, 69, int(43), m, int(2), int(43));
    expect(h.mem.fetchPointer(m, 1)).toBe(int(43));
    expectAnswer(h, 69, header | (1 << 1), m, int(1), header | (1 << 1)); // another primitive number
    expectFail(h, 69, PrimErr.badArgument, m, int(1), header + (1 << 10)); // the literal count must stay
    expectFail(h, 69, PrimErr.badArgument, m, int(1), h.mem.nilOop);
  });
});

describe("70/71 basicNew and basicNew:", () => {
  it("instantiates fixed, pointer, word and byte classes", () => {
    const h = createHarness();
    const { mem, classes } = h;
    const p = ok(h, 70, classes.Point);
    expect(mem.classOfPointer(p)).toBe(classes.Point);
    expect(mem.slotCount(p)).toBe(2);
    expect(mem.fetchPointer(p, 0)).toBe(mem.nilOop);
    const a = ok(h, 71, classes.Array, int(3));
    expect(mem.slotCount(a)).toBe(3);
    expect(mem.fetchPointer(a, 2)).toBe(mem.nilOop);
    const s = ok(h, 71, classes.ByteString, int(5));
    expect(mem.byteLength(s)).toBe(5);
    expect(mem.stringOf(s)).toBe("\0\0\0\0\0");
    const w = ok(h, 71, classes.WordArray, int(2));
    expect(mem.formatOf(w)).toBe(Format.words);
    expect(mem.fetchWord(w, 1)).toBe(0);
    const d = ok(h, 71, classes.MethodDictionary, int(4));
    expect(mem.slotCount(d)).toBe(6);
    expect(mem.classOfPointer(ok(h, 70, classes.Array))).toBe(classes.Array);
  });

  it("fails for bad receivers and sizes without throwing", () => {
    const h = createHarness({ limitBytes: 1024 * 1024 });
    const { classes } = h;
    expectFail(h, 71, PrimErr.badArgument, classes.Array, int(-1));
    expectFail(h, 71, PrimErr.badArgument, classes.Array, h.mem.nilOop);
    expectFail(h, 71, PrimErr.insufficientObjectMemory, classes.Array, int(0x3fffffff));
    expectFail(h, 71, PrimErr.insufficientObjectMemory, classes.ByteString, int(2 * 1024 * 1024));
    expectFail(h, 71, PrimErr.insufficientObjectMemory, classes.Array, h.int(2n ** 40n));
    expectFail(h, 71, PrimErr.badReceiver, classes.Point, int(2));
    expectFail(h, 71, PrimErr.badReceiver, classes.String, int(2));
    expectFail(h, 70, PrimErr.badReceiver, int(3));
    expectFail(h, 70, PrimErr.badReceiver, h.array([]));
    expectFail(h, 70, PrimErr.badReceiver, classes.SmallInteger);
    expectFail(h, 70, PrimErr.badReceiver, classes.Character);
    expectFail(h, 71, PrimErr.badReceiver, classes.CompiledMethod, int(10));
  });

  it("collects garbage to make room when the heap is full", () => {
    const h = createHarness({ limitBytes: 512 * 1024 });
    const { mem, classes } = h;
    while (mem.canAllocate(64 * 1024)) mem.allocate(classes.Array, Format.indexable, 8 * 1024);
    expect(mem.canAllocate(100 * 1024)).toBe(false);
    const keep = mem.newHandle(classes.Array);
    const a = h.call(prim(71), keep.oop, int(25 * 1024));
    expect(a.ok).toBe(true);
    expect(mem.slotCount(a.result)).toBe(25 * 1024);
    expect(mem.classOfPointer(a.result)).toBe(keep.oop);
  });

  it("re-reads its receiver when a collection moves it (stress mode)", () => {
    const h = createHarness({ stressGC: true });
    const cls = h.defineClass("Object", Format.fixed, 3);
    const handle = h.mem.newHandle(cls);
    const r = h.call(prim(70), cls);
    expect(r.ok).toBe(true);
    expect(h.mem.classOfPointer(r.result)).toBe(handle.oop);
    expect(h.mem.slotCount(r.result)).toBe(3);
  });
});

describe("73/74 instVarAt: and instVarAt:put:", () => {
  it("numbers the named fields, then the indexable ones", () => {
    const h = createHarness();
    const p = h.instance("Point", [int(3), int(4)]);
    expectAnswer(h, 73, int(4), p, int(2));
    expectAnswer(h, 74, int(5), p, int(1), int(5));
    expect(h.mem.fetchPointer(p, 0)).toBe(int(5));
    expectFail(h, 73, PrimErr.badIndex, p, int(3));
    expectFail(h, 73, PrimErr.badIndex, p, int(0));
    expectFail(h, 73, PrimErr.badArgument, p, ch("a"));
    expectFail(h, 73, PrimErr.badReceiver, int(1), int(1));
    const dict = h.mem.instantiate(h.classes.MethodDictionary, 1);
    h.mem.storePointer(dict, 2, int(9));
    expectAnswer(h, 73, int(9), dict, int(3));
    expectAnswer(h, 74, int(8), dict, int(3), int(8));
    expect(h.mem.fetchPointer(dict, 2)).toBe(int(8));
    expectFail(h, 74, PrimErr.badIndex, dict, int(4), int(8));
    const s = h.string("hi");
    expectAnswer(h, 73, ch("i"), s, int(2));
    expectFail(h, 74, PrimErr.badArgument, s, int(1), int(3));
  });

  it("reads the active context's registers fresh and refuses to change its pc, stack pointer or method", () => {
    const h = createHarness();
    const { vm } = h;
    const ctx = h.context();
    const sp = ok(h, 73, ctx, int(3));
    expect(sp >> 1).toBe(2); // receiver and argument are on the stack
    expect(ok(h, 73, ctx, int(2)) >> 1).toBe(vm.ip - vm.method - 11);
    expectFail(h, 74, PrimErr.inappropriate, ctx, int(2), int(1));
    expectFail(h, 74, PrimErr.inappropriate, ctx, int(3), int(1));
    expectFail(h, 74, PrimErr.inappropriate, ctx, int(4), h.mem.nilOop);
    const p = h.instance("Point", [int(0), int(0)]);
    expectAnswer(h, 74, p, ctx, int(6), p);
    expect(vm.receiver).toBe(p);
  });

  it("makes slots that become live read nil when a context's stack pointer grows", () => {
    const h = createHarness();
    const { mem } = h;
    const other = mem.clone(h.context());
    mem.storePointer(other, 2, int(0));
    mem.storePointer(other, CONTEXT_FIXED_SIZE, int(99)); // stale
    expectAnswer(h, 74, int(1), other, int(3), int(1));
    expect(mem.fetchPointer(other, CONTEXT_FIXED_SIZE)).toBe(mem.nilOop);
    expectFail(h, 74, PrimErr.badArgument, other, int(3), int(1000));
  });
});

describe("75, 175, 176 identity hashes", () => {
  it("answers the header hash, and immediates' values", () => {
    const h = createHarness();
    const a = h.array([]);
    expectAnswer(h, 75, int(h.mem.hashOf(a)), a);
    expectAnswer(h, 75, int(17), int(17));
    expectAnswer(h, 75, int(97), ch("a"));
    expectAnswer(h, 175, int(h.mem.hashOf(h.classes.Point)), h.classes.Point);
    expectFail(h, 175, PrimErr.badReceiver, int(3));
    expectFail(h, 175, PrimErr.badReceiver, a);
    expectAnswer(h, 176, int(0x3fffff), h.mem.nilOop);
    expect(HASH_MASK).toBe(0x3fffff);
  });
});

describe("105 replaceFrom:to:with:startingAt:", () => {
  it("copies between pointer objects, words and bytes, answering the receiver", () => {
    const h = createHarness();
    const { mem } = h;
    const dst = h.array([int(0), int(0), int(0), int(0)]);
    const src = h.array([int(1), int(2), int(3)]);
    expectAnswer(h, 105, dst, dst, int(2), int(3), src, int(2));
    expect([0, 1, 2, 3].map((i) => mem.fetchPointer(dst, i) >> 1)).toEqual([0, 2, 3, 0]);
    const s = h.string("hello");
    expectAnswer(h, 105, s, s, int(1), int(2), h.bytes([74, 69]), int(1));
    expect(mem.stringOf(s)).toBe("JEllo");
    const w = h.wordArray([1, 2, 3]);
    expectAnswer(h, 105, w, w, int(1), int(1), h.wordArray([0xdeadbeef]), int(1));
    expect(mem.fetchWord(w, 0)).toBe(0xdeadbeef);
    const dict = mem.instantiate(h.classes.MethodDictionary, 2);
    expectAnswer(h, 105, dict, dict, int(1), int(2), src, int(1));
    expect(mem.fetchPointer(dict, 2)).toBe(int(1));
    expect(mem.fetchPointer(dict, 0)).toBe(mem.nilOop);
  });

  it("handles overlapping ranges of the same object", () => {
    const h = createHarness();
    const s = h.string("abcdef");
    expectAnswer(h, 105, s, s, int(2), int(6), s, int(1));
    expect(h.mem.stringOf(s)).toBe("aabcde");
    const t = h.string("abcdef");
    expectAnswer(h, 105, t, t, int(1), int(5), t, int(2));
    expect(h.mem.stringOf(t)).toBe("bcdeff");
    const a = h.array([1, 2, 3, 4].map(int));
    expectAnswer(h, 105, a, a, int(2), int(4), a, int(1));
    expect([0, 1, 2, 3].map((i) => h.mem.fetchPointer(a, i) >> 1)).toEqual([1, 1, 2, 3]);
  });

  it("accepts an empty range at the end and fails on bad ranges or formats", () => {
    const h = createHarness();
    const s = h.string("abc");
    expectAnswer(h, 105, s, s, int(4), int(3), h.string(""), int(1));
    expectFail(h, 105, PrimErr.badIndex, s, int(0), int(1), h.string("x"), int(1));
    expectFail(h, 105, PrimErr.badIndex, s, int(3), int(4), h.string("xy"), int(1));
    expectFail(h, 105, PrimErr.badIndex, s, int(1), int(2), h.string("x"), int(1));
    expectFail(h, 105, PrimErr.badIndex, s, int(3), int(1), h.string("x"), int(1));
    expectFail(h, 105, PrimErr.badArgument, s, int(1), int(1), h.array([int(1)]), int(1));
    expectFail(h, 105, PrimErr.badArgument, s, int(1), int(1), h.wordArray([1]), int(1));
    expectFail(h, 105, PrimErr.badArgument, s, int(1), int(1), h.string("x"), h.mem.nilOop);
    expectFail(h, 105, PrimErr.badReceiver, int(1), int(1), int(1), h.string("x"), int(1));
    expectFail(h, 105, PrimErr.badReceiver, h.instance("Point", [int(1), int(1)]), int(1), int(1), h.array([int(1)]), int(1));
  });

  it("remembers an old receiver that receives young objects", () => {
    const h = createHarness();
    const { mem, vm } = h;
    const dst = mem.newHandle(h.array([int(0)]));
    vm.collect(false);
    expect(mem.isYoung(dst.oop)).toBe(false);
    const young = h.instance("Point", [int(7), int(8)]);
    const src = h.array([young]);
    expect(h.call(prim(105), dst.oop, int(1), int(1), src, int(1)).ok).toBe(true);
    vm.collect(false);
    const p = mem.fetchPointer(dst.oop, 0);
    expect(mem.classOfPointer(p)).toBe(h.classes.Point);
    expect(mem.fetchPointer(p, 1)).toBe(int(8));
  });
});

describe("110, 111, 169 identity and class", () => {
  it("compares identities and answers classes of any oop", () => {
    const h = createHarness();
    const a = h.array([]);
    expectAnswer(h, 110, h.mem.trueOop, a, a);
    expectAnswer(h, 110, h.mem.falseOop, a, h.array([]));
    expectAnswer(h, 110, h.mem.trueOop, int(3), int(3));
    expectAnswer(h, 169, h.mem.falseOop, a, a);
    expectAnswer(h, 169, h.mem.trueOop, int(3), int(4));
    expectAnswer(h, 111, h.classes.Array, a);
    expectAnswer(h, 111, h.classes.SmallInteger, int(3));
    expectAnswer(h, 111, h.classes.Character, ch("a"));
    expectAnswer(h, 111, h.classes.Point, h.mem.nilOop, h.instance("Point", [int(1), int(2)]));
    expectFail(h, 110, PrimErr.badNumArgs, a);
  });
});

describe("115, 160 changing classes", () => {
  it("changes the class when the layouts agree", () => {
    const h = createHarness();
    const { mem, classes } = h;
    const p = h.instance("Point", [int(1), int(2)]);
    const assoc = h.association(int(0), int(0));
    expectAnswer(h, 115, p, p, assoc);
    expect(mem.classOfPointer(p)).toBe(classes.Association);
    const b = h.bytes([104, 105]);
    expectAnswer(h, 160, classes.ByteString, classes.ByteString, b);
    expect(mem.classOfPointer(b)).toBe(classes.ByteString);
    const sub = h.defineClass("Array", Format.indexable, 0);
    const a = h.array([int(1)]);
    expectAnswer(h, 160, sub, sub, a);
    expect(mem.classOfPointer(a)).toBe(sub);
  });

  it("refuses other layouts and immediates", () => {
    const h = createHarness();
    const { classes } = h;
    const p = h.instance("Point", [int(1), int(2)]);
    expectFail(h, 160, PrimErr.inappropriate, classes.Array, p);
    expectFail(h, 160, PrimErr.inappropriate, classes.Message, p);
    expectFail(h, 160, PrimErr.inappropriate, classes.WeakArray, h.array([]));
    expectFail(h, 160, PrimErr.inappropriate, classes.WordArray, h.bytes([1]));
    expectFail(h, 160, PrimErr.inappropriate, classes.SmallInteger, h.instance("Object", []));
    expectFail(h, 160, PrimErr.badArgument, classes.Point, int(3));
    expectFail(h, 160, PrimErr.badArgument, classes.Point, h.mem.nilOop);
    expectFail(h, 160, PrimErr.badReceiver, int(3), p);
    expectFail(h, 115, PrimErr.badReceiver, int(3), p);
    expectFail(h, 115, PrimErr.badArgument, p, int(3));
    expectFail(h, 115, PrimErr.inappropriate, p, h.array([]));
  });
});

describe("132 pointsTo:", () => {
  it("looks at the pointer fields only", () => {
    const h = createHarness();
    const x = h.array([]);
    const a = h.array([int(1), x]);
    expectAnswer(h, 132, h.mem.trueOop, a, x);
    expectAnswer(h, 132, h.mem.trueOop, a, int(1));
    expectAnswer(h, 132, h.mem.falseOop, a, h.array([]));
    expectAnswer(h, 132, h.mem.falseOop, a, h.classes.Array);
    expectAnswer(h, 132, h.mem.falseOop, int(3), int(3));
    expectAnswer(h, 132, h.mem.falseOop, h.bytes([1]), int(0));
    const { m } = method(h);
    expectAnswer(h, 132, h.mem.trueOop, m, int(42));
    expectAnswer(h, 132, h.mem.falseOop, m, h.mem.fetchPointer(m, 0));
  });
});

describe("143/144 shortAt:, 165/166 integerAt:, 145 constantFill:", () => {
  it("reads and writes signed 16-bit halves", () => {
    const h = createHarness();
    const b = h.bytes([1, 0, 0xff, 0xff]);
    expectAnswer(h, 143, int(1), b, int(1));
    expectAnswer(h, 143, int(-1), b, int(2));
    expectAnswer(h, 144, int(-2), b, int(1), int(-2));
    expect([h.mem.fetchByte(b, 0), h.mem.fetchByte(b, 1)]).toEqual([0xfe, 0xff]);
    expectAnswer(h, 144, int(0x7fff), b, int(2), int(0x7fff));
    expectAnswer(h, 143, int(0x7fff), b, int(2));
    expectFail(h, 144, PrimErr.badArgument, b, int(1), int(0x8000));
    expectFail(h, 143, PrimErr.badIndex, b, int(3));
    expectFail(h, 143, PrimErr.badIndex, h.bytes([1, 2, 3]), int(2));
    expectFail(h, 143, PrimErr.badReceiver, h.array([int(1)]), int(1));
    const w = h.wordArray([0xfffe0003]);
    expectAnswer(h, 143, int(3), w, int(1));
    expectAnswer(h, 143, int(-2), w, int(2));
  });

  it("reads and writes signed 32-bit words", () => {
    const h = createHarness();
    const w = h.wordArray([0xffffffff, 0x7fffffff]);
    expectAnswer(h, 165, int(-1), w, int(1));
    expect(bigIntValueOf(h.mem, ok(h, 165, w, int(2)))).toBe(0x7fffffffn);
    const min = h.int(-(2n ** 31n));
    ok(h, 166, w, int(1), min);
    expect(h.mem.fetchWord(w, 0)).toBe(0x80000000);
    expectFail(h, 166, PrimErr.badArgument, w, int(1), h.int(2n ** 31n));
    expectFail(h, 166, PrimErr.badIndex, w, int(3), int(0));
    expectFail(h, 165, PrimErr.badReceiver, h.bytes([1, 2, 3, 4]), int(1));
  });

  it("fills bytes and words", () => {
    const h = createHarness();
    const b = h.bytes([1, 2, 3]);
    expectAnswer(h, 145, b, b, int(9));
    expect(h.mem.stringOf(b)).toBe("\t\t\t");
    const w = h.wordArray([1, 2]);
    expectAnswer(h, 145, w, w, h.int(0xffffffff));
    expect(h.mem.fetchWord(w, 1)).toBe(0xffffffff);
    expectFail(h, 145, PrimErr.badArgument, b, int(256));
    expectFail(h, 145, PrimErr.badArgument, w, int(-1));
    expectFail(h, 145, PrimErr.badReceiver, h.array([]), int(0));
    expectFail(h, 145, PrimErr.badReceiver, int(3), int(0));
  });
});

describe("148 shallowCopy, 168 copyFrom:", () => {
  it("copies objects; immediates answer themselves", () => {
    const h = createHarness();
    const { mem } = h;
    const a = h.array([int(1), int(2)]);
    const c = ok(h, 148, a);
    expect(c).not.toBe(a);
    expect(mem.classOfPointer(c)).toBe(h.classes.Array);
    expect(mem.fetchPointer(c, 1)).toBe(int(2));
    const s = ok(h, 148, h.string("abc"));
    expect(mem.stringOf(s)).toBe("abc");
    expectAnswer(h, 148, int(5), int(5));
  });

  it("copies a context without what lies above its stack pointer", () => {
    const h = createHarness();
    const { mem, vm } = h;
    const ctx = h.context();
    mem.storePointer(ctx, CONTEXT_FIXED_SIZE + 5, int(99)); // garbage above the stack pointer
    const c = ok(h, 148, ctx);
    expect(mem.fetchPointer(c, CONTEXT_FIXED_SIZE)).toBe(ctx); // the receiver pushed for the call
    expect(mem.fetchPointer(c, CONTEXT_FIXED_SIZE + 5)).toBe(mem.nilOop);
    expect(mem.fetchPointer(c, 1) >> 1).toBe(vm.ip - vm.method - 11);
  });

  it("copies the fields of another instance of the same class", () => {
    const h = createHarness();
    const p = h.instance("Point", [int(1), int(2)]);
    const q = h.instance("Point", [int(3), int(4)]);
    expectAnswer(h, 168, p, p, q);
    expect(h.mem.fetchPointer(p, 0)).toBe(int(3));
    expectFail(h, 168, PrimErr.badArgument, p, h.association(int(0), int(0)));
    expectFail(h, 168, PrimErr.badArgument, h.array([int(1)]), h.array([int(1), int(2)]));
    expectFail(h, 168, PrimErr.badReceiver, h.bytes([1]), h.bytes([2]));
    expectFail(h, 168, PrimErr.badReceiver, int(1), int(1));
  });
});

describe("170, 171 characters", () => {
  it("converts between integers and immediate characters", () => {
    const h = createHarness();
    expectAnswer(h, 170, ch("A"), h.classes.Character, int(65));
    expectAnswer(h, 170, characterOop(0x3fffff), h.classes.Character, int(0x3fffff));
    expectAnswer(h, 170, ch("B"), int(66));
    expectFail(h, 170, PrimErr.badArgument, h.classes.Character, int(0x400000));
    expectFail(h, 170, PrimErr.badArgument, h.classes.Character, int(-1));
    expectFail(h, 170, PrimErr.badArgument, h.classes.Character, ch("a"));
    expectFail(h, 170, PrimErr.badReceiver, h.mem.nilOop);
    expectAnswer(h, 171, int(97), ch("a"));
    expectAnswer(h, 171, int(0x1f600), characterOop(0x1f600));
    expectFail(h, 171, PrimErr.badReceiver, int(97));
    expectFail(h, 171, PrimErr.badReceiver, h.string("a"));
  });
});

describe("173/174 slotAt: and slotAt:put:", () => {
  it("numbers every slot and answers bits as integers", () => {
    const h = createHarness();
    const dict = h.mem.instantiate(h.classes.MethodDictionary, 1);
    h.mem.storePointer(dict, 0, int(1));
    expectAnswer(h, 173, int(1), dict, int(1));
    expectAnswer(h, 173, h.mem.nilOop, dict, int(3));
    expectFail(h, 173, PrimErr.badIndex, dict, int(4));
    const s = h.string("AB");
    expectAnswer(h, 173, int(66), s, int(2));
    expectAnswer(h, 174, int(67), s, int(2), int(67));
    expect(h.mem.stringOf(s)).toBe("AC");
    expectFail(h, 174, PrimErr.badArgument, s, int(2), ch("x"));
    const w = h.wordArray([0xffffffff]);
    expect(bigIntValueOf(h.mem, ok(h, 173, w, int(1)))).toBe(0xffffffffn);
    expectFail(h, 173, PrimErr.unsupported, method(h).m, int(1));
    expectFail(h, 173, PrimErr.badReceiver, int(1), int(1));
    expectFail(h, 173, PrimErr.badArgument, s, h.mem.nilOop);
    expectFail(h, 174, PrimErr.inappropriate, h.context(), int(2), int(1));
  });
});

describe("181, 182 sizes in memory", () => {
  it("answers byte sizes with the header", () => {
    const h = createHarness();
    const { classes } = h;
    expectAnswer(h, 181, int(20), classes.Point);
    expectAnswer(h, 181, int(12 + 40), classes.Array, int(10));
    expectAnswer(h, 181, int(12 + 8), classes.ByteString, int(5));
    expectAnswer(h, 181, int(12 + 8), classes.WordArray, int(2));
    expectFail(h, 181, PrimErr.badArgument, classes.Point, int(3));
    expectFail(h, 181, PrimErr.badArgument, classes.Array, int(-1));
    expectFail(h, 181, PrimErr.badReceiver, int(3));
    expectAnswer(h, 182, int(20), h.array([int(1), int(2)]));
    expectAnswer(h, 182, int(0), int(3));
  });
});

describe("through real sends", () => {
  it("runs the fallback code when the primitive fails", () => {
    const h = createHarness();
    h.defineMethod("Object", "basicAt:", [0x74, 0x7c], [], { primitive: 60 }); // fallback: ^-1
    const s = h.string("abc");
    const sel = h.sym("basicAt:");
    const ran = h.run([0x20, 0x21, 0xe2, 0x7c], [s, int(2), sel]);
    expect(ran.result).toBe(ch("b"));
    const failed = h.run([0x20, 0x21, 0xe2, 0x7c], [s, int(9), sel]);
    expect(failed.result).toBe(int(-1));
  });
});

describe("under stress collection", () => {
  it("allocating primitives answer correct objects when every allocation moves the heap", () => {
    const h = createHarness({ stressGC: true });
    const { mem } = h;
    const arrayClass = () => mem.specialObject(Special.classArray);
    for (let i = 0; i < 20; i++) {
      const source = mem.newHandle(h.array([int(i), h.string(`s${i}`)]));
      const copy = h.call(prim(148), source.oop);
      expect(copy.ok).toBe(true);
      expect(mem.classOfPointer(copy.result)).toBe(arrayClass());
      expect(mem.fetchPointer(copy.result, 0)).toBe(int(i));
      expect(mem.stringOf(mem.fetchPointer(copy.result, 1))).toBe(`s${i}`);
      const fresh = h.call(prim(71), arrayClass(), int(i));
      expect(mem.slotCount(fresh.result)).toBe(i);
      mem.releaseHandle(source);
    }
  });
});

describe("primitives that accept any receiver", () => {
  it("fail when their method declares the wrong number of arguments, so the fallback code runs", () => {
    const h = createHarness();
    const a = h.array([int(1)]);
    expectFail(h, 62, PrimErr.badNumArgs, a, a, a); // size, and its mirror form size: take at most one
    expectFail(h, 75, PrimErr.badNumArgs, a, a);
    expectFail(h, 111, PrimErr.badNumArgs, a, a, a);
    expectFail(h, 132, PrimErr.badNumArgs, a);
    expectFail(h, 148, PrimErr.badNumArgs, a, a);
    expectFail(h, 169, PrimErr.badNumArgs, a);
    expectFail(h, 182, PrimErr.badNumArgs, a, a);
  });

  it("148 clone fails when the heap cannot hold the copy", () => {
    const h = createHarness({ limitBytes: 1024 * 1024 });
    const { mem, classes } = h;
    const big = mem.newHandle(mem.allocate(classes.Array, Format.indexable, 96 * 1024));
    // live filler (held by handles, so collecting cannot free it) until the copy cannot fit
    while (mem.canAllocate(64 * 1024)) mem.newHandle(mem.allocate(classes.Array, Format.indexable, 8 * 1024));
    expectFail(h, 148, PrimErr.insufficientObjectMemory, big.oop);
    expect(mem.slotCount(big.oop)).toBe(96 * 1024);
  });
});

describe("163/164 read-only objects", () => {
  it("163 answers the read-only flag (immediates are read-only); 164 sets it and answers the previous value", () => {
    const h = createHarness();
    const a = h.array([int(1)]);
    expectAnswer(h, 163, h.mem.falseOop, a);
    expectAnswer(h, 163, h.mem.trueOop, int(3));
    expectAnswer(h, 163, h.mem.trueOop, ch("a"));
    expectAnswer(h, 164, h.mem.falseOop, a, h.mem.trueOop);
    expectAnswer(h, 163, h.mem.trueOop, a);
    expectAnswer(h, 164, h.mem.trueOop, a, h.mem.trueOop);
    expectAnswer(h, 164, h.mem.trueOop, a, h.mem.falseOop);
    expect(h.mem.isReadOnly(a)).toBe(false);
  });

  it("163 fails with more than one argument; 164 fails for immediates, contexts and non-booleans", () => {
    const h = createHarness();
    const a = h.array([int(1)]);
    expectFail(h, 163, PrimErr.badNumArgs, a, a, a);
    expectFail(h, 164, PrimErr.badReceiver, int(3), h.mem.trueOop);
    expectFail(h, 164, PrimErr.badReceiver, h.context(), h.mem.trueOop);
    expectFail(h, 164, PrimErr.badArgument, a, int(1));
    expectFail(h, 164, PrimErr.badNumArgs, a);
  });

  it("the primitives that modify their receiver fail with noModification, changing nothing", () => {
    const h = createHarness();
    const { mem, classes } = h;
    const readOnly = (oop: Oop): Oop => {
      mem.setReadOnly(oop, true);
      return oop;
    };
    const a = readOnly(h.array([int(1), int(2)]));
    expectFail(h, 61, PrimErr.noModification, a, int(1), int(9));
    expectFail(h, 61, PrimErr.badIndex, a, int(3), int(9)); // a bad index still says so
    expectFail(h, 74, PrimErr.noModification, a, int(1), int(9));
    expectFail(h, 174, PrimErr.noModification, a, int(1), int(9));
    expectFail(h, 105, PrimErr.noModification, a, int(1), int(1), h.array([int(5)]), int(1));
    expect(mem.fetchPointer(a, 0)).toBe(int(1));
    const s = readOnly(h.bytes([97, 98], "ByteString"));
    expectFail(h, 64, PrimErr.noModification, s, int(1), ch("x"));
    expectFail(h, 61, PrimErr.noModification, s, int(1), ch("x"));
    const b = readOnly(h.bytes([1, 2, 3, 4]));
    expectFail(h, 144, PrimErr.noModification, b, int(1), int(5));
    expectFail(h, 145, PrimErr.noModification, b, int(7));
    expect([mem.fetchByte(b, 0), mem.fetchByte(b, 1)]).toEqual([1, 2]);
    const w = readOnly(h.wordArray([1]));
    expectFail(h, 166, PrimErr.noModification, w, int(1), int(5));
    const p = readOnly(h.instance("Point", [int(1), int(2)]));
    expectFail(h, 74, PrimErr.noModification, p, int(1), int(9));
    expectFail(h, 168, PrimErr.noModification, p, h.instance("Point", [int(3), int(4)]));
    expectFail(h, 115, PrimErr.noModification, p, h.association(int(0), int(0)));
    expectFail(h, 160, PrimErr.noModification, classes.Association, p);
    expect(mem.classOfPointer(p)).toBe(classes.Point);
    expect(mem.fetchPointer(p, 0)).toBe(int(1));
    const { m } = method(h);
    readOnly(m);
    expectFail(h, 69, PrimErr.noModification, m, int(2), int(7));
  });

  it("148 copies a read-only object into a writable one", () => {
    const h = createHarness();
    const a = h.array([int(1)]);
    h.mem.setReadOnly(a, true);
    const copy = ok(h, 148, a);
    expect(h.mem.isReadOnly(copy)).toBe(false);
    expect(h.mem.isReadOnly(a)).toBe(true);
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    // 176 maxIdentityHash answers a constant whatever it is sent to
    expect(uncoveredPrimitives(objectPrimitives, [176])).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
