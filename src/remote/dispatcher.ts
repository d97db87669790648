/**
 * The one operation dispatcher behind both transports. A transport authenticates the caller, finds its
 * session and hands over an operation name and a decoded request object; the dispatcher checks the role,
 * validates every field against schema.ts, resolves the target (a guest's space or a mirror handle), runs
 * the handler (a line of code calling the ObjectSpace, a mirror or the HypervisorApi) and encodes the
 * result, registering the mirrors it contains as handles of the session. gRPC and WebSocket are two
 * encodings of the same calls: they cannot diverge.
 */
import type { ObjectMirror, ObjectSpace, RunOutcome, EvaluationResult, ObjectDescription, SliceReport, SpaceStats } from "../membrane/objectSpace.js";
import { MembraneError } from "../membrane/objectSpace.js";
import { FloatValue, type LocalValue } from "../membrane/values.js";
import { HypervisorError, type DaemonStats, type GuestInfo, type HypervisorApi } from "../hypervisor/types.js";
import { isRole, isTokenAdmin, type Authenticator } from "./auth.js";
import { RemoteError } from "./errors.js";
import {
  MESSAGES, OPERATIONS, OPERATIONS_BY_KEY, RESULT_MESSAGES, requestFields, roleAllows, type FieldDef, type OperationDef, type ResultType,
  type Role,
} from "./schema.js";
import type { HandleEntry, Session, SessionRegistry } from "./session.js";
import { bad, decodeValue, encodeLocal, FOREIGN_HANDLE, isBytes, plainBytes, type MirrorRef } from "./wire.js";

/** Who is calling, through what. */
export interface CallContext {
  role: Role;
  /** the session that owns the handles of this call (an ephemeral one when the caller has none) */
  session: Session;
  transport: "grpc" | "ws";
  /** a session opened by OpenSession (absent when `session` is ephemeral) */
  explicitSession?: boolean;
  principal: string;
}

/** Where a stream's items go. */
export interface StreamSink {
  write(item: unknown): void;
  /** ends the stream, with an error or normally */
  end(error?: unknown): void;
}

interface Call {
  op: OperationDef;
  args: Record<string, any>;
  ctx: CallContext;
  hv: HypervisorApi;
  d: Dispatcher;
  /** for guest and mirror operations */
  guest: string;
  space: ObjectSpace;
  /** for mirror operations: the target (its interface depends on the kind) */
  mirror: any;
  entry: HandleEntry | undefined;
}

type Handler = (c: Call) => unknown;

export interface DispatcherOptions {
  /** where OpenSession's sessions live */
  sessions: SessionRegistry;
  /** the longest idle timeout a client may ask for (ms) */
  maxIdleTimeoutMs?: number;
}

/** Looks like a mirror to the membrane, belongs to no space: the space refuses it (wrongSpace) when it uses it. */
const FOREIGN_MIRROR = Object.freeze({ space: undefined, kind: "object" }) as unknown as ObjectMirror;
/** Stands for a released mirror until one is made for the call's space. */
const RELEASED_MARK = Object.freeze({ space: undefined, kind: "released" }) as unknown as ObjectMirror;

const SUBCLASS_KINDS = new Set(["normal", "variable", "variableByte", "variableWord", "weak", "immediate"]);
const EVENT_TYPES = new Set(["state", "transcript", "error", "defined", "undefined"]);

/**
 * Remote activity, for the hypervisor's scheduler: while clients are being served, guests should run in
 * shorter slices so that a request, which needs a few event-loop turns (HTTP/2 frames in, reply frames
 * out), is not delayed by a full slice at each turn.
 */
export class Activity {
  /** unary calls being served */
  inFlight = 0;
  /** when a call last started or ended (performance.now()) */
  lastAt = -Infinity;

  /** true while calls are in flight or ended less than `windowMs` ago */
  interactive(windowMs = 20): boolean {
    return this.inFlight > 0 || performance.now() - this.lastAt < windowMs;
  }
}

/**
 * Told about every request a transport answered, for the metrics (src/metrics, docs/metrics.md): `method`
 * is the operation (`ObjectSpace.MirrorAt`), a WebSocket protocol message (`auth`, `cancel`) or `unknown`
 * (an undecodable frame, a name that is no operation: never the client's text); `status` the gRPC status
 * code of the answer (0: OK); `ms` the time from the request's arrival to its answer, or for a stream
 * (`stream` true) to its end. Called synchronously: an observer must be cheap; its exceptions are ignored.
 */
export interface RequestObserver {
  request(transport: "grpc" | "ws", method: string, status: number, ms: number, stream: boolean): void;
}

export class Dispatcher {
  readonly activity = new Activity();
  /** who is told about each answered request (the transports report through `observed`) */
  readonly observers = new Set<RequestObserver>();

  constructor(
    readonly hypervisor: HypervisorApi,
    readonly auth: Authenticator,
    readonly options: DispatcherOptions,
  ) {}

  /** Reports a request answered with gRPC status `status` (0: OK), which arrived at `since` (performance.now()). */
  observed(transport: "grpc" | "ws", method: unknown, status: number, since: number, stream = false): void {
    if (this.observers.size === 0) return;
    const name = typeof method === "string" && (OPERATIONS_BY_KEY.has(method) || method === "auth" || method === "cancel") ? method : "unknown";
    const ms = performance.now() - since;
    for (const observer of this.observers) {
      try {
        observer.request(transport, name, status, ms, stream);
      } catch {
        // an observer's failure is its own
      }
    }
  }

  /** The operation for a name (`ObjectSpace.MirrorAt`), or UNIMPLEMENTED. */
  operation(key: unknown): OperationDef {
    const op = typeof key === "string" ? OPERATIONS_BY_KEY.get(key) : undefined;
    if (!op) throw new RemoteError("unimplemented", `no operation ${JSON.stringify(key)} (see proto/oz/v1 or docs/remote.md)`);
    return op;
  }

  private authorize(op: OperationDef, ctx: CallContext): void {
    if (!roleAllows(ctx.role, op.role)) {
      throw new RemoteError("permissionDenied", `${op.service}.${op.name} needs the ${op.role} role; this token has ${ctx.role}`);
    }
  }

  /** Runs a unary operation; answers the reply object (the fields of its reply message). */
  async call(key: string, request: unknown, ctx: CallContext): Promise<Record<string, unknown>> {
    const op = this.operation(key);
    if (op.stream) throw new RemoteError("failedPrecondition", `${key} is a stream: subscribe to it`);
    this.authorize(op, ctx);
    ctx.session.touch();
    const activity = this.activity;
    activity.inFlight++;
    activity.lastAt = performance.now();
    try {
      const c = await this.prepare(op, request, ctx);
      const raw = await HANDLERS[op.name](c);
      return this.encodeResult(op.result, raw, c);
    } catch (e) {
      // a bad argument of a control-plane call is the control plane's kind of error
      if (op.service === "Hypervisor" && e instanceof MembraneError && e.code === "invalidArgument") throw new HypervisorError("invalidArgument", e.message);
      throw e;
    } finally {
      activity.inFlight--;
      activity.lastAt = performance.now();
    }
  }

  /** Opens a stream operation; answers a function that cancels it. */
  stream(key: string, request: unknown, ctx: CallContext, sink: StreamSink): () => void {
    const op = this.operation(key);
    if (!op.stream) throw new RemoteError("failedPrecondition", `${key} is not a stream`);
    this.authorize(op, ctx);
    const c = this.prepareStream(op, request, ctx);
    if (op.name === "Watch") return this.watch(c, sink);
    if (op.name === "KeepSession") return this.keepSession(c, sink);
    throw new RemoteError("unimplemented", `no stream ${key}`);
  }

  // ------------------------------------------------------------------ requests

  private async prepare(op: OperationDef, request: unknown, ctx: CallContext): Promise<Call> {
    if (typeof request !== "object" || request === null || Array.isArray(request) || isBytes(request)) {
      throw bad(`the request of ${op.name} must be an object (a ${op.name}Request message)`);
    }
    const req = request as Record<string, unknown>;
    const c: Call = { op, args: {}, ctx, hv: this.hypervisor, d: this, guest: "", space: undefined as unknown as ObjectSpace, mirror: undefined, entry: undefined };
    if (op.target === "guest") {
      const guest = req.guest;
      if (typeof guest !== "string" || guest === "") throw bad("guest must be the name of a guest");
      c.guest = guest;
      c.space = this.hypervisor.space(guest);
    } else if (op.target === "mirror") {
      const handle = req.handle;
      if (typeof handle !== "string" || handle === "") throw bad("handle must be a mirror handle of this session");
      const entry = ctx.session.resolve(handle);
      if (op.kinds && !op.kinds.includes(entry.mirror.kind)) {
        throw new MembraneError("invalidArgument", `this handle is a ${entry.mirror.kind} mirror; ${op.name} needs a ${op.kinds.join(" or ")} mirror`);
      }
      c.entry = entry;
      c.guest = entry.guest;
      c.space = entry.space;
      c.mirror = entry.mirror;
    }
    // Mirror arguments are resolved to mirrors the space itself checks when it uses them, in the order the
    // local implementation checks things: another guest's mirror, a foreign one (FOREIGN_HANDLE: the client
    // holds a mirror of another space) or a stale one fail there with wrongSpace or released, never as
    // another object.
    let needsReleased = false;
    const resolve = (h: string, where: string): ObjectMirror => {
      if (op.target === "none") throw bad(`${where}: this operation takes no mirrors`);
      if (h === FOREIGN_HANDLE) return FOREIGN_MIRROR;
      const entry = ctx.session.lookup(h);
      if (entry) return entry.mirror;
      needsReleased = true;
      return RELEASED_MARK;
    };
    for (const field of requestFields(op)) {
      if (field.name === "guest" && op.target === "guest") continue;
      if (field.name === "handle" && op.target === "mirror") continue;
      const v = readField(field, req[field.name], field.name, resolve);
      if (v !== undefined) c.args[field.name] = v;
    }
    if (needsReleased) {
      const released = await c.space.nilObject();
      released.release();
      for (const [k, v] of Object.entries(c.args)) if (v === RELEASED_MARK) c.args[k] = released;
    }
    return c;
  }

  /** Streams take no guest or mirror: their arguments are plain. */
  private prepareStream(op: OperationDef, request: unknown, ctx: CallContext): Call {
    if (typeof request !== "object" || request === null || Array.isArray(request) || isBytes(request)) {
      throw bad(`the request of ${op.name} must be an object (a ${op.name}Request message)`);
    }
    const c: Call = { op, args: {}, ctx, hv: this.hypervisor, d: this, guest: "", space: undefined as unknown as ObjectSpace, mirror: undefined, entry: undefined };
    for (const field of requestFields(op)) {
      const v = readField(field, (request as Record<string, unknown>)[field.name], field.name, () => {
        throw bad(`${field.name}: this operation takes no mirrors`);
      });
      if (v !== undefined) c.args[field.name] = v;
    }
    return c;
  }

  // ------------------------------------------------------------------ results

  private encodeResult(type: ResultType, raw: unknown, c: Call): Record<string, unknown> {
    const mirrors = mirrorsIn(type, raw);
    const session = c.ctx.session;
    const fresh = mirrors.filter((m) => !session.owns(m));
    try {
      if (fresh.length > 0) session.reserve(new Set(fresh).size);
      const ref = (m: ObjectMirror | undefined): MirrorRef | undefined => (m ? session.register(c.guest, c.space, m, c.args.group ?? "") : undefined);
      return shape(RESULT_MESSAGES[type], encodeRaw(type, raw, ref));
    } catch (e) {
      for (const m of fresh) if (!session.owns(m)) safeRelease(m);
      throw e;
    }
  }

  // ------------------------------------------------------------------ streams

  private watch(c: Call, sink: StreamSink): () => void {
    const guests = new Set<string>(c.args.guests ?? []);
    const types = new Set<string>(c.args.types ?? []);
    for (const t of types) if (!EVENT_TYPES.has(t)) throw bad(`unknown event type ${JSON.stringify(t)} (state, transcript, error, defined, undefined)`);
    let open = true;
    const unsubscribe = this.hypervisor.subscribe((event) => {
      if (!open) return;
      if (guests.size > 0 && !guests.has(event.guest)) return;
      if (types.size > 0 && !types.has(event.type)) return;
      try {
        sink.write(shape("Event", event));
      } catch {
        // the transport ends the stream itself when it cannot write
      }
    });
    return () => {
      if (!open) return;
      open = false;
      unsubscribe();
    };
  }

  private keepSession(c: Call, sink: StreamSink): () => void {
    const session = c.ctx.session;
    if (!c.ctx.explicitSession) throw new RemoteError("failedPrecondition", "KeepSession needs a session: call OpenSession and send its id as oz-session metadata");
    session.attachments++;
    let open = true;
    session.whenClosed(() => {
      if (!open) return;
      open = false;
      sink.write({ session: session.id, notice: "closed" });
      sink.end();
    });
    sink.write({ session: session.id, notice: "attached" });
    return () => {
      if (!open) return;
      open = false;
      session.attachments--;
      // the stream is the session's lifeline: when it ends (connection dropped, client gone), so does the session
      session.close();
    };
  }
}

function safeRelease(m: ObjectMirror): void {
  try {
    m.release();
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------- field validation

function readField(field: FieldDef, raw: unknown, where: string, resolve: (h: string, where: string) => ObjectMirror): unknown {
  if (field.repeated) {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw bad(`${where} must be a list`);
    if (raw.length > 10_000_000) throw bad(`${where} is too long`);
    return raw.map((x, i) => readOne(field, x, `${where}[${i}]`, resolve, true));
  }
  return readOne(field, raw, where, resolve, false);
}

function readOne(field: FieldDef, raw: unknown, where: string, resolve: (h: string, where: string) => ObjectMirror, element: boolean): unknown {
  const absent = raw === undefined || raw === null;
  const optional = field.optional && !element;
  switch (field.type) {
    case "string":
      if (absent) return optional ? undefined : "";
      if (typeof raw !== "string") throw bad(`${where} must be a string`);
      return raw;
    case "double":
    case "uint32":
    case "int32":
      if (absent) return optional ? undefined : 0;
      if (typeof raw !== "number") throw bad(`${where} must be a number`);
      return raw;
    case "bool":
      if (absent) return optional ? undefined : false;
      if (typeof raw !== "boolean") throw bad(`${where} must be a boolean`);
      return raw;
    case "bytes":
      if (absent) return optional ? undefined : new Uint8Array(0);
      if (!isBytes(raw)) throw bad(`${where} must be bytes`);
      return plainBytes(raw);
    case "handle":
      if (absent || raw === "") {
        if (optional) return undefined;
        throw bad(`${where} must be a mirror handle`);
      }
      if (typeof raw !== "string") throw bad(`${where} must be a mirror handle (a string)`);
      return resolve(raw, where);
    case "value":
      if (absent) throw bad(`${where} is missing`);
      return decodeValue(raw, where, (h) => resolve(h, where), 0, true);
    case "local":
      if (absent) throw bad(`${where} is missing`);
      return decodeValue(raw, where);
    case "integer": {
      if (absent) throw bad(`${where} is missing`);
      const v = decodeValue(raw, where);
      if (typeof v !== "number" && typeof v !== "bigint") throw bad(`${where} must be an integer Value (number or integer)`);
      return v;
    }
    default: {
      const def = MESSAGES[field.type];
      if (!def) throw new RemoteError("internal", `schema: unknown type ${field.type}`);
      if (absent) return undefined;
      if (typeof raw !== "object" || Array.isArray(raw) || isBytes(raw)) throw bad(`${where} must be a ${field.type} message`);
      const out: Record<string, unknown> = {};
      for (const sub of def.fields) {
        const v = readField(sub, (raw as Record<string, unknown>)[sub.name], `${where}.${sub.name}`, resolve);
        if (v !== undefined) out[sub.name] = v;
      }
      return out;
    }
  }
}

// ---------------------------------------------------------------------- result encoding

/** Keeps the fields of a message (recursively), dropping undefined ones: both transports send the same shape. */
export function shape(message: string, value: unknown): Record<string, unknown> {
  const def = MESSAGES[message];
  const out: Record<string, unknown> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const field of def.fields) {
    const v = (value as Record<string, unknown>)[field.name];
    if (v === undefined || v === null) continue;
    const one = (x: unknown) => (MESSAGES[field.type] && field.type !== "Value" ? shape(field.type, x) : x);
    out[field.name] = field.repeated ? (v as unknown[]).map(one) : one(v);
  }
  return out;
}

function mirrorsIn(type: ResultType, raw: any): ObjectMirror[] {
  switch (type) {
    case "mirror":
    case "optionalMirror":
      return raw ? [raw] : [];
    case "mirrors":
      return raw;
    case "evaluation":
      return raw.ok ? [raw.value] : [raw.error];
    case "runOutcome":
      return raw.state === "finished" ? [raw.result] : raw.state === "failed" ? [raw.error] : [];
    case "readyLists":
      return (raw as Array<{ processes: ObjectMirror[] }>).flatMap((l) => l.processes);
    default:
      return [];
  }
}

function encodeRaw(type: ResultType, raw: any, ref: (m: ObjectMirror | undefined) => MirrorRef | undefined): unknown {
  switch (type) {
    case "empty":
      return {};
    case "mirror":
    case "optionalMirror":
      return { mirror: ref(raw) };
    case "mirrors":
      return { mirrors: (raw as ObjectMirror[]).map(ref) };
    case "string":
    case "optionalString":
    case "number":
    case "optionalNumber":
    case "bool":
    case "bytes":
      return { value: raw };
    case "strings":
      return { values: raw };
    case "value":
      return { value: encodeLocal(raw as LocalValue) };
    case "words":
      return { values: Array.from(raw as Uint32Array) };
    case "description":
      return raw as ObjectDescription;
    case "evaluation": {
      const r = raw as EvaluationResult;
      return r.ok
        ? { ok: true, value: ref(r.value), printString: r.printString }
        : { ok: false, error: ref(r.error), errorClass: r.errorClass, messageText: r.messageText, description: r.description, stack: r.stack };
    }
    case "runOutcome": {
      const r = raw as RunOutcome;
      return {
        state: r.state,
        result: r.state === "finished" ? ref(r.result) : undefined,
        error: r.state === "failed" ? ref(r.error) : undefined,
        description: r.state === "failed" || r.state === "crashed" ? r.description : undefined,
      };
    }
    case "slice":
      return raw as SliceReport;
    case "spaceStats":
      return raw as SpaceStats;
    case "readyLists":
      return { lists: (raw as Array<{ priority: number; processes: ObjectMirror[] }>).map((l) => ({ priority: l.priority, processes: l.processes.map(ref) })) };
    case "guestInfo":
      return raw as GuestInfo;
    case "guestList":
      return { guests: raw as GuestInfo[] };
    case "guestStats":
    case "daemonStats":
      return raw as DaemonStats;
    default:
      return raw;
  }
}

// ---------------------------------------------------------------------- handlers

const opts = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function needAdmin(c: Call, what: string): void {
  if (!roleAllows(c.ctx.role, "admin")) throw new RemoteError("permissionDenied", `${what} needs the admin role; this token has ${c.ctx.role}`);
}

const HANDLERS: Record<string, Handler> = {
  // sessions
  OpenSession: (c) => {
    const requested = c.args.idleTimeoutSeconds;
    const registry = c.d.options.sessions;
    const max = c.d.options.maxIdleTimeoutMs ?? 24 * 3600_000;
    if (requested !== undefined && !(requested > 0)) throw bad("idleTimeoutSeconds must be positive");
    const idleTimeoutMs = Math.min(max, requested !== undefined ? requested * 1000 : registry.options.idleTimeoutMs);
    const s = registry.create(c.ctx.principal, c.ctx.role, c.ctx.transport, { idleTimeoutMs });
    return { session: s.id, role: c.ctx.role, idleTimeoutSeconds: idleTimeoutMs / 1000 };
  },
  CloseSession: (c) => {
    if (c.ctx.explicitSession) c.ctx.session.close();
    return {};
  },
  KeepSession: () => ({}),
  Whoami: (c) => ({ role: c.ctx.role, session: c.ctx.explicitSession || c.ctx.transport === "ws" ? c.ctx.session.id : "", transport: c.ctx.transport }),
  Release: (c) => ({ released: c.ctx.session.release(c.args.handles) }),
  ReleaseGroup: (c) => ({ released: c.ctx.session.releaseGroup(c.args.group) }),
  ReleaseAll: (c) => ({ released: c.ctx.session.releaseAll(c.args.guest) }),

  // the facade
  NilObject: (c) => c.space.nilObject(),
  TrueObject: (c) => c.space.trueObject(),
  FalseObject: (c) => c.space.falseObject(),
  SpecialObjectsArray: (c) => c.space.specialObjectsArray(),
  ClassNamed: (c) => c.space.classNamed(c.args.name),
  Classes: (c) => c.space.classes(),
  GlobalNamed: (c) => c.space.globalNamed(c.args.name),
  SetGlobal: (c) => c.space.setGlobal(c.args.name, c.args.value),
  FromLocal: (c) => c.space.fromLocal(c.args.value),
  FromLocalString: (c) => c.space.fromLocalString(c.args.text),
  FromLocalSymbol: (c) => c.space.fromLocalSymbol(c.args.name),
  FromLocalCharacter: (c) => {
    const { text, code } = c.args;
    if ((text === undefined) === (code === undefined)) throw bad("FromLocalCharacter takes text or code");
    return c.space.fromLocalCharacter(text ?? code);
  },
  FromLocalInteger: (c) => c.space.fromLocalInteger(c.args.value),
  FromLocalFloat: (c) => {
    const v = c.args.value;
    if (typeof v !== "number" && !(v instanceof FloatValue)) throw bad("value must be a number");
    return c.space.fromLocalFloat(typeof v === "number" ? v : v.value);
  },
  FromLocalBoolean: (c) => c.space.fromLocalBoolean(c.args.value),
  FromLocalArray: (c) => c.space.fromLocalArray(c.args.values),
  FromLocalByteArray: (c) => c.space.fromLocalByteArray(c.args.bytes),
  ToLocal: (c) => c.space.toLocal(c.args.mirror),
  ToLocalString: (c) => c.space.toLocalString(c.args.mirror),
  ToLocalSymbol: (c) => c.space.toLocalSymbol(c.args.mirror),
  ToLocalInteger: (c) => c.space.toLocalInteger(c.args.mirror),
  ToLocalFloat: async (c) => new FloatValue(await c.space.toLocalFloat(c.args.mirror)),
  ToLocalCharacter: (c) => c.space.toLocalCharacter(c.args.mirror),
  ToLocalBoolean: (c) => c.space.toLocalBoolean(c.args.mirror),
  ToLocalArray: (c) => c.space.toLocalArray(c.args.mirror),
  ToLocalByteArray: (c) => c.space.toLocalByteArray(c.args.mirror),
  CreateObjectWithFormat: (c) => c.space.createObjectWithFormat(c.args.format, c.args.indexableSize),
  CreateClassWithFormat: (c) => c.space.createClassWithFormat(formatSpec(c.args.classFormat, "classFormat"), formatSpec(c.args.instancesFormat, "instancesFormat")),
  Scheduler: (c) => c.space.scheduler(),
  Processes: (c) => c.space.processes(),
  CreateProcess: (c) => c.space.createProcess(c.args.priority, c.args.source, c.args.receiver),
  InstallAsActiveProcess: (c) => c.space.installAsActiveProcess(c.args.process),
  TransferControl: (c) => c.space.transferControl(c.args.budget),
  RunUntilFinished: (c) => c.space.runUntilFinished(c.args.process, c.args.budget),
  Evaluate: (c) => c.space.evaluate(c.args.source, opts({ receiver: c.args.receiver, budget: c.args.budget, priority: c.args.priority, origin: c.args.origin })),
  SpaceInterrupt: (c) => c.space.interrupt(),
  CollectGarbage: (c) => c.space.collectGarbage(c.args.kind),
  SpaceStats: (c) => c.space.stats(),
  SpaceSnapshot: (c) => c.space.snapshot(),

  // any mirror
  MirrorAt: (c) => c.mirror.at(c.args.index),
  MirrorAtPut: (c) => c.mirror.atPut(c.args.index, c.args.value),
  MirrorInstVarAt: (c) => c.mirror.instVarAt(c.args.index),
  MirrorInstVarAtPut: (c) => c.mirror.instVarAtPut(c.args.index, c.args.value),
  MirrorInstVarNamed: (c) => c.mirror.instVarNamed(c.args.name),
  MirrorInstVarNamedPut: (c) => c.mirror.instVarNamedPut(c.args.name, c.args.value),
  MirrorFixedSize: (c) => c.mirror.fixedSize(),
  MirrorVariableSize: (c) => c.mirror.variableSize(),
  MirrorFormat: (c) => c.mirror.format(),
  MirrorGetClass: (c) => c.mirror.getClass(),
  MirrorSetClass: (c) => c.mirror.setClass(c.args.cls),
  MirrorIdentityHash: (c) => c.mirror.identityHash(),
  MirrorIsNilObject: (c) => c.mirror.isNilObject(),
  MirrorIsSmallInteger: (c) => c.mirror.isSmallInteger(),
  MirrorIsCharacter: (c) => c.mirror.isCharacter(),
  MirrorIsIdenticalTo: (c) => c.mirror.isIdenticalTo(c.args.other),
  MirrorAsBoolean: (c) => c.mirror.asBoolean(),
  MirrorToLocal: (c) => c.mirror.toLocal(),
  MirrorPrintString: (c) => c.mirror.printString(),
  MirrorDescribe: (c) => c.mirror.describe(c.args.pageOffset, c.args.pageSize),
  MirrorAsClass: (c) => c.mirror.asClass(),
  MirrorAsMethod: (c) => c.mirror.asMethod(),
  MirrorAsContext: (c) => c.mirror.asContext(),
  MirrorAsProcess: (c) => c.mirror.asProcess(),
  MirrorAsBytes: (c) => c.mirror.asBytes(),
  MirrorAsWords: (c) => c.mirror.asWords(),

  // bytes and words
  BytesBytes: (c) => c.mirror.bytes(),
  BytesByteAt: (c) => c.mirror.byteAt(c.args.index),
  BytesByteAtPut: (c) => c.mirror.byteAtPut(c.args.index, c.args.value),
  BytesAsString: (c) => c.mirror.asString(),
  WordsWordAt: (c) => c.mirror.wordAt(c.args.index),
  WordsWordAtPut: (c) => c.mirror.wordAtPut(c.args.index, c.args.value),
  WordsWords: (c) => c.mirror.words(),

  // classes
  ClassName: (c) => c.mirror.name(),
  ClassSuperclass: (c) => c.mirror.superclass(),
  ClassSetSuperclass: (c) => c.mirror.setSuperclass(c.args.superclass),
  ClassSubclasses: (c) => c.mirror.subclasses(),
  ClassInstVarNames: (c) => c.mirror.instVarNames(),
  ClassAllInstVarNames: (c) => c.mirror.allInstVarNames(),
  ClassCategory: (c) => c.mirror.category(),
  ClassInstanceFormat: (c) => c.mirror.instanceFormat(),
  ClassInstanceSize: (c) => c.mirror.instanceSize(),
  ClassSelectors: (c) => c.mirror.selectors(),
  ClassIncludesSelector: (c) => c.mirror.includesSelector(c.args.selector),
  ClassMethodAt: (c) => c.mirror.methodAt(c.args.selector),
  ClassLookup: (c) => c.mirror.lookup(c.args.selector),
  ClassCompile: (c) => c.mirror.compile(c.args.source, c.args.options),
  ClassRemoveMethod: (c) => c.mirror.removeMethod(c.args.selector, opts({ logChange: c.args.logChange })),
  ClassMethodDictionary: (c) => c.mirror.methodDictionary(),
  ClassClassPool: (c) => c.mirror.classPool(),
  ClassMetaclass: (c) => c.mirror.metaclass(),
  ClassDefineSubclass: (c) => {
    const d = c.args.definition;
    if (!d) throw bad("definition is missing");
    if (d.kind !== undefined && !SUBCLASS_KINDS.has(d.kind)) throw bad(`definition.kind must be one of ${[...SUBCLASS_KINDS].join(", ")}`);
    return c.mirror.defineSubclass(d);
  },
  ClassAllInstances: (c) => c.mirror.allInstances(),
  ClassNewInstance: (c) => c.mirror.newInstance(c.args.indexableSize),
  MetaclassThisClass: (c) => c.mirror.thisClass(),
  ClassPoolNames: (c) => c.mirror.names(),
  ClassPoolValueAt: (c) => c.mirror.valueAt(c.args.name),
  ClassPoolValueAtPut: (c) => c.mirror.valueAtPut(c.args.name, c.args.value),
  MethodDictionarySelectors: (c) => c.mirror.selectors(),
  MethodDictionaryMethodAt: (c) => c.mirror.methodAt(c.args.selector),
  MethodDictionarySize: (c) => c.mirror.size(),

  // methods
  MethodSelector: (c) => c.mirror.selector(),
  MethodMethodClass: (c) => c.mirror.methodClass(),
  MethodSource: (c) => c.mirror.source(),
  MethodNumArgs: (c) => c.mirror.numArgs(),
  MethodNumTemps: (c) => c.mirror.numTemps(),
  MethodPrimitive: (c) => c.mirror.primitive(),
  MethodLiterals: (c) => c.mirror.literals(),
  MethodBytecodes: (c) => c.mirror.bytecodes(),
  MethodDisassembly: (c) => c.mirror.disassembly(),
  MethodLineForPc: (c) => c.mirror.lineForPc(c.args.pc),

  // contexts
  ContextMethod: (c) => c.mirror.method(),
  ContextPc: (c) => c.mirror.pc(),
  ContextReceiver: (c) => c.mirror.receiver(),
  ContextSender: (c) => c.mirror.sender(),
  ContextIsDead: (c) => c.mirror.isDead(),
  ContextIsBlockContext: (c) => c.mirror.isBlockContext(),
  ContextArguments: (c) => c.mirror.arguments(),
  ContextTempNames: (c) => c.mirror.tempNames(),
  ContextTempNamed: (c) => c.mirror.tempNamed(c.args.name),
  ContextTempNamedPut: (c) => c.mirror.tempNamedPut(c.args.name, c.args.value),
  ContextStack: (c) => c.mirror.stack(),
  ContextDescription: (c) => c.mirror.description(),
  ContextLine: (c) => c.mirror.line(),
  ContextRestart: (c) => c.mirror.restart(),
  ContextReturnValue: (c) => c.mirror.returnValue(c.args.value),

  // processes
  ProcessName: (c) => c.mirror.name(),
  ProcessPriority: (c) => c.mirror.priority(),
  ProcessSetPriority: (c) => c.mirror.setPriority(c.args.priority),
  ProcessState: (c) => c.mirror.state(),
  ProcessSuspendedContext: (c) => c.mirror.suspendedContext(),
  ProcessStack: (c) => c.mirror.stack(c.args.limit),
  ProcessSuspend: (c) => c.mirror.suspend(),
  ProcessResume: (c) => c.mirror.resume(),
  ProcessTerminate: (c) => c.mirror.terminate(),
  ProcessFailure: (c) => c.mirror.failure(),
  SchedulerActiveProcess: (c) => c.mirror.activeProcess(),
  SchedulerReadyLists: (c) => c.mirror.readyLists(),

  // the hypervisor
  List: (c) => c.hv.list(),
  Info: (c) => c.hv.info(c.args.name),
  Stats: (c) => c.hv.info(c.args.name).stats,
  Define: (c) => {
    const { name, image, imagePath, config } = c.args;
    if (image !== undefined && imagePath !== undefined) throw bad("give image or imagePath, not both");
    if (imagePath !== undefined) needAdmin(c, "defining a guest from a file on the server");
    const { name: _ignored, ...rest } = (config ?? {}) as Record<string, unknown>;
    void _ignored;
    return c.hv.define(name, opts({ image: image ?? imagePath, config: config ? rest : undefined }));
  },
  Start: (c) => c.hv.start(c.args.name),
  Suspend: (c) => c.hv.suspend(c.args.name),
  Resume: (c) => c.hv.resume(c.args.name),
  Interrupt: (c) => c.hv.interrupt(c.args.name),
  Snapshot: (c) => c.hv.snapshot(c.args.name),
  Clone: (c) => {
    if (c.args.fromFile !== undefined) needAdmin(c, "cloning from a file on the server");
    return c.hv.clone(c.args.source, c.args.target, opts({ fromFile: c.args.fromFile, start: c.args.start }));
  },
  Stop: (c) => c.hv.stop(c.args.name),
  Destroy: async (c) => {
    await c.hv.destroy(c.args.name);
    return {};
  },
  Transcript: (c) => c.hv.transcript(c.args.name, c.args.maxBytes),
  Changes: (c) => c.hv.changes(c.args.name, opts({ all: c.args.all })),
  DaemonStats: (c) => c.hv.daemonStats(),
  Watch: () => ({}),
  CreateToken: (c) => {
    const admin = tokenAdminOf(c);
    if (!isRole(c.args.role)) throw bad("role must be read, control or admin");
    return admin.createToken(c.args.role, c.args.name);
  },
  RevokeToken: (c) => {
    if (!tokenAdminOf(c).revokeToken(c.args.id)) throw new RemoteError("notFound", `no token ${JSON.stringify(c.args.id)}`);
    return {};
  },
  ListTokens: (c) => ({ tokens: tokenAdminOf(c).listTokens() }),
};

/** The dispatcher's authenticator, when it also manages tokens. */
function tokenAdminOf(c: Call) {
  const auth = c.d.auth;
  if (!isTokenAdmin(auth)) throw new RemoteError("unimplemented", "this server's tokens are fixed (no token store)");
  return auth;
}

function formatSpec(spec: { format?: string; instanceSize?: number } | undefined, where: string): { format: any; instanceSize: number } {
  if (!spec) throw bad(`${where} is missing`);
  return { format: spec.format ?? "", instanceSize: spec.instanceSize ?? 0 };
}

/** Every operation has a handler (checked at load). */
for (const o of OPERATIONS) if (!HANDLERS[o.name]) throw new Error(`remote: no handler for ${o.service}.${o.name}`);
