/**
 * The metrics of an in-process ozd (the plugins ozd loads, loopback, ephemeral ports) with guests that
 * compute, allocate, use sockets and wait: `/metrics` without a token, per-guest series that move as the
 * guests work, counters across a stop and a start, a destroyed guest's series removed, remote requests
 * over gRPC and WebSocket with their status codes, sessions and handles, histogram samples that other
 * readers do not steal, and `promtool check metrics` on the exposition.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type OzClient } from "../../src/remote/client/connect.js";
import { metricsOf } from "../../src/metrics/daemonPlugin.js";
import { defaultPlugins } from "../../src/hypervisor/plugins.js";
import { GUESTS, fetchText, parseExposition, requireBinary, startDaemon, waitFor, type Exposition } from "./helpers.js";

let d: Awaited<ReturnType<typeof startDaemon>>;

beforeAll(async () => {
  d = await startDaemon([GUESTS.busy, GUESTS.alloc, GUESTS.net, GUESTS.idle]);
});

afterAll(async () => {
  await d?.close();
});

async function scrape(): Promise<Exposition> {
  const r = await fetchText(d.url);
  expect(r.status).toBe(200);
  return parseExposition(r.text);
}

const v = (x: Exposition, name: string, labels: Record<string, string> = {}) => x.value(name, labels) ?? NaN;

describe("ozd's /metrics", () => {
  it("comes from a plugin ozd loads, set up after the remote services whose requests it counts", async () => {
    const names = (await defaultPlugins()).map((p) => p.name);
    expect(names).toContain("metrics");
    expect(names.indexOf("metrics")).toBeGreaterThan(names.indexOf("remote"));
  });

  it("is served without a token in the text format; HEAD too; other methods are refused", async () => {
    const r = await fetchText(d.url);
    expect(r.status).toBe(200);
    expect(r.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(r.text).toContain("# TYPE oz_guest_cpu_seconds_total counter");
    expect(metricsOf(d.daemon)).toBeDefined();
    const head = await fetch(d.url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await fetch(d.url, { method: "POST" });
    expect(post.status).toBe(405);
  });

  it("has series for every guest that move as the guests work", async () => {
    const a = await scrape();
    for (const guest of ["busy", "alloc", "net", "idle"]) {
      expect(v(a, "oz_guest_state", { guest, state: "running" }), guest).toBe(1);
      expect(a.value("oz_guest_cpu_seconds_total", { guest }), guest).toBeDefined();
      expect(v(a, "oz_guest_heap_limit_bytes", { guest }), guest).toBeGreaterThan(0);
    }
    expect(v(a, "oz_guests", { state: "running" })).toBe(4);
    expect(v(a, "oz_guest_cpu_quota_seconds", { guest: "busy" })).toBe(0.1);
    expect(v(a, "oz_guest_cpu_period_seconds", { guest: "busy" })).toBe(0.2);
    expect(v(a, "oz_guest_heap_limit_bytes", { guest: "alloc" })).toBe(8 * 2 ** 20);
    expect(a.value("process_cpu_seconds_total")).toBeGreaterThan(0);

    const b = await waitFor(async () => {
      const x = await scrape();
      const moved =
        v(x, "oz_guest_cpu_throttled_periods_total", { guest: "busy" }) > v(a, "oz_guest_cpu_throttled_periods_total", { guest: "busy" }) &&
        // the time throttled grows (during a throttle, and when it ends)
        v(x, "oz_guest_cpu_throttled_seconds_total", { guest: "busy" }) > v(a, "oz_guest_cpu_throttled_seconds_total", { guest: "busy" }) &&
        v(x, "oz_guest_gc_collections_total", { guest: "alloc" }) > v(a, "oz_guest_gc_collections_total", { guest: "alloc" }) + 2 &&
        v(x, "oz_guest_sockets_opened_total", { guest: "net" }) > v(a, "oz_guest_sockets_opened_total", { guest: "net" }) + 2;
      return moved && x;
    }, "the guests' counters to move", 20_000, 200);
    for (const name of ["oz_guest_cpu_seconds_total", "oz_guest_bytecodes_total", "oz_guest_slices_total"]) {
      expect(v(b, name, { guest: "busy" }), name).toBeGreaterThan(v(a, name, { guest: "busy" }));
    }
    // busy's loop is inlined arithmetic; alloc sends
    expect(v(b, "oz_guest_sends_total", { guest: "alloc" })).toBeGreaterThan(v(a, "oz_guest_sends_total", { guest: "alloc" }));
    // the quota holds: busy used at most its share (plus one overrunning slice per period)
    expect(v(b, "oz_guest_cpu_seconds_total", { guest: "busy" }) / v(b, "oz_guest_uptime_seconds", { guest: "busy" })).toBeLessThan(0.7);
    expect(v(b, "oz_guest_gc_duration_seconds_count", { guest: "alloc" })).toBeGreaterThan(v(a, "oz_guest_gc_duration_seconds_count", { guest: "alloc" }));
    expect(v(b, "oz_guest_gc_duration_seconds_sum", { guest: "alloc" })).toBeGreaterThan(0);
    expect(v(b, "oz_guest_heap_used_bytes", { guest: "alloc" })).toBeGreaterThan(v(b, "oz_guest_heap_used_bytes", { guest: "idle" }));
    expect(v(b, "oz_guest_network_transmit_bytes_total", { guest: "net" })).toBeGreaterThan(v(a, "oz_guest_network_transmit_bytes_total", { guest: "net" }));
    expect(v(b, "oz_guest_network_receive_bytes_total", { guest: "net" })).toBeGreaterThan(v(a, "oz_guest_network_receive_bytes_total", { guest: "net" }));
    expect(v(b, "oz_guest_sockets_open", { guest: "net" })).toBeGreaterThanOrEqual(1); // its listener
    expect(v(b, "oz_daemon_sockets_open")).toBeGreaterThanOrEqual(1);
    expect(v(b, "oz_daemon_sockets_limit")).toBe(1024);
    expect(v(b, "oz_daemon_files_limit")).toBeGreaterThan(0);
    expect(v(b, "oz_daemon_files_open")).toBeGreaterThanOrEqual(0);
    expect(v(b, "oz_daemon_refused_total", { resource: "files" })).toBe(0);
    // the idle guest costs nothing: it waits
    expect(v(b, "oz_guest_cpu_seconds_total", { guest: "idle" }) - v(a, "oz_guest_cpu_seconds_total", { guest: "idle" })).toBeLessThan(0.05);
    expect(v(b, "oz_guest_processes", { guest: "idle", state: "waiting" })).toBeGreaterThan(0);
    expect(v(b, "oz_guest_uptime_seconds", { guest: "idle" })).toBeGreaterThan(v(a, "oz_guest_uptime_seconds", { guest: "idle" }));
    // the scheduler
    expect(v(b, "oz_scheduler_slice_duration_seconds_count")).toBeGreaterThan(v(a, "oz_scheduler_slice_duration_seconds_count"));
    expect(v(b, "oz_scheduler_heartbeat_lateness_seconds_count")).toBeGreaterThan(0);
    expect(v(b, "oz_scheduler_guest_switches_total")).toBeGreaterThan(v(a, "oz_scheduler_guest_switches_total"));
    expect(v(b, "oz_metrics_scrape_duration_seconds")).toBeGreaterThan(0);
  });

  it("slice samples reach the histogram even when /v1/daemon reads them in between", async () => {
    const before = v(await scrape(), "oz_scheduler_slice_duration_seconds_count");
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`http://${d.daemon.httpAddress}/v1/daemon`, { headers: { authorization: `Bearer ${d.daemon.token}` } });
    const seen = ((await res.json()) as { stats: { slicesMs: number[] } }).stats.slicesMs.length;
    expect(seen).toBeGreaterThan(0);
    const after = v(await scrape(), "oz_scheduler_slice_duration_seconds_count");
    expect(after - before).toBeGreaterThanOrEqual(seen);
  });

  it("keeps counters across a stop and a start (the socket figures read 0 while the guest is shut off)", async () => {
    const hv = d.daemon.hypervisor;
    await waitFor(() => hv.info("net").stats.socketsOpened > 0, "net to open sockets");
    const a = await scrape();
    await hv.stop("net");
    const b = await scrape();
    expect(v(b, "oz_guest_state", { guest: "net", state: "shutoff" })).toBe(1);
    expect(v(b, "oz_guest_uptime_seconds", { guest: "net" })).toBe(0);
    expect(v(b, "oz_guest_sockets_open", { guest: "net" })).toBe(0);
    expect(v(b, "oz_guests", { state: "shutoff" })).toBe(1);
    for (const name of ["oz_guest_sockets_opened_total", "oz_guest_network_receive_bytes_total", "oz_guest_cpu_seconds_total", "oz_guest_bytecodes_total"]) {
      expect(v(b, name, { guest: "net" }), name).toBeGreaterThanOrEqual(v(a, name, { guest: "net" }));
    }
    await hv.start("net");
    const c = await waitFor(async () => {
      const x = await scrape();
      return v(x, "oz_guest_sockets_opened_total", { guest: "net" }) > v(b, "oz_guest_sockets_opened_total", { guest: "net" }) && x;
    }, "net to open sockets again");
    expect(v(c, "oz_guest_state", { guest: "net", state: "running" })).toBe(1);
    expect(v(c, "oz_guest_network_receive_bytes_total", { guest: "net" })).toBeGreaterThanOrEqual(v(b, "oz_guest_network_receive_bytes_total", { guest: "net" }));
  });

  it("removes a guest's series when it is destroyed; defined again, its counters start from zero", async () => {
    const hv = d.daemon.hypervisor;
    await hv.define("temp", { config: { startup: "| n | n := 0. 200000 timesRepeat: [n := n + 1]" } });
    await hv.start("temp");
    await waitFor(() => hv.info("temp").stats.bytecodes > 1_000_000, "temp to compute");
    const a = await scrape();
    const series = (x: Exposition) => [...x.samples.keys()].filter((k) => k.includes('guest="temp"'));
    expect(series(a).length).toBeGreaterThan(40);
    expect(v(a, "oz_guest_bytecodes_total", { guest: "temp" })).toBeGreaterThan(1_000_000);
    await hv.destroy("temp");
    const b = await scrape();
    expect(series(b)).toEqual([]);
    expect(series(b).length).toBe(0);
    await hv.define("temp");
    const c = await scrape();
    expect(v(c, "oz_guest_bytecodes_total", { guest: "temp" })).toBe(0);
    expect(v(c, "oz_guest_state", { guest: "temp", state: "shutoff" })).toBe(1);
    await hv.destroy("temp");
  });

  it("counts remote requests by transport, method and code; sessions and handles", async () => {
    const clients: OzClient[] = [];
    try {
      const a = await scrape();
      const count = (x: Exposition, transport: string, method: string, code: string) => x.value("oz_remote_requests_total", { transport, method, code }) ?? 0;
      const grpc = await connect(`grpc://${d.daemon.grpcAddress}`, d.daemon.token);
      const ws = await connect(`ws://${d.daemon.httpAddress}/ws`, d.daemon.token);
      clients.push(grpc, ws);
      for (const oz of [grpc, ws]) {
        const r = await oz.space("idle").evaluate("3 + 4");
        expect(r.ok && r.printString).toBe("7");
        await expect(oz.space("nobody").nilObject()).rejects.toMatchObject({ code: "notFound" });
        await oz.space("idle").classNamed("Object");
      }
      await expect(connect(`grpc://${d.daemon.grpcAddress}`, "not-a-token")).rejects.toMatchObject({ code: "unauthenticated" });
      await expect(connect(`ws://${d.daemon.httpAddress}/ws`, "not-a-token", { wsAuthMessage: true })).rejects.toBeDefined();
      const b = await scrape();
      for (const transport of ["grpc", "ws"]) {
        expect(count(b, transport, "ObjectSpace.Evaluate", "OK") - count(a, transport, "ObjectSpace.Evaluate", "OK"), transport).toBe(1);
        expect(count(b, transport, "ObjectSpace.NilObject", "NOT_FOUND") - count(a, transport, "ObjectSpace.NilObject", "NOT_FOUND"), transport).toBe(1);
        expect(v(b, "oz_remote_request_duration_seconds_count", { transport, method: "ObjectSpace.Evaluate" }), transport).toBeGreaterThanOrEqual(1);
        expect(v(b, "oz_remote_sessions", { transport }), transport).toBeGreaterThanOrEqual(1);
        expect(v(b, "oz_remote_handles", { transport }), transport).toBeGreaterThanOrEqual(2);
      }
      expect(count(b, "grpc", "ObjectSpace.OpenSession", "UNAUTHENTICATED")).toBeGreaterThanOrEqual(1);
      expect(count(b, "ws", "auth", "UNAUTHENTICATED")).toBe(1);
      expect(v(b, "oz_remote_websocket_connections")).toBeGreaterThanOrEqual(1);
      expect(v(b, "oz_remote_requests_in_flight")).toBe(0);
      const methods = new Set(b.series("oz_remote_requests_total").map((l) => l.method));
      for (const m of methods) expect(m).toMatch(/^(Hypervisor|ObjectSpace)\.[A-Za-z]+$|^(auth|cancel|unknown)$/);

      await Promise.all(clients.splice(0).map((c) => c.close()));
      const c = await waitFor(async () => {
        const x = await scrape();
        return v(x, "oz_remote_sessions", { transport: "grpc" }) === 0 && v(x, "oz_remote_sessions", { transport: "ws" }) === 0 && x;
      }, "the sessions to close");
      expect(v(c, "oz_remote_handles", { transport: "grpc" }) + v(c, "oz_remote_handles", { transport: "ws" })).toBe(0);
      // streams count when they end: the gRPC client's KeepSession, ended by its CloseSession
      expect(count(c, "grpc", "ObjectSpace.CloseSession", "OK") - count(a, "grpc", "ObjectSpace.CloseSession", "OK")).toBe(1);
      expect(count(c, "grpc", "ObjectSpace.KeepSession", "OK") - count(a, "grpc", "ObjectSpace.KeepSession", "OK")).toBe(1);
      expect(c.value("oz_remote_request_duration_seconds_count", { transport: "grpc", method: "ObjectSpace.KeepSession" })).toBeUndefined();
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
    }
  });

  it("passes promtool check metrics", async () => {
    const promtool = requireBinary("promtool");
    if (!promtool) return;
    const { text } = await fetchText(d.url);
    expect(text).toContain("oz_remote_requests_total{");
    const r = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8", timeout: 20_000 });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
    expect(r.status).toBe(0);
  });
});
