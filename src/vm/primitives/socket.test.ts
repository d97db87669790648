import { describe, expect, it } from "vitest";
import { createHarness, type Harness, type PrimitiveCall } from "./primitiveHarness.js";
import { socketCount, socketModule } from "./socket.js";
import { PrimErr } from "./errors.js";
import { uncoveredPrimitives } from "./ledger.js";
import { HostError, SocketStatus, type HandleEvents, type SocketAdapter, type SocketInfo } from "../host.js";
import { smallIntOop as int, type Oop } from "../memory/oop.js";
import type { PrimitiveFn } from "./table.js";

// ---------------------------------------------------------------- an in-memory SocketAdapter

interface FakeSocket {
  events: HandleEvents;
  info: SocketInfo;
  /** bytes received from the "network", not yet read by the guest */
  inbox: number[];
  /** bytes the guest sent */
  sent: number[];
  /** room left in the send buffer */
  room: number;
  /** connections waiting on a listening socket */
  waiting: number;
}

type Call = [string, ...unknown[]];

class FakeSockets implements SocketAdapter {
  readonly calls: Call[] = [];
  readonly sockets = new Map<number, FakeSocket>();
  readonly collected: number[] = [];
  nextId = 7;
  /** thrown (once) by the next adapter call, before it does anything */
  refuseNext: Error | undefined;

  private enter(name: string, ...args: unknown[]): void {
    this.calls.push([name, ...args]);
    const refusal = this.refuseNext;
    if (refusal) {
      this.refuseNext = undefined;
      throw refusal;
    }
  }

  private socket(id: number): FakeSocket {
    const s = this.sockets.get(id);
    if (!s) throw new HostError("closed", `no socket ${id}`);
    return s;
  }

  private add(events: HandleEvents): number {
    const id = this.nextId++;
    this.sockets.set(id, {
      events,
      info: { status: SocketStatus.unconnected, localPort: 0, remoteAddress: "", remotePort: 0, available: 0, canSend: false, pendingAccepts: 0 },
      inbox: [],
      sent: [],
      room: 1 << 16,
      waiting: 0,
    });
    return id;
  }

  create(events: HandleEvents): number {
    this.enter("create");
    return this.add(events);
  }

  connect(id: number, host: string, port: number): void {
    this.enter("connect", id, host, port);
    this.socket(id).info.status = SocketStatus.waitingForConnection;
  }

  listen(id: number, port: number, backlog: number, address?: string): void {
    this.enter("listen", id, port, backlog, address);
    const s = this.socket(id);
    s.info.status = SocketStatus.waitingForConnection;
    s.info.localPort = port === 0 ? 40000 : port;
  }

  accept(id: number, events: HandleEvents): number | undefined {
    this.enter("accept", id);
    const listener = this.socket(id);
    if (listener.waiting === 0) return undefined;
    listener.waiting--;
    const conn = this.add(events);
    Object.assign(this.socket(conn).info, { status: SocketStatus.connected, localPort: listener.info.localPort, remoteAddress: "127.0.0.1", remotePort: 51000, canSend: true });
    return conn;
  }

  info(id: number): SocketInfo {
    this.enter("info", id);
    const s = this.socket(id);
    return { ...s.info, available: s.inbox.length, pendingAccepts: s.waiting };
  }

  send(id: number, data: Uint8Array): number {
    this.enter("send", id, Array.from(data));
    const s = this.socket(id);
    if (s.info.status !== SocketStatus.connected) throw new HostError("invalid", "not connected");
    const taken = Math.min(s.room, data.length);
    s.sent.push(...data.subarray(0, taken));
    s.room -= taken;
    return taken;
  }

  receive(id: number, max: number): Uint8Array {
    this.enter("receive", id, max);
    return Uint8Array.from(this.socket(id).inbox.splice(0, max));
  }

  close(id: number): void {
    this.enter("close", id);
    this.socket(id).info.status = SocketStatus.thisEndClosed;
  }

  destroy(id: number): void {
    this.enter("destroy", id);
    const s = this.socket(id);
    this.sockets.delete(id);
    s.events.released();
  }

  ownerCollected(id: number): void {
    this.calls.push(["ownerCollected", id]);
    this.collected.push(id);
  }

  // what the "network" does

  connected(id: number, remoteAddress: string, remotePort: number): void {
    Object.assign(this.socket(id).info, { status: SocketStatus.connected, localPort: 50123, remoteAddress, remotePort, canSend: true });
    this.socket(id).events.signal();
  }

  arrive(id: number, bytes: number[]): void {
    this.socket(id).inbox.push(...bytes);
    this.socket(id).events.signal();
  }

  incoming(listener: number): void {
    this.socket(listener).waiting++;
    this.socket(listener).events.signal();
  }

  failed(id: number, error: string): void {
    Object.assign(this.socket(id).info, { status: SocketStatus.unconnected, error });
    this.socket(id).events.signal();
  }

  callsOf(name: string): unknown[][] {
    return this.calls.filter((c) => c[0] === name).map((c) => c.slice(1));
  }
}

// ---------------------------------------------------------------- helpers

const fn = (name: string): PrimitiveFn => {
  const f = socketModule[name];
  if (f === undefined) throw new Error(`no function ${name}`);
  return f;
};

interface Setup {
  h: Harness;
  fake: FakeSockets;
  /** how many times the plugin woke the host */
  wakes: () => number;
  /** a stand-in for a Socket object (the owner of a socket id) */
  owner: () => Oop;
  nil: Oop;
}

function setup(withAdapter = true, options: Parameters<typeof createHarness>[0] = {}): Setup {
  const h = createHarness(options);
  const fake = new FakeSockets();
  if (withAdapter) h.vm.host.sockets = fake;
  let wakes = 0;
  h.vm.host.wake = () => void wakes++;
  return { h, fake, wakes: () => wakes, owner: () => h.instance("Point", [h.mem.nilOop, h.mem.nilOop]), nil: h.mem.nilOop };
}

function call(s: Setup, name: string, receiver: Oop, ...args: Oop[]): PrimitiveCall {
  return s.h.call(fn(name), receiver, ...args);
}

function ok(s: Setup, name: string, receiver: Oop, ...args: Oop[]): Oop {
  const r = call(s, name, receiver, ...args);
  if (!r.ok) throw new Error(`${name} failed with code ${r.code}`);
  return r.result;
}

function expectFail(s: Setup, code: number, name: string, receiver: Oop, ...args: Oop[]): void {
  const r = call(s, name, receiver, ...args);
  expect(r.ok).toBe(false);
  expect(r.code).toBe(code);
}

/** The plugin's last error as [kind, message], or undefined for nil. */
function lastError(s: Setup): [string, string] | undefined {
  const r = ok(s, "primitiveSocketLastError", s.nil);
  if (r === s.nil) return undefined;
  const { mem } = s.h;
  expect(mem.slotCount(r)).toBe(2);
  return [mem.stringOf(mem.fetchPointer(r, 0)), mem.stringOf(mem.fetchPointer(r, 1))];
}

function expectLastError(s: Setup, kind: string, message?: RegExp): void {
  const e = lastError(s);
  expect(e?.[0]).toBe(kind);
  if (message) expect(e?.[1]).toMatch(message);
}

/** Whether a signal of `semaphore` is pending (posted and not yet delivered). */
function signalled(s: Setup, semaphore: Oop): number {
  return s.h.vm.pendingSignals.filter((p) => p.oop === semaphore).length;
}

/** Creates a socket; answers its id (a JS number), its semaphore and its owner. */
function create(s: Setup): { id: number; idOop: Oop; sem: Oop; owner: Oop } {
  const owner = s.owner();
  const sem = s.h.newSemaphore();
  const idOop = ok(s, "primitiveSocketCreate", owner, sem);
  expect(idOop & 1).toBe(1);
  return { id: idOop >> 1, idOop, sem, owner };
}

function bytesOf(s: Setup, oop: Oop): number[] {
  const { mem } = s.h;
  return Array.from({ length: mem.byteLength(oop) }, (_, i) => mem.fetchByte(oop, i));
}

// ---------------------------------------------------------------- tests

describe("primitiveSocketCreate", () => {
  it("answers the adapter's id and signals the socket's semaphore on the adapter's events", () => {
    const s = setup();
    const { id, sem } = create(s);
    expect(id).toBe(7);
    expect(s.fake.callsOf("create")).toEqual([[]]);
    expect(socketCount(s.h.vm)).toBe(1);
    expect(signalled(s, sem)).toBe(0);
    s.fake.sockets.get(id)!.events.signal();
    expect(signalled(s, sem)).toBe(1);
    expect(s.wakes()).toBe(1);
    const second = create(s);
    expect(second.id).toBe(8);
    s.fake.sockets.get(8)!.events.signal();
    expect(signalled(s, second.sem)).toBe(1);
    expect(signalled(s, sem)).toBe(1);
  });

  it("tells the adapter when the object that owns the socket is collected", () => {
    const s = setup();
    const { id } = create(s);
    const kept = create(s);
    const keep = s.h.mem.newHandle(kept.owner);
    s.h.vm.collect(true);
    expect(s.fake.collected).toEqual([id]);
    expect(keep.oop).not.toBe(0);
  });

  it("fails without an adapter, recording #unavailable", () => {
    const s = setup(false);
    expectFail(s, PrimErr.unsupported, "primitiveSocketCreate", s.owner(), s.h.newSemaphore());
    expectLastError(s, "unavailable");
  });

  it("fails when the argument is not a Semaphore", () => {
    const s = setup();
    const owner = s.owner();
    expectFail(s, PrimErr.badArgument, "primitiveSocketCreate", owner, s.nil);
    expectFail(s, PrimErr.badArgument, "primitiveSocketCreate", owner, int(3));
    expectFail(s, PrimErr.badArgument, "primitiveSocketCreate", owner, s.h.instance("Point", [int(1), int(2)]));
    // a byte object with room for three "slots" is not a Semaphore either: signalling it would write oops into bytes
    expectFail(s, PrimErr.badArgument, "primitiveSocketCreate", owner, s.h.string("not a semaphore at all"));
    expectFail(s, PrimErr.badArgument, "primitiveSocketCreate", owner, s.h.bytes(new Array(16).fill(0)));
    expectLastError(s, "invalid", /Semaphore/);
    expect(s.fake.callsOf("create")).toEqual([]);
    expect(socketCount(s.h.vm)).toBe(0);
  });

  it("fails with limitExceeded on the guest's quota and the daemon's limit, holding nothing", () => {
    const s = setup();
    const handles = s.h.mem.handles.size;
    s.fake.refuseNext = new HostError("quotaExceeded", "this guest has 32 sockets");
    expectFail(s, PrimErr.limitExceeded, "primitiveSocketCreate", s.owner(), s.h.newSemaphore());
    expectLastError(s, "quotaExceeded", /32 sockets/);
    s.fake.refuseNext = new HostError("limitExceeded", "the daemon has no socket left");
    expectFail(s, PrimErr.limitExceeded, "primitiveSocketCreate", s.owner(), s.h.newSemaphore());
    expectLastError(s, "limitExceeded", /daemon/);
    expect(s.h.mem.handles.size).toBe(handles);
    expect(socketCount(s.h.vm)).toBe(0);
  });

  it("turns an unexpected adapter error into an #io failure", () => {
    const s = setup();
    s.fake.refuseNext = new Error("EMFILE");
    expectFail(s, PrimErr.inappropriate, "primitiveSocketCreate", s.owner(), s.h.newSemaphore());
    expectLastError(s, "io", /EMFILE/);
  });
});

describe("primitiveSocketConnect", () => {
  it("connects to a host name, a 4-byte and a 16-byte address, answering the receiver", () => {
    const s = setup();
    const a = create(s);
    expect(ok(s, "primitiveSocketConnect", a.owner, a.idOop, s.h.string("example.org"), int(80))).toBe(a.owner);
    const b = create(s);
    ok(s, "primitiveSocketConnect", b.owner, b.idOop, s.h.bytes([127, 0, 0, 1]), int(7));
    const c = create(s);
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34];
    ok(s, "primitiveSocketConnect", c.owner, c.idOop, s.h.bytes(v6), int(65535));
    expect(s.fake.callsOf("connect")).toEqual([
      [a.id, "example.org", 80],
      [b.id, "127.0.0.1", 7],
      [c.id, "2001:db8:0:0:0:0:0:1234", 65535],
    ]);
    expect(ok(s, "primitiveSocketStatus", a.owner, a.idOop)).toBe(int(SocketStatus.waitingForConnection));
    s.fake.connected(a.id, "93.184.216.34", 80);
    expect(signalled(s, a.sem)).toBe(1);
    expect(ok(s, "primitiveSocketStatus", a.owner, a.idOop)).toBe(int(SocketStatus.connected));
  });

  it("fails on a foreign, stale or non-Integer handle, without calling the adapter", () => {
    const s = setup();
    const a = create(s);
    const host = s.h.string("example.org");
    expectFail(s, PrimErr.badArgument, "primitiveSocketConnect", a.owner, s.nil, host, int(80));
    expectLastError(s, "invalid", /Integer/);
    expectFail(s, PrimErr.inappropriate, "primitiveSocketConnect", a.owner, int(99), host, int(80));
    expectLastError(s, "closed", /99/);
    ok(s, "primitiveSocketDestroy", a.owner, a.idOop);
    expectFail(s, PrimErr.inappropriate, "primitiveSocketConnect", a.owner, a.idOop, host, int(80));
    expectLastError(s, "closed");
    expect(s.fake.callsOf("connect")).toEqual([]);
  });

  it("fails on a bad host or port", () => {
    const s = setup();
    const a = create(s);
    const host = s.h.string("example.org");
    for (const [h, p] of [
      [s.h.string(""), int(80)],
      [s.h.bytes([127, 0, 1]), int(80)],
      [s.h.bytes([1, 2, 3, 4, 5]), int(80)],
      [s.nil, int(80)],
      [int(127), int(80)],
      [host, int(0)],
      [host, int(65536)],
      [host, int(-1)],
      [host, s.nil],
      [host, s.h.string("80")],
    ]) {
      expectFail(s, PrimErr.badArgument, "primitiveSocketConnect", a.owner, a.idOop, h, p);
    }
    expectLastError(s, "invalid", /port/);
    expect(s.fake.callsOf("connect")).toEqual([]);
  });

  it("fails without an adapter, and surfaces the adapter's refusal", () => {
    const s = setup();
    const a = create(s);
    s.fake.refuseNext = new HostError("accessDenied", "169.254.169.254 is forbidden");
    expectFail(s, PrimErr.inappropriate, "primitiveSocketConnect", a.owner, a.idOop, s.h.string("169.254.169.254"), int(80));
    expectLastError(s, "accessDenied", /forbidden/);
    s.h.vm.host.sockets = undefined;
    expectFail(s, PrimErr.unsupported, "primitiveSocketConnect", a.owner, a.idOop, s.h.string("example.org"), int(80));
    expectLastError(s, "unavailable");
  });
});

describe("primitiveSocketListen", () => {
  it("listens on a port and interface (nil, a String, a ByteArray), answering the receiver", () => {
    const s = setup();
    const a = create(s);
    expect(ok(s, "primitiveSocketListen", a.owner, a.idOop, int(0), int(5), s.nil)).toBe(a.owner);
    const b = create(s);
    ok(s, "primitiveSocketListen", b.owner, b.idOop, int(8080), int(1), s.h.string("::1"));
    const c = create(s);
    ok(s, "primitiveSocketListen", c.owner, c.idOop, int(65535), int(128), s.h.bytes([127, 0, 0, 1]));
    expect(s.fake.callsOf("listen")).toEqual([
      [a.id, 0, 5, undefined],
      [b.id, 8080, 1, "::1"],
      [c.id, 65535, 128, "127.0.0.1"],
    ]);
    expect(ok(s, "primitiveSocketLocalPort", a.owner, a.idOop)).toBe(int(40000));
  });

  it("fails on a bad port, backlog or interface", () => {
    const s = setup();
    const a = create(s);
    for (const [port, backlog, iface] of [
      [int(-1), int(5), s.nil],
      [int(65536), int(5), s.nil],
      [s.nil, int(5), s.nil],
      [int(80), int(0), s.nil],
      [int(80), s.nil, s.nil],
      [int(80), int(5), int(1)],
      [int(80), int(5), s.h.bytes([127, 0, 1])],
      [int(80), int(5), s.h.array([])],
    ]) {
      expectFail(s, PrimErr.badArgument, "primitiveSocketListen", a.owner, a.idOop, port, backlog, iface);
    }
    expectLastError(s, "invalid", /interface/);
    expect(s.fake.callsOf("listen")).toEqual([]);
  });

  it("fails on a stale handle, and surfaces the adapter's refusal", () => {
    const s = setup();
    const a = create(s);
    expectFail(s, PrimErr.inappropriate, "primitiveSocketListen", a.owner, int(a.id + 1), int(80), int(5), s.nil);
    expectLastError(s, "closed");
    s.fake.refuseNext = new HostError("accessDenied", "0.0.0.0 is not a listen address");
    expectFail(s, PrimErr.inappropriate, "primitiveSocketListen", a.owner, a.idOop, int(80), int(5), s.h.string("0.0.0.0"));
    expectLastError(s, "accessDenied", /listen address/);
    s.fake.refuseNext = new HostError("io", "address in use");
    expectFail(s, PrimErr.inappropriate, "primitiveSocketListen", a.owner, a.idOop, int(80), int(5), s.nil);
    expectLastError(s, "io", /in use/);
  });
});

describe("primitiveSocketAccept", () => {
  it("answers nil when no connection waits, and a new id with its own semaphore when one does", () => {
    const s = setup();
    const listener = create(s);
    ok(s, "primitiveSocketListen", listener.owner, listener.idOop, int(0), int(5), s.nil);
    const handles = s.h.mem.handles.size;
    const owner = s.owner();
    const sem = s.h.newSemaphore();
    expect(ok(s, "primitiveSocketAccept", owner, listener.idOop, sem)).toBe(s.nil);
    expect(s.h.mem.handles.size).toBe(handles); // the semaphore's handle was not kept
    s.fake.incoming(listener.id);
    expect(signalled(s, listener.sem)).toBe(1);
    const conn = ok(s, "primitiveSocketAccept", owner, listener.idOop, sem);
    expect(conn).toBe(int(8));
    expect(s.fake.callsOf("accept")).toEqual([[listener.id], [listener.id]]);
    expect(socketCount(s.h.vm)).toBe(2);
    s.fake.arrive(8, [1, 2, 3]);
    expect(signalled(s, sem)).toBe(1);
    expect(signalled(s, listener.sem)).toBe(1);
    expect(ok(s, "primitiveSocketRemotePort", owner, conn)).toBe(int(51000));
  });

  it("fails on a stale listener or a non-Semaphore", () => {
    const s = setup();
    const listener = create(s);
    expectFail(s, PrimErr.inappropriate, "primitiveSocketAccept", s.owner(), int(1234), s.h.newSemaphore());
    expectLastError(s, "closed", /1234/);
    expectFail(s, PrimErr.badArgument, "primitiveSocketAccept", s.owner(), listener.idOop, s.nil);
    expectFail(s, PrimErr.badArgument, "primitiveSocketAccept", s.owner(), listener.idOop, s.h.string("twelve bytes!"));
    expectLastError(s, "invalid", /Semaphore/);
    expect(s.fake.callsOf("accept")).toEqual([]);
  });

  it("fails with limitExceeded when the quota refuses the new connection, holding nothing", () => {
    const s = setup();
    const listener = create(s);
    s.fake.incoming(listener.id);
    const handles = s.h.mem.handles.size;
    s.fake.refuseNext = new HostError("quotaExceeded", "too many sockets");
    expectFail(s, PrimErr.limitExceeded, "primitiveSocketAccept", s.owner(), listener.idOop, s.h.newSemaphore());
    expectLastError(s, "quotaExceeded");
    expect(s.h.mem.handles.size).toBe(handles);
    expect(socketCount(s.h.vm)).toBe(1);
    s.h.vm.host.sockets = undefined;
    expectFail(s, PrimErr.unsupported, "primitiveSocketAccept", s.owner(), listener.idOop, s.h.newSemaphore());
  });
});

describe("primitiveSocketStatus", () => {
  it("answers the adapter's status, and -1 for anything it cannot ask about", () => {
    const s = setup();
    const a = create(s);
    expect(ok(s, "primitiveSocketStatus", a.owner, a.idOop)).toBe(int(SocketStatus.unconnected));
    s.fake.sockets.get(a.id)!.info.status = SocketStatus.otherEndClosed;
    expect(ok(s, "primitiveSocketStatus", a.owner, a.idOop)).toBe(int(SocketStatus.otherEndClosed));
    expect(s.fake.callsOf("info")).toEqual([[a.id], [a.id]]);
    expect(ok(s, "primitiveSocketStatus", a.owner, int(99))).toBe(int(SocketStatus.invalid));
    expect(ok(s, "primitiveSocketStatus", a.owner, s.nil)).toBe(int(SocketStatus.invalid));
    s.fake.refuseNext = new HostError("closed", "gone");
    expect(ok(s, "primitiveSocketStatus", a.owner, a.idOop)).toBe(int(SocketStatus.invalid));
    s.h.vm.host.sockets = undefined;
    expect(ok(s, "primitiveSocketStatus", a.owner, a.idOop)).toBe(int(SocketStatus.invalid));
  });
});

describe("socket information", () => {
  it("primitiveSocketError answers nil, then the socket's error as a String", () => {
    const s = setup();
    const a = create(s);
    expect(ok(s, "primitiveSocketError", a.owner, a.idOop)).toBe(s.nil);
    s.fake.failed(a.id, "connection refused");
    expect(signalled(s, a.sem)).toBe(1);
    expect(s.h.mem.stringOf(ok(s, "primitiveSocketError", a.owner, a.idOop))).toBe("connection refused");
  });

  it("primitiveSocketLocalPort, RemotePort and RemoteAddress answer the connection's ends", () => {
    const s = setup();
    const a = create(s);
    expect(ok(s, "primitiveSocketRemoteAddress", a.owner, a.idOop)).not.toBe(s.nil);
    expect(s.h.mem.stringOf(ok(s, "primitiveSocketRemoteAddress", a.owner, a.idOop))).toBe("");
    s.fake.connected(a.id, "10.1.2.3", 443);
    expect(ok(s, "primitiveSocketLocalPort", a.owner, a.idOop)).toBe(int(50123));
    expect(ok(s, "primitiveSocketRemotePort", a.owner, a.idOop)).toBe(int(443));
    const addr = ok(s, "primitiveSocketRemoteAddress", a.owner, a.idOop);
    expect(s.h.mem.fetchClassOf(addr)).toBe(s.h.classes.ByteString);
    expect(s.h.mem.stringOf(addr)).toBe("10.1.2.3");
  });

  it("primitiveSocketDataAvailable and SendDone answer the adapter's Booleans", () => {
    const s = setup();
    const { mem } = s.h;
    const a = create(s);
    expect(ok(s, "primitiveSocketDataAvailable", a.owner, a.idOop)).toBe(mem.falseOop);
    expect(ok(s, "primitiveSocketSendDone", a.owner, a.idOop)).toBe(mem.falseOop);
    s.fake.connected(a.id, "10.1.2.3", 443);
    s.fake.arrive(a.id, [42]);
    expect(ok(s, "primitiveSocketDataAvailable", a.owner, a.idOop)).toBe(mem.trueOop);
    expect(ok(s, "primitiveSocketSendDone", a.owner, a.idOop)).toBe(mem.trueOop);
  });

  it("each fails on a stale or non-Integer handle, without an adapter, and when the adapter refuses", () => {
    const s = setup();
    const a = create(s);
    const stale = create(s);
    ok(s, "primitiveSocketDestroy", stale.owner, stale.idOop);
    const names = ["primitiveSocketError", "primitiveSocketLocalPort", "primitiveSocketRemotePort", "primitiveSocketRemoteAddress", "primitiveSocketDataAvailable", "primitiveSocketSendDone"];
    for (const name of names) {
      expectFail(s, PrimErr.inappropriate, name, a.owner, stale.idOop);
      expectLastError(s, "closed");
      expectFail(s, PrimErr.inappropriate, name, a.owner, int(-5));
      expectFail(s, PrimErr.badArgument, name, a.owner, s.h.string("7"));
      expectLastError(s, "invalid");
      s.fake.refuseNext = new HostError("closed", "the adapter forgot it");
      expectFail(s, PrimErr.inappropriate, name, a.owner, a.idOop);
      expectLastError(s, "closed", /forgot/);
    }
    s.h.vm.host.sockets = undefined;
    for (const name of names) {
      expectFail(s, PrimErr.unsupported, name, a.owner, a.idOop);
      expectLastError(s, "unavailable");
    }
  });
});

describe("primitiveSocketSend", () => {
  it("sends exactly the bytes of the range of a ByteArray or String, answering how many were taken", () => {
    const s = setup();
    const a = create(s);
    s.fake.connected(a.id, "10.0.0.1", 80);
    const data = s.h.bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ok(s, "primitiveSocketSend", a.owner, a.idOop, data, int(3), int(4))).toBe(int(4));
    expect(ok(s, "primitiveSocketSend", a.owner, a.idOop, s.h.string("hello world"), int(7), int(5))).toBe(int(5));
    expect(ok(s, "primitiveSocketSend", a.owner, a.idOop, s.h.string("\u00ff\u0000"), int(1), int(2))).toBe(int(2));
    expect(ok(s, "primitiveSocketSend", a.owner, a.idOop, data, int(11), int(0))).toBe(int(0));
    expect(s.fake.callsOf("send")).toEqual([
      [a.id, [3, 4, 5, 6]],
      [a.id, Array.from("world", (c) => c.charCodeAt(0))],
      [a.id, [255, 0]],
      [a.id, []],
    ]);
    expect(s.fake.sockets.get(a.id)!.sent).toEqual([3, 4, 5, 6, 119, 111, 114, 108, 100, 255, 0]);
    // a full send buffer takes only what fits, then nothing
    s.fake.sockets.get(a.id)!.room = 2;
    expect(ok(s, "primitiveSocketSend", a.owner, a.idOop, data, int(1), int(5))).toBe(int(2));
    expect(ok(s, "primitiveSocketSend", a.owner, a.idOop, data, int(3), int(3))).toBe(int(0));
    expect(bytesOf(s, data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("fails on a buffer that is not bytes or a range outside it, without calling the adapter", () => {
    const s = setup();
    const a = create(s);
    s.fake.connected(a.id, "10.0.0.1", 80);
    const data = s.h.bytes([1, 2, 3, 4]);
    for (const [buffer, start, count] of [
      [data, int(0), int(1)],
      [data, int(1), int(5)],
      [data, int(4), int(2)],
      [data, int(6), int(0)],
      [data, int(1), int(-1)],
      [data, s.nil, int(1)],
      [data, int(1), s.nil],
      [s.h.array([int(1), int(2)]), int(1), int(1)],
      [s.h.wordArray([1, 2]), int(1), int(1)],
      [s.nil, int(1), int(0)],
      [int(5), int(1), int(0)],
      [s.h.makeMethod([0x7c], []), int(1), int(1)],
    ]) {
      expectFail(s, PrimErr.badArgument, "primitiveSocketSend", a.owner, a.idOop, buffer, start, count);
    }
    expectLastError(s, "invalid", /range/);
    expect(s.fake.callsOf("send")).toEqual([]);
  });

  it("fails on a stale handle and surfaces the adapter's errors", () => {
    const s = setup();
    const a = create(s);
    const data = s.h.string("abc");
    expectFail(s, PrimErr.inappropriate, "primitiveSocketSend", a.owner, int(3), data, int(1), int(3));
    expectLastError(s, "closed");
    expectFail(s, PrimErr.badArgument, "primitiveSocketSend", a.owner, a.idOop, data, int(1), int(3));
    expectLastError(s, "invalid", /not connected/);
    s.h.vm.host.sockets = undefined;
    expectFail(s, PrimErr.unsupported, "primitiveSocketSend", a.owner, a.idOop, data, int(1), int(3));
  });
});

describe("primitiveSocketReceive", () => {
  it("copies exactly the received bytes into the range of the buffer, answering how many", () => {
    const s = setup();
    const a = create(s);
    s.fake.connected(a.id, "10.0.0.1", 80);
    s.fake.arrive(a.id, [10, 20, 30, 40, 50]);
    const buffer = s.h.bytes([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ok(s, "primitiveSocketReceive", a.owner, a.idOop, buffer, int(2), int(3))).toBe(int(3));
    expect(bytesOf(s, buffer)).toEqual([0, 10, 20, 30, 0, 0, 0, 0]);
    const text = s.h.string("........");
    expect(ok(s, "primitiveSocketReceive", a.owner, a.idOop, text, int(7), int(2))).toBe(int(2));
    expect(s.h.mem.stringOf(text)).toBe("......(2");
    // nothing buffered: 0, and the buffer is untouched
    expect(ok(s, "primitiveSocketReceive", a.owner, a.idOop, buffer, int(1), int(8))).toBe(int(0));
    expect(bytesOf(s, buffer)).toEqual([0, 10, 20, 30, 0, 0, 0, 0]);
    // fewer than asked: only those are written
    s.fake.arrive(a.id, [255, 254]);
    expect(ok(s, "primitiveSocketReceive", a.owner, a.idOop, buffer, int(1), int(8))).toBe(int(2));
    expect(bytesOf(s, buffer)).toEqual([255, 254, 20, 30, 0, 0, 0, 0]);
    // data received before a close can still be read
    s.fake.arrive(a.id, [7]);
    ok(s, "primitiveSocketClose", a.owner, a.idOop);
    expect(ok(s, "primitiveSocketReceive", a.owner, a.idOop, buffer, int(8), int(1))).toBe(int(1));
    expect(bytesOf(s, buffer)[7]).toBe(7);
    expect(s.fake.callsOf("receive")).toEqual([[a.id, 3], [a.id, 2], [a.id, 8], [a.id, 8], [a.id, 1]]);
  });

  it("fails on a buffer that is not bytes or a range outside it, without reading anything", () => {
    const s = setup();
    const a = create(s);
    s.fake.arrive(a.id, [1, 2, 3]);
    const buffer = s.h.bytes([0, 0, 0, 0]);
    for (const [b, start, count] of [
      [buffer, int(0), int(1)],
      [buffer, int(1), int(5)],
      [buffer, int(3), int(3)],
      [buffer, int(6), int(0)],
      [buffer, int(1), int(-2)],
      [buffer, s.nil, int(1)],
      [buffer, int(1), s.h.string("1")],
      [s.h.array([s.nil, s.nil]), int(1), int(1)],
      [s.h.wordArray([0]), int(1), int(1)],
      [s.nil, int(1), int(1)],
      [s.h.makeMethod([0x7c], []), int(1), int(1)],
    ]) {
      expectFail(s, PrimErr.badArgument, "primitiveSocketReceive", a.owner, a.idOop, b, start, count);
    }
    expectLastError(s, "invalid", /receiveDataInto/);
    expect(s.fake.callsOf("receive")).toEqual([]);
    expect(bytesOf(s, buffer)).toEqual([0, 0, 0, 0]);
    expect(s.fake.sockets.get(a.id)!.inbox).toEqual([1, 2, 3]);
  });

  it("fails on a stale handle, without an adapter, and when the adapter fails", () => {
    const s = setup();
    const a = create(s);
    const buffer = s.h.bytes([0, 0]);
    expectFail(s, PrimErr.inappropriate, "primitiveSocketReceive", a.owner, int(77), buffer, int(1), int(2));
    expectLastError(s, "closed");
    s.fake.refuseNext = new HostError("io", "connection reset");
    expectFail(s, PrimErr.inappropriate, "primitiveSocketReceive", a.owner, a.idOop, buffer, int(1), int(2));
    expectLastError(s, "io", /reset/);
    s.h.vm.host.sockets = undefined;
    expectFail(s, PrimErr.unsupported, "primitiveSocketReceive", a.owner, a.idOop, buffer, int(1), int(2));
  });
});

describe("primitiveSocketClose", () => {
  it("closes through the adapter, answering the receiver; the id stays known", () => {
    const s = setup();
    const a = create(s);
    expect(ok(s, "primitiveSocketClose", a.owner, a.idOop)).toBe(a.owner);
    expect(s.fake.callsOf("close")).toEqual([[a.id]]);
    expect(ok(s, "primitiveSocketStatus", a.owner, a.idOop)).toBe(int(SocketStatus.thisEndClosed));
    expect(socketCount(s.h.vm)).toBe(1);
  });

  it("fails on a stale or non-Integer handle, without an adapter, and when the adapter refuses", () => {
    const s = setup();
    const a = create(s);
    expectFail(s, PrimErr.inappropriate, "primitiveSocketClose", a.owner, int(a.id + 100));
    expectLastError(s, "closed");
    expectFail(s, PrimErr.badArgument, "primitiveSocketClose", a.owner, s.nil);
    s.fake.refuseNext = new HostError("invalid", "not connected");
    expectFail(s, PrimErr.badArgument, "primitiveSocketClose", a.owner, a.idOop);
    expectLastError(s, "invalid", /not connected/);
    s.h.vm.host.sockets = undefined;
    expectFail(s, PrimErr.unsupported, "primitiveSocketClose", a.owner, a.idOop);
    expect(s.fake.callsOf("close")).toEqual([[a.id]]);
  });
});

describe("primitiveSocketDestroy", () => {
  it("destroys through the adapter; the id is forgotten and its semaphore no longer signalled", () => {
    const s = setup();
    const a = create(s);
    const events = s.fake.sockets.get(a.id)!.events;
    const handles = s.h.mem.handles.size;
    expect(ok(s, "primitiveSocketDestroy", a.owner, a.idOop)).toBe(a.owner);
    expect(s.fake.callsOf("destroy")).toEqual([[a.id]]);
    expect(socketCount(s.h.vm)).toBe(0);
    expect(s.h.mem.handles.size).toBe(handles - 1);
    events.signal(); // a late event of a released handle
    expect(signalled(s, a.sem)).toBe(0);
    expect(ok(s, "primitiveSocketStatus", a.owner, a.idOop)).toBe(int(SocketStatus.invalid));
    // the owner is no longer watched
    s.h.vm.collect(true);
    expect(s.fake.collected).toEqual([]);
  });

  it("does nothing for an id it does not know, without an adapter, or when the adapter already forgot it", () => {
    const s = setup();
    const a = create(s);
    expect(ok(s, "primitiveSocketDestroy", a.owner, int(99))).toBe(a.owner);
    expect(ok(s, "primitiveSocketDestroy", a.owner, s.nil)).toBe(a.owner);
    s.fake.refuseNext = new HostError("closed", "already gone");
    expect(ok(s, "primitiveSocketDestroy", a.owner, a.idOop)).toBe(a.owner);
    expect(s.fake.callsOf("destroy")).toEqual([[a.id]]);
    s.h.vm.host.sockets = undefined;
    expect(ok(s, "primitiveSocketDestroy", a.owner, a.idOop)).toBe(a.owner);
  });
});

describe("primitiveSocketLastError and primitiveSocketAvailable", () => {
  it("LastError answers nil, then #(#kind 'message') of the last failure", () => {
    const s = setup();
    expect(lastError(s)).toBeUndefined();
    expectFail(s, PrimErr.inappropriate, "primitiveSocketClose", s.nil, int(5));
    const r = ok(s, "primitiveSocketLastError", s.nil);
    const { mem } = s.h;
    expect(mem.fetchClassOf(r)).toBe(s.h.classes.Array);
    expect(mem.fetchPointer(r, 0)).toBe(s.h.sym("closed"));
    expect(mem.stringOf(mem.fetchPointer(r, 1))).toBe("socket 5 is not open in this image (destroyed, or from an earlier run)");
  });

  it("LastError fails when the heap cannot hold the answer", () => {
    const s = setup(true, { limitBytes: 1024 * 1024 });
    expectFail(s, PrimErr.inappropriate, "primitiveSocketClose", s.nil, int(5));
    s.h.exhaustHeap();
    expectFail(s, PrimErr.insufficientObjectMemory, "primitiveSocketLastError", s.nil);
  });

  it("Available answers whether the host gives sockets", () => {
    const s = setup();
    expect(ok(s, "primitiveSocketAvailable", s.nil)).toBe(s.h.mem.trueOop);
    s.h.vm.host.sockets = undefined;
    expect(ok(s, "primitiveSocketAvailable", s.nil)).toBe(s.h.mem.falseOop);
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(
      uncoveredPrimitives(socketModule, [
        // answers -1 (invalid) for any handle it cannot ask about, as Pharo's Socket expects
        "primitiveSocketStatus",
        // destroying an unknown or already released id does nothing: finalization may come after the host released it
        "primitiveSocketDestroy",
        // answers a Boolean whatever the receiver
        "primitiveSocketAvailable",
      ]),
    ).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
