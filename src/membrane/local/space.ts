/**
 * The local object space: the paper's ObjectSpace facade over a guest image held in this process (its own
 * heap and interpreter). Every tool talks to it through the ObjectSpace interface only, exactly as it
 * talks to a remote space.
 *
 * Worked example:
 *
 *   const space = LocalObjectSpace.fromImage(bytes, host);
 *   const result = await space.evaluate("3 + 4");          // compiled here, run in the guest
 *   result.ok && (await result.value.toLocal());            // 7
 *   const point = await space.classNamed("Point");
 *   await point!.compile("double ^ x * 2 @ (y * 2)");        // logged to the changes file first
 */
import { HEADER_WORDS, ObjectMemory, type Handle, type HeapOptions } from "../../vm/memory/heap.js";
import { Interpreter, type InterpreterOptions } from "../../vm/interpreter/interpreter.js";
import type { VMHost, ChangeRecord } from "../../vm/host.js";
import { Format, classFormat, instSizeOf, instSpecOf, isBytesFormat } from "../../vm/memory/format.js";
import { Special } from "../../vm/memory/special.js";
import { ContextLayout, ProcessLayout } from "../../vm/memory/layout.js";
import { characterOop, characterValue, isCharacter, isSmallInt, smallIntOop, smallIntValue, MAX_CHARACTER, type Oop } from "../../vm/memory/oop.js";
import { bigIntValueOf, integerObjectOf, isLargeInteger } from "../../vm/memory/integers.js";
import { internSymbol } from "../../vm/memory/symbols.js";
import { HEADER_BYTES } from "../../vm/memory/heap.js";
import { readImage } from "../../vm/image/imageFile.js";
import { snapshotImage } from "../../vm/image/snapshot.js";
import { activeProcess, schedulerOf } from "../../vm/interpreter/scheduler.js";
import { describeMethodName } from "../../vm/interpreter/interpreter.js";
import { compileDoIt, compileMethod, CompileError, formatWarning, type CompileResult, type CompileOptions as CompilerOptions } from "../../vm/compiler/index.js";
import { materializeMethod, MaterializeError } from "../../vm/method/materialize.js";
import { decodeTrailer, type SourceRef, CHANGES_FILE_INDEX } from "../../vm/method/trailer.js";
import { decodeMethodHeader, initialPC } from "../../vm/method/header.js";
import type {
  ByteObjectMirror, ClassMirror, CompileOptions, EvaluateOptions, EvaluationResult, MirrorKind, ObjectFormat, ObjectMirror,
  ObjectSpace, ProcessMirror, ProcessSchedulerMirror, ProcessState, RunBudget, RunOutcome, SliceReport, SpaceStats,
  SubclassDefinition,
} from "../objectSpace.js";
import { MembraneError } from "../objectSpace.js";
import { Char, FloatValue, Sym, type LocalValue } from "../values.js";
import {
  addMethod, bytesText, className, dictionaryAssociations, dictionaryAtPut, globalAssociation, isBehavior, isMetaclass, isNil,
  removeMethod, smalltalkDictionary, thisClassOf,
} from "../../vm/contract/guest.js";
import { FORMAT_NUMBERS, inheritsFromSpecial, mirrorKindOf } from "./classify.js";
import { compileContextFor, literalEnvFor } from "../../vm/contract/compiling.js";
import { shortDescription } from "./describe.js";
import { Job, runJob, type JobBudget, type JobOutcome } from "./jobs.js";
import {
  LocalByteObjectMirror, LocalClassMirror, LocalClassPoolMirror, LocalContextMirror, LocalMetaclassMirror,
  LocalMethodDictionaryMirror, LocalMethodMirror, LocalObjectMirror, LocalProcessMirror, LocalProcessSchedulerMirror,
  LocalWordObjectMirror,
} from "./mirrors.js";
import {
  installAsActive, isFailed, ownerProcess, processState, restartContext, resumeProcess, returnFromContext, setPriority,
  suspendProcess, terminateAtVMLevel, topContextOf,
} from "./processes.js";
import { failureStackFrames, processStackFrames } from "./stack.js";

export interface LocalSpaceOptions extends HeapOptions, InterpreterOptions {
  /** called with every compiler warning (undeclared variables...) */
  onCompileWarning?: (text: string) => void;
}

const USER_PRIORITY = 40;

const SUBCLASS_KEYWORDS: Record<NonNullable<SubclassDefinition["kind"]>, string> = {
  normal: "subclass:",
  variable: "variableSubclass:",
  variableByte: "variableByteSubclass:",
  variableWord: "variableWordSubclass:",
  weak: "weakSubclass:",
  immediate: "immediateSubclass:",
};

/**
 * Runs a host job (a process the host started) to completion. By default the space runs slices itself;
 * a hypervisor replaces it so that a running guest's jobs go through its scheduler and are charged to it.
 */
export type JobExecutor = (job: Job, budget: JobBudget) => Promise<JobOutcome>;

export class LocalObjectSpace implements ObjectSpace {
  readonly mirrors = new Set<LocalObjectMirror>();
  /** how host jobs run (see JobExecutor) */
  executor: JobExecutor = (job, budget) => runJob(this.vm, job, budget);
  private readonly compileCache = new Map<string, CompileResult>();
  onCompileWarning: ((text: string) => void) | undefined;

  constructor(
    readonly vm: Interpreter,
    readonly host: VMHost,
    options: LocalSpaceOptions = {},
  ) {
    this.onCompileWarning = options.onCompileWarning;
  }

  get mem(): ObjectMemory {
    return this.vm.mem;
  }

  /** Opens an image file as an object space, without running it. */
  static fromImage(bytes: Uint8Array, host: VMHost, options: LocalSpaceOptions = {}): LocalObjectSpace {
    const mem = readImage(bytes, options);
    return new LocalObjectSpace(new Interpreter(mem, host, options), host, options);
  }

  /** An empty space, for bootstrapping an image from nothing. */
  static createEmpty(host: VMHost, options: LocalSpaceOptions = {}): LocalObjectSpace {
    const mem = new ObjectMemory(options);
    return new LocalObjectSpace(new Interpreter(mem, host, options), host, options);
  }

  // ------------------------------------------------------------------ mirrors

  kindOf(oop: Oop): MirrorKind {
    return mirrorKindOf(this.mem, oop);
  }

  /** A new mirror on `oop`, of the kind the object is. */
  async mirrorOn(oop: Oop): Promise<LocalObjectMirror> {
    return this.mirrorOfKind(oop, this.kindOf(oop));
  }

  mirrorOfKind(oop: Oop, kind: MirrorKind): LocalObjectMirror {
    const handle = this.mem.newHandle(oop);
    let m: LocalObjectMirror;
    switch (kind) {
      case "bytes": m = new LocalByteObjectMirror(this, handle, kind); break;
      case "words": m = new LocalWordObjectMirror(this, handle, kind); break;
      case "class": m = new LocalClassMirror(this, handle, kind); break;
      case "metaclass": m = new LocalMetaclassMirror(this, handle, kind); break;
      case "classPool": m = new LocalClassPoolMirror(this, handle, kind); break;
      case "methodDictionary": m = new LocalMethodDictionaryMirror(this, handle, kind); break;
      case "method": m = new LocalMethodMirror(this, handle, kind); break;
      case "context": m = new LocalContextMirror(this, handle, kind); break;
      case "process": m = new LocalProcessMirror(this, handle, kind); break;
      case "scheduler": m = new LocalProcessSchedulerMirror(this, handle, kind); break;
      default: m = new LocalObjectMirror(this, handle, kind);
    }
    this.mirrors.add(m);
    return m;
  }

  forget(m: LocalObjectMirror): void {
    if (!m.handle.released) this.mem.releaseHandle(m.handle);
    this.mirrors.delete(m);
  }

  releaseAll(): void {
    for (const m of this.mirrors) this.mem.releaseHandle(m.handle);
    this.mirrors.clear();
  }

  /** The oop of a mirror of this space; refuses mirrors of other spaces. */
  ownOop(m: ObjectMirror): Oop {
    if (!(m instanceof LocalObjectMirror) || m.space !== this) {
      throw new MembraneError("wrongSpace", "this mirror belongs to another object space");
    }
    return m.oop;
  }

  /** A guest oop for a mirror of this space or a host literal (created inside the guest). */
  toOop(value: ObjectMirror | LocalValue): Oop {
    if (value instanceof LocalObjectMirror || (typeof value === "object" && value !== null && "space" in value && "kind" in value)) {
      return this.ownOop(value as ObjectMirror);
    }
    return this.fromLocalOop(value as LocalValue, 0);
  }

  newOop(oop: Oop, what: string): Oop {
    if (oop === 0) throw new MembraneError("resourceExhausted", `the guest is out of memory (creating ${what})`);
    return oop;
  }

  private requireClass(special: number, what: string): Oop {
    const cls = this.mem.specialObjectsOop === 0 ? 0 : this.mem.specialObject(special);
    if (cls === 0 || isNil(this.mem, cls)) throw new MembraneError("failedPrecondition", `this image has no ${what} class yet`);
    return cls;
  }

  // ------------------------------------------------------------------ literal conversions

  private fromLocalOop(value: LocalValue, depth: number): Oop {
    const mem = this.mem;
    if (depth > 1000) throw new MembraneError("invalidArgument", "the value is nested too deeply");
    if (value === null || value === undefined) return mem.nilOop;
    if (value === true) return mem.trueOop;
    if (value === false) return mem.falseOop;
    if (typeof value === "number") {
      if (Number.isInteger(value)) return this.newOop(integerObjectOf(mem, value), "an integer");
      this.requireClass(Special.classFloat, "Float");
      return this.newOop(mem.allocateFloat(value), "a float");
    }
    if (typeof value === "bigint") {
      this.requireClass(Special.classLargePositiveInteger, "LargePositiveInteger");
      return this.newOop(integerObjectOf(mem, value), "an integer");
    }
    if (typeof value === "string") {
      const cls = this.requireClass(Special.classByteString, "ByteString");
      for (let i = 0; i < value.length; i++) {
        if (value.charCodeAt(i) > 255) throw new MembraneError("invalidArgument", `the string has a character (U+${value.charCodeAt(i).toString(16).toUpperCase()}) that does not fit a byte string`);
      }
      return this.newOop(mem.allocateString(cls, value), "a string");
    }
    if (value instanceof Sym) {
      this.requireClass(Special.classByteSymbol, "ByteSymbol");
      return this.newOop(internSymbol(mem, value.name), "a symbol");
    }
    if (value instanceof Char) {
      if (!Number.isInteger(value.code) || value.code < 0 || value.code > MAX_CHARACTER) throw new MembraneError("invalidArgument", `no character has code ${value.code}`);
      return characterOop(value.code);
    }
    if (value instanceof FloatValue) {
      this.requireClass(Special.classFloat, "Float");
      return this.newOop(mem.allocateFloat(value.value), "a float");
    }
    if (value instanceof Uint8Array) {
      const cls = this.requireClass(Special.classByteArray, "ByteArray");
      const oop = this.newOop(mem.allocateBytes(cls, value.length), "a byte array");
      mem.bytes.set(value, oop + HEADER_BYTES);
      return oop;
    }
    if (Array.isArray(value)) {
      const elements = value.map((v) => this.fromLocalOop(v, depth + 1));
      const cls = this.requireClass(Special.classArray, "Array");
      const oop = this.newOop(mem.allocate(cls, Format.indexable, elements.length), "an array");
      elements.forEach((e, i) => mem.storePointer(oop, i, e));
      return oop;
    }
    throw new MembraneError("invalidArgument", `cannot translate this host value into the guest: ${String(value)}`);
  }

  toLocalOop(oop: Oop, depth = 0): LocalValue {
    const mem = this.mem;
    if (depth > 1000) throw new MembraneError("invalidArgument", "the array is nested too deeply (or refers to itself)");
    if (isSmallInt(oop)) return smallIntValue(oop);
    if (isCharacter(oop)) return new Char(characterValue(oop));
    if (oop === mem.nilOop) return null;
    if (oop === mem.trueOop) return true;
    if (oop === mem.falseOop) return false;
    const cls = mem.classOfPointer(oop);
    if (isLargeInteger(mem, oop)) return bigIntValueOf(mem, oop)!;
    if (cls === mem.specialObject(Special.classFloat)) return mem.floatValueOf(oop);
    if (isBytesFormat(mem.formatOf(oop))) {
      if (inheritsFromSpecial(mem, cls, Special.classSymbol) || cls === mem.specialObject(Special.classByteSymbol)) return new Sym(mem.stringOf(oop));
      if (inheritsFromSpecial(mem, cls, Special.classString) || cls === mem.specialObject(Special.classByteString)) return mem.stringOf(oop);
      if (cls === mem.specialObject(Special.classByteArray)) return mem.bytesView(oop).slice();
    }
    if (cls === mem.specialObject(Special.classArray)) {
      const out: LocalValue[] = [];
      for (let i = 0; i < mem.slotCount(oop); i++) out.push(this.toLocalOop(mem.fetchPointer(oop, i), depth + 1));
      return out;
    }
    throw new MembraneError("invalidArgument", `${shortDescription(mem, oop)} is not a literal and has no host equivalent`);
  }

  async fromLocal(value: LocalValue): Promise<ObjectMirror> {
    return this.mirrorOn(this.fromLocalOop(value, 0));
  }
  async fromLocalString(text: string): Promise<ByteObjectMirror> {
    return (await this.fromLocal(text)) as LocalByteObjectMirror;
  }
  async fromLocalSymbol(name: string): Promise<ByteObjectMirror> {
    return (await this.fromLocal(new Sym(name))) as LocalByteObjectMirror;
  }
  async fromLocalCharacter(c: string | number): Promise<ObjectMirror> {
    return this.fromLocal(new Char(typeof c === "number" ? c : c.codePointAt(0) ?? 0));
  }
  async fromLocalInteger(n: number | bigint): Promise<ObjectMirror> {
    if (typeof n === "number" && !Number.isInteger(n)) throw new MembraneError("invalidArgument", `${n} is not an integer`);
    return this.fromLocal(typeof n === "number" && !Number.isSafeInteger(n) ? BigInt(n) : n);
  }
  async fromLocalFloat(x: number): Promise<ObjectMirror> {
    return this.fromLocal(new FloatValue(x));
  }
  async fromLocalBoolean(b: boolean): Promise<ObjectMirror> {
    return this.fromLocal(b);
  }
  async fromLocalArray(values: LocalValue[]): Promise<ObjectMirror> {
    return this.fromLocal(values);
  }
  async fromLocalByteArray(bytes: Uint8Array): Promise<ByteObjectMirror> {
    return (await this.fromLocal(bytes)) as LocalByteObjectMirror;
  }

  async toLocal(mirror: ObjectMirror): Promise<LocalValue> {
    return this.toLocalOop(this.ownOop(mirror));
  }
  private async toLocalAs<T>(mirror: ObjectMirror, test: (v: LocalValue) => boolean, what: string, convert: (v: LocalValue) => T): Promise<T> {
    const v = await this.toLocal(mirror);
    if (!test(v)) throw new MembraneError("invalidArgument", `${shortDescription(this.mem, this.ownOop(mirror))} is not ${what}`);
    return convert(v);
  }
  async toLocalString(mirror: ObjectMirror): Promise<string> {
    return this.toLocalAs(mirror, (v) => typeof v === "string" || v instanceof Sym, "a string", (v) => (v instanceof Sym ? v.name : (v as string)));
  }
  async toLocalSymbol(mirror: ObjectMirror): Promise<string> {
    return this.toLocalAs(mirror, (v) => v instanceof Sym, "a symbol", (v) => (v as Sym).name);
  }
  async toLocalInteger(mirror: ObjectMirror): Promise<bigint> {
    return this.toLocalAs(mirror, (v) => (typeof v === "number" && Number.isInteger(v) && isSmallInt(this.ownOop(mirror))) || typeof v === "bigint", "an integer", (v) => BigInt(v as number | bigint));
  }
  async toLocalFloat(mirror: ObjectMirror): Promise<number> {
    return this.toLocalAs(mirror, (v) => typeof v === "number" && !isSmallInt(this.ownOop(mirror)), "a float", (v) => v as number);
  }
  async toLocalCharacter(mirror: ObjectMirror): Promise<string> {
    return this.toLocalAs(mirror, (v) => v instanceof Char, "a character", (v) => String.fromCodePoint((v as Char).code));
  }
  async toLocalBoolean(mirror: ObjectMirror): Promise<boolean> {
    return this.toLocalAs(mirror, (v) => typeof v === "boolean", "a boolean", (v) => v as boolean);
  }
  async toLocalArray(mirror: ObjectMirror): Promise<LocalValue[]> {
    return this.toLocalAs(mirror, (v) => Array.isArray(v), "an array", (v) => v as LocalValue[]);
  }
  async toLocalByteArray(mirror: ObjectMirror): Promise<Uint8Array> {
    return this.toLocalAs(mirror, (v) => v instanceof Uint8Array, "a byte array", (v) => v as Uint8Array);
  }

  // ------------------------------------------------------------------ accessing

  private special(index: number): Oop {
    if (this.mem.specialObjectsOop === 0) throw new MembraneError("failedPrecondition", "this space has no special objects array yet");
    return this.mem.specialObject(index);
  }

  async nilObject(): Promise<ObjectMirror> {
    return this.mirrorOn(this.mem.nilOop || this.special(Special.nil));
  }
  async trueObject(): Promise<ObjectMirror> {
    return this.mirrorOn(this.special(Special.true));
  }
  async falseObject(): Promise<ObjectMirror> {
    return this.mirrorOn(this.special(Special.false));
  }
  async specialObjectsArray(): Promise<ObjectMirror> {
    return this.mirrorOn(this.special(Special.nil) === undefined ? 0 : this.mem.specialObjectsOop);
  }

  /** Every class known to the image (the values of Smalltalk that are classes), and their metaclasses' classes. */
  classOops(): Oop[] {
    const mem = this.mem;
    const out: Oop[] = [];
    for (const assoc of dictionaryAssociations(mem, smalltalkDictionary(mem))) {
      const v = mem.fetchPointer(assoc, 1);
      if (isBehavior(mem, v) && !isMetaclass(mem, v) && bytesText(mem, mem.fetchPointer(assoc, 0)) === className(mem, v)) out.push(v);
    }
    return out;
  }

  async classNamed(name: string): Promise<ClassMirror | undefined> {
    const isMeta = name.endsWith(" class");
    const assoc = globalAssociation(this.mem, isMeta ? name.slice(0, -6) : name);
    if (assoc === 0) return undefined;
    let cls = this.mem.fetchPointer(assoc, 1);
    if (!isBehavior(this.mem, cls)) return undefined;
    if (isMeta) cls = this.mem.fetchClassOf(cls);
    return (await this.mirrorOn(cls)).asClass();
  }

  async classes(): Promise<ClassMirror[]> {
    const out: ClassMirror[] = [];
    for (const c of this.classOops()) out.push(await (await this.mirrorOn(c)).asClass());
    return out;
  }

  async globalNamed(name: string): Promise<ObjectMirror | undefined> {
    const assoc = globalAssociation(this.mem, name);
    return assoc === 0 ? undefined : this.mirrorOn(this.mem.fetchPointer(assoc, 1));
  }

  async setGlobal(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    const dict = smalltalkDictionary(this.mem);
    if (isNil(this.mem, dict)) throw new MembraneError("failedPrecondition", "this image has no Smalltalk dictionary");
    dictionaryAtPut(this.mem, dict, name, this.toOop(value));
  }

  // ------------------------------------------------------------------ creation (bootstrap)

  async createObjectWithFormat(format: ObjectFormat, indexableSize = 0): Promise<ObjectMirror> {
    const fmt = FORMAT_NUMBERS[format];
    if (fmt === undefined) throw new MembraneError("invalidArgument", `unknown format ${format}`);
    if (!Number.isInteger(indexableSize) || indexableSize < 0) throw new MembraneError("invalidArgument", `bad size ${indexableSize}`);
    const mem = this.mem;
    const nil = mem.nilOop;
    let oop: Oop;
    if (format === "bytes") oop = mem.allocateBytes(0, indexableSize);
    else oop = mem.allocate(0, fmt, format === "words" ? indexableSize : indexableSize, format === "words" ? 0 : nil);
    return this.mirrorOn(this.newOop(oop, "an object"));
  }

  async createClassWithFormat(
    classFormatSpec: { format: ObjectFormat; instanceSize: number },
    instancesFormat: { format: ObjectFormat; instanceSize: number },
  ): Promise<ClassMirror> {
    const mem = this.mem;
    const size = classFormatSpec.instanceSize;
    if (!Number.isInteger(size) || size < 3) throw new MembraneError("invalidArgument", "a class needs at least superclass, methodDict and format");
    const cls = this.newOop(mem.allocate(0, Format.fixed, size, mem.nilOop), "a class");
    mem.storePointer(cls, 2, smallIntOop(classFormat(FORMAT_NUMBERS[instancesFormat.format], instancesFormat.instanceSize)));
    return this.mirrorOfKind(cls, "class") as LocalClassMirror;
  }

  /** Bootstrap: installs the special objects array (and with it nil, true and false). */
  async setSpecialObjectsArray(array: ObjectMirror): Promise<void> {
    const oop = this.ownOop(array);
    if (this.mem.slotCount(oop) < Special.true + 1) throw new MembraneError("invalidArgument", "too small for a special objects array");
    this.mem.setSpecialObjects(oop);
  }

  /** Bootstrap: the paper's `objectSpace nilObject: theNil` (before the special objects array exists). */
  async setNilObject(nil: ObjectMirror): Promise<void> {
    this.mem.nilOop = this.ownOop(nil);
  }

  // ------------------------------------------------------------------ compiling

  private compileFor(cls: Oop, source: string, doit: boolean, where?: CompilerOptions): CompileResult {
    try {
      const ctx = compileContextFor(this.mem, cls);
      return doit ? compileDoIt(source, ctx, where) : compileMethod(source, ctx, where);
    } catch (e) {
      if (e instanceof CompileError) throw new MembraneError("compileError", e.format());
      throw e;
    }
  }

  private reportWarnings(result: CompileResult, where: string): void {
    if (!this.onCompileWarning) return;
    for (const w of result.warnings) this.onCompileWarning(`${where}: ${formatWarning(w)}`);
  }

  logChange(record: ChangeRecord): SourceRef {
    const stored = this.host.sources?.appendChange(record);
    if (stored) return { kind: "file", file: stored.file, position: stored.position };
    return record.kind === "method" ? { kind: "embedded", source: record.source } : { kind: "none" };
  }

  /** Compiles and installs a method in `cls`; its source is logged to the changes file before it takes effect. */
  async compileMethodIn(cls: Oop, source: string, options: CompileOptions & { sourceRef?: SourceRef; where?: CompilerOptions } = {}): Promise<LocalMethodMirror> {
    const mem = this.mem;
    const result = this.compileFor(cls, source, false, options.where ?? options.origin);
    const name = className(mem, cls);
    this.reportWarnings(result, `${name}>>${result.method.selector}`);
    const ref = options.sourceRef ?? (options.logChange === false
      ? { kind: "embedded" as const, source }
      : this.logChange({ kind: "method", className: className(mem, thisClassOf(mem, cls)), classSide: isMetaclass(mem, cls), category: options.category ?? "as yet unclassified", source }));
    let method: Oop;
    try {
      method = materializeMethod(mem, result.method, literalEnvFor(mem, cls), ref);
    } catch (e) {
      if (e instanceof MaterializeError) throw new MembraneError("resourceExhausted", e.message);
      throw e;
    }
    addMethod(mem, cls, this.newOop(internSymbol(mem, result.method.selector), "a selector"), method);
    if (options.category !== undefined) this.recordCategory(cls, result.method.selector, options.category);
    this.vm.methodCache.flush();
    this.compileCache.set(`${name}\0${source}`, result);
    return this.mirrorOfKind(method, "method") as LocalMethodMirror;
  }

  private recordCategory(cls: Oop, selector: string, category: string): void {
    const mem = this.mem;
    const organization = mem.fetchPointer(cls, 4);
    const dictionaryClass = globalAssociation(mem, "Dictionary");
    if (isNil(mem, organization) || (organization & 3) !== 0) {
      if (dictionaryClass === 0) return;
      const dict = mem.instantiate(mem.fetchPointer(dictionaryClass, 1), 0);
      if (dict === 0 || mem.slotCount(dict) < 2) return;
      mem.storePointer(dict, 0, smallIntOop(0));
      mem.storePointer(dict, 1, this.newOop(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, 32), "a dictionary"));
      mem.storePointer(cls, 4, dict);
    }
    const org = mem.fetchPointer(cls, 4);
    if (mem.slotCount(org) >= 2) dictionaryAtPut(mem, org, selector, this.newOop(mem.allocateString(mem.specialObject(Special.classByteString), category), "a category"));
  }

  async removeMethodFrom(cls: Oop, selector: string): Promise<void> {
    const mem = this.mem;
    const sym = internSymbol(mem, selector);
    this.logChange({ kind: "removeMethod", className: className(mem, thisClassOf(mem, cls)), classSide: isMetaclass(mem, cls), selector });
    if (!removeMethod(mem, cls, sym)) throw new MembraneError("notFound", `${className(mem, cls)} has no method #${selector}`);
    this.vm.methodCache.flush();
  }

  /**
   * Defines (or redefines) a subclass by sending the class-definition message in the guest, so that the
   * image's own class builder does the work (and logs it) exactly as when the image defines a class.
   */
  async defineClass(superclass: Oop, def: SubclassDefinition): Promise<ClassMirror> {
    const keyword = SUBCLASS_KEYWORDS[def.kind ?? "normal"];
    if (!/^[A-Z][A-Za-z0-9_]*$/.test(def.name)) throw new MembraneError("invalidArgument", `${JSON.stringify(def.name)} is not a class name`);
    const names = (list: string[] | undefined, what: string) => {
      for (const n of list ?? []) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new MembraneError("invalidArgument", `${JSON.stringify(n)} is not a valid ${what} name`);
      return (list ?? []).join(" ");
    };
    const quote = (t: string) => t.replace(/'/g, "''");
    const source = `self ${keyword} #${def.name} instanceVariableNames: '${names(def.instanceVariableNames, "instance variable")}' classVariableNames: '${names(def.classVariableNames, "class variable")}' category: '${quote(def.category ?? "Unclassified")}'`;
    const receiver = this.mirrorOfKind(superclass, this.kindOf(superclass));
    try {
      const r = await this.evaluate(source, { receiver, budget: { ms: 30_000 } });
      if (!r.ok) throw new MembraneError("failedPrecondition", `defining ${def.name} failed: ${r.errorClass}: ${r.messageText}`);
      return r.value.asClass();
    } finally {
      this.forget(receiver);
    }
  }

  /** The source of a method, from its trailer: embedded, in a kernel source file, or in the changes file. */
  sourceOf(method: Oop): string | undefined {
    const { ref } = decodeTrailer(this.mem.bytesView(method));
    if (ref.kind === "embedded") return ref.source;
    if (ref.kind === "file") return this.host.sources?.read(ref.file, ref.position);
    return undefined;
  }

  /** The compiler's view of a method (for pc-to-line maps and temp names), by recompiling its source. */
  private recompiled(method: Oop): CompileResult | undefined {
    const mem = this.mem;
    const source = this.sourceOf(method);
    if (source === undefined) return undefined;
    const header = decodeMethodHeader(mem.fetchPointer(method, 0) >> 1);
    const binding = mem.fetchPointer(method, header.numLiterals);
    const cls = (binding & 3) === 0 && !isNil(mem, binding) ? mem.fetchPointer(binding, 1) : mem.specialObject(Special.classUndefinedObject);
    const selector = bytesText(mem, mem.fetchPointer(method, header.numLiterals - 1));
    const key = `${className(mem, cls)}\0${source}`;
    let result = this.compileCache.get(key);
    if (!result) {
      try {
        result = this.compileFor(cls, source, selector === "DoIt");
      } catch {
        return undefined;
      }
      this.compileCache.set(key, result);
    }
    return result;
  }

  lineForPc(method: Oop, pc: number): number | undefined {
    const result = this.recompiled(method);
    if (!result) return undefined;
    const header = decodeMethodHeader(this.mem.fetchPointer(method, 0) >> 1);
    const offset = pc - initialPC(header.numLiterals);
    let best: { pc: number; range: { start: number } } | undefined;
    for (const entry of result.method.sourceMap) if (entry.pc < offset && (!best || entry.pc >= best.pc)) best = entry;
    const position = best?.range.start ?? 0;
    let line = 1;
    const source = result.method.source;
    for (let i = 0; i < position && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
    return line;
  }

  tempNamesOf(ctx: Oop): string[] {
    const mem = this.mem;
    if (!isNil(mem, mem.fetchPointer(ctx, ContextLayout.closureOrNil))) return [];
    const result = this.recompiled(mem.fetchPointer(ctx, ContextLayout.method));
    return result ? result.method.tempNames : [];
  }

  describeContext(ctx: Oop): string {
    const mem = this.mem;
    const method = mem.fetchPointer(ctx, ContextLayout.method);
    const name = describeMethodName(mem, method);
    const receiverClass = className(mem, mem.fetchClassOf(mem.fetchPointer(ctx, ContextLayout.receiver)));
    const [methodClass, selector] = name.split(">>");
    const prefix = isNil(mem, mem.fetchPointer(ctx, ContextLayout.closureOrNil)) ? "" : "[] in ";
    const cls = receiverClass === methodClass || methodClass === "?" ? methodClass : `${receiverClass}(${methodClass})`;
    return `${prefix}${cls}>>${selector ?? "?"}`;
  }

  // ------------------------------------------------------------------ processes

  async scheduler(): Promise<ProcessSchedulerMirror> {
    const sched = schedulerOf(this.vm);
    if (sched === 0) throw new MembraneError("failedPrecondition", "this image has no process scheduler");
    return this.mirrorOfKind(sched, "scheduler") as LocalProcessSchedulerMirror;
  }

  processOops(): Oop[] {
    const mem = this.mem;
    const processClass = mem.specialObject(Special.classProcess);
    if (processClass === 0 || isNil(mem, processClass)) return [];
    this.vm.collect(true);
    const out: Oop[] = [];
    mem.forEachObject((oop) => {
      const cls = mem.classOfPointer(oop);
      if (cls !== 0 && inheritsFromSpecial(mem, cls, Special.classProcess)) out.push(oop);
    });
    return out;
  }

  async processes(): Promise<ProcessMirror[]> {
    const out: ProcessMirror[] = [];
    for (const p of this.processOops()) out.push(this.mirrorOfKind(p, "process") as LocalProcessMirror);
    return out;
  }

  processState(proc: Oop): ProcessState {
    return processState(this.vm, proc);
  }
  topContextOf(proc: Oop): Oop {
    return topContextOf(this.vm, proc);
  }
  suspendProcess(proc: Oop): void {
    suspendProcess(this.vm, proc);
  }
  resumeProcess(proc: Oop): void {
    resumeProcess(this.vm, proc);
  }
  setProcessPriority(proc: Oop, priority: number): void {
    setPriority(this.vm, proc, priority);
  }
  failureOf(proc: Oop): Oop | undefined {
    const fault = this.lastFault;
    if (fault && fault.process === proc && isFailed(this.vm, proc)) return fault.error;
    return undefined;
  }

  /** Terminates a process: the guest's own Process>>terminate when it works (unwind blocks run), else at the VM level. */
  async terminateProcess(proc: Oop): Promise<void> {
    const handle = this.mem.newHandle(proc);
    try {
      if (this.processState(proc) === "terminated") return;
      if (proc === activeProcess(this.vm) && this.vm.activeContext !== 0) suspendProcess(this.vm, proc);
      const canTerminate = this.hasMethod(this.mem.fetchClassOf(handle.oop), "terminate");
      if (canTerminate) {
        const mirror = this.mirrorOfKind(handle.oop, "process");
        try {
          const outcome = await this.evaluate("self terminate", { receiver: mirror, budget: { ms: 5000 }, priority: 79 });
          if (outcome.ok && this.processState(handle.oop) === "terminated") return;
        } finally {
          this.forget(mirror);
        }
      }
      terminateAtVMLevel(this.vm, handle.oop);
    } finally {
      this.mem.releaseHandle(handle);
    }
  }

  private hasMethod(cls: Oop, selector: string): boolean {
    const mem = this.mem;
    const sym = internSymbol(mem, selector);
    for (let c = cls; !isNil(mem, c); c = mem.fetchPointer(c, 0)) {
      const dict = mem.fetchPointer(c, 1);
      if (isNil(mem, dict)) continue;
      for (let i = 0; i < mem.slotCount(dict) - 2; i++) if (mem.fetchPointer(dict, 2 + i) === sym) return true;
    }
    return false;
  }

  private ownerOf(ctx: Oop): Oop {
    const proc = ownerProcess(this.vm, ctx, this.processOops());
    if (proc === 0) throw new MembraneError("failedPrecondition", "that context is not on any process's stack");
    return proc;
  }

  restartContext(ctx: Oop): void {
    const handle = this.mem.newHandle(ctx);
    try {
      const proc = this.ownerOf(handle.oop);
      restartContext(this.vm, handle.oop, proc);
    } finally {
      this.mem.releaseHandle(handle);
    }
  }

  returnFromContext(ctx: Oop, value: Oop): void {
    const h = this.mem.newHandle(ctx);
    const v = this.mem.newHandle(value);
    try {
      const proc = this.ownerOf(h.oop);
      returnFromContext(this.vm, h.oop, proc, v.oop);
    } finally {
      this.mem.releaseHandle(h);
      this.mem.releaseHandle(v);
    }
  }

  // ------------------------------------------------------------------ execution

  lastFault: { process: Oop; error: Oop; description: string } | undefined;

  /** Compiles `source` as a doit for `receiver` and creates (without scheduling) a process that will run it. */
  createProcessOop(priority: number, source: string, receiver: Oop, where?: CompilerOptions): { process: Oop; job: Job } {
    const mem = this.mem;
    if (!Number.isInteger(priority) || priority < 1 || priority > 80) throw new MembraneError("invalidArgument", `priority ${priority} is out of range 1..80`);
    const cls = mem.fetchClassOf(receiver);
    const result = this.compileFor(cls, source, true, where);
    this.reportWarnings(result, "DoIt");
    let method: Oop;
    try {
      method = materializeMethod(mem, result.method, literalEnvFor(mem, cls), { kind: "embedded", source });
    } catch (e) {
      if (e instanceof MaterializeError) throw new MembraneError("resourceExhausted", e.message);
      throw e;
    }
    const h = this.mem.newHandle(method);
    const r = this.mem.newHandle(receiver);
    try {
      const header = decodeMethodHeader(mem.fetchPointer(h.oop, 0) >> 1);
      const contextClass = this.requireClass(Special.classMethodContext, "Context");
      const ctx = this.newOop(mem.allocate(contextClass, Format.fixedIndexable, 6 + (header.largeFrame ? 56 : 16)), "a context");
      mem.storePointer(ctx, ContextLayout.sender, mem.nilOop);
      mem.storePointer(ctx, ContextLayout.pc, smallIntOop(initialPC(header.numLiterals)));
      mem.storePointer(ctx, ContextLayout.stackp, smallIntOop(header.numTemps));
      mem.storePointer(ctx, ContextLayout.method, h.oop);
      mem.storePointer(ctx, ContextLayout.receiver, r.oop);
      const processClass = this.requireClass(Special.classProcess, "Process");
      const proc = this.newOop(mem.instantiate(processClass, 0), "a process");
      mem.storePointer(proc, ProcessLayout.suspendedContext, ctx);
      mem.storePointer(proc, ProcessLayout.priority, smallIntOop(priority));
      const job = new Job(this.vm, mem.newHandle(proc));
      return { process: proc, job };
    } finally {
      mem.releaseHandle(h);
      mem.releaseHandle(r);
    }
  }

  private readonly jobs = new Map<Oop, Job>();

  private jobFor(proc: Oop): Job | undefined {
    for (const job of this.jobs.values()) if (job.process.oop === proc) return job;
    return undefined;
  }

  async createProcess(priority: number, source: string, receiver?: ObjectMirror): Promise<ProcessMirror> {
    const { process, job } = this.createProcessOop(priority, source, receiver ? this.ownOop(receiver) : this.mem.nilOop);
    this.jobs.set(this.mem.hashOf(process), job);
    return this.mirrorOfKind(process, "process") as LocalProcessMirror;
  }

  async installAsActiveProcess(process: ProcessMirror): Promise<void> {
    installAsActive(this.vm, this.ownOop(process));
  }

  async transferControl(budget: RunBudget = { ms: 20 }): Promise<SliceReport> {
    const slice = this.vm.run(budget);
    return {
      reason: slice.reason,
      bytecodes: slice.bytecodes,
      sends: slice.sends,
      elapsedMs: slice.elapsedMs,
      fault: slice.fault ? { kind: slice.fault.kind, message: slice.fault.message } : undefined,
    };
  }

  private async outcomeOf(outcome: JobOutcome, job: Job): Promise<RunOutcome> {
    switch (outcome.state) {
      case "finished": {
        const m = await this.mirrorOn(outcome.result.oop);
        this.mem.releaseHandle(outcome.result);
        return { state: "finished", result: m };
      }
      case "failed": {
        this.lastFault = { process: job.process.oop, error: outcome.error.oop, description: outcome.description };
        return { state: "failed", error: await this.mirrorOn(outcome.error.oop), description: outcome.description };
      }
      default:
        return outcome.state === "crashed" ? { state: "crashed", description: outcome.description } : { state: outcome.state };
    }
  }

  async runUntilFinished(process: ProcessMirror, budget: RunBudget = {}): Promise<RunOutcome> {
    const proc = this.ownOop(process);
    let job = this.jobFor(proc);
    if (!job) {
      job = new Job(this.vm, this.mem.newHandle(proc));
      this.jobs.set(this.mem.hashOf(proc), job);
    }
    const state = this.processState(proc);
    if (state === "suspended") installAsActive(this.vm, proc);
    return this.outcomeOf(await this.executor(job, budget), job);
  }

  /**
   * Evaluates `source` in the guest (with `self` bound to the receiver) in a fresh process that runs
   * ahead of the guest's own processes, and answers the value or the error it signalled.
   */
  async evaluate(source: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
    const receiver = options.receiver ? this.ownOop(options.receiver) : this.mem.nilOop;
    const { process, job } = this.createProcessOop(options.priority ?? USER_PRIORITY, source, receiver, options.origin);
    installAsActive(this.vm, process);
    let outcome: JobOutcome;
    try {
      outcome = await this.executor(job, options.budget ?? {});
    } finally {
      job.cancel();
    }
    switch (outcome.state) {
      case "finished": {
        const value = await this.mirrorOn(outcome.result.oop);
        this.mem.releaseHandle(outcome.result);
        this.mem.releaseHandle(job.process);
        return { ok: true, value, printString: await this.printStringOf(value) };
      }
      case "failed": {
        const error = await this.mirrorOn(outcome.error.oop);
        this.lastFault = { process: job.process.oop, error: outcome.error.oop, description: outcome.description };
        const errorClass = className(this.mem, this.mem.fetchClassOf(outcome.error.oop));
        const stack = failureStackFrames(this, job.process.oop, outcome.error.oop);
        const messageText = await this.messageTextOf(error, outcome.description);
        await this.terminateProcess(job.process.oop).catch(() => undefined);
        this.mem.releaseHandle(job.process);
        this.mem.releaseHandle(outcome.error);
        return { ok: false, error, errorClass, messageText, description: outcome.description, stack };
      }
      default: {
        const description =
          outcome.state === "budgetExhausted" ? "the evaluation ran out of its budget"
          : outcome.state === "idle" ? "the evaluation is waiting for something that never happens"
          : outcome.state === "interrupted" ? "the evaluation was interrupted"
          : `the image stopped: ${outcome.description}`;
        const stack = outcome.state === "crashed" ? [] : processStackFrames(this, job.process.oop);
        if (outcome.state !== "crashed") await this.terminateProcess(job.process.oop).catch(() => undefined);
        const nil = await this.nilObject();
        this.mem.releaseHandle(job.process);
        return { ok: false, error: nil, errorClass: outcome.state, messageText: description, description, stack };
      }
    }
  }

  private async messageTextOf(error: LocalObjectMirror, fallback: string): Promise<string> {
    if (!this.hasMethod(this.mem.fetchClassOf(error.oop), "messageText")) return fallback;
    const r = await this.evaluateQuietly("self messageText", error);
    return r ?? fallback;
  }

  /** Evaluates and answers the result's string, or undefined when anything goes wrong. */
  private async evaluateQuietly(source: string, receiver: LocalObjectMirror): Promise<string | undefined> {
    const { process, job } = this.createProcessOop(USER_PRIORITY, source, receiver.oop);
    installAsActive(this.vm, process);
    try {
      const outcome = await this.executor(job, { ms: 2000 });
      if (outcome.state === "finished") {
        const oop = outcome.result.oop;
        this.mem.releaseHandle(outcome.result);
        const text = bytesText(this.mem, oop);
        return text;
      }
      if (outcome.state !== "crashed") terminateAtVMLevel(this.vm, job.process.oop);
      return undefined;
    } finally {
      job.cancel();
      this.mem.releaseHandle(job.process);
    }
  }

  /** The guest's printString of an object, or a description made by the host when printing fails. */
  async printStringOf(m: LocalObjectMirror): Promise<string> {
    const oop = m.oop;
    if ((oop & 3) !== 0 || oop === this.mem.nilOop || oop === this.mem.trueOop || oop === this.mem.falseOop) return shortDescription(this.mem, oop);
    if (!this.hasMethod(this.mem.fetchClassOf(oop), "printString")) return shortDescription(this.mem, oop);
    return (await this.evaluateQuietly("self printString", m)) ?? shortDescription(this.mem, oop);
  }

  async interrupt(): Promise<void> {
    this.vm.requestInterrupt();
  }

  // ------------------------------------------------------------------ whole image

  async allInstancesOf(cls: Oop): Promise<ObjectMirror[]> {
    const h = this.mem.newHandle(cls);
    this.vm.collect(true);
    const mem = this.mem;
    const found: Oop[] = [];
    mem.forEachObject((oop) => {
      if (mem.classOfPointer(oop) === h.oop) found.push(oop);
    });
    mem.releaseHandle(h);
    const out: ObjectMirror[] = [];
    for (const oop of found) out.push(await this.mirrorOn(oop));
    return out;
  }

  async collectGarbage(): Promise<void> {
    this.vm.collect(true);
  }

  async stats(): Promise<SpaceStats> {
    const gc = this.vm.collector.stats;
    return {
      heapBytes: this.mem.bytesUsed(),
      heapLimit: this.mem.limitBytes,
      gcCount: gc.fullCollections + gc.youngCollections,
      gcMs: gc.totalMs,
      bytecodes: this.vm.bytecodeCount,
      sends: this.vm.sendCount,
    };
  }

  async snapshot(): Promise<Uint8Array> {
    return snapshotImage(this.vm);
  }
}

export { HEADER_WORDS, instSizeOf, instSpecOf, CHANGES_FILE_INDEX };
export type { Handle, JobBudget, JobOutcome };
