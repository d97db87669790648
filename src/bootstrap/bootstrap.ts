/**
 * The bootstrap: builds the kernel image from the kernel sources (kernel/*.st, the sources file) from
 * nothing, through the ObjectSpace creation API, as the Oz paper describes (section 4.5):
 *
 *   1. a classless nil, false and true (`createObjectWithFormat`);
 *   2. Metaclass and Metaclass class (`createClassWithFormat:forInstancesOfFormat:`), each the class of
 *      the other;
 *   3. every class of the kernel with its metaclass, superclasses first; then nil, true and false get
 *      their classes, and the special objects array, symbol table, Smalltalk and the scheduler are made;
 *   4. the methods, compiled on the host and installed with source pointers into the kernel files;
 *   5. class-side #initialize of every class that defines one, in definition order, then the files'
 *      other doits, run in the new image itself.
 *
 * The same sources give a byte-identical image: identity hashes come from a fixed seed, and the image's
 * own code runs in slices counted in bytecodes, not time.
 */
import { memoryHost, type VMHost } from "../vm/host.js";
import { LocalObjectSpace } from "../membrane/local/space.js";
import type { ClassMirror, ObjectFormat, ObjectMirror } from "../membrane/objectSpace.js";
import { MembraneError } from "../membrane/objectSpace.js";
import { Sym, type LocalValue } from "../membrane/values.js";
import { readChunks, parseClassDefinition, CompileError, type ClassDefinition } from "../vm/compiler/index.js";
import { REQUIRED_INSTANCE_VARIABLES, HIGHEST_PRIORITY } from "../vm/memory/layout.js";
import { Special, SPECIAL_OBJECTS_SIZE, SPECIAL_SELECTORS } from "../vm/memory/special.js";
import { PRIM_ERROR_NAMES } from "../vm/primitives/errors.js";
import { runJob } from "../membrane/local/jobs.js";
import { describeProcessStack } from "../membrane/local/stack.js";
import { installAsActive } from "../membrane/local/processes.js";
import { dictionaryAssociationAt, dictionaryAtPut } from "../vm/contract/guest.js";

export interface KernelSource {
  /** file name, as recorded in the image's SourceFiles (method source pointers index this list) */
  name: string;
  text: string;
}

export interface BootstrapOptions {
  host?: VMHost;
  heapLimitBytes?: number;
  /** progress lines */
  log?: (line: string) => void;
}

export interface BootstrapResult {
  image: Uint8Array;
  classes: number;
  methods: number;
  space: LocalObjectSpace;
}

export class BootstrapError extends Error {
  override readonly name = "BootstrapError";
}

interface ClassSpec {
  name: string;
  superclass: string | null;
  kind: "normal" | "variable" | "bytes" | "words" | "weak" | "immediate";
  instanceVariables: string[];
  classVariables: string[];
  category: string;
  classInstanceVariables: string[];
  file: string;
}

interface MethodSource {
  className: string;
  classSide: boolean;
  category: string;
  source: string;
  file: number;
  fileName: string;
  offset: number;
  line: number;
  column: number;
}

interface DoIt {
  source: string;
  fileName: string;
  line: number;
  column: number;
  offset: number;
}

/** Classes the VM or the membrane needs by name, and the special objects they fill. */
const SPECIAL_CLASSES: Array<[number, string]> = [
  [Special.classSmallInteger, "SmallInteger"], [Special.classByteString, "ByteString"], [Special.classArray, "Array"],
  [Special.classFloat, "SmallFloat64"], [Special.classMethodContext, "Context"], [Special.classPoint, "Point"],
  [Special.classLargePositiveInteger, "LargePositiveInteger"], [Special.classMessage, "Message"],
  [Special.classCompiledMethod, "CompiledMethod"], [Special.classSemaphore, "Semaphore"], [Special.classCharacter, "Character"],
  [Special.classByteArray, "ByteArray"], [Special.classProcess, "Process"], [Special.classBlockClosure, "BlockClosure"],
  [Special.classLargeNegativeInteger, "LargeNegativeInteger"], [Special.classByteSymbol, "ByteSymbol"],
  [Special.classAssociation, "Association"], [Special.classMethodDictionary, "MethodDictionary"],
  [Special.classMetaclass, "Metaclass"], [Special.classUndefinedObject, "UndefinedObject"], [Special.classTrue, "True"],
  [Special.classFalse, "False"], [Special.classProcessorScheduler, "ProcessorScheduler"], [Special.classLinkedList, "LinkedList"],
  [Special.classSymbolTable, "SymbolTable"], [Special.classString, "String"], [Special.classSymbol, "Symbol"],
];
const OPTIONAL_SPECIAL_CLASSES: Array<[number, string]> = [
  [Special.classMutex, "Mutex"], [Special.classWordArray, "WordArray"], [Special.classWeakFinalizer, "WeakFinalizerItem"],
  [Special.classWideString, "WideString"], [Special.classBoxedFloat64, "BoxedFloat64"],
];
const REQUIRED_CLASSES = [
  ...new Set([...SPECIAL_CLASSES.map(([, n]) => n), ...Object.keys(REQUIRED_INSTANCE_VARIABLES), "Object", "Dictionary", "SystemDictionary", "Class", "Metaclass"]),
];
const SPECIAL_SELECTOR_OBJECTS: Array<[number, string]> = [
  [Special.selectorDoesNotUnderstand, "doesNotUnderstand:"], [Special.selectorCannotReturn, "cannotReturn:"],
  [Special.selectorMustBeBoolean, "mustBeBoolean"], [Special.selectorCannotInterpret, "cannotInterpret:"],
  [Special.selectorAboutToReturn, "aboutToReturn:through:"], [Special.selectorRunWithIn, "run:with:in:"],
  [Special.selectorAttemptToAssign, "attemptToAssign:withIndex:"],
];

const BOOTSTRAP_SEED = 0x0a5e1e55;

export async function bootstrapKernel(sources: KernelSource[], options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const log = options.log ?? (() => undefined);
  const { classes, methods, doits } = readKernel(sources);
  log(`read ${sources.length} files: ${classes.size} classes, ${methods.length} methods`);
  const host = options.host ?? memoryHost();
  const space = LocalObjectSpace.createEmpty(host, { hashSeed: BOOTSTRAP_SEED, limitBytes: options.heapLimitBytes ?? 256 * 1024 * 1024 });
  const builder = new KernelBuilder(space, classes, log);
  await builder.createObjects();
  await builder.installSources(sources.map((s) => s.name));
  let compiled = 0;
  for (const m of methods) {
    await builder.compile(m);
    if (++compiled % 1000 === 0) log(`compiled ${compiled}/${methods.length} methods`);
  }
  log(`compiled ${compiled} methods`);
  await builder.initialize(methods, doits);
  space.releaseAll();
  const image = await space.snapshot();
  log(`image: ${image.length} bytes`);
  return { image, classes: classes.size, methods: compiled, space };
}

// ---------------------------------------------------------------- reading the sources

function readKernel(sources: KernelSource[]): { classes: Map<string, ClassSpec>; methods: MethodSource[]; doits: DoIt[] } {
  const classes = new Map<string, ClassSpec>();
  const methods: MethodSource[] = [];
  const doits: DoIt[] = [];
  sources.forEach((file, fileIndex) => {
    let items;
    try {
      items = readChunks(file.text);
    } catch (e) {
      throw new BootstrapError(`${file.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const item of items) {
      if (item.kind === "methods") {
        for (const m of item.methods) {
          methods.push({ className: item.className, classSide: item.classSide, category: item.category, source: m.source, file: fileIndex, fileName: file.name, offset: m.offset, line: m.line, column: m.column });
        }
      } else if (item.kind === "doit") {
        let def: ClassDefinition | undefined;
        try {
          def = parseClassDefinition(item.source);
        } catch (e) {
          if (e instanceof CompileError) throw new BootstrapError(e.format(file.name, item.line - 1));
          throw e;
        }
        if (def?.kind === "subclass") {
          if (classes.has(def.className)) throw new BootstrapError(`${file.name}:${item.line}: class ${def.className} is defined twice`);
          classes.set(def.className, {
            name: def.className, superclass: def.superclass, kind: def.classKind, instanceVariables: def.instanceVariableNames,
            classVariables: def.classVariableNames, category: def.package ?? def.category ?? "Kernel", classInstanceVariables: [], file: file.name,
          });
        } else if (def?.kind === "classInstanceVariables") {
          const spec = classes.get(def.className);
          if (!spec) throw new BootstrapError(`${file.name}:${item.line}: class-side variables for ${def.className}, which is not defined before`);
          spec.classInstanceVariables = def.instanceVariableNames;
        } else {
          doits.push({ source: item.source, fileName: file.name, line: item.line, column: item.column, offset: item.offset });
        }
      }
    }
  });
  for (const name of REQUIRED_CLASSES) if (!classes.has(name)) throw new BootstrapError(`the kernel does not define ${name}, which the VM needs`);
  for (const spec of classes.values()) {
    if (spec.superclass !== null && !classes.has(spec.superclass)) throw new BootstrapError(`${spec.file}: ${spec.name}'s superclass ${spec.superclass} is not defined`);
  }
  return { classes, methods, doits };
}

// ---------------------------------------------------------------- building

class KernelBuilder {
  private readonly mirrors = new Map<string, ClassMirror>();
  private readonly metaMirrors = new Map<string, ClassMirror>();
  private readonly order: ClassSpec[];
  private soa!: ObjectMirror;
  private nil!: ObjectMirror;

  constructor(
    private readonly space: LocalObjectSpace,
    private readonly classes: Map<string, ClassSpec>,
    private readonly log: (line: string) => void,
  ) {
    this.order = this.superclassesFirst();
  }

  private superclassesFirst(): ClassSpec[] {
    const out: ClassSpec[] = [];
    const done = new Set<string>();
    const visiting = new Set<string>();
    const visit = (spec: ClassSpec) => {
      if (done.has(spec.name)) return;
      if (visiting.has(spec.name)) throw new BootstrapError(`the superclass chain of ${spec.name} loops`);
      visiting.add(spec.name);
      if (spec.superclass) visit(this.classes.get(spec.superclass)!);
      visiting.delete(spec.name);
      done.add(spec.name);
      out.push(spec);
    };
    for (const spec of this.classes.values()) visit(spec);
    return out;
  }

  private allInstanceVariables(name: string | null): string[] {
    if (name === null) return [];
    const spec = this.classes.get(name)!;
    return [...this.allInstanceVariables(spec.superclass), ...spec.instanceVariables];
  }

  private allClassInstanceVariables(name: string | null): string[] {
    if (name === null) return this.allInstanceVariables("Class");
    const spec = this.classes.get(name)!;
    return [...this.allClassInstanceVariables(spec.superclass), ...spec.classInstanceVariables];
  }

  private instanceFormat(spec: ClassSpec): { format: ObjectFormat; instanceSize: number } {
    const ivars = this.allInstanceVariables(spec.name);
    const size = ivars.length;
    const inherited = spec.superclass ? this.instanceFormat(this.classes.get(spec.superclass)!).format : "empty";
    if (spec.name === "CompiledMethod" || inherited === "compiledMethod") return { format: "compiledMethod", instanceSize: 0 };
    let format: ObjectFormat;
    switch (spec.kind) {
      case "variable": format = size > 0 ? "fixedIndexable" : "indexable"; break;
      case "bytes": format = "bytes"; break;
      case "words": format = "words"; break;
      case "weak": format = "weak"; break;
      case "immediate": format = "empty"; break;
      default:
        if (inherited === "indexable" || inherited === "fixedIndexable") format = size > 0 ? "fixedIndexable" : "indexable";
        else if (inherited === "bytes" || inherited === "words" || inherited === "weak") format = inherited;
        else format = size > 0 ? "fixed" : "empty";
    }
    if ((format === "bytes" || format === "words") && size > 0) throw new BootstrapError(`${spec.name}: byte and word classes cannot have instance variables`);
    return { format, instanceSize: size };
  }

  private checkLayouts(): void {
    for (const [name, required] of Object.entries(REQUIRED_INSTANCE_VARIABLES)) {
      const actual = this.allInstanceVariables(name);
      const ok = required.every((v, i) => actual[i] === v);
      if (!ok) throw new BootstrapError(`${name} must start with the instance variables ${required.join(" ")} (the VM relies on them), it has ${actual.join(" ") || "none"}`);
    }
  }

  /** Steps 1-3: nil, true, false, Metaclass, every class, then the objects the VM needs. */
  async createObjects(): Promise<void> {
    const space = this.space;
    this.checkLayouts();
    // 1. classless nil, false and true
    this.nil = await space.createObjectWithFormat("empty");
    await space.setNilObject(this.nil);
    const falseObj = await space.createObjectWithFormat("empty");
    const trueObj = await space.createObjectWithFormat("empty");

    // 2. Metaclass and Metaclass class
    const metaclassFormat = { format: "fixed" as const, instanceSize: this.allInstanceVariables("Metaclass").length };
    const metaclassSideFormat = { format: "fixed" as const, instanceSize: this.allClassInstanceVariables("Metaclass").length };
    const metaclass = await space.createClassWithFormat(metaclassSideFormat, metaclassFormat);
    const metaclassClass = await space.createClassWithFormat(metaclassFormat, metaclassSideFormat);
    await metaclass.setClass(metaclassClass);
    await metaclassClass.setClass(metaclass);
    this.mirrors.set("Metaclass", metaclass);
    this.metaMirrors.set("Metaclass", metaclassClass);

    // 3. the other classes, superclasses first, each with its metaclass
    for (const spec of this.order) {
      if (spec.name === "Metaclass") continue;
      const classSide = { format: "fixed" as const, instanceSize: this.allClassInstanceVariables(spec.name).length };
      const meta = await space.createClassWithFormat(metaclassFormat, classSide);
      await meta.setClass(metaclass);
      const cls = await space.createClassWithFormat(classSide, this.instanceFormat(spec));
      await cls.setClass(meta);
      this.mirrors.set(spec.name, cls);
      this.metaMirrors.set(spec.name, meta);
    }
    await this.nil.setClass(this.cls("UndefinedObject"));
    await falseObj.setClass(this.cls("False"));
    await trueObj.setClass(this.cls("True"));

    // the special objects array, then what literals need (symbols, strings, arrays)
    this.soa = await space.createObjectWithFormat("indexable", SPECIAL_OBJECTS_SIZE);
    await this.soa.setClass(this.cls("Array"));
    await this.soa.atPut(Special.nil + 1, this.nil);
    await this.soa.atPut(Special.false + 1, falseObj);
    await this.soa.atPut(Special.true + 1, trueObj);
    for (const [index, name] of SPECIAL_CLASSES) await this.soa.atPut(index + 1, this.cls(name));
    for (const [index, name] of OPTIONAL_SPECIAL_CLASSES) if (this.mirrors.has(name)) await this.soa.atPut(index + 1, this.cls(name));
    await space.setSpecialObjectsArray(this.soa);
    const table = await this.cls("SymbolTable").newInstance();
    await this.setField(table, "SymbolTable", "tally", 0);
    await this.setField(table, "SymbolTable", "buckets", await this.cls("Array").newInstance(8192));
    await this.soa.atPut(Special.symbolTable + 1, table);

    // fill in every class and metaclass
    for (const spec of this.order) await this.fillClass(spec);

    // Smalltalk, Undeclared, the scheduler and the rest of the special objects
    const smalltalk = await this.newDictionary("SystemDictionary", 2048);
    await this.soa.atPut(Special.smalltalkDictionary + 1, smalltalk);
    for (const spec of this.order) await space.setGlobal(spec.name, this.cls(spec.name));
    for (const spec of this.order) await this.setField(this.cls(spec.name), "class side", "environment", smalltalk);
    await space.setGlobal("Smalltalk", smalltalk);
    await this.soa.atPut(Special.undeclared + 1, await this.newDictionary("Dictionary", 32));
    await this.createScheduler();
    await this.fillSpecialObjects();
    this.log(`created ${this.order.length} classes`);
  }

  /** Sets a named field of an object whose class is `className`, by the index its definition gives. */
  private async setField(target: ObjectMirror, className: string | "class side" | "metaclass", field: string, value: ObjectMirror | LocalValue): Promise<void> {
    const names =
      className === "class side" ? this.allInstanceVariables("Class")
      : className === "metaclass" ? this.allInstanceVariables("Metaclass")
      : this.allInstanceVariables(className);
    const index = names.indexOf(field);
    if (index < 0) throw new BootstrapError(`${className} has no instance variable ${field}`);
    await target.instVarAtPut(index + 1, value);
  }

  private cls(name: string): ClassMirror {
    const m = this.mirrors.get(name);
    if (!m) throw new BootstrapError(`no class ${name}`);
    return m;
  }

  private async newDictionary(className: string, capacity: number): Promise<ObjectMirror> {
    const dict = await this.cls(className).newInstance();
    await this.setField(dict, className, "tally", 0);
    await this.setField(dict, className, "array", await this.cls("Array").newInstance(capacity));
    return dict;
  }

  private async newMethodDictionary(): Promise<ObjectMirror> {
    const dict = await this.cls("MethodDictionary").newInstance(32);
    await this.setField(dict, "MethodDictionary", "tally", 0);
    await this.setField(dict, "MethodDictionary", "array", await this.cls("Array").newInstance(32));
    return dict;
  }

  private async symbols(names: string[]): Promise<ObjectMirror> {
    return this.space.fromLocal(names.map((n) => new Sym(n)));
  }

  private async fillClass(spec: ClassSpec): Promise<void> {
    const cls = this.cls(spec.name);
    const meta = this.metaMirrors.get(spec.name)!;
    const superclass = spec.superclass ? this.cls(spec.superclass) : this.nil;
    const set = (field: string, value: ObjectMirror | LocalValue) => this.setField(cls, "class side", field, value);
    await set("superclass", superclass);
    await set("methodDict", await this.newMethodDictionary());
    await set("instanceVariables", await this.symbols(spec.instanceVariables));
    await set("name", new Sym(spec.name));
    await set("category", spec.category);
    const subclasses = this.order.filter((s) => s.superclass === spec.name).map((s) => this.cls(s.name));
    const subclassArray = await this.cls("Array").newInstance(subclasses.length);
    for (let i = 0; i < subclasses.length; i++) await subclassArray.atPut(i + 1, subclasses[i]);
    await set("subclasses", subclassArray);
    if (spec.classVariables.length > 0) {
      // class variables are declared by the definition: the pool gets an association per name
      const pool = await this.newDictionary("Dictionary", 32);
      await set("classPool", pool);
      const mem = this.space.mem;
      for (const v of spec.classVariables) dictionaryAtPut(mem, this.space.ownOop(pool), v, mem.nilOop);
    }
    const setMeta = (field: string, value: ObjectMirror | LocalValue) => this.setField(meta, "metaclass", field, value);
    await setMeta("superclass", spec.superclass ? this.metaMirrors.get(spec.superclass)! : this.cls("Class"));
    await setMeta("methodDict", await this.newMethodDictionary());
    await setMeta("instanceVariables", await this.symbols(spec.classInstanceVariables));
    await setMeta("thisClass", cls);
  }

  private async createScheduler(): Promise<void> {
    const lists = await this.cls("Array").newInstance(HIGHEST_PRIORITY);
    for (let i = 1; i <= HIGHEST_PRIORITY; i++) await lists.atPut(i, await this.cls("LinkedList").newInstance());
    const scheduler = await this.cls("ProcessorScheduler").newInstance();
    await this.setField(scheduler, "ProcessorScheduler", "quiescentProcessLists", lists);
    const main = await this.cls("Process").newInstance();
    await this.setField(main, "Process", "priority", 40);
    await this.setField(main, "Process", "name", "bootstrap");
    await this.setField(scheduler, "ProcessorScheduler", "activeProcess", main);
    await this.space.setGlobal("Processor", scheduler);
    const smalltalk = this.space.mem.specialObject(Special.smalltalkDictionary);
    const assoc = dictionaryAssociationAt(this.space.mem, smalltalk, "Processor");
    await this.soa.atPut(Special.schedulerAssociation + 1, await this.space.mirrorOn(assoc));
  }

  private async newSemaphore(): Promise<ObjectMirror> {
    const sem = await this.cls("Semaphore").newInstance();
    await this.setField(sem, "Semaphore", "excessSignals", 0);
    return sem;
  }

  private async fillSpecialObjects(): Promise<void> {
    const soa = this.soa;
    const selectors = SPECIAL_SELECTORS.flatMap(([name, n]) => [new Sym(name), n]);
    await soa.atPut(Special.specialSelectors + 1, await this.space.fromLocal(selectors));
    for (const [index, name] of SPECIAL_SELECTOR_OBJECTS) await soa.atPut(index + 1, new Sym(name));
    await soa.atPut(Special.primErrTable + 1, await this.symbols(PRIM_ERROR_NAMES));
    await soa.atPut(Special.lowSpaceSemaphore + 1, await this.newSemaphore());
    await soa.atPut(Special.interruptSemaphore + 1, await this.newSemaphore());
    await soa.atPut(Special.finalizationSemaphore + 1, await this.newSemaphore());
    await soa.atPut(Special.compactClasses + 1, await this.space.fromLocal([]));
    await soa.atPut(Special.externalObjectsArray + 1, await this.space.fromLocal([]));
    await soa.atPut(Special.failedProcesses + 1, await this.space.fromLocal([]));
  }

  async installSources(fileNames: string[]): Promise<void> {
    await this.soa.atPut(Special.sourceFiles + 1, await this.space.fromLocal(fileNames));
  }

  /** Step 4: one method, with its source pointer into its kernel file. */
  async compile(m: MethodSource): Promise<void> {
    const base = this.mirrors.get(m.className);
    if (!base) throw new BootstrapError(`${m.fileName}:${m.line}: methods for ${m.className}, which is not defined`);
    const target = m.classSide ? this.metaMirrors.get(m.className)! : base;
    try {
      await this.space.compileMethodIn(this.space.ownOop(target), m.source, {
        category: m.category,
        sourceRef: { kind: "file", file: m.file, position: m.offset },
        where: { fileName: m.fileName, line: m.line, column: m.column, offset: m.offset },
      });
    } catch (e) {
      if (e instanceof MembraneError && e.code === "compileError") throw new BootstrapError(e.message);
      throw e;
    }
  }

  /** Step 5: class-side initialize methods, then the other doits, run in the image. */
  async initialize(methods: MethodSource[], doits: DoIt[]): Promise<void> {
    const initialized = new Set(methods.filter((m) => m.classSide && /^initialize\s*(["\n\r\t ]|$)/.test(m.source)).map((m) => m.className));
    for (const spec of this.order) {
      if (initialized.has(spec.name)) await this.run(`${spec.name} initialize`, { source: "", fileName: spec.file, line: 0, column: 1, offset: 0 });
    }
    for (const doit of doits) await this.run(doit.source, doit);
    this.log(`initialized ${initialized.size} classes, ran ${doits.length} doits`);
  }

  private async run(source: string, where: DoIt): Promise<void> {
    const space = this.space;
    let created;
    try {
      created = space.createProcessOop(40, source, space.mem.nilOop, { fileName: where.fileName, line: where.line, column: where.column, offset: where.offset });
    } catch (e) {
      if (e instanceof MembraneError) throw new BootstrapError(e.message);
      throw e;
    }
    const { process, job } = created;
    installAsActive(space.vm, process);
    const outcome = await runJob(space.vm, job, { bytecodes: 2_000_000_000, deterministic: true });
    job.cancel();
    if (outcome.state === "finished") {
      space.mem.releaseHandle(outcome.result);
      space.mem.releaseHandle(job.process);
      return;
    }
    const where_ = `${where.fileName}${where.line ? `:${where.line}` : ""}`;
    const stack = outcome.state === "failed" || outcome.state === "crashed" ? await describeProcessStack(space, job.process.oop) : "";
    const why = outcome.state === "failed" || outcome.state === "crashed" ? outcome.description : outcome.state;
    throw new BootstrapError(`${where_}: running \`${source.trim().slice(0, 80)}\` failed: ${why}${stack ? `\n${stack}` : ""}`);
  }
}
