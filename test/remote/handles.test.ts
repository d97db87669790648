/**
 * Handle lifetime: released one by one, by group, all at once, at session end and when the connection
 * drops; valid across garbage collections; forged and foreign handles are NOT_FOUND; the per-session quota;
 * idle sessions expire; a destroyed guest's handles are gone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MembraneError } from "../../src/membrane/objectSpace.js";
import { Status } from "../../src/remote/errors.js";
import type { Session } from "../../src/remote/session.js";
import { startFixture, TOKENS, type Fixture } from "./helpers.js";
import { connect } from "../../src/remote/client/connect.js";
import { errorCode, RawGrpc, RawWs, TcpProxy } from "./raw.js";

const TRANSPORTS = ["grpc", "ws"] as const;

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return `${(e as Error).name}:${(e as MembraneError).code}`;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 30));

async function eventually(fn: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await tick();
  }
}

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture({ guests: ["alpha", "beta"], server: { maxHandlesPerSession: 200, sessionIdleTimeoutMs: 400 } });
});
afterAll(async () => {
  await fx?.close();
});

function sessionOf(id: string | undefined): Session | undefined {
  return fx.server.services.sessions.all().find((s) => s.id === id);
}

describe("handles", () => {
  for (const t of TRANSPORTS) {
    it(`${t}: release one, a group, all; the server lets go of them`, async () => {
      const oz = await fx.connect(t);
      const space = oz.space("alpha");
      const session = () => sessionOf((oz as unknown as { t: { sessionId: string } }).t.sessionId)!;
      expect(session()).toBeDefined();
      const a = await space.fromLocal([1, 2, 3]);
      const b = await space.fromLocal("b");
      expect(session().size).toBe(2);
      a.release();
      await eventually(() => session().size === 1);
      expect(await code(a.at(1))).toBe("MembraneError:released");
      expect(await b.toLocal()).toBe("b");

      const inspector = space.group("inspector");
      const arr = await inspector.fromLocal([10, 20]);
      const el = await arr.at(1);
      expect(arr.space).toBe(inspector);
      expect(el.space).toBe(inspector);
      expect(await el.toLocal()).toBe(10);
      expect(await arr.isIdenticalTo(await arr.asBytes().catch(() => arr))).toBe(true);
      expect(session().size).toBe(3);
      expect(await oz.releaseGroup("inspector")).toBe(2);
      expect(session().size).toBe(1);
      expect(await code(el.toLocal())).toBe("MembraneError:released");
      expect(await code(arr.at(1))).toBe("MembraneError:released");
      expect(await b.toLocal()).toBe("b");
      const again = await inspector.fromLocal(5);
      expect(await again.toLocal()).toBe(5);

      const other = await oz.space("beta").fromLocal(7);
      space.releaseAll();
      expect(await code(b.toLocal())).toBe("MembraneError:released");
      expect(await code(again.toLocal())).toBe("MembraneError:released");
      await eventually(() => session().size === 1);
      expect(await other.toLocal()).toBe(7);
    });

    it(`${t}: handles keep their objects alive and valid across garbage collections`, async () => {
      const oz = await fx.connect(t);
      const space = oz.space("alpha");
      const kept = await space.fromLocal(["kept", [1, 2n ** 80n], 3.5]);
      const r = await space.evaluate("Smalltalk at: #HandleProbe put: (Array with: 'held' with: 42)");
      expect(r.ok).toBe(true);
      const probe = r.ok ? r.value : undefined;
      await space.evaluate("Smalltalk at: #HandleProbe put: nil");
      for (let i = 0; i < 3; i++) {
        await space.evaluate("(1 to: 3000) collect: [:i | Array new: 20]", { budget: { ms: 10_000 } });
        await space.collectGarbage();
      }
      expect(await kept.toLocal()).toEqual(["kept", [1, 2n ** 80n], 3.5]);
      expect(await probe!.toLocal()).toEqual(["held", 42]);
      const el = await kept.at(2);
      await space.collectGarbage();
      expect(await (await kept.at(2)).isIdenticalTo(el)).toBe(true);
    });

    it(`${t}: closing the client ends the session and releases its handles`, async () => {
      const oz = await fx.connect(t);
      const local = fx.hv.space("alpha");
      const before = local.mirrors.size;
      const id = (oz as unknown as { t: { sessionId: string } }).t.sessionId;
      for (let i = 0; i < 5; i++) await oz.space("alpha").fromLocal(i);
      expect(local.mirrors.size).toBe(before + 5);
      await oz.close();
      await eventually(() => sessionOf(id) === undefined);
      expect(local.mirrors.size).toBe(before);
    });
  }

  for (const t of TRANSPORTS) {
    it(`${t}: a dropped connection ends the session and releases its handles`, async () => {
      const port = t === "grpc" ? fx.server.grpcPort : fx.server.httpPort!;
      const proxy = await TcpProxy.start(port);
      try {
        const url = t === "grpc" ? `grpc://127.0.0.1:${proxy.port}` : `ws://127.0.0.1:${proxy.port}/ws`;
        const oz = await connect(url, TOKENS.control);
        const id = (oz as unknown as { t: { sessionId: string } }).t.sessionId;
        const local = fx.hv.space("alpha");
        const before = local.mirrors.size;
        const m = await oz.space("alpha").fromLocal("x");
        expect(local.mirrors.size).toBe(before + 1);
        expect(sessionOf(id)).toBeDefined();
        proxy.cut();
        await eventually(() => sessionOf(id) === undefined);
        expect(local.mirrors.size).toBe(before);
        // the handle died with the session: the client gets a new session, and the old mirror is released
        if (t === "grpc") expect(await code(m.toLocal())).toBe("MembraneError:released");
        else expect(await code(m.toLocal())).toBe("RemoteError:unavailable");
        await oz.close();
      } finally {
        await proxy.close();
      }
    });
  }

  it("gRPC: KeepSession attaches a session to a stream; ending the stream ends the session", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    const open = await raw.call("ObjectSpace.OpenSession", {}, RawGrpc.metadata(TOKENS.control));
    const id = open.reply.session as string;
    const m = raw.method("ObjectSpace.KeepSession");
    const keep = raw.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, RawGrpc.metadata(TOKENS.control, id));
    keep.on("error", () => undefined);
    const notice = await new Promise<any>((resolve) => keep.once("data", resolve));
    expect(notice).toEqual({ session: id, notice: "attached" });
    const made = await raw.call("ObjectSpace.FromLocal", { guest: "alpha", value: { string: "x" } }, RawGrpc.metadata(TOKENS.control, id));
    expect(made.reply.mirror.kind).toBe("bytes");
    keep.cancel();
    await eventually(() => sessionOf(id) === undefined);
    raw.close();
  });

  it("WebSocket: a dropped connection ends the session and releases its handles", async () => {
    const raw = await RawWs.open(fx.url("ws"), { authorization: `Bearer ${TOKENS.control}` });
    const who = await raw.request(1, "ObjectSpace.Whoami", {});
    const local = fx.hv.space("alpha");
    const before = local.mirrors.size;
    const made = await raw.request(2, "ObjectSpace.FromLocal", { guest: "alpha", value: { number: 3 } });
    expect(made.result.mirror.kind).toBe("smallInteger");
    expect(local.mirrors.size).toBe(before + 1);
    raw.ws.terminate();
    await eventually(() => sessionOf(who.result.session) === undefined);
    expect(local.mirrors.size).toBe(before);
  });

  it("forged and foreign handles are NOT_FOUND, never another object", async () => {
    const a = await RawWs.open(fx.url("ws"), { authorization: `Bearer ${TOKENS.control}` });
    const b = await RawWs.open(fx.url("ws"), { authorization: `Bearer ${TOKENS.control}` });
    try {
      const made = await a.request(1, "ObjectSpace.FromLocal", { guest: "alpha", value: { number: 11 } });
      const handle = made.result.mirror.handle as string;
      expect(handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect((await a.request(2, "ObjectSpace.MirrorToLocal", { handle })).result).toEqual({ value: { number: 11 } });
      const foreign = await b.request(3, "ObjectSpace.MirrorToLocal", { handle });
      expect(foreign.error).toMatchObject({ status: Status.NOT_FOUND, domain: "membrane", code: "released" });
      for (const forged of ["AAAAAAAAAAAAAAAAAAAAAA", handle.slice(0, -1) + (handle.endsWith("A") ? "B" : "A"), "", "foreign", "released"]) {
        const r = await b.request(4, "ObjectSpace.MirrorToLocal", { handle: forged });
        expect(r.error?.status, forged).toBeOneOf([Status.NOT_FOUND, Status.INVALID_ARGUMENT]);
      }
      // as an argument: refused by the space where it is used, as a released mirror
      const arr = await b.request(5, "ObjectSpace.FromLocal", { guest: "alpha", value: { array: { values: [{ number: 1 }] } } });
      const put = await b.request(6, "ObjectSpace.MirrorAtPut", { handle: arr.result.mirror.handle, index: 1, value: { handle } });
      expect(put.error).toMatchObject({ status: Status.NOT_FOUND, code: "released" });
      const still = await b.request(7, "ObjectSpace.MirrorToLocal", { handle: arr.result.mirror.handle });
      expect(still.result).toEqual({ value: { array: { values: [{ number: 1 }] } } });
    } finally {
      a.close();
      b.close();
    }
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const open = await raw.call("ObjectSpace.OpenSession", {}, RawGrpc.metadata(TOKENS.control));
      const id = open.reply.session;
      const forged = await raw.call("ObjectSpace.MirrorAt", { handle: "AAAAAAAAAAAAAAAAAAAAAA", index: 1 }, RawGrpc.metadata(TOKENS.control, id));
      expect(errorCode(forged.error)).toMatchObject({ status: Status.NOT_FOUND, domain: "membrane", code: "released" });
      // a session id is bound to the token that opened it
      const stolen = await raw.call("ObjectSpace.NilObject", { guest: "alpha" }, RawGrpc.metadata(TOKENS.admin, id));
      expect(errorCode(stolen.error)).toMatchObject({ status: Status.NOT_FOUND, code: "notFound" });
      await raw.call("ObjectSpace.CloseSession", {}, RawGrpc.metadata(TOKENS.control, id));
    } finally {
      raw.close();
    }
  });

  it("a handle is good in its own guest only (another guest's mirror is wrongSpace)", async () => {
    const oz = await fx.connect("grpc");
    const a = await oz.space("alpha").fromLocal([1]);
    const b = await oz.space("beta").fromLocal(2);
    expect(await code(a.atPut(1, b))).toBe("MembraneError:wrongSpace");
    expect(await code(oz.space("alpha").toLocal(b))).toBe("MembraneError:wrongSpace");
    const local = await fx.hv.space("alpha").fromLocal(3);
    expect(await code(a.atPut(1, local))).toBe("MembraneError:wrongSpace");
    expect(await code(fx.hv.space("alpha").toLocal(a))).toBe("MembraneError:wrongSpace");
  });

  it("the per-session handle quota is RESOURCE_EXHAUSTED, and releasing makes room", async () => {
    const oz = await fx.connect("ws");
    const space = oz.space("alpha");
    const held = [];
    for (let i = 0; i < 190; i++) held.push(await space.fromLocal(i));
    expect(await code(space.classes())).toBe("RemoteError:resourceExhausted");
    for (let i = 190; i < 200; i++) held.push(await space.fromLocal(i));
    expect(await code(space.fromLocal(200))).toBe("RemoteError:resourceExhausted");
    held[0].release();
    await tick();
    expect(await (await space.fromLocal(201)).toLocal()).toBe(201);
    space.releaseAll();
  });

  it("a token may hold a limited number of sessions", async () => {
    const own = await startFixture({ server: { maxSessionsPerToken: 2 } });
    try {
      const a = await own.connect("ws", TOKENS.read);
      await own.connect("grpc", TOKENS.read);
      await expect(own.connect("ws", TOKENS.read)).rejects.toMatchObject({ code: "resourceExhausted" });
      await expect(own.connect("grpc", TOKENS.read)).rejects.toMatchObject({ code: "resourceExhausted" });
      expect((await own.connect("ws", TOKENS.control)).role).toBe("control");
      await a.close();
      await eventually(() => own.server.services.sessions.all().length === 2);
      expect((await own.connect("grpc", TOKENS.read)).role).toBe("read");
    } finally {
      await own.close();
    }
  });

  it("an unattached gRPC session expires after its idle timeout", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const open = await raw.call("ObjectSpace.OpenSession", { idleTimeoutSeconds: 0.2 }, RawGrpc.metadata(TOKENS.control));
      const id = open.reply.session;
      expect(open.reply.idleTimeoutSeconds).toBe(0.2);
      const made = await raw.call("ObjectSpace.NilObject", { guest: "alpha" }, RawGrpc.metadata(TOKENS.control, id));
      expect(made.reply.mirror.kind).toBe("object");
      await eventually(() => sessionOf(id) === undefined);
      const late = await raw.call("ObjectSpace.MirrorIsNilObject", { handle: made.reply.mirror.handle }, RawGrpc.metadata(TOKENS.control, id));
      expect(errorCode(late.error)).toMatchObject({ status: Status.NOT_FOUND, domain: "remote", code: "notFound" });
    } finally {
      raw.close();
    }
  });

  it("a call without a session gets handles that die with the call", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const r = await raw.call("ObjectSpace.Evaluate", { guest: "alpha", source: "3 + 4" }, RawGrpc.metadata(TOKENS.control));
      expect(r.reply).toMatchObject({ ok: true, printString: "7" });
      const open = await raw.call("ObjectSpace.OpenSession", {}, RawGrpc.metadata(TOKENS.control));
      const late = await raw.call("ObjectSpace.MirrorToLocal", { handle: r.reply.value.handle }, RawGrpc.metadata(TOKENS.control, open.reply.session));
      expect(errorCode(late.error)).toMatchObject({ status: Status.NOT_FOUND, code: "released" });
    } finally {
      raw.close();
    }
  });

  it("a destroyed guest's handles are released", async () => {
    await fx.hv.define("gamma");
    const oz = await fx.connect("grpc");
    const m = await oz.space("gamma").fromLocal([1, 2]);
    await oz.hypervisor.destroy("gamma");
    expect(await code(m.toLocal())).toBe("MembraneError:released");
    expect(await code(oz.space("gamma").nilObject())).toBe("HypervisorError:notFound");
  });
});
