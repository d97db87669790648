/**
 * Mirrors on the objects of a local object space (the paper's section 4.2). A mirror holds a VM handle,
 * so its object stays alive and followed across collections until the mirror is released. Every
 * operation checks the mirror, its arguments and its indexes first and reports a MembraneError; none of
 * them can corrupt the guest or crash the host.
 */
import type { Handle, ObjectMemory } from "../../vm/memory/heap.js";
import { Format, isBytesFormat, isCompiledMethodFormat, isPointersFormat, instSizeOf, instSpecOf } from "../../vm/memory/format.js";
import { Special } from "../../vm/memory/special.js";
import {
  AssociationLayout, BehaviorLayout, ClassLayout, ContextLayout, CONTEXT_FIXED_SIZE, MetaclassLayout, ProcessLayout,
  ProcessorSchedulerLayout, BlockClosureLayout, LinkedListLayout,
} from "../../vm/memory/layout.js";
import { characterOop, characterValue, isCharacter, isSmallInt, smallIntOop, smallIntValue, type Oop } from "../../vm/memory/oop.js";
import { bigIntValueOf, integerObjectOf } from "../../vm/memory/integers.js";
import { lookupSymbol } from "../../vm/memory/symbols.js";
import { lookupMethodInClass } from "../../vm/interpreter/lookup.js";
import { decodeMethodHeader, initialPC } from "../../vm/method/header.js";
import { decodeTrailer } from "../../vm/method/trailer.js";
import { disassemble } from "../../vm/bytecode/disassembler.js";
import { isLiveContext } from "../../vm/interpreter/contexts.js";
import type {
  ByteObjectMirror, ClassMirror, ClassPoolMirror, CompileOptions, ContextMirror, MetaclassMirror, MethodDictionaryMirror,
  MethodMirror, MirrorKind, ObjectDescription, ObjectFormat, ObjectMirror, ProcessMirror, ProcessSchedulerMirror,
  ProcessState, SubclassDefinition, WordObjectMirror,
} from "../objectSpace.js";
import { MembraneError } from "../objectSpace.js";
import type { LocalValue } from "../values.js";
import {
  allInstVarNames, bytesText, className, classPoolOf, dictionaryAssociationAt, dictionaryAssociations, dictionaryAtPut, GuestError,
  isMetaclass, isNil, methodAt, methodDictionaryEntries, methodDictionaryOf, ownInstVarNames, superclassOf,
} from "../../vm/contract/guest.js";
import { formatName, inheritsFrom, inheritsFromSpecial } from "./classify.js";
import { shortDescription } from "./describe.js";
import type { LocalObjectSpace } from "./space.js";
import { shield } from "./shield.js";

function checkIndexValue(index: unknown, size: number, what: string, describe: () => string): number {
  if (typeof index !== "number" || !Number.isInteger(index) || index < 1 || index > size) {
    throw new MembraneError("outOfRange", `${what} ${String(index)} is out of range 1..${size} for ${describe()}`);
  }
  return index;
}

/** A literal as a disassembly shows it: variable bindings by their name (`Processor`), others as literals. */
function literalDescription(mem: ObjectMemory, oop: Oop): string {
  if ((oop & 3) === 0 && !isNil(mem, oop) && isPointersFormat(mem.formatOf(oop)) && mem.slotCount(oop) === 2) {
    const cls = mem.classOfPointer(oop);
    if (cls !== 0 && (cls === mem.specialObject(Special.classAssociation) || inheritsFromSpecial(mem, cls, Special.classAssociation))) {
      const key = bytesText(mem, mem.fetchPointer(oop, AssociationLayout.key));
      if (key !== undefined) return key;
    }
  }
  return shortDescription(mem, oop);
}

export class LocalObjectMirror implements ObjectMirror {
  constructor(
    readonly space: LocalObjectSpace,
    readonly handle: Handle,
    readonly kind: MirrorKind,
  ) {}

  /** The mirrored oop; throws when the mirror was released. */
  get oop(): Oop {
    if (this.handle.released) throw new MembraneError("released", "this mirror was released");
    return this.handle.oop;
  }

  protected get mem() {
    return this.space.mem;
  }

  protected describeSelf(): string {
    return shortDescription(this.mem, this.oop);
  }

  protected checkIndex(index: number, size: number, what: string): number {
    return checkIndexValue(index, size, what, () => this.describeSelf());
  }

  private isImmediate(): boolean {
    return (this.oop & 3) !== 0;
  }

  /** The active context's registers live in the interpreter; write them back before reading the context. */
  protected sync(): void {
    if (this.oop === this.space.vm.activeContext) this.space.vm.storeContextRegisters();
  }

  async fixedSize(): Promise<number> {
    const oop = this.oop;
    if (this.isImmediate()) return 0;
    return isPointersFormat(this.mem.formatOf(oop)) ? this.mem.fixedFieldsOf(oop) : 0;
  }

  async variableSize(): Promise<number> {
    const oop = this.oop;
    if (this.isImmediate()) return 0;
    return this.mem.indexableSize(oop);
  }

  async format(): Promise<ObjectFormat> {
    const oop = this.oop;
    if (this.isImmediate()) return "empty";
    return formatName(this.mem.formatOf(oop));
  }

  /** The oop at indexable index (1-based), as the guest's at: would answer. */
  protected indexedOop(index: number): Oop {
    const mem = this.mem;
    const oop = this.oop;
    const size = this.isImmediate() ? 0 : mem.indexableSize(oop);
    this.checkIndex(index, size, "index");
    const fmt = mem.formatOf(oop);
    if (isPointersFormat(fmt)) {
      this.sync();
      return mem.fetchPointer(oop, mem.fixedFieldsOf(oop) + index - 1);
    }
    if (fmt === Format.words) return this.space.newOop(integerObjectOf(mem, mem.fetchWord(oop, index - 1)), "an integer");
    if (isCompiledMethodFormat(fmt)) return smallIntOop(mem.fetchByte(oop, index - 1));
    const byte = mem.fetchByte(oop, index - 1);
    if (isBytesFormat(fmt) && inheritsFromSpecial(mem, mem.classOfPointer(oop), Special.classString)) return characterOop(byte);
    return smallIntOop(byte);
  }

  async at(index: number): Promise<ObjectMirror> {
    return this.space.mirrorOn(this.indexedOop(index));
  }

  async atPut(index: number, value: ObjectMirror | LocalValue): Promise<void> {
    const mem = this.mem;
    const oop = this.oop;
    this.checkIndex(index, this.isImmediate() ? 0 : mem.indexableSize(oop), "index");
    const fmt = mem.formatOf(oop);
    if (isCompiledMethodFormat(fmt)) throw new MembraneError("invalidArgument", "a method's bytes change by compiling (ClassMirror.compile), not with atPut");
    const v = this.space.toOop(value);
    if (isPointersFormat(fmt)) {
      this.sync();
      mem.storePointer(this.oop, mem.fixedFieldsOf(this.oop) + index - 1, v);
      return;
    }
    if (fmt === Format.words) {
      const n = bigIntValueOf(mem, v);
      if (n === undefined || n < 0n || n > 0xffffffffn) throw new MembraneError("invalidArgument", "a word object holds integers 0..4294967295");
      mem.storeWord(this.oop, index - 1, Number(n));
      return;
    }
    let byte: number;
    if (isCharacter(v)) byte = characterValue(v);
    else if (isSmallInt(v)) byte = smallIntValue(v);
    else throw new MembraneError("invalidArgument", "a byte object holds characters or integers 0..255");
    if (byte < 0 || byte > 255) throw new MembraneError("invalidArgument", `${byte} does not fit in a byte`);
    mem.storeByte(this.oop, index - 1, byte);
  }

  async instVarAt(index: number): Promise<ObjectMirror> {
    const fixed = await this.fixedSize();
    const total = fixed + (await this.variableSize());
    this.checkIndex(index, total, "instance variable index");
    if (index <= fixed) {
      this.sync();
      return this.space.mirrorOn(this.mem.fetchPointer(this.oop, index - 1));
    }
    return this.at(index - fixed);
  }

  async instVarAtPut(index: number, value: ObjectMirror | LocalValue): Promise<void> {
    const fixed = await this.fixedSize();
    const total = fixed + (await this.variableSize());
    this.checkIndex(index, total, "instance variable index");
    if (index <= fixed) {
      const v = this.space.toOop(value);
      this.sync();
      this.mem.storePointer(this.oop, index - 1, v);
      return;
    }
    return this.atPut(index - fixed, value);
  }

  private fieldIndex(name: string): number {
    const oop = this.oop;
    if (typeof name !== "string") throw new MembraneError("invalidArgument", "an instance variable name is a string");
    if ((oop & 3) !== 0) throw new MembraneError("notFound", `${this.describeSelf()} is immediate and has no instance variable named ${name}`);
    const cls = this.mem.classOfPointer(oop);
    const names = cls === 0 ? [] : allInstVarNames(this.mem, cls);
    const i = names.indexOf(name);
    if (i < 0) throw new MembraneError("notFound", `${this.describeSelf()} has no instance variable named ${name}`);
    return i + 1;
  }

  async instVarNamed(name: string): Promise<ObjectMirror> {
    return this.instVarAt(this.fieldIndex(name));
  }

  async instVarNamedPut(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    return this.instVarAtPut(this.fieldIndex(name), value);
  }

  async getClass(): Promise<ClassMirror> {
    const cls = this.mem.fetchClassOf(this.oop);
    if (cls === 0) throw new MembraneError("failedPrecondition", "this object has no class yet (it was created with createObjectWithFormat)");
    return this.space.mirrorOfKind(cls, isMetaclass(this.mem, cls) ? "metaclass" : "class") as unknown as ClassMirror;
  }

  async setClass(cls: ClassMirror): Promise<void> {
    const mem = this.mem;
    const oop = this.oop;
    const c = this.space.ownClass(cls);
    if ((oop & 3) !== 0) throw new MembraneError("invalidArgument", "the class of an immediate object cannot change");
    const fmtSlot = mem.fetchPointer(c, BehaviorLayout.format);
    if (isSmallInt(fmtSlot) && mem.classOfPointer(oop) !== 0) {
      const spec = instSpecOf(fmtSlot >> 1);
      const size = instSizeOf(fmtSlot >> 1);
      const fmt = mem.formatOf(oop);
      const family = (f: number) => (f >= Format.compiledMethod ? 12 : f >= Format.bytes ? 8 : f <= Format.fixed ? 0 : f);
      const compatible = family(spec) === family(fmt) || (spec === Format.fixedIndexable && fmt === Format.indexable && size === 0);
      if (!compatible) throw new MembraneError("invalidArgument", `instances of ${className(mem, c)} cannot have the format of ${this.describeSelf()}`);
      if ((spec === Format.fixed || spec === Format.empty) && mem.slotCount(oop) !== size) {
        throw new MembraneError("invalidArgument", `instances of ${className(mem, c)} have ${size} fields, ${this.describeSelf()} has ${mem.slotCount(oop)}`);
      }
      if ((spec === Format.fixedIndexable || spec === Format.weak) && mem.slotCount(oop) < size) {
        throw new MembraneError("invalidArgument", `instances of ${className(mem, c)} have at least ${size} fields, ${this.describeSelf()} has ${mem.slotCount(oop)}`);
      }
    }
    mem.setClass(oop, c);
    this.space.vm.methodCache.flush();
  }

  async identityHash(): Promise<number> {
    const oop = this.oop;
    if (isSmallInt(oop)) return smallIntValue(oop);
    if (isCharacter(oop)) return characterValue(oop);
    return this.mem.hashOf(oop);
  }

  async isNilObject(): Promise<boolean> {
    return this.oop === this.mem.nilOop;
  }

  async isSmallInteger(): Promise<boolean> {
    return isSmallInt(this.oop);
  }

  async isCharacter(): Promise<boolean> {
    return isCharacter(this.oop);
  }

  async isIdenticalTo(other: ObjectMirror): Promise<boolean> {
    const mine = this.oop;
    return this.space.ownOop(other) === mine;
  }

  async asBoolean(): Promise<boolean> {
    if (this.oop === this.mem.trueOop) return true;
    if (this.oop === this.mem.falseOop) return false;
    throw new MembraneError("invalidArgument", `${this.describeSelf()} is not a boolean`);
  }

  async toLocal(): Promise<LocalValue> {
    this.oop;
    return this.space.toLocal(this);
  }

  async printString(): Promise<string> {
    this.oop;
    return this.space.printStringOf(this);
  }

  async describe(pageOffset = 0, pageSize = 50): Promise<ObjectDescription> {
    const mem = this.mem;
    const oop = this.oop;
    if (typeof pageOffset !== "number" || !Number.isInteger(pageOffset) || pageOffset < 0) throw new MembraneError("outOfRange", `page offset ${String(pageOffset)} must be a non-negative integer`);
    if (typeof pageSize !== "number" || !Number.isInteger(pageSize) || pageSize < 0) throw new MembraneError("invalidArgument", `page size ${String(pageSize)} must be a non-negative integer`);
    const cls = mem.fetchClassOf(oop);
    const fixed = await this.fixedSize();
    const variable = await this.variableSize();
    const names = (oop & 3) === 0 && cls !== 0 ? allInstVarNames(mem, cls) : [];
    this.sync();
    const namedFields = [];
    for (let i = 0; i < fixed; i++) namedFields.push({ name: names[i] ?? `field${i + 1}`, value: shortDescription(mem, mem.fetchPointer(oop, i)) });
    const indexedFields = [];
    const last = Math.min(variable, pageOffset + pageSize);
    for (let i = pageOffset + 1; i <= last; i++) {
      const v = this.indexedOop(i);
      indexedFields.push({ index: i, value: shortDescription(mem, v) });
    }
    const printString = await this.printString();
    return {
      className: cls === 0 ? "(no class)" : className(mem, cls),
      format: await this.format(),
      kind: this.kind,
      fixedSize: fixed,
      variableSize: variable,
      identityHash: await this.identityHash(),
      printString,
      namedFields,
      indexedFields,
    };
  }

  private as<T>(kinds: MirrorKind[], what: string): T {
    const kind = this.space.kindOf(this.oop);
    if (!kinds.includes(kind)) throw new MembraneError("invalidArgument", `${this.describeSelf()} is not ${what}`);
    if (kinds.includes(this.kind) && this.kind === kind) return this as unknown as T;
    return this.space.mirrorOfKind(this.oop, kind) as unknown as T;
  }

  async asClass(): Promise<ClassMirror> {
    if (this.kind === "class" || this.kind === "metaclass") {
      this.oop;
      return this as unknown as ClassMirror;
    }
    return this.as<ClassMirror>(["class", "metaclass"], "a class");
  }
  async asMethod(): Promise<MethodMirror> {
    return this.as<MethodMirror>(["method"], "a compiled method");
  }
  async asContext(): Promise<ContextMirror> {
    return this.as<ContextMirror>(["context"], "a context");
  }
  async asProcess(): Promise<ProcessMirror> {
    return this.as<ProcessMirror>(["process"], "a process");
  }
  async asBytes(): Promise<ByteObjectMirror> {
    return this.as<ByteObjectMirror>(["bytes"], "a byte object");
  }
  async asWords(): Promise<WordObjectMirror> {
    return this.as<WordObjectMirror>(["words"], "a word object");
  }

  release(): void {
    this.space.forget(this);
  }
}

export class LocalByteObjectMirror extends LocalObjectMirror implements ByteObjectMirror {
  async bytes(): Promise<Uint8Array> {
    return this.mem.bytesView(this.oop).slice();
  }
  async byteAt(index: number): Promise<number> {
    this.checkIndex(index, this.mem.byteLength(this.oop), "byte index");
    return this.mem.fetchByte(this.oop, index - 1);
  }
  async byteAtPut(index: number, value: number): Promise<void> {
    this.checkIndex(index, this.mem.byteLength(this.oop), "byte index");
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 255) throw new MembraneError("invalidArgument", `${String(value)} does not fit in a byte`);
    this.mem.storeByte(this.oop, index - 1, value);
  }
  async asString(): Promise<string> {
    return this.mem.stringOf(this.oop);
  }
}

export class LocalWordObjectMirror extends LocalObjectMirror implements WordObjectMirror {
  async wordAt(index: number): Promise<number> {
    this.checkIndex(index, this.mem.slotCount(this.oop), "word index");
    return this.mem.fetchWord(this.oop, index - 1) >>> 0;
  }
  async wordAtPut(index: number, value: number): Promise<void> {
    this.checkIndex(index, this.mem.slotCount(this.oop), "word index");
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new MembraneError("invalidArgument", `${String(value)} does not fit in a word`);
    this.mem.storeWord(this.oop, index - 1, value);
  }
  async words(): Promise<Uint32Array> {
    const n = this.mem.slotCount(this.oop);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.mem.fetchWord(this.oop, i);
    return out;
  }
}

export class LocalClassMirror extends LocalObjectMirror implements ClassMirror {
  async name(): Promise<string> {
    return className(this.mem, this.oop);
  }

  async superclass(): Promise<ClassMirror | undefined> {
    const s = superclassOf(this.mem, this.oop);
    return isNil(this.mem, s) ? undefined : (await this.space.mirrorOn(s)).asClass();
  }

  async setSuperclass(cls: ClassMirror | undefined): Promise<void> {
    const mem = this.mem;
    const me = this.oop;
    const s = cls === undefined ? mem.nilOop : this.space.ownClass(cls);
    if (s === me || (!isNil(mem, s) && inheritsFrom(mem, s, me))) {
      throw new MembraneError("invalidArgument", `${className(mem, s)} cannot be the superclass of ${className(mem, me)}: the hierarchy would loop`);
    }
    mem.storePointer(me, BehaviorLayout.superclass, s);
    this.space.vm.methodCache.flush();
  }

  async subclasses(): Promise<ClassMirror[]> {
    const mem = this.mem;
    const me = this.oop;
    const meta = isMetaclass(mem, me);
    const out: ClassMirror[] = [];
    for (const c of this.space.classOops()) {
      const target = meta ? mem.fetchClassOf(c) : c;
      if (superclassOf(mem, target) === me) out.push(this.space.mirrorOfKind(target, meta ? "metaclass" : "class") as unknown as ClassMirror);
    }
    return out;
  }

  async instVarNames(): Promise<string[]> {
    return ownInstVarNames(this.mem, this.oop);
  }

  async allInstVarNames(): Promise<string[]> {
    return allInstVarNames(this.mem, this.oop);
  }

  async category(): Promise<string> {
    const mem = this.mem;
    const base = isMetaclass(mem, this.oop) ? mem.fetchPointer(this.oop, MetaclassLayout.thisClass) : this.oop;
    if ((base & 3) !== 0 || isNil(mem, base) || mem.slotCount(base) <= ClassLayout.category) return "";
    return bytesText(mem, mem.fetchPointer(base, ClassLayout.category)) ?? "";
  }

  async instanceFormat(): Promise<ObjectFormat> {
    return formatName(instSpecOf(this.mem.classFormatOf(this.oop)));
  }

  async instanceSize(): Promise<number> {
    return instSizeOf(this.mem.classFormatOf(this.oop));
  }

  async selectors(): Promise<string[]> {
    return methodDictionaryEntries(this.mem, methodDictionaryOf(this.mem, this.oop))
      .map((e) => bytesText(this.mem, e.selector) ?? "?")
      .sort();
  }

  async includesSelector(selector: string): Promise<boolean> {
    return (await this.methodOop(selector)) !== 0;
  }

  private async methodOop(selector: string): Promise<Oop> {
    const me = this.oop;
    if (typeof selector !== "string") throw new MembraneError("invalidArgument", "a selector is a string");
    const sym = lookupSymbol(this.mem, selector);
    return sym === 0 ? 0 : methodAt(this.mem, me, sym);
  }

  async methodAt(selector: string): Promise<MethodMirror | undefined> {
    const m = await this.methodOop(selector);
    return m === 0 ? undefined : (this.space.mirrorOfKind(m, "method") as unknown as MethodMirror);
  }

  async lookup(selector: string): Promise<MethodMirror | undefined> {
    const me = this.oop;
    if (typeof selector !== "string") throw new MembraneError("invalidArgument", "a selector is a string");
    const sym = lookupSymbol(this.mem, selector);
    if (sym === 0) return undefined;
    const m = lookupMethodInClass(this.mem, me, sym);
    return m === 0 ? undefined : (this.space.mirrorOfKind(m, "method") as unknown as MethodMirror);
  }

  async compile(source: string, options: CompileOptions = {}): Promise<MethodMirror> {
    return this.space.compileMethodIn(this.oop, source, options);
  }

  async removeMethod(selector: string, options: { logChange?: boolean } = {}): Promise<void> {
    return this.space.removeMethodFrom(this.oop, selector, options);
  }

  async methodDictionary(): Promise<MethodDictionaryMirror> {
    const dict = methodDictionaryOf(this.mem, this.oop);
    if (isNil(this.mem, dict)) throw new MembraneError("notFound", `${className(this.mem, this.oop)} has no method dictionary`);
    return this.space.mirrorOfKind(dict, "methodDictionary") as LocalMethodDictionaryMirror;
  }

  async classPool(): Promise<ClassPoolMirror> {
    const pool = classPoolOf(this.mem, this.oop);
    if (isNil(this.mem, pool)) throw new MembraneError("notFound", `${className(this.mem, this.oop)} has no class variables`);
    return this.space.mirrorOfKind(pool, "classPool") as LocalClassPoolMirror;
  }

  async metaclass(): Promise<MetaclassMirror> {
    const meta = this.mem.fetchClassOf(this.oop);
    if (meta === 0) throw new MembraneError("failedPrecondition", "this class has no metaclass yet (it was created with createClassWithFormat)");
    return this.space.mirrorOfKind(meta, "metaclass") as LocalMetaclassMirror;
  }

  async defineSubclass(definition: SubclassDefinition): Promise<ClassMirror> {
    return this.space.defineClass(this.oop, definition);
  }

  async allInstances(): Promise<ObjectMirror[]> {
    return this.space.allInstancesOf(this.oop);
  }

  async newInstance(indexableSize = 0): Promise<ObjectMirror> {
    const mem = this.mem;
    const me = this.oop;
    if (typeof indexableSize !== "number" || !Number.isInteger(indexableSize) || indexableSize < 0) throw new MembraneError("invalidArgument", `bad size ${String(indexableSize)}`);
    if (me === mem.specialObject(Special.classSmallInteger) || me === mem.specialObject(Special.classCharacter)) {
      throw new MembraneError("invalidArgument", `instances of ${className(mem, me)} are immediate: use fromLocal`);
    }
    const spec = instSpecOf(mem.classFormatOf(me));
    if (spec >= Format.compiledMethod) throw new MembraneError("invalidArgument", "compiled methods are made by compiling (ClassMirror.compile)");
    if (indexableSize > 0 && spec <= Format.fixed) throw new MembraneError("invalidArgument", `${className(mem, me)} is not indexable`);
    const slots = instSizeOf(mem.classFormatOf(me)) + (spec >= Format.bytes ? indexableSize / 4 : indexableSize);
    this.space.checkAllocation(slots, "an instance");
    const oop = this.space.newOop(mem.instantiate(me, indexableSize), "an instance");
    return this.space.mirrorOn(oop);
  }
}

export class LocalMetaclassMirror extends LocalClassMirror implements MetaclassMirror {
  async thisClass(): Promise<ClassMirror> {
    const cls = this.mem.slotCount(this.oop) > MetaclassLayout.thisClass ? this.mem.fetchPointer(this.oop, MetaclassLayout.thisClass) : this.mem.nilOop;
    if (!this.space.looksLikeClass(cls)) throw new MembraneError("failedPrecondition", "this metaclass has no class yet");
    return this.space.mirrorOfKind(cls, "class") as unknown as ClassMirror;
  }
}

export class LocalClassPoolMirror extends LocalObjectMirror implements ClassPoolMirror {
  async names(): Promise<string[]> {
    return dictionaryAssociations(this.mem, this.oop).map((a) => bytesText(this.mem, this.mem.fetchPointer(a, AssociationLayout.key)) ?? "?").sort();
  }
  async valueAt(name: string): Promise<ObjectMirror | undefined> {
    const me = this.oop;
    if (typeof name !== "string") throw new MembraneError("invalidArgument", "a class variable name is a string");
    const a = dictionaryAssociationAt(this.mem, me, name);
    return a === 0 ? undefined : this.space.mirrorOn(this.mem.fetchPointer(a, AssociationLayout.value));
  }
  /** Sets a class variable, adding it to the pool when it has none of that name (the bootstrap defines them so). */
  async valueAtPut(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    this.oop;
    if (typeof name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new MembraneError("invalidArgument", `${JSON.stringify(name)} is not a class variable name`);
    const v = this.space.toOop(value);
    try {
      dictionaryAtPut(this.mem, this.oop, name, v);
    } catch (e) {
      if (e instanceof GuestError) throw new MembraneError("resourceExhausted", e.message);
      throw e;
    }
  }
}

export class LocalMethodDictionaryMirror extends LocalObjectMirror implements MethodDictionaryMirror {
  async selectors(): Promise<string[]> {
    return methodDictionaryEntries(this.mem, this.oop).map((e) => bytesText(this.mem, e.selector) ?? "?").sort();
  }
  async methodAt(selector: string): Promise<MethodMirror | undefined> {
    const me = this.oop;
    if (typeof selector !== "string") throw new MembraneError("invalidArgument", "a selector is a string");
    const sym = lookupSymbol(this.mem, selector);
    const e = sym === 0 ? undefined : methodDictionaryEntries(this.mem, me).find((x) => x.selector === sym);
    return e ? (this.space.mirrorOfKind(e.method, "method") as unknown as MethodMirror) : undefined;
  }
  async size(): Promise<number> {
    return methodDictionaryEntries(this.mem, this.oop).length;
  }
}

export class LocalMethodMirror extends LocalObjectMirror implements MethodMirror {
  private header() {
    return decodeMethodHeader(this.mem.fetchPointer(this.oop, 0) >> 1);
  }
  private codeRange(): { start: number; end: number } {
    const mem = this.mem;
    const h = this.header();
    const bodyBytes = mem.bytesView(this.oop);
    const { size } = decodeTrailer(bodyBytes);
    return { start: (h.numLiterals + 1) * 4, end: bodyBytes.length - size };
  }
  async selector(): Promise<string> {
    const n = this.header().numLiterals;
    return (n >= 2 && bytesText(this.mem, this.mem.fetchPointer(this.oop, n - 1))) || "?";
  }
  async methodClass(): Promise<ClassMirror | undefined> {
    const n = this.header().numLiterals;
    if (n < 1) return undefined;
    const binding = this.mem.fetchPointer(this.oop, n);
    if ((binding & 3) !== 0 || isNil(this.mem, binding) || this.mem.slotCount(binding) < 2) return undefined;
    const cls = this.mem.fetchPointer(binding, AssociationLayout.value);
    if (!this.space.looksLikeClass(cls)) return undefined;
    return this.space.mirrorOfKind(cls, isMetaclass(this.mem, cls) ? "metaclass" : "class") as unknown as ClassMirror;
  }
  async source(): Promise<string | undefined> {
    return this.space.sourceOf(this.oop);
  }
  async numArgs(): Promise<number> {
    return this.header().numArgs;
  }
  async numTemps(): Promise<number> {
    return this.header().numTemps;
  }
  async primitive(): Promise<number> {
    return this.header().primitive;
  }
  async literals(): Promise<ObjectMirror[]> {
    const n = this.header().numLiterals;
    const out: ObjectMirror[] = [];
    for (let i = 1; i <= n; i++) out.push(await this.space.mirrorOn(this.mem.fetchPointer(this.oop, i)));
    return out;
  }
  async bytecodes(): Promise<Uint8Array> {
    const { start, end } = this.codeRange();
    return this.mem.bytesView(this.oop).slice(start, end);
  }
  async disassembly(): Promise<string[]> {
    const mem = this.mem;
    const { start } = this.codeRange();
    const code = await this.bytecodes();
    const oop = this.oop;
    return disassemble(code, {
      pcBase: start + 1,
      literal: (i) => literalDescription(mem, mem.fetchPointer(oop, 1 + i)),
    });
  }
  async lineForPc(pc: number): Promise<number | undefined> {
    const { first, last } = this.space.pcRange(this.oop);
    checkIndexValue(pc, last, "pc", () => this.describeSelf());
    if (pc < first) throw new MembraneError("outOfRange", `pc ${pc} is out of range ${first}..${last} for ${this.describeSelf()}`);
    return this.space.lineForPc(this.oop, pc);
  }
}

export class LocalContextMirror extends LocalObjectMirror implements ContextMirror {
  private field(index: number): Oop {
    this.sync();
    return this.mem.fetchPointer(this.oop, index);
  }
  private stackp(): number {
    const sp = this.field(ContextLayout.stackp);
    return isSmallInt(sp) ? Math.max(0, Math.min(smallIntValue(sp), this.mem.slotCount(this.oop) - CONTEXT_FIXED_SIZE)) : 0;
  }
  private live(): boolean {
    this.sync();
    return isLiveContext(this.space.vm, this.oop);
  }
  async method(): Promise<MethodMirror> {
    return this.space.mirrorOfKind(this.field(ContextLayout.method), "method") as unknown as MethodMirror;
  }
  async pc(): Promise<number | undefined> {
    const pc = this.field(ContextLayout.pc);
    return isSmallInt(pc) ? smallIntValue(pc) : undefined;
  }
  async receiver(): Promise<ObjectMirror> {
    return this.space.mirrorOn(this.field(ContextLayout.receiver));
  }
  async sender(): Promise<ContextMirror | undefined> {
    const s = this.field(ContextLayout.sender);
    return isNil(this.mem, s) || (s & 3) !== 0 ? undefined : (this.space.mirrorOfKind(s, "context") as unknown as ContextMirror);
  }
  async isDead(): Promise<boolean> {
    return !this.live();
  }
  async isBlockContext(): Promise<boolean> {
    return !isNil(this.mem, this.field(ContextLayout.closureOrNil));
  }
  private numArgs(): number {
    const closure = this.field(ContextLayout.closureOrNil);
    if (!isNil(this.mem, closure)) return smallIntValue(this.mem.fetchPointer(closure, BlockClosureLayout.numArgs));
    return decodeMethodHeader(this.mem.fetchPointer(this.field(ContextLayout.method), 0) >> 1).numArgs;
  }
  async arguments(): Promise<ObjectMirror[]> {
    const out: ObjectMirror[] = [];
    for (let i = 0; i < this.numArgs(); i++) out.push(await this.space.mirrorOn(this.field(CONTEXT_FIXED_SIZE + i)));
    return out;
  }
  async tempNames(): Promise<string[]> {
    this.sync();
    return this.space.tempNamesOf(this.oop);
  }
  private tempIndex(name: string): number {
    if (typeof name !== "string") throw new MembraneError("invalidArgument", "a temporary's name is a string");
    this.sync();
    const names = this.space.tempNamesOf(this.oop);
    const i = names.indexOf(name);
    if (i < 0) throw new MembraneError("notFound", `no temporary named ${name} in ${this.space.describeContext(this.oop)} (it has ${names.join(", ") || "none"})`);
    if (!this.live()) throw new MembraneError("failedPrecondition", "this context has returned: its temporaries are gone");
    if (i >= this.stackp()) throw new MembraneError("notFound", `the temporary ${name} does not exist yet at this point of ${this.space.describeContext(this.oop)}`);
    return i;
  }
  async tempNamed(name: string): Promise<ObjectMirror> {
    return this.space.mirrorOn(this.field(CONTEXT_FIXED_SIZE + this.tempIndex(name)));
  }
  async tempNamedPut(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    const i = this.tempIndex(name);
    const v = this.space.toOop(value);
    this.sync();
    this.mem.storePointer(this.oop, CONTEXT_FIXED_SIZE + i, v);
  }
  async stack(): Promise<ObjectMirror[]> {
    const out: ObjectMirror[] = [];
    const n = this.stackp();
    for (let i = 0; i < n; i++) out.push(await this.space.mirrorOn(this.field(CONTEXT_FIXED_SIZE + i)));
    return out;
  }
  async description(): Promise<string> {
    this.sync();
    return this.space.describeContext(this.oop);
  }
  async line(): Promise<number | undefined> {
    const pc = await this.pc();
    return pc === undefined ? undefined : this.space.lineForPc(this.field(ContextLayout.method), pc);
  }
  async restart(): Promise<void> {
    if (!this.live()) throw new MembraneError("failedPrecondition", "a context that has returned cannot be restarted");
    this.space.restartContext(this.oop);
  }
  async returnValue(value: ObjectMirror | LocalValue): Promise<void> {
    if (!this.live()) throw new MembraneError("failedPrecondition", "this context has already returned");
    const v = this.space.toOop(value);
    this.space.returnFromContext(this.oop, v);
  }
}

export class LocalProcessMirror extends LocalObjectMirror implements ProcessMirror {
  async name(): Promise<string> {
    return bytesText(this.mem, this.mem.fetchPointer(this.oop, ProcessLayout.name)) ?? "";
  }
  async priority(): Promise<number> {
    const p = this.mem.fetchPointer(this.oop, ProcessLayout.priority);
    return isSmallInt(p) ? smallIntValue(p) : 0;
  }
  async setPriority(priority: number): Promise<void> {
    this.space.setProcessPriority(this.oop, priority);
  }
  async state(): Promise<ProcessState> {
    return this.space.processState(this.oop);
  }
  async suspendedContext(): Promise<ContextMirror | undefined> {
    const ctx = this.space.topContextOf(this.oop);
    return ctx === 0 ? undefined : (this.space.mirrorOfKind(ctx, "context") as unknown as ContextMirror);
  }
  async stack(limit = 1000): Promise<ContextMirror[]> {
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) throw new MembraneError("invalidArgument", `bad stack limit ${String(limit)}`);
    const out: ContextMirror[] = [];
    let ctx = this.space.topContextOf(this.oop);
    while (ctx !== 0 && !isNil(this.mem, ctx) && out.length < limit) {
      out.push(this.space.mirrorOfKind(ctx, "context") as unknown as ContextMirror);
      if (ctx === this.space.vm.activeContext) this.space.vm.storeContextRegisters();
      ctx = this.mem.fetchPointer(ctx, ContextLayout.sender);
    }
    return out;
  }
  async suspend(): Promise<void> {
    this.space.suspendProcess(this.oop);
  }
  async resume(): Promise<void> {
    this.space.resumeProcess(this.oop);
  }
  async terminate(): Promise<void> {
    await this.space.terminateProcess(this.oop);
  }
  async failure(): Promise<ObjectMirror | undefined> {
    const error = this.space.failureOf(this.oop);
    return error === undefined ? undefined : this.space.mirrorOn(error);
  }
}

export class LocalProcessSchedulerMirror extends LocalObjectMirror implements ProcessSchedulerMirror {
  async activeProcess(): Promise<ProcessMirror | undefined> {
    const p = this.mem.fetchPointer(this.oop, ProcessorSchedulerLayout.activeProcess);
    return isNil(this.mem, p) ? undefined : (this.space.mirrorOfKind(p, "process") as unknown as ProcessMirror);
  }
  async readyLists(): Promise<Array<{ priority: number; processes: ProcessMirror[] }>> {
    const mem = this.mem;
    const lists = mem.fetchPointer(this.oop, ProcessorSchedulerLayout.quiescentProcessLists);
    const out: Array<{ priority: number; processes: ProcessMirror[] }> = [];
    for (let p = mem.slotCount(lists); p >= 1; p--) {
      const processes: ProcessMirror[] = [];
      let link = mem.fetchPointer(mem.fetchPointer(lists, p - 1), LinkedListLayout.firstLink);
      while (!isNil(mem, link) && processes.length < 100000) {
        processes.push(this.space.mirrorOfKind(link, "process") as unknown as ProcessMirror);
        link = mem.fetchPointer(link, ProcessLayout.nextLink);
      }
      if (processes.length > 0) out.push({ priority: p, processes });
    }
    return out;
  }
}

export { initialPC };

for (const cls of [
  LocalObjectMirror, LocalByteObjectMirror, LocalWordObjectMirror, LocalClassMirror, LocalMetaclassMirror, LocalClassPoolMirror,
  LocalMethodDictionaryMirror, LocalMethodMirror, LocalContextMirror, LocalProcessMirror, LocalProcessSchedulerMirror,
]) shield(cls.prototype);
