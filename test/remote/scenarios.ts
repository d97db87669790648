/**
 * Parity scenarios: each exercises part of the ObjectSpace interface and answers plain data (values,
 * names, error codes and messages). Run on a local space and on remote ones, they must answer exactly the
 * same: the remote spaces are polymorphic with the local one.
 */
import type { ClassMirror, ObjectMirror, ObjectSpace } from "../../src/membrane/objectSpace.js";
import { Char, FloatValue, Sym, type LocalValue } from "../../src/membrane/values.js";

export interface Scenario {
  name: string;
  run(space: ObjectSpace, other: ObjectSpace): Promise<unknown>;
}

/** An outcome: the value, or the error's class name, code and message. */
export async function attempt<T>(fn: () => Promise<T>): Promise<T | { error: string; code: unknown; message: string }> {
  try {
    return await fn();
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { error: err.name, code: err.code, message: err.message };
  }
}

/** A host value with its JavaScript types spelled out (so that 1 and 1n, 0 and -0, differ). */
function typed(v: LocalValue): unknown {
  if (v === null) return "nil";
  if (typeof v === "number") return { number: Object.is(v, -0) ? "-0" : String(v) };
  if (typeof v === "bigint") return { bigint: v.toString() };
  if (v instanceof Sym) return { sym: v.name };
  if (v instanceof Char) return { char: v.code };
  if (v instanceof FloatValue) return { floatValue: String(v.value) };
  if (v instanceof Uint8Array) return { bytes: Array.from(v), ctor: v.constructor.name };
  if (Array.isArray(v)) return v.map(typed);
  return { [typeof v]: v };
}

async function evalValue(space: ObjectSpace, source: string): Promise<ObjectMirror> {
  const r = await space.evaluate(source, { budget: { ms: 10_000 } });
  if (!r.ok) throw new Error(`${source}: ${r.errorClass} ${r.messageText}`);
  return r.value;
}

const LITERALS: LocalValue[] = [
  null, true, false, 0, -0, 7, -7, 1.5, -2.25, 2 ** 53 + 2, 1e300, Number.NaN, Number.POSITIVE_INFINITY, 2n ** 100n, -(3n ** 90n), 5n,
  "", "hello", "h\u00e9llo", new Sym("foo:bar:"), new Char(97), new Char(955), new FloatValue(1), new FloatValue(-0), new Uint8Array([0, 1, 255]),
  [1, [2, [3, "x"]], new Sym("s")], [],
];

export const SCENARIOS: Scenario[] = [
  {
    name: "literals cross both ways",
    async run(space) {
      const out = [];
      for (const v of LITERALS) {
        const m = await space.fromLocal(v);
        out.push({ in: typed(v), kind: m.kind, back: typed(await m.toLocal()), viaSpace: typed(await space.toLocal(m)) });
      }
      return out;
    },
  },
  {
    name: "deep and cyclic arrays",
    async run(space) {
      const nest = (n: number): LocalValue => {
        let v: LocalValue = "core";
        for (let i = 0; i < n; i++) v = [v, i];
        return v;
      };
      const depthOf = (v: LocalValue): number => {
        let d = 0;
        while (Array.isArray(v)) {
          v = v[0];
          d++;
        }
        return d;
      };
      const cyclic: LocalValue[] = [1];
      cyclic.push(cyclic);
      const deep = await space.fromLocal(nest(999));
      return {
        roundTrip: await attempt(async () => depthOf(await deep.toLocal())),
        same: await attempt(async () => JSON.stringify(await deep.toLocal(), (_, v) => (typeof v === "bigint" ? String(v) : v)) === JSON.stringify(nest(999))),
        tooDeep: await attempt(async () => (await space.fromLocal(nest(1001))).kind),
        cyclic: await attempt(async () => (await space.fromLocal(cyclic)).kind),
        built: await attempt(async () => {
          let m = await space.fromLocal("core");
          for (let i = 0; i < 40; i++) m = await space.fromLocalArray([null]).then(async (a) => (await a.atPut(1, m), a));
          return depthOf(await m.toLocal());
        }),
      };
    },
  },
  {
    name: "typed conversions",
    async run(space) {
      return [
        await attempt(async () => (await space.toLocalString(await space.fromLocalString("abc")))),
        await attempt(async () => (await space.toLocalString(await space.fromLocalSymbol("abc")))),
        await attempt(async () => (await space.toLocalSymbol(await space.fromLocalSymbol("at:put:")))),
        await attempt(async () => (await space.toLocalSymbol(await space.fromLocalString("abc")))),
        await attempt(async () => String(await space.toLocalInteger(await space.fromLocalInteger(42)))),
        await attempt(async () => typeof (await space.toLocalInteger(await space.fromLocalInteger(42)))),
        await attempt(async () => String(await space.toLocalInteger(await space.fromLocalInteger(2n ** 70n)))),
        await attempt(async () => space.fromLocalInteger(1.5).then((m) => m.kind)),
        await attempt(async () => (await space.toLocalInteger(await space.fromLocalFloat(2.5))).toString()),
        await attempt(async () => await space.toLocalFloat(await space.fromLocalFloat(2.5))),
        await attempt(async () => Object.is(await space.toLocalFloat(await space.fromLocalFloat(-0)), -0)),
        await attempt(async () => await space.toLocalFloat(await space.fromLocalInteger(3))),
        await attempt(async () => await space.toLocalCharacter(await space.fromLocalCharacter("a"))),
        await attempt(async () => await space.toLocalCharacter(await space.fromLocalCharacter(955))),
        await attempt(async () => await space.toLocalBoolean(await space.fromLocalBoolean(false))),
        await attempt(async () => await space.toLocalBoolean(await space.nilObject())),
        await attempt(async () => typed(await space.toLocalArray(await space.fromLocalArray([1, "a", new Sym("b")])))),
        await attempt(async () => typed(await space.toLocalByteArray(await space.fromLocalByteArray(new Uint8Array([9, 8, 7]))))),
        await attempt(async () => typed(await space.toLocalByteArray(await space.fromLocalString("x")))),
        await attempt(async () => space.fromLocalString("\u0100").then((m) => m.kind)),
        await attempt(async () => space.fromLocalCharacter(-1).then((m) => m.kind)),
        await attempt(async () => typed(await space.toLocal(await evalValue(space, "Object new")))),
      ];
    },
  },
  {
    name: "special objects and globals",
    async run(space) {
      const nil = await space.nilObject();
      const t = await space.trueObject();
      const f = await space.falseObject();
      const soa = await space.specialObjectsArray();
      await space.setGlobal("ParityGlobal", 42);
      const g = await space.globalNamed("ParityGlobal");
      await space.setGlobal("ParityGlobal2", g!);
      return {
        nil: [nil.kind, await nil.isNilObject(), await t.asBoolean(), await f.asBoolean()],
        notBoolean: await attempt(() => nil.asBoolean()),
        soa: [soa.kind, await soa.variableSize() > 30, await (await soa.at(1)).isNilObject()],
        global: typed(await g!.toLocal()),
        global2: await (await space.globalNamed("ParityGlobal2"))!.isIdenticalTo(g!),
        missing: await space.globalNamed("NoSuchGlobalAtAll"),
        classes: (await space.classes()).length > 20,
      };
    },
  },
  {
    name: "indexable objects",
    async run(space) {
      const a = await evalValue(space, "Array new: 3");
      await a.atPut(2, "x");
      await a.atPut(3, a);
      return {
        kind: a.kind,
        sizes: [await a.fixedSize(), await a.variableSize(), await a.format()],
        at1: await (await a.at(1)).isNilObject(),
        at2: typed(await (await a.at(2)).toLocal()),
        self: await (await a.at(3)).isIdenticalTo(a),
        instVarAt: typed(await (await a.instVarAt(2)).toLocal()),
        errors: [await attempt(() => a.at(0)), await attempt(() => a.at(4)), await attempt(() => a.at(1.5)), await attempt(() => a.atPut(9, 1))],
        selfRef: await attempt(() => a.toLocal()),
        unref: await a.atPut(3, 0),
        describe: await a.describe().then(({ identityHash: _, ...rest }) => rest),
        page: await a.describe(1, 1).then((d) => [d.indexedFields, d.variableSize]),
      };
    },
  },
  {
    name: "bytes and words",
    async run(space) {
      const s = await space.fromLocalString("abc");
      await s.byteAtPut(1, 65);
      const b = await space.fromLocalByteArray(new Uint8Array([1, 2, 3]));
      const w = await (await space.createObjectWithFormat("words", 3)).asWords();
      await w.wordAtPut(1, 2 ** 32 - 1);
      await w.wordAtPut(3, 7);
      return {
        string: [s.kind, await s.byteAt(1), await s.asString(), Array.from(await s.bytes()), (await s.bytes()).constructor.name],
        charAt: typed(await (await s.at(2)).toLocal()),
        bytesAt: typed(await (await b.at(2)).toLocal()),
        errors: [await attempt(() => s.byteAt(9)), await attempt(() => s.byteAtPut(1, 300)), await attempt(() => s.atPut(1, "no")), await attempt(() => w.wordAtPut(1, -1))],
        words: [w.kind, await w.wordAt(1), Array.from(await w.words()), (await w.words()).constructor.name, await w.variableSize()],
        wordsAt: typed(await (await w.at(1)).toLocal()),
        notWords: await attempt(async () => (await s.asWords()).kind),
        asBytes: (await s.asBytes()) === s,
      };
    },
  },
  {
    name: "classes",
    async run(space) {
      const object = (await space.classNamed("Object"))!;
      const foo = await object.defineSubclass({ name: "ParityFoo", instanceVariableNames: ["a", "b"], classVariableNames: ["Count"], category: "Parity-Tests" });
      const bar = await foo.defineSubclass({ name: "ParityBar", instanceVariableNames: ["c"], category: "Parity-Tests" });
      await foo.compile("sum\n\t^ a + b", { category: "arithmetic" });
      await foo.compile("a: x b: y\n\t| t |\n\tt := x.\n\ta := t. b := y");
      const meta = await foo.metaclass();
      await meta.compile("count ^ Count");
      const compileError = await attempt(() => foo.compile("broken ^ ^"));
      const inst = await foo.newInstance();
      await inst.instVarNamedPut("a", 3);
      await inst.instVarAtPut(2, 4);
      const pool = await foo.classPool();
      await pool.valueAtPut("Count", 5);
      const dict = await foo.methodDictionary();
      return {
        kinds: [object.kind, foo.kind, meta.kind, (await space.classNamed("ParityFoo class"))!.kind],
        names: [await foo.name(), await meta.name(), await (await meta.thisClass()).name(), await (await foo.superclass())!.name()],
        root: await (await space.classNamed("ProtoObject"))?.superclass(),
        missing: await space.classNamed("NoSuchClassHere"),
        ivars: [await foo.instVarNames(), await bar.allInstVarNames(), await foo.instanceSize(), await foo.instanceFormat(), await foo.category()],
        selectors: [await foo.selectors(), await foo.includesSelector("sum"), await foo.includesSelector("zork"), await bar.selectors()],
        lookup: [await (await bar.lookup("sum"))?.selector(), await bar.methodAt("sum"), await (await foo.lookup("printString"))?.selector()],
        subclasses: await Promise.all((await foo.subclasses()).map((c) => c.name())),
        compileError,
        fields: [typed(await (await inst.instVarNamed("a")).toLocal()), typed(await (await inst.instVarAt(2)).toLocal()), await attempt(() => inst.instVarNamed("zz"))],
        instanceClass: await (await inst.getClass()).name(),
        allInstances: (await foo.allInstances()).length,
        pool: [await pool.names(), typed(await (await pool.valueAt("Count"))!.toLocal()), await pool.valueAt("Nope")],
        dict: [dict.kind, await dict.size(), await dict.selectors(), await (await dict.methodAt("sum"))!.selector(), await dict.methodAt("zork")],
        remove: [await attempt(() => foo.removeMethod("a:b:")), await attempt(() => foo.removeMethod("a:b:")), await foo.selectors()],
        noPool: await attempt(async () => (await bar.classPool()).kind),
        asClass: [(await foo.asClass()) === foo, await attempt(async () => (await inst.asClass()).kind)],
        badDefinition: await attempt(async () => (await object.defineSubclass({ name: "lowercase" })).kind),
        newInstance: [await attempt(async () => (await foo.newInstance(3)).kind), await attempt(async () => (await foo.newInstance(-1)).kind)],
      };
    },
  },
  {
    name: "class surgery",
    async run(space) {
      const object = (await space.classNamed("Object"))!;
      const a = await object.defineSubclass({ name: "ParityA", instanceVariableNames: ["x"] });
      const b = await object.defineSubclass({ name: "ParityB", instanceVariableNames: ["y"] });
      const c = await object.defineSubclass({ name: "ParityC" });
      await b.compile("y ^ y");
      const i = await a.newInstance();
      await i.instVarAtPut(1, 9);
      await i.setClass(b);
      const y = await evalValue(space, "Smalltalk at: #ParityI put: nil");
      void y;
      await space.setGlobal("ParityI", i);
      const r = await space.evaluate("ParityI y", { budget: { ms: 5000 } });
      await c.setSuperclass(b);
      const cls = await space.createClassWithFormat({ format: "fixed", instanceSize: 6 }, { format: "fixed", instanceSize: 2 });
      return {
        setClass: [await (await i.getClass()).name(), r.ok && r.printString],
        badSetClass: await attempt(async () => (await space.fromLocal(3)).setClass(a)),
        superclass: [await (await c.superclass())!.name(), await (await c.lookup("y"))?.selector()],
        bootstrapClass: [cls.kind, await cls.instanceSize(), await cls.instanceFormat()],
        bareObject: await (await space.createObjectWithFormat("indexable", 2)).describe().then((d) => [d.className, d.variableSize, d.format]),
        badFormat: await attempt(async () => (await space.createObjectWithFormat("zork" as never)).kind),
      };
    },
  },
  {
    name: "methods",
    async run(space) {
      const object = (await space.classNamed("Object"))!;
      const k = await object.defineSubclass({ name: "ParityM", instanceVariableNames: ["v"] });
      const m = await k.compile("add: x to: y\n\t| s |\n\ts := x + y.\n\t^ s * 2");
      const lits = await m.literals();
      return {
        kind: m.kind,
        facts: [await m.selector(), await (await m.methodClass())!.name(), await m.source(), await m.numArgs(), await m.numTemps(), await m.primitive()],
        literals: lits.map((l) => l.kind),
        bytecodes: [(await m.bytecodes()).constructor.name, (await m.bytecodes()).length > 0],
        disassembly: await m.disassembly(),
        lines: [await attempt(() => m.lineForPc(1)), await attempt(() => m.lineForPc(1000)), await attempt(() => m.lineForPc(18))],
        asMethod: (await m.asMethod()) === m,
        describe: await m.describe().then((d) => [d.className, d.kind, d.format]),
      };
    },
  },
  {
    name: "evaluation",
    async run(space) {
      const ok = await space.evaluate("3 + 4");
      const err = await space.evaluate("1/0");
      const dnu = await space.evaluate("nil parityFoo");
      const budget = await space.evaluate("[true] whileTrue", { budget: { ms: 30 } });
      const compile = await attempt(() => space.evaluate("3 +"));
      const recv = await space.evaluate("self + 1", { receiver: await space.fromLocal(41) });
      const origin = await attempt(() => space.evaluate("1 +", { origin: { fileName: "parity.st", line: 10, column: 3 } }));
      const summarize = (r: Awaited<ReturnType<ObjectSpace["evaluate"]>>) =>
        r.ok ? { ok: true, print: r.printString, kind: r.value.kind } : { ok: false, cls: r.errorClass, text: r.messageText, d: r.description, stack: r.stack, errKind: r.error.kind };
      return { ok: summarize(ok), err: summarize(err), dnu: summarize(dnu), budget: summarize(budget), compile, recv: summarize(recv), origin };
    },
  },
  {
    name: "contexts",
    async run(space) {
      const object = (await space.classNamed("Object"))!;
      const k = await object.defineSubclass({ name: "ParityCtx", instanceVariableNames: [] });
      await k.compile("ctx: arg\n\t| t |\n\tt := arg + 1.\n\t^ thisContext");
      await k.compile("blockCtx\n\t^ [:x | thisContext] value: 5");
      const c = await (await evalValue(space, "ParityCtx new ctx: 41")).asContext();
      const b = await (await evalValue(space, "ParityCtx new blockCtx")).asContext();
      return {
        kind: c.kind,
        facts: [await c.description(), await (await c.method()).selector(), await (await c.receiver()).getClass().then((x) => x.name()), await c.isBlockContext(), await c.isDead()],
        pc: typeof (await c.pc()),
        sender: (await c.sender()) === undefined,
        temps: [await c.tempNames(), await attempt(async () => typed(await (await c.tempNamed("t")).toLocal())), await attempt(() => c.tempNamed("nope"))],
        args: await Promise.all((await c.arguments()).map(async (a) => typed(await a.toLocal()))),
        stack: (await c.stack()).length,
        line: await c.line(),
        block: [await b.description(), await b.isBlockContext(), await b.tempNames()],
        put: await attempt(() => c.tempNamedPut("t", 99)),
        restart: await attempt(() => c.restart()),
        notContext: await attempt(async () => (await (await space.nilObject()).asContext()).kind),
      };
    },
  },
  {
    name: "processes",
    async run(space) {
      const p = await space.createProcess(30, "3 + 4");
      const facts = [p.kind, await p.priority(), await p.state()];
      const outcome = await space.runUntilFinished(p, { ms: 5000 });
      const f = await space.createProcess(40, "1/0");
      const failed = await space.runUntilFinished(f, { ms: 5000 });
      const failure = await f.failure();
      const s = await space.createProcess(30, "(Delay forMilliseconds: 1) wait. 5");
      await s.setPriority(31);
      const sched = await space.scheduler();
      return {
        facts,
        outcome: outcome.state === "finished" ? typed(await outcome.result.toLocal()) : outcome,
        failed: failed.state === "failed" ? [failed.description, failed.error.kind] : failed,
        failure: failure ? await (await failure.getClass()).name() : undefined,
        failedState: await f.state(),
        priority: [await s.priority(), await attempt(() => s.setPriority(0)), await attempt(() => s.setPriority(81))],
        name: typeof (await s.name()),
        stack: (await s.stack()).length > 0,
        top: (await s.suspendedContext())?.kind,
        terminate: [await attempt(() => s.terminate()), await s.state()],
        scheduler: [sched.kind, typeof (await sched.activeProcess()), Array.isArray(await sched.readyLists())],
        all: (await space.processes()).every((x) => x.kind === "process"),
        badPriority: await attempt(async () => (await space.createProcess(0, "3")).kind),
        badSource: await attempt(async () => (await space.createProcess(30, "3 +")).kind),
      };
    },
  },
  {
    name: "running and whole image",
    async run(space) {
      const slice = await space.transferControl({ ms: 1 });
      const m = await space.fromLocal([1, 2, 3]);
      await evalValue(space, "(1 to: 2000) collect: [:i | Array new: 10]");
      await space.collectGarbage();
      const stats = await space.stats();
      const snapshot = await space.snapshot();
      await space.interrupt();
      await space.transferControl({ ms: 1 });
      return {
        slice: [typeof slice.reason, typeof slice.bytecodes, "fault" in slice],
        afterGc: typed(await m.toLocal()),
        stats: Object.keys(stats).sort(),
        snapshot: [snapshot.constructor.name, snapshot.length > 1000],
      };
    },
  },
  {
    name: "release and spaces",
    async run(space, other) {
      const m = await space.fromLocal([1, 2]);
      const n = await space.fromLocal(3);
      const o = await other.fromLocal(4);
      m.release();
      m.release();
      const afterRelease = await attempt(() => m.at(1));
      const asArg = await attempt(() => n.isIdenticalTo(m));
      const foreign = [await attempt(() => n.isIdenticalTo(o)), await attempt(() => space.toLocal(o)), await attempt(() => space.setGlobal("X", o)), await attempt(() => n.instVarAtPut(1, o))];
      const kept = await space.fromLocal(5);
      space.releaseAll();
      const afterAll = [await attempt(() => kept.toLocal()), await attempt(() => n.toLocal())];
      const fresh = typed(await (await space.fromLocal(6)).toLocal());
      return { afterRelease, asArg, foreign, afterAll, fresh, otherStillValid: typed(await o.toLocal()) };
    },
  },
  {
    name: "describe",
    async run(space) {
      const p = await evalValue(space, "3 @ 4");
      const d = await p.describe();
      const cls = await (await space.classNamed("Object"))!.describe();
      const int = await (await space.fromLocal(7)).describe();
      return { point: { ...d, identityHash: typeof d.identityHash }, cls: [cls.className, cls.kind, cls.namedFields.map((f) => f.name)], int };
    },
  },
];

export type { ClassMirror };
