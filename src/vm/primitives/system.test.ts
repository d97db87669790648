import { describe, expect, it } from "vitest";
import { createHarness, type Harness } from "./primitiveHarness.js";
import { systemModule, systemPrimitives } from "./system.js";
import { PrimErr } from "./errors.js";
import { uncoveredPrimitives } from "./ledger.js";
import type { PrimitiveFn } from "./table.js";
import { Special } from "../memory/special.js";
import { ContextLayout, CONTEXT_FIXED_SIZE, ProcessLayout, ProcessorSchedulerLayout } from "../memory/layout.js";
import { bigIntValueOf } from "../memory/integers.js";
import { lookupSymbol, stringHash } from "../memory/symbols.js";
import { smallIntOop as int, type Oop } from "../memory/oop.js";
import { readImage } from "../image/imageFile.js";
import { activeProcess } from "../interpreter/scheduler.js";
import type { ObjectMemory } from "../memory/heap.js";

const prim = (n: number): PrimitiveFn => {
  const fn = systemPrimitives[n];
  if (fn === undefined) throw new Error(`no primitive ${n}`);
  return fn;
};

const named = (name: string): PrimitiveFn => {
  const fn = systemModule[name];
  if (fn === undefined) throw new Error(`no primitive ${name}`);
  return fn;
};

type Which = number | string;
const fnOf = (which: Which) => (typeof which === "number" ? prim(which) : named(which));

function ok(h: Harness, which: Which, receiver: Oop, ...args: Oop[]): Oop {
  return h.answer(fnOf(which), receiver, ...args);
}

function expectFail(h: Harness, which: Which, code: number, receiver: Oop, ...args: Oop[]): void {
  expect(h.failure(fnOf(which), receiver, ...args)).toBe(code);
}

function stringAnswer(h: Harness, oop: Oop): string {
  expect(h.mem.classOfPointer(oop)).toBe(h.classes.ByteString);
  return h.mem.stringOf(oop);
}

function elements(h: Harness, array: Oop): Oop[] {
  return Array.from({ length: h.mem.slotCount(array) }, (_, i) => h.mem.fetchPointer(array, i));
}

/** The receiver of the harness context, a stand-in for Smalltalk (the primitives do not look at it). */
const smalltalk = (h: Harness): Oop => h.mem.nilOop;

// ---------------------------------------------------------------- numbered primitives

describe("89, 116, 119 flushCache", () => {
  it("flushes the method cache so that a changed method dictionary takes effect", () => {
    const h = createHarness();
    const { mem } = h;
    h.defineMethod("Object", "answer", [0x76, 0x7c]); // ^ 1
    const send = () => h.run([0x70, 0xd0, 0x7c], [h.sym("answer")]).result;
    expect(send()).toBe(int(1));
    // replace the method behind the cache's back, as a tool installing a method without flushing would
    const dict = mem.fetchPointer(h.classes.Object, 1);
    const values = mem.fetchPointer(dict, 1);
    const index = elements(h, dict).slice(2).indexOf(h.sym("answer"));
    expect(index).toBeGreaterThanOrEqual(0);
    mem.storePointer(values, index, h.makeMethod([0x77, 0x7c], [], {}, "answer")); // ^ 2
    expect(send()).toBe(int(1)); // still the cached method
    expect(ok(h, 89, smalltalk(h))).toBe(smalltalk(h)); // Smalltalk flushCache answers Smalltalk
    expect(send()).toBe(int(2));
  });

  it("116 (CompiledMethod>>flushCache) and 119 (Symbol>>flushCache) answer their receiver and clear both caches", () => {
    const h = createHarness();
    const { vm } = h;
    const method = h.makeMethod([0x78], []);
    for (const [n, receiver] of [[116, method], [119, h.sym("foo")], [89, h.mem.nilOop]] as const) {
      vm.methodCache.selectors.fill(7);
      vm.methodCache.classes.fill(7);
      vm.primitives.namedCache.set(method, null);
      expect(ok(h, n, receiver)).toBe(receiver);
      expect(vm.methodCache.selectors.every((s) => s === 0)).toBe(true);
      expect(vm.methodCache.classes.every((c) => c === 0)).toBe(true);
      expect(vm.primitives.namedCache.size).toBe(0);
    }
  });
});

describe("97 snapshot", () => {
  function activeContextOf(mem: ObjectMemory): Oop {
    const scheduler = mem.fetchPointer(mem.specialObject(Special.schedulerAssociation), 1);
    const proc = mem.fetchPointer(scheduler, ProcessorSchedulerLayout.activeProcess);
    return mem.fetchPointer(proc, ProcessLayout.suspendedContext);
  }

  it("writes the image through the host's snapshot adapter: false here, true in the saved image", () => {
    const h = createHarness();
    const saved: Uint8Array[] = [];
    h.vm.host.snapshots = { save: (image) => void saved.push(image.slice()) };
    const r = h.call(prim(97), smalltalk(h));
    expect(r).toEqual({ ok: true, result: h.mem.falseOop, code: 0 });
    expect(saved).toHaveLength(1);
    // the running image's process is not left suspended
    expect(h.mem.fetchPointer(activeProcess(h.vm), ProcessLayout.suspendedContext)).toBe(h.mem.nilOop);

    const copy = readImage(saved[0]);
    const ctx = activeContextOf(copy);
    expect((ctx & 3) === 0 && ctx !== copy.nilOop).toBe(true);
    const stackp = copy.fetchPointer(ctx, ContextLayout.stackp) >> 1;
    expect(copy.fetchPointer(ctx, CONTEXT_FIXED_SIZE + stackp - 1)).toBe(copy.trueOop);
  });

  it("answers nil when the adapter could not save", () => {
    const h = createHarness();
    const attempts: number[] = [];
    h.vm.host.snapshots = { save: (image) => (attempts.push(image.length), "disk full") };
    expect(ok(h, 97, smalltalk(h))).toBe(h.mem.nilOop);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toBeGreaterThan(0);
  });

  it("fails (unsupported) when the host gives the image nowhere to save", () => {
    const h = createHarness();
    expect(h.vm.host.snapshots).toBeUndefined();
    expectFail(h, 97, PrimErr.unsupported, smalltalk(h));
  });
});

describe("113 quit and 114 exitToDebugger", () => {
  it("113 stops the slice with reason quit", () => {
    const h = createHarness();
    expect(ok(h, 113, smalltalk(h))).toBe(smalltalk(h));
    expect(h.vm.stopReason).toBe("quit");
    expect(h.vm.fault).toBeUndefined();

    // and from a running image: the slice ends with reason quit, nothing after the send runs
    h.defineMethod("Object", "quitPrimitive", [0x78], [], { primitive: 113 });
    const { slice, result } = h.run([0x70, 0xd0, 0x87, 0x76, 0x7c], [h.sym("quitPrimitive")]);
    expect(slice.reason).toBe("quit");
    expect(slice.fault).toBeUndefined();
    expect(result).toBeUndefined();
  });

  it("114 stops the image with a fault naming the active process", () => {
    const h = createHarness();
    const proc = activeProcess(h.vm);
    expect(ok(h, 114, smalltalk(h))).toBe(smalltalk(h));
    expect(h.vm.stopReason).toBe("fault");
    expect(h.vm.fault?.kind).toBe("vmError");
    expect(h.vm.fault?.message).toMatch(/debugger/);
    expect(h.vm.fault?.process?.oop).toBe(proc);

    h.defineMethod("Object", "exitToDebugger", [0x78], [], { primitive: 114 });
    const { slice } = h.run([0x70, 0xd0, 0x7c], [h.sym("exitToDebugger")]);
    expect(slice.reason).toBe("fault");
    expect(slice.fault?.kind).toBe("vmError");
    expect(slice.fault?.process?.oop).toBe(activeProcess(h.vm));
  });
});

describe("121 imageName, 129 specialObjectsOop, 142 vmPath", () => {
  it("121 answers the image name and sets it", () => {
    const h = createHarness();
    expect(stringAnswer(h, ok(h, 121, smalltalk(h)))).toBe("oz.image");
    expect(ok(h, 121, smalltalk(h), h.string("/tmp/other.image"))).toBe(smalltalk(h));
    expect(h.vm.imageName).toBe("/tmp/other.image");
    expect(stringAnswer(h, ok(h, 121, smalltalk(h)))).toBe("/tmp/other.image");
    expect(stringAnswer(h, ok(h, 149, smalltalk(h), int(1)))).toBe("/tmp/other.image");
  });

  it("121 refuses a name that is not a string, keeping the old one", () => {
    const h = createHarness();
    expectFail(h, 121, PrimErr.badArgument, smalltalk(h), int(3));
    expectFail(h, 121, PrimErr.badArgument, smalltalk(h), h.array([]));
    expectFail(h, 121, PrimErr.badArgument, smalltalk(h), h.makeMethod([0x78], []));
    expect(h.vm.imageName).toBe("oz.image");
  });

  it("129 answers the special objects array", () => {
    const h = createHarness();
    const soa = ok(h, 129, smalltalk(h));
    expect(soa).toBe(h.mem.specialObjectsOop);
    expect(h.mem.fetchPointer(soa, Special.nil)).toBe(h.mem.nilOop);
  });

  it("142 answers 'oz', and fails when the heap cannot hold the string", () => {
    const h = createHarness({ limitBytes: 1024 * 1024 });
    expect(stringAnswer(h, ok(h, 142, smalltalk(h)))).toBe("oz");
    h.exhaustHeap();
    expectFail(h, 142, PrimErr.insufficientObjectMemory, smalltalk(h));
    // 129 allocates nothing: it still answers
    expect(ok(h, 129, smalltalk(h))).toBe(h.mem.specialObjectsOop);
  });
});

describe("149 getSystemAttribute:", () => {
  it("answers the documented strings, nil for the others", () => {
    const h = createHarness();
    const attr = (n: number) => ok(h, 149, smalltalk(h), int(n));
    const expected: Record<number, string> = {
      0: "oz",
      1: "oz.image",
      1001: "unix",
      1002: "oz",
      1003: "javascript",
      1004: "Oz VM 0.1",
      1005: "none",
      1006: "Oz VM 0.1 (Squeak V3 bytecodes with closures)",
    };
    for (const [n, text] of Object.entries(expected)) expect(stringAnswer(h, attr(Number(n)))).toBe(text);
    for (const n of [2, 3, -1, 1000, 1007, 9999]) expect(attr(n)).toBe(h.mem.nilOop);
  });

  it("fails for an attribute that is not a SmallInteger", () => {
    const h = createHarness();
    expectFail(h, 149, PrimErr.badArgument, smalltalk(h), h.mem.nilOop);
    expectFail(h, 149, PrimErr.badArgument, smalltalk(h), h.string("1001"));
    expectFail(h, 149, PrimErr.badArgument, smalltalk(h), h.int(2n ** 40n));
  });
});

describe("254 vmParameterAt:", () => {
  it("answers the heap and collector figures it documents, nil for the others", () => {
    const h = createHarness();
    const { mem, vm } = h;
    vm.collect(false);
    vm.collect(true);
    vm.collect(true);
    const param = (n: number) => ok(h, 254, smalltalk(h), int(n));
    expect(param(1)).toBe(int(mem.youngStart));
    expect(param(2)).toBe(int(mem.freeStart - mem.youngStart));
    expect(param(3)).toBe(int(mem.freeStart));
    expect(param(7)).toBe(int(vm.collector.stats.fullCollections));
    expect(vm.collector.stats.fullCollections).toBe(2);
    expect(param(9)).toBe(int(vm.collector.stats.youngCollections));
    expect(vm.collector.stats.youngCollections).toBeGreaterThanOrEqual(1);
    expect(param(8)).toBe(int(Math.round(vm.collector.stats.totalMs)));
    expect(param(10)).toBe(int(Math.round(vm.collector.stats.totalMs)));
    expect(param(34)).toBe(int(mem.stats.allocatedBytes));
    for (const n of [0, 4, 5, 6, 11, 33, 35, 70, -1]) expect(param(n)).toBe(mem.nilOop);
  });

  it("answers figures past the SmallInteger range as LargePositiveIntegers", () => {
    const h = createHarness();
    h.mem.stats.allocatedBytes = 3 * 2 ** 30 + 5; // a long-running image allocates more than a GiB in all
    const r = ok(h, 254, smalltalk(h), int(34));
    expect(h.mem.classOfPointer(r)).toBe(h.classes.LargePositiveInteger);
    expect(bigIntValueOf(h.mem, r)).toBe(3n * 2n ** 30n + 5n);
  });

  it("fails for a parameter that is not a SmallInteger, and for the all-parameters and setter forms", () => {
    const h = createHarness();
    expectFail(h, 254, PrimErr.badArgument, smalltalk(h), h.mem.nilOop);
    expectFail(h, 254, PrimErr.badArgument, smalltalk(h), h.string("1"));
    expectFail(h, 254, PrimErr.badNumArgs, smalltalk(h));
    expectFail(h, 254, PrimErr.badNumArgs, smalltalk(h), int(1), int(2));
  });
});

// ---------------------------------------------------------------- the OzVM module

describe("primitiveTranscriptShow", () => {
  it("writes byte and word strings to the host's console and answers the receiver", () => {
    const h = createHarness();
    const transcript = h.instance("Point", []); // any receiver: the kernel's TranscriptStream
    expect(ok(h, "primitiveTranscriptShow", transcript, h.string("hello\n"))).toBe(transcript);
    expect(ok(h, "primitiveTranscriptShow", transcript, h.string("caf\u00e9"))).toBe(transcript);
    expect(ok(h, "primitiveTranscriptShow", transcript, h.wordArray([0x48, 0x20ac, 0x1f600, 0x110000]))).toBe(transcript);
    expect(ok(h, "primitiveTranscriptShow", transcript, h.string(""))).toBe(transcript);
    expect(h.output).toEqual(["hello\n", "caf\u00e9", "H\u20ac\u{1f600}\ufffd", ""]);
  });

  it("reaches a console the host injects", () => {
    const h = createHarness();
    const written: string[] = [];
    h.vm.host.console = { write: (t) => void written.push(t) };
    ok(h, "primitiveTranscriptShow", h.mem.nilOop, h.string("to the host"));
    expect(written).toEqual(["to the host"]);
    expect(h.output).toEqual([]);
  });

  it("fails for an argument that is not a string, writing nothing", () => {
    const h = createHarness();
    for (const bad of [int(3), h.mem.nilOop, h.array([h.string("x")]), h.char(65), h.makeMethod([0x78], [])]) {
      expectFail(h, "primitiveTranscriptShow", PrimErr.badArgument, h.mem.nilOop, bad);
    }
    expect(h.output).toEqual([]);
  });
});

describe("primitiveUnhandledError, primitiveFailedProcesses, primitiveForgetFailedProcess", () => {
  it("stops the image with an unhandledError fault and records the failing process once", () => {
    const h = createHarness();
    const { mem, vm } = h;
    const proc = activeProcess(vm);
    const exception = h.instance("Point", [int(1), int(2)]);
    const r = h.call(named("primitiveUnhandledError"), mem.nilOop, exception, h.string("ZeroDivide: division by zero"));
    expect(r).toEqual({ ok: true, result: mem.nilOop, code: 0 });
    expect(vm.stopReason).toBe("fault");
    expect(vm.fault?.kind).toBe("unhandledError");
    expect(vm.fault?.message).toBe("ZeroDivide: division by zero");
    expect(vm.fault?.object?.oop).toBe(exception);
    expect(vm.fault?.process?.oop).toBe(proc);
    expect(elements(h, ok(h, "primitiveFailedProcesses", mem.nilOop))).toEqual([proc]);

    // a description that is not a string still stops the image; the process is not listed twice
    vm.stopReason = null;
    ok(h, "primitiveUnhandledError", mem.nilOop, exception, int(0));
    expect(vm.stopReason).toBe("fault");
    expect(vm.fault?.message).toBe("unhandled error");
    expect(elements(h, ok(h, "primitiveFailedProcesses", mem.nilOop))).toEqual([proc]);
    expect(elements(h, mem.specialObject(Special.failedProcesses))).toEqual([proc]);
  });

  it("stops a running image's slice, the failing process intact", () => {
    const h = createHarness();
    const spec = h.array([h.string("OzVM"), h.string("primitiveUnhandledError"), int(0), int(0)]);
    h.defineMethod("Object", "primitiveUnhandledError:description:", [0x7b], [spec], { primitive: 117 });
    const description = h.string("Error: boom");
    const { slice, result } = h.run([0x70, 0x70, 0x20, 0xf1, 0x87, 0x76, 0x7c], [description, h.sym("primitiveUnhandledError:description:")]);
    expect(result).toBeUndefined();
    expect(slice.reason).toBe("fault");
    expect(slice.fault?.kind).toBe("unhandledError");
    expect(slice.fault?.message).toBe("Error: boom");
    expect(slice.fault?.object?.oop).toBe(h.mem.nilOop);
    const proc = slice.fault?.process?.oop ?? 0;
    expect(proc).toBe(activeProcess(h.vm));
    expect(elements(h, h.mem.specialObject(Special.failedProcesses))).toEqual([proc]);
    // the process can be resumed: its context is the one that sent the message, with nil answered
    expect(h.vm.activeContext).not.toBe(0);
    expect(h.vm.stackTop()).toBe(h.mem.nilOop);
  });

  it("primitiveFailedProcesses answers the list; primitiveForgetFailedProcess removes one process", () => {
    const h = createHarness();
    const { mem } = h;
    expect(elements(h, ok(h, "primitiveFailedProcesses", mem.nilOop))).toEqual([]);
    const a = h.instance("Process", []);
    const b = h.instance("Process", []);
    mem.setSpecialObject(Special.failedProcesses, h.array([a, b]));
    const list = ok(h, "primitiveFailedProcesses", mem.nilOop);
    expect(list).toBe(mem.specialObject(Special.failedProcesses));
    expect(ok(h, "primitiveForgetFailedProcess", mem.nilOop, a)).toBe(mem.nilOop);
    expect(elements(h, ok(h, "primitiveFailedProcesses", mem.nilOop))).toEqual([b]);
    expect(elements(h, list)).toEqual([a, b]); // a fresh array: a copy a debugger holds is unchanged
    // forgetting a process that is not listed changes nothing
    ok(h, "primitiveForgetFailedProcess", mem.nilOop, a);
    expect(elements(h, ok(h, "primitiveFailedProcesses", mem.nilOop))).toEqual([b]);
    ok(h, "primitiveForgetFailedProcess", mem.nilOop, b);
    expect(elements(h, ok(h, "primitiveFailedProcesses", mem.nilOop))).toEqual([]);
    // with no list at all (an image saved before the list existed) there is nothing to forget
    mem.setSpecialObject(Special.failedProcesses, mem.nilOop);
    expect(ok(h, "primitiveForgetFailedProcess", mem.nilOop, b)).toBe(mem.nilOop);
    expect(ok(h, "primitiveFailedProcesses", mem.nilOop)).toBe(mem.nilOop);
  });

  it("primitiveForgetFailedProcess fails when the heap cannot hold the new list, leaving the old one", () => {
    const h = createHarness({ limitBytes: 1024 * 1024 });
    const { mem } = h;
    const a = h.instance("Process", []);
    const list = h.array([a]);
    mem.setSpecialObject(Special.failedProcesses, list);
    h.exhaustHeap();
    expectFail(h, "primitiveForgetFailedProcess", PrimErr.insufficientObjectMemory, mem.nilOop, a);
    expect(mem.specialObject(Special.failedProcesses)).toBe(list);
    expect(elements(h, list)).toEqual([a]);
  });
});

describe("primitiveIntern, primitiveLookupSymbol, primitiveStringHash", () => {
  it("primitiveIntern answers the same Symbol for equal strings", () => {
    const h = createHarness();
    const { mem } = h;
    const first = ok(h, "primitiveIntern", h.classes.Symbol, h.string("fooBar:"));
    const second = ok(h, "primitiveIntern", h.classes.Symbol, h.string("fooBar:"));
    expect(first).toBe(second);
    expect(mem.classOfPointer(first)).toBe(h.classes.ByteSymbol);
    expect(mem.stringOf(first)).toBe("fooBar:");
    expect(first).toBe(h.sym("fooBar:"));
    // String>>asSymbol: the receiver is the string; a symbol interns to itself
    expect(ok(h, "primitiveIntern", h.string("fooBar:"))).toBe(first);
    expect(ok(h, "primitiveIntern", h.classes.Symbol, first)).toBe(first);
    expect(ok(h, "primitiveIntern", h.classes.Symbol, h.string("other"))).not.toBe(first);
  });

  it("primitiveIntern fails for non-strings", () => {
    const h = createHarness();
    for (const bad of [int(3), h.mem.nilOop, h.array([]), h.wordArray([0x100, 0x101]), h.makeMethod([0x78], [])]) {
      expectFail(h, "primitiveIntern", PrimErr.badArgument, h.classes.Symbol, bad);
    }
  });

  it("primitiveLookupSymbol answers an existing symbol, nil (without interning) for others", () => {
    const h = createHarness();
    const { mem } = h;
    const existing = h.sym("doesNotUnderstand:");
    expect(ok(h, "primitiveLookupSymbol", h.classes.Symbol, h.string("doesNotUnderstand:"))).toBe(existing);
    expect(ok(h, "primitiveLookupSymbol", h.classes.Symbol, h.string("noSuchSymbolAnywhere"))).toBe(mem.nilOop);
    expect(lookupSymbol(mem, "noSuchSymbolAnywhere")).toBe(0);
    expectFail(h, "primitiveLookupSymbol", PrimErr.badArgument, h.classes.Symbol, int(3));
    expectFail(h, "primitiveLookupSymbol", PrimErr.badArgument, h.classes.Symbol, h.array([]));
  });

  it("primitiveStringHash answers the symbol table's hash, equal for a string, its symbol and its wide form", () => {
    const h = createHarness();
    const hashOf = (oop: Oop) => {
      const r = ok(h, "primitiveStringHash", oop);
      expect(r & 1).toBe(1);
      return r >> 1;
    };
    for (const text of ["", "a", "abc", "doesNotUnderstand:", "caf\u00e9"]) {
      const expected = stringHash(text);
      expect(hashOf(h.string(text))).toBe(expected);
      expect(hashOf(h.sym(text || "x"))).toBe(stringHash(text || "x"));
      expect(hashOf(h.wordArray([...text].map((c) => c.codePointAt(0)!)))).toBe(expected);
    }
    expect(hashOf(h.string("abc"))).not.toBe(hashOf(h.string("abd")));
  });

  it("primitiveStringHash fails for non-strings", () => {
    const h = createHarness();
    for (const bad of [int(3), h.mem.nilOop, h.array([]), h.char(97), h.makeMethod([0x78], [])]) {
      expectFail(h, "primitiveStringHash", PrimErr.badArgument, bad);
    }
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(
      uncoveredPrimitives(systemPrimitives, [
        89, // flushCache: flushing needs nothing and accepts any receiver
        116, // CompiledMethod>>flushCache: the same function as 89
        119, // Symbol>>flushCache: the same function as 89
        113, // quit: always stops the image
        114, // exitToDebugger: always stops the image with a fault
        129, // specialObjectsOop: answers an existing object, allocates nothing
      ]),
    ).toEqual({ notSucceeded: [], notFailed: [] });
  });

  it("exercises every primitive of the OzVM module, succeeding and failing", () => {
    expect(
      uncoveredPrimitives(systemModule, [
        "primitiveUnhandledError", // always stops the image (the hook of last resort must not fail)
        "primitiveFailedProcesses", // answers an existing object (the list or nil), allocates nothing
      ]),
    ).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
