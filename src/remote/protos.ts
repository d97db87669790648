/**
 * Loading the protocol's .proto files (proto/) with proto-loader, once per process. Messages decode to
 * plain objects with lowerCamelCase keys, absent optional fields as undefined, repeated fields as arrays,
 * bytes as Buffers, and the name of the set field of a oneof in a virtual property (ignored).
 */
import * as protoLoader from "@grpc/proto-loader";
import * as path from "node:path";
import { protoDirectory } from "./protoGen.js";

export const PROTO_FILES = [
  "oz/v1/common.proto",
  "oz/v1/objectspace.proto",
  "oz/v1/hypervisor.proto",
  "grpc/health/v1/health.proto",
  "grpc/reflection/v1/reflection.proto",
  "grpc/reflection/v1alpha/reflection.proto",
];

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: true,
};

let cached: protoLoader.PackageDefinition | undefined;

export function packageDefinition(): protoLoader.PackageDefinition {
  if (!cached) {
    const dir = protoDirectory();
    cached = protoLoader.loadSync(PROTO_FILES.map((f) => path.join(dir, f)), { ...LOADER_OPTIONS, includeDirs: [dir] });
  }
  return cached;
}

export function serviceDefinition(fullName: string): protoLoader.ServiceDefinition {
  const def = packageDefinition()[fullName];
  if (!def || "format" in def) throw new Error(`no service ${fullName} in the protocol's proto files`);
  return def as protoLoader.ServiceDefinition;
}
