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
import { startFixture, TOKENS, type Fixture } from "./helpers.js";
import { RawGrpc } from "./raw.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx?.close();
});

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
