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
 *
 * The membrane's rules (objectSpace.ts) are kept here: every argument is checked before anything
 * changes in the guest (a mirror must be of this space and not released, values must be literals,
 * indexes in range), guest code the membrane runs for itself (printString, messageText, terminate) has a
 * budget, and every failure is a MembraneError with a precise code.
 */
import { HEADER_BYTES, HEADER_WORDS, ObjectMemory, type Handle, type HeapOptions } from "../../vm/memory/heap.js";
import { Interpreter, describeMethodName, type InterpreterOptions } from "../../vm/interpreter/interpreter.js";
import type { VMHost, ChangeRecord } from "../../vm/host.js";
import { Format, classFormat, instSizeOf, instSpecOf, isBytesFormat } from "../../vm/memory/format.js";
import { Special } from "../../vm/memory/special.js";
import { BehaviorLayout, ClassDescriptionLayout, ClassLayout, ContextLayout, MetaclassLayout, ProcessLayout, BlockClosureLayout } from "../../vm/memory/layout.js";
import { characterOop, characterValue, isCharacter, isSmallInt, smallIntOop, smallIntValue, MAX_CHARACTER, type Oop } from "../../vm/memory/oop.js";
import { bigIntValueOf, integerObjectOf, isLargeInteger } from "../../vm/memory/integers.js";
import { internSymbol, lookupSymbol } from "../../vm/memory/symbols.js";
import { readImage } from "../../vm/image/imageFile.js";
import { snapshotImage } from "../../vm/image/snapshot.js";
import { activeProcess, schedulerOf } from "../../vm/interpreter/scheduler.js";
import { lookupMethodInClass } from "../../vm/interpreter/lookup.js";
import { compileDoIt, compileMethod, CompileError, formatWarning, type CompileResult, type CompileOptions as CompilerOptions } from "../../vm/compiler/index.js";
import { allocateText, materializeMethod, MaterializeError } from "../../vm/method/materialize.js";
import { decodeTrailer, type SourceRef, CHANGES_FILE_INDEX } from "../../vm/method/trailer.js";
import { decodeMethodHeader, initialPC } from "../../vm/method/header.js";
import type {
  ByteObjectMirror, ClassKind, ClassMirror, CompileOptions, EvaluateOptions, EvaluationResult, MirrorKind, ObjectFormat, ObjectMirror,
  ObjectSpace, ProcessMirror, ProcessSchedulerMirror, ProcessState, RunBudget, RunOutcome, SliceReport, SourceOrigin, SpaceStats,
  SubclassDefinition,
} from "../objectSpace.js";
import { MembraneError } from "../objectSpace.js";
import { Char, FloatValue, Sym, describeHostValue, type LocalValue } from "../values.js";
import {
  GuestError, addMethod, bytesText, className, dictionaryAssociations, dictionaryAtPut, globalAssociation, isBehavior, isMetaclass, isNil,
  methodAt, newMethodDictionary, removeMethod, smalltalkDictionary, superclassOf, thisClassOf,
} from "../../vm/contract/guest.js";
import { FORMAT_NUMBERS, inheritsFrom, inheritsFromSpecial, mirrorKindOf } from "./classify.js";
import { compileContextFor, literalEnvFor } from "../../vm/contract/compiling.js";
import { shortDescription } from "./describe.js";
import { Job, runJob, type JobBudget, type JobOutcome } from "./jobs.js";
import {
  LocalByteObjectMirror, LocalClassMirror, LocalClassPoolMirror, LocalContextMirror, LocalMetaclassMirror,
  LocalMethodDictionaryMirror, LocalMethodMirror, LocalObjectMirror, LocalProcessMirror, LocalProcessSchedulerMirror,
  LocalWordObjectMirror,
} from "./mirrors.js";
import {
  forgetFailed, installAsActive, isFailed, ownerProcess, processState, restartContext, resumeProcess, returnFromContext, setPriority,
  suspendProcess, terminateAtVMLevel, topContextOf,
} from "./processes.js";
import { failureStackFrames, processStackFrames } from "./stack.js";
import type { BlockLayout } from "../../vm/compiler/index.js";
import { isDoItMethod, looksLikeClass, methodBlockLayouts, methodClassOf, methodSourceOf } from "../../vm/contract/methods.js";
import { shield } from "./shield.js";

export interface LocalSpaceOptions extends HeapOptions, InterpreterOptions {
  /** called with every compiler warning (undeclared variables...) */
  onCompileWarning?: (text: string) => void;
}

const USER_PRIORITY = 40;
/** the priority at which the membrane terminates processes through the guest's own Process>>terminate */
const TERMINATE_PRIORITY = 79;

const SUBCLASS_KEYWORDS: Record<ClassKind, string> = {
  normal: "subclass:",
  variable: "variableSubclass:",
  variableByte: "variableByteSubclass:",
  variableWord: "variableWordSubclass:",
  weak: "weakSubclass:",
  immediate: "immediateSubclass:",
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CLASS_NAME = /^[A-Z][A-Za-z0-9_]*$/;

/**
 * Runs a host job (a process the host started) to completion. By default the space runs slices itself;
 * a hypervisor replaces it so that a running guest's jobs go through its scheduler and are charged to it.
 */
export type JobExecutor = (job: Job, budget: JobBudget) => Promise<JobOutcome>;

/** Whether a host value looks like a mirror (of this space, of another one, or a fake). */
function isMirrorLike(value: unknown): value is ObjectMirror {
  return value instanceof LocalObjectMirror || (typeof value === "object" && value !== null && "space" in value && "kind" in value);
}


function checkString(value: unknown, what: string): string {
  if (typeof value !== "string") throw new MembraneError("invalidArgument", `${what} must be a string, not ${describeHostValue(value)}`);
  return value;
}

/** Checks a run budget: milliseconds and bytecodes are non-negative numbers when given. */
export function checkBudget(budget: RunBudget | undefined): RunBudget {
  if (budget === undefined) return {};
  if (typeof budget !== "object" || budget === null) throw new MembraneError("invalidArgument", "a budget is an object { ms?, bytecodes? }");
  for (const key of ["ms", "bytecodes"] as const) {
    const v = budget[key];
    if (v !== undefined && (typeof v !== "number" || Number.isNaN(v) || v < 0)) {
      throw new MembraneError("invalidArgument", `budget.${key} must be a non-negative number, not ${String(v)}`);
    }
  }
  return budget;
}

function checkPriority(priority: unknown): number {
  if (typeof priority !== "number" || !Number.isInteger(priority) || priority < 1 || priority > 80) {
    throw new MembraneError("invalidArgument", `priority ${String(priority)} is out of range 1..80`);
  }
  return priority;
}

/** Runs a guest-contract helper, turning its errors into membrane errors. */
function guarded<T>(body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof GuestError) throw new MembraneError(e.code === "resourceExhausted" ? "resourceExhausted" : "failedPrecondition", e.message);
    if (e instanceof MaterializeError) throw new MembraneError(e.outOfMemory ? "resourceExhausted" : "compileError", e.message);
    throw e;
  }
}

export class LocalObjectSpace implements ObjectSpace {
  readonly mirrors = new Set<LocalObjectMirror>();
  /** how host jobs run (see JobExecutor) */
  executor: JobExecutor = (job, budget) => runJob(this.vm, job, budget);
  /** the budget of the guest code the membrane runs for itself: printString, messageText, terminate */
  quietBudget: JobBudget = { ms: 1000, bytecodes: 20_000_000 };
  private readonly compileCache = new Map<string, CompileResult>();
  private readonly blockCache = new Map<string, Map<number, BlockLayout> | undefined>();
  onCompileWarning: ((text: string) => void) | undefined;
  /** processes the host created (createProcess), whose bottom context answers to the host */
  private readonly jobs: Job[] = [];
  /** why processes failed, as seen by this space (unhandled errors) */
  private readonly failures: Array<{ process: Handle; error: Handle; description: string }> = [];

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

  /** The oop of a mirror of this space; refuses mirrors of other spaces, fakes and released mirrors. */
  ownOop(m: ObjectMirror): Oop {
    if (!(m instanceof LocalObjectMirror) || m.space !== this) {
      throw new MembraneError(
        "wrongSpace",
        isMirrorLike(m) ? "this mirror belongs to another object space" : `expected a mirror of this object space, not ${describeHostValue(m)}`,
      );
    }
    return m.oop;
  }

  /** The oop of a process mirror of this space. */
  ownProcess(m: ObjectMirror): Oop {
    const oop = this.ownOop(m);
    if (this.kindOf(oop) !== "process") throw new MembraneError("invalidArgument", `${shortDescription(this.mem, oop)} is not a process`);
    return oop;
  }

  /** The oop of a class mirror of this space (a class, a metaclass, or a classless class made by createClassWithFormat). */
  ownClass(m: ObjectMirror): Oop {
    const oop = this.ownOop(m);
    if (!this.looksLikeClass(oop)) throw new MembraneError("invalidArgument", `${shortDescription(this.mem, oop)} is not a class`);
    return oop;
  }

  looksLikeClass(oop: Oop): boolean {
    return looksLikeClass(this.mem, oop);
  }

  /** A guest oop for a mirror of this space or a host literal (created inside the guest). */
  toOop(value: ObjectMirror | LocalValue): Oop {
    if (isMirrorLike(value)) return this.ownOop(value);
    return this.fromLocalOop(value, new Set(), 0);
  }

  newOop(oop: Oop, what: string): Oop {
    if (oop === 0) throw new MembraneError("resourceExhausted", `the guest is out of memory (creating ${what})`);
    return oop;
  }

  /** Refuses sizes the heap can never hold, before the VM is asked for them. */
  checkAllocation(slots: number, what: string): void {
    if (slots * 4 > this.mem.limitBytes) throw new MembraneError("resourceExhausted", `${what} of ${slots} slots does not fit the guest's heap (limit ${this.mem.limitBytes} bytes)`);
  }

  private requireClass(special: number, what: string): Oop {
    const cls = this.mem.specialObjectsOop === 0 ? 0 : this.mem.specialObject(special);
    if (cls === 0 || isNil(this.mem, cls)) throw new MembraneError("failedPrecondition", `this image has no ${what} class yet`);
    return cls;
  }

  // ------------------------------------------------------------------ literal conversions

  /** Translates a host literal into the guest. Only LocalValues cross; anything else is refused first. */
  private fromLocalOop(value: unknown, seen: Set<unknown>, depth: number): Oop {
    const mem = this.mem;
    if (value === null) return mem.nilOop;
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
      this.requireClass(Special.classByteString, "ByteString");
      try {
        return this.newOop(allocateText(mem, value), "a string");
      } catch (e) {
        if (e instanceof MaterializeError) throw new MembraneError("invalidArgument", e.message);
        throw e;
      }
    }
    if (value instanceof Sym) {
      if (typeof value.name !== "string") throw new MembraneError("invalidArgument", "a symbol's name must be a string");
      this.checkByteString(value.name);
      this.requireClass(Special.classByteSymbol, "ByteSymbol");
      return this.newOop(internSymbol(mem, value.name), "a symbol");
    }
    if (value instanceof Char) {
      if (!Number.isInteger(value.code) || value.code < 0 || value.code > MAX_CHARACTER) {
        throw new MembraneError("invalidArgument", `no character has code ${value.code} (0..${MAX_CHARACTER})`);
      }
      return characterOop(value.code);
    }
    if (value instanceof FloatValue) {
      if (typeof value.value !== "number") throw new MembraneError("invalidArgument", "a FloatValue holds a number");
      this.requireClass(Special.classFloat, "Float");
      return this.newOop(mem.allocateFloat(value.value), "a float");
    }
    if (value instanceof Uint8Array) {
      const cls = this.requireClass(Special.classByteArray, "ByteArray");
      this.checkAllocation(value.length / 4, "a byte array");
      const oop = this.newOop(mem.allocateBytes(cls, value.length), "a byte array");
      mem.bytes.set(value, oop + HEADER_BYTES);
      return oop;
    }
    if (Array.isArray(value)) {
      if (seen.has(value)) throw new MembraneError("invalidArgument", "the array contains itself: a cyclic host value cannot be translated");
      if (depth > 1000) throw new MembraneError("invalidArgument", "the value is nested too deeply (more than 1000 levels)");
      seen.add(value);
      const elements = value.map((v) => this.fromLocalOop(v, seen, depth + 1));
      seen.delete(value);
      const cls = this.requireClass(Special.classArray, "Array");
      this.checkAllocation(elements.length, "an array");
      const oop = this.newOop(mem.allocate(cls, Format.indexable, elements.length), "an array");
      elements.forEach((e, i) => mem.storePointer(oop, i, e));
      return oop;
    }
    if (isMirrorLike(value)) {
      if (!(value instanceof LocalObjectMirror) || value.space !== this) throw new MembraneError("wrongSpace", "this mirror belongs to another object space");
      throw new MembraneError("invalidArgument", "a mirror is not a host value: pass the mirror itself where a value is expected, not inside a host array");
    }
    throw new MembraneError(
      "invalidArgument",
      `cannot translate ${describeHostValue(value)} into the guest: only nil, booleans, integers, floats, characters, strings, symbols, and arrays and byte arrays of these cross the membrane`,
    );
  }

  private checkByteString(text: string): void {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) > 255) {
        throw new MembraneError("invalidArgument", `the string has a character (U+${text.charCodeAt(i).toString(16).toUpperCase().padStart(4, "0")}) that does not fit a byte string`);
      }
    }
  }

  toLocalOop(oop: Oop, depth = 0): LocalValue {
    const mem = this.mem;
    if (depth > 1000) throw new MembraneError("invalidArgument", "the array is nested too deeply (or contains itself)");
    if (isSmallInt(oop)) return smallIntValue(oop);
    if (isCharacter(oop)) return new Char(characterValue(oop));
    if (oop === mem.nilOop) return null;
    if (oop === mem.trueOop) return true;
    if (oop === mem.falseOop) return false;
    const cls = mem.classOfPointer(oop);
    if (cls !== 0) {
      if (isLargeInteger(mem, oop)) return bigIntValueOf(mem, oop)!;
      if (mem.isFloatClass(cls) && mem.formatOf(oop) === Format.words && mem.slotCount(oop) === 2) return mem.floatValueOf(oop);
      if (isBytesFormat(mem.formatOf(oop))) {
        if (inheritsFromSpecial(mem, cls, Special.classSymbol) || cls === mem.specialObject(Special.classByteSymbol)) return new Sym(mem.stringOf(oop));
        if (inheritsFromSpecial(mem, cls, Special.classString) || cls === mem.specialObject(Special.classByteString)) return mem.stringOf(oop);
        if (cls === mem.specialObject(Special.classByteArray)) return mem.bytesView(oop).slice();
      }
      if (mem.formatOf(oop) === Format.words && inheritsFromSpecial(mem, cls, Special.classString)) {
        let text = "";
        for (let i = 0; i < mem.slotCount(oop); i++) text += String.fromCodePoint(Math.min(mem.fetchWord(oop, i), 0x10ffff));
        return text;
      }
      if (cls === mem.specialObject(Special.classArray) && mem.formatOf(oop) === Format.indexable) {
        const out: LocalValue[] = [];
        for (let i = 0; i < mem.slotCount(oop); i++) out.push(this.toLocalOop(mem.fetchPointer(oop, i), depth + 1));
        return out;
      }
    }
    throw new MembraneError("invalidArgument", `${shortDescription(this.mem, oop)} is not a literal and has no host equivalent`);
  }

  async fromLocal(value: LocalValue): Promise<ObjectMirror> {
    return this.mirrorOn(this.fromLocalOop(value, new Set(), 0));
  }
  async fromLocalString(text: string): Promise<ByteObjectMirror> {
    return (await this.fromLocal(checkString(text, "the text"))) as LocalByteObjectMirror;
  }
  async fromLocalSymbol(name: string): Promise<ByteObjectMirror> {
    return (await this.fromLocal(new Sym(checkString(name, "a symbol's name")))) as LocalByteObjectMirror;
  }
  async fromLocalCharacter(c: string | number): Promise<ObjectMirror> {
    if (typeof c === "string") {
      const code = c.codePointAt(0);
      if (code === undefined || String.fromCodePoint(code) !== c) throw new MembraneError("invalidArgument", `a character is one code point, not ${JSON.stringify(c)}`);
      return this.fromLocal(new Char(code));
    }
    if (typeof c !== "number") throw new MembraneError("invalidArgument", `a character is a one-character string or a code point, not ${describeHostValue(c)}`);
    return this.fromLocal(new Char(c));
  }
  async fromLocalInteger(n: number | bigint): Promise<ObjectMirror> {
    if (typeof n === "bigint") return this.fromLocal(n);
    if (typeof n !== "number" || !Number.isInteger(n)) throw new MembraneError("invalidArgument", `${String(n)} is not an integer`);
    return this.fromLocal(Number.isSafeInteger(n) ? n : BigInt(n));
  }
  async fromLocalFloat(x: number): Promise<ObjectMirror> {
    if (typeof x !== "number") throw new MembraneError("invalidArgument", `a float is a number, not ${describeHostValue(x)}`);
    return this.fromLocal(new FloatValue(x));
  }
  async fromLocalBoolean(b: boolean): Promise<ObjectMirror> {
    if (typeof b !== "boolean") throw new MembraneError("invalidArgument", `a boolean is true or false, not ${describeHostValue(b)}`);
    return this.fromLocal(b);
  }
  async fromLocalArray(values: LocalValue[]): Promise<ObjectMirror> {
    if (!Array.isArray(values)) throw new MembraneError("invalidArgument", `expected a host array, not ${describeHostValue(values)}`);
    return this.fromLocal(values);
  }
  async fromLocalByteArray(bytes: Uint8Array): Promise<ByteObjectMirror> {
    if (!(bytes instanceof Uint8Array)) throw new MembraneError("invalidArgument", `expected a Uint8Array, not ${describeHostValue(bytes)}`);
    return (await this.fromLocal(bytes)) as LocalByteObjectMirror;
  }

  async toLocal(mirror: ObjectMirror): Promise<LocalValue> {
    return this.toLocalOop(this.ownOop(mirror));
  }
  private async toLocalAs<T>(mirror: ObjectMirror, test: (v: LocalValue, oop: Oop) => boolean, what: string, convert: (v: LocalValue) => T): Promise<T> {
    const oop = this.ownOop(mirror);
    let v: LocalValue;
    try {
      v = this.toLocalOop(oop);
    } catch (e) {
      if (e instanceof MembraneError) throw new MembraneError("invalidArgument", `${shortDescription(this.mem, oop)} is not ${what}`);
      throw e;
    }
    if (!test(v, oop)) throw new MembraneError("invalidArgument", `${shortDescription(this.mem, oop)} is not ${what}`);
    return convert(v);
  }
  async toLocalString(mirror: ObjectMirror): Promise<string> {
    return this.toLocalAs(mirror, (v) => typeof v === "string" || v instanceof Sym, "a string", (v) => (v instanceof Sym ? v.name : (v as string)));
  }
  async toLocalSymbol(mirror: ObjectMirror): Promise<string> {
    return this.toLocalAs(mirror, (v) => v instanceof Sym, "a symbol", (v) => (v as Sym).name);
  }
  async toLocalInteger(mirror: ObjectMirror): Promise<bigint> {
    return this.toLocalAs(mirror, (v, oop) => (typeof v === "number" && isSmallInt(oop)) || typeof v === "bigint", "an integer", (v) => BigInt(v as number | bigint));
  }
  async toLocalFloat(mirror: ObjectMirror): Promise<number> {
    return this.toLocalAs(mirror, (v, oop) => typeof v === "number" && !isSmallInt(oop), "a float", (v) => v as number);
  }
  async toLocalCharacter(mirror: ObjectMirror): Promise<string> {
    return this.toLocalAs(
      mirror,
      (v) => v instanceof Char && v.code <= 0x10ffff,
      "a character with a Unicode code point",
      (v) => String.fromCodePoint((v as Char).code),
    );
  }
  async toLocalBoolean(mirror: ObjectMirror): Promise<boolean> {
    return this.toLocalAs(mirror, (v) => typeof v === "boolean", "a boolean", (v) => v as boolean);
  }
  async toLocalArray(mirror: ObjectMirror): Promise<LocalValue[]> {
    return this.toLocalAs(mirror, (v) => Array.isArray(v), "an array of literals", (v) => v as LocalValue[]);
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
    if (this.mem.nilOop === 0) return this.mirrorOn(this.special(Special.nil));
    return this.mirrorOn(this.mem.nilOop);
  }
  async trueObject(): Promise<ObjectMirror> {
    return this.mirrorOn(this.special(Special.true));
  }
  async falseObject(): Promise<ObjectMirror> {
    return this.mirrorOn(this.special(Special.false));
  }
  async specialObjectsArray(): Promise<ObjectMirror> {
    if (this.mem.specialObjectsOop === 0) throw new MembraneError("failedPrecondition", "this space has no special objects array yet");
    return this.mirrorOn(this.mem.specialObjectsOop);
  }

  /** Every class known to the image (the values of Smalltalk that are classes under their own name). */
  classOops(): Oop[] {
    const mem = this.mem;
    if (mem.specialObjectsOop === 0) return [];
    const out: Oop[] = [];
    for (const assoc of dictionaryAssociations(mem, smalltalkDictionary(mem))) {
      const v = mem.fetchPointer(assoc, 1);
      if (isBehavior(mem, v) && !isMetaclass(mem, v) && bytesText(mem, mem.fetchPointer(assoc, 0)) === className(mem, v)) out.push(v);
    }
    return out;
  }

  async classNamed(name: string): Promise<ClassMirror | undefined> {
    checkString(name, "a class name");
    if (this.mem.specialObjectsOop === 0) return undefined;
    const isMeta = name.endsWith(" class");
    const assoc = globalAssociation(this.mem, isMeta ? name.slice(0, -6) : name);
    if (assoc === 0) return undefined;
    let cls = this.mem.fetchPointer(assoc, 1);
    if (!isBehavior(this.mem, cls) || isMetaclass(this.mem, cls)) return undefined;
    if (isMeta) cls = this.mem.fetchClassOf(cls);
    return (await this.mirrorOn(cls)).asClass();
  }

  async classes(): Promise<ClassMirror[]> {
    const out: ClassMirror[] = [];
    for (const c of this.classOops()) out.push(this.mirrorOfKind(c, "class") as LocalClassMirror);
    return out;
  }

  async globalNamed(name: string): Promise<ObjectMirror | undefined> {
    checkString(name, "a global's name");
    if (this.mem.specialObjectsOop === 0) return undefined;
    const assoc = globalAssociation(this.mem, name);
    return assoc === 0 ? undefined : this.mirrorOn(this.mem.fetchPointer(assoc, 1));
  }

  async setGlobal(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    checkString(name, "a global's name");
    if (!IDENTIFIER.test(name)) throw new MembraneError("invalidArgument", `${JSON.stringify(name)} is not a valid global name`);
    const v = this.toOop(value);
    const dict = this.mem.specialObjectsOop === 0 ? 0 : smalltalkDictionary(this.mem);
    if (dict === 0 || isNil(this.mem, dict)) throw new MembraneError("failedPrecondition", "this image has no Smalltalk dictionary");
    const h = this.mem.newHandle(v);
    try {
      guarded(() => dictionaryAtPut(this.mem, dict, name, h.oop));
    } finally {
      this.mem.releaseHandle(h);
    }
  }

  // ------------------------------------------------------------------ creation (bootstrap)

  async createObjectWithFormat(format: ObjectFormat, indexableSize = 0): Promise<ObjectMirror> {
    const fmt = FORMAT_NUMBERS[format];
    if (fmt === undefined || !Object.hasOwn(FORMAT_NUMBERS, format)) throw new MembraneError("invalidArgument", `unknown object format ${String(format)}`);
    if (format === "compiledMethod") throw new MembraneError("invalidArgument", "compiled methods are made by compiling (ClassMirror.compile), not by format");
    if (typeof indexableSize !== "number" || !Number.isInteger(indexableSize) || indexableSize < 0) throw new MembraneError("invalidArgument", `bad size ${String(indexableSize)}`);
    if (format === "empty" && indexableSize !== 0) throw new MembraneError("invalidArgument", "an object of format empty has no fields");
    const mem = this.mem;
    this.checkAllocation(format === "bytes" ? indexableSize / 4 : indexableSize, "an object");
    const oop = format === "bytes" ? mem.allocateBytes(0, indexableSize) : mem.allocate(0, fmt, indexableSize, format === "words" ? 0 : mem.nilOop);
    return this.mirrorOn(this.newOop(oop, "an object"));
  }

  async createClassWithFormat(
    classFormatSpec: { format: ObjectFormat; instanceSize: number },
    instancesFormat: { format: ObjectFormat; instanceSize: number },
  ): Promise<ClassMirror> {
    const mem = this.mem;
    const check = (spec: { format: ObjectFormat; instanceSize: number }, what: string) => {
      if (typeof spec !== "object" || spec === null || !Object.hasOwn(FORMAT_NUMBERS, spec.format)) {
        throw new MembraneError("invalidArgument", `${what}: unknown format ${String(spec?.format)}`);
      }
      if (typeof spec.instanceSize !== "number" || !Number.isInteger(spec.instanceSize) || spec.instanceSize < 0 || spec.instanceSize > 0xffff) {
        throw new MembraneError("invalidArgument", `${what}: bad instance size ${String(spec.instanceSize)}`);
      }
    };
    check(classFormatSpec, "the class's format");
    check(instancesFormat, "the instances' format");
    if (classFormatSpec.format !== "fixed" || classFormatSpec.instanceSize < 3) {
      throw new MembraneError("invalidArgument", "a class is a fixed pointer object with at least superclass, methodDict and format");
    }
    const { format, instanceSize } = instancesFormat;
    if ((format === "bytes" || format === "words" || format === "compiledMethod" || format === "empty" || format === "indexable") && instanceSize !== 0) {
      throw new MembraneError("invalidArgument", `instances of format ${format} have no named fields`);
    }
    const cls = this.newOop(mem.allocate(0, Format.fixed, classFormatSpec.instanceSize, mem.nilOop), "a class");
    mem.storePointer(cls, BehaviorLayout.format, smallIntOop(classFormat(FORMAT_NUMBERS[format], instanceSize)));
    return this.mirrorOfKind(cls, "class") as LocalClassMirror;
  }

  /** Bootstrap: installs the special objects array (and with it nil, true and false). */
  async setSpecialObjectsArray(array: ObjectMirror): Promise<void> {
    const oop = this.ownOop(array);
    if ((oop & 3) !== 0 || this.mem.slotCount(oop) < Special.true + 1) throw new MembraneError("invalidArgument", "too small for a special objects array");
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
      if (e instanceof GuestError) throw new MembraneError("failedPrecondition", e.message);
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
    checkString(source, "the method's source");
    if (options.category !== undefined) checkString(options.category, "the category");
    const clsHandle = mem.newHandle(cls);
    try {
      const result = this.compileFor(cls, source, false, options.where ?? options.origin);
      const name = className(mem, cls);
      this.reportWarnings(result, `${name}>>${result.method.selector}`);
      const category = options.category ?? "as yet unclassified";
      const ref = options.sourceRef ?? (options.logChange === false
        ? { kind: "embedded" as const, source }
        : this.logChange({ kind: "method", className: className(mem, thisClassOf(mem, cls)), classSide: isMetaclass(mem, cls), category, source }));
      const method = guarded(() => materializeMethod(mem, result.method, literalEnvFor(mem, clsHandle.oop), ref));
      const methodHandle = mem.newHandle(method);
      try {
        guarded(() => addMethod(mem, clsHandle.oop, this.newOop(internSymbol(mem, result.method.selector), "a selector"), methodHandle.oop));
        if (options.category !== undefined) this.recordCategory(clsHandle.oop, result.method.selector, options.category);
        this.vm.methodCache.flush();
        this.compileCache.set(`${name}\0${source}`, result);
        return this.mirrorOfKind(methodHandle.oop, "method") as LocalMethodMirror;
      } finally {
        mem.releaseHandle(methodHandle);
      }
    } finally {
      mem.releaseHandle(clsHandle);
    }
  }

  /** Records the method's category in the class's organization (a Dictionary selector -> category), when it has one. */
  private recordCategory(cls: Oop, selector: string, category: string): void {
    const mem = this.mem;
    if (mem.slotCount(cls) <= ClassDescriptionLayout.organization) return;
    let org = mem.fetchPointer(cls, ClassDescriptionLayout.organization);
    if (isNil(mem, org) || (org & 3) !== 0) {
      const dictionaryClass = globalAssociation(mem, "Dictionary");
      if (dictionaryClass === 0) return;
      const dict = mem.instantiate(mem.fetchPointer(dictionaryClass, 1), 0);
      if (dict === 0 || mem.slotCount(dict) < 2) return;
      mem.storePointer(dict, 0, smallIntOop(0));
      const array = mem.allocate(mem.specialObject(Special.classArray), Format.indexable, 32);
      if (array === 0) return;
      mem.storePointer(dict, 1, array);
      mem.storePointer(cls, ClassDescriptionLayout.organization, dict);
      org = dict;
    }
    if ((org & 3) !== 0 || mem.slotCount(org) < 2) return;
    const text = mem.allocateString(mem.specialObject(Special.classByteString), category);
    if (text === 0) return;
    try {
      dictionaryAtPut(mem, org, selector, text);
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
    }
  }

  async removeMethodFrom(cls: Oop, selector: string, options: { logChange?: boolean } = {}): Promise<void> {
    const mem = this.mem;
    checkString(selector, "a selector");
    const sym = lookupSymbol(mem, selector);
    if (sym === 0 || methodAt(mem, cls, sym) === 0) throw new MembraneError("notFound", `${className(mem, cls)} has no method #${selector}`);
    if (options.logChange !== false) {
      this.logChange({ kind: "removeMethod", className: className(mem, thisClassOf(mem, cls)), classSide: isMetaclass(mem, cls), selector });
    }
    guarded(() => removeMethod(mem, cls, sym));
    this.vm.methodCache.flush();
  }

  private checkDefinition(def: SubclassDefinition): { kind: ClassKind; ivars: string[]; cvars: string[]; category: string } {
    if (typeof def !== "object" || def === null) throw new MembraneError("invalidArgument", "a class definition is an object { name, instanceVariableNames?, ... }");
    if (typeof def.name !== "string" || !CLASS_NAME.test(def.name)) throw new MembraneError("invalidArgument", `${JSON.stringify(def.name)} is not a class name (a capitalized identifier)`);
    const kind = def.kind ?? "normal";
    if (!Object.hasOwn(SUBCLASS_KEYWORDS, kind)) throw new MembraneError("invalidArgument", `unknown class kind ${String(kind)}`);
    const names = (list: unknown, what: string): string[] => {
      if (list === undefined) return [];
      if (!Array.isArray(list)) throw new MembraneError("invalidArgument", `${what} names must be an array of strings`);
      for (const n of list) if (typeof n !== "string" || !IDENTIFIER.test(n)) throw new MembraneError("invalidArgument", `${JSON.stringify(n)} is not a valid ${what} name`);
      if (new Set(list).size !== list.length) throw new MembraneError("invalidArgument", `a ${what} name is repeated`);
      return list as string[];
    };
    const ivars = names(def.instanceVariableNames, "instance variable");
    const cvars = names(def.classVariableNames, "class variable");
    const category = def.category ?? "Unclassified";
    if (typeof category !== "string") throw new MembraneError("invalidArgument", "the category must be a string");
    return { kind, ivars, cvars, category };
  }

  /**
   * Defines (or redefines) a subclass by sending the class-definition message in the guest, so that the
   * image's own class builder does the work (and logs it to the changes file) exactly as when the image
   * defines a class. An image whose classes do not understand that message (no class builder yet, or a
   * broken one removed in surgery) gets the class built by the membrane itself, following the image
   * contract's class layout, and the definition logged first.
   */
  async defineClass(superclass: Oop, def: SubclassDefinition): Promise<ClassMirror> {
    const { kind, ivars, cvars, category } = this.checkDefinition(def);
    const keyword = SUBCLASS_KEYWORDS[kind];
    const quote = (t: string) => t.replace(/'/g, "''");
    const source = `${className(this.mem, superclass)} ${keyword} #${def.name} instanceVariableNames: '${ivars.join(" ")}' classVariableNames: '${cvars.join(" ")}' category: '${quote(category)}'`;
    const selector = `${keyword}instanceVariableNames:classVariableNames:category:`;
    const sym = lookupSymbol(this.mem, selector);
    const understood = sym !== 0 && lookupMethodInClass(this.mem, this.mem.fetchClassOf(superclass), sym) !== 0;
    if (!understood) return this.buildClass(superclass, def.name, kind, ivars, cvars, category, source);
    const receiver = this.mirrorOfKind(superclass, this.kindOf(superclass));
    try {
      const guestSource = `self ${keyword} #${def.name} instanceVariableNames: '${ivars.join(" ")}' classVariableNames: '${cvars.join(" ")}' category: '${quote(category)}'`;
      const r = await this.evaluate(guestSource, { receiver, budget: { ms: 30_000 } });
      if (!r.ok) throw new MembraneError("failedPrecondition", `defining ${def.name} failed: ${r.messageText ? `${r.errorClass}: ${r.messageText}` : r.errorClass}`);
      const oop = (r.value as LocalObjectMirror).oop;
      r.value.release();
      if (!isBehavior(this.mem, oop)) throw new MembraneError("failedPrecondition", `the image's class builder answered ${shortDescription(this.mem, oop)}, not a class`);
      return this.mirrorOfKind(oop, "class") as LocalClassMirror;
    } finally {
      this.forget(receiver);
    }
  }

  /** The membrane's own class builder, for images that have none: new classes, or same-shape redefinitions. */
  private buildClass(superclass: Oop, name: string, kind: ClassKind, ivars: string[], cvars: string[], category: string, source: string): ClassMirror {
    const mem = this.mem;
    const metaclassClass = mem.specialObject(Special.classMetaclass);
    if (isNil(mem, metaclassClass) || !isBehavior(mem, superclass)) throw new MembraneError("failedPrecondition", "this image has no class builder and no Metaclass to build classes with");
    const superFormat = mem.classFormatOf(superclass);
    const superSpec = instSpecOf(superFormat);
    const inherited = allInstVarNamesOf(mem, superclass);
    for (const v of ivars) if (inherited.includes(v)) throw new MembraneError("failedPrecondition", `${v} is already defined in a superclass`);
    const size = instSizeOf(superFormat) + ivars.length;
    let spec: number;
    switch (kind) {
      case "variable": spec = size > 0 ? Format.fixedIndexable : Format.indexable; break;
      case "variableByte": spec = Format.bytes; break;
      case "variableWord": spec = Format.words; break;
      case "weak": spec = Format.weak; break;
      case "immediate": spec = Format.empty; break;
      default:
        if (superSpec === Format.indexable || superSpec === Format.fixedIndexable) spec = size > 0 ? Format.fixedIndexable : Format.indexable;
        else if (superSpec === Format.bytes || superSpec === Format.words || superSpec === Format.weak) spec = superSpec;
        else spec = size > 0 ? Format.fixed : Format.empty;
    }
    if ((spec === Format.bytes || spec === Format.words) && size > 0) throw new MembraneError("failedPrecondition", "byte and word classes cannot have instance variables");
    const format = classFormat(spec, size);
    const existingAssoc = globalAssociation(mem, name);
    if (existingAssoc !== 0) {
      const existing = mem.fetchPointer(existingAssoc, 1);
      if (!isBehavior(mem, existing)) throw new MembraneError("failedPrecondition", `${name} is already defined as a global variable`);
      if (superclassOf(mem, existing) !== superclass || mem.classFormatOf(existing) !== format || ownInstVarNamesOf(mem, existing).join(" ") !== ivars.join(" ")) {
        throw new MembraneError("failedPrecondition", `this image has no class builder: redefining ${name} with another shape needs one`);
      }
      this.logChange({ kind: "classDefinition", source });
      const h = mem.newHandle(existing);
      try {
        this.fillClassVariables(h.oop, cvars);
        guarded(() => mem.storePointer(h.oop, ClassLayout.category, this.newOop(mem.allocateString(mem.specialObject(Special.classByteString), category), "a category")));
        return this.mirrorOfKind(h.oop, "class") as LocalClassMirror;
      } finally {
        mem.releaseHandle(h);
      }
    }
    this.logChange({ kind: "classDefinition", source });
    const handles: Handle[] = [];
    const keep = (oop: Oop, what: string) => {
      const h = mem.newHandle(this.newOop(oop, what));
      handles.push(h);
      return h;
    };
    try {
      const sup = keep(superclass, "a class");
      const superMeta = mem.fetchClassOf(sup.oop);
      const meta = keep(mem.instantiate(metaclassClass, 0), "a metaclass");
      if (mem.slotCount(meta.oop) <= MetaclassLayout.thisClass) throw new MembraneError("failedPrecondition", "the image's Metaclass does not have the contract's layout");
      // the metaclass (its format says what its one instance, the class, looks like)
      mem.storePointer(meta.oop, BehaviorLayout.superclass, superMeta);
      mem.storePointer(meta.oop, BehaviorLayout.methodDict, keep(guarded(() => newMethodDictionary(mem, 32)), "a method dictionary").oop);
      mem.storePointer(meta.oop, BehaviorLayout.format, smallIntOop(mem.classFormatOf(superMeta)));
      mem.storePointer(meta.oop, ClassDescriptionLayout.instanceVariables, keep(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, 0), "an array").oop);
      const cls = keep(mem.instantiate(meta.oop, 0), "a class");
      if (mem.slotCount(cls.oop) <= ClassLayout.category) throw new MembraneError("failedPrecondition", "the image's classes do not have the contract's layout");
      mem.storePointer(meta.oop, MetaclassLayout.thisClass, cls.oop);
      // the class
      mem.storePointer(cls.oop, BehaviorLayout.superclass, sup.oop);
      mem.storePointer(cls.oop, BehaviorLayout.methodDict, keep(guarded(() => newMethodDictionary(mem, 32)), "a method dictionary").oop);
      mem.storePointer(cls.oop, BehaviorLayout.format, smallIntOop(format));
      const names = keep(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, ivars.length), "an array");
      ivars.forEach((v, i) => mem.storePointer(names.oop, i, this.newOop(internSymbol(mem, v), "a symbol")));
      mem.storePointer(cls.oop, ClassDescriptionLayout.instanceVariables, names.oop);
      mem.storePointer(cls.oop, ClassLayout.subclasses, keep(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, 0), "an array").oop);
      mem.storePointer(cls.oop, ClassLayout.name, this.newOop(internSymbol(mem, name), "a symbol"));
      mem.storePointer(cls.oop, ClassLayout.environment, smalltalkDictionary(mem));
      mem.storePointer(cls.oop, ClassLayout.category, this.newOop(mem.allocateString(mem.specialObject(Special.classByteString), category), "a category"));
      this.fillClassVariables(cls.oop, cvars);
      // register: the superclass's subclasses, then Smalltalk
      const subs = mem.fetchPointer(sup.oop, ClassLayout.subclasses);
      const n = (subs & 3) === 0 && !isNil(mem, subs) ? mem.slotCount(subs) : 0;
      const grown = keep(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, n + 1), "an array");
      for (let i = 0; i < n; i++) mem.storePointer(grown.oop, i, mem.fetchPointer(mem.fetchPointer(sup.oop, ClassLayout.subclasses), i));
      mem.storePointer(grown.oop, n, cls.oop);
      if (mem.slotCount(sup.oop) > ClassLayout.subclasses && !isMetaclass(mem, sup.oop)) mem.storePointer(sup.oop, ClassLayout.subclasses, grown.oop);
      guarded(() => dictionaryAtPut(mem, smalltalkDictionary(mem), name, cls.oop));
      this.vm.methodCache.flush();
      return this.mirrorOfKind(cls.oop, "class") as LocalClassMirror;
    } finally {
      for (const h of handles) mem.releaseHandle(h);
    }
  }

  private fillClassVariables(cls: Oop, cvars: string[]): void {
    const mem = this.mem;
    if (cvars.length === 0) return;
    const h = mem.newHandle(cls);
    try {
      let pool = mem.fetchPointer(h.oop, ClassLayout.classPool);
      if (isNil(mem, pool)) {
        const dictionaryAssoc = globalAssociation(mem, "Dictionary");
        if (dictionaryAssoc === 0) throw new MembraneError("failedPrecondition", "this image has no Dictionary class for class variables");
        pool = this.newOop(mem.instantiate(mem.fetchPointer(dictionaryAssoc, 1), 0), "a class pool");
        mem.storePointer(h.oop, ClassLayout.classPool, pool);
        mem.storePointer(pool, 0, smallIntOop(0));
        mem.storePointer(pool, 1, this.newOop(mem.allocate(mem.specialObject(Special.classArray), Format.indexable, 32), "a class pool"));
      }
      for (const v of cvars) {
        const p = mem.fetchPointer(h.oop, ClassLayout.classPool);
        if (dictionaryAssociations(mem, p).some((a) => bytesText(mem, mem.fetchPointer(a, 0)) === v)) continue;
        guarded(() => dictionaryAtPut(mem, p, v, mem.nilOop));
      }
    } finally {
      mem.releaseHandle(h);
    }
  }

  /** The source of a method, from its trailer: embedded, in a kernel source file, or in the changes file. */
  sourceOf(method: Oop): string | undefined {
    return methodSourceOf(this.mem, this.host.sources, method);
  }

  private methodClassOf(method: Oop): Oop {
    return methodClassOf(this.mem, method);
  }

  private isDoIt(method: Oop): boolean {
    return isDoItMethod(this.mem, method);
  }

  /** The compiler's view of a method (for pc-to-line maps and temp names), by recompiling its source. */
  private recompiled(method: Oop): CompileResult | undefined {
    const mem = this.mem;
    const source = this.sourceOf(method);
    if (source === undefined) return undefined;
    const cls = this.methodClassOf(method);
    const key = `${className(mem, cls)}\0${source}`;
    let result = this.compileCache.get(key);
    if (!result) {
      try {
        result = this.compileFor(cls, source, this.isDoIt(method));
      } catch {
        return undefined;
      }
      this.compileCache.set(key, result);
    }
    return result;
  }

  /** The range of valid pcs of a method: from its first bytecode to its last. */
  pcRange(method: Oop): { first: number; last: number } {
    const mem = this.mem;
    const header = decodeMethodHeader(mem.fetchPointer(method, 0) >> 1);
    const body = mem.bytesView(method);
    const { size } = decodeTrailer(body);
    const first = initialPC(header.numLiterals);
    return { first, last: first + (body.length - size - (header.numLiterals + 1) * 4) - 1 };
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

  /** The names of a context's slots: the method's temporaries, or the block's (arguments, copied values, temporaries). */
  tempNamesOf(ctx: Oop): string[] {
    const mem = this.mem;
    const method = mem.fetchPointer(ctx, ContextLayout.method);
    const closure = mem.fetchPointer(ctx, ContextLayout.closureOrNil);
    const result = this.recompiled(method);
    if (!result) return [];
    if (isNil(mem, closure)) return result.method.tempNames;
    const startpc = mem.fetchPointer(closure, BlockClosureLayout.startpc);
    if (!isSmallInt(startpc)) return [];
    const source = result.method.source;
    const cls = this.methodClassOf(method);
    const key = `${className(mem, cls)}\0${source}`;
    let layouts = this.blockCache.get(key);
    if (!this.blockCache.has(key)) {
      layouts = methodBlockLayouts(mem, method, source);
      this.blockCache.set(key, layouts);
    }
    return layouts?.get(smallIntValue(startpc))?.names ?? [];
  }

  describeContext(ctx: Oop): string {
    const mem = this.mem;
    const method = mem.fetchPointer(ctx, ContextLayout.method);
    const name = describeMethodName(mem, method);
    const receiverClass = className(mem, mem.fetchClassOf(mem.fetchPointer(ctx, ContextLayout.receiver)));
    const [methodClass, selector] = name.split(">>");
    const prefix = isNil(mem, mem.fetchPointer(ctx, ContextLayout.closureOrNil)) ? "" : "[] in ";
    const cls = receiverClass === methodClass || methodClass === "?" || selector === "DoIt" ? methodClass : `${receiverClass}(${methodClass})`;
    return `${prefix}${cls}>>${selector ?? "?"}`;
  }

  // ------------------------------------------------------------------ processes

  async scheduler(): Promise<ProcessSchedulerMirror> {
    const sched = this.mem.specialObjectsOop === 0 ? 0 : schedulerOf(this.vm);
    if (sched === 0 || isNil(this.mem, sched)) throw new MembraneError("failedPrecondition", "this image has no process scheduler");
    return this.mirrorOfKind(sched, "scheduler") as LocalProcessSchedulerMirror;
  }

  /** Every process in the heap (after a full collection, so that only live ones are found). */
  processOops(): Oop[] {
    const mem = this.mem;
    if (mem.specialObjectsOop === 0) return [];
    const processClass = mem.specialObject(Special.classProcess);
    if (processClass === 0 || isNil(mem, processClass)) return [];
    this.vm.collect(true);
    const out: Oop[] = [];
    mem.forEachObject((oop) => {
      const cls = mem.classOfPointer(oop);
      if (cls !== 0 && (cls === processClass || inheritsFrom(mem, cls, processClass))) out.push(oop);
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
    if (isFailed(this.vm, proc)) this.forgetFailure(proc);
    resumeProcess(this.vm, proc);
  }
  setProcessPriority(proc: Oop, priority: number): void {
    setPriority(this.vm, proc, checkPriority(priority));
  }

  private recordFailure(process: Handle, error: Handle, description: string): void {
    this.forgetFailure(process.oop, false);
    this.failures.push({ process, error, description });
  }

  /** The process is dealt with (terminated, resumed, its stack changed): it is no longer failed. */
  private forgetFailure(proc: Oop, alsoInGuest = true): void {
    for (let i = this.failures.length - 1; i >= 0; i--) {
      const f = this.failures[i];
      if (f.process.oop === proc) {
        this.mem.releaseHandle(f.process);
        this.mem.releaseHandle(f.error);
        this.failures.splice(i, 1);
      }
    }
    if (alsoInGuest) forgetFailed(this.vm, proc);
  }

  /** The error that stopped a failed process: as the space saw it fail, or found on its stack (an image that failed before it was saved). */
  failureOf(proc: Oop): Oop | undefined {
    if (!isFailed(this.vm, proc)) return undefined;
    for (const f of this.failures) if (f.process.oop === proc) return f.error.oop;
    const mem = this.mem;
    const exceptionAssoc = globalAssociation(mem, "Exception");
    if (exceptionAssoc === 0) return undefined;
    const exceptionClass = mem.fetchPointer(exceptionAssoc, 1);
    for (let ctx = this.topContextOf(proc), guard = 0; ctx !== 0 && !isNil(mem, ctx) && guard < 100_000; guard++) {
      const receiver = mem.fetchPointer(ctx, ContextLayout.receiver);
      if ((receiver & 3) === 0 && !isNil(mem, receiver) && inheritsFrom(mem, mem.fetchClassOf(receiver), exceptionClass)) return receiver;
      ctx = mem.fetchPointer(ctx, ContextLayout.sender);
    }
    return undefined;
  }

  /** Terminates a process: the guest's own Process>>terminate when it works (unwind blocks run), else at the VM level. */
  async terminateProcess(proc: Oop): Promise<void> {
    const handle = this.mem.newHandle(proc);
    try {
      this.forgetFailure(handle.oop);
      if (this.processState(handle.oop) === "terminated") return;
      if (handle.oop === activeProcess(this.vm) && this.vm.activeContext !== 0) suspendProcess(this.vm, handle.oop);
      if (this.understands(handle.oop, "terminate")) {
        const mirror = this.mirrorOfKind(handle.oop, "process");
        try {
          const outcome = await this.evaluateQuietly("self terminate. nil", mirror, TERMINATE_PRIORITY);
          if (outcome.ok && this.processState(handle.oop) === "terminated") return;
        } finally {
          this.forget(mirror);
        }
      }
      if (this.processState(handle.oop) !== "terminated") terminateAtVMLevel(this.vm, handle.oop);
    } finally {
      this.dropJob(handle.oop);
      this.mem.releaseHandle(handle);
    }
  }

  /** Whether `receiver`'s class has a method for `selector` (without running anything). */
  private understands(receiver: Oop, selector: string): boolean {
    const sym = lookupSymbol(this.mem, selector);
    return sym !== 0 && lookupMethodInClass(this.mem, this.mem.fetchClassOf(receiver), sym) !== 0;
  }

  /** The process whose stack holds the context (the list of processes comes first: it collects garbage). */
  private ownerOf(ctx: Handle): Oop {
    const processes = this.processOops();
    const proc = ownerProcess(this.vm, ctx.oop, processes);
    if (proc === 0) throw new MembraneError("failedPrecondition", "that context is not on any process's stack (it has returned or its process ended)");
    return proc;
  }

  restartContext(ctx: Oop): void {
    const handle = this.mem.newHandle(ctx);
    try {
      const proc = this.ownerOf(handle);
      restartContext(this.vm, handle.oop, proc);
      this.forgetFailure(proc);
    } finally {
      this.mem.releaseHandle(handle);
    }
  }

  returnFromContext(ctx: Oop, value: Oop): void {
    const h = this.mem.newHandle(ctx);
    const v = this.mem.newHandle(value);
    try {
      const proc = this.ownerOf(h);
      returnFromContext(this.vm, h.oop, proc, v.oop);
      this.forgetFailure(proc);
    } finally {
      this.mem.releaseHandle(h);
      this.mem.releaseHandle(v);
    }
  }

  // ------------------------------------------------------------------ execution

  /** Compiles `source` as a doit for `receiver` and creates (without scheduling) a process that will run it. */
  createProcessOop(priority: number, source: string, receiver: Oop, where?: CompilerOptions): { process: Oop; job: Job } {
    const mem = this.mem;
    checkPriority(priority);
    checkString(source, "the source");
    const r = mem.newHandle(receiver);
    try {
      const cls = mem.fetchClassOf(r.oop);
      const result = this.compileFor(cls, source, true, where);
      this.reportWarnings(result, "DoIt");
      const method = guarded(() => materializeMethod(mem, result.method, literalEnvFor(mem, cls), { kind: "embedded", source }));
      const h = mem.newHandle(method);
      try {
        const header = decodeMethodHeader(mem.fetchPointer(h.oop, 0) >> 1);
        const contextClass = this.requireClass(Special.classMethodContext, "Context");
        const ctx = this.newOop(mem.allocate(contextClass, Format.fixedIndexable, 6 + (header.largeFrame ? 56 : 16)), "a context");
        mem.storePointer(ctx, ContextLayout.sender, mem.nilOop);
        mem.storePointer(ctx, ContextLayout.pc, smallIntOop(initialPC(header.numLiterals)));
        mem.storePointer(ctx, ContextLayout.stackp, smallIntOop(header.numTemps));
        mem.storePointer(ctx, ContextLayout.method, h.oop);
        mem.storePointer(ctx, ContextLayout.receiver, r.oop);
        const c = mem.newHandle(ctx);
        try {
          const processClass = this.requireClass(Special.classProcess, "Process");
          const proc = this.newOop(mem.instantiate(processClass, 0), "a process");
          mem.storePointer(proc, ProcessLayout.suspendedContext, c.oop);
          mem.storePointer(proc, ProcessLayout.priority, smallIntOop(priority));
          const job = new Job(this.vm, mem.newHandle(proc));
          return { process: proc, job };
        } finally {
          mem.releaseHandle(c);
        }
      } finally {
        mem.releaseHandle(h);
      }
    } finally {
      mem.releaseHandle(r);
    }
  }

  private jobFor(proc: Oop): Job | undefined {
    return this.jobs.find((j) => j.process.oop === proc);
  }

  private dropJob(proc: Oop): void {
    const i = this.jobs.findIndex((j) => j.process.oop === proc);
    if (i < 0) return;
    const [job] = this.jobs.splice(i, 1);
    job.cancel();
    this.mem.releaseHandle(job.process);
  }

  async createProcess(priority: number, source: string, receiver?: ObjectMirror): Promise<ProcessMirror> {
    const r = receiver !== undefined ? this.ownOop(receiver) : this.mem.nilOop;
    const { process, job } = this.createProcessOop(priority, source, r);
    this.jobs.push(job);
    return this.mirrorOfKind(process, "process") as LocalProcessMirror;
  }

  private checkRunnable(proc: Oop): void {
    if (this.processState(proc) === "terminated") throw new MembraneError("failedPrecondition", "the process has terminated");
  }

  /** Makes `proc` the running process now; a failed active process is set aside (off every list), not proceeded. */
  private install(proc: Oop): void {
    const vm = this.vm;
    const active = activeProcess(vm);
    if (active !== 0 && active !== proc && vm.activeContext !== 0 && isFailed(vm, active)) {
      const h = this.mem.newHandle(proc);
      try {
        suspendProcess(vm, active);
      } finally {
        this.mem.releaseHandle(h);
      }
      installAsActive(vm, h.oop);
      return;
    }
    installAsActive(vm, proc);
  }

  async installAsActiveProcess(process: ProcessMirror): Promise<void> {
    const proc = this.ownProcess(process);
    this.checkRunnable(proc);
    if (isFailed(this.vm, proc)) this.forgetFailure(proc);
    this.install(proc);
  }

  async transferControl(budget: RunBudget = { ms: 20 }): Promise<SliceReport> {
    const b = checkBudget(budget);
    const slice = this.vm.run({ ms: b.ms, bytecodes: b.bytecodes });
    const fault = slice.fault;
    if (fault?.kind === "unhandledError" && fault.process && fault.object) this.recordFailure(fault.process, fault.object, fault.message);
    else {
      if (fault?.process) this.mem.releaseHandle(fault.process);
      if (fault?.object) this.mem.releaseHandle(fault.object);
    }
    return {
      reason: slice.reason,
      bytecodes: slice.bytecodes,
      sends: slice.sends,
      elapsedMs: slice.elapsedMs,
      fault: fault ? { kind: fault.kind, message: fault.message } : undefined,
      nextTimerMs: slice.wakeAt !== undefined ? Math.max(0, slice.wakeAt - this.vm.msClock()) : undefined,
    };
  }

  async runUntilFinished(process: ProcessMirror, budget: RunBudget = {}): Promise<RunOutcome> {
    const proc = this.ownProcess(process);
    const b = checkBudget(budget);
    this.checkRunnable(proc);
    let job = this.jobFor(proc);
    if (!job) {
      job = new Job(this.vm, this.mem.newHandle(proc));
      this.jobs.push(job);
    }
    const failed = isFailed(this.vm, proc);
    if (failed) this.forgetFailure(proc);
    const state = this.processState(proc);
    if (state === "suspended" || (failed && state !== "running")) this.install(proc);
    const outcome = await this.executor(job, { ms: b.ms, bytecodes: b.bytecodes });
    switch (outcome.state) {
      case "finished": {
        const m = await this.mirrorOn(outcome.result.oop);
        this.mem.releaseHandle(outcome.result);
        this.dropJob(job.process.oop);
        return { state: "finished", result: m };
      }
      case "failed": {
        const error = await this.mirrorOn(outcome.error.oop);
        this.recordFailure(this.mem.newHandle(job.process.oop), outcome.error, outcome.description);
        return { state: "failed", error, description: outcome.description };
      }
      case "crashed":
        return { state: "crashed", description: outcome.description };
      default:
        return { state: outcome.state };
    }
  }

  /**
   * Evaluates `source` in the guest (with `self` bound to the receiver) in a fresh process that runs
   * ahead of the guest's own processes, and answers the value or the error it signalled.
   */
  async evaluate(source: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
    checkString(source, "the source");
    if (typeof options !== "object" || options === null) throw new MembraneError("invalidArgument", "evaluate's options must be an object");
    const receiver = options.receiver !== undefined ? this.ownOop(options.receiver) : this.mem.nilOop;
    const budget = checkBudget(options.budget);
    const priority = checkPriority(options.priority ?? USER_PRIORITY);
    const origin = this.checkOrigin(options.origin);
    const { process, job } = this.createProcessOop(priority, source, receiver, origin);
    this.install(process);
    let outcome: JobOutcome;
    try {
      outcome = await this.executor(job, { ms: budget.ms, bytecodes: budget.bytecodes });
    } finally {
      job.cancel();
    }
    const proc = job.process;
    switch (outcome.state) {
      case "finished": {
        const value = await this.mirrorOn(outcome.result.oop);
        this.mem.releaseHandle(outcome.result);
        this.mem.releaseHandle(proc);
        return { ok: true, value, printString: await this.printStringOf(value) };
      }
      case "failed": {
        const error = await this.mirrorOn(outcome.error.oop);
        const errorClass = className(this.mem, this.mem.fetchClassOf(outcome.error.oop));
        const stack = failureStackFrames(this, proc.oop, outcome.error.oop);
        this.mem.releaseHandle(outcome.error);
        const messageText = await this.messageTextOf(error, outcome.description);
        await this.terminateProcess(proc.oop).catch(() => terminateAtVMLevel(this.vm, proc.oop));
        this.mem.releaseHandle(proc);
        return { ok: false, error, errorClass, messageText, description: outcome.description, stack };
      }
      case "crashed": {
        // another process failed while this evaluation ran: report that failure and its stack
        const fault = outcome.slice.fault;
        if (fault?.kind === "unhandledError" && fault.object && fault.process) {
          const error = await this.mirrorOn(fault.object.oop);
          const errorClass = className(this.mem, this.mem.fetchClassOf(fault.object.oop));
          const stack = failureStackFrames(this, fault.process.oop, fault.object.oop);
          const messageText = await this.messageTextOf(error, fault.message);
          this.mem.releaseHandle(proc);
          return { ok: false, error, errorClass, messageText, description: `in another process: ${fault.message}`, stack };
        }
        const nil = await this.nilObject();
        this.mem.releaseHandle(proc);
        const description = `the image stopped: ${outcome.description}`;
        return { ok: false, error: nil, errorClass: "crashed", messageText: description, description, stack: [] };
      }
      default: {
        const description =
          outcome.state === "budgetExhausted" ? "the evaluation ran out of its budget"
          : outcome.state === "idle" ? "the evaluation is waiting for something that never happens"
          : "the evaluation was interrupted";
        const stack = processStackFrames(this, proc.oop);
        await this.terminateProcess(proc.oop).catch(() => terminateAtVMLevel(this.vm, proc.oop));
        const nil = await this.nilObject();
        this.mem.releaseHandle(proc);
        return { ok: false, error: nil, errorClass: outcome.state, messageText: description, description, stack };
      }
    }
  }

  private checkOrigin(origin: SourceOrigin | undefined): CompilerOptions | undefined {
    if (origin === undefined) return undefined;
    if (typeof origin !== "object" || origin === null) throw new MembraneError("invalidArgument", "origin must be an object { fileName?, line?, column?, offset? }");
    if (origin.fileName !== undefined) checkString(origin.fileName, "origin.fileName");
    for (const key of ["line", "column", "offset"] as const) {
      const v = origin[key];
      if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 0)) throw new MembraneError("invalidArgument", `origin.${key} must be a non-negative integer`);
    }
    return origin;
  }

  private async messageTextOf(error: LocalObjectMirror, fallback: string): Promise<string> {
    if (!this.understands(error.oop, "messageText")) return fallback;
    const r = await this.evaluateQuietly("self messageText", error);
    return (r.ok ? r.text : undefined) ?? fallback;
  }

  /**
   * Evaluates for the membrane's own needs, under the quiet budget, and never signals: answers the
   * result's text (for strings and symbols) or that it did not finish.
   */
  private async evaluateQuietly(source: string, receiver: LocalObjectMirror, priority = USER_PRIORITY): Promise<{ ok: true; text: string | undefined } | { ok: false }> {
    const { process, job } = this.createProcessOop(priority, source, receiver.oop);
    this.install(process);
    try {
      const outcome = await this.executor(job, this.quietBudget);
      if (outcome.state === "finished") {
        const oop = outcome.result.oop;
        this.mem.releaseHandle(outcome.result);
        const value = (oop & 3) === 0 && this.mem.formatOf(oop) === Format.words ? this.toLocalOop(oop) : bytesText(this.mem, oop);
        return { ok: true, text: typeof value === "string" ? value : undefined };
      }
      if (outcome.state === "failed") this.mem.releaseHandle(outcome.error);
      if (outcome.state !== "crashed") terminateAtVMLevel(this.vm, job.process.oop);
      return { ok: false };
    } finally {
      job.cancel();
      this.mem.releaseHandle(job.process);
    }
  }

  /** The guest's printString of an object, or a description made by the host when printing fails or takes too long. */
  async printStringOf(m: LocalObjectMirror): Promise<string> {
    const oop = m.oop;
    const mem = this.mem;
    // immediates and nil/true/false print through the image too: their printString is the image's
    // business (`Character space`, `$a`...); the host's own description is only the fallback
    if ((oop & 3) === 0 && mem.classOfPointer(oop) === 0) return shortDescription(mem, oop);
    if (!this.understands(oop, "printString")) return shortDescription(mem, oop);
    const r = await this.evaluateQuietly("self printString", m);
    return (r.ok ? r.text : undefined) ?? shortDescription(mem, m.oop);
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

  async collectGarbage(kind: "full" | "young" = "full"): Promise<void> {
    if (kind !== "full" && kind !== "young") throw new MembraneError("invalidArgument", `a collection is full or young, not ${String(kind)}`);
    this.vm.collect(kind === "full");
  }

  async stats(): Promise<SpaceStats> {
    const gc = this.vm.collector.stats;
    let objects = 0;
    this.mem.forEachObject(() => void objects++);
    return {
      heapBytes: this.mem.bytesUsed(),
      heapLimit: this.mem.limitBytes,
      objects,
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

shield(LocalObjectSpace.prototype);

function ownInstVarNamesOf(mem: ObjectMemory, cls: Oop): string[] {
  const names = mem.fetchPointer(cls, ClassDescriptionLayout.instanceVariables);
  if ((names & 3) !== 0 || isNil(mem, names)) return [];
  const out: string[] = [];
  for (let i = 0; i < mem.slotCount(names); i++) out.push(bytesText(mem, mem.fetchPointer(names, i)) ?? "");
  return out;
}

function allInstVarNamesOf(mem: ObjectMemory, cls: Oop): string[] {
  const out: string[] = [];
  for (let c = cls, guard = 0; !isNil(mem, c) && guard < 1000; c = superclassOf(mem, c), guard++) out.unshift(...ownInstVarNamesOf(mem, c));
  return out;
}

export { HEADER_WORDS, instSizeOf, instSpecOf, CHANGES_FILE_INDEX, isBytesFormat };
export type { Handle, JobBudget, JobOutcome };
