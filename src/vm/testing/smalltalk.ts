/**
 * A micro image (microImage.ts) that speaks Smalltalk, for the VM's unit tests: methods are compiled
 * from source with the real compiler and installed with the image contract helpers, classes can be added,
 * globals are associations the tests can read, and a small kernel of primitive-backed methods (block
 * evaluation, perform, ensure:/ifCurtailed: with Squeak's unwinding protocol, arithmetic with
 * LargeInteger fallbacks, processes and semaphores) makes ordinary code run.
 *
 *   const st = createSmalltalkImage();
 *   st.compile("Object", "double: x ^x + x");
 *   st.doIt("3 double: 4").result  // SmallInteger 8
 *
 * Everything the helper keeps across runs (classes it defined, global associations) is held in handles,
 * so it stays valid when collections move objects; oops the tests hold themselves do not.
 */
import { createMicroImage, type MicroImage } from "./microImage.js";
import type { HeapOptions, Handle } from "../memory/heap.js";
import { classNameOf, type InterpreterOptions } from "../interpreter/interpreter.js";
import { Format, classFormat } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { smallIntOop, type Oop } from "../memory/oop.js";
import { internSymbol } from "../memory/symbols.js";
import { compileMethod, compileDoIt } from "../compiler/index.js";
import type { CompileContext } from "../compiler/context.js";
import { materializeMethod, type LiteralEnv } from "../method/materialize.js";
import type { MethodSpec } from "../method/spec.js";
import { addMethod, allInstVarNames, newMethodDictionary } from "../contract/guest.js";
import { decode, type Instruction } from "../bytecode/opcodes.js";
import type { SliceResult } from "../interpreter/slice.js";
import { HEADER_BYTES } from "../memory/heap.js";

export interface RunOptions {
  receiver?: Oop;
  maxBytecodes?: number;
  /** the class the doit is compiled in (its instance variables are visible); default UndefinedObject */
  className?: string;
}

export interface StartedJob {
  process: Handle;
  done: boolean;
  result: Oop | undefined;
}

export interface SmalltalkImage extends MicroImage {
  /** the class called `name`, or its metaclass for "Foo class"; valid until the next collection */
  cls(name: string): Oop;
  /** creates a class and its metaclass (a global of that name); `spec` is the instance format */
  defineClass(name: string, superclass: string, ivars?: readonly string[], spec?: number): Oop;
  /** compiles a method in `className` ("Foo class" for the class side) and installs it */
  compile(className: string, source: string): MethodSpec;
  /** compiles a doit and creates its method in the heap (not installed) */
  doItMethod(source: string, className?: string): { method: Oop; spec: MethodSpec };
  /** compiles a method without installing it: its CompiledMethod and spec */
  methodFor(className: string, source: string): { method: Oop; spec: MethodSpec };
  /** compiles and runs a doit as the host job of the main process */
  doIt(source: string, options?: RunOptions): { result: Oop | undefined; slice: SliceResult; spec: MethodSpec };
  /** the value of global `name` (nil when never assigned) */
  global(name: string): Oop;
  /** the association of global `name` (valid until the next collection) */
  binding(name: string): Oop;
  setGlobal(name: string, value: Oop): void;
  /** a new process running `source` (a doit) at `priority`, not yet runnable; held in a handle */
  process(source: string, priority: number, receiver?: Oop): Handle;
  /**
   * Starts `source` (a doit) as a host job in a new process at `priority` (default 40) that becomes the
   * active process, without running it: `vm.run()` runs it over as many slices as needed, and the job
   * records its result when its bottom context returns. Only when no process is running.
   */
  start(source: string, priority?: number): StartedJob;
  /** the text of a byte object */
  text(oop: Oop): string;
}

/** The instructions of a method spec, in order. */
export function instructionsOf(spec: MethodSpec): Instruction[] {
  const out: Instruction[] = [];
  for (let pc = 0; pc < spec.bytecodes.length; ) {
    const ins = decode(spec.bytecodes, pc);
    out.push(ins);
    pc += ins.length;
  }
  return out;
}

/** The opcodes (first bytes) a method spec contains. */
export function opcodesOf(spec: MethodSpec): number[] {
  return instructionsOf(spec).map((i) => i.opcode);
}

/** The bytecodes of a CompiledMethod in the heap (up to the end of its byte part, trailer included). */
export function methodBytecodes(img: MicroImage, method: Oop): Uint8Array {
  const mem = img.mem;
  const numLits = (mem.fetchPointer(method, 0) >> 10) & 0xff;
  const start = method + HEADER_BYTES + (1 + numLits) * 4;
  return mem.bytes.slice(start, method + HEADER_BYTES + mem.byteLength(method));
}

export const MINI_KERNEL: Record<string, string[]> = {
  Object: [
    "yourself ^self",
    "isNil ^false",
    "notNil ^true",
    "perform: aSymbol <primitive: 83> ^#performFailed",
    "perform: aSymbol with: a1 <primitive: 83> ^#performFailed",
    "perform: aSymbol with: a1 with: a2 <primitive: 83> ^#performFailed",
    "perform: aSymbol with: a1 with: a2 with: a3 <primitive: 83> ^#performFailed",
    "perform: aSymbol withArguments: anArray <primitive: 84> ^#performFailed",
    "at: index <primitive: 60> ^#atFailed",
    "at: index put: value <primitive: 61> ^#atPutFailed",
    "basicAt: index <primitive: 60> ^#atFailed",
    "basicAt: index put: value <primitive: 61> ^#atPutFailed",
    "size <primitive: 62> ^0",
    "basicSize <primitive: 62> ^0",
    "instVarAt: index <primitive: 73> ^#failed",
    "instVarAt: index put: value <primitive: 74> ^#failed",
    "identityHash <primitive: 75> ^#failed",
    "shallowCopy <primitive: 148> ^#failed",
    "show: aString <primitive: 'primitiveTranscriptShow' module: 'OzVM'> ^#failed",
    "quit <primitive: 113> ^#failed",
    "snapshotPrimitive <primitive: 97> ^nil",
    "fullGC <primitive: 130> ^#failed",
    "youngGC <primitive: 131> ^#failed",
    "msClock <primitive: 135> ^#failed",
    "signal: aSemaphore atMilliseconds: ms <primitive: 136> ^#failed",
  ],
  UndefinedObject: ["isNil ^true", "notNil ^false"],
  Behavior: [
    "new <primitive: 70> ^#failed",
    "basicNew <primitive: 70> ^#failed",
    "new: n <primitive: 71> ^#failed",
    "basicNew: n <primitive: 71> ^#failed",
  ],
  SmallInteger: [
    "+ n <primitive: 1> ^super + n",
    "- n <primitive: 2> ^super - n",
    "< n <primitive: 3> ^super < n",
    "> n <primitive: 4> ^super > n",
    "<= n <primitive: 5> ^super <= n",
    ">= n <primitive: 6> ^super >= n",
    "= n <primitive: 7> ^super = n",
    "~= n <primitive: 8> ^super ~= n",
    "* n <primitive: 9> ^super * n",
    "/ n <primitive: 10> ^super / n",
    "\\\\ n <primitive: 11> ^super \\\\ n",
    "// n <primitive: 12> ^super // n",
    "bitAnd: n <primitive: 14> ^super bitAnd: n",
    "bitOr: n <primitive: 15> ^super bitOr: n",
    "bitShift: n <primitive: 17> ^super bitShift: n",
  ],
  Integer: [
    "+ n <primitive: 21> ^#failed",
    "- n <primitive: 22> ^#failed",
    "< n <primitive: 23> ^#failed",
    "> n <primitive: 24> ^#failed",
    "<= n <primitive: 25> ^#failed",
    ">= n <primitive: 26> ^#failed",
    "= n <primitive: 27> ^#failed",
    "~= n <primitive: 28> ^#failed",
    "* n <primitive: 29> ^#failed",
    "/ n <primitive: 30> ^n = 0 ifTrue: [#zeroDivide] ifFalse: [#inexact]",
    "\\\\ n <primitive: 31> ^n = 0 ifTrue: [#zeroDivide] ifFalse: [#failed]",
    "// n <primitive: 32> ^n = 0 ifTrue: [#zeroDivide] ifFalse: [#failed]",
    "bitAnd: n <primitive: 34> ^#failed",
    "bitOr: n <primitive: 35> ^#failed",
    "bitShift: n <primitive: 37> ^#failed",
  ],
  BlockClosure: [
    "numArgs ^numArgs",
    "outerContext ^outerContext",
    "value <primitive: 201> ^#wrongNumArgs",
    "value: a <primitive: 202> ^#wrongNumArgs",
    "value: a value: b <primitive: 203> ^#wrongNumArgs",
    "value: a value: b value: c <primitive: 204> ^#wrongNumArgs",
    "value: a value: b value: c value: d <primitive: 205> ^#wrongNumArgs",
    "valueWithArguments: anArray <primitive: 206> ^#wrongNumArgs",
    "valueNoContextSwitch <primitive: 221> ^#wrongNumArgs",
    `ensure: aBlock
	| complete returnValue |
	<primitive: 198>
	returnValue := self valueNoContextSwitch.
	complete ifNil: [complete := true. aBlock value].
	^returnValue`,
    `ifCurtailed: aBlock
	| complete result |
	<primitive: 198>
	result := self valueNoContextSwitch.
	complete := true.
	^result`,
  ],
  Context: [
    "sender ^sender",
    "pc ^pc",
    "stackp ^stackp",
    "method ^method",
    "closureOrNil ^closureOrNil",
    "receiver ^receiver",
    "isDead ^pc == nil",
    "tempAt: index <primitive: 210> ^#failed",
    "tempAt: index put: value <primitive: 211> ^#failed",
    "terminateTo: aContext <primitive: 196> ^#failed",
    "findNextUnwindContextUpTo: aContext <primitive: 195> ^#failed",
    "home | c | c := self. [c closureOrNil == nil] whileFalse: [c := c closureOrNil outerContext]. ^c",
    // Squeak's unwinding protocol (Context>>aboutToReturn:through:, return:through:, resume:through:)
    `resume: value through: firstUnwindCtxt
	| ctxt unwindBlock |
	ctxt := firstUnwindCtxt.
	[ctxt == nil] whileFalse: [
		(ctxt tempAt: 2) == nil ifTrue: [
			ctxt tempAt: 2 put: true.
			unwindBlock := ctxt tempAt: 1.
			thisContext terminateTo: ctxt.
			unwindBlock value].
		ctxt := ctxt findNextUnwindContextUpTo: self].
	thisContext terminateTo: self.
	^value`,
    "return: value through: firstUnwindContext ^sender resume: value through: firstUnwindContext",
    "aboutToReturn: result through: firstUnwindContext ^self home return: result through: firstUnwindContext",
  ],
  Process: [
    "resume <primitive: 87> ^#failed",
    "suspend <primitive: 88> ^#failed",
    "priority ^priority",
    "suspendedContext ^suspendedContext",
    "myList ^myList",
  ],
  Semaphore: [
    "signal <primitive: 85> ^#failed",
    "wait <primitive: 86> ^#failed",
    "excessSignals ^excessSignals",
  ],
  ProcessorScheduler: [
    "activeProcess ^activeProcess",
    "yield <primitive: 167> ^#failed",
    "relinquishProcessorForMicroseconds: n <primitive: 230> ^#failed",
  ],
  Message: ["selector ^selector", "arguments ^args", "lookupClass ^lookupClass"],
  Association: ["key ^key", "value ^value", "value: v value := v"],
};

export function createSmalltalkImage(options: HeapOptions & InterpreterOptions & { kernel?: boolean } = {}): SmalltalkImage {
  const img = createMicroImage(options);
  const { mem, vm, classes, sym } = img;
  const nil = mem.nilOop;
  const ownClasses = new Map<string, Handle>();
  const globals = new Map<string, Handle>();

  // classes defined here follow their objects: img.classes[name] reads the handle
  const classOop = (name: string): Oop => {
    const base = name.replace(/ class$/, "");
    const cls = ownClasses.get(base)?.oop ?? classes[base];
    if (cls === undefined) throw new Error(`no class ${base}`);
    return name.endsWith(" class") ? mem.classOfPointer(cls) : cls;
  };

  const defineClass = (name: string, superclass: string, ivars: readonly string[] = [], spec?: number): Oop => {
    const superOop = classOop(superclass);
    const superFormat = mem.classFormatOf(superOop);
    const inherited = superFormat & 0xffff;
    const superSpec = (superFormat >> 16) & 0x1f;
    const instSize = inherited + ivars.length;
    const instSpec = spec ?? (superSpec >= Format.indexable ? superSpec : instSize > 0 ? Format.fixed : Format.empty);
    const superMeta = mem.classOfPointer(superOop);
    const meta = mem.allocate(classes.Metaclass, Format.fixed, 6, nil);
    const cls = mem.allocate(meta, Format.fixed, 11, nil);
    mem.storePointer(meta, 0, superMeta);
    mem.storePointer(meta, 1, newMethodDictionary(mem, 32));
    mem.storePointer(meta, 2, smallIntOop(classFormat(Format.fixed, 11)));
    mem.storePointer(meta, 5, cls);
    mem.storePointer(cls, 0, superOop);
    mem.storePointer(cls, 1, newMethodDictionary(mem, 32));
    mem.storePointer(cls, 2, smallIntOop(classFormat(instSpec, instSize)));
    const names = mem.allocate(classes.Array, Format.indexable, ivars.length);
    ivars.forEach((v, i) => mem.storePointer(names, i, sym(v)));
    mem.storePointer(cls, 3, names);
    mem.storePointer(cls, 6, sym(name));
    const handle = mem.newHandle(cls);
    ownClasses.set(name, handle);
    Object.defineProperty(classes, name, { get: () => handle.oop, enumerable: true, configurable: true });
    setGlobal(name, cls);
    return cls;
  };

  const globalAssociation = (name: string): Oop => {
    if (name === "Processor") return mem.specialObject(Special.schedulerAssociation);
    let h = globals.get(name);
    if (h === undefined) {
      const value = ownClasses.get(name)?.oop ?? classes[name] ?? nil;
      h = mem.newHandle(img.association(sym(name), value));
      globals.set(name, h);
    }
    return h.oop;
  };

  function setGlobal(name: string, value: Oop): void {
    mem.storePointer(globalAssociation(name), 1, value);
  }

  const compileContext = (className: string): CompileContext => ({
    className,
    instanceVariableNames: allInstVarNames(mem, classOop(className)),
    resolveBinding: () => ({ kind: "global" }),
  });

  const literalEnv = (className: string): LiteralEnv => ({
    binding: (name) => globalAssociation(name),
    methodClassBinding: () => {
      const cls = classOop(className);
      return className.endsWith(" class") ? img.association(nil, cls) : img.association(sym(className), cls);
    },
  });

  const methodFor = (className: string, source: string) => {
    const spec = compileMethod(source, compileContext(className)).method;
    const method = materializeMethod(mem, spec, literalEnv(className), { kind: "none" });
    return { method, spec };
  };

  const compile = (className: string, source: string): MethodSpec => {
    const { method, spec } = methodFor(className, source);
    addMethod(mem, classOop(className), internSymbol(mem, spec.selector), method);
    vm.methodCache.flush();
    return spec;
  };

  const doItMethod = (source: string, className = "UndefinedObject") => {
    const spec = compileDoIt(source, compileContext(className)).method;
    const method = materializeMethod(mem, spec, literalEnv(className), { kind: "none" });
    return { method, spec };
  };

  const doIt = (source: string, opts: RunOptions = {}) => {
    const receiver = opts.receiver ?? nil;
    const { method, spec } = doItMethod(source, opts.className ?? classNameOf(mem, mem.fetchClassOf(receiver)));
    return { ...img.runMethod(method, receiver, opts.maxBytecodes), spec };
  };

  const process = (source: string, priority: number, receiver: Oop = nil): Handle => {
    const { method } = doItMethod(source);
    return mem.newHandle(img.newProcess(method, receiver, priority));
  };

  const start = (source: string, priority = 40): StartedJob => {
    const scheduler = mem.fetchPointer(mem.specialObject(Special.schedulerAssociation), 1);
    if (vm.activeContext !== 0) throw new Error("start: a process is running");
    const handle = process(source, priority);
    mem.storePointer(scheduler, 1, handle.oop);
    const job: StartedJob & { finish(r: Oop): void } = {
      process: handle,
      done: false,
      result: undefined,
      finish(r: Oop) {
        job.done = true;
        job.result = r;
        vm.hostJobs.delete(job);
      },
    };
    vm.hostJobs.add(job);
    return job;
  };

  const st: SmalltalkImage = {
    ...img,
    cls: classOop,
    defineClass,
    compile,
    doItMethod,
    methodFor,
    doIt,
    global: (name) => mem.fetchPointer(globalAssociation(name), 1),
    binding: globalAssociation,
    setGlobal,
    process,
    start,
    text: (oop) => mem.stringOf(oop),
  };
  if (options.kernel !== false) {
    for (const [className, sources] of Object.entries(MINI_KERNEL)) for (const source of sources) compile(className, source);
  }
  return st;
}
