/**
 * Malformed requests: garbage bytes, wrong types, unknown operations, huge and deeply nested messages, too
 * many requests at once. Each gets a clear error (or, for the worst, a clear close code); the server keeps
 * serving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../src/remote/errors.js";
import { startFixture, TOKENS, type Fixture } from "./helpers.js";
import { errorCode, RawGrpc, RawWs } from "./raw.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture({ server: { maxMessageBytes: 1 << 20, maxInFlightPerConnection: 4 } });
});
afterAll(async () => {
  await fx?.close();
});

async function authed(): Promise<RawWs> {
  return RawWs.open(fx.url("ws"), { authorization: `Bearer ${TOKENS.control}` });
}

async function stillServes(): Promise<void> {
  const oz = await fx.connect("grpc");
  const r = await oz.space("alpha").evaluate("3 + 4");
  expect(r.ok && r.printString).toBe("7");
  const ws = await fx.connect("ws");
  expect(await (await ws.space("alpha").fromLocal(5)).toLocal()).toBe(5);
}

describe("malformed WebSocket messages", () => {
  it("garbage bytes get INVALID_ARGUMENT and the connection keeps working", async () => {
    const raw = await authed();
    try {
      raw.sendRaw(Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37]));
      const e = await raw.next((m) => m.error);
      expect(e).toMatchObject({ id: null, error: { status: Status.INVALID_ARGUMENT, code: "invalidArgument" } });
      expect(e.error.message).toMatch(/malformed message/);
      const ok = await raw.request(1, "ObjectSpace.NilObject", { guest: "alpha" });
      expect(ok.result.mirror.kind).toBe("object");
    } finally {
      raw.close();
    }
  });

  it("text frames, non-maps and messages without id or op are refused", async () => {
    const raw = await authed();
    try {
      raw.sendRaw("{\"id\":1,\"op\":\"Hypervisor.List\"}", false);
      expect((await raw.next((m) => m.error)).error.message).toMatch(/binary MessagePack/);
      raw.send([1, 2, 3]);
      expect((await raw.next((m) => m.error)).error.message).toMatch(/a message is a map/);
      raw.send({ id: 7 });
      expect(await raw.next((m) => m.error)).toMatchObject({ id: 7, error: { status: Status.INVALID_ARGUMENT } });
      raw.send({ id: { nested: true }, op: "Hypervisor.List" });
      expect((await raw.next((m) => m.error)).error.status).toBe(Status.INVALID_ARGUMENT);
      const ok = await raw.request(2, "Hypervisor.List", {});
      expect(ok.result.guests).toHaveLength(1);
    } finally {
      raw.close();
    }
  });

  it("too many malformed messages in a row close the connection (1007)", async () => {
    const raw = await authed();
    for (let i = 0; i < 10; i++) raw.sendRaw(Buffer.from([0xc1]));
    expect((await raw.waitClosed()).code).toBe(1007);
  });

  it("unknown operations are UNIMPLEMENTED; gRPC-only ones are refused", async () => {
    const raw = await authed();
    try {
      expect(await raw.request(1, "ObjectSpace.Frobnicate", {})).toMatchObject({ id: 1, error: { status: Status.UNIMPLEMENTED } });
      expect(await raw.request(2, "__proto__", {})).toMatchObject({ id: 2, error: { status: Status.UNIMPLEMENTED } });
      expect(await raw.request(3, "ObjectSpace.OpenSession", {})).toMatchObject({ id: 3, error: { status: Status.UNIMPLEMENTED } });
    } finally {
      raw.close();
    }
  });

  it("wrong types name the field", async () => {
    const raw = await authed();
    try {
      const arr = await raw.request(1, "ObjectSpace.FromLocal", { guest: "alpha", value: { array: { values: [{ number: 1 }, { number: 2 }] } } });
      const handle = arr.result.mirror.handle;
      const cases: Array<[string, unknown, RegExp]> = [
        ["ObjectSpace.MirrorAt", { handle, index: "1" }, /index must be a number/],
        ["ObjectSpace.MirrorAt", { handle: 42, index: 1 }, /handle must be a mirror handle/],
        ["ObjectSpace.NilObject", { guest: 5 }, /guest must be the name of a guest/],
        ["ObjectSpace.MirrorAtPut", { handle, index: 1, value: { number: 1, string: "x" } }, /exactly one field/],
        ["ObjectSpace.MirrorAtPut", { handle, index: 1, value: {} }, /empty Value/],
        ["ObjectSpace.MirrorAtPut", { handle, index: 1, value: { integer: "12x" } }, /integer in decimal/],
        ["ObjectSpace.MirrorAtPut", { handle, index: 1, value: { byteArray: "not bytes" } }, /must be bytes/],
        ["ObjectSpace.MirrorAtPut", { handle, index: 1 }, /value is missing/],
        ["ObjectSpace.FromLocal", { guest: "alpha", value: { handle } }, /host value, not a mirror/],
        ["ObjectSpace.Evaluate", { guest: "alpha", source: "3", budget: { ms: "soon" } }, /budget.ms must be a number/],
        ["ObjectSpace.Evaluate", { guest: "alpha", source: "3", budget: [1] }, /budget must be a RunBudget/],
        ["ObjectSpace.Release", { handles: "all" }, /handles must be a list/],
        ["ObjectSpace.ClassDefineSubclass", { handle, definition: { name: "X", kind: "bogus" } }, /needs a class or metaclass mirror/],
        ["Hypervisor.Watch", { types: ["nonsense"] }, /unknown event type/],
      ];
      let id = 10;
      for (const [op, args, message] of cases) {
        const r = await raw.request(id++, op, args);
        expect(r.error, `${op} ${JSON.stringify(args)}`).toMatchObject({ status: Status.INVALID_ARGUMENT });
        expect(r.error.message, op).toMatch(message);
      }
      const notAMap = await raw.request(id++, "ObjectSpace.NilObject", "alpha");
      expect(notAMap.error.status).toBe(Status.INVALID_ARGUMENT);
      const stillThere = await raw.request(id++, "ObjectSpace.MirrorToLocal", { handle });
      expect(stillThere.result.value.array.values).toHaveLength(2);
    } finally {
      raw.close();
    }
  });

  it("a frame over the size limit closes the connection with 1009", async () => {
    const raw = await authed();
    raw.send({ id: 1, op: "ObjectSpace.FromLocalByteArray", args: { guest: "alpha", bytes: new Uint8Array(2 << 20) } });
    expect((await raw.waitClosed()).code).toBe(1009);
    await stillServes();
  });

  it("deeply nested messages are refused without a crash", async () => {
    const raw = await authed();
    try {
      const deep = Buffer.concat([Buffer.from([0x83, 0xa2, 0x69, 0x64, 0x01, 0xa2, 0x6f, 0x70, 0xa4]), Buffer.from("auth"), Buffer.from([0xa4]), Buffer.from("args"), Buffer.alloc(500_000, 0x91)]);
      raw.sendRaw(deep);
      const e = await raw.next((m) => m.error);
      expect(e.error.status).toBe(Status.INVALID_ARGUMENT);
      const nodes = [...Array.from({ length: 1500 }, () => ({ arraySize: 1 })), { nil: true }];
      const r = await raw.request(2, "ObjectSpace.FromLocal", { guest: "alpha", value: { tree: { nodes } } });
      expect(r.error).toMatchObject({ status: Status.INVALID_ARGUMENT });
      expect(r.error.message).toMatch(/nested too deeply/);
      const bad = await raw.request(3, "ObjectSpace.FromLocal", { guest: "alpha", value: { tree: { nodes: [{ arraySize: 2 }, { nil: true }] } } });
      expect(bad.error.message).toMatch(/truncated/);
      const lie = await raw.request(4, "ObjectSpace.FromLocal", { guest: "alpha", value: { tree: { nodes: [{ arraySize: 1e9 }] } } });
      expect(lie.error.message).toMatch(/bad arraySize/);
    } finally {
      raw.close();
    }
    await stillServes();
  });

  it("more requests in flight than allowed are RESOURCE_EXHAUSTED", async () => {
    const raw = await authed();
    try {
      for (let i = 1; i <= 8; i++) raw.send({ id: i, op: "ObjectSpace.Evaluate", args: { guest: "alpha", source: "(Delay forMilliseconds: 100) wait. 1" } });
      const replies = [];
      for (let i = 1; i <= 8; i++) replies.push(await raw.next((m) => m.id === i));
      const refused = replies.filter((r) => r.error?.status === Status.RESOURCE_EXHAUSTED);
      expect(refused.length).toBe(4);
      expect(replies.filter((r) => r.result?.ok).length).toBe(4);
    } finally {
      raw.close();
    }
  });
});

describe("malformed gRPC requests", () => {
  it("undecodable bytes are INVALID_ARGUMENT", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const md = RawGrpc.metadata(TOKENS.control);
      const garbage = await raw.callBytes("/oz.v1.ObjectSpace/MirrorAt", Buffer.from([0xff, 0xff, 0xff]), md);
      expect(errorCode(garbage.error)).toMatchObject({ status: Status.INVALID_ARGUMENT });
      expect(garbage.error?.details).toMatch(/malformed MirrorAt request/);
      const wrongWire = await raw.callBytes("/oz.v1.ObjectSpace/NilObject", Buffer.from([0x08, 0x96, 0x01]), md);
      expect([Status.INVALID_ARGUMENT, Status.NOT_FOUND]).toContain(wrongWire.error?.code);
    } finally {
      raw.close();
    }
  });

  it("unknown methods are UNIMPLEMENTED", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const r = await raw.callBytes("/oz.v1.ObjectSpace/Frobnicate", Buffer.alloc(0), RawGrpc.metadata(TOKENS.control));
      expect(r.error?.code).toBe(Status.UNIMPLEMENTED);
    } finally {
      raw.close();
    }
  });

  it("a message over the size limit is RESOURCE_EXHAUSTED", async () => {
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const r = await raw.call("ObjectSpace.FromLocalByteArray", { guest: "alpha", bytes: Buffer.alloc(2 << 20) }, RawGrpc.metadata(TOKENS.control));
      expect(r.error?.code).toBe(Status.RESOURCE_EXHAUSTED);
      expect(r.error?.details).toMatch(/larger than max/i);
    } finally {
      raw.close();
    }
    await stillServes();
  });

  it("missing guests and handles are NOT_FOUND, bad arguments INVALID_ARGUMENT with the compiler's message", async () => {
    const oz = await fx.connect("grpc");
    await expect(oz.space("nobody").nilObject()).rejects.toMatchObject({ name: "HypervisorError", code: "notFound" });
    const object = (await oz.space("alpha").classNamed("Object"))!;
    const e = await object.compile("foo ^ ^").catch((x) => x);
    expect(e).toMatchObject({ name: "MembraneError", code: "compileError" });
    expect(e.message).toMatch(/Variable or expression expected/);
    const raw = new RawGrpc(fx.url("grpc"));
    try {
      const open = await raw.call("ObjectSpace.OpenSession", {}, RawGrpc.metadata(TOKENS.control));
      const md = RawGrpc.metadata(TOKENS.control, open.reply.session);
      const cls = await raw.call("ObjectSpace.ClassNamed", { guest: "alpha", name: "Object" }, md);
      const compile = await raw.call("ObjectSpace.ClassCompile", { handle: cls.reply.mirror.handle, source: "foo ^ ^" }, md);
      expect(errorCode(compile.error)).toMatchObject({ status: Status.INVALID_ARGUMENT, domain: "membrane", code: "compileError" });
      expect(compile.error?.details).toMatch(/Variable or expression expected/);
      const index = await raw.call("ObjectSpace.MirrorAt", { handle: cls.reply.mirror.handle, index: 99 }, md);
      expect(errorCode(index.error)).toMatchObject({ status: Status.INVALID_ARGUMENT, code: "outOfRange" });
      const guest = await raw.call("Hypervisor.Resume", { name: "alpha" }, md);
      expect(errorCode(guest.error)).toMatchObject({ status: Status.FAILED_PRECONDITION, domain: "hypervisor", code: "failedPrecondition" });
      const none = await raw.call("Hypervisor.Info", { name: "nobody" }, md);
      expect(errorCode(none.error)).toMatchObject({ status: Status.NOT_FOUND, domain: "hypervisor" });
      const exists = await raw.call("Hypervisor.Define", { name: "alpha" }, md);
      expect(errorCode(exists.error)).toMatchObject({ status: Status.ALREADY_EXISTS, domain: "hypervisor" });
    } finally {
      raw.close();
    }
  });
});
