/**
 * The event feed (Hypervisor.Watch): state changes, Transcript output, errors, guests defined and
 * undefined, with filters, on both transports; unsubscribing stops it; a server shutdown ends it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HypervisorEvent } from "../../src/hypervisor/types.js";
import { Status } from "../../src/remote/errors.js";
import { startFixture, TOKENS, type Fixture } from "./helpers.js";
import { RawWs } from "./raw.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture({ guests: ["alpha", "beta"] });
});
afterAll(async () => {
  await fx?.close();
});

async function until(events: HypervisorEvent[], pred: (e: HypervisorEvent) => boolean, ms = 5000): Promise<HypervisorEvent> {
  const deadline = Date.now() + ms;
  for (;;) {
    const e = events.find(pred);
    if (e) return e;
    if (Date.now() > deadline) throw new Error(`no such event in ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe("events", () => {
  for (const t of ["grpc", "ws"] as const) {
    it(`${t}: state changes, Transcript output, defined and undefined, filtered; unsubscribe stops the feed`, async () => {
      const oz = await fx.connect(t, TOKENS.read);
      const control = await fx.connect(t, TOKENS.control);
      const all: HypervisorEvent[] = [];
      const onlyBeta: HypervisorEvent[] = [];
      const onlyTranscript: HypervisorEvent[] = [];
      const stopAll = oz.hypervisor.subscribe((e) => all.push(e));
      const stopBeta = oz.hypervisor.subscribe((e) => onlyBeta.push(e), { guests: ["beta"] });
      const stopTranscript = oz.hypervisor.subscribe((e) => onlyTranscript.push(e), { types: ["transcript"] });
      await settle();

      await control.hypervisor.start("alpha");
      expect(await until(all, (e) => e.type === "state" && e.state === "running")).toMatchObject({ guest: "alpha", reason: "booted" });
      const r = await control.space("alpha").evaluate(`Transcript show: 'hello from ${t}'; cr`);
      expect(r.ok).toBe(true);
      const text = await until(onlyTranscript, (e) => e.type === "transcript" && e.text.includes(`hello from ${t}`));
      expect(text.guest).toBe("alpha");
      expect(typeof text.at).toBe("number");
      await control.hypervisor.suspend("alpha");
      await until(all, (e) => e.type === "state" && e.state === "paused" && e.reason === "user");
      await control.hypervisor.stop("alpha");
      await until(all, (e) => e.type === "state" && e.state === "shutoff");
      await control.hypervisor.define(`delta-${t}`);
      await until(all, (e) => e.type === "defined" && e.guest === `delta-${t}`);
      await control.hypervisor.destroy(`delta-${t}`);
      await until(all, (e) => e.type === "undefined" && e.guest === `delta-${t}`);
      expect(onlyBeta).toEqual([]);
      expect(onlyTranscript.every((e) => e.type === "transcript")).toBe(true);
      expect(await control.hypervisor.transcript("alpha")).toContain(`hello from ${t}`);

      await control.hypervisor.start("beta");
      await until(onlyBeta, (e) => e.type === "state" && e.state === "running");
      stopAll();
      stopBeta();
      stopTranscript();
      await settle();
      const seen = all.length;
      await control.hypervisor.stop("beta");
      await settle();
      expect(all.length).toBe(seen);
    });
  }

  it("WebSocket: a subscription is cancelled by id and ends with { end: true }", async () => {
    const raw = await RawWs.open(fx.url("ws"), { authorization: `Bearer ${TOKENS.read}` });
    try {
      raw.send({ id: 5, op: "Hypervisor.Watch", args: { guests: ["alpha"] } });
      await settle();
      await fx.hv.start("alpha");
      const item = await raw.next((m) => m.id === 5 && m.next);
      expect(item.next).toMatchObject({ type: "state", guest: "alpha", state: "running" });
      raw.send({ id: 6, op: "Hypervisor.Watch", args: {} });
      raw.send({ id: 6, op: "Hypervisor.Watch", args: {} });
      const dup = await raw.next((m) => m.id === 6 && m.error);
      expect(dup.error.status).toBe(Status.ALREADY_EXISTS);
      const cancelled = await raw.request(7, "cancel", { id: 5 });
      expect(cancelled.result).toEqual({});
      expect(await raw.next((m) => m.id === 5 && m.end)).toEqual({ id: 5, end: true });
      await fx.hv.stop("alpha");
      await settle();
      expect(raw.messages.filter((m) => m.id === 5)).toEqual([]);
    } finally {
      raw.close();
    }
  });

  it("a server shutdown ends the feed with an error the subscriber sees", async () => {
    const own = await startFixture({ guests: ["solo"] });
    const ends: Record<string, Error | undefined | "open"> = { grpc: "open", ws: "open" };
    for (const t of ["grpc", "ws"] as const) {
      const oz = await own.connect(t, TOKENS.read);
      oz.hypervisor.subscribe(() => undefined, { onEnd: (e) => (ends[t] = e) });
    }
    await settle();
    await own.close();
    const deadline = Date.now() + 5000;
    while ((ends.grpc === "open" || ends.ws === "open") && Date.now() < deadline) await settle();
    expect(ends.grpc).toMatchObject({ name: "RemoteError", code: "unavailable" });
    expect(ends.ws).toMatchObject({ name: "RemoteError", code: "unavailable" });
  });
});
