/**
 * Every resource limit, driven by a guest running in the hypervisor: the guest's view (a Smalltalk error
 * it handles, or what it observes) and the host's (the counters in GuestStats and the daemon's figures),
 * and that the other guests are not affected. docs/resources.md lists the limits and counters tested
 * here.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "./harness.js";
import { openTestHypervisor, type TestHypervisor } from "./hv.js";

const open: TestHypervisor[] = [];
async function daemon(limits: Parameters<typeof openTestHypervisor>[0] = {}): Promise<TestHypervisor> {
  const t = await openTestHypervisor(limits);
  open.push(t);
  return t;
}

afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

/** Opens sockets until the guest is refused; answers {opened, errorClass, daemonLimit, kind, text} and keeps them in Kept. */
const OPEN_UNTIL_REFUSED = `
  | opened error |
  opened := OrderedCollection new.
  error := [[opened add: Socket newTCP] repeat] on: SocketQuotaExceeded do: [:e | e return: e].
  Smalltalk at: #Kept put: opened.
  {opened size. error class name asString. error isDaemonLimit. error kind asString. error messageText}`;

describe("sockets", () => {
  it("a guest's socket quota: SocketQuotaExceeded in the guest, counted by the host, the other guests unaffected", async () => {
    const t = await daemon();
    await t.start("a", { maxSockets: 5 });
    await t.start("b", { maxSockets: 5 });
    const [opened, errorClass, daemonLimit, kind, text] = (await t.value("a", OPEN_UNTIL_REFUSED)) as [number, string, boolean, string, string];
    expect([opened, errorClass, daemonLimit, kind]).toEqual([5, "SocketQuotaExceeded", false, "quotaExceeded"]);
    expect(text).toMatch(/socket quota exceeded: guest 'a' may hold 5 sockets/);
    expect(t.stats("a")).toMatchObject({ socketsOpen: 5, socketsOpened: 5, socketsRefused: 1 });
    // b has its own quota
    expect(((await t.value("b", OPEN_UNTIL_REFUSED)) as unknown[])[0]).toBe(5);
    expect(t.stats("b")).toMatchObject({ socketsOpen: 5, socketsRefused: 1 });
    // destroying gives the sockets back
    await t.run("a", "(Smalltalk at: #Kept) do: [:s | s destroy]. Socket newTCP destroy");
    expect(t.stats("a")).toMatchObject({ socketsOpen: 0, socketsOpened: 6, socketsRefused: 1 });
    expect(t.hv.daemonStats()).toMatchObject({ socketsOpen: 5, socketsLimit: 1024 });
  });

  it("the daemon's limit (the paper's 100 sockets): a greedy guest cannot starve the others", async () => {
    const t = await daemon({ maxSockets: 100, reservedSocketsPerGuest: 10, guestMaxSockets: 100 });
    for (const name of ["greedy", "b", "c"]) await t.start(name);
    const [opened, errorClass, daemonLimit, , text] = (await t.value("greedy", OPEN_UNTIL_REFUSED)) as [number, string, boolean, string, string];
    // 100 in all, 10 kept for each of the two others
    expect([opened, errorClass, daemonLimit]).toEqual([80, "SocketQuotaExceeded", true]);
    expect(text).toBe("daemon socket limit reached: 80 of 100 sockets are open and 20 are kept in reserve for other guests");
    expect(t.stats("greedy")).toMatchObject({ socketsOpen: 80, socketsRefused: 1 });
    // the others still get their reserve, and then the daemon is full
    const b = (await t.value("b", OPEN_UNTIL_REFUSED)) as [number, string, boolean];
    const c = (await t.value("c", OPEN_UNTIL_REFUSED)) as [number, string, boolean];
    expect([b[0], b[2], c[0], c[2]]).toEqual([10, true, 10, true]);
    expect(t.hv.daemonStats()).toMatchObject({ socketsOpen: 100, socketsLimit: 100 });
    expect(t.resources.stats()).toMatchObject({ socketsOpen: 100, socketsLimit: 100 });
    // greedy gives some back: the next guest to ask gets them
    await t.run("greedy", "(Smalltalk at: #Kept) do: [:s | s destroy]");
    expect(await t.run("b", "Socket newTCP isValid")).toBe("true");
    expect(t.resources.socketsOpen).toBe(21);
  });

  it("connections arriving over a listening guest's quota are refused by the host; the guest accepts the others", async () => {
    const t = await daemon();
    await t.start("server", { maxSockets: 3 });
    const port = Number(await t.run("server", "| l | l := Socket newTCP. l listenOn: 0 backlogSize: 8. Smalltalk at: #L put: l. l localPort"));
    const clients = [1, 2, 3].map(() => net.connect(port, "127.0.0.1"));
    const closed = clients.map((c) => new Promise<void>((resolve) => c.on("close", () => resolve())).then(() => c));
    for (const c of clients) c.on("error", () => undefined);
    // the listener and two connections fill the quota of 3: the third connection is closed by the host
    await Promise.race(closed);
    await eventually(() => t.stats("server").socketsRefused === 1, 5000, "the refused connection to be counted");
    const accepted = await t.run("server", `| a | a := OrderedCollection new.
      2 timesRepeat: [a add: ((Smalltalk at: #L) waitForAcceptFor: 5)].
      a do: [:s | s sendData: 'hi'].
      (a select: [:s | s isConnected]) size`);
    expect(accepted).toBe("2");
    expect(t.stats("server")).toMatchObject({ socketsOpen: 3, socketsRefused: 1 });
    // and making one more signals the quota error in the guest
    expect(await t.run("server", "[Socket newTCP. #made] on: SocketQuotaExceeded do: [:e | e return: #refused]")).toBe("#refused");
    for (const c of clients) c.destroy();
  });

  it("bytes in and out are counted per guest", async () => {
    const t = await daemon();
    await t.start("a");
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      expect(await t.run("a", `| s r | s := Socket newTCP. s connectTo: '127.0.0.1' port: ${port}. s waitForConnectionFor: 5.
        s sendData: (String new: 10000 withAll: $x).
        r := 0. [r < 10000] whileTrue: [r := r + s receiveData size].
        s closeAndDestroy. r`)).toBe("10000");
      expect(t.stats("a")).toMatchObject({ bytesOut: 10000, bytesIn: 10000, socketsOpened: 1 });
      // closed then destroyed: the slot comes back when the connection is gone
      await eventually(() => t.stats("a").socketsOpen === 0, 5000, "the connection to end");
    } finally {
      server.close();
    }
  });
});

describe("files", () => {
  it("a guest's file quota: FileQuotaExceeded in the guest, nothing written, fileBytes counted by the host", async () => {
    const t = await daemon();
    await t.start("a", { maxFileBytes: 100_000 });
    await t.start("b", { maxFileBytes: 100_000 });
    const result = await t.value("a", `| f error |
      f := File named: 'data.bin'.
      f contents: (String new: 60000 withAll: $a).
      error := [f appendContents: (String new: 60000 withAll: $b). nil] on: FileQuotaExceeded do: [:e | e return: e].
      {error class name asString. error isDaemonLimit. error messageText. f size}`);
    expect(result).toEqual(["FileQuotaExceeded", false, expect.stringMatching(/file quota exceeded: writing data.bin would bring guest 'a' to 120000 bytes \(quota 100000\)/), 60000]);
    const file = path.join(t.dataDir, "guests", "a", "files", "data.bin");
    expect(fs.statSync(file).size).toBe(60000);
    expect(t.stats("a").fileBytes).toBe(60000);
    expect(t.stats("a").fileBytesWritten).toBe(60000);
    // b is not affected
    expect(await t.run("b", "(File named: 'x') contents: (String new: 90000 withAll: $x). (File named: 'x') size")).toBe("90000");
    // deleting gives the bytes back
    await t.run("a", "(File named: 'data.bin') delete");
    expect(t.stats("a").fileBytes).toBe(0);
    expect(t.stats("b").fileBytes).toBe(90000);
  });

  it("the file quota counts what the sandbox already holds when the guest starts", async () => {
    const t = await daemon();
    await t.hv.define("a", { config: { maxFileBytes: 1000 } });
    const dir = path.join(t.dataDir, "guests", "a", "files");
    fs.mkdirSync(path.join(dir, "old"), { recursive: true });
    fs.writeFileSync(path.join(dir, "old", "left.txt"), "x".repeat(900));
    await t.hv.start("a");
    expect(await t.run("a", "[(File named: 'new.txt') contents: (String new: 200 withAll: $y). #written] on: FileQuotaExceeded do: [:e | e return: #refused]")).toBe("#refused");
    expect(await t.run("a", "(File named: 'new.txt') contents: (String new: 100 withAll: $y). (File named: 'old/left.txt') size")).toBe("900");
    expect(t.stats("a").fileBytes).toBe(1000);
  });

  it("open files: a guest's quota and the daemon's limit", async () => {
    const t = await daemon({ guestMaxOpenFiles: 4, maxOpenFiles: 6, reservedSocketsPerGuest: 0 });
    await t.start("a");
    await t.start("b");
    const OPEN = `| opened error |
      opened := OrderedCollection new.
      error := [1 to: 10 do: [:i | opened add: (File named: 'f', i printString) writeStream]. nil]
        on: FileQuotaExceeded do: [:e | e return: e].
      Smalltalk at: #Open put: opened.
      {opened size. error isDaemonLimit}`;
    expect(await t.value("a", OPEN)).toEqual([4, false]);
    expect(await t.value("b", OPEN)).toEqual([2, true]);
    expect(t.resources.stats()).toMatchObject({ filesOpen: 6, filesLimit: 6, filesRefusedByLimit: 1 });
    expect(t.hv.daemonStats()).toMatchObject({ filesOpen: 6, filesLimit: 6, filesRefusedByLimit: 1, socketsRefusedByLimit: 0 });
    expect(t.resources.get("a")!.stats()).toMatchObject({ filesOpen: 4, filesRefused: 1 });
    // the same figures reach GuestStats (what oz ps and the metrics show)
    expect(t.stats("a")).toMatchObject({ filesOpen: 4, filesOpened: 4, filesRefused: 1 });
    await t.run("a", "(Smalltalk at: #Open) do: [:s | s close]");
    expect(await t.value("b", "| s | s := (File named: 'g') writeStream. s close. #ok")).toEqual(expect.anything());
    expect(t.resources.filesOpen).toBe(2);
  });

  it("the sandbox: absolute paths, '..' and symbolic links are refused with FileAccessDenied", async () => {
    const t = await daemon();
    await t.hv.define("a");
    const dir = path.join(t.dataDir, "guests", "a", "files");
    const secret = path.join(t.dataDir, "secret.txt");
    fs.writeFileSync(secret, "not for guests");
    fs.mkdirSync(dir, { recursive: true });
    fs.symlinkSync(secret, path.join(dir, "secret-link"));
    fs.symlinkSync(t.dataDir, path.join(dir, "dir-link"));
    await t.hv.start("a");
    const attempts = [
      `(File named: '${secret}') contents`,
      "(File named: '../../../secret.txt') contents",
      "(File named: 'a/../../x') contents: 'x'",
      "(File named: 'secret-link') contents",
      "(File named: 'secret-link') contents: 'overwritten'",
      "(File named: 'dir-link/secret.txt') contents",
      "File entriesIn: 'dir-link'",
      "(File named: 'dir-link/new.txt') contents: 'x'",
      "(File named: 'x') renameTo: '../x'",
    ];
    for (const source of attempts) {
      expect(await t.run("a", `[${source}. #allowed] on: FileAccessDenied do: [:e | e return: e kind]`), source).toBe("#accessDenied");
    }
    expect(fs.readFileSync(secret, "utf8")).toBe("not for guests");
    expect(fs.existsSync(path.join(t.dataDir, "new.txt"))).toBe(false);
    expect(t.resources.get("a")!.stats()).toMatchObject({ filesOpen: 0, filesOpened: 0 });
    // the symbolic links are not listed either
    expect(await t.value("a", "(File namesIn: '') asArray")).toEqual([]);
  });
});

describe("memory and CPU", () => {
  it("the heap limit: an allocation past it signals OutOfMemory, which the guest handles; heap figures by the host", async () => {
    const t = await daemon();
    const limit = 32 * 1024 * 1024;
    await t.start("a", { memoryLimitBytes: limit });
    await t.start("b");
    // 6 MB at a time, until one does not fit under the limit (well before the heap is full)
    const result = (await t.value("a", `| keep r |
      keep := OrderedCollection new.
      r := [[keep add: (Array new: 1500000)] repeat] on: OutOfMemory do: [:e | e return: keep size].
      Smalltalk at: #Keep put: keep.
      r`, 60_000)) as number;
    expect(result).toBeGreaterThanOrEqual(3);
    let stats = t.stats("a");
    expect(stats.heapLimitBytes).toBe(limit);
    expect(stats.heapBytes).toBeGreaterThan(result * 6_000_000);
    // the one that failed would not have fitted
    expect(stats.heapBytes + 6_000_012).toBeGreaterThan(limit);
    expect(stats.heapBytes).toBeLessThanOrEqual(limit);
    await t.run("a", "Smalltalk at: #Keep put: nil. Smalltalk garbageCollect");
    stats = t.stats("a");
    expect(stats.heapBytes).toBeLessThan(limit / 4);
    expect(stats.gcCount).toBeGreaterThan(0);
    expect(t.hv.info("a").state).toBe("running");
    expect(t.stats("b").heapLimitBytes).toBeGreaterThan(limit);
    expect(t.stats("b").heapBytes).toBeLessThan(limit / 4);
  });

  it("a guest that fills its heap with live objects crashes out of memory; the others run on and its sockets are closed", async () => {
    const t = await daemon();
    await t.start("a", { memoryLimitBytes: 16 * 1024 * 1024 });
    await t.start("b");
    await t.run("a", "Smalltalk at: #Held put: Socket newTCP");
    expect(t.stats("a").socketsOpen).toBe(1);
    // a process of its own (not a host evaluation, whose failure would only fail the evaluation)
    await t.run("a", "[| keep | keep := OrderedCollection new. [keep add: (Array new: 1000)] repeat] fork");
    await eventually(() => t.hv.info("a").state === "crashed", 60_000, "the guest to crash");
    // the low-space watcher's OutOfMemory nobody handled, or the hypervisor's heap watchdog
    expect(["unhandledError", "outOfMemory"]).toContain(t.hv.info("a").reason);
    expect(t.stats("a").socketsOpen).toBe(0);
    expect(await t.run("b", "3 + 4")).toBe("7");
  });

  it("garbage collections are charged to the guest that caused them", async () => {
    const t = await daemon();
    await t.start("a");
    await t.start("b");
    const before = t.stats("b").gcCount;
    await t.run("a", "1 to: 200 do: [:i | Array new: 10000]. 1 to: 3 do: [:i | Smalltalk garbageCollect]");
    const a = t.stats("a");
    expect(a.gcCount).toBeGreaterThanOrEqual(3);
    expect(a.gcMs).toBeGreaterThan(0);
    expect(t.stats("b").gcCount).toBe(before);
  });

  it("a CPU quota: the guest sees its work take longer, the host counts throttled periods and time", async () => {
    const t = await daemon();
    await t.start("a", { cpu: { quotaMs: 20, periodMs: 100 } });
    await t.start("b");
    // a loop of some 100 ms of CPU, at 20 ms per 100 ms: the guest sees it take several times longer
    const elapsed = Number(await t.run("a", `| start n | start := Time millisecondClockValue. n := 0.
      [Time millisecondClockValue - start < 5000 and: [n < 1000000]] whileTrue: [n := n + 1].
      Time millisecondClockValue - start`, 60_000));
    const a = t.stats("a");
    expect(a.throttledPeriods).toBeGreaterThan(0);
    expect(a.throttledMs).toBeGreaterThan(0);
    expect(a.cpuMs).toBeGreaterThan(0);
    expect(a.cpuMs).toBeLessThan(elapsed * 0.5);
    expect(a.bytecodes).toBeGreaterThan(1_000_000);
    expect(a.sends).toBeGreaterThan(0);
    expect(t.stats("b").throttledPeriods).toBe(0);
  });
});

describe("stop, destroy and crash release everything", () => {
  const OPEN_SOME = (port: number) => `| l c s |
    l := Socket newTCP. l listenOn: 0 backlogSize: 4.
    c := Socket newTCP. c connectTo: '127.0.0.1' port: l localPort. c waitForConnectionFor: 5.
    s := l waitForAcceptFor: 5.
    Smalltalk at: #Held put: {l. c. s. Socket newTCP connectTo: '127.0.0.1' port: ${port}; yourself. (File named: 'held.txt') writeStream}.
    l localPort`;

  async function hostServer(): Promise<{ port: number; peers: net.Socket[]; close(): void }> {
    const peers: net.Socket[] = [];
    const server = net.createServer((s) => {
      peers.push(s);
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { port: (server.address() as net.AddressInfo).port, peers, close: () => server.close() };
  }

  for (const how of ["stop", "destroy", "crash"] as const) {
    it(`${how}: every socket and file of the guest is closed; the others keep theirs`, async () => {
      const t = await daemon();
      const server = await hostServer();
      try {
        await t.start("victim");
        await t.start("bystander");
        await t.run("victim", OPEN_SOME(server.port));
        await t.run("bystander", OPEN_SOME(server.port));
        await eventually(() => server.peers.length === 2, 5000, "both guests to connect to the host's server");
        expect(t.stats("victim")).toMatchObject({ socketsOpen: 4 });
        expect(t.resources.get("victim")!.stats()).toMatchObject({ filesOpen: 1 });
        const victimPeer = server.peers[0];
        const peerClosed = new Promise<void>((r) => victimPeer.on("close", () => r()));
        if (how === "stop") await t.hv.stop("victim");
        else if (how === "destroy") await t.hv.destroy("victim");
        else await t.run("victim", "[1/0] fork. (Delay forMilliseconds: 50) wait").catch(() => undefined);
        if (how === "crash") await eventually(() => t.hv.info("victim").state === "crashed", 5000, "the guest to crash");
        await peerClosed;
        const account = t.resources.get("victim");
        if (how !== "destroy") expect(account!.stats()).toMatchObject({ socketsOpen: 0, filesOpen: 0 });
        else expect(account).toBeUndefined();
        expect(t.resources.socketsOpen).toBe(4);
        expect(t.resources.filesOpen).toBe(1);
        // the bystander's connections still work
        expect(await t.run("bystander", "| h | h := Smalltalk at: #Held. (h at: 2) sendData: 'still here'. (h at: 3) receiveData")).toBe("'still here'");
        if (how === "crash") {
          // surgery is possible and the guest sees its sockets closed
          expect(await t.run("victim", "[(Smalltalk at: #Held) second sendData: 'x'. #sent] on: NetworkError do: [:e | e return: e class name]")).toBe("#ConnectionClosed");
        }
      } finally {
        server.close();
      }
    });
  }
});
