/**
 * RemoteObjectSpace: a guest's object space across the network, polymorphic with the local one (the Oz
 * paper's conclusion). It implements ObjectSpace exactly; errors are the same MembraneErrors with the same
 * codes. Beyond the interface it offers handle groups: `space.group("inspector-1")` is a view of the same
 * space whose new mirrors join that group, and `releaseGroup("inspector-1")` releases them all at once.
 */
import type {
  ByteObjectMirror, ClassMirror, EvaluateOptions, EvaluationResult, ObjectFormat, ObjectMirror, ObjectSpace, ProcessMirror,
  ProcessSchedulerMirror, RunBudget, RunOutcome, SliceReport, SpaceStats,
} from "../../membrane/objectSpace.js";
import { MembraneError } from "../../membrane/objectSpace.js";
import { FloatValue, describeHostValue, type LocalValue } from "../../membrane/values.js";
import { checkFields } from "../fields.js";
import { OPERATIONS_BY_KEY } from "../schema.js";
import { decodeLocal, encodeLocal, FOREIGN_HANDLE, isMirrorLike, plainBytes, RELEASED_HANDLE, type MirrorRef } from "../wire.js";
import { RemoteObjectMirror, remoteMirror } from "./mirrors.js";
import type { Transport } from "./transport.js";

type Reply = Record<string, any>;

/** The argument types, checked here as the local space checks them (the wire would coerce them). */
export function checkArguments(op: string, args: Record<string, unknown>): void {
  const def = OPERATIONS_BY_KEY.get(op);
  if (def) checkFields(def.fields, args);
}

/** What the spaces of one client share: the transport, handle group generations, batched releases. */
export class RemoteConnection {
  private readonly groups = new Map<string, number>();
  private releases: string[] = [];
  private flushing = false;

  constructor(readonly transport: Transport) {}

  groupGeneration(name: string): number {
    return this.groups.get(name) ?? 0;
  }

  /** Releases a group of the session (every guest). */
  async releaseGroup(name: string): Promise<number> {
    this.groups.set(name, this.groupGeneration(name) + 1);
    const r = await this.transport.call("ObjectSpace.ReleaseGroup", { group: name });
    return r.released ?? 0;
  }

  /** Handle releases go out in batches, once per tick. */
  queueRelease(handle: string): void {
    this.releases.push(handle);
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => {
      this.flushing = false;
      const handles = this.releases;
      this.releases = [];
      if (handles.length > 0) this.transport.fire("ObjectSpace.Release", { handles });
    });
  }
}

export class RemoteObjectSpace implements ObjectSpace {
  /** the space without a group (the one mirrors' generations are counted on) */
  readonly root: RemoteObjectSpace;
  /** bumped by releaseAll(): mirrors made before are released */
  generation = 0;
  private readonly views = new Map<string, RemoteObjectSpace>();

  constructor(
    readonly connection: RemoteConnection,
    readonly guest: string,
    readonly groupName = "",
    root?: RemoteObjectSpace,
  ) {
    this.root = root ?? this;
  }

  /** This space, with new mirrors joining handle group `name`. */
  group(name: string): RemoteObjectSpace {
    if (name === this.groupName) return this;
    const root = this.root;
    let view = root.views.get(name);
    if (!view) root.views.set(name, (view = name === "" ? root : new RemoteObjectSpace(this.connection, this.guest, name, root)));
    return view;
  }

  /** Releases every mirror of a group (of every guest of this client). */
  releaseGroup(name = this.groupName): Promise<number> {
    return this.connection.releaseGroup(name);
  }

  // ------------------------------------------------------------------ plumbing (used by the mirrors)

  private withGroup(args: Record<string, unknown>): Record<string, unknown> {
    return this.groupName ? { ...args, group: this.groupName } : args;
  }

  async request(name: string, args: Record<string, unknown> = {}): Promise<Reply> {
    checkArguments(`ObjectSpace.${name}`, args);
    return this.connection.transport.call(`ObjectSpace.${name}`, this.withGroup({ guest: this.guest, ...args }));
  }

  async mirrorCall(m: RemoteObjectMirror, name: string, args: Record<string, unknown>): Promise<Reply> {
    const handle = m.liveHandle();
    checkArguments(`ObjectSpace.${name}`, args);
    return this.connection.transport.call(`ObjectSpace.${name}`, m.space.withGroup({ handle, ...args }));
  }

  mirrorFrom(ref: MirrorRef | undefined): any {
    if (!ref || typeof ref.handle !== "string") throw new MembraneError("internal", "the server answered no mirror");
    return remoteMirror(this, ref);
  }

  /** The handle of a mirror of this space (any group view); the local errors otherwise. */
  ownHandle(m: ObjectMirror): string {
    if (!(m instanceof RemoteObjectMirror) || m.space.root !== this.root) {
      throw new MembraneError("wrongSpace", "this mirror belongs to another object space");
    }
    return m.liveHandle();
  }

  /**
   * A mirror argument's handle, checked by the server when the space uses it (so that errors come in the
   * local order): a mirror of another space or a released one travels as a marker the space refuses.
   */
  lazyHandle(m: ObjectMirror): string {
    if (!(m instanceof RemoteObjectMirror) || m.space.root !== this.root) return FOREIGN_HANDLE;
    return m.released ? RELEASED_HANDLE : m.handle;
  }

  argValue(value: ObjectMirror | LocalValue): unknown {
    if (isMirrorLike(value)) return { handle: this.lazyHandle(value) };
    return this.encode(value as LocalValue);
  }

  /** A host value for the wire; a mirror inside it is refused as the local space refuses it. */
  encode(value: LocalValue): unknown {
    return encodeLocal(value, (m) => {
      if (!(m instanceof RemoteObjectMirror) || m.space.root !== this.root) throw new MembraneError("wrongSpace", "this mirror belongs to another object space");
    });
  }

  private async mirror(name: string, args: Record<string, unknown> = {}): Promise<any> {
    return this.mirrorFrom((await this.request(name, args)).mirror);
  }
  private async optionalMirror(name: string, args: Record<string, unknown> = {}): Promise<any> {
    const m = (await this.request(name, args)).mirror;
    return m ? this.mirrorFrom(m) : undefined;
  }
  private async mirrors(name: string, args: Record<string, unknown> = {}): Promise<any[]> {
    return ((await this.request(name, args)).mirrors ?? []).map((m: MirrorRef) => this.mirrorFrom(m));
  }

  // ------------------------------------------------------------------ accessing

  nilObject(): Promise<ObjectMirror> {
    return this.mirror("NilObject");
  }
  trueObject(): Promise<ObjectMirror> {
    return this.mirror("TrueObject");
  }
  falseObject(): Promise<ObjectMirror> {
    return this.mirror("FalseObject");
  }
  specialObjectsArray(): Promise<ObjectMirror> {
    return this.mirror("SpecialObjectsArray");
  }
  classNamed(name: string): Promise<ClassMirror | undefined> {
    return this.optionalMirror("ClassNamed", { name });
  }
  classes(): Promise<ClassMirror[]> {
    return this.mirrors("Classes");
  }
  globalNamed(name: string): Promise<ObjectMirror | undefined> {
    return this.optionalMirror("GlobalNamed", { name });
  }
  async setGlobal(name: string, value: ObjectMirror | LocalValue): Promise<void> {
    await this.request("SetGlobal", { name, value: this.argValue(value) });
  }

  // ------------------------------------------------------------------ conversion

  async fromLocal(value: LocalValue): Promise<ObjectMirror> {
    return this.mirror("FromLocal", { value: this.encode(value) });
  }
  fromLocalString(text: string): Promise<ByteObjectMirror> {
    return this.mirror("FromLocalString", { text });
  }
  fromLocalSymbol(name: string): Promise<ByteObjectMirror> {
    return this.mirror("FromLocalSymbol", { name });
  }
  fromLocalCharacter(c: string | number): Promise<ObjectMirror> {
    return this.mirror("FromLocalCharacter", typeof c === "number" ? { code: c } : { text: c });
  }
  async fromLocalInteger(n: number | bigint): Promise<ObjectMirror> {
    return this.mirror("FromLocalInteger", { value: this.encode(n) });
  }
  async fromLocalFloat(x: number): Promise<ObjectMirror> {
    return this.mirror("FromLocalFloat", { value: this.encode(x) });
  }
  fromLocalBoolean(b: boolean): Promise<ObjectMirror> {
    return this.mirror("FromLocalBoolean", { value: b });
  }
  async fromLocalArray(values: LocalValue[]): Promise<ObjectMirror> {
    if (!Array.isArray(values)) throw new MembraneError("invalidArgument", `fromLocalArray takes an array, not ${describeHostValue(values)}`);
    this.encode(values);
    return this.mirror("FromLocalArray", { values: values.map((v) => this.encode(v)) });
  }
  fromLocalByteArray(bytes: Uint8Array): Promise<ByteObjectMirror> {
    return this.mirror("FromLocalByteArray", { bytes });
  }

  private async toLocalValue(name: string, mirror: ObjectMirror): Promise<LocalValue> {
    const handle = this.ownHandle(mirror);
    return decodeLocal((await this.request(name, { mirror: handle })).value);
  }
  private async toLocalScalar(name: string, mirror: ObjectMirror): Promise<any> {
    const handle = this.ownHandle(mirror);
    return (await this.request(name, { mirror: handle })).value;
  }
  async toLocal(mirror: ObjectMirror): Promise<LocalValue> {
    return this.toLocalValue("ToLocal", mirror);
  }
  async toLocalString(mirror: ObjectMirror): Promise<string> {
    return (await this.toLocalScalar("ToLocalString", mirror)) ?? "";
  }
  async toLocalSymbol(mirror: ObjectMirror): Promise<string> {
    return (await this.toLocalScalar("ToLocalSymbol", mirror)) ?? "";
  }
  async toLocalInteger(mirror: ObjectMirror): Promise<bigint> {
    const v = await this.toLocalValue("ToLocalInteger", mirror);
    return typeof v === "bigint" ? v : BigInt(v as number);
  }
  async toLocalFloat(mirror: ObjectMirror): Promise<number> {
    const v = await this.toLocalValue("ToLocalFloat", mirror);
    return v instanceof FloatValue ? v.value : (v as number);
  }
  async toLocalCharacter(mirror: ObjectMirror): Promise<string> {
    return (await this.toLocalScalar("ToLocalCharacter", mirror)) ?? "";
  }
  async toLocalBoolean(mirror: ObjectMirror): Promise<boolean> {
    return (await this.toLocalScalar("ToLocalBoolean", mirror)) ?? false;
  }
  async toLocalArray(mirror: ObjectMirror): Promise<LocalValue[]> {
    return (await this.toLocalValue("ToLocalArray", mirror)) as LocalValue[];
  }
  async toLocalByteArray(mirror: ObjectMirror): Promise<Uint8Array> {
    return plainBytes((await this.toLocalScalar("ToLocalByteArray", mirror)) ?? new Uint8Array(0));
  }

  // ------------------------------------------------------------------ creation

  createObjectWithFormat(format: ObjectFormat, indexableSize?: number): Promise<ObjectMirror> {
    return this.mirror("CreateObjectWithFormat", { format, indexableSize });
  }
  createClassWithFormat(
    classFormat: { format: ObjectFormat; instanceSize: number },
    instancesFormat: { format: ObjectFormat; instanceSize: number },
  ): Promise<ClassMirror> {
    return this.mirror("CreateClassWithFormat", { classFormat, instancesFormat });
  }

  // ------------------------------------------------------------------ processes and execution

  scheduler(): Promise<ProcessSchedulerMirror> {
    return this.mirror("Scheduler");
  }
  processes(): Promise<ProcessMirror[]> {
    return this.mirrors("Processes");
  }
  async createProcess(priority: number, source: string, receiver?: ObjectMirror): Promise<ProcessMirror> {
    return this.mirror("CreateProcess", { priority, source, receiver: receiver ? this.ownHandle(receiver) : undefined });
  }
  async installAsActiveProcess(process: ProcessMirror): Promise<void> {
    await this.request("InstallAsActiveProcess", { process: this.ownHandle(process) });
  }
  async transferControl(budget?: RunBudget): Promise<SliceReport> {
    const r = await this.request("TransferControl", { budget });
    return {
      reason: r.reason,
      bytecodes: r.bytecodes ?? 0,
      sends: r.sends ?? 0,
      elapsedMs: r.elapsedMs ?? 0,
      fault: r.fault ? { kind: r.fault.kind ?? "", message: r.fault.message ?? "" } : undefined,
    };
  }
  async runUntilFinished(process: ProcessMirror, budget?: RunBudget): Promise<RunOutcome> {
    return this.decodeOutcome(await this.request("RunUntilFinished", { process: this.ownHandle(process), budget }));
  }
  private decodeOutcome(r: Reply): RunOutcome {
    switch (r.state) {
      case "finished":
        return { state: "finished", result: this.mirrorFrom(r.result) };
      case "failed":
        return { state: "failed", error: this.mirrorFrom(r.error), description: r.description ?? "" };
      case "crashed":
        return { state: "crashed", description: r.description ?? "" };
      default:
        return { state: r.state };
    }
  }
  async evaluate(source: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
    const r = await this.request("Evaluate", {
      source,
      receiver: options.receiver ? this.ownHandle(options.receiver) : undefined,
      budget: options.budget,
      priority: options.priority,
      origin: options.origin,
    });
    if (r.ok) return { ok: true, value: this.mirrorFrom(r.value), printString: r.printString ?? "" };
    return {
      ok: false,
      error: this.mirrorFrom(r.error),
      errorClass: r.errorClass ?? "",
      messageText: r.messageText ?? "",
      description: r.description ?? "",
      stack: (r.stack ?? []).map((f: Reply) => ({ description: f.description ?? "", line: f.line ?? undefined })),
    };
  }
  async interrupt(): Promise<void> {
    await this.request("SpaceInterrupt");
  }

  // ------------------------------------------------------------------ whole image

  async collectGarbage(kind?: "full" | "young"): Promise<void> {
    await this.request("CollectGarbage", { kind });
  }
  async stats(): Promise<SpaceStats> {
    const r = await this.request("SpaceStats");
    const stats: SpaceStats = {
      heapBytes: r.heapBytes ?? 0,
      heapLimit: r.heapLimit ?? 0,
      gcCount: r.gcCount ?? 0,
      gcMs: r.gcMs ?? 0,
      bytecodes: r.bytecodes ?? 0,
      sends: r.sends ?? 0,
    };
    if (r.objects !== undefined && r.objects !== null) stats.objects = r.objects;
    return stats;
  }
  async snapshot(): Promise<Uint8Array> {
    return plainBytes((await this.request("SpaceSnapshot")).value ?? new Uint8Array(0));
  }

  /** Releases every mirror of this client on this guest (all groups); they become unusable at once. */
  releaseAll(): void {
    this.root.generation++;
    this.connection.transport.fire("ObjectSpace.ReleaseAll", { guest: this.guest });
  }
}
