/**
 * The host side of the resources in detail: what a socket's quota slot covers (an OS handle, or data the
 * guest has not read), graceful close then destroy, back pressure in both directions, handles from an
 * earlier run of an image, the sandbox's path rules, and the configuration's `resources` section.
 */
import * as net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { TestDaemon, eventually } from "./harness.js";
import { openTestHypervisor } from "./hv.js";
import { sandboxNames } from "../../src/hypervisor/resources/index.js";
import { HostError } from "../../src/vm/host.js";
import { ConfigError, validateConfig } from "../../src/hypervisor/config.js";

const daemon = new TestDaemon({ socketReceiveBuffer: 64 * 1024, socketSendBuffer: 64 * 1024 });
afterAll(() => daemon.close());

/** A host-side TCP server on loopback; `onConnection` gets each peer. */
async function hostServer(onConnection: (s: net.Socket) => void): Promise<{ port: number; close(): void }> {
  const server = net.createServer((s) => {
    s.on("error", () => undefined);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

function connect(port: number): string {
  return `| s | s := Socket newTCP. s connectTo: '127.0.0.1' port: ${port}. s waitForConnectionFor: 5. Smalltalk at: #S put: s. s socketHandle`;
}

describe("sockets", () => {
  it("a connection the other end closed keeps its slot until the guest has read its data", async () => {
    const g = await daemon.guest("unread");
    const server = await hostServer((s) => s.end("last words"));
    try {
      const id = Number(await g.run(connect(server.port)));
      await eventually(() => g.account.sockets.info(id).status === 3 && g.account.sockets.info(id).available === 10, 5000, "the other end to close");
      expect(g.account.socketsOpen).toBe(1);
      expect(await g.run("(Smalltalk at: #S) receiveData")).toBe("'last words'");
      expect(g.account.socketsOpen).toBe(0);
      // the Socket is still valid for the guest (closed, nothing to read) until it destroys it
      expect(await g.run("(Smalltalk at: #S) isOtherEndClosed")).toBe("true");
      await g.run("(Smalltalk at: #S) destroy");
      expect(g.account.sockets.count).toBe(0);
    } finally {
      server.close();
    }
  });

  it("close then destroy (closeAndDestroy) delivers everything that was sent", async () => {
    const g = await daemon.guest("linger");
    let received = 0;
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));
    const server = await hostServer((s) => {
      s.on("data", (d) => (received += d.length));
      s.on("end", () => {
        s.end();
        ended();
      });
    });
    try {
      await g.run(connect(server.port));
      await g.run("| s | s := Smalltalk at: #S. s sendData: (ByteArray new: 1000000). s closeAndDestroy");
      await done;
      expect(received).toBe(1_000_000);
      await eventually(() => g.account.socketsOpen === 0, 5000, "the slot to be given back");
      expect(g.account.bytesOut).toBe(1_000_000);
    } finally {
      server.close();
    }
  });

  it("back pressure: the host stops reading while the guest does not read, and nothing is lost", async () => {
    const g = await daemon.guest("pressure");
    const data = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const server = await hostServer((s) => s.end(data));
    try {
      const id = Number(await g.run(connect(server.port)));
      await new Promise((r) => setTimeout(r, 200));
      // what waits for the guest is bounded by the receive buffer (plus one chunk)
      expect(g.account.sockets.info(id).available).toBeLessThanOrEqual(64 * 1024 + 65536);
      const sum = await g.run(`| s total sum buffer n |
        s := Smalltalk at: #S. total := 0. sum := 0. buffer := ByteArray new: 65536.
        [n := [s receiveDataInto: buffer] on: ConnectionClosed do: [:e | e return: 0]. n > 0] whileTrue: [
          1 to: n do: [:i | sum := sum + ((buffer at: i) * ((total + i) \\\\ 7))].
          total := total + n].
        s destroy.
        {total. sum}`);
      let expected = 0;
      for (let i = 0; i < data.length; i++) expected += data[i] * ((i + 1) % 7);
      expect(sum).toBe(`#(${data.length} ${expected})`);
    } finally {
      server.close();
    }
  });

  it("sending waits for room: the host queues a bounded amount, the sender waits without blocking the image", async () => {
    const g = await daemon.guest("sender");
    let peer!: net.Socket;
    let received = 0;
    const server = await hostServer((s) => {
      peer = s;
      s.pause();
      s.on("data", (d) => (received += d.length));
    });
    try {
      const id = Number(await g.run(connect(server.port)));
      // the peer does not read: the sender waits, the image goes on
      expect(await g.run(`| s | s := Smalltalk at: #S.
        Smalltalk at: #Sender put: [s sendData: (ByteArray new: 8000000)] fork.
        (Delay forMilliseconds: 300) wait.
        {(Smalltalk at: #Sender) isTerminated. s sendDone}`)).toBe("#(false false)");
      expect(g.account.sockets.info(id).canSend).toBe(false);
      expect(g.account.bytesOut).toBeLessThan(8_000_000);
      peer.resume();
      expect(await g.run("[(Smalltalk at: #Sender) isTerminated] whileFalse: [(Delay forMilliseconds: 10) wait]. #sent")).toBe("#sent");
      await eventually(() => received === 8_000_000, 10_000, "the peer to receive everything");
      expect(g.account.bytesOut).toBe(8_000_000);
      await g.run("(Smalltalk at: #S) destroy");
    } finally {
      peer?.destroy();
      server.close();
    }
  });
});

describe("the host's finalization backstop", () => {
  it("closes what a starved finalization process does not (a busier process above it), and counts it", async () => {
    const starving = new TestDaemon({ finalizationGraceMs: 200 });
    try {
      const g = await starving.guest("starved");
      expect(await g.run(`| done |
        done := false.
        [| sockets streams start |
          sockets := (1 to: 20) collect: [:i | Socket newTCP].
          streams := (1 to: 20) collect: [:i | (File named: 'f', i printString) writeStream].
          sockets := nil. streams := nil.
          Smalltalk garbageCollect.
          "the finalization process waits below this one for a second"
          start := Time millisecondClockValue.
          [Time millisecondClockValue - start < 1000] whileTrue.
          done := true] forkAt: Processor userInterruptPriority + 5.
        [done] whileFalse: [(Delay forMilliseconds: 10) wait].
        #done`)).toBe("#done");
      expect(g.account.stats()).toMatchObject({ socketsOpen: 0, filesOpen: 0, finalizedByHost: 40, finalizedByImage: 0 });
      // the image's finalization ran afterwards: nothing was left to close
      expect(await g.run("Smalltalk garbageCollect. (Delay forMilliseconds: 50) wait. Socket registry size")).toBe("0");
      expect(g.account.finalizedByImage).toBe(0);
    } finally {
      await starving.close();
    }
  });
});

describe("the sandbox's paths", () => {
  it("accepts relative paths and refuses absolute ones, '..', NUL and backslashes", () => {
    expect(sandboxNames("")).toEqual([]);
    expect(sandboxNames(".")).toEqual([]);
    expect(sandboxNames("a/b.txt")).toEqual(["a", "b.txt"]);
    expect(sandboxNames("a//./b/")).toEqual(["a", "b"]);
    expect(sandboxNames("..x/y..")).toEqual(["..x", "y.."]);
    for (const bad of ["/etc/passwd", "../x", "a/../../x", "a/..", "C:x", "a\\b", "a\0b"]) {
      let error: unknown;
      try {
        sandboxNames(bad);
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(HostError);
      expect((error as HostError).kind, bad).toBe("accessDenied");
    }
    expect(() => sandboxNames(`${"x/".repeat(40)}y`)).toThrow(/levels/);
    expect(() => sandboxNames("x".repeat(300))).toThrow(/longer/);
  });
});

describe("an image restarted from a snapshot", () => {
  it("sees the sockets and files of its earlier run as closed; the account starts empty", async () => {
    const t = await openTestHypervisor();
    try {
      await t.start("a");
      await t.run("a", `Smalltalk at: #S put: Socket newTCP; at: #F put: (File named: 'f.txt') writeStream.
        (Smalltalk at: #S) listenOn: 0. #ok`);
      expect(t.stats("a").socketsOpen).toBe(1);
      await t.hv.stop("a");
      expect(t.stats("a").socketsOpen).toBe(0);
      await t.hv.start("a");
      expect(await t.run("a", "(Smalltalk at: #S) isValid")).toBe("false");
      expect(await t.run("a", "(Smalltalk at: #S) statusString")).toBe("'destroyed'");
      expect(await t.run("a", "[(Smalltalk at: #S) accept. #accepted] on: ConnectionClosed do: [:e | e return: #closed]")).toBe("#closed");
      expect(await t.run("a", "[(Smalltalk at: #F) nextPutAll: 'x'; flush. #written] on: FileClosed do: [:e | e return: #closed]")).toBe("#closed");
      await t.run("a", "(Smalltalk at: #S) destroy. (Smalltalk at: #F) close");
      expect(t.stats("a")).toMatchObject({ socketsOpen: 0, socketsOpened: 1 });
      expect(await t.run("a", "Socket newTCP isValid")).toBe("true");
    } finally {
      await t.close();
    }
  });
});

describe("the configuration's resources section", () => {
  it("sets the daemon's limits and refuses unknown fields and bad values", () => {
    const c = validateConfig({ resources: { maxSockets: 100, guestMaxSockets: 10, listenAddresses: ["127.0.0.1"] } });
    expect(c.resources).toEqual({ maxSockets: 100, guestMaxSockets: 10, listenAddresses: ["127.0.0.1"] });
    expect(validateConfig({}).resources).toBeUndefined();
    const bad = (doc: unknown) => {
      try {
        validateConfig(doc);
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    };
    expect(bad({ resources: { maxSocket: 1 } })?.field).toBe("resources.maxSocket");
    expect(bad({ resources: { maxSockets: -1 } })?.message).toMatch(/resources.maxSockets: must be a whole number/);
    expect(bad({ resources: { listenAddresses: "any" } })?.field).toBe("resources.listenAddresses");
    expect(bad({ resources: 5 })?.field).toBe("resources");
  });
});
