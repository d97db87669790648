/**
 * The remote protocol, as data: every message and every operation of the two services (Hypervisor and
 * ObjectSpace), with the role each operation needs. Everything else is derived from this table, so that
 * the transports cannot diverge:
 *
 *  - `proto/oz/v1/*.proto` is generated from it (protoGen.ts; a test checks the files are up to date);
 *  - the gRPC server registers one handler per operation, the WebSocket server accepts the same operation
 *    names (`"ObjectSpace.MirrorAt"`), and both hand the decoded request to one dispatcher
 *    (dispatcher.ts), which validates it against these field types;
 *  - the client (client/) encodes requests and decodes replies by the same names.
 *
 * Requests and replies are plain objects whose keys are the proto fields in lowerCamelCase (`pageOffset`),
 * which is also what proto-loader produces and what grpcurl's JSON uses. Numbers are doubles, as in
 * JavaScript, so that remote calls behave exactly like local ones for any argument.
 *
 * This module has no runtime dependency: the client imports it too.
 */
import type { MirrorKind } from "../membrane/objectSpace.js";

export type Role = "read" | "control" | "admin";

export const ROLES: readonly Role[] = ["read", "control", "admin"];

/** true when `role` may do what `needed` allows (admin > control > read) */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/**
 * Field types. Scalars map to proto scalars; `handle` is a mirror handle of the caller's session (a
 * string); `value` is a Value (a LocalValue or a handle), `local` a Value that must be a LocalValue,
 * `integer` a Value that must be an integer (number or bigint). Any other name is a message type.
 */
export type ScalarType = "string" | "double" | "bool" | "bytes" | "uint32" | "int32";
export type SemanticType = "handle" | "value" | "local" | "integer";
/** a scalar, a semantic type, or the name of a message of MESSAGES */
export type FieldType = ScalarType | SemanticType | (string & {});

export interface FieldDef {
  name: string;
  type: FieldType;
  repeated?: boolean;
  /** presence is tracked (proto3 `optional`); an absent field is `undefined` */
  optional?: boolean;
  /** the field belongs to this oneof */
  oneof?: string;
  doc?: string;
}

export interface MessageDef {
  doc: string;
  fields: FieldDef[];
}

const f = (name: string, type: FieldType, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type, ...extra });
const opt = (name: string, type: FieldType, doc?: string): FieldDef => ({ name, type, optional: true, doc });
const rep = (name: string, type: FieldType, doc?: string): FieldDef => ({ name, type, repeated: true, doc });

/** The messages that are not one operation's request: values, options, results. */
export const MESSAGES: Record<string, MessageDef> = {
  Empty: { doc: "No fields.", fields: [] },
  Value: {
    doc:
      "A host value crossing the membrane (values.ts LocalValue), or a mirror handle of this session (arguments only).\n" +
      "Exactly one field is set. `number` is a JavaScript number: integral means a Smalltalk Integer, otherwise a Float.",
    fields: [
      f("nil", "bool", { oneof: "kind", doc: "nil (set to true)" }),
      f("boolean", "bool", { oneof: "kind" }),
      f("number", "double", { oneof: "kind", doc: "a JavaScript number" }),
      f("integer", "string", { oneof: "kind", doc: "an integer of any size in decimal (a JavaScript bigint)" }),
      f("float", "double", { oneof: "kind", doc: "a Float even when integral (FloatValue)" }),
      f("string", "string", { oneof: "kind" }),
      f("symbol", "string", { oneof: "kind" }),
      f("character", "uint32", { oneof: "kind", doc: "a Character, by code point" }),
      f("byteArray", "bytes", { oneof: "kind" }),
      f("array", "ValueList", { oneof: "kind" }),
      f("handle", "string", { oneof: "kind", doc: "a mirror of this session (arguments only)" }),
      f("negativeZero", "string", { oneof: "kind", doc: "-0 as \"number\" or \"float\" (MessagePack has no negative zero integer)" }),
      f("tree", "ValueTree", { oneof: "kind", doc: "an Array nested too deeply for `array` (Protocol Buffers decoders stop at 100 levels)" }),
      f("arraySize", "uint32", { oneof: "kind", doc: "in a ValueTree only: an Array of this many elements, the nodes that follow" }),
    ],
  },
  ValueList: { doc: "An Array of values.", fields: [rep("values", "Value")] },
  ValueTree: { doc: "A deeply nested Array, flat: its nodes in preorder (an Array is `array_size` followed by its elements).", fields: [rep("nodes", "Value")] },
  MirrorRef: {
    doc: "A mirror: a handle owned by the session, and the kind of mirror it is (objectSpace.ts MirrorKind).",
    fields: [f("handle", "string"), f("kind", "string")],
  },
  RunBudget: { doc: "How long guest code may run (objectSpace.ts RunBudget).", fields: [opt("ms", "double"), opt("bytecodes", "double")] },
  SourceOrigin: {
    doc: "Where a piece of source comes from, so that compile errors point into the right file and line.",
    fields: [opt("fileName", "string"), opt("line", "double"), opt("column", "double"), opt("offset", "double")],
  },
  CompileOptions: {
    doc: "objectSpace.ts CompileOptions.",
    fields: [opt("category", "string"), opt("logChange", "bool"), f("origin", "SourceOrigin")],
  },
  SubclassDefinition: {
    doc: "objectSpace.ts SubclassDefinition; kind is normal, variable, variableByte, variableWord, weak or immediate.",
    fields: [f("name", "string"), rep("instanceVariableNames", "string"), rep("classVariableNames", "string"), opt("category", "string"), opt("kind", "string")],
  },
  FormatSpec: { doc: "An object format (empty, fixed, indexable, ...) and a number of fixed fields.", fields: [f("format", "string"), f("instanceSize", "double")] },
  ObjectDescription: {
    doc: "Everything a tool shows about an object, in one round trip (objectSpace.ts ObjectDescription).",
    fields: [
      f("className", "string"), f("format", "string"), f("kind", "string"), f("fixedSize", "double"), f("variableSize", "double"),
      f("identityHash", "double"), f("printString", "string"), rep("namedFields", "NamedField"), rep("indexedFields", "IndexedField"),
    ],
  },
  NamedField: { doc: "A named field and a short description of its value.", fields: [f("name", "string"), f("value", "string")] },
  IndexedField: { doc: "An indexed field and a short description of its value.", fields: [f("index", "double"), f("value", "string")] },
  StackFrame: { doc: "One frame of a Smalltalk stack.", fields: [f("description", "string"), opt("line", "double")] },
  EvaluationResult: {
    doc: "The result of Evaluate: ok with the value and its printString, or the error with its stack.",
    fields: [
      f("ok", "bool"), f("value", "MirrorRef"), f("printString", "string"), f("error", "MirrorRef"), f("errorClass", "string"),
      f("messageText", "string"), f("description", "string"), rep("stack", "StackFrame"),
    ],
  },
  RunOutcome: {
    doc: "How a run ended: finished (result), failed (error, description), budgetExhausted, idle, interrupted, crashed (description).",
    fields: [f("state", "string"), f("result", "MirrorRef"), f("error", "MirrorRef"), opt("description", "string")],
  },
  SliceFault: { doc: "What stopped a slice.", fields: [f("kind", "string"), f("message", "string")] },
  SliceReport: {
    doc: "One slice of guest execution.",
    fields: [f("reason", "string"), f("bytecodes", "double"), f("sends", "double"), f("elapsedMs", "double"), f("fault", "SliceFault")],
  },
  SpaceStats: {
    doc: "Heap and execution figures of one space.",
    fields: [f("heapBytes", "double"), f("heapLimit", "double"), opt("objects", "double"), f("gcCount", "double"), f("gcMs", "double"), f("bytecodes", "double"), f("sends", "double")],
  },
  ReadyList: { doc: "The runnable processes of one priority.", fields: [f("priority", "double"), rep("processes", "MirrorRef")] },
  ReadyLists: { doc: "The scheduler's ready lists (non-empty priorities only).", fields: [rep("lists", "ReadyList")] },
  MirrorReply: { doc: "One mirror; absent when the operation answers nothing (nil, not found).", fields: [f("mirror", "MirrorRef")] },
  MirrorsReply: { doc: "A list of mirrors.", fields: [rep("mirrors", "MirrorRef")] },
  StringReply: { doc: "A string; absent when the operation answers nothing.", fields: [opt("value", "string")] },
  StringsReply: { doc: "A list of strings.", fields: [rep("values", "string")] },
  NumberReply: { doc: "A number; absent when the operation answers nothing.", fields: [opt("value", "double")] },
  BoolReply: { doc: "A boolean.", fields: [f("value", "bool")] },
  ValueReply: { doc: "A host value.", fields: [f("value", "Value")] },
  BytesReply: { doc: "Bytes.", fields: [f("value", "bytes")] },
  WordsReply: { doc: "32-bit words.", fields: [rep("values", "uint32")] },
  ReleaseReply: { doc: "How many handles were released.", fields: [f("released", "double")] },
  SessionReply: {
    doc: "A session: its id (send it as `oz-session` metadata), the caller's role, its idle timeout.",
    fields: [f("session", "string"), f("role", "string"), f("idleTimeoutSeconds", "double")],
  },
  SessionNotice: { doc: "Sent on KeepSession: first when attached, then when the server ends the session.", fields: [f("session", "string"), f("notice", "string")] },
  WhoamiReply: { doc: "The caller's role and session (empty without one).", fields: [f("role", "string"), f("session", "string"), f("transport", "string")] },
  CpuQuota: { doc: "cgroup cpu.max-style quota.", fields: [f("quotaMs", "double"), f("periodMs", "double")] },
  GuestConfig: {
    doc: "hypervisor/types.ts GuestConfig.",
    fields: [
      f("name", "string"), opt("image", "string"), opt("autostart", "bool"), f("cpu", "CpuQuota"), opt("weight", "double"),
      opt("memoryLimitBytes", "double"), opt("maxSockets", "double"), opt("maxFileBytes", "double"), opt("startup", "string"),
    ],
  },
  ProcessCounts: {
    doc: "Processes of a guest by state.",
    fields: [f("running", "double"), f("runnable", "double"), f("waiting", "double"), f("suspended", "double"), f("failed", "double")],
  },
  GuestStats: {
    doc: "hypervisor/types.ts GuestStats.",
    fields: [
      f("cpuMs", "double"), f("bytecodes", "double"), f("sends", "double"), f("slices", "double"), f("throttledPeriods", "double"),
      f("throttledMs", "double"), f("heapBytes", "double"), f("heapLimitBytes", "double"), f("gcCount", "double"), f("gcMs", "double"),
      rep("gcPausesMs", "double"), f("processes", "ProcessCounts"), f("socketsOpen", "double"), f("socketsOpened", "double"),
      f("socketsRefused", "double"), f("bytesIn", "double"), f("bytesOut", "double"), f("finalizedByImage", "double"),
      f("finalizedByHost", "double"), f("fileBytes", "double"), f("uptimeMs", "double"),
      f("filesOpen", "double"), f("filesOpened", "double"), f("filesRefused", "double"), f("fileBytesRead", "double"),
      f("fileBytesWritten", "double"),
    ],
  },
  CrashInfo: { doc: "What happened to a crashed guest.", fields: [f("kind", "string"), f("message", "string"), rep("stack", "string")] },
  GuestInfo: {
    doc: "hypervisor/types.ts GuestInfo.",
    fields: [f("name", "string"), f("state", "string"), f("reason", "string"), f("config", "GuestConfig"), f("stats", "GuestStats"), f("crash", "CrashInfo")],
  },
  GuestList: { doc: "Every guest.", fields: [rep("guests", "GuestInfo")] },
  DaemonStats: {
    doc: "hypervisor/types.ts DaemonStats.",
    fields: [
      f("startedAt", "double"), f("guestSwitches", "double"), rep("slicesMs", "double"), rep("heartbeatLatenessMs", "double"),
      f("socketsOpen", "double"), f("socketsLimit", "double"), f("filesOpen", "double"), f("filesLimit", "double"),
      f("socketsRefusedByLimit", "double"), f("filesRefusedByLimit", "double"),
    ],
  },
  Event: {
    doc: "hypervisor/types.ts HypervisorEvent: type is state, transcript, error, defined or undefined.",
    fields: [
      f("type", "string"), f("guest", "string"), f("at", "double"), opt("state", "string"), opt("reason", "string"), opt("text", "string"),
      opt("message", "string"), rep("stack", "string"),
    ],
  },
  TokenInfo: { doc: "A token (never its secret).", fields: [f("id", "string"), f("name", "string"), f("role", "string"), f("createdAt", "double")] },
  TokenReply: { doc: "A new token: the secret is shown once.", fields: [f("id", "string"), f("name", "string"), f("role", "string"), f("token", "string")] },
  TokenList: { doc: "The tokens of the tokens file (the admin token is not listed).", fields: [rep("tokens", "TokenInfo")] },
  ChangeEntry: {
    doc:
      "One entry of a changes file (membrane/changes.ts ChangeEntry). kind is method, removeMethod, classDefinition, doit or snapshot;\n" +
      "class_name and class_side are set for method, removeMethod and classDefinition, selector for method and removeMethod,\n" +
      "category for method, stamp for snapshot.",
    fields: [
      f("kind", "string"), opt("className", "string"), opt("classSide", "bool"), opt("category", "string"), opt("selector", "string"),
      f("source", "string", { doc: "the method, the removal, the class definition or the doit (empty for a snapshot marker)" }),
      opt("timestamp", "string", "when it was logged (ISO 8601)"), f("position", "double", { doc: "byte offset of the source in the file" }),
      opt("stamp", "string", "a snapshot marker's stamp"),
    ],
  },
  GuestChanges: {
    doc: "A guest's changes file, parsed (hypervisor/types.ts GuestChanges).",
    fields: [
      rep("entries", "ChangeEntry", "the changes since the last snapshot (with `all`: every entry, snapshot markers included)"),
      f("truncated", "bool", { doc: "the file ends inside a change cut short: it never took effect and is left out" }),
      opt("truncatedAt", "double", "where that change starts (byte offset)"),
      f("file", "string", { doc: "the changes file on the server" }),
    ],
  },
};

export type MessageName = string;

/** How an operation's result is shaped; each maps to a reply message. */
export type ResultType =
  | "empty" | "mirror" | "optionalMirror" | "mirrors" | "string" | "optionalString" | "strings" | "number" | "optionalNumber"
  | "bool" | "value" | "bytes" | "words" | "description" | "evaluation" | "runOutcome" | "slice" | "spaceStats" | "readyLists"
  | "released" | "session" | "whoami" | "guestInfo" | "guestList" | "guestStats" | "daemonStats" | "event" | "sessionNotice"
  | "token" | "tokens" | "changes";

export const RESULT_MESSAGES: Record<ResultType, MessageName> = {
  empty: "Empty", mirror: "MirrorReply", optionalMirror: "MirrorReply", mirrors: "MirrorsReply", string: "StringReply",
  optionalString: "StringReply", strings: "StringsReply", number: "NumberReply", optionalNumber: "NumberReply", bool: "BoolReply",
  value: "ValueReply", bytes: "BytesReply", words: "WordsReply", description: "ObjectDescription", evaluation: "EvaluationResult",
  runOutcome: "RunOutcome", slice: "SliceReport", spaceStats: "SpaceStats", readyLists: "ReadyLists", released: "ReleaseReply",
  session: "SessionReply", whoami: "WhoamiReply", guestInfo: "GuestInfo", guestList: "GuestList", guestStats: "GuestStats",
  daemonStats: "DaemonStats", event: "Event", sessionNotice: "SessionNotice", token: "TokenReply", tokens: "TokenList",
  changes: "GuestChanges",
};

/** Result types that carry mirrors: their requests have a `group` field (where the new handles go). */
export const MIRROR_RESULTS: ReadonlySet<ResultType> = new Set(["mirror", "optionalMirror", "mirrors", "evaluation", "runOutcome", "readyLists"]);

export type ServiceName = "Hypervisor" | "ObjectSpace";

/**
 * What an operation works on: nothing in particular, a guest (`guest` field: the guest's name), or a
 * mirror (`handle` field: the target mirror's handle; its guest is the handle's).
 */
export type Target = "none" | "guest" | "mirror";

export interface OperationDef {
  service: ServiceName;
  /** the RPC name; the WebSocket operation is `${service}.${name}` */
  name: string;
  role: Role;
  target: Target;
  /** for mirror operations: the mirror kinds the target may have (absent: any) */
  kinds?: readonly MirrorKind[];
  /** arguments, after `guest`/`handle` (and `group` when the result has mirrors) */
  fields: FieldDef[];
  result: ResultType;
  /** server streaming (gRPC) / a subscription (WebSocket) */
  stream?: boolean;
  /** only on this transport (sessions are implicit on WebSocket) */
  transport?: "grpc";
  doc: string;
}

const CLASS_KINDS: readonly MirrorKind[] = ["class", "metaclass"];

function op(service: ServiceName, name: string, role: Role, target: Target, result: ResultType, doc: string, fields: FieldDef[] = [], extra: Partial<OperationDef> = {}): OperationDef {
  return { service, name, role, target, result, doc, fields, ...extra };
}
const space = (name: string, role: Role, result: ResultType, doc: string, fields: FieldDef[] = []) => op("ObjectSpace", name, role, "guest", result, doc, fields);
const mirror = (kinds: readonly MirrorKind[] | undefined, name: string, role: Role, result: ResultType, doc: string, fields: FieldDef[] = []) =>
  op("ObjectSpace", name, role, "mirror", result, doc, fields, kinds ? { kinds } : {});
const guestOp = (name: string, role: Role, result: ResultType, doc: string, fields: FieldDef[] = []) =>
  op("Hypervisor", name, role, "none", result, doc, [f("name", "string", { doc: "the guest" }), ...fields]);

const index = f("index", "double", { doc: "1-based" });
const value = f("value", "value");
const selector = f("selector", "string");
const anyMirror = (name: string, role: Role, result: ResultType, doc: string, fields: FieldDef[] = []) => mirror(undefined, name, role, result, doc, fields);

export const OPERATIONS: readonly OperationDef[] = [
  // ------------------------------------------------------------ sessions and handles
  op("ObjectSpace", "OpenSession", "read", "none", "session", "Opens a session that owns handles; send its id as `oz-session` metadata. It ends on CloseSession, when the KeepSession stream attached to it ends, or after its idle timeout.", [opt("idleTimeoutSeconds", "double")], { transport: "grpc" }),
  op("ObjectSpace", "CloseSession", "read", "none", "empty", "Ends the caller's session and releases its handles.", [], { transport: "grpc" }),
  op("ObjectSpace", "KeepSession", "read", "none", "sessionNotice", "Ties the caller's session to this stream: the session ends (its handles released) when the stream does, e.g. when the connection drops.", [], { transport: "grpc", stream: true }),
  op("ObjectSpace", "Whoami", "read", "none", "whoami", "The caller's role and session."),
  op("ObjectSpace", "Release", "read", "none", "released", "Releases handles of the session (unknown ones are ignored).", [rep("handles", "string")]),
  op("ObjectSpace", "ReleaseGroup", "read", "none", "released", "Releases every handle of a group (as Chrome DevTools' Runtime.releaseObjectGroup).", [f("group", "string")]),
  op("ObjectSpace", "ReleaseAll", "read", "none", "released", "Releases every handle of the session in one guest, or in all guests when `guest` is absent.", [opt("guest", "string")]),

  // ------------------------------------------------------------ the facade (ObjectSpace)
  space("NilObject", "read", "mirror", "The guest's nil."),
  space("TrueObject", "read", "mirror", "The guest's true."),
  space("FalseObject", "read", "mirror", "The guest's false."),
  space("SpecialObjectsArray", "read", "mirror", "The special objects array."),
  space("ClassNamed", "read", "optionalMirror", "A class by name (`Foo class` for a metaclass).", [f("name", "string")]),
  space("Classes", "read", "mirrors", "Every class of Smalltalk."),
  space("GlobalNamed", "read", "optionalMirror", "A global's value.", [f("name", "string")]),
  space("SetGlobal", "control", "empty", "Sets a global.", [f("name", "string"), value]),
  space("FromLocal", "control", "mirror", "Translates a host value into the guest.", [f("value", "local")]),
  space("FromLocalString", "control", "mirror", "A new String.", [f("text", "string")]),
  space("FromLocalSymbol", "control", "mirror", "A Symbol.", [f("name", "string")]),
  space("FromLocalCharacter", "control", "mirror", "A Character, from a one-character string or a code point.", [opt("text", "string"), opt("code", "double")]),
  space("FromLocalInteger", "control", "mirror", "An Integer.", [f("value", "integer")]),
  space("FromLocalFloat", "control", "mirror", "A Float.", [f("value", "local", { doc: "a number (or negativeZero)" })]),
  space("FromLocalBoolean", "control", "mirror", "true or false.", [f("value", "bool")]),
  space("FromLocalArray", "control", "mirror", "An Array of translated values.", [rep("values", "local")]),
  space("FromLocalByteArray", "control", "mirror", "A ByteArray.", [f("bytes", "bytes")]),
  space("ToLocal", "read", "value", "Translates a literal object to a host value.", [f("mirror", "handle")]),
  space("ToLocalString", "read", "string", "A String or Symbol as text.", [f("mirror", "handle")]),
  space("ToLocalSymbol", "read", "string", "A Symbol's name.", [f("mirror", "handle")]),
  space("ToLocalInteger", "read", "value", "An Integer (as a Value `integer`).", [f("mirror", "handle")]),
  space("ToLocalFloat", "read", "value", "A Float (as a Value `float`).", [f("mirror", "handle")]),
  space("ToLocalCharacter", "read", "string", "A Character.", [f("mirror", "handle")]),
  space("ToLocalBoolean", "read", "bool", "true or false.", [f("mirror", "handle")]),
  space("ToLocalArray", "read", "value", "An Array of literals (as a Value `array`).", [f("mirror", "handle")]),
  space("ToLocalByteArray", "read", "bytes", "A ByteArray.", [f("mirror", "handle")]),
  space("CreateObjectWithFormat", "control", "mirror", "A class-less object (bootstrapping).", [f("format", "string"), opt("indexableSize", "double")]),
  space("CreateClassWithFormat", "control", "mirror", "A class-less class (bootstrapping).", [f("classFormat", "FormatSpec"), f("instancesFormat", "FormatSpec")]),
  space("Scheduler", "read", "mirror", "The process scheduler."),
  space("Processes", "read", "mirrors", "Every process of the guest."),
  space("CreateProcess", "control", "mirror", "Compiles a doit and creates (without scheduling) a process for it.", [f("priority", "double"), f("source", "string"), f("receiver", "handle", { optional: true })]),
  space("InstallAsActiveProcess", "control", "empty", "Makes a process the active one.", [f("process", "handle")]),
  space("TransferControl", "control", "slice", "Lets the guest run one slice.", [f("budget", "RunBudget")]),
  space("RunUntilFinished", "control", "runOutcome", "Runs until the process finishes, fails, or the budget is spent.", [f("process", "handle"), f("budget", "RunBudget")]),
  space("Evaluate", "control", "evaluation", "Compiles and runs an expression in the guest; answers its value and printString, or the error and its stack.", [
    f("source", "string"), f("receiver", "handle", { optional: true }), f("budget", "RunBudget"), opt("priority", "double"), f("origin", "SourceOrigin"),
  ]),
  space("SpaceInterrupt", "control", "empty", "Stops the running guest at its next interrupt check."),
  space("CollectGarbage", "control", "empty", "A garbage collection, full (default) or young (handles stay valid).", [opt("kind", "string", "full or young")]),
  space("SpaceStats", "read", "spaceStats", "Heap and execution figures."),
  space("SpaceSnapshot", "read", "bytes", "The image file bytes of the space as it is now."),

  // ------------------------------------------------------------ any mirror
  anyMirror("MirrorAt", "read", "mirror", "Indexed field (at:).", [index]),
  anyMirror("MirrorAtPut", "control", "empty", "Sets an indexed field (at:put:).", [index, value]),
  anyMirror("MirrorInstVarAt", "read", "mirror", "Named-then-indexed field (instVarAt:).", [index]),
  anyMirror("MirrorInstVarAtPut", "control", "empty", "Sets a named-then-indexed field.", [index, value]),
  anyMirror("MirrorInstVarNamed", "read", "mirror", "A named instance variable.", [f("name", "string")]),
  anyMirror("MirrorInstVarNamedPut", "control", "empty", "Sets a named instance variable.", [f("name", "string"), value]),
  anyMirror("MirrorFixedSize", "read", "number", "Number of named fields."),
  anyMirror("MirrorVariableSize", "read", "number", "Number of indexed fields."),
  anyMirror("MirrorFormat", "read", "string", "The object's format."),
  anyMirror("MirrorGetClass", "read", "mirror", "The object's class."),
  anyMirror("MirrorSetClass", "control", "empty", "Changes the object's class.", [f("cls", "handle")]),
  anyMirror("MirrorIdentityHash", "read", "number", "The identity hash."),
  anyMirror("MirrorIsNilObject", "read", "bool", "Is it nil?"),
  anyMirror("MirrorIsSmallInteger", "read", "bool", "Is it a SmallInteger?"),
  anyMirror("MirrorIsCharacter", "read", "bool", "Is it an immediate Character?"),
  anyMirror("MirrorIsIdenticalTo", "read", "bool", "Identity (==).", [f("other", "handle")]),
  anyMirror("MirrorAsBoolean", "read", "bool", "true or false (an error for other objects)."),
  anyMirror("MirrorToLocal", "read", "value", "Translation to a host value (literals only)."),
  anyMirror("MirrorPrintString", "read", "string", "The guest's printString of the object."),
  anyMirror("MirrorDescribe", "read", "description", "Class, format, sizes, identity hash, printString and a page of fields, in one round trip.", [opt("pageOffset", "double"), opt("pageSize", "double")]),
  anyMirror("MirrorAsClass", "read", "mirror", "The same object as a class mirror."),
  anyMirror("MirrorAsMethod", "read", "mirror", "The same object as a method mirror."),
  anyMirror("MirrorAsContext", "read", "mirror", "The same object as a context mirror."),
  anyMirror("MirrorAsProcess", "read", "mirror", "The same object as a process mirror."),
  anyMirror("MirrorAsBytes", "read", "mirror", "The same object as a byte object mirror."),
  anyMirror("MirrorAsWords", "read", "mirror", "The same object as a word object mirror."),

  // ------------------------------------------------------------ bytes and words
  mirror(["bytes"], "BytesBytes", "read", "bytes", "The bytes."),
  mirror(["bytes"], "BytesByteAt", "read", "number", "One byte (1-based).", [index]),
  mirror(["bytes"], "BytesByteAtPut", "control", "empty", "Sets one byte.", [index, f("value", "double")]),
  mirror(["bytes"], "BytesAsString", "read", "string", "The bytes as Latin-1 text."),
  mirror(["words"], "WordsWordAt", "read", "number", "One word (1-based).", [index]),
  mirror(["words"], "WordsWordAtPut", "control", "empty", "Sets one word.", [index, f("value", "double")]),
  mirror(["words"], "WordsWords", "read", "words", "The words."),

  // ------------------------------------------------------------ classes
  mirror(CLASS_KINDS, "ClassName", "read", "string", "The class name."),
  mirror(CLASS_KINDS, "ClassSuperclass", "read", "optionalMirror", "The superclass (absent for a root)."),
  mirror(CLASS_KINDS, "ClassSetSuperclass", "control", "empty", "Changes the superclass (absent: nil).", [f("superclass", "handle", { optional: true })]),
  mirror(CLASS_KINDS, "ClassSubclasses", "read", "mirrors", "The direct subclasses."),
  mirror(CLASS_KINDS, "ClassInstVarNames", "read", "strings", "The class's own instance variables."),
  mirror(CLASS_KINDS, "ClassAllInstVarNames", "read", "strings", "All instance variables, inherited first."),
  mirror(CLASS_KINDS, "ClassCategory", "read", "string", "The class category."),
  mirror(CLASS_KINDS, "ClassInstanceFormat", "read", "string", "The format of its instances."),
  mirror(CLASS_KINDS, "ClassInstanceSize", "read", "number", "Named fields of its instances."),
  mirror(CLASS_KINDS, "ClassSelectors", "read", "strings", "Its selectors, sorted."),
  mirror(CLASS_KINDS, "ClassIncludesSelector", "read", "bool", "Does it define this selector?", [selector]),
  mirror(CLASS_KINDS, "ClassMethodAt", "read", "optionalMirror", "Its method for a selector.", [selector]),
  mirror(CLASS_KINDS, "ClassLookup", "read", "optionalMirror", "The method a send of this selector runs (inherited too).", [selector]),
  mirror(CLASS_KINDS, "ClassCompile", "control", "mirror", "Compiles and installs a method (a compile error is INVALID_ARGUMENT with the compiler's message).", [f("source", "string"), f("options", "CompileOptions")]),
  mirror(CLASS_KINDS, "ClassRemoveMethod", "control", "empty", "Removes a method (logged to the changes file first unless logChange is false).", [selector, opt("logChange", "bool")]),
  mirror(CLASS_KINDS, "ClassMethodDictionary", "read", "mirror", "Its method dictionary."),
  mirror(CLASS_KINDS, "ClassClassPool", "read", "mirror", "Its class variables."),
  mirror(CLASS_KINDS, "ClassMetaclass", "read", "mirror", "Its metaclass."),
  mirror(CLASS_KINDS, "ClassDefineSubclass", "control", "mirror", "Defines or redefines a subclass (through the image's class builder).", [f("definition", "SubclassDefinition")]),
  mirror(CLASS_KINDS, "ClassAllInstances", "read", "mirrors", "Every instance."),
  mirror(CLASS_KINDS, "ClassNewInstance", "control", "mirror", "basicNew / basicNew:.", [opt("indexableSize", "double")]),
  mirror(["metaclass"], "MetaclassThisClass", "read", "mirror", "The metaclass's sole instance."),
  mirror(["classPool"], "ClassPoolNames", "read", "strings", "Class variable names."),
  mirror(["classPool"], "ClassPoolValueAt", "read", "optionalMirror", "A class variable's value.", [f("name", "string")]),
  mirror(["classPool"], "ClassPoolValueAtPut", "control", "empty", "Sets a class variable.", [f("name", "string"), value]),
  mirror(["methodDictionary"], "MethodDictionarySelectors", "read", "strings", "Selectors, sorted."),
  mirror(["methodDictionary"], "MethodDictionaryMethodAt", "read", "optionalMirror", "The method for a selector.", [selector]),
  mirror(["methodDictionary"], "MethodDictionarySize", "read", "number", "Number of methods."),

  // ------------------------------------------------------------ methods
  mirror(["method"], "MethodSelector", "read", "string", "The selector."),
  mirror(["method"], "MethodMethodClass", "read", "optionalMirror", "The class it is installed in."),
  mirror(["method"], "MethodSource", "read", "optionalString", "Its source."),
  mirror(["method"], "MethodNumArgs", "read", "number", "Number of arguments."),
  mirror(["method"], "MethodNumTemps", "read", "number", "Number of temporaries (arguments included)."),
  mirror(["method"], "MethodPrimitive", "read", "number", "Its primitive (0: none)."),
  mirror(["method"], "MethodLiterals", "read", "mirrors", "Its literals."),
  mirror(["method"], "MethodBytecodes", "read", "bytes", "Its bytecodes."),
  mirror(["method"], "MethodDisassembly", "read", "strings", "One line per instruction."),
  mirror(["method"], "MethodLineForPc", "read", "optionalNumber", "The source line of a pc.", [f("pc", "double")]),

  // ------------------------------------------------------------ contexts
  mirror(["context"], "ContextMethod", "read", "mirror", "Its method."),
  mirror(["context"], "ContextPc", "read", "optionalNumber", "Its pc (absent for a dead context)."),
  mirror(["context"], "ContextReceiver", "read", "mirror", "Its receiver."),
  mirror(["context"], "ContextSender", "read", "optionalMirror", "Its sender."),
  mirror(["context"], "ContextIsDead", "read", "bool", "Has it returned?"),
  mirror(["context"], "ContextIsBlockContext", "read", "bool", "Is it a block's context?"),
  mirror(["context"], "ContextArguments", "read", "mirrors", "Its arguments."),
  mirror(["context"], "ContextTempNames", "read", "strings", "Temporary names, as the compiler named them."),
  mirror(["context"], "ContextTempNamed", "read", "mirror", "A temporary by name.", [f("name", "string")]),
  mirror(["context"], "ContextTempNamedPut", "control", "empty", "Sets a temporary.", [f("name", "string"), value]),
  mirror(["context"], "ContextStack", "read", "mirrors", "Its stack (temporaries first)."),
  mirror(["context"], "ContextDescription", "read", "string", "\"Class>>selector\"."),
  mirror(["context"], "ContextLine", "read", "optionalNumber", "The current source line."),
  mirror(["context"], "ContextRestart", "control", "empty", "Restarts the context."),
  mirror(["context"], "ContextReturnValue", "control", "empty", "Returns a value from the context to its sender.", [value]),

  // ------------------------------------------------------------ processes
  mirror(["process"], "ProcessName", "read", "string", "Its name."),
  mirror(["process"], "ProcessPriority", "read", "number", "Its priority."),
  mirror(["process"], "ProcessSetPriority", "control", "empty", "Changes its priority (1..80).", [f("priority", "double")]),
  mirror(["process"], "ProcessState", "read", "string", "running, runnable, waiting, suspended, terminated or failed."),
  mirror(["process"], "ProcessSuspendedContext", "read", "optionalMirror", "Its top context."),
  mirror(["process"], "ProcessStack", "read", "mirrors", "Its contexts from top to bottom.", [opt("limit", "double")]),
  mirror(["process"], "ProcessSuspend", "control", "empty", "Suspends it."),
  mirror(["process"], "ProcessResume", "control", "empty", "Resumes it."),
  mirror(["process"], "ProcessTerminate", "control", "empty", "Terminates it (unwind blocks run)."),
  mirror(["process"], "ProcessFailure", "read", "optionalMirror", "The error that stopped a failed process."),
  mirror(["scheduler"], "SchedulerActiveProcess", "read", "optionalMirror", "The active process."),
  mirror(["scheduler"], "SchedulerReadyLists", "read", "readyLists", "Runnable processes by priority."),

  // ------------------------------------------------------------ the hypervisor
  op("Hypervisor", "List", "read", "none", "guestList", "Every guest with its state, configuration and statistics."),
  guestOp("Info", "read", "guestInfo", "One guest."),
  guestOp("Stats", "read", "guestStats", "One guest's statistics."),
  guestOp("Define", "control", "guestInfo", "Defines a guest from image bytes, an image file on the server (admin only), or the kernel image.", [
    f("image", "bytes", { optional: true }), opt("imagePath", "string", "a file on the server (admin role)"), f("config", "GuestConfig"),
  ]),
  guestOp("Start", "control", "guestInfo", "Starts a guest."),
  guestOp("Suspend", "control", "guestInfo", "Pauses a running guest."),
  guestOp("Resume", "control", "guestInfo", "Resumes a paused guest."),
  guestOp("Interrupt", "control", "guestInfo", "Stops a guest at its next interrupt check (paused, interrupt)."),
  guestOp("Snapshot", "control", "string", "Writes the guest's image; answers the file path."),
  op("Hypervisor", "Clone", "control", "none", "guestInfo", "Defines a guest as a copy of another (or of an image file on the server, admin only).", [
    f("source", "string"), f("target", "string"), opt("fromFile", "string"), opt("start", "bool"),
  ]),
  guestOp("Stop", "control", "guestInfo", "Shuts a guest off."),
  guestOp("Destroy", "control", "empty", "Undefines a guest."),
  guestOp("Transcript", "read", "string", "The guest's last Transcript output.", [opt("maxBytes", "double")]),
  op("Hypervisor", "DaemonStats", "read", "none", "daemonStats", "Daemon-wide figures."),
  op("Hypervisor", "Watch", "read", "none", "event", "The event feed: state changes, Transcript output, errors, guests defined and undefined (empty filters: everything).", [
    rep("guests", "string"), rep("types", "string"),
  ], { stream: true }),
  op("Hypervisor", "CreateToken", "admin", "none", "token", "Creates a token for a role (read, control or admin); its secret is answered once.", [f("role", "string"), f("name", "string")]),
  op("Hypervisor", "RevokeToken", "admin", "none", "empty", "Revokes a token by id (effective immediately).", [f("id", "string")]),
  op("Hypervisor", "ListTokens", "admin", "none", "tokens", "The tokens (ids, names, roles; never secrets)."),
  guestOp("Changes", "read", "changes", "The guest's changes since its last snapshot, parsed from its changes file, and whether the file ends inside a change cut short.", [
    opt("all", "bool", "every entry of the file, snapshot markers included"),
  ]),
];

export const OPERATIONS_BY_KEY: ReadonlyMap<string, OperationDef> = new Map(OPERATIONS.map((o) => [`${o.service}.${o.name}`, o]));

export function operationKey(o: OperationDef): string {
  return `${o.service}.${o.name}`;
}

/** The full request fields of an operation: target fields, `group` when it answers mirrors, arguments. */
export function requestFields(o: OperationDef): FieldDef[] {
  const out: FieldDef[] = [];
  if (o.target === "guest") out.push(f("guest", "string", { doc: "the guest's name" }));
  if (o.target === "mirror") out.push(f("handle", "string", { doc: "the target mirror" }));
  if (MIRROR_RESULTS.has(o.result)) out.push(f("group", "string", { doc: "the handle group new mirrors join (default: none)" }));
  out.push(...o.fields);
  return out;
}

export function requestMessageName(o: OperationDef): string {
  return `${o.name}Request`;
}

export const PROTO_PACKAGE = "oz.v1";
