/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), so that `grpcurl` can list, describe and call
 * every operation without the .proto files. The file descriptors are the ones proto-loader builds from
 * proto/ (one file per package, as the official @grpc/reflection serves them). Reflection needs a valid
 * token, like everything but health: grpcurl's `-H 'authorization: Bearer …'` is sent on reflection
 * requests too.
 */
import * as grpc from "@grpc/grpc-js";
import { packageDefinition, serviceDefinition } from "./protos.js";

interface FileInfo {
  name: string;
  pkg: string;
  bytes: Uint8Array;
}

/** Reads the name (1) and package (2) of a serialized FileDescriptorProto. */
export function fileDescriptorHeader(bytes: Uint8Array): { name: string; pkg: string } {
  let pos = 0;
  let name = "";
  let pkg = "";
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new Error("truncated descriptor");
      const b = bytes[pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (pos < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint();
      const text = Buffer.from(bytes.subarray(pos, pos + len)).toString("utf8");
      if (field === 1) name = text;
      if (field === 2) pkg = text;
      pos += len;
    } else throw new Error(`unexpected wire type ${wire} in a descriptor`);
  }
  return { name, pkg };
}

export class ReflectionService {
  private readonly files: FileInfo[] = [];
  private readonly symbols = new Set<string>();

  constructor(
    readonly services: string[],
    private readonly authorize: (metadata: grpc.Metadata) => string | undefined,
  ) {
    const def = packageDefinition();
    const seen = new Set<string>();
    for (const [name, entry] of Object.entries(def)) {
      this.symbols.add(name);
      if (!("format" in entry)) {
        for (const method of Object.keys(entry)) this.symbols.add(`${name}.${method}`);
      }
      const protos = ("format" in entry ? entry.fileDescriptorProtos : Object.values(entry)[0]?.requestType.fileDescriptorProtos) as Buffer[] | undefined;
      for (const bytes of protos ?? []) {
        const header = fileDescriptorHeader(bytes);
        if (seen.has(header.name)) continue;
        seen.add(header.name);
        this.files.push({ ...header, bytes });
      }
    }
  }

  private fileOf(symbol: string): FileInfo | undefined {
    if (!this.symbols.has(symbol)) return undefined;
    let best: FileInfo | undefined;
    for (const f of this.files) if ((symbol.startsWith(`${f.pkg}.`) || f.pkg === "") && (!best || f.pkg.length > best.pkg.length)) best = f;
    return best;
  }

  private withDependencies(file: FileInfo): Uint8Array[] {
    return [file.bytes, ...this.files.filter((f) => f !== file).map((f) => f.bytes)];
  }

  respond(request: Record<string, any>): Record<string, unknown> {
    const response: Record<string, unknown> = { validHost: request.host ?? "", originalRequest: request };
    const error = (code: number, message: string) => ({ ...response, errorResponse: { errorCode: code, errorMessage: message } });
    if (request.listServices !== undefined) return { ...response, listServicesResponse: { service: this.services.map((name) => ({ name })) } };
    if (request.fileContainingSymbol !== undefined) {
      const symbol = String(request.fileContainingSymbol).replace(/^\./, "");
      const file = this.fileOf(symbol);
      return file ? { ...response, fileDescriptorResponse: { fileDescriptorProto: this.withDependencies(file) } } : error(grpc.status.NOT_FOUND, `unknown symbol ${symbol}`);
    }
    if (request.fileByFilename !== undefined) {
      const file = this.files.find((f) => f.name === request.fileByFilename);
      return file ? { ...response, fileDescriptorResponse: { fileDescriptorProto: this.withDependencies(file) } } : error(grpc.status.NOT_FOUND, `unknown file ${request.fileByFilename}`);
    }
    if (request.allExtensionNumbersOfType !== undefined) {
      const type = String(request.allExtensionNumbersOfType);
      return this.symbols.has(type) ? { ...response, allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: [] } } : error(grpc.status.NOT_FOUND, `unknown type ${type}`);
    }
    if (request.fileContainingExtension !== undefined) return error(grpc.status.NOT_FOUND, "this server defines no extensions");
    return error(grpc.status.INVALID_ARGUMENT, "empty reflection request");
  }

  addTo(server: grpc.Server): void {
    for (const version of ["v1", "v1alpha"]) {
      server.addService(serviceDefinition(`grpc.reflection.${version}.ServerReflection`) as unknown as grpc.ServiceDefinition, {
        ServerReflectionInfo: (call: grpc.ServerDuplexStream<Record<string, any>, unknown>) => {
          const refused = this.authorize(call.metadata);
          if (refused) {
            call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: refused });
            return;
          }
          call.on("data", (request: Record<string, any>) => {
            try {
              call.write(this.respond(request ?? {}));
            } catch (e) {
              call.write({ errorResponse: { errorCode: grpc.status.INTERNAL, errorMessage: e instanceof Error ? e.message : String(e) } });
            }
          });
          call.on("end", () => call.end());
          call.on("error", () => undefined);
        },
      });
    }
  }
}
