/**
 * Renders the `.proto` files of the remote protocol from schema.ts, so that the gRPC services, the
 * WebSocket operations and the client share one definition. The files are checked in under `proto/oz/v1/`
 * (grpcurl users and other languages read them); test/remote/proto.test.ts fails when they are stale.
 *
 * Regenerate: `npm run build && node dist/src/remote/protoGen.js` (writes into ./proto).
 *
 * Field numbers follow declaration order, so new fields and operations must be appended to keep the wire
 * format compatible.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import {
  MESSAGES, OPERATIONS, PROTO_PACKAGE, RESULT_MESSAGES, requestFields, requestMessageName, type FieldDef, type MessageDef,
  type OperationDef, type ServiceName,
} from "./schema.js";

const HEADER = "// Generated from src/remote/schema.ts by src/remote/protoGen.ts: edit the schema, not this file.\n";

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function protoType(type: FieldDef["type"]): string {
  switch (type) {
    case "handle":
      return "string";
    case "value":
    case "local":
    case "integer":
      return "Value";
    default:
      return type;
  }
}

function comment(text: string | undefined, indent: string): string {
  if (!text) return "";
  return text.split("\n").map((line) => `${indent}// ${line}`.trimEnd()).join("\n") + "\n";
}

function renderMessage(name: string, def: MessageDef): string {
  let out = comment(def.doc, "") + `message ${name} {\n`;
  const oneofs = new Map<string, string[]>();
  def.fields.forEach((field, i) => {
    const type = protoType(field.type);
    const label = field.repeated ? "repeated " : field.optional && isScalar(type) ? "optional " : "";
    const line = `${label}${type} ${snakeCase(field.name)} = ${i + 1};`;
    if (field.oneof) {
      const lines = oneofs.get(field.oneof) ?? [];
      if (lines.length === 0) oneofs.set(field.oneof, lines);
      lines.push(comment(field.doc, "    ") + `    ${line}\n`);
      if (def.fields[i + 1]?.oneof !== field.oneof) {
        out += `  oneof ${snakeCase(field.oneof)} {\n${lines.join("")}  }\n`;
      }
    } else {
      out += comment(field.doc, "  ") + `  ${line}\n`;
    }
  });
  return out + "}\n";
}

function isScalar(type: string): boolean {
  return ["string", "double", "bool", "bytes", "uint32", "int32"].includes(type);
}

function renderService(service: ServiceName, doc: string): string {
  const ops = OPERATIONS.filter((o) => o.service === service);
  let out = "";
  for (const o of ops) out += renderMessage(requestMessageName(o), { doc: "", fields: requestFields(o) }) + "\n";
  out += comment(doc, "") + `service ${service} {\n`;
  for (const o of ops) {
    out += comment(operationDoc(o), "  ");
    out += `  rpc ${o.name}(${requestMessageName(o)}) returns (${o.stream ? "stream " : ""}${RESULT_MESSAGES[o.result]});\n`;
  }
  return out + "}\n";
}

function operationDoc(o: OperationDef): string {
  const notes = [`role: ${o.role}`];
  if (o.kinds) notes.push(`handle kinds: ${o.kinds.join(", ")}`);
  if (o.transport) notes.push(`${o.transport} only`);
  return `${o.doc} (${notes.join("; ")})`;
}

function fileHeader(imports: string[]): string {
  return `${HEADER}syntax = "proto3";\n\npackage ${PROTO_PACKAGE};\n\n${imports.map((i) => `import "${i}";\n`).join("")}${imports.length ? "\n" : ""}`;
}

/** The generated files, by path relative to the proto directory. */
export function generateProtoFiles(): Record<string, string> {
  const common =
    fileHeader([]) +
    "// Messages shared by the Hypervisor and ObjectSpace services: values, mirrors, options and results.\n\n" +
    Object.entries(MESSAGES).map(([name, def]) => renderMessage(name, def)).join("\n");
  const objectSpace =
    fileHeader(["oz/v1/common.proto"]) +
    renderService(
      "ObjectSpace",
      "Every facade and mirror operation of a guest's object space (src/membrane/objectSpace.ts).\n" +
        "Mirrors are handles owned by a session: open one with OpenSession and send its id as `oz-session` metadata.\n" +
        "Authentication: `authorization: Bearer <token>` metadata.",
    );
  const hypervisor =
    fileHeader(["oz/v1/common.proto"]) +
    renderService("Hypervisor", "The daemon's control plane (src/hypervisor/types.ts HypervisorApi): guest lifecycle, statistics, changes files, events, tokens.");
  return { "oz/v1/common.proto": common, "oz/v1/objectspace.proto": objectSpace, "oz/v1/hypervisor.proto": hypervisor };
}

/** The proto directory of the package (found from this file, in src/ or dist/src/). */
export function protoDirectory(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, "proto");
    if (fs.existsSync(path.join(candidate, "oz", "v1", "common.proto"))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error("cannot find the proto directory (proto/oz/v1/common.proto) above " + fileURLToPath(import.meta.url));
}

export function writeProtoFiles(dir: string): string[] {
  const written: string[] = [];
  for (const [file, text] of Object.entries(generateProtoFiles())) {
    const target = path.join(dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
    written.push(target);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = process.argv[2] ?? path.resolve("proto");
  for (const file of writeProtoFiles(dir)) console.log(`wrote ${file}`);
}
