/**
 * What grpcurl does: list services and describe them through server reflection, then call operations with
 * JSON-shaped requests, keeping handles across calls with an explicit session. Also TLS.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/remote/client/connect.js";
import { fileDescriptorHeader } from "../../src/remote/reflection.js";
import { OPERATIONS } from "../../src/remote/schema.js";
import { startFixture, TOKENS, type Fixture } from "./helpers.js";
import { RawGrpc } from "./raw.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx?.close();
});

/** A protobuf message as its fields by number (length-delimited fields as bytes, varints as numbers). */
type Fields = Record<number, Array<Buffer | number>>;
function decodeMessage(bytes: Buffer | Uint8Array): Fields {
  const b = Buffer.from(bytes);
  const out: Fields = {};
  let pos = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = b[pos++];
      v += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return v;
      shift += 7;
    }
  };
  while (pos < b.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    let value: Buffer | number;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      value = b.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 1) {
      value = 0;
      pos += 8;
    } else {
      value = 0;
      pos += 4;
    }
    (out[field] ??= []).push(value);
  }
  return out;
}
const str = (v: Buffer | number | undefined) => (v === undefined ? "" : Buffer.isBuffer(v) ? v.toString("utf8") : String(v));

async function reflect(raw: RawGrpc, version: "v1" | "v1alpha", requests: unknown[]): Promise<any[]> {
  const m = raw.method(`grpc.reflection.${version}.ServerReflection.ServerReflectionInfo`);
  const call = raw.client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, RawGrpc.metadata(TOKENS.read));
  const replies: any[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on("data", (r) => {
      replies.push(r);
      if (replies.length === requests.length) call.end();
    });
    call.on("end", () => resolve());
    call.on("error", reject);
  });
  for (const r of requests) call.write(r);
  await done;
  return replies;
}

describe("grpcurl's view", () => {
  for (const version of ["v1", "v1alpha"] as const) {
    it(`reflection ${version}: lists services and gives the file of a symbol`, async () => {
      const raw = new RawGrpc(fx.url("grpc"));
      try {
        const [list, symbol, method, message, byName, unknown] = await reflect(raw, version, [
          { listServices: "*" },
          { fileContainingSymbol: "oz.v1.ObjectSpace" },
          { fileContainingSymbol: "oz.v1.ObjectSpace.MirrorDescribe" },
          { fileContainingSymbol: "oz.v1.ObjectDescription" },
          { fileByFilename: "grpc_health_v1.proto" },
          { fileContainingSymbol: "oz.v1.Nope" },
        ]);
        expect(list.listServicesResponse.service.map((s: { name: string }) => s.name).sort()).toEqual([
          "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "oz.v1.Hypervisor", "oz.v1.ObjectSpace",
        ]);
        for (const r of [symbol, method, message]) {
          const files = r.fileDescriptorResponse.fileDescriptorProto as Buffer[];
          expect(fileDescriptorHeader(files[0])).toEqual({ name: "oz_v1.proto", pkg: "oz.v1" });
          expect(Buffer.from(files[0]).includes("MirrorDescribe")).toBe(true);
        }
        expect(fileDescriptorHeader(byName.fileDescriptorResponse.fileDescriptorProto[0]).pkg).toBe("grpc.health.v1");
        expect(unknown.errorResponse.errorCode).toBe(grpc.status.NOT_FOUND);
      } finally {
        raw.close();
      }
    });
  }

  it("the descriptors link: every method's types and every field's type resolve, as grpcurl needs", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const [reply] = await reflect(raw, "v1", [{ fileContainingSymbol: "oz.v1.Hypervisor" }]);
      const files = (reply.fileDescriptorResponse.fileDescriptorProto as Buffer[]).map((b) => decodeMessage(b));
      const messages = new Set<string>();
      const enums = new Set<string>();
      const collect = (pkg: string, m: Fields) => {
        const name = `${pkg}.${str(m[1][0])}`;
        messages.add(name);
        for (const nested of m[3] ?? []) collect(name, decodeMessage(nested as Buffer));
        for (const e of m[4] ?? []) enums.add(`${name}.${str(decodeMessage(e as Buffer)[1][0])}`);
      };
      for (const f of files) for (const m of f[4] ?? []) collect(str(f[2][0]), decodeMessage(m as Buffer));
      const resolves = (pkg: string, ref: string) => {
        if (ref.startsWith(".")) return messages.has(ref.slice(1)) || enums.has(ref.slice(1));
        for (let scope = pkg; ; scope = scope.slice(0, Math.max(0, scope.lastIndexOf(".")))) {
          if (messages.has(`${scope}.${ref}`) || enums.has(`${scope}.${ref}`)) return true;
          if (!scope.includes(".")) return messages.has(ref) || enums.has(ref);
        }
      };
      const oz = files.find((f) => str(f[2][0]) === "oz.v1")!;
      const services = (oz[6] ?? []).map((s) => decodeMessage(s as Buffer));
      expect(services.map((s) => str(s[1][0])).sort()).toEqual(["Hypervisor", "ObjectSpace"]);
      let methods = 0;
      for (const service of services) {
        for (const m of service[2] ?? []) {
          const method = decodeMessage(m as Buffer);
          expect(resolves("oz.v1", str(method[2][0])), str(method[2][0])).toBe(true);
          expect(resolves("oz.v1", str(method[3][0])), str(method[3][0])).toBe(true);
          methods++;
        }
      }
      expect(methods).toBe(OPERATIONS.length);
      for (const m of oz[4] ?? []) {
        const message = decodeMessage(m as Buffer);
        for (const f of message[2] ?? []) {
          const field = decodeMessage(f as Buffer);
          if (field[6]) expect(resolves("oz.v1", str(field[6][0])), `${str(message[1][0])}.${str(field[1][0])}`).toBe(true);
        }
      }
    } finally {
      raw.close();
    }
  });

  it("calls with JSON-shaped requests, keeping handles in a session", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const open = await raw.call("ObjectSpace.OpenSession", {}, RawGrpc.metadata(TOKENS.control));
      expect(open.reply).toMatchObject({ role: "control", idleTimeoutSeconds: 600 });
      const md = RawGrpc.metadata(TOKENS.control, open.reply.session);
      const cls = await raw.call("ObjectSpace.ClassNamed", { guest: "alpha", name: "OrderedCollection" }, md);
      expect(cls.reply.mirror.kind).toBe("class");
      const describe = await raw.call("ObjectSpace.MirrorDescribe", { handle: cls.reply.mirror.handle, pageSize: 2 }, md);
      expect(describe.reply).toMatchObject({ className: "OrderedCollection class", printString: "OrderedCollection" });
      const selectors = await raw.call("ObjectSpace.ClassSelectors", { handle: cls.reply.mirror.handle }, md);
      expect(selectors.reply.values).toContain("add:");
      const evaluated = await raw.call("ObjectSpace.Evaluate", { guest: "alpha", source: "(1 to: 3) asArray", budget: { ms: 5000 } }, md);
      expect(evaluated.reply).toMatchObject({ ok: true, printString: "#(1 2 3)" });
      const value = await raw.call("ObjectSpace.MirrorToLocal", { handle: evaluated.reply.value.handle }, md);
      expect(value.reply.value.array.values.map((v: { number: number }) => v.number)).toEqual([1, 2, 3]);
      const released = await raw.call("ObjectSpace.ReleaseAll", {}, md);
      expect(released.reply.released).toBe(2);
      const who = await raw.call("ObjectSpace.Whoami", {}, md);
      expect(who.reply).toEqual({ role: "control", session: open.reply.session, transport: "grpc" });
      await raw.call("ObjectSpace.CloseSession", {}, md);
    } finally {
      raw.close();
    }
  });
});

function openssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe.runIf(openssl())("TLS", () => {
  let dir: string;
  let tls: Fixture;
  let cert: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-tls-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ], { stdio: "ignore" });
    cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    tls = await startFixture({ server: { tls: { cert, key: fs.readFileSync(path.join(dir, "key.pem"), "utf8") } } });
  });
  afterAll(async () => {
    await tls?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves grpcs:// and wss:// to clients that trust the certificate", async () => {
    expect(tls.url("grpc")).toMatch(/^grpcs:\/\//);
    expect(tls.url("ws")).toMatch(/^wss:\/\//);
    for (const t of ["grpc", "ws"] as const) {
      const oz = await tls.connect(t, TOKENS.control, { ca: cert });
      const r = await oz.space("alpha").evaluate("6 * 7");
      expect(r.ok && r.printString).toBe("42");
    }
  });

  it("refuses clients that do not trust it, and plaintext clients", async () => {
    await expect(connect(tls.url("ws"), TOKENS.control)).rejects.toMatchObject({ code: "unavailable" });
    await expect(connect(tls.url("grpc"), TOKENS.control, { timeoutMs: 2000 })).rejects.toMatchObject({ code: expect.stringMatching(/unavailable|deadlineExceeded/) });
    await expect(connect(tls.url("grpc").replace("grpcs:", "grpc:"), TOKENS.control, { timeoutMs: 2000 })).rejects.toMatchObject({ code: expect.stringMatching(/unavailable|deadlineExceeded|internal/) });
  });
});
