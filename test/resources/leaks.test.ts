/**
 * The leak test of issue 6: guests open and drop thousands of sockets and files at once, and the daemon's
 * open file descriptors (counted from /proc/self/fd) come back to where they started.
 *
 * Four guests run in one hypervisor: `server` accepts connections (and drops them at the end); `a` and `b` connect to
 * it and open files, 100 of each at a time, and drop them all (no close, no destroy), then collect
 * garbage so that their own finalization processes close them (finalizedByImage); `broken` does the same
 * with its finalization process terminated, so that only the host's backstop (a WeakHandle on each
 * Socket and FileStream) closes them (finalizedByHost).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, openFds } from "./harness.js";
import { openTestHypervisor, type TestHypervisor } from "./hv.js";

const ROUNDS = 5;
const BATCH = 100;
const CLIENTS = ["a", "b", "broken"];

let t: TestHypervisor;

beforeAll(async () => {
  t = await openTestHypervisor({
    maxSockets: 4096, guestMaxSockets: 2048, maxOpenFiles: 4096, guestMaxOpenFiles: 1024, finalizationGraceMs: 2000,
  });
});

afterAll(async () => {
  await t?.close();
});

/** One client's work: ROUNDS times, BATCH connections and BATCH open files, all dropped, then a collection. */
function churn(port: number): string {
  return `
    1 to: ${ROUNDS} do: [:round | | sockets files |
      sockets := (1 to: ${BATCH}) collect: [:i | Socket newTCP connectTo: '127.0.0.1' port: ${port}; yourself].
      sockets do: [:s | s waitForConnectionFor: 10].
      files := (1 to: ${BATCH}) collect: [:i | (File named: 'leak-', i printString) writeStream nextPutAll: 'x'; yourself].
      sockets := nil.
      files := nil.
      Smalltalk garbageCollect].
    Smalltalk garbageCollect.
    #done`;
}

it("guests open and drop thousands of sockets and files at once; the descriptors come back, finalized by the images or by the host", async () => {
  await t.start("server", { maxSockets: 2048 });
  for (const name of CLIENTS) await t.start(name);
  // the broken guest's finalization process is gone
  expect(await t.run("broken", "WeakRegistry finalizationProcess terminate. WeakRegistry finalizationProcess isTerminated")).toBe("true");
  // every guest has run and opened its files directory and changes file: this is where the count starts
  for (const name of CLIENTS) await t.run(name, "(File named: 'warm-up') contents: 'x'. Smalltalk garbageCollect");
  const baseline = openFds();

  // the server keeps what it accepts until the clients are done (so that each client's socket holds its
  // connection until the client's finalization, or the host, closes it), then drops it all
  const port = Number(await t.run("server", `| listener accepted |
    listener := Socket newTCP.
    listener listenOn: 0 backlogSize: 1024.
    accepted := OrderedCollection new.
    Smalltalk at: #Listener put: listener; at: #Accepted put: accepted.
    [[listener isWaitingForConnection] whileTrue: [
       (listener waitForAcceptFor: 1) ifNotNil: [:connection | accepted add: connection]]]
         forkAt: Processor userBackgroundPriority.
    listener localPort`));
  expect(openFds()).toBe(baseline + 1);

  const results = await Promise.all(CLIENTS.map((name) => t.run(name, churn(port), 120_000)));
  expect(results).toEqual(CLIENTS.map(() => "#done"));

  // every client's sockets and files are closed, by its finalization or by the host's backstop, while
  // the server still holds the other ends (so that no connection ends by itself before)
  for (const name of CLIENTS) {
    const account = t.resources.get(name)!;
    await eventually(() => account.socketsOpen === 0 && account.filesOpen === 0, 20_000, `${name} to hold nothing`);
  }

  // the server drops what it accepted too; then its listener goes
  const connections = CLIENTS.length * ROUNDS * BATCH;
  for (let accepted = 0; accepted < connections; ) {
    accepted = Number(await t.run("server", "(Delay forMilliseconds: 20) wait. (Smalltalk at: #Accepted) size"));
  }
  await t.run("server", "Smalltalk at: #Accepted put: nil. (Smalltalk at: #Listener) destroy. Smalltalk garbageCollect");
  await eventually(() => openFds() === baseline, 20_000, `the open descriptors to come back to ${baseline} (now ${openFds()})`);

  const total = ROUNDS * BATCH;
  for (const name of CLIENTS) {
    const s = t.resources.get(name)!.stats();
    expect(s.socketsOpened, name).toBe(total);
    expect(s.filesOpened, name).toBe(total + 1);
    expect(s.finalizedByImage + s.finalizedByHost, name).toBe(2 * total);
    const stats = t.stats(name);
    expect(stats.finalizedByImage + stats.finalizedByHost, name).toBe(2 * total);
  }
  // the healthy guests finalized their own; the broken one's were closed by the host
  for (const name of ["a", "b"]) expect(t.resources.get(name)!.finalizedByImage, name).toBe(2 * total);
  expect(t.resources.get("broken")!.stats()).toMatchObject({ finalizedByImage: 0, finalizedByHost: 2 * total });
  const server = t.stats("server");
  expect(server.socketsOpened).toBe(CLIENTS.length * total + 1);
  expect(server.socketsOpen).toBe(0);
  expect(t.resources.socketsOpen).toBe(0);
  expect(t.resources.filesOpen).toBe(0);
}, 180_000);
