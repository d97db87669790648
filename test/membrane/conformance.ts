/**
 * The membrane's conformance suite: every operation of every interface of src/membrane/objectSpace.ts,
 * its results and its errors, written against the interface only. The local implementation runs it
 * (test/membrane/local.test.ts); a remote implementation (gRPC, WebSocket) runs the same function with
 * its own spaces:
 *
 *   conformanceSuite("RemoteObjectSpace (gRPC)", async () => {
 *     const { space, close } = await connectToGuest(...);
 *     return { space, dispose: close };
 *   });
 *
 * `makeSpace` must answer a fresh space on the kernel image (tests change it freely), unless other
 * tests still use theirs; `dispose` ends it. Each test makes its own spaces, so tests are independent
 * and run in any order. Everything that runs guest code has a budget, so a broken kernel makes tests
 * fail, never hang.
 *
 * What the suite needs from the kernel image: the classes of the image contract, `Object subclass:...`
 * (through ClassMirror.defineSubclass), `Processor activeProcess suspend`, `Semaphore new`/`wait`/`signal`,
 * `Error signal:`/`self error:`, `printString`, `Smalltalk at:put:`.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  MembraneError, type ClassMirror, type ContextMirror, type ErrorCode, type LocalValue, type MethodMirror, type ObjectMirror,
  type ObjectSpace, type ProcessMirror,
} from "../../src/membrane/index.js";
import { Char, FloatValue, Sym, char, sym } from "../../src/membrane/values.js";

export interface SpaceUnderTest {
  space: ObjectSpace;
  dispose(): Promise<void>;
}

export type SpaceFactory = () => Promise<SpaceUnderTest>;

/** Budgets: generous for work that must finish, short for work that must be cut off. */
const FINISH = { ms: 10_000 };
const SHORT = { ms: 200 };

const FIXTURE_CLASS = "OzConformanceFixture";

/** Methods of the fixture class, compiled through ClassMirror.compile. Line numbers matter (lineForPc). */
const FIXTURE_METHODS: Record<string, string> = {
  alpha: "alpha\n\t^ alpha",
  "alpha:": "alpha: anObject\n\talpha := anObject",
  "sum:with:": "sum: x with: y\n\t| t |\n\tt := x + y.\n\tProcessor activeProcess suspend.\n\t^ t * 2",
  "blockTemps:": "blockTemps: x\n\t| outer |\n\touter := x.\n\t^ [:a | | inner | inner := a + outer. Processor activeProcess suspend. inner] value: 5",
  count: "count\n\tCounter := (Counter ifNil: [0]) + 1.\n\tProcessor activeProcess suspend.\n\t^ Counter",
  fail: "fail\n\t^ self error: 'fixture failure'",
  loop: "loop\n\t| n |\n\tn := 0.\n\t[true] whileTrue: [n := n + 1]",
  "waitOn:": "waitOn: aSemaphore\n\taSemaphore wait.\n\t^ #done",
  lines: "lines\n\t| a |\n\ta := 1.\n\ta := a + 1.\n\t^ a zork",
  "primitiveAt:": "primitiveAt: index\n\t<primitive: 60>\n\t^ nil",
};

// ---------------------------------------------------------------- helpers

async function expectError(promise: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode, message?: RegExp): Promise<MembraneError> {
  let error: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`expected a MembraneError "${code}", the operation succeeded`);
  if (!(error instanceof MembraneError)) throw new Error(`expected a MembraneError "${code}", got ${String(error)}`);
  expect(error.code, error.message).toBe(code);
  expect(error.message.length).toBeGreaterThan(0);
  if (message) expect(error.message).toMatch(message);
  return error;
}

async function local(m: ObjectMirror): Promise<LocalValue> {
  return m.toLocal();
}

async function evaluateValue(space: ObjectSpace, source: string, receiver?: ObjectMirror): Promise<ObjectMirror> {
  const r = await space.evaluate(source, { receiver, budget: FINISH });
  if (!r.ok) throw new Error(`${source} failed: ${r.errorClass}: ${r.messageText}\n${r.stack.map((f) => f.description).join("\n")}`);
  return r.value;
}

async function evaluateLocal(space: ObjectSpace, source: string, receiver?: ObjectMirror): Promise<LocalValue> {
  return local(await evaluateValue(space, source, receiver));
}

async function defineFixture(space: ObjectSpace): Promise<ClassMirror> {
  const object = await space.classNamed("Object");
  const cls = await object!.defineSubclass({
    name: FIXTURE_CLASS,
    instanceVariableNames: ["alpha", "beta"],
    classVariableNames: ["Counter"],
    category: "Oz-Conformance",
  });
  for (const source of Object.values(FIXTURE_METHODS)) await cls.compile(source, { category: "fixture" });
  return cls;
}

/** Runs `source` in a new process until it suspends itself (the fixture methods do) and answers it. */
async function suspendedProcess(space: ObjectSpace, source: string, receiver?: ObjectMirror): Promise<ProcessMirror> {
  const p = await space.createProcess(40, source, receiver);
  const outcome = await space.runUntilFinished(p, FINISH);
  expect(outcome.state, JSON.stringify(outcome)).toBe("idle");
  expect(await p.state()).toBe("suspended");
  return p;
}

async function topContext(p: ProcessMirror): Promise<ContextMirror> {
  const ctx = await p.suspendedContext();
  expect(ctx).toBeDefined();
  return ctx!;
}

async function finish(space: ObjectSpace, p: ProcessMirror): Promise<LocalValue> {
  const outcome = await space.runUntilFinished(p, FINISH);
  if (outcome.state !== "finished") throw new Error(`the process did not finish: ${JSON.stringify(outcome)}`);
  return outcome.result.toLocal();
}

function isMirror(x: unknown): x is ObjectMirror {
  return typeof x === "object" && x !== null && "kind" in x && "space" in x;
}

/** Host objects that must never reach a guest. */
const HOST_OBJECTS: Array<[string, unknown]> = [
  ["a plain object", { a: 1 }],
  ["a function", () => 1],
  ["a Date", new Date(0)],
  ["a Map", new Map()],
  ["a JS symbol", Symbol("x")],
  ["undefined", undefined],
  ["an Int32Array", new Int32Array(2)],
  ["an array holding a plain object", [1, { a: 1 }]],
  ["a promise", Promise.resolve(1)],
];

// ---------------------------------------------------------------- the suite

export function conformanceSuite(name: string, makeSpace: SpaceFactory): void {
  describe(`ObjectSpace conformance: ${name}`, () => {
    const open: SpaceUnderTest[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) await s.dispose();
    });
    async function fresh(): Promise<ObjectSpace> {
      const s = await makeSpace();
      open.push(s);
      return s.space;
    }

    // ------------------------------------------------------------ accessing

    describe("accessing", () => {
      it("nilObject, trueObject, falseObject", async () => {
        const space = await fresh();
        const nil = await space.nilObject();
        const t = await space.trueObject();
        const f = await space.falseObject();
        expect(await nil.isNilObject()).toBe(true);
        expect(await t.isNilObject()).toBe(false);
        expect(await t.asBoolean()).toBe(true);
        expect(await f.asBoolean()).toBe(false);
        expect(await nil.toLocal()).toBe(null);
        expect(await t.toLocal()).toBe(true);
        expect(await f.toLocal()).toBe(false);
        expect(await (await nil.getClass()).name()).toBe("UndefinedObject");
        expect(await (await t.getClass()).name()).toBe("True");
        expect(await (await f.getClass()).name()).toBe("False");
        expect(await nil.isIdenticalTo(await space.nilObject())).toBe(true);
        expect(await nil.isIdenticalTo(t)).toBe(false);
      });

      it("specialObjectsArray holds nil, false and true at 1, 2, 3 (the paper's appendix)", async () => {
        const space = await fresh();
        const soa = await space.specialObjectsArray();
        expect(await soa.variableSize()).toBeGreaterThanOrEqual(3);
        expect(await (await soa.at(1)).isIdenticalTo(await space.nilObject())).toBe(true);
        expect(await (await soa.at(2)).isIdenticalTo(await space.falseObject())).toBe(true);
        expect(await (await soa.at(3)).isIdenticalTo(await space.trueObject())).toBe(true);
        expect(await (await soa.getClass()).name()).toBe("Array");
      });

      it("classNamed answers classes and metaclasses, undefined for unknown names and non-class globals", async () => {
        const space = await fresh();
        const object = await space.classNamed("Object");
        expect(object).toBeDefined();
        expect(object!.kind).toBe("class");
        expect(await object!.name()).toBe("Object");
        const meta = await space.classNamed("Object class");
        expect(meta!.kind).toBe("metaclass");
        expect(await meta!.name()).toBe("Object class");
        expect(await meta!.isIdenticalTo(await object!.getClass())).toBe(true);
        expect(await space.classNamed("NoSuchClassAnywhere")).toBeUndefined();
        expect(await space.classNamed("Smalltalk")).toBeUndefined();
        expect(await space.classNamed("")).toBeUndefined();
      });

      it("classes lists every class once, as class mirrors", async () => {
        const space = await fresh();
        const classes = await space.classes();
        const names = await Promise.all(classes.map((c) => c.name()));
        for (const n of ["Object", "Array", "SmallInteger", "Process", "Metaclass", "Class"]) expect(names).toContain(n);
        expect(new Set(names).size).toBe(names.length);
        for (const c of classes) expect(c.kind).toBe("class");
      });

      it("globalNamed and setGlobal", async () => {
        const space = await fresh();
        const smalltalk = await space.globalNamed("Smalltalk");
        expect(smalltalk).toBeDefined();
        expect(await (await smalltalk!.getClass()).name()).toBe("SystemDictionary");
        expect(await space.globalNamed("OzNoSuchGlobal")).toBeUndefined();
        await space.setGlobal("OzConformanceGlobal", [1, "two", sym("three")]);
        expect(await (await space.globalNamed("OzConformanceGlobal"))!.toLocal()).toEqual([1, "two", sym("three")]);
        expect(await evaluateLocal(space, "OzConformanceGlobal size")).toBe(3);
        const obj = await evaluateValue(space, "Object new");
        await space.setGlobal("OzConformanceGlobal", obj);
        expect(await (await space.globalNamed("OzConformanceGlobal"))!.isIdenticalTo(obj)).toBe(true);
        await expectError(space.setGlobal("lowercase global", 1), "invalidArgument");
      });
    });

    // ------------------------------------------------------------ conversions

    describe("literal conversions", () => {
      const roundTrips: Array<[string, LocalValue, LocalValue?]> = [
        ["nil", null],
        ["true", true],
        ["false", false],
        ["zero", 0],
        ["a negative SmallInteger", -42],
        ["the largest SmallInteger", 2 ** 30 - 1],
        ["the smallest SmallInteger", -(2 ** 30)],
        ["a LargePositiveInteger from a number", 2 ** 30, BigInt(2 ** 30)],
        ["a LargeNegativeInteger from a number", -(2 ** 30) - 1, BigInt(-(2 ** 30) - 1)],
        ["a huge bigint", 2n ** 200n + 7n],
        ["a huge negative bigint", -(3n ** 150n)],
        ["a small bigint (normalized)", 12n, 12],
        ["a float", 1.5],
        ["a negative float", -0.125],
        ["a float with an integral value", new FloatValue(2), 2],
        ["infinity", Infinity],
        ["a character", char("a")],
        ["a character beyond Latin-1", char(0x263a)],
        ["a string", "it's a string"],
        ["an empty string", ""],
        ["a Latin-1 string", "caf\u00e9 \u00ff"],
        ["a string beyond Latin-1 (a WideString)", "\u263a smile, \u00e9t\u00e9, \u{1F600}"],
        ["a symbol", sym("at:put:")],
        ["a binary symbol", sym("+")],
        ["an empty array", []],
        ["a nested array", [1, [2, [3, "x", sym("y")]], char("z"), null, true, 2.5, 2n ** 70n]],
        ["a byte array", new Uint8Array([0, 1, 127, 255])],
        ["an empty byte array", new Uint8Array(0)],
        ["an array of byte arrays", [new Uint8Array([1, 2]), new Uint8Array([3])]],
      ];
      for (const [what, value, expected] of roundTrips) {
        it(`fromLocal and toLocal round-trip ${what}`, async () => {
          const space = await fresh();
          const m = await space.fromLocal(value);
          expect(await m.toLocal()).toEqual(expected === undefined ? value : expected);
          expect(await space.toLocal(m)).toEqual(expected === undefined ? value : expected);
        });
      }

      it("NaN round-trips as NaN", async () => {
        const space = await fresh();
        expect(Number.isNaN(await (await space.fromLocalFloat(NaN)).toLocal())).toBe(true);
      });

      it("the typed conversions create the right guest classes", async () => {
        const space = await fresh();
        const className = async (m: ObjectMirror) => (await m.getClass()).name();
        expect(await className(await space.fromLocalString("abc"))).toBe("ByteString");
        expect(await className(await space.fromLocalString("\u263a"))).toBe("WideString");
        expect(await className(await space.fromLocalSymbol("abc"))).toBe("ByteSymbol");
        expect(await className(await space.fromLocalCharacter("x"))).toBe("Character");
        expect(await className(await space.fromLocalCharacter(65))).toBe("Character");
        expect(await className(await space.fromLocalInteger(3))).toBe("SmallInteger");
        expect(await className(await space.fromLocalInteger(2n ** 64n))).toBe("LargePositiveInteger");
        expect(await className(await space.fromLocalInteger(-(2n ** 64n)))).toBe("LargeNegativeInteger");
        expect(await className(await space.fromLocalInteger(2 ** 53))).toBe("LargePositiveInteger");
        expect(await className(await space.fromLocalFloat(3))).toBe("SmallFloat64");
        expect(await className(await space.fromLocalFloat(Infinity))).toBe("BoxedFloat64");
        expect(await className(await space.fromLocalBoolean(true))).toBe("True");
        expect(await className(await space.fromLocalArray([1, 2]))).toBe("Array");
        expect(await className(await space.fromLocalByteArray(new Uint8Array([1])))).toBe("ByteArray");
        expect(await space.toLocalString(await space.fromLocalString("abc"))).toBe("abc");
        expect(await space.toLocalString(await space.fromLocalSymbol("abc"))).toBe("abc");
        expect(await space.toLocalSymbol(await space.fromLocalSymbol("abc"))).toBe("abc");
        expect(await space.toLocalInteger(await space.fromLocalInteger(5))).toBe(5n);
        expect(await space.toLocalInteger(await space.fromLocalInteger(2n ** 80n))).toBe(2n ** 80n);
        expect(await space.toLocalFloat(await space.fromLocalFloat(2))).toBe(2);
        expect(await space.toLocalCharacter(await space.fromLocalCharacter("q"))).toBe("q");
        expect(await space.toLocalBoolean(await space.fromLocalBoolean(false))).toBe(false);
        expect(await space.toLocalArray(await space.fromLocalArray([1, "a"]))).toEqual([1, "a"]);
        expect(await space.toLocalByteArray(await space.fromLocalByteArray(new Uint8Array([9, 8])))).toEqual(new Uint8Array([9, 8]));
      });

      it("symbols are unique in the guest; strings are new objects", async () => {
        const space = await fresh();
        const a = await space.fromLocalSymbol("ozConformanceSymbol");
        const b = await space.fromLocal(sym("ozConformanceSymbol"));
        expect(await a.isIdenticalTo(b)).toBe(true);
        expect(await (await evaluateValue(space, "#ozConformanceSymbol")).isIdenticalTo(a)).toBe(true);
        const s1 = await space.fromLocalString("x");
        const s2 = await space.fromLocalString("x");
        expect(await s1.isIdenticalTo(s2)).toBe(false);
      });

      it("values computed by the guest translate back", async () => {
        const space = await fresh();
        expect(await evaluateLocal(space, "3 + 4")).toBe(7);
        expect(await evaluateLocal(space, "#(1 $a 'b' #c 2.5 nil true)")).toEqual([1, char("a"), "b", sym("c"), 2.5, null, true]);
        expect(await evaluateLocal(space, "#[1 2 3]")).toEqual(new Uint8Array([1, 2, 3]));
        expect(await evaluateLocal(space, "1073741823 + 1")).toBe(2n ** 30n);
      });

      it("toLocal refuses non-literals and self-referencing arrays", async () => {
        const space = await fresh();
        const obj = await evaluateValue(space, "Object new");
        await expectError(obj.toLocal(), "invalidArgument");
        await expectError(space.toLocal(obj), "invalidArgument");
        await expectError(space.toLocal((await space.classNamed("Object"))!), "invalidArgument");
        const cyclic = await evaluateValue(space, "| a | a := Array new: 1. a at: 1 put: a. a");
        await expectError(cyclic.toLocal(), "invalidArgument");
        const holdsObject = await evaluateValue(space, "Array with: 1 with: Object new");
        await expectError(holdsObject.toLocal(), "invalidArgument");
      });

      it("the typed toLocal conversions refuse other kinds", async () => {
        const space = await fresh();
        const int = await space.fromLocal(3);
        const str = await space.fromLocal("s");
        await expectError(space.toLocalString(int), "invalidArgument");
        await expectError(space.toLocalSymbol(str), "invalidArgument");
        await expectError(space.toLocalInteger(str), "invalidArgument");
        await expectError(space.toLocalInteger(await space.fromLocal(1.5)), "invalidArgument");
        await expectError(space.toLocalFloat(int), "invalidArgument");
        await expectError(space.toLocalCharacter(str), "invalidArgument");
        await expectError(space.toLocalBoolean(int), "invalidArgument");
        await expectError(space.toLocalBoolean(await space.nilObject()), "invalidArgument");
        await expectError(space.toLocalArray(str), "invalidArgument");
        await expectError(space.toLocalByteArray(str), "invalidArgument");
        await expectError(space.toLocalByteArray(await space.fromLocal([1])), "invalidArgument");
      });

      it("fromLocal refuses host objects (the transitive closure property)", async () => {
        const space = await fresh();
        for (const [what, value] of HOST_OBJECTS) {
          const e = await expectError(space.fromLocal(value as LocalValue), "invalidArgument");
          expect(e.message, what).not.toBe("");
        }
        await expectError(space.fromLocalArray([1, { x: 1 } as unknown as LocalValue]), "invalidArgument");
        await expectError(space.fromLocalArray("abc" as unknown as LocalValue[]), "invalidArgument");
        await expectError(space.fromLocalString(42 as unknown as string), "invalidArgument");
        await expectError(space.fromLocalSymbol({} as unknown as string), "invalidArgument");
        await expectError(space.fromLocalSymbol("\u263a"), "invalidArgument");
        await expectError(space.fromLocalCharacter(""), "invalidArgument");
        await expectError(space.fromLocalCharacter("ab"), "invalidArgument");
        await expectError(space.fromLocalCharacter(-1), "invalidArgument");
        await expectError(space.fromLocalCharacter(0x400000), "invalidArgument");
        await expectError(space.fromLocalCharacter(1.5), "invalidArgument");
        await expectError(space.fromLocalInteger(1.5), "invalidArgument");
        await expectError(space.fromLocalInteger(NaN), "invalidArgument");
        await expectError(space.fromLocalInteger(Infinity), "invalidArgument");
        await expectError(space.fromLocalInteger("3" as unknown as number), "invalidArgument");
        await expectError(space.fromLocalFloat("1.5" as unknown as number), "invalidArgument");
        await expectError(space.fromLocalBoolean(1 as unknown as boolean), "invalidArgument");
        await expectError(space.fromLocalByteArray([1, 2] as unknown as Uint8Array), "invalidArgument");
        const cyclic: LocalValue[] = [];
        cyclic.push(cyclic);
        await expectError(space.fromLocal(cyclic), "invalidArgument");
      });

      it("fromLocal refuses mirrors: values cross by translation only", async () => {
        const space = await fresh();
        const other = await fresh();
        await expectError(space.fromLocal((await other.nilObject()) as unknown as LocalValue), "wrongSpace");
        await expectError(space.fromLocal([(await other.trueObject()) as unknown as LocalValue]), "wrongSpace");
        await expectError(space.fromLocal((await space.nilObject()) as unknown as LocalValue), "invalidArgument");
      });
    });

    // ------------------------------------------------------------ the membrane's rules

    describe("membrane rules", () => {
      it("a mirror used with another space is a wrongSpace error, everywhere", async () => {
        const a = await fresh();
        const b = await fresh();
        const foreign = await b.fromLocal([1, 2]);
        const foreignClass = (await b.classNamed("Object"))!;
        const foreignProcess = await b.createProcess(40, "3");
        const arr = await a.fromLocal([1, 2]);
        const cls = (await a.classNamed("Object"))!;
        const checks: Array<[string, () => Promise<unknown>]> = [
          ["toLocal", () => a.toLocal(foreign)],
          ["toLocalString", () => a.toLocalString(foreign)],
          ["toLocalSymbol", () => a.toLocalSymbol(foreign)],
          ["toLocalInteger", () => a.toLocalInteger(foreign)],
          ["toLocalFloat", () => a.toLocalFloat(foreign)],
          ["toLocalCharacter", () => a.toLocalCharacter(foreign)],
          ["toLocalBoolean", () => a.toLocalBoolean(foreign)],
          ["toLocalArray", () => a.toLocalArray(foreign)],
          ["toLocalByteArray", () => a.toLocalByteArray(foreign)],
          ["setGlobal", () => a.setGlobal("OzX", foreign)],
          ["atPut", () => arr.atPut(1, foreign)],
          ["atPut in an array", () => arr.atPut(1, [foreign as unknown as LocalValue])],
          ["instVarAtPut", () => arr.instVarAtPut(1, foreign)],
          ["isIdenticalTo", () => arr.isIdenticalTo(foreign)],
          ["setClass", () => arr.setClass(foreignClass)],
          ["setSuperclass", async () => (await cls.defineSubclass({ name: "OzWrongSpace" })).setSuperclass(foreignClass)],
          ["createProcess receiver", () => a.createProcess(40, "self", foreign)],
          ["installAsActiveProcess", () => a.installAsActiveProcess(foreignProcess)],
          ["runUntilFinished", () => a.runUntilFinished(foreignProcess, SHORT)],
          ["evaluate receiver", () => a.evaluate("self", { receiver: foreign, budget: SHORT })],
        ];
        for (const [what, check] of checks) {
          const e = await expectError(check, "wrongSpace");
          expect(e.message, what).toMatch(/space/);
        }
        expect(await arr.toLocal()).toEqual([1, 2]);
      });

      it("a fake mirror (a host object that looks like one) is refused", async () => {
        const space = await fresh();
        const arr = await space.fromLocal([1]);
        const fake = { space, kind: "object", toLocal: async () => 1 } as unknown as ObjectMirror;
        const e = await expectError(arr.atPut(1, fake), "wrongSpace");
        expect(e.code).toBe("wrongSpace");
        await expectError(space.toLocal(fake), "wrongSpace");
        expect(await arr.toLocal()).toEqual([1]);
      });

      it("host objects stored into guest objects are refused and leave the object unchanged", async () => {
        const space = await fresh();
        const arr = await space.fromLocal([1, 2, 3]);
        const fixture = await defineFixture(space);
        const obj = await fixture.newInstance();
        for (const [what, value] of HOST_OBJECTS) {
          await expectError(arr.atPut(2, value as LocalValue), "invalidArgument", undefined).catch((e) => {
            throw new Error(`${what}: ${e}`);
          });
          await expectError(obj.instVarNamedPut("alpha", value as LocalValue), "invalidArgument");
          await expectError(space.setGlobal("OzHostObject", value as LocalValue), "invalidArgument");
        }
        expect(await arr.toLocal()).toEqual([1, 2, 3]);
        expect(await (await obj.instVarNamed("alpha")).isNilObject()).toBe(true);
        expect(await space.globalNamed("OzHostObject")).toBeUndefined();
      });

      it("every operation of a released mirror is a released error", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const p = await suspendedProcess(space, `${FIXTURE_CLASS} new sum: 3 with: 4`);
        const ctx = await topContext(p);
        const method = (await fixture.methodAt("alpha"))!;
        const str = await space.fromLocalString("abc");
        const words = await (await space.createObjectWithFormat("words", 2));
        const pool = await fixture.classPool();
        const dict = await fixture.methodDictionary();
        const meta = await fixture.metaclass();
        const sched = await space.scheduler();
        const targets: Array<[ObjectMirror, Array<[string, (m: any) => Promise<unknown>]>]> = [
          [str, [
            ["bytes", (m) => m.bytes()], ["byteAt", (m) => m.byteAt(1)], ["byteAtPut", (m) => m.byteAtPut(1, 65)], ["asString", (m) => m.asString()],
          ]],
          [words, [["wordAt", (m) => m.wordAt(1)], ["wordAtPut", (m) => m.wordAtPut(1, 1)], ["words", (m) => m.words()]]],
          [fixture, [
            ["name", (m) => m.name()], ["superclass", (m) => m.superclass()], ["setSuperclass", (m) => m.setSuperclass(undefined)],
            ["subclasses", (m) => m.subclasses()], ["instVarNames", (m) => m.instVarNames()], ["allInstVarNames", (m) => m.allInstVarNames()],
            ["category", (m) => m.category()], ["instanceFormat", (m) => m.instanceFormat()], ["instanceSize", (m) => m.instanceSize()],
            ["selectors", (m) => m.selectors()], ["includesSelector", (m) => m.includesSelector("alpha")], ["methodAt", (m) => m.methodAt("alpha")],
            ["lookup", (m) => m.lookup("alpha")], ["compile", (m) => m.compile("zz ^1")], ["removeMethod", (m) => m.removeMethod("alpha")],
            ["methodDictionary", (m) => m.methodDictionary()], ["classPool", (m) => m.classPool()], ["metaclass", (m) => m.metaclass()],
            ["defineSubclass", (m) => m.defineSubclass({ name: "OzReleased" })], ["allInstances", (m) => m.allInstances()],
            ["newInstance", (m) => m.newInstance()],
          ]],
          [meta, [["thisClass", (m) => m.thisClass()]]],
          [pool, [["names", (m) => m.names()], ["valueAt", (m) => m.valueAt("Counter")], ["valueAtPut", (m) => m.valueAtPut("Counter", 1)]]],
          [dict, [["selectors", (m) => m.selectors()], ["methodAt", (m) => m.methodAt("alpha")], ["size", (m) => m.size()]]],
          [method, [
            ["selector", (m) => m.selector()], ["methodClass", (m) => m.methodClass()], ["source", (m) => m.source()],
            ["numArgs", (m) => m.numArgs()], ["numTemps", (m) => m.numTemps()], ["primitive", (m) => m.primitive()],
            ["literals", (m) => m.literals()], ["bytecodes", (m) => m.bytecodes()], ["disassembly", (m) => m.disassembly()],
            ["lineForPc", (m) => m.lineForPc(1)],
          ]],
          [ctx, [
            ["method", (m) => m.method()], ["pc", (m) => m.pc()], ["receiver", (m) => m.receiver()], ["sender", (m) => m.sender()],
            ["isDead", (m) => m.isDead()], ["isBlockContext", (m) => m.isBlockContext()], ["arguments", (m) => m.arguments()],
            ["tempNames", (m) => m.tempNames()], ["tempNamed", (m) => m.tempNamed("t")], ["tempNamedPut", (m) => m.tempNamedPut("t", 1)],
            ["stack", (m) => m.stack()], ["description", (m) => m.description()], ["line", (m) => m.line()], ["restart", (m) => m.restart()],
            ["returnValue", (m) => m.returnValue(1)],
          ]],
          [p, [
            ["name", (m) => m.name()], ["priority", (m) => m.priority()], ["setPriority", (m) => m.setPriority(30)], ["state", (m) => m.state()],
            ["suspendedContext", (m) => m.suspendedContext()], ["stack", (m) => m.stack()], ["suspend", (m) => m.suspend()],
            ["resume", (m) => m.resume()], ["terminate", (m) => m.terminate()], ["failure", (m) => m.failure()],
          ]],
          [sched, [["activeProcess", (m) => m.activeProcess()], ["readyLists", (m) => m.readyLists()]]],
        ];
        const objectOps: Array<[string, (m: any) => Promise<unknown>]> = [
          ["at", (m) => m.at(1)], ["atPut", (m) => m.atPut(1, 1)], ["instVarAt", (m) => m.instVarAt(1)], ["instVarAtPut", (m) => m.instVarAtPut(1, 1)],
          ["instVarNamed", (m) => m.instVarNamed("x")], ["instVarNamedPut", (m) => m.instVarNamedPut("x", 1)], ["fixedSize", (m) => m.fixedSize()],
          ["variableSize", (m) => m.variableSize()], ["format", (m) => m.format()], ["getClass", (m) => m.getClass()],
          ["setClass", (m) => m.setClass(fixture)], ["identityHash", (m) => m.identityHash()], ["isNilObject", (m) => m.isNilObject()],
          ["isSmallInteger", (m) => m.isSmallInteger()], ["isCharacter", (m) => m.isCharacter()], ["isIdenticalTo", (m) => m.isIdenticalTo(str)],
          ["asBoolean", (m) => m.asBoolean()], ["toLocal", (m) => m.toLocal()], ["printString", (m) => m.printString()],
          ["describe", (m) => m.describe()], ["asClass", (m) => m.asClass()], ["asMethod", (m) => m.asMethod()], ["asContext", (m) => m.asContext()],
          ["asProcess", (m) => m.asProcess()], ["asBytes", (m) => m.asBytes()], ["asWords", (m) => m.asWords()],
        ];
        // released arguments too
        const releasedArg = await space.fromLocal("gone");
        releasedArg.release();
        await expectError(str.isIdenticalTo(releasedArg), "released");
        await expectError(space.toLocal(releasedArg), "released");
        await expectError(space.setGlobal("OzReleasedArg", releasedArg), "released");
        await expectError(space.evaluate("self", { receiver: releasedArg, budget: SHORT }), "released");
        // released receivers: every operation of every kind
        const saved = await space.fromLocalString("keep");
        for (const [target, ops] of targets) {
          target.release();
          target.release(); // releasing twice is harmless
          for (const [what, op] of [...ops, ...objectOps]) {
            const e = await expectError(() => op(target), "released").catch((err) => {
              throw new Error(`${target.kind} ${what}: ${err}`);
            });
            expect(e.message).toMatch(/released/);
          }
        }
        // a process mirror released is refused by the space's process operations
        await expectError(space.runUntilFinished(p, SHORT), "released");
        await expectError(space.installAsActiveProcess(p), "released");
        // other mirrors are unaffected
        expect(await saved.toLocal()).toBe("keep");
      });

      it("arguments of the wrong type are invalidArgument errors, not crashes", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const bad = 42 as unknown as string;
        const p = await space.createProcess(40, "1");
        const checks: Array<[string, () => Promise<unknown>]> = [
          ["classNamed", () => space.classNamed(bad)],
          ["globalNamed", () => space.globalNamed(bad)],
          ["setGlobal", () => space.setGlobal(bad, 1)],
          ["methodAt", () => fixture.methodAt(bad)],
          ["lookup", () => fixture.lookup(bad)],
          ["includesSelector", () => fixture.includesSelector(bad)],
          ["removeMethod", () => fixture.removeMethod(bad)],
          ["instVarNamed", async () => (await fixture.newInstance()).instVarNamed(bad)],
          ["classPool valueAt", async () => (await fixture.classPool()).valueAt(bad)],
          ["method dictionary methodAt", async () => (await fixture.methodDictionary()).methodAt(bad)],
          ["process stack", () => p.stack(-1)],
          ["createProcess source", () => space.createProcess(40, bad)],
          ["evaluate options", () => space.evaluate("1", { budget: { ms: "soon" as unknown as number } })],
          ["evaluate origin", () => space.evaluate("1", { origin: { line: -1 } })],
          ["defineSubclass", () => fixture.defineSubclass(null as never)],
          ["defineSubclass names", () => fixture.defineSubclass({ name: "OzBadNames", instanceVariableNames: "a b" as unknown as string[] })],
        ];
        for (const [what, check] of checks) {
          await expectError(check, "invalidArgument").catch((e) => {
            throw new Error(`${what}: ${e}`);
          });
        }
        const m = await space.fromLocal(1);
        expect(m.space).toBe(space);
        expect(fixture.space).toBe(space);
      });

      it("releaseAll releases every mirror of the space", async () => {
        const space = await fresh();
        const a = await space.fromLocal([1]);
        const b = await space.nilObject();
        space.releaseAll();
        await expectError(a.toLocal(), "released");
        await expectError(b.isNilObject(), "released");
        expect(await (await space.fromLocal(5)).toLocal()).toBe(5);
      });

      it("mirrors keep their objects alive and follow them across collections", async () => {
        const space = await fresh();
        const arr = await space.fromLocal([1, "two", [3]]);
        const obj = await evaluateValue(space, "Array with: 'kept' with: (Array with: 42)");
        const hash = await obj.identityHash();
        const cls = (await space.classNamed("Object"))!;
        // garbage, so that the collector moves the survivors
        for (let i = 0; i < 3; i++) {
          await evaluateValue(space, "1 to: 20000 do: [:i | Array new: 20]. nil");
          await space.collectGarbage();
          expect(await arr.toLocal()).toEqual([1, "two", [3]]);
          expect(await obj.toLocal()).toEqual(["kept", [42]]);
          expect(await obj.identityHash()).toBe(hash);
          expect(await cls.name()).toBe("Object");
        }
        await space.collectGarbage("young");
        await arr.atPut(2, "changed");
        await space.collectGarbage("full");
        expect(await arr.toLocal()).toEqual([1, "changed", [3]]);
        const inner = await obj.at(2);
        await space.collectGarbage();
        expect(await inner.toLocal()).toEqual([42]);
      });

      it("an object only a mirror references survives until released", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const kept = await fixture.newInstance();
        await kept.instVarNamedPut("alpha", "mine");
        await space.collectGarbage();
        const all = await fixture.allInstances();
        expect(all.length).toBe(1);
        expect(await (await kept.instVarNamed("alpha")).toLocal()).toBe("mine");
        kept.release();
        for (const m of all) m.release();
        await space.collectGarbage();
        expect((await fixture.allInstances()).length).toBe(0);
      });
    });

    // ------------------------------------------------------------ ObjectMirror

    describe("ObjectMirror", () => {
      it("at and atPut on pointer, byte, string and word objects", async () => {
        const space = await fresh();
        const arr = await space.fromLocal([1, 2, 3]);
        expect(await (await arr.at(2)).toLocal()).toBe(2);
        await arr.atPut(2, "x");
        await arr.atPut(3, await space.trueObject());
        expect(await arr.toLocal()).toEqual([1, "x", true]);
        const bytes = await space.fromLocal(new Uint8Array([1, 2]));
        expect(await (await bytes.at(1)).toLocal()).toBe(1);
        await bytes.atPut(1, 200);
        expect(await bytes.toLocal()).toEqual(new Uint8Array([200, 2]));
        await expectError(bytes.atPut(1, 256), "invalidArgument");
        await expectError(bytes.atPut(1, -1), "invalidArgument");
        await expectError(bytes.atPut(1, "x"), "invalidArgument");
        const str = await space.fromLocal("abc");
        expect(await (await str.at(2)).toLocal()).toEqual(char("b"));
        await str.atPut(2, char("z"));
        expect(await str.toLocal()).toBe("azc");
        await expectError(str.atPut(1, char(0x263a)), "invalidArgument");
        const words = await space.createObjectWithFormat("words", 2);
        await words.atPut(1, 0xffffffff);
        expect(await (await words.at(1)).toLocal()).toBe(BigInt(0xffffffff));
        await expectError(words.atPut(1, -1), "invalidArgument");
        await expectError(words.atPut(1, 2n ** 32n), "invalidArgument");
      });

      it("at and atPut refuse out-of-range and non-integer indexes", async () => {
        const space = await fresh();
        const arr = await space.fromLocal([1, 2, 3]);
        for (const bad of [0, 4, -1, 1.5, NaN, Infinity]) {
          await expectError(arr.at(bad), "outOfRange", /out of range|index/);
          await expectError(arr.atPut(bad, 1), "outOfRange");
        }
        const obj = await evaluateValue(space, "Object new");
        await expectError(obj.at(1), "outOfRange");
        const int = await space.fromLocal(7);
        await expectError(int.at(1), "outOfRange");
        await expectError(int.atPut(1, 1), "outOfRange");
        expect(await arr.toLocal()).toEqual([1, 2, 3]);
      });

      it("instVarAt and instVarAtPut: named fields first, then indexed ones", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const obj = await fixture.newInstance();
        expect(await obj.fixedSize()).toBe(2);
        expect(await obj.variableSize()).toBe(0);
        await obj.instVarAtPut(1, 10);
        await obj.instVarAtPut(2, "b");
        expect(await (await obj.instVarAt(1)).toLocal()).toBe(10);
        expect(await (await obj.instVarNamed("beta")).toLocal()).toBe("b");
        expect(await evaluateLocal(space, "self alpha", obj)).toBe(10);
        await obj.instVarNamedPut("alpha", sym("s"));
        expect(await evaluateLocal(space, "self alpha", obj)).toEqual(sym("s"));
        for (const bad of [0, 3, -1, 1.5]) {
          await expectError(obj.instVarAt(bad), "outOfRange");
          await expectError(obj.instVarAtPut(bad, 1), "outOfRange");
        }
        await expectError(obj.instVarNamed("gamma"), "notFound", /gamma/);
        await expectError(obj.instVarNamedPut("gamma", 1), "notFound");
        // an Array: no named fields, instVarAt reaches the indexed ones
        const arr = await space.fromLocal([5, 6]);
        expect(await (await arr.instVarAt(2)).toLocal()).toBe(6);
        await arr.instVarAtPut(1, 7);
        expect(await arr.toLocal()).toEqual([7, 6]);
        await expectError(arr.instVarAt(3), "outOfRange");
        // immediates have no fields
        const int = await space.fromLocal(1);
        await expectError(int.instVarAt(1), "outOfRange");
        await expectError(int.instVarNamed("x"), "notFound");
      });

      it("fixedSize, variableSize and format", async () => {
        const space = await fresh();
        expect(await (await space.fromLocal([1, 2])).variableSize()).toBe(2);
        expect(await (await space.fromLocal([1, 2])).fixedSize()).toBe(0);
        expect(await (await space.fromLocal([1, 2])).format()).toBe("indexable");
        expect(await (await space.fromLocal("abcd")).variableSize()).toBe(4);
        expect(await (await space.fromLocal("abcd")).format()).toBe("bytes");
        expect(await (await space.fromLocal(3)).fixedSize()).toBe(0);
        expect(await (await space.fromLocal(3)).variableSize()).toBe(0);
        expect(await (await space.fromLocal(3)).format()).toBe("empty");
        expect(await (await space.fromLocal(1.5)).format()).toBe("words");
        expect(await (await space.nilObject()).format()).toBe("empty");
        const fixture = await defineFixture(space);
        expect(await (await fixture.newInstance()).format()).toBe("fixed");
        expect(await fixture.format()).toBe("fixed");
        expect(await (await fixture.methodAt("alpha"))!.format()).toBe("compiledMethod");
      });

      it("getClass and setClass", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const sub = await fixture.defineSubclass({ name: "OzConformanceSub" });
        const obj = await fixture.newInstance();
        expect(await (await obj.getClass()).isIdenticalTo(fixture)).toBe(true);
        await obj.setClass(sub);
        expect(await (await obj.getClass()).name()).toBe("OzConformanceSub");
        expect(await evaluateLocal(space, "self class name", obj)).toEqual(sym("OzConformanceSub"));
        // incompatible shapes are refused
        await expectError(obj.setClass((await space.classNamed("Array"))!), "invalidArgument");
        await expectError(obj.setClass((await space.classNamed("ByteString"))!), "invalidArgument");
        await expectError((await space.fromLocal(1)).setClass(fixture), "invalidArgument");
        // the argument must be a class
        await expectError(obj.setClass((await space.fromLocal([1])) as unknown as ClassMirror), "invalidArgument");
        expect(await (await (await space.fromLocal(3)).getClass()).name()).toBe("SmallInteger");
        expect(await (await (await space.fromLocal(char("a"))).getClass()).name()).toBe("Character");
      });

      it("identityHash, isNilObject, isSmallInteger, isCharacter, isIdenticalTo, asBoolean", async () => {
        const space = await fresh();
        const obj = await evaluateValue(space, "Object new");
        expect(await obj.identityHash()).toBe(await obj.identityHash());
        expect(await obj.identityHash()).toBe(await evaluateLocal(space, "self identityHash", obj));
        expect(await (await space.fromLocal(5)).isSmallInteger()).toBe(true);
        expect(await (await space.fromLocal(2n ** 40n)).isSmallInteger()).toBe(false);
        expect(await obj.isSmallInteger()).toBe(false);
        expect(await (await space.fromLocal(char("c"))).isCharacter()).toBe(true);
        expect(await (await space.fromLocal("c")).isCharacter()).toBe(false);
        expect(await obj.isNilObject()).toBe(false);
        expect(await (await space.fromLocal(5)).isIdenticalTo(await space.fromLocal(5))).toBe(true);
        expect(await obj.isIdenticalTo(await evaluateValue(space, "Object new"))).toBe(false);
        await expectError(obj.asBoolean(), "invalidArgument");
        await expectError((await space.nilObject()).asBoolean(), "invalidArgument");
      });

      it("printString runs the guest's own printString", async () => {
        const space = await fresh();
        expect(await (await space.fromLocal([1, sym("a"), "b"])).printString()).toBe("#(1 #a 'b')");
        expect(await (await space.fromLocal(42)).printString()).toBe("42");
        expect(await (await space.nilObject()).printString()).toBe("nil");
        expect(await (await space.classNamed("Object"))!.printString()).toBe("Object");
        const fixture = await defineFixture(space);
        await fixture.compile("printOn: aStream\n\taStream nextPutAll: 'fixture ', alpha printString", { category: "printing" });
        const obj = await fixture.newInstance();
        await obj.instVarNamedPut("alpha", 7);
        expect(await obj.printString()).toBe("fixture 7");
      });

      it("printString still answers when the guest's printing is broken or loops", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const obj = await fixture.newInstance();
        await fixture.compile("printOn: aStream\n\tself error: 'broken printing'");
        expect(await obj.printString()).toMatch(/OzConformanceFixture/);
        await fixture.compile("printOn: aStream\n\t[true] whileTrue");
        const started = Date.now();
        expect(await obj.printString()).toMatch(/OzConformanceFixture/);
        expect(Date.now() - started).toBeLessThan(8000);
        await (await space.classNamed("Object"))!.compile("printString\n\t^ self printString");
        expect(await obj.printString()).toMatch(/OzConformanceFixture/);
        // the space is still usable
        expect(await evaluateLocal(space, "3 + 4")).toBe(7);
      });

      it("describe answers the facts of an object in one call", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const obj = await fixture.newInstance();
        await obj.instVarNamedPut("alpha", 3);
        const d = await obj.describe();
        expect(d.className).toBe(FIXTURE_CLASS);
        expect(d.format).toBe("fixed");
        expect(d.kind).toBe("object");
        expect(d.fixedSize).toBe(2);
        expect(d.variableSize).toBe(0);
        expect(d.identityHash).toBe(await obj.identityHash());
        expect(d.printString).toMatch(/OzConformanceFixture/);
        expect(d.namedFields).toEqual([{ name: "alpha", value: "3" }, { name: "beta", value: "nil" }]);
        expect(d.indexedFields).toEqual([]);
        const arr = await evaluateValue(space, "(1 to: 120) asArray");
        const page = await arr.describe(100, 10);
        expect(page.variableSize).toBe(120);
        expect(page.indexedFields).toEqual(Array.from({ length: 10 }, (_, i) => ({ index: 101 + i, value: String(101 + i) })));
        const first = await arr.describe();
        expect(first.indexedFields.length).toBeGreaterThan(0);
        expect(first.indexedFields[0]).toEqual({ index: 1, value: "1" });
        const last = await arr.describe(115, 50);
        expect(last.indexedFields.map((f) => f.index)).toEqual([116, 117, 118, 119, 120]);
        expect((await arr.describe(500, 10)).indexedFields).toEqual([]);
        await expectError(arr.describe(-1, 10), "outOfRange");
        await expectError(arr.describe(0, -5), "invalidArgument");
        const str = await (await space.fromLocal("hey")).describe();
        expect(str.className).toBe("ByteString");
        expect(str.kind).toBe("bytes");
        expect(str.printString).toBe("'hey'");
        expect(str.indexedFields[0]).toEqual({ index: 1, value: "$h" });
        const int = await (await space.fromLocal(12)).describe();
        expect(int.kind).toBe("smallInteger");
        expect(int.className).toBe("SmallInteger");
        expect(int.printString).toBe("12");
        // describe works on broken printing too
        await fixture.compile("printOn: aStream\n\tself error: 'broken'");
        expect((await obj.describe()).printString).toMatch(/OzConformanceFixture/);
      });

      it("the as... conversions answer specific mirrors or a wrong-kind error", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const asObject = await space.globalNamed(FIXTURE_CLASS);
        expect((await asObject!.asClass()).kind).toBe("class");
        expect(await (await asObject!.asClass()).name()).toBe(FIXTURE_CLASS);
        const method = await (await fixture.methodAt("alpha"))!;
        const methodAsObject = (await (await fixture.methodDictionary()).methodAt("alpha"))!;
        expect((await methodAsObject.asMethod()).kind).toBe("method");
        expect(await method.isIdenticalTo(methodAsObject)).toBe(true);
        const str = await space.fromLocal("abc");
        expect((await str.asBytes()).kind).toBe("bytes");
        expect(await (await str.asBytes()).asString()).toBe("abc");
        const float = await space.fromLocal(1.5);
        expect((await float.asWords()).kind).toBe("words");
        const p = await space.createProcess(40, "3");
        const pAsObject = (await space.processes()).find((x) => x.kind === "process")!;
        expect((await pAsObject.asProcess()).kind).toBe("process");
        const suspended = await suspendedProcess(space, `${FIXTURE_CLASS} new sum: 1 with: 2`);
        const ctx = await (await (await topContext(suspended)).receiver()).identityHash();
        expect(typeof ctx).toBe("number");
        const ctxObject = await (await space.fromLocal(0)).isSmallInteger();
        expect(ctxObject).toBe(true);
        const topAsObject = await (await topContext(suspended)).asContext();
        expect(topAsObject.kind).toBe("context");
        const obj = await fixture.newInstance();
        for (const [what, op] of [
          ["asClass", () => obj.asClass()], ["asMethod", () => obj.asMethod()], ["asContext", () => obj.asContext()],
          ["asProcess", () => obj.asProcess()], ["asBytes", () => obj.asBytes()], ["asWords", () => obj.asWords()],
          ["asClass of a SmallInteger", async () => (await space.fromLocal(1)).asClass()],
          ["asBytes of an Array", async () => (await space.fromLocal([1])).asBytes()],
          ["asProcess of a class", () => fixture.asProcess()],
        ] as Array<[string, () => Promise<unknown>]>) {
          await expectError(op, "invalidArgument").catch((e) => {
            throw new Error(`${what}: ${e}`);
          });
        }
        expect(p.kind).toBe("process");
      });

      it("mirror kinds", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        expect((await space.fromLocal(1)).kind).toBe("smallInteger");
        expect((await space.fromLocal(char("a"))).kind).toBe("character");
        expect((await space.fromLocal("a")).kind).toBe("bytes");
        expect((await space.fromLocal([1])).kind).toBe("object");
        expect(fixture.kind).toBe("class");
        expect((await fixture.metaclass()).kind).toBe("metaclass");
        expect((await fixture.classPool()).kind).toBe("classPool");
        expect((await fixture.methodDictionary()).kind).toBe("methodDictionary");
        expect((await fixture.methodAt("alpha"))!.kind).toBe("method");
        expect((await space.scheduler()).kind).toBe("scheduler");
        expect((await space.createProcess(40, "1")).kind).toBe("process");
        const p = await suspendedProcess(space, `${FIXTURE_CLASS} new sum: 1 with: 2`);
        expect((await topContext(p)).kind).toBe("context");
      });
    });

    // ------------------------------------------------------------ ByteObjectMirror, WordObjectMirror

    describe("ByteObjectMirror and WordObjectMirror", () => {
      it("bytes, byteAt, byteAtPut, asString", async () => {
        const space = await fresh();
        const s = await space.fromLocalString("hello");
        expect(await s.bytes()).toEqual(new Uint8Array([104, 101, 108, 108, 111]));
        expect(await s.byteAt(1)).toBe(104);
        await s.byteAtPut(1, 72);
        expect(await s.asString()).toBe("Hello");
        expect(await s.toLocal()).toBe("Hello");
        for (const bad of [0, 6, 1.5, -1]) {
          await expectError(s.byteAt(bad), "outOfRange");
          await expectError(s.byteAtPut(bad, 1), "outOfRange");
        }
        for (const bad of [256, -1, 1.5, NaN]) await expectError(s.byteAtPut(1, bad), "invalidArgument");
        const b = await space.fromLocalByteArray(new Uint8Array([1, 2, 3]));
        expect(await b.byteAt(3)).toBe(3);
        const symbol = await space.fromLocalSymbol("sym");
        expect(await symbol.asString()).toBe("sym");
        const copy = await s.bytes();
        copy[0] = 0;
        expect(await s.byteAt(1)).toBe(72);
      });

      it("wordAt, wordAtPut, words", async () => {
        const space = await fresh();
        const w = await (await space.createObjectWithFormat("words", 3)).asWords();
        expect(Array.from(await w.words())).toEqual([0, 0, 0]);
        await w.wordAtPut(1, 0xdeadbeef);
        await w.wordAtPut(3, 7);
        expect(await w.wordAt(1)).toBe(0xdeadbeef);
        expect(Array.from(await w.words())).toEqual([0xdeadbeef, 0, 7]);
        for (const bad of [0, 4, 1.5]) {
          await expectError(w.wordAt(bad), "outOfRange");
          await expectError(w.wordAtPut(bad, 1), "outOfRange");
        }
        for (const bad of [-1, 2 ** 32, 1.5]) await expectError(w.wordAtPut(1, bad), "invalidArgument");
        const f = await (await space.fromLocalFloat(1.0)).asWords();
        expect((await f.words()).length).toBe(2);
      });
    });

    // ------------------------------------------------------------ creation

    describe("creation", () => {
      it("createObjectWithFormat makes classless objects of every format", async () => {
        const space = await fresh();
        for (const [format, size] of [["empty", 0], ["fixed", 3], ["indexable", 4], ["fixedIndexable", 2], ["weak", 2], ["words", 2], ["bytes", 5]] as const) {
          const m = await space.createObjectWithFormat(format, size);
          expect(await m.format(), format).toBe(format);
          await expectError(m.getClass(), "failedPrecondition");
        }
        const arr = await space.createObjectWithFormat("indexable", 2);
        expect(await arr.variableSize()).toBe(2);
        expect(await (await arr.at(1)).isNilObject()).toBe(true);
        await arr.setClass((await space.classNamed("Array"))!);
        await arr.atPut(1, 5);
        expect(await arr.toLocal()).toEqual([5, null]);
        const bytes = await space.createObjectWithFormat("bytes", 3);
        expect(await bytes.variableSize()).toBe(3);
        await expectError(space.createObjectWithFormat("nonsense" as never, 1), "invalidArgument");
        await expectError(space.createObjectWithFormat("compiledMethod", 1), "invalidArgument");
        await expectError(space.createObjectWithFormat("indexable", -1), "invalidArgument");
        await expectError(space.createObjectWithFormat("indexable", 1.5), "invalidArgument");
        await expectError(space.createObjectWithFormat("empty", 2), "invalidArgument");
      });

      it("createClassWithFormat makes classless classes whose instances have the format (the paper's figure 9)", async () => {
        const space = await fresh();
        const classSize = (await (await space.classNamed("Object"))!.getClass()).instanceSize();
        const cls = await space.createClassWithFormat({ format: "fixed", instanceSize: await classSize }, { format: "fixed", instanceSize: 2 });
        expect(cls.kind).toBe("class");
        expect(await cls.instanceFormat()).toBe("fixed");
        expect(await cls.instanceSize()).toBe(2);
        expect(await cls.format()).toBe("fixed");
        const instance = await cls.newInstance();
        expect(await instance.fixedSize()).toBe(2);
        expect(await (await instance.getClass()).isIdenticalTo(cls)).toBe(true);
        // a classless class has no methods, pool or metaclass yet
        expect(await cls.selectors()).toEqual([]);
        expect(await cls.methodAt("anything")).toBeUndefined();
        await expectError(cls.methodDictionary(), "notFound");
        await expectError(cls.classPool(), "notFound");
        await expectError(cls.metaclass(), "failedPrecondition");
        const vcls = await space.createClassWithFormat({ format: "fixed", instanceSize: 3 }, { format: "indexable", instanceSize: 0 });
        expect(await vcls.instanceFormat()).toBe("indexable");
        expect(await (await vcls.newInstance(4)).variableSize()).toBe(4);
        const meta = await space.createClassWithFormat({ format: "fixed", instanceSize: 3 }, { format: "fixed", instanceSize: 3 });
        await cls.setClass(meta);
        expect(await (await cls.getClass()).isIdenticalTo(meta)).toBe(true);
        await expectError(space.createClassWithFormat({ format: "fixed", instanceSize: 2 }, { format: "fixed", instanceSize: 0 }), "invalidArgument");
        await expectError(space.createClassWithFormat({ format: "bytes", instanceSize: 3 }, { format: "fixed", instanceSize: 0 }), "invalidArgument");
        await expectError(space.createClassWithFormat({ format: "fixed", instanceSize: 3 }, { format: "bytes", instanceSize: 2 }), "invalidArgument");
        await expectError(space.createClassWithFormat({ format: "fixed", instanceSize: 3 }, { format: "fixed", instanceSize: -1 }), "invalidArgument");
        await expectError(space.createClassWithFormat({ format: "fixed", instanceSize: 3 }, { format: "what" as never, instanceSize: 0 }), "invalidArgument");
      });
    });

    // ------------------------------------------------------------ ClassMirror and friends

    describe("ClassMirror", () => {
      it("name, superclass, subclasses, instVarNames, allInstVarNames, category, instanceFormat, instanceSize", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const object = (await space.classNamed("Object"))!;
        expect(await fixture.name()).toBe(FIXTURE_CLASS);
        expect(await (await fixture.superclass())!.isIdenticalTo(object)).toBe(true);
        expect(await (await space.classNamed("ProtoObject"))!.superclass()).toBeUndefined();
        expect(await fixture.instVarNames()).toEqual(["alpha", "beta"]);
        expect(await fixture.allInstVarNames()).toEqual(["alpha", "beta"]);
        expect(await fixture.category()).toBe("Oz-Conformance");
        expect(await fixture.instanceFormat()).toBe("fixed");
        expect(await fixture.instanceSize()).toBe(2);
        const sub = await fixture.defineSubclass({ name: "OzConformanceSub", instanceVariableNames: ["gamma"], category: "Oz-Sub" });
        expect(await sub.allInstVarNames()).toEqual(["alpha", "beta", "gamma"]);
        expect(await sub.instVarNames()).toEqual(["gamma"]);
        expect(await sub.instanceSize()).toBe(3);
        const subs = await fixture.subclasses();
        expect(subs.length).toBe(1);
        expect(await subs[0].isIdenticalTo(sub)).toBe(true);
        expect((await object.subclasses()).length).toBeGreaterThan(5);
        const metaSubs = await (await fixture.metaclass()).subclasses();
        expect(await Promise.all(metaSubs.map((c) => c.name()))).toEqual(["OzConformanceSub class"]);
        expect(await (await space.classNamed("Array"))!.instanceFormat()).toBe("indexable");
        expect(await (await space.classNamed("ByteString"))!.instanceFormat()).toBe("bytes");
      });

      it("setSuperclass changes lookup", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const other = await (await space.classNamed("Object"))!.defineSubclass({ name: "OzOtherBase", instanceVariableNames: ["alpha", "beta"] });
        await other.compile("greet\n\t^ #other");
        const sub = await fixture.defineSubclass({ name: "OzConformanceSub" });
        const obj = await sub.newInstance();
        expect((await space.evaluate("self greet", { receiver: obj, budget: FINISH })).ok).toBe(false);
        await sub.setSuperclass(other);
        expect(await (await sub.superclass())!.name()).toBe("OzOtherBase");
        expect(await evaluateLocal(space, "self greet", obj)).toEqual(sym("other"));
        await expectError(sub.setSuperclass((await space.fromLocal(1)) as unknown as ClassMirror), "invalidArgument");
        await expectError(sub.setSuperclass(sub), "invalidArgument");
        const grandchild = await fixture.defineSubclass({ name: "OzConformanceGrandchild" });
        await expectError(fixture.setSuperclass(grandchild), "invalidArgument");
        expect(await (await fixture.superclass())!.name()).toBe("Object");
      });

      it("selectors, includesSelector, methodAt, lookup", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        expect(await fixture.selectors()).toEqual(Object.keys(FIXTURE_METHODS).sort());
        expect(await fixture.includesSelector("alpha")).toBe(true);
        expect(await fixture.includesSelector("printString")).toBe(false);
        expect(await fixture.includesSelector("neverDefinedAnywhere")).toBe(false);
        expect(await (await fixture.methodAt("sum:with:"))!.selector()).toBe("sum:with:");
        expect(await fixture.methodAt("printString")).toBeUndefined();
        expect(await fixture.methodAt("neverDefinedAnywhere")).toBeUndefined();
        const inherited = await fixture.lookup("printString");
        expect(inherited).toBeDefined();
        expect(await (await inherited!.methodClass())!.name()).not.toBe(FIXTURE_CLASS);
        expect(await fixture.lookup("neverDefinedAnywhere")).toBeUndefined();
        expect(await (await fixture.lookup("alpha"))!.isIdenticalTo((await fixture.methodAt("alpha"))!)).toBe(true);
      });

      it("compile installs methods (instance and class side) and reports compile errors", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const m = await fixture.compile("double: n\n\t^ n * 2", { category: "arithmetic" });
        expect(m.kind).toBe("method");
        expect(await m.selector()).toBe("double:");
        expect(await m.source()).toBe("double: n\n\t^ n * 2");
        expect(await evaluateLocal(space, `${FIXTURE_CLASS} new double: 21`)).toBe(42);
        // recompiling replaces
        await fixture.compile("double: n\n\t^ n * 3");
        expect(await evaluateLocal(space, `${FIXTURE_CLASS} new double: 2`)).toBe(6);
        // class side
        const meta = await fixture.metaclass();
        await meta.compile("make\n\t^ self new alpha: 5; yourself");
        expect(await meta.includesSelector("make")).toBe(true);
        expect(await evaluateLocal(space, `${FIXTURE_CLASS} make alpha`)).toBe(5);
        // errors
        const e = await expectError(fixture.compile("broken ^ ( 1 +"), "compileError");
        expect(e.message).toMatch(/expected|Expected|missing|Missing|\)/);
        await expectError(fixture.compile("origin: x\n\t^ self", { origin: { fileName: "demo.st", line: 10 } }), "compileError").catch(() => undefined);
        const located = await expectError(fixture.compile("bad\n\t^ 1 +", { origin: { fileName: "demo.st", line: 10, column: 1 } }), "compileError");
        expect(located.message).toMatch(/demo\.st:11/);
        await expectError(fixture.compile(""), "compileError");
        await expectError(fixture.compile(42 as unknown as string), "invalidArgument");
        expect(await fixture.includesSelector("broken")).toBe(false);
        // class variables and instance variables compile
        await fixture.compile("bump\n\tCounter := (Counter ifNil: [0]) + 1. alpha := Counter. ^ alpha");
        expect(await evaluateLocal(space, `${FIXTURE_CLASS} new bump; bump`)).toBe(2);
      });

      it("removeMethod", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        await fixture.removeMethod("alpha");
        expect(await fixture.includesSelector("alpha")).toBe(false);
        const r = await space.evaluate(`${FIXTURE_CLASS} new alpha`, { budget: FINISH });
        expect(r.ok).toBe(false);
        await expectError(fixture.removeMethod("alpha"), "notFound");
        await expectError(fixture.removeMethod("neverDefinedAnywhere"), "notFound");
        // without logging the removal to the changes file
        await fixture.removeMethod("fail", { logChange: false });
        expect(await fixture.includesSelector("fail")).toBe(false);
      });

      it("methodDictionary: selectors, methodAt, size", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const dict = await fixture.methodDictionary();
        expect(await dict.size()).toBe(Object.keys(FIXTURE_METHODS).length);
        expect(await dict.selectors()).toEqual(await fixture.selectors());
        expect(await (await dict.methodAt("alpha"))!.selector()).toBe("alpha");
        expect(await dict.methodAt("nope")).toBeUndefined();
        expect(await (await dict.getClass()).name()).toBe("MethodDictionary");
      });

      it("classPool: names, valueAt, valueAtPut", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const pool = await fixture.classPool();
        expect(await pool.names()).toEqual(["Counter"]);
        expect(await (await pool.valueAt("Counter"))!.isNilObject()).toBe(true);
        await pool.valueAtPut("Counter", 41);
        expect(await evaluateLocal(space, `${FIXTURE_CLASS} new bumpCounter`).catch(() => "n/a")).toBeDefined();
        await fixture.compile("readCounter\n\t^ Counter");
        expect(await evaluateLocal(space, `${FIXTURE_CLASS} new readCounter`)).toBe(41);
        expect(await pool.valueAt("NoSuchVariable")).toBeUndefined();
        // a name the pool does not have yet is added (the bootstrap defines class variables so)
        await pool.valueAtPut("Added", 7);
        expect(await pool.names()).toEqual(["Added", "Counter"]);
        expect(await (await pool.valueAt("Added"))!.toLocal()).toBe(7);
        await expectError(pool.valueAtPut("not a name", 1), "invalidArgument");
        await expectError(pool.valueAtPut("Counter", { host: true } as unknown as LocalValue), "invalidArgument");
        const metaPool = await (await fixture.metaclass()).classPool();
        expect(await metaPool.isIdenticalTo(pool)).toBe(true);
        // a class without class variables has no pool, or an empty one
        const plain = await (await space.classNamed("Object"))!.defineSubclass({ name: "OzNoPool" });
        const plainPool = await plain.classPool().catch((e: MembraneError) => e);
        if (plainPool instanceof MembraneError) expect(plainPool.code).toBe("notFound");
        else expect(await plainPool.names()).toEqual([]);
      });

      it("metaclass and thisClass", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const meta = await fixture.metaclass();
        expect(meta.kind).toBe("metaclass");
        expect(await meta.name()).toBe(`${FIXTURE_CLASS} class`);
        expect(await (await meta.thisClass()).isIdenticalTo(fixture)).toBe(true);
        expect(await (await meta.superclass())!.name()).toBe("Object class");
        expect(await meta.category()).toBe("Oz-Conformance");
        const metaOfMeta = await (await meta.getClass()).name();
        expect(metaOfMeta).toBe("Metaclass");
        expect(await (await meta.metaclass()).name()).toBe("Metaclass");
      });

      it("defineSubclass defines classes of every kind, and redefines", async () => {
        const space = await fresh();
        const object = (await space.classNamed("Object"))!;
        const kinds = [
          ["normal", "fixed", ["a"]], ["variable", "fixedIndexable", ["a"]], ["variableByte", "bytes", []],
          ["variableWord", "words", []], ["weak", "weak", []],
        ] as const;
        for (const [kind, format, ivars] of kinds) {
          const name = `OzKind${kind[0].toUpperCase()}${kind.slice(1)}`;
          const cls = await object.defineSubclass({ name, kind, instanceVariableNames: [...ivars], category: "Oz-Kinds" });
          expect(await cls.name()).toBe(name);
          expect(await cls.instanceFormat(), kind).toBe(format);
          expect(await (await space.classNamed(name))!.isIdenticalTo(cls)).toBe(true);
          expect(await (await space.globalNamed(name))!.isIdenticalTo(cls)).toBe(true);
          expect(await cls.category()).toBe("Oz-Kinds");
        }
        const v = await (await space.classNamed("OzKindVariable"))!.newInstance(3);
        expect(await v.variableSize()).toBe(3);
        expect(await v.fixedSize()).toBe(1);
        // redefinition keeps the class and existing instances
        const fixture = await defineFixture(space);
        const inst = await fixture.newInstance();
        await inst.instVarNamedPut("alpha", 1);
        const again = await object.defineSubclass({ name: FIXTURE_CLASS, instanceVariableNames: ["alpha", "beta"], classVariableNames: ["Counter", "Other"], category: "Oz-Changed" });
        expect(await again.isIdenticalTo(fixture)).toBe(true);
        expect(await fixture.category()).toBe("Oz-Changed");
        expect(await (await fixture.classPool()).names()).toEqual(["Counter", "Other"]);
        expect(await (await inst.instVarNamed("alpha")).toLocal()).toBe(1);
        // errors
        await expectError(object.defineSubclass({ name: "lowercase" }), "invalidArgument");
        await expectError(object.defineSubclass({ name: "Has Space" }), "invalidArgument");
        await expectError(object.defineSubclass({ name: "OzBadIvar", instanceVariableNames: ["not valid"] }), "invalidArgument");
        await expectError(object.defineSubclass({ name: "OzBadKind", kind: "nonsense" as never }), "invalidArgument");
        await expectError(object.defineSubclass({ name: "OzBadCategory", category: 3 as unknown as string }), "invalidArgument");
        await expectError(object.defineSubclass({ name: "OzDup", instanceVariableNames: ["a", "a"] }), "invalidArgument");
        expect(await space.classNamed("OzDup")).toBeUndefined();
        // the class builder's own refusals
        await expectError(fixture.defineSubclass({ name: "OzShadow", instanceVariableNames: ["alpha"] }), "failedPrecondition", /alpha/);
        expect(await space.classNamed("OzShadow")).toBeUndefined();
      });

      it("allInstances and newInstance", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        expect(await fixture.allInstances()).toEqual([]);
        const a = await fixture.newInstance();
        const b = await evaluateValue(space, `${FIXTURE_CLASS} new alpha: 2; yourself`);
        const all = await fixture.allInstances();
        expect(all.length).toBe(2);
        const hashes = await Promise.all(all.map((m) => m.identityHash()));
        expect(hashes.sort()).toEqual([await a.identityHash(), await b.identityHash()].sort());
        expect(await (await a.instVarNamed("alpha")).isNilObject()).toBe(true);
        const arrayClass = (await space.classNamed("Array"))!;
        expect(await (await arrayClass.newInstance(3)).toLocal()).toEqual([null, null, null]);
        expect(await (await arrayClass.newInstance()).toLocal()).toEqual([]);
        expect(await (await (await space.classNamed("ByteArray"))!.newInstance(2)).toLocal()).toEqual(new Uint8Array(2));
        await expectError(fixture.newInstance(3), "invalidArgument");
        await expectError(arrayClass.newInstance(-1), "invalidArgument");
        await expectError(arrayClass.newInstance(1.5), "invalidArgument");
        await expectError((await space.classNamed("SmallInteger"))!.newInstance(), "invalidArgument");
        await expectError(arrayClass.newInstance(2 ** 31), "resourceExhausted");
      });
    });

    // ------------------------------------------------------------ MethodMirror

    describe("MethodMirror", () => {
      it("selector, methodClass, source, numArgs, numTemps, primitive, literals", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const m = (await fixture.methodAt("sum:with:"))!;
        expect(await m.selector()).toBe("sum:with:");
        expect(await (await m.methodClass())!.isIdenticalTo(fixture)).toBe(true);
        expect(await m.source()).toBe(FIXTURE_METHODS["sum:with:"]);
        expect(await m.numArgs()).toBe(2);
        expect(await m.numTemps()).toBe(3);
        expect(await m.primitive()).toBe(0);
        expect(await (await fixture.methodAt("primitiveAt:"))!.primitive()).toBe(60);
        const literals = await m.literals();
        const locals = await Promise.all(literals.map((l) => l.toLocal().catch(() => "<object>")));
        expect(locals).toContainEqual(sym("suspend"));
        expect(locals).toContainEqual(sym("sum:with:"));
        const meta = await fixture.metaclass();
        const cm = await meta.compile("classSide ^ 1");
        expect(await (await cm.methodClass())!.isIdenticalTo(meta)).toBe(true);
      });

      it("bytecodes and their disassembly", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const m = (await fixture.methodAt("alpha"))!;
        const code = await m.bytecodes();
        expect(code).toBeInstanceOf(Uint8Array);
        expect(code.length).toBeGreaterThan(0);
        const listing = await m.disassembly();
        expect(listing.length).toBeGreaterThan(0);
        expect(listing.join("\n")).toMatch(/return|Return|\^/);
        const sum = await (await fixture.methodAt("sum:with:"))!.disassembly();
        expect(sum.join("\n")).toMatch(/suspend/);
        expect(sum.join("\n")).toMatch(/Processor/);
        for (const line of sum) expect(line).toMatch(/^\s*\d+/);
      });

      it("lineForPc maps pcs to source lines", async () => {
        const space = await fresh();
        await defineFixture(space);
        const r = await space.evaluate(`${FIXTURE_CLASS} new lines`, { budget: FINISH });
        expect(r.ok).toBe(false);
        if (r.ok) return;
        const frame = r.stack.find((f) => f.description.includes(">>lines"));
        expect(frame?.line).toBe(5);
        const fixture = (await space.classNamed(FIXTURE_CLASS))!;
        const m = (await fixture.methodAt("lines"))!;
        const lines = new Set<number | undefined>();
        const listing = await m.disassembly();
        for (const l of listing) lines.add(await m.lineForPc(Number(/^\s*(\d+)/.exec(l)![1])));
        for (const l of lines) expect(l === undefined || (l >= 1 && l <= 5)).toBe(true);
        expect(lines.has(5)).toBe(true);
        await expectError(m.lineForPc(-3), "outOfRange");
        await expectError(m.lineForPc(100000), "outOfRange");
      });
    });

    // ------------------------------------------------------------ ContextMirror

    describe("ContextMirror", () => {
      it("method, pc, receiver, sender, arguments, temporaries by name, stack, description, line", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const obj = await fixture.newInstance();
        const p = await suspendedProcess(space, "^ (self sum: 3 with: 4) + 1", obj);
        const ctx = await topContext(p);
        expect(await (await ctx.method()).selector()).toBe("sum:with:");
        expect(typeof (await ctx.pc())).toBe("number");
        expect(await (await ctx.receiver()).isIdenticalTo(obj)).toBe(true);
        expect(await Promise.all((await ctx.arguments()).map(local))).toEqual([3, 4]);
        expect(await ctx.tempNames()).toEqual(["x", "y", "t"]);
        expect(await (await ctx.tempNamed("t")).toLocal()).toBe(7);
        expect(await (await ctx.tempNamed("x")).toLocal()).toBe(3);
        const stack = await Promise.all((await ctx.stack()).map((m) => m.toLocal().catch(() => "<object>")));
        expect(stack.slice(0, 3)).toEqual([3, 4, 7]);
        expect(await ctx.description()).toBe(`${FIXTURE_CLASS}>>sum:with:`);
        expect(await ctx.line()).toBe(4);
        expect(await ctx.isDead()).toBe(false);
        expect(await ctx.isBlockContext()).toBe(false);
        const sender = await ctx.sender();
        expect(sender).toBeDefined();
        expect(await sender!.description()).toBe(`${FIXTURE_CLASS}>>DoIt`);
        expect(await sender!.tempNames()).toEqual([]);
        expect(await sender!.sender()).toBeUndefined();
        await expectError(ctx.tempNamed("nonexistent"), "notFound", /nonexistent/);
        await expectError(ctx.tempNamedPut("nonexistent", 1), "notFound");
        await expectError(ctx.tempNamedPut("t", { host: 1 } as unknown as LocalValue), "invalidArgument");
        // the process goes on with a changed temporary
        await ctx.tempNamedPut("t", 10);
        await p.resume();
        expect(await finish(space, p)).toBe(21);
        expect(await ctx.isDead()).toBe(true);
        expect(await ctx.pc()).toBeUndefined();
      });

      it("block contexts have their temporaries named too", async () => {
        const space = await fresh();
        await defineFixture(space);
        const p = await suspendedProcess(space, `${FIXTURE_CLASS} new blockTemps: 10`);
        const ctx = await topContext(p);
        expect(await ctx.isBlockContext()).toBe(true);
        expect(await ctx.description()).toBe(`[] in ${FIXTURE_CLASS}>>blockTemps:`);
        expect(await ctx.tempNames()).toEqual(["a", "outer", "inner"]);
        expect(await (await ctx.tempNamed("a")).toLocal()).toBe(5);
        expect(await (await ctx.tempNamed("outer")).toLocal()).toBe(10);
        expect(await (await ctx.tempNamed("inner")).toLocal()).toBe(15);
        expect(await Promise.all((await ctx.arguments()).map(local))).toEqual([5]);
        expect(await (await ctx.method()).selector()).toBe("blockTemps:");
        expect(await ctx.line()).toBe(4);
        const home = await ctx.sender();
        expect(await home!.description()).toBe(`${FIXTURE_CLASS}>>blockTemps:`);
        expect(await home!.tempNames()).toEqual(["x", "outer"]);
        await ctx.tempNamedPut("inner", 99);
        await p.resume();
        expect(await finish(space, p)).toBe(99);
      });

      it("restart runs a context again from its first instruction", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        const p = await suspendedProcess(space, `${FIXTURE_CLASS} new count`);
        const pool = await fixture.classPool();
        expect(await (await pool.valueAt("Counter"))!.toLocal()).toBe(1);
        const ctx = await topContext(p);
        await ctx.restart();
        await p.resume();
        expect((await space.runUntilFinished(p, FINISH)).state).toBe("idle");
        expect(await (await pool.valueAt("Counter"))!.toLocal()).toBe(2);
        await p.resume();
        expect(await finish(space, p)).toBe(2);
        await expectError(ctx.restart(), "failedPrecondition");
      });

      it("restart of a lower context discards the ones above it", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        await fixture.compile("outerCount\n\t^ self count + 100");
        const p = await suspendedProcess(space, `${FIXTURE_CLASS} new outerCount`);
        const top = await topContext(p);
        const outer = (await top.sender())!;
        expect(await outer.description()).toBe(`${FIXTURE_CLASS}>>outerCount`);
        await outer.restart();
        expect(await top.isDead()).toBe(true);
        expect(await (await (await p.suspendedContext())!.description())).toBe(`${FIXTURE_CLASS}>>outerCount`);
        await p.resume();
        expect((await space.runUntilFinished(p, FINISH)).state).toBe("idle");
        await p.resume();
        expect(await finish(space, p)).toBe(102);
      });

      it("returnValue returns from a context to its sender", async () => {
        const space = await fresh();
        await defineFixture(space);
        const p = await suspendedProcess(space, `^ (${FIXTURE_CLASS} new sum: 3 with: 4) + 1`);
        const ctx = await topContext(p);
        const sender = (await ctx.sender())!;
        await ctx.returnValue(41);
        expect(await ctx.isDead()).toBe(true);
        expect(await (await p.suspendedContext())!.isIdenticalTo(sender)).toBe(true);
        await p.resume();
        expect(await finish(space, p)).toBe(42);
        await expectError(ctx.returnValue(1), "failedPrecondition");
      });

      it("returnValue refuses host objects and a context without a sender", async () => {
        const space = await fresh();
        await defineFixture(space);
        const p = await suspendedProcess(space, `${FIXTURE_CLASS} new sum: 3 with: 4`);
        const ctx = await topContext(p);
        await expectError(ctx.returnValue({ not: "a value" } as unknown as LocalValue), "invalidArgument");
        const bottom = (await ctx.sender())!;
        await expectError(bottom.returnValue(1), "failedPrecondition");
        expect(await ctx.isDead()).toBe(false);
        await p.resume();
        expect(await finish(space, p)).toBe(14);
      });
    });

    // ------------------------------------------------------------ processes and execution

    describe("processes", () => {
      it("createProcess makes a suspended process compiled by the host", async () => {
        const space = await fresh();
        const p = await space.createProcess(35, "3 + 4");
        expect(await p.priority()).toBe(35);
        expect(await p.state()).toBe("suspended");
        const ctx = await topContext(p);
        expect(await ctx.description()).toBe("UndefinedObject>>DoIt");
        expect(await (await ctx.method()).source()).toBe("3 + 4");
        expect(await finish(space, p)).toBe(7);
        expect(await p.state()).toBe("terminated");
        expect(await p.suspendedContext()).toBeUndefined();
        const withReceiver = await space.createProcess(40, "self size", await space.fromLocal([1, 2, 3]));
        expect(await finish(space, withReceiver)).toBe(3);
        await expectError(space.createProcess(0, "1"), "invalidArgument");
        await expectError(space.createProcess(81, "1"), "invalidArgument");
        await expectError(space.createProcess(1.5, "1"), "invalidArgument");
        await expectError(space.createProcess(40, "1 +"), "compileError");
        await expectError(space.createProcess(40, "1", { a: 1 } as unknown as ObjectMirror), "wrongSpace");
      });

      it("name, priority and setPriority", async () => {
        const space = await fresh();
        const p = await space.createProcess(40, "1");
        expect(typeof (await p.name())).toBe("string");
        await p.setPriority(50);
        expect(await p.priority()).toBe(50);
        for (const bad of [0, 81, 2.5, NaN]) await expectError(p.setPriority(bad), "invalidArgument");
        const named = await evaluateValue(space, "[nil] newProcess name: 'worker'; yourself");
        expect(await (await named.asProcess()).name()).toBe("worker");
      });

      it("runUntilFinished: finished, failed, budget spent", async () => {
        const space = await fresh();
        await defineFixture(space);
        const ok = await space.createProcess(40, "#(1 2 3) size * 2");
        const outcome = await space.runUntilFinished(ok, FINISH);
        expect(outcome.state).toBe("finished");
        if (outcome.state === "finished") expect(await outcome.result.toLocal()).toBe(6);
        const failing = await space.createProcess(40, `${FIXTURE_CLASS} new fail`);
        const failed = await space.runUntilFinished(failing, FINISH);
        expect(failed.state).toBe("failed");
        if (failed.state === "failed") {
          expect(failed.description).toMatch(/fixture failure/);
          expect(await (await failed.error.getClass()).name()).toMatch(/Error/);
          expect(await failing.state()).toBe("failed");
          expect(await (await failing.failure())!.isIdenticalTo(failed.error)).toBe(true);
          const frames = await Promise.all((await failing.stack()).map((c) => c.description()));
          expect(frames.some((f) => f === `${FIXTURE_CLASS}>>fail`)).toBe(true);
        }
        const looping = await space.createProcess(40, `${FIXTURE_CLASS} new loop`);
        const spent = await space.runUntilFinished(looping, { ms: 100 });
        expect(spent.state).toBe("budgetExhausted");
        const spentBytecodes = await space.runUntilFinished(looping, { bytecodes: 10_000 });
        expect(spentBytecodes.state).toBe("budgetExhausted");
        await looping.terminate();
        expect(await looping.state()).toBe("terminated");
        expect(await ok.failure()).toBeUndefined();
        await expectError(space.runUntilFinished((await space.fromLocal(1)) as unknown as ProcessMirror, SHORT), "invalidArgument");
        await expectError(space.runUntilFinished(ok, FINISH), "failedPrecondition");
      });

      it("suspend, resume, terminate and states", async () => {
        const space = await fresh();
        await defineFixture(space);
        const sem = await evaluateValue(space, "Semaphore new");
        const waiting = await space.createProcess(40, `${FIXTURE_CLASS} new waitOn: self`, sem);
        expect((await space.runUntilFinished(waiting, FINISH)).state).toBe("idle");
        expect(await waiting.state()).toBe("waiting");
        const all = await space.processes();
        const found = await Promise.all(all.map((q) => q.isIdenticalTo(waiting)));
        expect(found).toContain(true);
        // suspend takes it off the semaphore; resume makes it runnable
        await waiting.suspend();
        expect(await waiting.state()).toBe("suspended");
        await waiting.resume();
        expect(["runnable", "running"]).toContain(await waiting.state());
        expect(await finish(space, waiting)).toEqual(sym("done"));
        await expectError(waiting.resume(), "failedPrecondition");
        await expectError(waiting.suspend(), "failedPrecondition");
        await waiting.terminate(); // terminating a terminated process is harmless
        // a signalled semaphore wakes the waiting process
        const sem2 = await evaluateValue(space, "Semaphore new");
        const w2 = await space.createProcess(40, `${FIXTURE_CLASS} new waitOn: self`, sem2);
        expect((await space.runUntilFinished(w2, FINISH)).state).toBe("idle");
        await evaluateValue(space, "self signal", sem2);
        expect(["runnable", "running"]).toContain(await w2.state());
        expect(await finish(space, w2)).toEqual(sym("done"));
        // terminate a waiting process
        const sem3 = await evaluateValue(space, "Semaphore new");
        const w3 = await space.createProcess(40, `${FIXTURE_CLASS} new waitOn: self`, sem3);
        await space.runUntilFinished(w3, FINISH);
        await w3.terminate();
        expect(await w3.state()).toBe("terminated");
        expect(await evaluateLocal(space, "self isEmpty", sem3)).toBe(true);
        // resuming a process already runnable is an error; resuming the running one changes nothing
        const busy = await space.createProcess(60, `${FIXTURE_CLASS} new loop`);
        await space.installAsActiveProcess(busy);
        const runnable = await space.createProcess(40, "1");
        await runnable.resume();
        expect(await runnable.state()).toBe("runnable");
        await expectError(runnable.resume(), "failedPrecondition");
        await busy.resume();
        expect(await busy.state()).toBe("running");
        await runnable.suspend();
        expect(await runnable.state()).toBe("suspended");
        await runnable.terminate();
        await busy.terminate();
      });

      it("terminate runs unwind blocks when the guest can", async () => {
        const space = await fresh();
        await defineFixture(space);
        await space.setGlobal("OzUnwound", false);
        const p = await suspendedProcess(space, `[${FIXTURE_CLASS} new sum: 1 with: 2] ensure: [Smalltalk at: #OzUnwound put: true]`);
        await p.terminate();
        expect(await p.state()).toBe("terminated");
        expect(await (await space.globalNamed("OzUnwound"))!.toLocal()).toBe(true);
      });

      it("processes lists every process: running, runnable, waiting, suspended and failed", async () => {
        const space = await fresh();
        await defineFixture(space);
        const failed = await space.createProcess(40, `${FIXTURE_CLASS} new fail`);
        expect((await space.runUntilFinished(failed, FINISH)).state).toBe("failed");
        const suspended = await suspendedProcess(space, `${FIXTURE_CLASS} new count`);
        const sem = await evaluateValue(space, "Semaphore new");
        const waiting = await space.createProcess(40, `${FIXTURE_CLASS} new waitOn: self`, sem);
        await space.runUntilFinished(waiting, FINISH);
        // a busy process at a higher priority keeps the resumed one runnable
        const busy = await space.createProcess(60, `${FIXTURE_CLASS} new loop`);
        await space.installAsActiveProcess(busy);
        const runnable = await space.createProcess(30, "1");
        await runnable.resume();
        const all = await space.processes();
        const states = new Map<string, number>();
        for (const q of all) {
          expect(q.kind).toBe("process");
          const s = await q.state();
          states.set(s, (states.get(s) ?? 0) + 1);
        }
        for (const [p, s] of [[failed, "failed"], [suspended, "suspended"], [waiting, "waiting"], [runnable, "runnable"], [busy, "running"]] as const) {
          expect(await p.state()).toBe(s);
          expect(await Promise.all(all.map((q) => q.isIdenticalTo(p)))).toContain(true);
        }
        const created = await space.createProcess(40, "1");
        expect(await created.state()).toBe("suspended");
      });

      it("a failed process can be inspected, fixed and resumed (proceed)", async () => {
        const space = await fresh();
        const fixture = await defineFixture(space);
        await fixture.compile("checked: x\n\t| y |\n\ty := x isNil ifTrue: [self error: 'nil!'. 0] ifFalse: [x].\n\t^ y + 1");
        const p = await space.createProcess(40, `${FIXTURE_CLASS} new checked: nil`);
        const outcome = await space.runUntilFinished(p, FINISH);
        expect(outcome.state).toBe("failed");
        expect(await p.state()).toBe("failed");
        const frames = await p.stack();
        const descriptions = await Promise.all(frames.map((f) => f.description()));
        const index = descriptions.indexOf(`${FIXTURE_CLASS}>>checked:`);
        expect(index).toBeGreaterThanOrEqual(0);
        await frames[index].returnValue(100);
        expect(await p.state()).not.toBe("failed");
        await p.resume().catch(() => undefined);
        expect(await finish(space, p)).toBe(100);
      });

      it("scheduler: activeProcess and readyLists", async () => {
        const space = await fresh();
        await defineFixture(space);
        const sched = await space.scheduler();
        expect(sched.kind).toBe("scheduler");
        expect(await (await sched.getClass()).name()).toBe("ProcessorScheduler");
        expect(await sched.isIdenticalTo((await space.globalNamed("Processor"))!)).toBe(true);
        const busy = await space.createProcess(60, `${FIXTURE_CLASS} new loop`);
        await space.installAsActiveProcess(busy);
        expect(await (await sched.activeProcess())!.isIdenticalTo(busy)).toBe(true);
        const p1 = await space.createProcess(33, "1");
        const p2 = await space.createProcess(33, "2");
        await p1.resume();
        await p2.resume();
        const lists = await sched.readyLists();
        for (const l of lists) {
          expect(l.priority).toBeGreaterThanOrEqual(1);
          expect(l.priority).toBeLessThanOrEqual(80);
          expect(l.processes.length).toBeGreaterThan(0);
        }
        expect([...lists.map((l) => l.priority)]).toEqual([...lists.map((l) => l.priority)].sort((a, b) => b - a));
        const at33 = lists.find((l) => l.priority === 33)!;
        expect(at33.processes.length).toBe(2);
        expect(await at33.processes[0].isIdenticalTo(p1)).toBe(true);
        expect(await at33.processes[1].isIdenticalTo(p2)).toBe(true);
        const inGuest = await evaluateValue(space, "Processor activeProcess");
        expect(inGuest.kind).toBe("process");
        await busy.terminate();
        await p1.terminate();
        await p2.terminate();
        const afterwards = await sched.readyLists();
        for (const l of afterwards) for (const q of l.processes) expect(await q.isIdenticalTo(p1)).toBe(false);
      });

      it("installAsActiveProcess and transferControl", async () => {
        const space = await fresh();
        await defineFixture(space);
        const p = await space.createProcess(40, `Smalltalk at: #OzTransferred put: 42`);
        await space.installAsActiveProcess(p);
        expect(await (await (await space.scheduler()).activeProcess())!.isIdenticalTo(p)).toBe(true);
        expect(await p.state()).toBe("running");
        const report = await space.transferControl({ ms: 2000 });
        expect(["budget", "idle"]).toContain(report.reason);
        expect(report.bytecodes).toBeGreaterThan(0);
        expect(report.elapsedMs).toBeGreaterThanOrEqual(0);
        expect(await (await space.globalNamed("OzTransferred"))!.toLocal()).toBe(42);
        const looping = await space.createProcess(40, `${FIXTURE_CLASS} new loop`);
        await space.installAsActiveProcess(looping);
        const slice = await space.transferControl({ bytecodes: 5000 });
        expect(slice.reason).toBe("budget");
        expect(await (await (await space.scheduler()).activeProcess())!.isIdenticalTo(looping)).toBe(true);
        await looping.terminate();
        await expectError(space.installAsActiveProcess((await space.fromLocal(3)) as unknown as ProcessMirror), "invalidArgument");
        await expectError(space.installAsActiveProcess(looping), "failedPrecondition");
        await expectError(space.transferControl({ ms: -1 }), "invalidArgument");
      });

      it("interrupt stops the running guest at its next check and leaves the process where it was", async () => {
        const space = await fresh();
        await defineFixture(space);
        const p = await space.createProcess(80, `${FIXTURE_CLASS} new loop`);
        const running = space.runUntilFinished(p, { ms: 20_000 });
        setTimeout(() => void space.interrupt(), 100);
        const outcome = await running;
        expect(outcome.state).toBe("interrupted");
        expect(await p.state()).toBe("running");
        expect(await (await (await space.scheduler()).activeProcess())!.isIdenticalTo(p)).toBe(true);
        const frames = await Promise.all((await p.stack()).map((c) => c.description()));
        expect(frames[0]).toBe(`${FIXTURE_CLASS}>>loop`);
        const n = await (await p.suspendedContext())!.tempNamed("n");
        expect(await n.isSmallInteger()).toBe(true);
        await p.terminate();
        expect(await p.state()).toBe("terminated");
        expect(await evaluateLocal(space, "3 + 4")).toBe(7);
      });
    });

    describe("evaluate", () => {
      it("answers the value and its printString", async () => {
        const space = await fresh();
        const r = await space.evaluate("| a | a := 3. a + 4");
        expect(r.ok).toBe(true);
        if (r.ok) {
          expect(await r.value.toLocal()).toBe(7);
          expect(r.printString).toBe("7");
        }
        const withSelf = await space.evaluate("self , 'def'", { receiver: await space.fromLocal("abc") });
        expect(withSelf.ok && (await withSelf.value.toLocal())).toBe("abcdef");
        const empty = await space.evaluate("");
        expect(empty.ok && (await empty.value.isNilObject())).toBe(true);
        const high = await space.evaluate("Processor activeProcess priority", { priority: 70 });
        expect(high.ok && (await high.value.toLocal())).toBe(70);
      });

      it("answers the signalled error with its class, message and stack", async () => {
        const space = await fresh();
        await defineFixture(space);
        const r = await space.evaluate(`${FIXTURE_CLASS} new fail`, { budget: FINISH });
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.errorClass).toBe("Error");
        expect(r.messageText).toBe("fixture failure");
        expect(r.description).toMatch(/fixture failure/);
        expect(await (await r.error.getClass()).name()).toBe("Error");
        expect(r.stack[0].description).toBe(`${FIXTURE_CLASS}(Object)>>error:`);
        expect(r.stack[1]).toEqual({ description: `${FIXTURE_CLASS}>>fail`, line: 2 });
        expect(r.stack[r.stack.length - 1].description).toBe("UndefinedObject>>DoIt");
        const dnu = await space.evaluate("nil zork", { budget: FINISH });
        expect(!dnu.ok && dnu.errorClass).toBe("MessageNotUnderstood");
        // the space is usable afterwards
        expect(await evaluateLocal(space, "1 + 1")).toBe(2);
      });

      it("stops at the budget", async () => {
        const space = await fresh();
        const started = Date.now();
        const r = await space.evaluate("[true] whileTrue", { budget: { ms: 150 } });
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.errorClass).toBe("budgetExhausted");
          expect(r.messageText).toMatch(/budget/);
          expect(r.stack[0].description).toBe("UndefinedObject>>DoIt");
        }
        expect(Date.now() - started).toBeLessThan(5000);
        const byBytecodes = await space.evaluate("[true] whileTrue", { budget: { bytecodes: 1000 } });
        expect(!byBytecodes.ok && byBytecodes.errorClass).toBe("budgetExhausted");
        expect(await evaluateLocal(space, "2 + 2")).toBe(4);
      });

      it("reports compile errors with their location", async () => {
        const space = await fresh();
        const e = await expectError(space.evaluate("3 +"), "compileError");
        expect(e.message.length).toBeGreaterThan(0);
        const located = await expectError(space.evaluate("\n3 +", { origin: { fileName: "script.st", line: 20 } }), "compileError");
        expect(located.message).toMatch(/script\.st:21/);
        await expectError(space.evaluate("1", { priority: 0 }), "invalidArgument");
        await expectError(space.evaluate("1", { budget: { ms: -5 } }), "invalidArgument");
        await expectError(space.evaluate(7 as unknown as string), "invalidArgument");
      });

      it("an error inside the error handling does not take the space down", async () => {
        const space = await fresh();
        await defineFixture(space);
        const r = await space.evaluate(`[${FIXTURE_CLASS} new fail] on: Error do: [:e | e zork]`, { budget: FINISH });
        expect(r.ok).toBe(false);
        expect(await evaluateLocal(space, "6 * 7")).toBe(42);
      });
    });

    // ------------------------------------------------------------ whole image

    describe("whole image", () => {
      it("collectGarbage and stats", async () => {
        const space = await fresh();
        const before = await space.stats();
        expect(before.heapBytes).toBeGreaterThan(0);
        expect(before.heapLimit).toBeGreaterThanOrEqual(before.heapBytes);
        await evaluateValue(space, "1 to: 1000 do: [:i | Array new: 10]");
        await space.collectGarbage();
        const after = await space.stats();
        expect(after.gcCount).toBeGreaterThan(before.gcCount);
        expect(after.bytecodes).toBeGreaterThan(before.bytecodes);
        expect(after.sends).toBeGreaterThanOrEqual(before.sends);
        expect(after.gcMs).toBeGreaterThanOrEqual(0);
        await expectError(space.collectGarbage("sideways" as never), "invalidArgument");
      });

      it("snapshot answers image bytes that reopen with the same state", async () => {
        const space = await fresh();
        await space.setGlobal("OzSnapshotMarker", "still here");
        const bytes = await space.snapshot();
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect(Array.from(bytes.subarray(0, 5))).toEqual([0x4f, 0x5a, 0x49, 0x4d, 0x47]);
        const again = await space.snapshot();
        expect(again.length).toBe(bytes.length);
        expect(await (await space.globalNamed("OzSnapshotMarker"))!.toLocal()).toBe("still here");
      });
    });
  });
}

export { Char, FloatValue, Sym, FIXTURE_CLASS, FIXTURE_METHODS, isMirror, type MethodMirror };
