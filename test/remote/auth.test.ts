/**
 * Authentication and roles: no token, a wrong token, each role's limits, token management, revocation on
 * open connections, health without a token, reflection with one.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/remote/client/connect.js";
import { RemoteError, Status } from "../../src/remote/errors.js";
import { TokenStore } from "../../src/remote/auth.js";
import { startFixture, TOKENS, type Fixture } from "./helpers.js";
import { errorCode, RawGrpc, RawWs } from "./raw.js";

const TRANSPORTS = ["grpc", "ws"] as const;

async function refused(p: Promise<unknown>, kind: string = "RemoteError"): Promise<RemoteError> {
  try {
    await p;
  } catch (e) {
    expect((e as Error).name).toBe(kind);
    return e as RemoteError;
  }
  throw new Error("expected a refusal");
}

describe("authentication", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture({ server: { authTimeoutMs: 300 } });
  });
  afterAll(async () => {
    await fx?.close();
  });

  for (const t of TRANSPORTS) {
    it(`${t}: no token and a wrong token are refused`, async () => {
      expect((await refused(connect(fx.url(t), ""))).code).toBe("unauthenticated");
      expect((await refused(connect(fx.url(t), "not-a-token"))).code).toBe("unauthenticated");
    });

    it(`${t}: read looks, control acts, admin manages tokens`, async () => {
      const reader = await fx.connect(t, TOKENS.read);
      expect(reader.role).toBe("read");
      const space = reader.space("alpha");
      const object = await space.classNamed("Object");
      expect(await object!.name()).toBe("Object");
      expect((await object!.describe()).className).toBe("Object class");
      expect((await reader.hypervisor.list()).length).toBe(1);
      expect((await refused(space.evaluate("3 + 4"))).code).toBe("permissionDenied");
      expect((await refused(space.fromLocal(3))).code).toBe("permissionDenied");
      expect((await refused(object!.compile("foo ^ 1"))).code).toBe("permissionDenied");
      expect((await refused(reader.hypervisor.suspend("alpha"))).status).toBe(Status.PERMISSION_DENIED);

      const controller = await fx.connect(t, TOKENS.control);
      expect((await controller.space("alpha").evaluate("3 + 4")).ok).toBe(true);
      expect((await refused(controller.hypervisor.createToken("read", "x"))).code).toBe("permissionDenied");
      expect((await refused(controller.hypervisor.define("fromfile", { image: "/etc/passwd" }))).code).toBe("permissionDenied");

      const admin = await fx.connect(t, TOKENS.admin);
      // a fixed set of tokens cannot be extended
      expect((await refused(admin.hypervisor.createToken("read", "x"))).code).toBe("unimplemented");
    });
  }

  it("gRPC: a call without metadata is UNAUTHENTICATED, with a read token and a control operation PERMISSION_DENIED", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const none = await raw.call("Hypervisor.List", {}, RawGrpc.metadata());
      expect(errorCode(none.error)).toMatchObject({ status: Status.UNAUTHENTICATED, domain: "remote", code: "unauthenticated" });
      const basic = await raw.call("Hypervisor.List", {}, (() => {
        const md = RawGrpc.metadata();
        md.set("authorization", `Basic ${TOKENS.admin}`);
        return md;
      })());
      expect(basic.error?.code).toBe(Status.UNAUTHENTICATED);
      const denied = await raw.call("Hypervisor.Start", { name: "alpha" }, RawGrpc.metadata(TOKENS.read));
      expect(errorCode(denied.error)).toMatchObject({ status: Status.PERMISSION_DENIED, code: "permissionDenied" });
      expect(denied.error?.details).toMatch(/needs the control role/);
    } finally {
      raw.close();
    }
  });

  it("WebSocket: requests before authentication are refused; the first message may authenticate", async () => {
    const raw = await RawWs.open(fx.url("ws"));
    try {
      const before = await raw.request(1, "Hypervisor.List", {});
      expect(before.error).toMatchObject({ status: Status.UNAUTHENTICATED });
      const ok = await raw.request(2, "auth", { token: TOKENS.read });
      expect(ok.result).toMatchObject({ role: "read", transport: "ws" });
      const list = await raw.request(3, "Hypervisor.List", {});
      expect(list.result.guests.map((g: { name: string }) => g.name)).toEqual(["alpha"]);
    } finally {
      raw.close();
    }
    const viaClient = await fx.connect("ws", TOKENS.control, { wsAuthMessage: true });
    expect(viaClient.role).toBe("control");
  });

  it("WebSocket: a wrong token in the first message, or none in time, closes the connection", async () => {
    const bad = await RawWs.open(fx.url("ws"));
    const r = await bad.request(1, "auth", { token: "wrong" });
    expect(r.error).toMatchObject({ status: Status.UNAUTHENTICATED });
    expect((await bad.waitClosed()).code).toBe(1008);
    const silent = await RawWs.open(fx.url("ws"));
    expect(await silent.waitClosed(3000)).toMatchObject({ code: 1008, reason: "authentication required" });
  });

  it("WebSocket: a wrong Authorization header is refused with 401 before the upgrade", async () => {
    await expect(RawWs.open(fx.url("ws"), { authorization: "Bearer wrong" })).rejects.toThrow(/401/);
  });

  it("health needs no token; reflection does", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const health = await raw.call("grpc.health.v1.Health.Check", { service: "" }, RawGrpc.metadata());
      expect(health.reply).toEqual({ status: "SERVING" });
      const svc = await raw.call("grpc.health.v1.Health.Check", { service: "oz.v1.ObjectSpace" }, RawGrpc.metadata());
      expect(svc.reply).toEqual({ status: "SERVING" });
      const unknown = await raw.call("grpc.health.v1.Health.Check", { service: "nope" }, RawGrpc.metadata());
      expect(unknown.error?.code).toBe(Status.NOT_FOUND);
      const m = raw.method("grpc.reflection.v1.ServerReflection.ServerReflectionInfo");
      const stream = raw.client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, RawGrpc.metadata());
      const error = await new Promise<{ code: number }>((resolve) => {
        stream.on("error", resolve);
        stream.on("data", () => undefined);
        stream.write({ listServices: "*" });
      });
      expect(error.code).toBe(Status.UNAUTHENTICATED);
    } finally {
      raw.close();
    }
  });
});

describe("the token store", () => {
  let dir: string;
  let fx: Fixture;
  let store: TokenStore;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-tokens-"));
    store = new TokenStore(dir, { createAdminToken: true, reloadIntervalMs: 0 });
    fx = await startFixture({ auth: store });
  });
  afterAll(async () => {
    await fx?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates the admin token file, private", () => {
    const stat = fs.statSync(path.join(dir, "admin.token"));
    expect(stat.mode & 0o777).toBe(0o600);
    expect(store.adminToken()).toMatch(/^oz_admin_/);
    expect(store.authenticate(store.adminToken()!)).toBe("admin");
  });

  for (const t of TRANSPORTS) {
    it(`${t}: admin creates, lists and revokes tokens; a revoked token stops working at once`, async () => {
      const admin = await fx.connect(t, store.adminToken()!);
      const created = await admin.hypervisor.createToken("read", `ci-${t}`);
      expect(created).toMatchObject({ role: "read", name: `ci-${t}` });
      expect(created.token).toMatch(/^oz_read_/);
      expect((await admin.hypervisor.listTokens()).map((x) => x.id)).toContain(created.id);
      const file = fs.readFileSync(path.join(dir, "tokens.json"), "utf8");
      expect(file).not.toContain(created.token);
      expect(fs.statSync(path.join(dir, "tokens.json")).mode & 0o777).toBe(0o600);

      const reader = await fx.connect(t, created.token);
      expect(reader.role).toBe("read");
      expect((await reader.hypervisor.list()).length).toBe(1);
      await admin.hypervisor.revokeToken(created.id);
      const after = await refused(reader.hypervisor.list());
      expect(after.code).toBe("unauthenticated");
      expect((await refused(connect(fx.url(t), created.token))).code).toBe("unauthenticated");
      expect((await refused(admin.hypervisor.revokeToken(created.id))).code).toBe("notFound");
      expect((await refused(admin.hypervisor.createToken("root" as never, "x"), "HypervisorError")).code).toBe("invalidArgument");
    });
  }

  it("picks up tokens.json edits and survives a corrupt file", () => {
    const t = store.createToken("control", "edit");
    expect(store.authenticate(t.token)).toBe("control");
    fs.writeFileSync(path.join(dir, "tokens.json"), "{ not json");
    expect(store.authenticate(t.token)).toBeUndefined();
    expect(store.authenticate(store.adminToken()!)).toBe("admin");
    const again = new TokenStore(dir);
    expect(again.listTokens()).toEqual([]);
  });
});
