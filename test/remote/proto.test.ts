/**
 * The protocol definition: the checked-in .proto files are what schema.ts generates, every operation has a
 * handler and a gRPC method, names are unique, and every referenced message exists.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { generateProtoFiles, protoDirectory } from "../../src/remote/protoGen.js";
import { MESSAGES, OPERATIONS, RESULT_MESSAGES, requestFields } from "../../src/remote/schema.js";
import { packageDefinition, serviceDefinition } from "../../src/remote/protos.js";
import "../../src/remote/dispatcher.js";

describe("protocol definition", () => {
  it("the checked-in proto files are up to date (regenerate: node dist/src/remote/protoGen.js)", () => {
    for (const [file, text] of Object.entries(generateProtoFiles())) {
      const onDisk = fs.readFileSync(path.join(protoDirectory(), file), "utf8");
      expect(onDisk, `${file} is stale`).toBe(text);
    }
  });

  it("operation names are unique and every one is a method of its service", () => {
    const names = OPERATIONS.map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    for (const service of ["Hypervisor", "ObjectSpace"] as const) {
      const methods = Object.keys(serviceDefinition(`oz.v1.${service}`)).sort();
      expect(methods).toEqual(OPERATIONS.filter((o) => o.service === service).map((o) => o.name).sort());
    }
  });

  it("every referenced message type exists", () => {
    const scalar = new Set(["string", "double", "bool", "bytes", "uint32", "int32", "handle", "value", "local", "integer"]);
    const check = (type: string, where: string) => expect(scalar.has(type) || type in MESSAGES, `${where}: ${type}`).toBe(true);
    for (const [name, def] of Object.entries(MESSAGES)) for (const f of def.fields) check(f.type, `${name}.${f.name}`);
    for (const o of OPERATIONS) {
      for (const f of requestFields(o)) check(f.type, `${o.name}.${f.name}`);
      expect(RESULT_MESSAGES[o.result] in MESSAGES).toBe(true);
    }
  });

  it("the proto files load, with the health and reflection services", () => {
    const def = packageDefinition();
    for (const name of ["oz.v1.Hypervisor", "oz.v1.ObjectSpace", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "oz.v1.Value"]) {
      expect(def[name], name).toBeDefined();
    }
  });
});
