/**
 * The exporter against a scripted hypervisor (no VM): names and help texts by Prometheus's conventions
 * and listed in docs/metrics.md, counters that never go down whatever the figures do, histograms fed once
 * from the drained samples, per-guest series removed when a guest is undefined, remote requests by
 * transport, method and status code, and Node's process metrics.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { DaemonStats, GuestConfig, GuestInfo, GuestState, GuestStats, HypervisorEvent, StateReason } from "../../src/hypervisor/types.js";
import { OzMetrics, type MetricsSource, type RemoteView } from "../../src/metrics/exporter.js";
import { parseExposition } from "./helpers.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function stats(extra: Partial<GuestStats> = {}): GuestStats {
  return {
    cpuMs: 0, bytecodes: 0, sends: 0, slices: 0, throttledPeriods: 0, throttledMs: 0, heapBytes: 0, heapLimitBytes: 0, gcCount: 0, gcMs: 0,
    processes: { running: 0, runnable: 0, waiting: 0, suspended: 0, failed: 0 }, socketsOpen: 0, socketsOpened: 0, socketsRefused: 0,
    bytesIn: 0, bytesOut: 0, finalizedByImage: 0, finalizedByHost: 0, fileBytes: 0, filesOpen: 0, filesOpened: 0, filesRefused: 0,
    fileBytesRead: 0, fileBytesWritten: 0, uptimeMs: 0, ...extra,
  };
}

/** A hypervisor whose figures the test sets. */
class ScriptedSource implements MetricsSource {
  guests = new Map<string, { state: GuestState; reason: StateReason; config: GuestConfig; stats: GuestStats }>();
  daemon: DaemonStats = { startedAt: 1_700_000_000_000, guestSwitches: 0, slicesMs: [], heartbeatLatenessMs: [], socketsOpen: 0, socketsLimit: 1024,
    filesOpen: 0, filesLimit: 1024, socketsRefusedByLimit: 0, filesRefusedByLimit: 0 };
  scrapes = 0;
  private readonly listeners = new Set<(e: HypervisorEvent) => void>();

  set(name: string, s: Partial<GuestStats>, state: GuestState = "running", config: Partial<GuestConfig> = {}, reason: StateReason = "booted"): void {
    this.guests.set(name, { state, reason, config: { name, ...config }, stats: stats(s) });
  }

  undefine(name: string): void {
    this.guests.delete(name);
    for (const l of this.listeners) l({ type: "undefined", guest: name, at: Date.now() });
  }

  scrape(): { daemon: DaemonStats; guests: GuestInfo[] } {
    this.scrapes++;
    const daemon = this.daemon;
    this.daemon = { ...daemon, slicesMs: [], heartbeatLatenessMs: [] };
    const guests = [...this.guests].map(([name, g]) => {
      const info: GuestInfo = { name, state: g.state, reason: g.reason, config: structuredClone(g.config), stats: structuredClone(g.stats) };
      g.stats.gcPausesMs = [];
      return info;
    });
    return { daemon, guests };
  }

  subscribe(listener: (e: HypervisorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}

async function scrape(m: OzMetrics) {
  return parseExposition(await m.metrics());
}

describe("metric names and help", () => {
  it("one oz_ prefix, base units, _total exactly on counters, help on every metric, all listed in docs/metrics.md", async () => {
    const src = new ScriptedSource();
    src.set("a", { cpuMs: 5, gcPausesMs: [1] }, "running", { cpu: { quotaMs: 100, periodMs: 1000 } });
    const remote: RemoteView = { sessions: { all: () => [{ transport: "ws", size: 3 }] }, ws: { connectionCount: 1 }, activity: { inFlight: 0 } };
    const m = new OzMetrics({ source: src, remote: () => remote });
    m.requests.request("grpc", "Hypervisor.List", 0, 1, false);
    const x = await scrape(m);
    const docs = fs.readFileSync(path.join(root, "docs", "metrics.md"), "utf8");
    const families = [...x.types.keys()];
    const oz = families.filter((f) => f.startsWith("oz_"));
    expect(oz.length).toBeGreaterThan(30);
    for (const f of families) {
      expect(x.help.get(f), `${f} has help`).toMatch(/\S{3,}/);
      const type = x.types.get(f);
      if (type === "counter") expect(f, `counter ${f}`).toMatch(/_total$/);
      else expect(f, `${type} ${f}`).not.toMatch(/_total$/);
      expect(f).not.toMatch(/_(ms|milliseconds|kb|mb|kib|mib|percent)(_|$)/);
      expect(f).toMatch(/^[a-z][a-z0-9_]*$/);
    }
    for (const f of oz) {
      expect(f.indexOf("oz_", 1), `${f}: one prefix`).toBe(-1);
      expect(docs, `docs/metrics.md lists ${f}`).toContain(`\`${f}\``);
      // the unit the help text names is the unit in the name
      const help = x.help.get(f)!;
      if (/seconds/i.test(help)) expect(f, `${f}: ${help}`).toMatch(/_seconds(_total)?$/);
      if (/\bbytes\b/i.test(help)) expect(f, `${f}: ${help}`).toMatch(/_bytes(_total)?$/);
      if (/_seconds/.test(f)) expect(help, f).toMatch(/seconds/);
    }
    // every metric docs/metrics.md lists (in its tables) exists
    for (const [, name] of docs.matchAll(/^\| `(oz_[a-z0-9_]+)`/gm)) expect(families, `${name} (docs/metrics.md) is exported`).toContain(name);
    // Node's process metrics, without the gauges prom-client names *_total
    expect(families).toContain("process_cpu_seconds_total");
    expect(families).toContain("process_resident_memory_bytes");
    expect(families).toContain("nodejs_eventloop_lag_seconds");
    expect(families).not.toContain("nodejs_active_handles_total");
    m.close();
  });
});

describe("per-guest series", () => {
  it("counters follow the cumulative figures, in base units, and never go down", async () => {
    const src = new ScriptedSource();
    const m = new OzMetrics({ source: src, processMetrics: false });
    src.set("g", { cpuMs: 1500, throttledMs: 250, throttledPeriods: 2, bytecodes: 1000, sends: 10, socketsOpened: 5, bytesIn: 100, finalizedByHost: 1 });
    let x = await scrape(m);
    expect(x.value("oz_guest_cpu_seconds_total", { guest: "g" })).toBeCloseTo(1.5);
    expect(x.value("oz_guest_cpu_throttled_seconds_total", { guest: "g" })).toBeCloseTo(0.25);
    expect(x.value("oz_guest_cpu_throttled_periods_total", { guest: "g" })).toBe(2);
    expect(x.value("oz_guest_sockets_opened_total", { guest: "g" })).toBe(5);
    expect(x.value("oz_guest_network_receive_bytes_total", { guest: "g" })).toBe(100);
    expect(x.value("oz_guest_finalizations_total", { guest: "g", by: "host" })).toBe(1);
    expect(x.value("oz_guest_finalizations_total", { guest: "g", by: "image" })).toBe(0);
    expect(x.value("oz_guest_sockets_refused_total", { guest: "g" })).toBe(0);

    // stopped: the socket figures read 0 (no VM), the guest's own figures stay
    src.set("g", { cpuMs: 1600, throttledMs: 250, throttledPeriods: 2, bytecodes: 1200, sends: 10 }, "shutoff");
    x = await scrape(m);
    expect(x.value("oz_guest_cpu_seconds_total", { guest: "g" })).toBeCloseTo(1.6);
    expect(x.value("oz_guest_sockets_opened_total", { guest: "g" })).toBe(5);
    expect(x.value("oz_guest_network_receive_bytes_total", { guest: "g" })).toBe(100);
    expect(x.value("oz_guest_finalizations_total", { guest: "g", by: "host" })).toBe(1);
    expect(x.value("oz_guest_state", { guest: "g", state: "shutoff" })).toBe(1);
    expect(x.value("oz_guest_state", { guest: "g", state: "running" })).toBe(0);

    // started again: the account's totals come back and go on
    src.set("g", { cpuMs: 1700, bytecodes: 1300, sends: 12, socketsOpened: 7, bytesIn: 150, finalizedByHost: 1, filesOpened: 4, filesRefused: 2, fileBytesRead: 30, fileBytesWritten: 40 });
    x = await scrape(m);
    expect(x.value("oz_guest_files_opened_total", { guest: "g" })).toBe(4);
    expect(x.value("oz_guest_files_refused_total", { guest: "g" })).toBe(2);
    expect(x.value("oz_guest_fs_reads_bytes_total", { guest: "g" })).toBe(30);
    expect(x.value("oz_guest_fs_writes_bytes_total", { guest: "g" })).toBe(40);
    expect(x.value("oz_guest_sockets_opened_total", { guest: "g" })).toBe(7);
    expect(x.value("oz_guest_network_receive_bytes_total", { guest: "g" })).toBe(150);
    expect(x.value("oz_guest_bytecodes_total", { guest: "g" })).toBe(1300);
    m.close();
  });

  it("gauges: quota and period (absent without a quota), heap, processes by state, sockets open, state, uptime", async () => {
    const src = new ScriptedSource();
    const m = new OzMetrics({ source: src, processMetrics: false });
    src.set("q", { heapBytes: 1000, heapLimitBytes: 4096, uptimeMs: 2500, socketsOpen: 3, fileBytes: 12, filesOpen: 2, processes: { running: 1, runnable: 2, waiting: 3, suspended: 4, failed: 0 } }, "paused", { cpu: { quotaMs: 300, periodMs: 1000 }, weight: 50 }, "quota");
    src.set("free", {}, "crashed");
    const x = await scrape(m);
    expect(x.value("oz_guest_cpu_quota_seconds", { guest: "q" })).toBeCloseTo(0.3);
    expect(x.value("oz_guest_cpu_period_seconds", { guest: "q" })).toBe(1);
    expect(x.value("oz_guest_cpu_quota_seconds", { guest: "free" })).toBeUndefined();
    expect(x.value("oz_guest_cpu_weight", { guest: "q" })).toBe(50);
    expect(x.value("oz_guest_cpu_weight", { guest: "free" })).toBe(100);
    expect(x.value("oz_guest_heap_used_bytes", { guest: "q" })).toBe(1000);
    expect(x.value("oz_guest_heap_limit_bytes", { guest: "q" })).toBe(4096);
    expect(x.value("oz_guest_uptime_seconds", { guest: "q" })).toBe(2.5);
    expect(x.value("oz_guest_sockets_open", { guest: "q" })).toBe(3);
    expect(x.value("oz_guest_file_bytes", { guest: "q" })).toBe(12);
    expect(x.value("oz_guest_files_open", { guest: "q" })).toBe(2);
    expect(x.series("oz_guest_processes").filter((l) => l.guest === "q").map((l) => [l.state, x.value("oz_guest_processes", l)])).toEqual([
      ["running", 1], ["runnable", 2], ["waiting", 3], ["suspended", 4], ["failed", 0],
    ]);
    expect(x.value("oz_guest_state", { guest: "q", state: "paused" })).toBe(1);
    expect(x.value("oz_guest_cpu_throttled", { guest: "q" })).toBe(1);
    expect(x.value("oz_guest_cpu_throttled", { guest: "free" })).toBe(0);
    expect(x.value("oz_guest_state", { guest: "free", state: "crashed" })).toBe(1);
    expect(x.value("oz_guests", { state: "paused" })).toBe(1);
    expect(x.value("oz_guests", { state: "crashed" })).toBe(1);
    expect(x.value("oz_guests", { state: "running" })).toBe(0);
    m.close();
  });

  it("GC pauses, slice durations and lateness go into histograms once each, in seconds", async () => {
    const src = new ScriptedSource();
    const m = new OzMetrics({ source: src, processMetrics: false });
    src.set("g", { gcCount: 3, gcPausesMs: [0.2, 3, 40] });
    src.daemon.slicesMs = [0.4, 1.9, 2.1, 30];
    src.daemon.heartbeatLatenessMs = [0.3, 7];
    src.daemon.guestSwitches = 12;
    let x = await scrape(m);
    expect(x.value("oz_guest_gc_duration_seconds_count", { guest: "g" })).toBe(3);
    expect(x.value("oz_guest_gc_duration_seconds_sum", { guest: "g" })).toBeCloseTo(0.0432);
    expect(x.value("oz_guest_gc_duration_seconds_bucket", { guest: "g", le: "0.0005" })).toBe(1);
    expect(x.value("oz_guest_gc_duration_seconds_bucket", { guest: "g", le: "0.005" })).toBe(2);
    expect(x.value("oz_guest_gc_duration_seconds_bucket", { guest: "g", le: "+Inf" })).toBe(3);
    expect(x.value("oz_scheduler_slice_duration_seconds_count")).toBe(4);
    expect(x.value("oz_scheduler_slice_duration_seconds_bucket", { le: "0.002" })).toBe(2);
    expect(x.value("oz_scheduler_heartbeat_lateness_seconds_count")).toBe(2);
    expect(x.value("oz_scheduler_guest_switches_total")).toBe(12);
    // the next scrape has no new samples: the histograms keep what they counted
    src.set("g", { gcCount: 4, gcPausesMs: [1] });
    src.daemon.guestSwitches = 15;
    x = await scrape(m);
    expect(x.value("oz_guest_gc_duration_seconds_count", { guest: "g" })).toBe(4);
    expect(x.value("oz_guest_gc_collections_total", { guest: "g" })).toBe(4);
    expect(x.value("oz_scheduler_slice_duration_seconds_count")).toBe(4);
    expect(x.value("oz_scheduler_guest_switches_total")).toBe(15);
    m.close();
  });

  it("a guest's series go when it is undefined, and start from zero if it is defined again", async () => {
    const src = new ScriptedSource();
    const m = new OzMetrics({ source: src, processMetrics: false });
    src.set("a", { cpuMs: 2000, gcPausesMs: [1, 2], socketsOpened: 4 }, "running", { cpu: { quotaMs: 100, periodMs: 1000 } });
    src.set("b", { cpuMs: 1000 });
    let x = await scrape(m);
    const seriesOf = (guest: string) => [...x.samples.keys()].filter((k) => k.includes(`guest="${guest}"`));
    expect(seriesOf("a").length).toBeGreaterThan(40);
    src.undefine("a");
    x = await scrape(m);
    expect(seriesOf("a")).toEqual([]);
    expect(seriesOf("b").length).toBeGreaterThan(30);
    src.set("a", { cpuMs: 100 });
    x = await scrape(m);
    expect(x.value("oz_guest_cpu_seconds_total", { guest: "a" })).toBeCloseTo(0.1);
    expect(x.value("oz_guest_sockets_opened_total", { guest: "a" })).toBe(0);
    expect(x.value("oz_guest_gc_duration_seconds_count", { guest: "a" })).toBe(0);
    // a guest that disappears without an event (a missed one) goes at the next scrape
    src.guests.delete("b");
    x = await scrape(m);
    expect(seriesOf("b")).toEqual([]);
    m.close();
  });
});

describe("remote requests", () => {
  it("counts requests by transport, method and status name; durations of unary calls only; sessions and handles by transport", async () => {
    const src = new ScriptedSource();
    let remote: RemoteView | undefined;
    const m = new OzMetrics({ source: src, processMetrics: false, remote: () => remote });
    let x = await scrape(m);
    expect(x.series("oz_remote_sessions")).toEqual([]);
    m.requests.request("grpc", "ObjectSpace.Evaluate", 0, 3, false);
    m.requests.request("grpc", "ObjectSpace.Evaluate", 0, 40, false);
    m.requests.request("ws", "ObjectSpace.Evaluate", 5, 0.2, false);
    m.requests.request("ws", "unknown", 3, 0, false);
    m.requests.request("grpc", "Hypervisor.Watch", 1, 60_000, true);
    m.requests.request("ws", "auth", 16, 0.1, false);
    remote = { sessions: { all: () => [{ transport: "grpc", size: 10 }, { transport: "grpc", size: 5 }, { transport: "ws", size: 1 }] }, ws: { connectionCount: 1 }, activity: { inFlight: 2 } };
    x = await scrape(m);
    expect(x.value("oz_remote_requests_total", { transport: "grpc", method: "ObjectSpace.Evaluate", code: "OK" })).toBe(2);
    expect(x.value("oz_remote_requests_total", { transport: "ws", method: "ObjectSpace.Evaluate", code: "NOT_FOUND" })).toBe(1);
    expect(x.value("oz_remote_requests_total", { transport: "ws", method: "unknown", code: "INVALID_ARGUMENT" })).toBe(1);
    expect(x.value("oz_remote_requests_total", { transport: "grpc", method: "Hypervisor.Watch", code: "CANCELLED" })).toBe(1);
    expect(x.value("oz_remote_requests_total", { transport: "ws", method: "auth", code: "UNAUTHENTICATED" })).toBe(1);
    expect(x.value("oz_remote_request_duration_seconds_count", { transport: "grpc", method: "ObjectSpace.Evaluate" })).toBe(2);
    expect(x.value("oz_remote_request_duration_seconds_bucket", { transport: "grpc", method: "ObjectSpace.Evaluate", le: "0.005" })).toBe(1);
    expect(x.value("oz_remote_request_duration_seconds_count", { transport: "grpc", method: "Hypervisor.Watch" })).toBeUndefined();
    expect(x.value("oz_remote_sessions", { transport: "grpc" })).toBe(2);
    expect(x.value("oz_remote_sessions", { transport: "ws" })).toBe(1);
    expect(x.value("oz_remote_handles", { transport: "grpc" })).toBe(15);
    expect(x.value("oz_remote_websocket_connections")).toBe(1);
    expect(x.value("oz_remote_requests_in_flight")).toBe(2);
    m.close();
  });
});

describe("the Grafana dashboard (docs/grafana/oz-dashboard.json)", () => {
  it("has a row per concern, and its queries use only metrics the daemon exports", async () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(root, "docs", "grafana", "oz-dashboard.json"), "utf8")) as {
      uid: string; title: string; templating: { list: Array<{ name: string }> };
      panels: Array<{ id: number; title: string; type: string; description?: string; targets?: Array<{ expr: string }> }>;
    };
    const rows = dashboard.panels.filter((p) => p.type === "row").map((p) => p.title);
    for (const concern of ["CPU and throttling", "Memory and GC", "Sockets", "Remote requests"]) expect(rows).toContain(concern);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(["datasource", "guest"]));
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);

    const src = new ScriptedSource();
    src.set("a", {});
    const m = new OzMetrics({ source: src, remote: () => ({ sessions: { all: () => [] } }) });
    const families = new Map((await scrape(m)).types);
    m.close();
    const exported = (name: string) => {
      const base = name.replace(/_(bucket|sum|count)$/, "");
      return families.has(name) || families.get(base) === "histogram";
    };
    const used = new Set<string>();
    for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
      expect(panel.description, panel.title).toBeTruthy();
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets!) for (const [name] of t.expr.matchAll(/\b(oz|process|nodejs)_[a-z0-9_]+/g)) used.add(name);
    }
    for (const name of used) expect(exported(name), `${name} (used by the dashboard) is exported`).toBe(true);
    // every per-guest concern of the issue has a panel
    for (const name of ["oz_guest_cpu_seconds_total", "oz_guest_cpu_throttled_periods_total", "oz_guest_heap_used_bytes", "oz_guest_gc_duration_seconds_bucket",
      "oz_guest_sockets_open", "oz_guest_network_receive_bytes_total", "oz_remote_requests_total", "oz_remote_request_duration_seconds_bucket", "oz_remote_sessions", "oz_remote_handles"]) {
      expect(used, name).toContain(name);
    }
  });
});
