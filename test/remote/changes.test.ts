/**
 * Hypervisor.Changes: a guest's changes file, parsed on the server, answers the same entries over gRPC and
 * WebSocket as the local hypervisor does (the same fields in the same order, so tools print the same),
 * with a read token; since the last snapshot or all of them; a change cut short; an unknown guest.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HypervisorError } from "../../src/hypervisor/types.js";
import type { OzClient } from "../../src/remote/client/connect.js";
import { startFixture, TOKENS, type Fixture } from "./helpers.js";

let fx: Fixture;
const readers: Record<"grpc" | "ws", OzClient> = {} as never;

beforeAll(async () => {
  fx = await startFixture({ guests: ["alpha"] });
  readers.grpc = await fx.connect("grpc", TOKENS.read);
  readers.ws = await fx.connect("ws", TOKENS.read);
  // every kind of entry: methods (instance and class side, non-ASCII source), a class definition, a removal, a snapshot
  const space = fx.hv.space("alpha");
  const object = (await space.classNamed("Object"))!;
  await object.compile("greeting ^ 'héllo, wörld'", { category: "remote-changes" });
  await (await object.metaclass()).compile("answer ^ 42", { category: "remote-changes" });
  const thing = await object.defineSubclass({ name: "ChangesThing", instanceVariableNames: ["a"], classVariableNames: [], category: "Remote-Changes" });
  await thing.compile("a ^ a", { category: "accessing" });
  await fx.hv.snapshot("alpha");
  await object.removeMethod("greeting");
  await thing.compile("a: x a := x", { category: "accessing" });
});

afterAll(async () => {
  await fx?.close();
});

describe("Hypervisor.Changes", () => {
  for (const t of ["grpc", "ws"] as const) {
    it(`${t}: the local hypervisor's answer, with a read token (since the last snapshot, and all)`, async () => {
      const since = await readers[t].hypervisor.changes("alpha");
      expect(since).toEqual(fx.hv.changes("alpha"));
      expect(JSON.stringify(since)).toBe(JSON.stringify(fx.hv.changes("alpha")));
      expect(since.entries.map((e) => e.kind)).toEqual(["removeMethod", "method"]);
      expect(since.file).toBe(path.join(fx.hv.guestsDir, "alpha", "alpha.changes"));
      const all = await readers[t].hypervisor.changes("alpha", { all: true });
      expect(JSON.stringify(all)).toBe(JSON.stringify(fx.hv.changes("alpha", { all: true })));
      expect(all.entries.map((e) => e.kind)).toEqual(["method", "method", "classDefinition", "method", "snapshot", "removeMethod", "method"]);
      expect(all.entries[1]).toMatchObject({ kind: "method", className: "Object", classSide: true, selector: "answer", category: "remote-changes" });
      expect(all.truncated).toBe(false);
    });

    it(`${t}: an unknown guest is the local notFound error`, async () => {
      const e = await readers[t].hypervisor.changes("nosuch").then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(HypervisorError);
      expect(e).toMatchObject({ code: "notFound", message: 'no guest named "nosuch"' });
    });
  }

  it("a change cut short at the end of the file is left out and reported the same way on both transports", async () => {
    await fx.hv.define("cut");
    const file = path.join(fx.hv.guestsDir, "cut", "cut.changes");
    fs.appendFileSync(file, `"----CHANGE----2026-01-01T00:00:00.000Z----"!\nObject subclass: #Whole instanceVariableNames: '' classVariableNames: '' category: 'X'!\n\n"----CHANGE----2026-01-01T00:00:01.000Z----"!\n!Object methodsFor: 'x'!\nhalfWritten ^ `);
    const local = fx.hv.changes("cut");
    expect(local).toMatchObject({ truncated: true, entries: [{ kind: "classDefinition", className: "Whole" }] });
    expect(local.truncatedAt).toBeGreaterThan(0);
    for (const t of ["grpc", "ws"] as const) expect(JSON.stringify(await readers[t].hypervisor.changes("cut"))).toBe(JSON.stringify(local));
  });
});
