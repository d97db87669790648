/**
 * The membrane's public interface (the Oz paper, sections 3 and 4): an ObjectSpace facade reifies a guest
 * image, and mirrors reify its objects. It is asynchronous so that a remote space (gRPC, WebSocket) is
 * polymorphic with the local one: every tool is written against these interfaces only.
 *
 * Rules every implementation keeps:
 *  - no host object ever ends up in the guest: values cross by translation (values.ts) or are created
 *    inside the guest;
 *  - a mirror belongs to one space; using it with another, after `release`, or with an index out of range
 *    is an error (MembraneError), never a crash or a wrong object;
 *  - a mirror keeps its object alive and stays valid across garbage collections until released.
 */
import type { LocalValue } from "./values.js";

export type MirrorKind =
  | "object" | "bytes" | "words" | "class" | "metaclass" | "classPool" | "methodDictionary" | "method"
  | "context" | "process" | "scheduler" | "smallInteger" | "character";

export type ErrorCode =
  | "notFound" | "invalidArgument" | "outOfRange" | "wrongSpace" | "released" | "failedPrecondition"
  | "compileError" | "resourceExhausted" | "internal";

export class MembraneError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "MembraneError";
  }
}

/** Object formats a host can ask for, as in the VM (Squeak instSpec numbers). */
export type ObjectFormat = "empty" | "fixed" | "indexable" | "fixedIndexable" | "weak" | "words" | "bytes" | "compiledMethod";

/** One call's worth of facts about an object, so that tools need one round trip (remote spaces batch it). */
export interface ObjectDescription {
  className: string;
  format: ObjectFormat;
  kind: MirrorKind;
  fixedSize: number;
  variableSize: number;
  identityHash: number;
  printString: string;
  /** named fields: name and a short description of the value */
  namedFields: Array<{ name: string; value: string }>;
  /** a page of the indexable fields, from `offset` (1-based index offset + 1) */
  indexedFields: Array<{ index: number; value: string }>;
}

export interface ObjectMirror {
  readonly space: ObjectSpace;
  readonly kind: MirrorKind;
  /** 1-based indexable access (at: / at:put:) */
  at(index: number): Promise<ObjectMirror>;
  atPut(index: number, value: ObjectMirror | LocalValue): Promise<void>;
  /** 1-based named-then-indexed access (instVarAt: / instVarAt:put:) */
  instVarAt(index: number): Promise<ObjectMirror>;
  instVarAtPut(index: number, value: ObjectMirror | LocalValue): Promise<void>;
  instVarNamed(name: string): Promise<ObjectMirror>;
  instVarNamedPut(name: string, value: ObjectMirror | LocalValue): Promise<void>;
  fixedSize(): Promise<number>;
  variableSize(): Promise<number>;
  format(): Promise<ObjectFormat>;
  getClass(): Promise<ClassMirror>;
  setClass(cls: ClassMirror): Promise<void>;
  identityHash(): Promise<number>;
  isNilObject(): Promise<boolean>;
  isSmallInteger(): Promise<boolean>;
  isCharacter(): Promise<boolean>;
  isIdenticalTo(other: ObjectMirror): Promise<boolean>;
  /** true/false for the guest's booleans, an error otherwise */
  asBoolean(): Promise<boolean>;
  /** translation to a host value (literals only; an error for other objects) */
  toLocal(): Promise<LocalValue>;
  /** the guest's own printString of the object (runs guest code, under a budget) */
  printString(): Promise<string>;
  describe(pageOffset?: number, pageSize?: number): Promise<ObjectDescription>;
  /** mirrors of a more specific kind, when the object is one */
  asClass(): Promise<ClassMirror>;
  asMethod(): Promise<MethodMirror>;
  asContext(): Promise<ContextMirror>;
  asProcess(): Promise<ProcessMirror>;
  asBytes(): Promise<ByteObjectMirror>;
  asWords(): Promise<WordObjectMirror>;
  /** lets the object be collected (unless the guest still references it); the mirror becomes unusable */
  release(): void;
}

export interface ByteObjectMirror extends ObjectMirror {
  bytes(): Promise<Uint8Array>;
  byteAt(index: number): Promise<number>;
  byteAtPut(index: number, value: number): Promise<void>;
  /** the bytes as Latin-1 text */
  asString(): Promise<string>;
}

export interface WordObjectMirror extends ObjectMirror {
  wordAt(index: number): Promise<number>;
  wordAtPut(index: number, value: number): Promise<void>;
  words(): Promise<Uint32Array>;
}

export type ClassKind = "normal" | "variable" | "variableByte" | "variableWord" | "weak" | "immediate";

export interface SubclassDefinition {
  name: string;
  instanceVariableNames?: string[];
  classVariableNames?: string[];
  category?: string;
  kind?: ClassKind;
}

/** Where a piece of source comes from, so that compile errors point into the right file and line. */
export interface SourceOrigin {
  fileName?: string;
  /** 1-based line of the source's first character in its file */
  line?: number;
  /** 1-based column of the source's first character */
  column?: number;
  /** 0-based offset of the source's first character in its file */
  offset?: number;
}

export interface CompileOptions {
  category?: string;
  /** log the change to the image's .changes file first (default true) */
  logChange?: boolean;
  origin?: SourceOrigin;
}

export interface ClassMirror extends ObjectMirror {
  name(): Promise<string>;
  superclass(): Promise<ClassMirror | undefined>;
  setSuperclass(cls: ClassMirror | undefined): Promise<void>;
  subclasses(): Promise<ClassMirror[]>;
  /** the class's own instance variables */
  instVarNames(): Promise<string[]>;
  /** inherited ones first */
  allInstVarNames(): Promise<string[]>;
  category(): Promise<string>;
  instanceFormat(): Promise<ObjectFormat>;
  instanceSize(): Promise<number>;
  selectors(): Promise<string[]>;
  includesSelector(selector: string): Promise<boolean>;
  methodAt(selector: string): Promise<MethodMirror | undefined>;
  lookup(selector: string): Promise<MethodMirror | undefined>;
  /** compiles a method from source in this class (a compile error is a MembraneError "compileError") */
  compile(source: string, options?: CompileOptions): Promise<MethodMirror>;
  /** removes a method (logged to the changes file first unless `logChange` is false); notFound when there is none */
  removeMethod(selector: string, options?: { logChange?: boolean }): Promise<void>;
  methodDictionary(): Promise<MethodDictionaryMirror>;
  classPool(): Promise<ClassPoolMirror>;
  metaclass(): Promise<MetaclassMirror>;
  defineSubclass(definition: SubclassDefinition): Promise<ClassMirror>;
  allInstances(): Promise<ObjectMirror[]>;
  /** creates an instance (basicNew / basicNew:) */
  newInstance(indexableSize?: number): Promise<ObjectMirror>;
}

export interface MetaclassMirror extends ClassMirror {
  thisClass(): Promise<ClassMirror>;
}

export interface ClassPoolMirror extends ObjectMirror {
  names(): Promise<string[]>;
  valueAt(name: string): Promise<ObjectMirror | undefined>;
  valueAtPut(name: string, value: ObjectMirror | LocalValue): Promise<void>;
}

export interface MethodDictionaryMirror extends ObjectMirror {
  selectors(): Promise<string[]>;
  methodAt(selector: string): Promise<MethodMirror | undefined>;
  size(): Promise<number>;
}

export interface MethodMirror extends ObjectMirror {
  selector(): Promise<string>;
  methodClass(): Promise<ClassMirror | undefined>;
  source(): Promise<string | undefined>;
  numArgs(): Promise<number>;
  numTemps(): Promise<number>;
  primitive(): Promise<number>;
  literals(): Promise<ObjectMirror[]>;
  bytecodes(): Promise<Uint8Array>;
  /** one line per instruction, Squeak-style pcs */
  disassembly(): Promise<string[]>;
  /** the 1-based source line for a pc (or undefined when the source is unknown) */
  lineForPc(pc: number): Promise<number | undefined>;
}

export interface ContextMirror extends ObjectMirror {
  method(): Promise<MethodMirror>;
  /** Squeak's 1-based pc, undefined for a dead context */
  pc(): Promise<number | undefined>;
  receiver(): Promise<ObjectMirror>;
  sender(): Promise<ContextMirror | undefined>;
  isDead(): Promise<boolean>;
  isBlockContext(): Promise<boolean>;
  arguments(): Promise<ObjectMirror[]>;
  /** temporaries and arguments by name, as the compiler named them */
  tempNames(): Promise<string[]>;
  tempNamed(name: string): Promise<ObjectMirror>;
  tempNamedPut(name: string, value: ObjectMirror | LocalValue): Promise<void>;
  stack(): Promise<ObjectMirror[]>;
  /** "Class>>selector" */
  description(): Promise<string>;
  line(): Promise<number | undefined>;
  /** restarts the context from its first instruction (everything above it on its process is discarded) */
  restart(): Promise<void>;
  /** returns `value` from this context to its sender (everything above it is discarded) */
  returnValue(value: ObjectMirror | LocalValue): Promise<void>;
}

export type ProcessState = "running" | "runnable" | "waiting" | "suspended" | "terminated" | "failed";

export interface ProcessMirror extends ObjectMirror {
  name(): Promise<string>;
  priority(): Promise<number>;
  setPriority(priority: number): Promise<void>;
  state(): Promise<ProcessState>;
  /** the process's top context (for the active process: where it is executing) */
  suspendedContext(): Promise<ContextMirror | undefined>;
  /** the stack from top to bottom */
  stack(limit?: number): Promise<ContextMirror[]>;
  suspend(): Promise<void>;
  resume(): Promise<void>;
  terminate(): Promise<void>;
  /** the error that stopped it, for a failed process */
  failure(): Promise<ObjectMirror | undefined>;
}

export interface ProcessSchedulerMirror extends ObjectMirror {
  activeProcess(): Promise<ProcessMirror | undefined>;
  /** the runnable processes by priority (only non-empty priorities) */
  readyLists(): Promise<Array<{ priority: number; processes: ProcessMirror[] }>>;
}

export interface RunBudget {
  ms?: number;
  bytecodes?: number;
}

export type RunOutcome =
  | { state: "finished"; result: ObjectMirror }
  | { state: "failed"; error: ObjectMirror; description: string }
  | { state: "budgetExhausted" }
  | { state: "idle" }
  | { state: "interrupted" }
  | { state: "crashed"; description: string };

export interface SliceReport {
  reason: "budget" | "idle" | "interrupted" | "fault" | "quit";
  bytecodes: number;
  sends: number;
  elapsedMs: number;
  fault?: { kind: string; message: string };
  /** when idle: milliseconds until the guest's next timer fires (absent: no timer pending) */
  nextTimerMs?: number;
}

/** One frame of a Smalltalk stack, as tools print it. */
export interface StackFrame {
  /** "Receiver(MethodClass)>>selector", "[] in Foo>>bar" */
  description: string;
  /** 1-based line in the method's source */
  line: number | undefined;
}

export type EvaluationResult =
  | { ok: true; value: ObjectMirror; printString: string }
  | {
      ok: false;
      error: ObjectMirror;
      errorClass: string;
      messageText: string;
      description: string;
      /** the stack of the failed evaluation, from the frame that signalled the error down to the doit */
      stack: StackFrame[];
    };

export interface EvaluateOptions {
  receiver?: ObjectMirror;
  budget?: RunBudget;
  /** priority of the evaluating process (default: user priority, 40) */
  priority?: number;
  origin?: SourceOrigin;
}

export interface SpaceStats {
  heapBytes: number;
  heapLimit: number;
  objects?: number;
  gcCount: number;
  gcMs: number;
  bytecodes: number;
  sends: number;
}

export interface ObjectSpace {
  // accessing (the paper's figure 2)
  nilObject(): Promise<ObjectMirror>;
  trueObject(): Promise<ObjectMirror>;
  falseObject(): Promise<ObjectMirror>;
  specialObjectsArray(): Promise<ObjectMirror>;
  classNamed(name: string): Promise<ClassMirror | undefined>;
  classes(): Promise<ClassMirror[]>;
  globalNamed(name: string): Promise<ObjectMirror | undefined>;
  setGlobal(name: string, value: ObjectMirror | LocalValue): Promise<void>;

  // conversion
  fromLocal(value: LocalValue): Promise<ObjectMirror>;
  fromLocalString(text: string): Promise<ByteObjectMirror>;
  fromLocalSymbol(name: string): Promise<ByteObjectMirror>;
  fromLocalCharacter(c: string | number): Promise<ObjectMirror>;
  fromLocalInteger(n: number | bigint): Promise<ObjectMirror>;
  fromLocalFloat(x: number): Promise<ObjectMirror>;
  fromLocalBoolean(b: boolean): Promise<ObjectMirror>;
  fromLocalArray(values: LocalValue[]): Promise<ObjectMirror>;
  fromLocalByteArray(bytes: Uint8Array): Promise<ByteObjectMirror>;
  toLocal(mirror: ObjectMirror): Promise<LocalValue>;
  toLocalString(mirror: ObjectMirror): Promise<string>;
  toLocalSymbol(mirror: ObjectMirror): Promise<string>;
  toLocalInteger(mirror: ObjectMirror): Promise<bigint>;
  toLocalFloat(mirror: ObjectMirror): Promise<number>;
  toLocalCharacter(mirror: ObjectMirror): Promise<string>;
  toLocalBoolean(mirror: ObjectMirror): Promise<boolean>;
  toLocalArray(mirror: ObjectMirror): Promise<LocalValue[]>;
  toLocalByteArray(mirror: ObjectMirror): Promise<Uint8Array>;

  // creation (the bootstrap uses these before any class exists)
  createObjectWithFormat(format: ObjectFormat, indexableSize?: number): Promise<ObjectMirror>;
  createClassWithFormat(classFormat: { format: ObjectFormat; instanceSize: number }, instancesFormat: { format: ObjectFormat; instanceSize: number }): Promise<ClassMirror>;

  // processes and execution
  scheduler(): Promise<ProcessSchedulerMirror>;
  processes(): Promise<ProcessMirror[]>;
  createProcess(priority: number, source: string, receiver?: ObjectMirror): Promise<ProcessMirror>;
  installAsActiveProcess(process: ProcessMirror): Promise<void>;
  /** lets the guest run for one slice */
  transferControl(budget?: RunBudget): Promise<SliceReport>;
  /** runs until `process` finishes, fails, or the budget is spent */
  runUntilFinished(process: ProcessMirror, budget?: RunBudget): Promise<RunOutcome>;
  evaluate(source: string, options?: EvaluateOptions): Promise<EvaluationResult>;
  /** stops the running guest at its next interrupt check, leaving it as it was */
  interrupt(): Promise<void>;

  // whole image
  /** a full collection (default), or a young one (the objects allocated since the last collection) */
  collectGarbage(kind?: "full" | "young"): Promise<void>;
  stats(): Promise<SpaceStats>;
  /** the image file bytes of the space as it is now */
  snapshot(): Promise<Uint8Array>;
  /** releases every mirror of this client (local: all mirrors made by this space object) */
  releaseAll(): void;
}
