import { describe, expect, it } from "vitest";
import { createHarness, type Harness } from "./primitiveHarness.js";
import { compilerModule } from "./compiler.js";
import { PrimErr } from "./errors.js";
import { uncoveredPrimitives } from "./ledger.js";
import type { PrimitiveFn } from "./table.js";
import type { ChangeRecord, SourceStore } from "../host.js";
import { Format, classFormat } from "../memory/format.js";
import { smallIntOop as int, type Oop } from "../memory/oop.js";
import { decodeTrailer } from "../method/trailer.js";
import { methodAt } from "../contract/guest.js";

const named = (name: string): PrimitiveFn => {
  const fn = compilerModule[name];
  if (fn === undefined) throw new Error(`no primitive ${name}`);
  return fn;
};

function ok(h: Harness, name: string, receiver: Oop, ...args: Oop[]): Oop {
  return h.answer(named(name), receiver, ...args);
}

function expectFail(h: Harness, name: string, code: number, receiver: Oop, ...args: Oop[]): void {
  expect(h.failure(named(name), receiver, ...args)).toBe(code);
}

/** A fake changes file: records every chunk and reads back the sources it stored. */
interface RecordingSources extends SourceStore {
  changes: ChangeRecord[];
  reads: Array<[number, number]>;
  /** changes the text stored at `position` (someone edited the changes file) */
  edit(position: number, text: string): void;
}

const CHANGES_FILE = 2;

function recordingSources(): RecordingSources {
  const changes: ChangeRecord[] = [];
  const reads: Array<[number, number]> = [];
  const stored = new Map<number, string>();
  let end = 100;
  return {
    changes,
    reads,
    read(file, position) {
      reads.push([file, position]);
      return file === CHANGES_FILE ? stored.get(position) : undefined;
    },
    appendChange(chunk) {
      changes.push(chunk);
      const position = end;
      const text = "source" in chunk ? chunk.source : JSON.stringify(chunk);
      stored.set(position, text);
      end += text.length + 2;
      return { file: CHANGES_FILE, position };
    },
    edit(position, text) {
      stored.set(position, text);
    },
  };
}

/** A host whose changes file cannot be written (a read-only image): sources stay embedded. */
function readOnlySources(): RecordingSources {
  const store = recordingSources();
  return { ...store, appendChange: (chunk) => void store.changes.push(chunk) };
}

function withSources(h: Harness, store: RecordingSources = recordingSources()): RecordingSources {
  h.vm.host.sources = store;
  return store;
}

const metaclassOf = (h: Harness, className: string): Oop => h.mem.classOfPointer(h.classes[className]);

/** Sends the unary `selector` to `receiver` in a running image and answers the result. */
function send(h: Harness, receiver: Oop, selector: string): Oop | undefined {
  return h.run([0x70, 0xd0, 0x7c], [h.sym(selector)], { receiver }).result;
}

function stringAnswer(h: Harness, oop: Oop): string {
  expect(h.mem.classOfPointer(oop)).toBe(h.classes.ByteString);
  return h.mem.stringOf(oop);
}

function trailerOf(h: Harness, method: Oop) {
  return decodeTrailer(h.mem.bytesView(method)).ref;
}

/** A class Pair with instance variables a and b (a class object of the micro image's shape). */
function definePair(h: Harness, ivars: string[] = ["a", "b"]): Oop {
  const cls = h.defineClass("Object", Format.fixed, ivars.length);
  h.mem.storePointer(cls, 3, h.array(ivars.map((n) => h.sym(n))));
  h.mem.storePointer(cls, 6, h.sym("Pair"));
  return cls;
}

describe("primitiveCompile", () => {
  it("compiles into the class's method dictionary, logging the source to the changes file first", () => {
    const h = createHarness();
    const sources = withSources(h);
    const { mem, classes } = h;
    const source = "answer\n\t^ 41";
    expect(ok(h, "primitiveCompile", classes.Object, h.string(source), h.string("testing"))).toBe(h.sym("answer"));
    expect(sources.changes).toEqual([{ kind: "method", className: "Object", classSide: false, category: "testing", source }]);
    const method = methodAt(mem, classes.Object, h.sym("answer"));
    expect(method).not.toBe(0);
    expect(mem.classOfPointer(method)).toBe(classes.CompiledMethod);
    expect(trailerOf(h, method)).toEqual({ kind: "file", file: CHANGES_FILE, position: 100 });
    expect(send(h, mem.nilOop, "answer")).toBe(int(41));

    // compiling again replaces the method, and the method cache does not keep the old one
    ok(h, "primitiveCompile", classes.Object, h.string("answer ^ 42"), h.string("testing"));
    expect(send(h, mem.nilOop, "answer")).toBe(int(42));
    expect(methodAt(mem, classes.Object, h.sym("answer"))).not.toBe(method);
    expect(sources.changes).toHaveLength(2);
  });

  it("compiles instance variable accesses and class-side methods", () => {
    const h = createHarness();
    const sources = withSources(h);
    const { mem, classes } = h;
    expect(ok(h, "primitiveCompile", classes.Point, h.string("sum ^ x + y"), h.string("arithmetic"))).toBe(h.sym("sum"));
    expect(send(h, h.instance("Point", [int(3), int(4)]), "sum")).toBe(int(7));

    const meta = metaclassOf(h, "Point");
    const category = mem.nilOop; // no category: the default one
    expect(ok(h, "primitiveCompile", meta, h.string("zero ^ 0"), category)).toBe(h.sym("zero"));
    expect(methodAt(mem, meta, h.sym("zero"))).not.toBe(0);
    expect(methodAt(mem, classes.Point, h.sym("zero"))).toBe(0);
    expect(send(h, classes.Point, "zero")).toBe(int(0));
    expect(sources.changes[1]).toEqual({ kind: "method", className: "Point", classSide: true, category: "as yet unclassified", source: "zero ^ 0" });
  });

  it("embeds the source in the method when the host has no changes file", () => {
    const h = createHarness();
    expect(h.vm.host.sources).toBeUndefined();
    ok(h, "primitiveCompile", h.classes.Object, h.string("seven ^ 7"), h.string("x"));
    const method = methodAt(h.mem, h.classes.Object, h.sym("seven"));
    expect(trailerOf(h, method)).toEqual({ kind: "embedded", source: "seven ^ 7" });

    const readOnly = withSources(h, readOnlySources());
    ok(h, "primitiveCompile", h.classes.Object, h.string("eight ^ 8"), h.string("x"));
    expect(readOnly.changes).toHaveLength(1);
    expect(trailerOf(h, methodAt(h.mem, h.classes.Object, h.sym("eight")))).toEqual({ kind: "embedded", source: "eight ^ 8" });
  });

  it("answers a String locating a syntax error, installing and logging nothing", () => {
    const h = createHarness();
    const sources = withSources(h);
    const r = ok(h, "primitiveCompile", h.classes.Object, h.string("broken\n\t^ (1 + "), h.string("x"));
    const message = stringAnswer(h, r);
    expect(message).toMatch(/^<input>:2:\d+: /);
    expect(message).toContain("^ (1 + ");
    expect(methodAt(h.mem, h.classes.Object, h.sym("broken"))).toBe(0);
    expect(sources.changes).toEqual([]);

    const assignment = stringAnswer(h, ok(h, "primitiveCompile", h.classes.Object, h.string("foo: a\n  a := 3"), h.string("x")));
    expect(assignment).toContain("Cannot store into argument 'a'");
  });

  it("fails for a receiver that is not a class, a source that is not a string, or the wrong argument count", () => {
    const h = createHarness();
    const sources = withSources(h);
    const src = h.string("foo ^ 1");
    const cat = h.string("x");
    // objects shaped enough like a class to fool a check of the format slot: an Array whose third element is
    // a SmallInteger, a string whose third word is odd ('i' = 0x69); compiling into them wrote a method
    // dictionary into their fields (or bytes)
    const array = h.array([int(1), int(2), int(3)]);
    const text = h.string("abcdefghijklmnop");
    for (const bad of [int(3), h.mem.nilOop, array, text, h.instance("Point", [int(1), int(2)]), h.sym("Object")]) {
      expectFail(h, "primitiveCompile", PrimErr.badArgument, bad, src, cat);
    }
    expect(h.mem.fetchPointer(array, 1)).toBe(int(2));
    expect(h.mem.stringOf(text)).toBe("abcdefghijklmnop");
    for (const bad of [int(3), h.mem.nilOop, h.wordArray([0x66, 0x6f, 0x6f])]) {
      expectFail(h, "primitiveCompile", PrimErr.badArgument, h.classes.Object, bad, cat);
    }
    expectFail(h, "primitiveCompile", PrimErr.badArgument, h.classes.Object, src);
    expectFail(h, "primitiveCompile", PrimErr.badArgument, h.classes.Object, src, cat, cat);
    expect(sources.changes).toEqual([]);
    expect(methodAt(h.mem, h.classes.Object, h.sym("foo"))).toBe(0);
    expect(ok(h, "primitiveCompile", h.classes.Object, h.sym("foo"), cat)).toBe(h.sym("foo")); // a Symbol is a string
  });

  it("fails (inappropriate) when the image lacks a class the method's literals need", () => {
    const h = createHarness();
    // the micro image has no ScaledDecimal class
    expectFail(h, "primitiveCompile", PrimErr.inappropriate, h.classes.Object, h.string("price ^ 1.50s2"), h.string("x"));
    expect(methodAt(h.mem, h.classes.Object, h.sym("price"))).toBe(0);
  });
});

describe("primitiveCompileDoIt", () => {
  it("answers a method for the receiver's class, not installed anywhere", () => {
    const h = createHarness();
    const sources = withSources(h);
    const { mem, classes } = h;
    const tally = (cls: Oop) => mem.fetchPointer(mem.fetchPointer(cls, 1), 0);
    const before = tally(classes.SmallInteger);
    const method = ok(h, "primitiveCompileDoIt", mem.nilOop, h.string("self + 1"), int(41));
    expect(mem.classOfPointer(method)).toBe(classes.CompiledMethod);
    expect(h.runMethod(method, int(41)).result).toBe(int(42));
    expect(tally(classes.SmallInteger)).toBe(before);
    expect(trailerOf(h, method)).toEqual({ kind: "embedded", source: "self + 1" });
    expect(sources.changes).toEqual([]);

    const point = h.instance("Point", [int(3), int(4)]);
    const sum = ok(h, "primitiveCompileDoIt", mem.nilOop, h.string("x * y"), point);
    expect(h.runMethod(sum, point).result).toBe(int(12));
  });

  it("answers a String for a syntax error", () => {
    const h = createHarness();
    const message = stringAnswer(h, ok(h, "primitiveCompileDoIt", h.mem.nilOop, h.string("3 + + "), h.mem.nilOop));
    expect(message).toMatch(/^<input>:1:\d+: /);
  });

  it("fails for a source that is not a string, or the wrong argument count", () => {
    const h = createHarness();
    expectFail(h, "primitiveCompileDoIt", PrimErr.badArgument, h.mem.nilOop, int(3), h.mem.nilOop);
    expectFail(h, "primitiveCompileDoIt", PrimErr.badArgument, h.mem.nilOop, h.mem.nilOop, h.mem.nilOop);
    expectFail(h, "primitiveCompileDoIt", PrimErr.badArgument, h.mem.nilOop, h.string("1"));
    expectFail(h, "primitiveCompileDoIt", PrimErr.badArgument, h.mem.nilOop, h.string("1"), int(1), int(2));
  });
});

describe("primitiveRecompile", () => {
  it("recompiles from the logged source after the class changed shape, keeping the source pointer", () => {
    const h = createHarness();
    const sources = withSources(h);
    const { mem } = h;
    const pair = mem.newHandle(definePair(h));
    ok(h, "primitiveCompile", pair.oop, h.string("b ^ b"), h.string("accessing"));
    const old = methodAt(mem, pair.oop, h.sym("b"));
    const ref = trailerOf(h, old);
    if (ref.kind !== "file") throw new Error("the source should be in the changes file");
    const position = ref.position;
    expect(send(h, mem.instantiate(pair.oop), "b")).toBe(mem.nilOop);

    // a new first instance variable: b moves to the third field
    mem.storePointer(pair.oop, 3, h.array([h.sym("z"), h.sym("a"), h.sym("b")]));
    mem.storePointer(pair.oop, 2, int(classFormat(Format.fixed, 3)));
    const instance = mem.newHandle(mem.instantiate(pair.oop));
    [int(1), int(2), int(3)].forEach((v, i) => mem.storePointer(instance.oop, i, v));
    expect(send(h, instance.oop, "b")).toBe(int(2)); // the stale method reads the second field

    expect(ok(h, "primitiveRecompile", mem.nilOop, h.sym("b"), pair.oop)).toBe(h.sym("b"));
    expect(send(h, instance.oop, "b")).toBe(int(3));
    const fresh = methodAt(mem, pair.oop, h.sym("b"));
    expect(fresh).not.toBe(old);
    expect(trailerOf(h, fresh)).toEqual({ kind: "file", file: CHANGES_FILE, position });
    expect(sources.reads).toContainEqual([CHANGES_FILE, position]);
    expect(sources.changes).toHaveLength(1); // recompiling logs nothing
  });

  it("recompiles a method whose source is embedded", () => {
    const h = createHarness();
    ok(h, "primitiveCompile", h.classes.Point, h.string("double ^ x * 2"), h.string("x"));
    const old = methodAt(h.mem, h.classes.Point, h.sym("double"));
    expect(ok(h, "primitiveRecompile", h.mem.nilOop, h.sym("double"), h.classes.Point)).toBe(h.sym("double"));
    const fresh = methodAt(h.mem, h.classes.Point, h.sym("double"));
    expect(fresh).not.toBe(old);
    expect(trailerOf(h, fresh)).toEqual({ kind: "embedded", source: "double ^ x * 2" });
    expect(send(h, h.instance("Point", [int(5), int(0)]), "double")).toBe(int(10));
  });

  it("answers a String when the source is not available or no longer compiles", () => {
    const h = createHarness();
    const sources = withSources(h);
    const { mem, classes } = h;
    ok(h, "primitiveCompile", classes.Point, h.string("first ^ x"), h.string("x"));
    h.vm.host.sources = undefined; // the changes file went away
    const message = stringAnswer(h, ok(h, "primitiveRecompile", mem.nilOop, h.sym("first"), classes.Point));
    expect(message).toBe("the source of Point>>first is not available");
    h.defineMethod("Point", "handMade", [0x78]); // no source at all
    expect(stringAnswer(h, ok(h, "primitiveRecompile", mem.nilOop, h.sym("handMade"), classes.Point))).toContain("not available");

    // the source is there but no longer compiles (the changes file was edited): the old method stays
    withSources(h, sources);
    ok(h, "primitiveCompile", classes.Point, h.string("second ^ y"), h.string("x"));
    const old = methodAt(mem, classes.Point, h.sym("second"));
    const ref = trailerOf(h, old);
    if (ref.kind !== "file") throw new Error("the source should be in the changes file");
    sources.edit(ref.position, "second: v\n  v := y");
    const error = stringAnswer(h, ok(h, "primitiveRecompile", mem.nilOop, h.sym("second"), classes.Point));
    expect(error).toContain("Cannot store into argument 'v'");
    expect(methodAt(mem, classes.Point, h.sym("second"))).toBe(old);
  });

  it("fails for a selector the class does not define, a non-class, or the wrong argument count", () => {
    const h = createHarness();
    const { mem, classes } = h;
    ok(h, "primitiveCompile", classes.Point, h.string("norm ^ x * x + (y * y)"), h.string("x"));
    expectFail(h, "primitiveRecompile", PrimErr.notFound, mem.nilOop, h.sym("missing"), classes.Point);
    expectFail(h, "primitiveRecompile", PrimErr.notFound, mem.nilOop, h.sym("norm"), classes.Object);
    expectFail(h, "primitiveRecompile", PrimErr.notFound, mem.nilOop, h.sym("norm"), metaclassOf(h, "Point"));
    expectFail(h, "primitiveRecompile", PrimErr.badArgument, mem.nilOop, h.sym("norm"), int(3));
    expectFail(h, "primitiveRecompile", PrimErr.badArgument, mem.nilOop, h.sym("norm"), mem.nilOop);
    expectFail(h, "primitiveRecompile", PrimErr.badArgument, mem.nilOop, h.sym("norm"), h.array([int(1), int(2), int(3)]));
    expectFail(h, "primitiveRecompile", PrimErr.badArgument, mem.nilOop, h.sym("norm"), h.instance("Point", [int(1), int(2)]));
    expectFail(h, "primitiveRecompile", PrimErr.badArgument, mem.nilOop, h.sym("norm"));
  });
});

describe("primitiveSourceOf", () => {
  it("answers the source from the changes file, the embedded source, or nil", () => {
    const h = createHarness();
    const { mem, classes } = h;
    const sources = withSources(h);
    ok(h, "primitiveCompile", classes.Object, h.string("logged ^ 1"), h.string("x"));
    const logged = methodAt(mem, classes.Object, h.sym("logged"));
    expect(stringAnswer(h, ok(h, "primitiveSourceOf", mem.nilOop, logged))).toBe("logged ^ 1");
    expect(sources.reads).toEqual([[CHANGES_FILE, 100]]);

    h.vm.host.sources = undefined;
    expect(ok(h, "primitiveSourceOf", mem.nilOop, logged)).toBe(mem.nilOop); // the file is gone
    ok(h, "primitiveCompile", classes.Object, h.string("embedded ^ 2"), h.string("x"));
    const embedded = methodAt(mem, classes.Object, h.sym("embedded"));
    expect(stringAnswer(h, ok(h, "primitiveSourceOf", mem.nilOop, embedded))).toBe("embedded ^ 2");
    // CompiledMethod>>getSource sends it to the method itself
    expect(stringAnswer(h, ok(h, "primitiveSourceOf", embedded, embedded))).toBe("embedded ^ 2");
    expect(ok(h, "primitiveSourceOf", mem.nilOop, h.makeMethod([0x78], []))).toBe(mem.nilOop);
  });

  it("fails for an argument that is not a compiled method", () => {
    const h = createHarness();
    for (const bad of [int(3), h.char(65), h.mem.nilOop, h.string("foo ^ 1"), h.array([]), h.bytes([1, 2, 3])]) {
      expectFail(h, "primitiveSourceOf", PrimErr.badArgument, h.mem.nilOop, bad);
    }
  });
});

describe("primitiveBlockSource", () => {
  /** the closure that `nil blk` answers, `blk` compiled from `source` into Object */
  function closureFrom(h: Harness, source: string): Oop {
    ok(h, "primitiveCompile", h.classes.Object, h.string(source), h.string("x"));
    const run = h.run([0x73, 0xd0, 0x7c], [h.sym("blk")]);
    expect(run.slice.fault).toBeUndefined();
    return run.result!;
  }

  it("answers a block as written (told from the other blocks of its method by its start pc), or nil when the source is unknown", () => {
    const h = createHarness();
    const outer = h.mem.newHandle(closureFrom(h, "blk\n\t^ [:a :b | a +\n\t\tb]"));
    expect(stringAnswer(h, ok(h, "primitiveBlockSource", outer.oop))).toBe("[:a :b | a +\n\t\tb]");
    const nested = h.mem.newHandle(closureFrom(h, "blk [0]. ^ [:x | | t | t := x. [t]]"));
    expect(stringAnswer(h, ok(h, "primitiveBlockSource", nested.oop))).toBe("[:x | | t | t := x. [t]]");
    // a method whose source cannot be found (its changes file is gone) has blocks of unknown source
    const sources = withSources(h);
    const logged = closureFrom(h, "blk ^ [42]");
    expect(stringAnswer(h, ok(h, "primitiveBlockSource", logged))).toBe("[42]");
    expect(sources.reads.length).toBeGreaterThan(0);
    h.vm.host.sources = undefined;
    expect(ok(h, "primitiveBlockSource", logged)).toBe(h.mem.nilOop);
  });

  it("fails for a receiver that is not a BlockClosure, or an argument", () => {
    const h = createHarness();
    for (const bad of [int(3), h.mem.nilOop, h.string("[42]"), h.array([int(1), int(2), int(3)])]) {
      expectFail(h, "primitiveBlockSource", PrimErr.badReceiver, bad);
    }
    const block = closureFrom(h, "blk ^ [42]");
    expectFail(h, "primitiveBlockSource", PrimErr.badNumArgs, block, int(1));
  });
});

describe("primitiveLogChange and primitiveLogRemoval", () => {
  it("primitiveLogChange appends a class definition chunk, answering whether there was a changes file", () => {
    const h = createHarness();
    const { mem } = h;
    expect(ok(h, "primitiveLogChange", mem.nilOop, h.string("Object subclass: #Foo"))).toBe(mem.falseOop);
    const sources = withSources(h);
    expect(ok(h, "primitiveLogChange", mem.nilOop, h.string("Object subclass: #Foo"))).toBe(mem.trueOop);
    expect(sources.changes).toEqual([{ kind: "classDefinition", source: "Object subclass: #Foo" }]);
    const readOnly = withSources(h, readOnlySources());
    expect(ok(h, "primitiveLogChange", mem.nilOop, h.string("Smalltalk removeClassNamed: #Foo"))).toBe(mem.falseOop);
    expect(readOnly.changes).toHaveLength(1);
  });

  it("primitiveLogChange fails for a non-string, logging nothing", () => {
    const h = createHarness();
    const sources = withSources(h);
    for (const bad of [int(3), h.mem.nilOop, h.array([h.string("x")]), h.wordArray([0x41])]) {
      expectFail(h, "primitiveLogChange", PrimErr.badArgument, h.mem.nilOop, bad);
    }
    expect(sources.changes).toEqual([]);
  });

  it("primitiveLogRemoval appends a removal chunk naming the class and side", () => {
    const h = createHarness();
    const { mem, classes } = h;
    expect(ok(h, "primitiveLogRemoval", classes.Point, h.sym("x"), classes.Point)).toBe(mem.falseOop);
    const sources = withSources(h);
    expect(ok(h, "primitiveLogRemoval", classes.Point, h.sym("x"), classes.Point)).toBe(mem.trueOop);
    expect(ok(h, "primitiveLogRemoval", classes.Point, h.string("origin"), metaclassOf(h, "Point"))).toBe(mem.trueOop);
    expect(sources.changes).toEqual([
      { kind: "removeMethod", className: "Point", classSide: false, selector: "x" },
      { kind: "removeMethod", className: "Point", classSide: true, selector: "origin" },
    ]);
  });

  it("primitiveLogRemoval fails for a non-string selector or a non-class, logging nothing", () => {
    const h = createHarness();
    const sources = withSources(h);
    const { mem, classes } = h;
    expectFail(h, "primitiveLogRemoval", PrimErr.badArgument, classes.Point, int(3), classes.Point);
    expectFail(h, "primitiveLogRemoval", PrimErr.badArgument, classes.Point, mem.nilOop, classes.Point);
    expectFail(h, "primitiveLogRemoval", PrimErr.badArgument, classes.Point, h.sym("x"), int(3));
    expectFail(h, "primitiveLogRemoval", PrimErr.badArgument, classes.Point, h.sym("x"), mem.nilOop);
    expectFail(h, "primitiveLogRemoval", PrimErr.badArgument, classes.Point, h.sym("x"), h.array([int(1), int(2), int(3)]));
    expectFail(h, "primitiveLogRemoval", PrimErr.badArgument, classes.Point, h.sym("x"), h.instance("Point", [int(1), int(2)]));
    expect(sources.changes).toEqual([]);
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(uncoveredPrimitives(compilerModule, [])).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
