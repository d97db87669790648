/**
 * A minimal image built by hand, for unit tests of the VM below the kernel: the classes the VM knows
 * about (with real metaclasses), the special objects array, a symbol table, a scheduler with one active
 * process, and helpers to install hand-assembled methods and run code. It has no Smalltalk methods of its
 * own; tests add what they need with `defineMethod`.
 */
import { HEADER_BYTES, ObjectMemory, type HeapOptions } from "../memory/heap.js";
import { Format, classFormat } from "../memory/format.js";
import { Special, SPECIAL_OBJECTS_SIZE, SPECIAL_SELECTORS } from "../memory/special.js";
import { REQUIRED_INSTANCE_VARIABLES } from "../memory/layout.js";
import { characterOop, smallIntOop, type Oop } from "../memory/oop.js";
import { createSymbolTable, internSymbol } from "../memory/symbols.js";
import { encodeMethodHeader, initialPC } from "../method/header.js";
import { Interpreter, type InterpreterOptions } from "../interpreter/interpreter.js";
import { memoryHost } from "../host.js";
import type { SliceResult } from "../interpreter/slice.js";
import { PRIM_ERROR_NAMES } from "../primitives/errors.js";
import { integerObjectOf } from "../memory/integers.js";

interface ClassDef {
  name: string;
  superclass: string | null;
  spec: number;
  ivars: readonly string[];
}

const ivarsOf = (name: string) => REQUIRED_INSTANCE_VARIABLES[name] ?? [];

const CLASSES: ClassDef[] = [
  { name: "ProtoObject", superclass: null, spec: Format.empty, ivars: [] },
  { name: "Object", superclass: "ProtoObject", spec: Format.empty, ivars: [] },
  { name: "Behavior", superclass: "Object", spec: Format.fixed, ivars: ivarsOf("Behavior") },
  { name: "ClassDescription", superclass: "Behavior", spec: Format.fixed, ivars: ivarsOf("ClassDescription") },
  { name: "Class", superclass: "ClassDescription", spec: Format.fixed, ivars: ivarsOf("Class") },
  { name: "Metaclass", superclass: "ClassDescription", spec: Format.fixed, ivars: ivarsOf("Metaclass") },
  { name: "UndefinedObject", superclass: "Object", spec: Format.empty, ivars: [] },
  { name: "Boolean", superclass: "Object", spec: Format.empty, ivars: [] },
  { name: "True", superclass: "Boolean", spec: Format.empty, ivars: [] },
  { name: "False", superclass: "Boolean", spec: Format.empty, ivars: [] },
  { name: "Magnitude", superclass: "Object", spec: Format.empty, ivars: [] },
  { name: "Character", superclass: "Magnitude", spec: Format.empty, ivars: [] },
  { name: "Number", superclass: "Magnitude", spec: Format.empty, ivars: [] },
  { name: "Integer", superclass: "Number", spec: Format.empty, ivars: [] },
  { name: "SmallInteger", superclass: "Integer", spec: Format.empty, ivars: [] },
  { name: "LargePositiveInteger", superclass: "Integer", spec: Format.bytes, ivars: [] },
  { name: "LargeNegativeInteger", superclass: "LargePositiveInteger", spec: Format.bytes, ivars: [] },
  { name: "Float", superclass: "Number", spec: Format.words, ivars: [] },
  { name: "Fraction", superclass: "Number", spec: Format.fixed, ivars: ["numerator", "denominator"] },
  { name: "Point", superclass: "Object", spec: Format.fixed, ivars: ivarsOf("Point") },
  { name: "Collection", superclass: "Object", spec: Format.empty, ivars: [] },
  { name: "ArrayedCollection", superclass: "Collection", spec: Format.empty, ivars: [] },
  { name: "Array", superclass: "ArrayedCollection", spec: Format.indexable, ivars: [] },
  { name: "WeakArray", superclass: "Array", spec: Format.weak, ivars: [] },
  { name: "String", superclass: "ArrayedCollection", spec: Format.empty, ivars: [] },
  { name: "ByteString", superclass: "String", spec: Format.bytes, ivars: [] },
  { name: "Symbol", superclass: "String", spec: Format.empty, ivars: [] },
  { name: "ByteSymbol", superclass: "Symbol", spec: Format.bytes, ivars: [] },
  { name: "ByteArray", superclass: "ArrayedCollection", spec: Format.bytes, ivars: [] },
  { name: "WordArray", superclass: "ArrayedCollection", spec: Format.words, ivars: [] },
  { name: "Association", superclass: "Object", spec: Format.fixed, ivars: ivarsOf("Association") },
  { name: "Message", superclass: "Object", spec: Format.fixed, ivars: ivarsOf("Message") },
  { name: "MethodDictionary", superclass: "Object", spec: Format.fixedIndexable, ivars: ivarsOf("MethodDictionary") },
  { name: "CompiledMethod", superclass: "ByteArray", spec: Format.compiledMethod, ivars: [] },
  { name: "Context", superclass: "Object", spec: Format.fixedIndexable, ivars: ivarsOf("Context") },
  { name: "BlockClosure", superclass: "Object", spec: Format.fixedIndexable, ivars: ivarsOf("BlockClosure") },
  { name: "Link", superclass: "Object", spec: Format.fixed, ivars: ["nextLink"] },
  { name: "Process", superclass: "Link", spec: Format.fixed, ivars: ivarsOf("Process") },
  { name: "LinkedList", superclass: "Collection", spec: Format.fixed, ivars: ivarsOf("LinkedList") },
  { name: "Semaphore", superclass: "LinkedList", spec: Format.fixed, ivars: ivarsOf("Semaphore") },
  { name: "ProcessorScheduler", superclass: "Object", spec: Format.fixed, ivars: ivarsOf("ProcessorScheduler") },
  { name: "SymbolTable", superclass: "Object", spec: Format.fixed, ivars: ivarsOf("SymbolTable") },
];

export interface MicroMethodOptions {
  numArgs?: number;
  numTemps?: number;
  primitive?: number;
  largeFrame?: boolean;
}

export interface MicroImage {
  mem: ObjectMemory;
  vm: Interpreter;
  output: string[];
  classes: Record<string, Oop>;
  sym(name: string): Oop;
  /** a method object from raw bytecodes; the selector and class binding are appended as the last literals */
  makeMethod(bytecodes: number[], literals: Oop[], options?: MicroMethodOptions, selector?: string, className?: string): Oop;
  /** installs a method in a class (className "Foo class" for the class side) */
  defineMethod(className: string, selector: string, bytecodes: number[], literals?: Oop[], options?: MicroMethodOptions): Oop;
  /** runs `bytecodes` as a method of `receiver` in a host process; answers the result and the slice */
  run(bytecodes: number[], literals?: Oop[], options?: MicroMethodOptions & { receiver?: Oop; maxBytecodes?: number }): { result: Oop | undefined; slice: SliceResult };
  /** runs a method object (e.g. a materialized MethodSpec) on `receiver` in a host process */
  runMethod(method: Oop, receiver?: Oop, maxBytecodes?: number): { result: Oop | undefined; slice: SliceResult };
  string(text: string): Oop;
  array(elements: Oop[]): Oop;
  int(value: number | bigint): Oop;
  float(value: number): Oop;
  char(code: number): Oop;
  newProcess(method: Oop, receiver: Oop, priority: number): Oop;
  newSemaphore(): Oop;
  association(key: Oop, value: Oop): Oop;
}

export function createMicroImage(options: HeapOptions & InterpreterOptions = {}): MicroImage {
  const mem = new ObjectMemory({ hashSeed: 12345, ...options });
  const nil = mem.allocate(0, Format.empty, 0, 0);
  const falseObj = mem.allocate(0, Format.empty, 0, 0);
  const trueObj = mem.allocate(0, Format.empty, 0, 0);
  mem.nilOop = nil;
  mem.trueOop = trueObj;
  mem.falseOop = falseObj;
  const classes: Record<string, Oop> = {};
  const metas: Record<string, Oop> = {};
  for (const def of CLASSES) {
    metas[def.name] = mem.allocate(0, Format.fixed, 6, nil);
    classes[def.name] = mem.allocate(metas[def.name], Format.fixed, 11, nil);
  }
  const soa = mem.allocate(0, Format.indexable, SPECIAL_OBJECTS_SIZE, nil);
  mem.specialObjectsOop = soa;
  const setSpecial = (i: number, v: Oop) => mem.storePointer(soa, i, v);
  setSpecial(Special.nil, nil);
  setSpecial(Special.false, falseObj);
  setSpecial(Special.true, trueObj);
  const specialClasses: Array<[number, string]> = [
    [Special.classSmallInteger, "SmallInteger"], [Special.classByteString, "ByteString"], [Special.classArray, "Array"],
    [Special.classFloat, "Float"], [Special.classMethodContext, "Context"], [Special.classPoint, "Point"],
    [Special.classLargePositiveInteger, "LargePositiveInteger"], [Special.classMessage, "Message"],
    [Special.classCompiledMethod, "CompiledMethod"], [Special.classSemaphore, "Semaphore"],
    [Special.classCharacter, "Character"], [Special.classByteArray, "ByteArray"], [Special.classProcess, "Process"],
    [Special.classBlockClosure, "BlockClosure"], [Special.classLargeNegativeInteger, "LargeNegativeInteger"],
    [Special.classByteSymbol, "ByteSymbol"], [Special.classAssociation, "Association"],
    [Special.classMethodDictionary, "MethodDictionary"], [Special.classMetaclass, "Metaclass"],
    [Special.classUndefinedObject, "UndefinedObject"], [Special.classTrue, "True"], [Special.classFalse, "False"],
    [Special.classProcessorScheduler, "ProcessorScheduler"], [Special.classLinkedList, "LinkedList"],
    [Special.classWordArray, "WordArray"], [Special.classSymbolTable, "SymbolTable"], [Special.classString, "String"],
    [Special.classSymbol, "Symbol"],
  ];
  for (const [i, name] of specialClasses) setSpecial(i, classes[name]);
  mem.setSpecialObjects(soa);
  mem.words[nil >> 2] = classes.UndefinedObject;
  mem.words[falseObj >> 2] = classes.False;
  mem.words[trueObj >> 2] = classes.True;
  mem.words[soa >> 2] = classes.Array;
  setSpecial(Special.symbolTable, createSymbolTable(mem, classes.SymbolTable, classes.Array, 1024));
  const sym = (name: string) => internSymbol(mem, name);
  const newArray = (elements: Oop[]) => {
    const a = mem.allocate(classes.Array, Format.indexable, elements.length);
    elements.forEach((e, i) => mem.storePointer(a, i, e));
    return a;
  };
  const newMethodDict = (capacity: number) => {
    const d = mem.allocate(classes.MethodDictionary, Format.fixedIndexable, 2 + capacity);
    mem.storePointer(d, 0, smallIntOop(0));
    mem.storePointer(d, 1, mem.allocate(classes.Array, Format.indexable, capacity));
    return d;
  };
  for (const def of CLASSES) {
    const cls = classes[def.name];
    const meta = metas[def.name];
    const superclass = def.superclass ? classes[def.superclass] : nil;
    mem.storePointer(cls, 0, superclass);
    mem.storePointer(cls, 1, newMethodDict(32));
    mem.storePointer(cls, 2, smallIntOop(classFormat(def.spec, def.ivars.length)));
    // a class lists its own instance variables; the inherited ones are its superclass's
    const inherited = def.superclass ? CLASSES.find((c) => c.name === def.superclass)!.ivars.length : 0;
    mem.storePointer(cls, 3, newArray(def.ivars.slice(inherited).map(sym)));
    mem.storePointer(cls, 6, sym(def.name));
    mem.words[meta >> 2] = classes.Metaclass;
    mem.storePointer(meta, 0, def.superclass ? metas[def.superclass] : classes.Class);
    mem.storePointer(meta, 1, newMethodDict(32));
    mem.storePointer(meta, 2, smallIntOop(classFormat(Format.fixed, 11)));
    mem.storePointer(meta, 5, cls);
  }
  const selectors: Oop[] = [];
  for (const [name, n] of SPECIAL_SELECTORS) selectors.push(sym(name), smallIntOop(n));
  setSpecial(Special.specialSelectors, newArray(selectors));
  setSpecial(Special.selectorDoesNotUnderstand, sym("doesNotUnderstand:"));
  setSpecial(Special.selectorCannotReturn, sym("cannotReturn:"));
  setSpecial(Special.selectorMustBeBoolean, sym("mustBeBoolean"));
  setSpecial(Special.selectorAttemptToAssign, sym("attemptToAssign:withIndex:"));
  setSpecial(Special.selectorAboutToReturn, sym("aboutToReturn:through:"));
  setSpecial(Special.selectorRunWithIn, sym("run:with:in:"));
  setSpecial(Special.primErrTable, newArray(PRIM_ERROR_NAMES.map(sym)));
  setSpecial(Special.compactClasses, newArray([]));
  const sem = () => {
    const s = mem.allocate(classes.Semaphore, Format.fixed, 3);
    mem.storePointer(s, 2, smallIntOop(0));
    return s;
  };
  setSpecial(Special.lowSpaceSemaphore, sem());
  setSpecial(Special.finalizationSemaphore, sem());
  setSpecial(Special.timerSemaphore, nil);
  setSpecial(Special.failedProcesses, newArray([]));

  const lists: Oop[] = [];
  for (let i = 0; i < 80; i++) lists.push(mem.allocate(classes.LinkedList, Format.fixed, 2));
  const scheduler = mem.allocate(classes.ProcessorScheduler, Format.fixed, 2);
  mem.storePointer(scheduler, 0, newArray(lists));
  const mainProcess = mem.allocate(classes.Process, Format.fixed, 8);
  mem.storePointer(mainProcess, 2, smallIntOop(40));
  mem.storePointer(scheduler, 1, mainProcess);
  const assoc = mem.allocate(classes.Association, Format.fixed, 2);
  mem.storePointer(assoc, 0, sym("Processor"));
  mem.storePointer(assoc, 1, scheduler);
  setSpecial(Special.schedulerAssociation, assoc);
  mem.youngStart = mem.freeStart;

  // Nothing plays Smalltalk's role of holding every class, so collections would free the classes no
  // special object reaches (WeakArray, Fraction...) and slide the others down: the classes and metaclasses
  // are held in handles, and `classes` reads them, so that it stays right after any collection.
  for (const record of [classes, metas]) {
    for (const name of Object.keys(record)) {
      const handle = mem.newHandle(record[name]);
      Object.defineProperty(record, name, { get: () => handle.oop, enumerable: true, configurable: true });
    }
  }

  const host = memoryHost();
  const vm = new Interpreter(mem, host, options);
  const mainHandle = mem.newHandle(mainProcess);

  const bindingFor = (className: string) => {
    const a = mem.allocate(classes.Association, Format.fixed, 2);
    mem.storePointer(a, 0, sym(className));
    mem.storePointer(a, 1, classes[className.replace(/ class$/, "")] ?? nil);
    return a;
  };

  const makeMethod = (bytecodes: number[], literals: Oop[], opts: MicroMethodOptions = {}, selector = "DoIt", className = "Object"): Oop => {
    const lits = [...literals, sym(selector), bindingFor(className)];
    const header = encodeMethodHeader({
      primitive: opts.primitive ?? 0,
      numLiterals: lits.length,
      largeFrame: opts.largeFrame ?? false,
      numTemps: opts.numTemps ?? opts.numArgs ?? 0,
      numArgs: opts.numArgs ?? 0,
    });
    const total = (1 + lits.length) * 4 + bytecodes.length + 1;
    const slots = (total + 3) >> 2;
    const m = mem.allocate(classes.CompiledMethod, Format.compiledMethod + (slots * 4 - total), slots, 0);
    mem.storePointer(m, 0, smallIntOop(header));
    lits.forEach((l, i) => mem.storePointer(m, 1 + i, l));
    mem.bytes.set(bytecodes, m + HEADER_BYTES + (1 + lits.length) * 4);
    return m;
  };

  const defineMethod = (className: string, selector: string, bytecodes: number[], literals: Oop[] = [], opts: MicroMethodOptions = {}): Oop => {
    const classSide = className.endsWith(" class");
    const base = className.replace(/ class$/, "");
    const cls = classSide ? metas[base] : classes[base];
    if (cls === undefined) throw new Error(`no class ${className}`);
    const numArgs = opts.numArgs ?? (selector.endsWith(":") ? selector.split(":").length - 1 : /^[a-zA-Z]/.test(selector) ? 0 : 1);
    const method = makeMethod(bytecodes, literals, { ...opts, numArgs }, selector, className);
    const dict = mem.fetchPointer(cls, 1);
    const capacity = mem.slotCount(dict) - 2;
    const s = sym(selector);
    let i = mem.hashOf(s) % capacity;
    while (mem.fetchPointer(dict, 2 + i) !== nil && mem.fetchPointer(dict, 2 + i) !== s) i = (i + 1) % capacity;
    mem.storePointer(dict, 2 + i, s);
    mem.storePointer(mem.fetchPointer(dict, 1), i, method);
    mem.storePointer(dict, 0, smallIntOop((mem.fetchPointer(dict, 0) >> 1) + 1));
    vm.methodCache.flush();
    return method;
  };

  const newContext = (method: Oop, receiver: Oop, sender: Oop) => {
    const header = mem.fetchPointer(method, 0) >> 1;
    const numLits = (header >> 9) & 0xff;
    const numTemps = (header >> 18) & 0x3f;
    const large = (header & 0x20000) !== 0;
    const ctx = mem.allocate(classes.Context, Format.fixedIndexable, 6 + (large ? 56 : 16));
    if (ctx === 0) throw new Error("the micro image is out of memory (collect garbage first)");
    mem.storePointer(ctx, 0, sender);
    mem.storePointer(ctx, 1, smallIntOop(initialPC(numLits)));
    mem.storePointer(ctx, 2, smallIntOop(numTemps));
    mem.storePointer(ctx, 3, method);
    mem.storePointer(ctx, 5, receiver);
    return ctx;
  };

  const newProcess = (method: Oop, receiver: Oop, priority: number): Oop => {
    const proc = mem.allocate(classes.Process, Format.fixed, 8);
    mem.storePointer(proc, 1, newContext(method, receiver, nil));
    mem.storePointer(proc, 2, smallIntOop(priority));
    return proc;
  };

  const run: MicroImage["run"] = (bytecodes, literals = [], opts = {}) =>
    runMethod(makeMethod(bytecodes, literals, opts), opts.receiver ?? nil, opts.maxBytecodes);

  const runMethod: MicroImage["runMethod"] = (method, receiver = nil, maxBytecodes = 10_000_000) => {
    const ctx = newContext(method, receiver, nil);
    const sched = mem.fetchPointer(mem.specialObject(Special.schedulerAssociation), 1);
    const proc = mainHandle.oop;
    mem.storePointer(sched, 1, proc);
    mem.storePointer(proc, 1, ctx);
    vm.activeContext = 0;
    let result: Oop | undefined;
    const job = { process: mem.newHandle(proc), finish: (r: Oop) => { result = r; vm.stop("budget"); } };
    vm.hostJobs.add(job);
    try {
      vm.resumeActiveProcess();
      const slice = vm.run({ bytecodes: maxBytecodes });
      return { result, slice };
    } finally {
      vm.hostJobs.delete(job);
      mem.releaseHandle(job.process);
    }
  };

  return {
    mem, vm, output: host.output, classes, sym, makeMethod, defineMethod, run, runMethod, newProcess,
    string: (text) => mem.allocateString(classes.ByteString, text),
    array: newArray,
    int: (v) => integerObjectOf(mem, v),
    float: (v) => mem.allocateFloat(v),
    char: (c) => characterOop(c),
    newSemaphore: sem,
    association: (k, v) => {
      const a = mem.allocate(classes.Association, Format.fixed, 2);
      mem.storePointer(a, 0, k);
      mem.storePointer(a, 1, v);
      return a;
    },
  };
}
