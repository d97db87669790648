/**
 * Mirrors on the objects of a local object space (the paper's section 4.2). A mirror holds a VM handle,
 * so its object stays alive and followed across collections until the mirror is released. Every
 * operation checks the mirror, its arguments and its indexes first and reports a MembraneError; none of
 * them can corrupt the guest or crash the host.
 */
import type { Handle } from "../../vm/memory/heap.js";
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
  allInstVarNames, bytesText, className, classPoolOf, dictionaryAssociationAt, dictionaryAssociations, dictionaryAtPut,
  isMetaclass, isNil, methodAt, methodDictionaryEntries, methodDictionaryOf, ownInstVarNames, superclassOf,
} from "../../vm/contract/guest.js";
import { formatName, inheritsFromSpecial } from "./classify.js";
import { shortDescription } from "./describe.js";
import type { LocalObjectSpace } from "./space.js";

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

  protected checkIndex(index: number, size: number, what: string): void {
    if (!Number.isInteger(index) || index < 1 || index > size) {
      throw new MembraneError("outOfRange", `${what} ${index} is out of range 1..${size} for ${shortDescription(this.mem, this.oop)}`);
    }
  }

  private pointerObject(): boolean {
    const oop = this.oop;
    return (oop & 3) === 0 && isPointersFormat(this.mem.formatOf(oop));
  }

  async fixedSize(): Promise<number> {
    const oop = this.oop;
    if ((oop & 3) !== 0) return 0;
    return this.pointerObject() ? this.mem.fixedFieldsOf(oop) : 0;
  }

  async variableSize(): Promise<number> {
    return this.mem.indexableSize(this.oop);
  }

  async format(): Promise<ObjectFormat> {
    const oop = this.oop;
    if ((oop & 3) !== 0) return "empty";
    return formatName(this.mem.formatOf(oop));
  }

  /** The oop at indexable index (1-based), as the guest's at: would answer. */
  protected indexedOop(index: number): Oop {
    const mem = this.mem;
    const oop = this.oop;
    const size = mem.indexableSize(oop);
    this.checkIndex(index, size, "index");
    const fmt = mem.formatOf(oop);
    if (isPointersFormat(fmt)) return mem.fetchPointer(oop, mem.fixedFieldsOf(oop) + index - 1);
    if (fmt === Format.words) return this.space.newOop(integerObjectOf(mem, mem.fetchWord(oop, index - 1)), "an integer");
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
    this.checkIndex(index, mem.indexableSize(oop), "index");
    const v = this.space.toOop(value);
    const fmt = mem.formatOf(oop);
    if (isPointersFormat(fmt)) {
      mem.storePointer(oop, mem.fixedFieldsOf(oop) + index - 1, v);
      return;
    }
    if (fmt === Format.words) {
      const n = bigIntValueOf(mem, v);
      if (n === undefined || n < 0n || n > 0xffffffffn) throw new MembraneError("invalidArgument", "a word object holds integers 0..4294967295");
      mem.storeWord(oop, index - 1, Number(n));
      return;
    }
    if (isCompiledMethodFormat(fmt)) throw new MembraneError("invalidArgument", "use the method's own mirror to change a method");
    let byte: number;
    if (isCharacter(v)) byte = characterValue(v);
    else if (isSmallInt(v)) byte = smallIntValue(v);
    else throw new MembraneError("invalidArgument", "a byte object holds characters or integers 0..255");
    if (byte < 0 || byte > 255) throw new MembraneError("invalidArgument", `${byte} does not fit in a byte`);
    mem.storeByte(oop, index - 1, byte);
  }

  async instVarAt(index: number): Promise<ObjectMirror> {
    const fixed = await this.fixedSize();
    if (index >= 1 && index <= fixed) {
      if (this.oop === this.space.vm.activeContext) this.space.vm.storeContextRegisters();
      return this.space.mirrorOn(this.mem.fetchPointer(this.oop, index - 1));
    }
    return this.at(index - fixed);
  }

  async instVarAtPut(index: number, value: ObjectMirror | LocalValue): Promise<void> {
    const fixed = await this.fixedSize();
    if (index >= 1 && index <= fixed) {
      this.mem.storePointer(this.oop, index - 1, this.space.toOop(value));
      return;
    }
    return this.atPut(index - fixed, value);
  }

  private fieldIndex(name: string): number {
    const oop = this.oop;
    if ((oop & 3) !== 0) throw new MembraneError("invalidArgument", "an immediate object has no instance variables");
    const names = allInstVarNames(this.mem, this.mem.classOfPointer(oop));
    const i = names.indexOf(name);
    if (i < 0) throw new MembraneError("notFound", `${shortDescription(this.mem, oop)} has no instance variable named ${name}`);
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
    if (cls === 0) throw new MembraneError("failedPrecondition", "this object has no class yet");
    return (await this.space.mirrorOn(cls)).asClass();
  }

  async setClass(cls: ClassMirror): Promise<void> {
    const mem = this.mem;
    const oop = this.oop;
    if ((oop & 3) !== 0) throw new MembraneError("invalidArgument", "the class of an immediate object cannot change");
    const c = this.space.ownOop(cls);
    const fmtSlot = mem.fetchPointer(c, BehaviorLayout.format);
    if (isSmallInt(fmtSlot)) {
      const spec = instSpecOf(fmtSlot >> 1);
      const size = instSizeOf(fmtSlot >> 1);
      const fmt = mem.formatOf(oop);
      const family = (f: number) => (f >= Format.compiledMethod ? 12 : f >= Format.bytes ? 8 : f);
      const compatible =
        family(spec) === family(fmt) ||
        (spec <= Format.fixed && fmt <= Format.fixed) ||
        (spec === Format.fixedIndexable && fmt === Format.indexable && size === 0);
      if (!compatible) throw new MembraneError("invalidArgument", `instances of ${className(mem, c)} cannot have the format of this object`);
      if ((spec === Format.fixed || spec === Format.empty) && mem.slotCount(oop) !== size) {
        throw new MembraneError("invalidArgument", `instances of ${className(mem, c)} have ${size} fields, this object has ${mem.slotCount(oop)}`);
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
    return this.space.ownOop(other) === this.oop;
  }

  async asBoolean(): Promise<boolean> {
    if (this.oop === this.mem.trueOop) return true;
    if (this.oop === this.mem.falseOop) return false;
    throw new MembraneError("invalidArgument", `${shortDescription(this.mem, this.oop)} is not a boolean`);
  }

  async toLocal(): Promise<LocalValue> {
    return this.space.toLocal(this);
  }

  async printString(): Promise<string> {
    return this.space.printStringOf(this);
  }

  async describe(pageOffset = 0, pageSize = 50): Promise<ObjectDescription> {
    const mem = this.mem;
    const oop = this.oop;
    const cls = mem.fetchClassOf(oop);
    const fixed = await this.fixedSize();
    const variable = await this.variableSize();
    const names = (oop & 3) === 0 && cls !== 0 ? allInstVarNames(mem, cls) : [];
    if (oop === this.space.vm.activeContext) this.space.vm.storeContextRegisters();
    const namedFields = [];
    for (let i = 0; i < fixed; i++) namedFields.push({ name: names[i] ?? `field${i + 1}`, value: shortDescription(mem, mem.fetchPointer(oop, i)) });
    const indexedFields = [];
    const last = Math.min(variable, pageOffset + pageSize);
    for (let i = pageOffset + 1; i <= last; i++) {
      const v = this.indexedOop(i);
      indexedFields.push({ index: i, value: shortDescription(mem, v) });
    }
    return {
      className: cls === 0 ? "(no class)" : className(mem, cls),
      format: await this.format(),
      kind: this.kind,
      fixedSize: fixed,
      variableSize: variable,
      identityHash: await this.identityHash(),
      printString: await this.printString(),
      namedFields,
      indexedFields,
    };
  }

  private as<T>(kinds: MirrorKind[], what: string): T {
    const kind = this.space.kindOf(this.oop);
    if (!kinds.includes(kind)) throw new MembraneError("invalidArgument", `${shortDescription(this.mem, this.oop)} is not ${what}`);
    if (kinds.includes(this.kind)) return this as unknown as T;
    return this.space.mirrorOfKind(this.oop, kind) as unknown as T;
  }

  async asClass(): Promise<ClassMirror> {
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
    if (!Number.isInteger(value) || value < 0 || value > 255) throw new MembraneError("invalidArgument", `${value} does not fit in a byte`);
    this.mem.storeByte(this.oop, index - 1, value);
  }
  async asString(): Promise<string> {
    return this.mem.stringOf(this.oop);
  }
}

export class LocalWordObjectMirror extends LocalObjectMirror implements WordObjectMirror {
  async wordAt(index: number): Promise<number> {
    this.checkIndex(index, this.mem.slotCount(this.oop), "word index");
    return this.mem.fetchWord(this.oop, index - 1);
  }
  async wordAtPut(index: number, value: number): Promise<void> {
    this.checkIndex(index, this.mem.slotCount(this.oop), "word index");
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new MembraneError("invalidArgument", `${value} does not fit in a word`);
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
    this.mem.storePointer(this.oop, BehaviorLayout.superclass, cls ? this.space.ownOop(cls) : this.mem.nilOop);
    this.space.vm.methodCache.flush();
  }

  async subclasses(): Promise<ClassMirror[]> {
    const out: ClassMirror[] = [];
    for (const c of this.space.classOops()) {
      const target = isMetaclass(this.mem, this.oop) ? this.mem.fetchClassOf(c) : c;
      if (superclassOf(this.mem, target) === this.oop) out.push(await (await this.space.mirrorOn(target)).asClass());
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
    return (await this.methodAt(selector)) !== undefined;
  }

  async methodAt(selector: string): Promise<MethodMirror | undefined> {
    const sym = lookupSymbol(this.mem, selector);
    if (sym === 0) return undefined;
    const m = methodAt(this.mem, this.oop, sym);
    return m === 0 ? undefined : (await this.space.mirrorOn(m)).asMethod();
  }

  async lookup(selector: string): Promise<MethodMirror | undefined> {
    const sym = lookupSymbol(this.mem, selector);
    if (sym === 0) return undefined;
    const m = lookupMethodInClass(this.mem, this.oop, sym);
    return m === 0 ? undefined : (await this.space.mirrorOn(m)).asMethod();
  }

  async compile(source: string, options: CompileOptions = {}): Promise<MethodMirror> {
    return this.space.compileMethodIn(this.oop, source, options);
  }

  async removeMethod(selector: string): Promise<void> {
    return this.space.removeMethodFrom(this.oop, selector);
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
    if (!Number.isInteger(indexableSize) || indexableSize < 0) throw new MembraneError("invalidArgument", `bad size ${indexableSize}`);
    const spec = instSpecOf(mem.classFormatOf(this.oop));
    if (indexableSize > 0 && spec <= Format.fixed) throw new MembraneError("invalidArgument", `${className(mem, this.oop)} is not indexable`);
    const oop = this.space.newOop(mem.instantiate(this.oop, indexableSize), "an instance");
    return this.space.mirrorOn(oop);
  }
}

export class LocalMetaclassMirror extends LocalClassMirror implements MetaclassMirror {
  async thisClass(): Promise<ClassMirror> {
    return (await this.space.mirrorOn(this.mem.fetchPointer(this.oop, MetaclassLayout.thisClass))).asClass();
  }
}

export class LocalClassPoolMirror extends LocalObjectMirror implements ClassPoolMirror {
  async names(): Promise<string[]> {
    return dictionaryAssociations(this.mem, this.oop).map((a) => bytesText(this.mem, this.mem.fetchPointer(a, AssociationLayout.key)) ?? "?").sort();
  }
  async valueAt(name: string): Promise<ObjectMirror | undefined> {
    const a = dictionaryAssociationAt(this.mem, this.oop, name);
    return a === 0 ? undefined : this.space.mirrorOn(this.mem.fetchPointer(a, AssociationLayout.value));
  }
  async valueAtPut(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    dictionaryAtPut(this.mem, this.oop, name, this.space.toOop(value));
  }
}

export class LocalMethodDictionaryMirror extends LocalObjectMirror implements MethodDictionaryMirror {
  async selectors(): Promise<string[]> {
    return methodDictionaryEntries(this.mem, this.oop).map((e) => bytesText(this.mem, e.selector) ?? "?").sort();
  }
  async methodAt(selector: string): Promise<MethodMirror | undefined> {
    const sym = lookupSymbol(this.mem, selector);
    const e = methodDictionaryEntries(this.mem, this.oop).find((x) => x.selector === sym);
    return e ? (await this.space.mirrorOn(e.method)).asMethod() : undefined;
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
    return isNil(this.mem, cls) ? undefined : (await this.space.mirrorOn(cls)).asClass();
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
    return disassemble(code, {
      pcBase: start + 1,
      literal: (i) => shortDescription(mem, mem.fetchPointer(this.oop, 1 + i)),
    });
  }
  async lineForPc(pc: number): Promise<number | undefined> {
    return this.space.lineForPc(this.oop, pc);
  }
}

export class LocalContextMirror extends LocalObjectMirror implements ContextMirror {
  private field(index: number): Oop {
    if (this.oop === this.space.vm.activeContext) this.space.vm.storeContextRegisters();
    return this.mem.fetchPointer(this.oop, index);
  }
  private stackp(): number {
    const sp = this.field(ContextLayout.stackp);
    return isSmallInt(sp) ? smallIntValue(sp) : 0;
  }
  async method(): Promise<MethodMirror> {
    return (await this.space.mirrorOn(this.field(ContextLayout.method))).asMethod();
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
    return isNil(this.mem, s) ? undefined : (await this.space.mirrorOn(s)).asContext();
  }
  async isDead(): Promise<boolean> {
    return !isLiveContext(this.space.vm, this.oop);
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
    return this.space.tempNamesOf(this.oop);
  }
  private tempIndex(name: string): number {
    const names = this.space.tempNamesOf(this.oop);
    const i = names.indexOf(name);
    if (i < 0 || i >= this.stackp()) throw new MembraneError("notFound", `no temporary named ${name} in this context (it has ${names.join(", ") || "none"})`);
    return i;
  }
  async tempNamed(name: string): Promise<ObjectMirror> {
    return this.space.mirrorOn(this.field(CONTEXT_FIXED_SIZE + this.tempIndex(name)));
  }
  async tempNamedPut(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    const i = this.tempIndex(name);
    this.mem.storePointer(this.oop, CONTEXT_FIXED_SIZE + i, this.space.toOop(value));
  }
  async stack(): Promise<ObjectMirror[]> {
    const out: ObjectMirror[] = [];
    for (let i = 0; i < this.stackp(); i++) out.push(await this.space.mirrorOn(this.field(CONTEXT_FIXED_SIZE + i)));
    return out;
  }
  async description(): Promise<string> {
    return this.space.describeContext(this.oop);
  }
  async line(): Promise<number | undefined> {
    const pc = await this.pc();
    return pc === undefined ? undefined : this.space.lineForPc(this.field(ContextLayout.method), pc);
  }
  async restart(): Promise<void> {
    this.space.restartContext(this.oop);
  }
  async returnValue(value: ObjectMirror | LocalValue): Promise<void> {
    this.space.returnFromContext(this.oop, this.space.toOop(value));
  }
}

export class LocalProcessMirror extends LocalObjectMirror implements ProcessMirror {
  async name(): Promise<string> {
    return bytesText(this.mem, this.mem.fetchPointer(this.oop, ProcessLayout.name)) ?? "";
  }
  async priority(): Promise<number> {
    return smallIntValue(this.mem.fetchPointer(this.oop, ProcessLayout.priority));
  }
  async setPriority(priority: number): Promise<void> {
    if (!Number.isInteger(priority) || priority < 1 || priority > 80) throw new MembraneError("invalidArgument", `priority ${priority} is out of range 1..80`);
    this.space.setProcessPriority(this.oop, priority);
  }
  async state(): Promise<ProcessState> {
    return this.space.processState(this.oop);
  }
  async suspendedContext(): Promise<ContextMirror | undefined> {
    const ctx = this.space.topContextOf(this.oop);
    return ctx === 0 ? undefined : (await this.space.mirrorOn(ctx)).asContext();
  }
  async stack(limit = 1000): Promise<ContextMirror[]> {
    const out: ContextMirror[] = [];
    let ctx = this.space.topContextOf(this.oop);
    while (ctx !== 0 && !isNil(this.mem, ctx) && out.length < limit) {
      out.push(await (await this.space.mirrorOn(ctx)).asContext());
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
    return isNil(this.mem, p) ? undefined : (await this.space.mirrorOn(p)).asProcess();
  }
  async readyLists(): Promise<Array<{ priority: number; processes: ProcessMirror[] }>> {
    const mem = this.mem;
    const lists = mem.fetchPointer(this.oop, ProcessorSchedulerLayout.quiescentProcessLists);
    const out: Array<{ priority: number; processes: ProcessMirror[] }> = [];
    for (let p = mem.slotCount(lists); p >= 1; p--) {
      const processes: ProcessMirror[] = [];
      let link = mem.fetchPointer(mem.fetchPointer(lists, p - 1), LinkedListLayout.firstLink);
      while (!isNil(mem, link) && processes.length < 100000) {
        processes.push(await (await this.space.mirrorOn(link)).asProcess());
        link = mem.fetchPointer(link, ProcessLayout.nextLink);
      }
      if (processes.length > 0) out.push({ priority: p, processes });
    }
    return out;
  }
}

export { initialPC };
