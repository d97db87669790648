/**
 * Remote mirrors: each is a handle of the client's session on the server, and implements exactly the
 * mirror interface of objectSpace.ts, so that tools cannot tell it from a local mirror. Every method is one
 * round trip (describe() included); using a released mirror, or a mirror of another space as an
 * argument, fails here as it fails locally, without a round trip.
 */
import type {
  ByteObjectMirror, ClassMirror, ClassPoolMirror, CompileOptions, ContextMirror, MetaclassMirror, MethodDictionaryMirror, MethodMirror,
  MirrorKind, ObjectDescription, ObjectFormat, ObjectMirror, ProcessMirror, ProcessSchedulerMirror, ProcessState, SubclassDefinition,
  WordObjectMirror,
} from "../../membrane/objectSpace.js";
import { MembraneError } from "../../membrane/objectSpace.js";
import type { LocalValue } from "../../membrane/values.js";
import { decodeLocal, plainBytes, type MirrorRef } from "../wire.js";
import type { RemoteObjectSpace } from "./space.js";

type Reply = Record<string, any>;

export class RemoteObjectMirror implements ObjectMirror {
  private releasedHere = false;
  /** the space's release generation when this mirror was made (releaseAll makes older mirrors released) */
  readonly generation: number;
  readonly groupGeneration: number;

  constructor(
    readonly space: RemoteObjectSpace,
    readonly handle: string,
    readonly kind: MirrorKind,
  ) {
    this.generation = space.root.generation;
    this.groupGeneration = space.connection.groupGeneration(space.groupName);
  }

  get released(): boolean {
    return (
      this.releasedHere ||
      this.space.root.generation !== this.generation ||
      (this.space.groupName !== "" && this.space.connection.groupGeneration(this.space.groupName) !== this.groupGeneration)
    );
  }

  /** The handle, or the error the local implementation gives for a released mirror. */
  liveHandle(): string {
    if (this.released) throw new MembraneError("released", "this mirror was released");
    return this.handle;
  }

  protected async call(name: string, args: Record<string, unknown> = {}): Promise<Reply> {
    return this.space.mirrorCall(this, name, args);
  }

  protected async mirror(name: string, args: Record<string, unknown> = {}): Promise<any> {
    return this.space.mirrorFrom((await this.call(name, args)).mirror);
  }
  protected async optionalMirror(name: string, args: Record<string, unknown> = {}): Promise<any> {
    const m = (await this.call(name, args)).mirror;
    return m ? this.space.mirrorFrom(m) : undefined;
  }
  protected async mirrors(name: string, args: Record<string, unknown> = {}): Promise<any[]> {
    return ((await this.call(name, args)).mirrors ?? []).map((m: MirrorRef) => this.space.mirrorFrom(m));
  }
  protected async string(name: string, args: Record<string, unknown> = {}): Promise<any> {
    return (await this.call(name, args)).value ?? "";
  }
  protected async optionalString(name: string, args: Record<string, unknown> = {}): Promise<string | undefined> {
    return (await this.call(name, args)).value ?? undefined;
  }
  protected async strings(name: string, args: Record<string, unknown> = {}): Promise<string[]> {
    return (await this.call(name, args)).values ?? [];
  }
  protected async number(name: string, args: Record<string, unknown> = {}): Promise<number> {
    return (await this.call(name, args)).value ?? 0;
  }
  protected async optionalNumber(name: string, args: Record<string, unknown> = {}): Promise<number | undefined> {
    return (await this.call(name, args)).value ?? undefined;
  }
  protected async bool(name: string, args: Record<string, unknown> = {}): Promise<boolean> {
    return (await this.call(name, args)).value ?? false;
  }
  protected async void(name: string, args: Record<string, unknown> = {}): Promise<void> {
    await this.call(name, args);
  }
  /** An argument value (this mirror is checked first, as the local implementation does). */
  protected arg(value: ObjectMirror | LocalValue): unknown {
    this.liveHandle();
    return this.space.argValue(value);
  }
  /** A mirror argument's handle (this mirror checked first; the argument when the space uses it). */
  protected own(m: ObjectMirror): string {
    this.liveHandle();
    return this.space.lazyHandle(m);
  }

  /** A mirror of a more specific kind: this one when the server says it is the same handle. */
  private async as<T>(name: string): Promise<T> {
    const ref = (await this.call(name)).mirror as MirrorRef;
    if (ref?.handle === this.handle) return this as unknown as T;
    return this.space.mirrorFrom(ref) as unknown as T;
  }

  at(index: number): Promise<ObjectMirror> {
    return this.mirror("MirrorAt", { index });
  }
  async atPut(index: number, value: ObjectMirror | LocalValue): Promise<void> {
    return this.void("MirrorAtPut", { index, value: this.arg(value) });
  }
  instVarAt(index: number): Promise<ObjectMirror> {
    return this.mirror("MirrorInstVarAt", { index });
  }
  async instVarAtPut(index: number, value: ObjectMirror | LocalValue): Promise<void> {
    return this.void("MirrorInstVarAtPut", { index, value: this.arg(value) });
  }
  instVarNamed(name: string): Promise<ObjectMirror> {
    return this.mirror("MirrorInstVarNamed", { name });
  }
  async instVarNamedPut(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    return this.void("MirrorInstVarNamedPut", { name, value: this.arg(value) });
  }
  fixedSize(): Promise<number> {
    return this.number("MirrorFixedSize");
  }
  variableSize(): Promise<number> {
    return this.number("MirrorVariableSize");
  }
  format(): Promise<ObjectFormat> {
    return this.string("MirrorFormat");
  }
  getClass(): Promise<ClassMirror> {
    return this.mirror("MirrorGetClass");
  }
  async setClass(cls: ClassMirror): Promise<void> {
    return this.void("MirrorSetClass", { cls: this.own(cls) });
  }
  identityHash(): Promise<number> {
    return this.number("MirrorIdentityHash");
  }
  isNilObject(): Promise<boolean> {
    return this.bool("MirrorIsNilObject");
  }
  isSmallInteger(): Promise<boolean> {
    return this.bool("MirrorIsSmallInteger");
  }
  isCharacter(): Promise<boolean> {
    return this.bool("MirrorIsCharacter");
  }
  async isIdenticalTo(other: ObjectMirror): Promise<boolean> {
    return this.bool("MirrorIsIdenticalTo", { other: this.space.ownHandle(other) });
  }
  asBoolean(): Promise<boolean> {
    return this.bool("MirrorAsBoolean");
  }
  async toLocal(): Promise<LocalValue> {
    return decodeLocal((await this.call("MirrorToLocal")).value);
  }
  printString(): Promise<string> {
    return this.string("MirrorPrintString");
  }
  async describe(pageOffset?: number, pageSize?: number): Promise<ObjectDescription> {
    return decodeDescription(await this.call("MirrorDescribe", { pageOffset, pageSize }));
  }
  asClass(): Promise<ClassMirror> {
    return this.as("MirrorAsClass");
  }
  asMethod(): Promise<MethodMirror> {
    return this.as("MirrorAsMethod");
  }
  asContext(): Promise<ContextMirror> {
    return this.as("MirrorAsContext");
  }
  asProcess(): Promise<ProcessMirror> {
    return this.as("MirrorAsProcess");
  }
  asBytes(): Promise<ByteObjectMirror> {
    return this.as("MirrorAsBytes");
  }
  asWords(): Promise<WordObjectMirror> {
    return this.as("MirrorAsWords");
  }
  release(): void {
    if (this.releasedHere) return;
    const wasLive = !this.released;
    this.releasedHere = true;
    if (wasLive) this.space.connection.queueRelease(this.handle);
  }
}

export function decodeDescription(r: Reply): ObjectDescription {
  return {
    className: r.className ?? "",
    format: r.format ?? "",
    kind: r.kind ?? "object",
    fixedSize: r.fixedSize ?? 0,
    variableSize: r.variableSize ?? 0,
    identityHash: r.identityHash ?? 0,
    printString: r.printString ?? "",
    namedFields: (r.namedFields ?? []).map((f: Reply) => ({ name: f.name ?? "", value: f.value ?? "" })),
    indexedFields: (r.indexedFields ?? []).map((f: Reply) => ({ index: f.index ?? 0, value: f.value ?? "" })),
  };
}

export class RemoteByteObjectMirror extends RemoteObjectMirror implements ByteObjectMirror {
  async bytes(): Promise<Uint8Array> {
    return plainBytes((await this.call("BytesBytes")).value ?? new Uint8Array(0));
  }
  byteAt(index: number): Promise<number> {
    return this.number("BytesByteAt", { index });
  }
  byteAtPut(index: number, value: number): Promise<void> {
    return this.void("BytesByteAtPut", { index, value });
  }
  asString(): Promise<string> {
    return this.string("BytesAsString");
  }
}

export class RemoteWordObjectMirror extends RemoteObjectMirror implements WordObjectMirror {
  wordAt(index: number): Promise<number> {
    return this.number("WordsWordAt", { index });
  }
  wordAtPut(index: number, value: number): Promise<void> {
    return this.void("WordsWordAtPut", { index, value });
  }
  async words(): Promise<Uint32Array> {
    return Uint32Array.from((await this.call("WordsWords")).values ?? []);
  }
}

export class RemoteClassMirror extends RemoteObjectMirror implements ClassMirror {
  name(): Promise<string> {
    return this.string("ClassName");
  }
  superclass(): Promise<ClassMirror | undefined> {
    return this.optionalMirror("ClassSuperclass");
  }
  async setSuperclass(cls: ClassMirror | undefined): Promise<void> {
    return this.void("ClassSetSuperclass", { superclass: cls ? this.own(cls) : (this.liveHandle(), undefined) });
  }
  subclasses(): Promise<ClassMirror[]> {
    return this.mirrors("ClassSubclasses");
  }
  instVarNames(): Promise<string[]> {
    return this.strings("ClassInstVarNames");
  }
  allInstVarNames(): Promise<string[]> {
    return this.strings("ClassAllInstVarNames");
  }
  category(): Promise<string> {
    return this.string("ClassCategory");
  }
  instanceFormat(): Promise<ObjectFormat> {
    return this.string("ClassInstanceFormat");
  }
  instanceSize(): Promise<number> {
    return this.number("ClassInstanceSize");
  }
  selectors(): Promise<string[]> {
    return this.strings("ClassSelectors");
  }
  includesSelector(selector: string): Promise<boolean> {
    return this.bool("ClassIncludesSelector", { selector });
  }
  methodAt(selector: string): Promise<MethodMirror | undefined> {
    return this.optionalMirror("ClassMethodAt", { selector });
  }
  lookup(selector: string): Promise<MethodMirror | undefined> {
    return this.optionalMirror("ClassLookup", { selector });
  }
  compile(source: string, options?: CompileOptions): Promise<MethodMirror> {
    return this.mirror("ClassCompile", { source, options });
  }
  removeMethod(selector: string, options?: { logChange?: boolean }): Promise<void> {
    return this.void("ClassRemoveMethod", { selector, logChange: options?.logChange });
  }
  methodDictionary(): Promise<MethodDictionaryMirror> {
    return this.mirror("ClassMethodDictionary");
  }
  classPool(): Promise<ClassPoolMirror> {
    return this.mirror("ClassClassPool");
  }
  metaclass(): Promise<MetaclassMirror> {
    return this.mirror("ClassMetaclass");
  }
  defineSubclass(definition: SubclassDefinition): Promise<ClassMirror> {
    return this.mirror("ClassDefineSubclass", { definition });
  }
  allInstances(): Promise<ObjectMirror[]> {
    return this.mirrors("ClassAllInstances");
  }
  newInstance(indexableSize?: number): Promise<ObjectMirror> {
    return this.mirror("ClassNewInstance", { indexableSize });
  }
}

export class RemoteMetaclassMirror extends RemoteClassMirror implements MetaclassMirror {
  thisClass(): Promise<ClassMirror> {
    return this.mirror("MetaclassThisClass");
  }
}

export class RemoteClassPoolMirror extends RemoteObjectMirror implements ClassPoolMirror {
  names(): Promise<string[]> {
    return this.strings("ClassPoolNames");
  }
  valueAt(name: string): Promise<ObjectMirror | undefined> {
    return this.optionalMirror("ClassPoolValueAt", { name });
  }
  async valueAtPut(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    return this.void("ClassPoolValueAtPut", { name, value: this.arg(value) });
  }
}

export class RemoteMethodDictionaryMirror extends RemoteObjectMirror implements MethodDictionaryMirror {
  selectors(): Promise<string[]> {
    return this.strings("MethodDictionarySelectors");
  }
  methodAt(selector: string): Promise<MethodMirror | undefined> {
    return this.optionalMirror("MethodDictionaryMethodAt", { selector });
  }
  size(): Promise<number> {
    return this.number("MethodDictionarySize");
  }
}

export class RemoteMethodMirror extends RemoteObjectMirror implements MethodMirror {
  selector(): Promise<string> {
    return this.string("MethodSelector");
  }
  methodClass(): Promise<ClassMirror | undefined> {
    return this.optionalMirror("MethodMethodClass");
  }
  source(): Promise<string | undefined> {
    return this.optionalString("MethodSource");
  }
  numArgs(): Promise<number> {
    return this.number("MethodNumArgs");
  }
  numTemps(): Promise<number> {
    return this.number("MethodNumTemps");
  }
  primitive(): Promise<number> {
    return this.number("MethodPrimitive");
  }
  literals(): Promise<ObjectMirror[]> {
    return this.mirrors("MethodLiterals");
  }
  async bytecodes(): Promise<Uint8Array> {
    return plainBytes((await this.call("MethodBytecodes")).value ?? new Uint8Array(0));
  }
  disassembly(): Promise<string[]> {
    return this.strings("MethodDisassembly");
  }
  lineForPc(pc: number): Promise<number | undefined> {
    return this.optionalNumber("MethodLineForPc", { pc });
  }
}

export class RemoteContextMirror extends RemoteObjectMirror implements ContextMirror {
  method(): Promise<MethodMirror> {
    return this.mirror("ContextMethod");
  }
  pc(): Promise<number | undefined> {
    return this.optionalNumber("ContextPc");
  }
  receiver(): Promise<ObjectMirror> {
    return this.mirror("ContextReceiver");
  }
  sender(): Promise<ContextMirror | undefined> {
    return this.optionalMirror("ContextSender");
  }
  isDead(): Promise<boolean> {
    return this.bool("ContextIsDead");
  }
  isBlockContext(): Promise<boolean> {
    return this.bool("ContextIsBlockContext");
  }
  arguments(): Promise<ObjectMirror[]> {
    return this.mirrors("ContextArguments");
  }
  tempNames(): Promise<string[]> {
    return this.strings("ContextTempNames");
  }
  tempNamed(name: string): Promise<ObjectMirror> {
    return this.mirror("ContextTempNamed", { name });
  }
  async tempNamedPut(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    return this.void("ContextTempNamedPut", { name, value: this.arg(value) });
  }
  stack(): Promise<ObjectMirror[]> {
    return this.mirrors("ContextStack");
  }
  description(): Promise<string> {
    return this.string("ContextDescription");
  }
  line(): Promise<number | undefined> {
    return this.optionalNumber("ContextLine");
  }
  restart(): Promise<void> {
    return this.void("ContextRestart");
  }
  async returnValue(value: ObjectMirror | LocalValue): Promise<void> {
    return this.void("ContextReturnValue", { value: this.arg(value) });
  }
}

export class RemoteProcessMirror extends RemoteObjectMirror implements ProcessMirror {
  name(): Promise<string> {
    return this.string("ProcessName");
  }
  priority(): Promise<number> {
    return this.number("ProcessPriority");
  }
  setPriority(priority: number): Promise<void> {
    return this.void("ProcessSetPriority", { priority });
  }
  state(): Promise<ProcessState> {
    return this.string("ProcessState");
  }
  suspendedContext(): Promise<ContextMirror | undefined> {
    return this.optionalMirror("ProcessSuspendedContext");
  }
  stack(limit?: number): Promise<ContextMirror[]> {
    return this.mirrors("ProcessStack", { limit });
  }
  suspend(): Promise<void> {
    return this.void("ProcessSuspend");
  }
  resume(): Promise<void> {
    return this.void("ProcessResume");
  }
  terminate(): Promise<void> {
    return this.void("ProcessTerminate");
  }
  failure(): Promise<ObjectMirror | undefined> {
    return this.optionalMirror("ProcessFailure");
  }
}

export class RemoteProcessSchedulerMirror extends RemoteObjectMirror implements ProcessSchedulerMirror {
  activeProcess(): Promise<ProcessMirror | undefined> {
    return this.optionalMirror("SchedulerActiveProcess");
  }
  async readyLists(): Promise<Array<{ priority: number; processes: ProcessMirror[] }>> {
    const r = await this.call("SchedulerReadyLists");
    return (r.lists ?? []).map((l: Reply) => ({
      priority: l.priority ?? 0,
      processes: (l.processes ?? []).map((p: MirrorRef) => this.space.mirrorFrom(p) as RemoteProcessMirror),
    }));
  }
}

const CLASSES: Partial<Record<MirrorKind, new (space: RemoteObjectSpace, handle: string, kind: MirrorKind) => RemoteObjectMirror>> = {
  bytes: RemoteByteObjectMirror,
  words: RemoteWordObjectMirror,
  class: RemoteClassMirror,
  metaclass: RemoteMetaclassMirror,
  classPool: RemoteClassPoolMirror,
  methodDictionary: RemoteMethodDictionaryMirror,
  method: RemoteMethodMirror,
  context: RemoteContextMirror,
  process: RemoteProcessMirror,
  scheduler: RemoteProcessSchedulerMirror,
};

export function remoteMirror(space: RemoteObjectSpace, ref: MirrorRef): RemoteObjectMirror {
  const kind = ref.kind as MirrorKind;
  const cls = CLASSES[kind] ?? RemoteObjectMirror;
  return new cls(space, ref.handle, kind);
}
