/**
 * A real Prometheus (Debian's `prometheus` package; .ci/run installs it) on loopback, with a temporary
 * configuration (1 s scrape interval) and data directory, scrapes a running ozd with several guests; the
 * test queries its HTTP API until the per-guest series arrive, checks that they move as the guests work,
 * that the remote requests and Node's process metrics arrive too, and that a destroyed guest's series go
 * stale. Prometheus and the daemon are stopped at the end.
 *
 * Without the `prometheus` binary the test is skipped, saying so, unless OZ_REQUIRE_PROMETHEUS is set
 * (.ci/run sets it): then it fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../../src/remote/client/connect.js";
import { fileURLToPath } from "node:url";
import { GUESTS, findBinary, sleep, startDaemon, tempDir, waitFor } from "./helpers.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const PROMETHEUS = findBinary("prometheus");
const REQUIRED = Boolean(process.env.OZ_REQUIRE_PROMETHEUS);
const MISSING = "the prometheus binary was not found (apt-get install prometheus, as .ci/run does, or set OZ_PROMETHEUS)";

interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** A free loopback TCP port (the kernel's choice; closed again at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

class Prometheus {
  private constructor(
    readonly proc: ChildProcess,
    readonly base: string,
    readonly dir: string,
    readonly log: string[],
    readonly exited: Promise<number | null>,
  ) {}

  /** Starts Prometheus scraping `target` (host:port) every second; retries on another port if its port was taken. */
  static async start(bin: string, target: string): Promise<Prometheus> {
    for (let attempt = 1; ; attempt++) {
      const dir = tempDir("oz-prometheus-");
      const port = await freePort();
      const config = path.join(dir, "prometheus.yml");
      fs.writeFileSync(config, [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: ozd",
        "    metrics_path: /metrics",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"));
      const log: string[] = [];
      const proc = spawn(bin, [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--storage.tsdb.retention.time=1h",
      ], { stdio: ["ignore", "pipe", "pipe"] });
      for (const stream of [proc.stdout!, proc.stderr!]) stream.setEncoding("utf8").on("data", (d: string) => log.push(d));
      const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
      const p = new Prometheus(proc, `http://127.0.0.1:${port}`, dir, log, exited);
      let dead = false;
      void exited.then(() => (dead = true));
      try {
        await waitFor(async () => {
          if (dead) throw new Error(`prometheus exited: ${log.join("").slice(-2000)}`);
          const res = await fetch(`${p.base}/-/ready`).catch(() => undefined);
          return res?.ok === true;
        }, "Prometheus to be ready", 30_000, 100);
        return p;
      } catch (e) {
        await p.stop();
        if (attempt >= 3 || !/address already in use/.test(log.join(""))) throw e;
      }
    }
  }

  /** An instant query; answers the vector's samples. */
  async query(promql: string): Promise<Sample[]> {
    const res = await fetch(`${this.base}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== "success") throw new Error(`${promql}: ${body.error}`);
    if (body.data!.resultType !== "vector") throw new Error(`${promql}: a ${body.data!.resultType}, not a vector`);
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Any query: answers the result's type and how many series (or 1 for a scalar) it has. */
  async check(promql: string): Promise<{ type: string; size: number }> {
    const res = await fetch(`${this.base}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== "success") throw new Error(`${promql}: ${body.error}`);
    const r = body.data!.result;
    return { type: body.data!.resultType, size: Array.isArray(r) && body.data!.resultType !== "scalar" ? r.length : 1 };
  }

  /** The value of a query that answers one sample (undefined when it answers none). */
  async value(promql: string): Promise<number | undefined> {
    const r = await this.query(promql);
    if (r.length > 1) throw new Error(`${promql}: ${r.length} samples`);
    return r[0]?.value;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGTERM");
      const killer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
      await this.exited;
      clearTimeout(killer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const cleanups: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe("Prometheus scraping ozd", () => {
  if (!PROMETHEUS) {
    if (REQUIRED) {
      it("needs the prometheus binary (OZ_REQUIRE_PROMETHEUS is set)", () => {
        throw new Error(MISSING);
      });
    } else {
      console.warn(`skipping the Prometheus test: ${MISSING}`);
      it.skip(`scrapes per-guest series that move (skipped: ${MISSING})`, () => undefined);
    }
    return;
  }

  it("scrapes per-guest series that move as the guests work, remote requests, process metrics; a destroyed guest's series go stale", async () => {
    const d = await startDaemon([GUESTS.busy, GUESTS.alloc, GUESTS.net, GUESTS.idle]);
    cleanups.push(() => d.close());
    const prom = await Prometheus.start(PROMETHEUS, d.daemon.httpAddress!);
    cleanups.push(() => prom.stop());
    const diagnose = () => prom.log.join("").slice(-3000);

    // the target is up and every guest's series arrived
    await waitFor(async () => (await prom.value('up{job="ozd"}')) === 1, `the ozd target to be up (${diagnose()})`, 20_000, 200);
    const guests = ["alloc", "busy", "idle", "net"];
    await waitFor(async () => {
      const r = await prom.query("oz_guest_cpu_seconds_total");
      return r.map((s) => s.metric.guest).sort().join() === guests.join();
    }, "oz_guest_cpu_seconds_total for every guest", 20_000, 200);
    // a guest throttled by its quota is paused (reason quota) until its next period
    expect(await prom.value('sum(oz_guests{state=~"running|paused"})')).toBe(4);
    for (const guest of guests) expect(await prom.value(`sum(oz_guest_state{guest="${guest}",state=~"running|paused"})`), guest).toBe(1);
    expect(await prom.value('oz_guest_state{guest="idle",state="running"}')).toBe(1);
    expect(await prom.value('oz_guest_cpu_quota_seconds{guest="busy"} / oz_guest_cpu_period_seconds{guest="busy"}')).toBeCloseTo(0.5);
    expect((await prom.query('oz_guest_processes{guest="idle"}')).length).toBe(5);
    expect(await prom.value("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(await prom.value("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);

    // the figures move: compare what Prometheus stored with what it stores a few scrapes later
    const first = {
      busyCpu: (await prom.value('oz_guest_cpu_seconds_total{guest="busy"}'))!,
      busyBytecodes: (await prom.value('oz_guest_bytecodes_total{guest="busy"}'))!,
      throttled: (await prom.value('oz_guest_cpu_throttled_periods_total{guest="busy"}'))!,
      gc: (await prom.value('oz_guest_gc_duration_seconds_count{guest="alloc"}'))!,
      sockets: (await prom.value('oz_guest_sockets_opened_total{guest="net"}'))!,
      idleCpu: (await prom.value('oz_guest_cpu_seconds_total{guest="idle"}'))!,
      idleUptime: (await prom.value('oz_guest_uptime_seconds{guest="idle"}'))!,
    };
    await waitFor(async () => {
      const [busyCpu, busyBytecodes, throttled, gc, sockets, idleUptime] = await Promise.all([
        prom.value('oz_guest_cpu_seconds_total{guest="busy"}'),
        prom.value('oz_guest_bytecodes_total{guest="busy"}'),
        prom.value('oz_guest_cpu_throttled_periods_total{guest="busy"}'),
        prom.value('oz_guest_gc_duration_seconds_count{guest="alloc"}'),
        prom.value('oz_guest_sockets_opened_total{guest="net"}'),
        prom.value('oz_guest_uptime_seconds{guest="idle"}'),
      ]);
      return busyCpu! > first.busyCpu && busyBytecodes! > first.busyBytecodes && throttled! > first.throttled && gc! > first.gc
        && sockets! > first.sockets && idleUptime! > first.idleUptime;
    }, "the per-guest series to move", 20_000, 250);
    // PromQL over them: rates, ratios and histogram quantiles
    expect(await prom.value('rate(oz_guest_bytecodes_total{guest="busy"}[5s])')).toBeGreaterThan(0);
    expect(await prom.value('rate(oz_guest_network_transmit_bytes_total{guest="net"}[5s])')).toBeGreaterThan(0);
    expect(await prom.value('increase(oz_guest_cpu_seconds_total{guest="idle"}[5s])')).toBeLessThan(0.1);
    const gcP99 = await prom.value('histogram_quantile(0.99, rate(oz_guest_gc_duration_seconds_bucket{guest="alloc"}[5s]))');
    expect(gcP99).toBeGreaterThan(0);
    expect(await prom.value("histogram_quantile(0.5, rate(oz_scheduler_slice_duration_seconds_bucket[5s]))")).toBeGreaterThan(0);
    expect(await prom.value("rate(oz_scheduler_guest_switches_total[5s])")).toBeGreaterThan(0);
    expect(await prom.value('oz_guest_heap_used_bytes{guest="alloc"} / oz_guest_heap_limit_bytes{guest="alloc"}')).toBeLessThanOrEqual(1);

    // remote requests arrive by transport, method and code
    const oz = await connect(`ws://${d.daemon.httpAddress}/ws`, d.daemon.token);
    try {
      const r = await oz.space("idle").evaluate("6 * 7");
      expect(r.ok && r.printString).toBe("42");
      await expect(oz.space("ghost").nilObject()).rejects.toMatchObject({ code: "notFound" });
      await waitFor(async () => (await prom.value('oz_remote_sessions{transport="ws"}')) === 1, "the WebSocket session", 10_000, 200);
      await waitFor(async () => (await prom.value('oz_remote_requests_total{transport="ws",method="ObjectSpace.NilObject",code="NOT_FOUND"}')) === 1, "the remote requests", 10_000, 200);
      expect(await prom.value('oz_remote_requests_total{transport="ws",method="ObjectSpace.Evaluate",code="OK"}')).toBe(1);
      expect(await prom.value('oz_remote_request_duration_seconds_count{transport="ws",method="ObjectSpace.Evaluate"}')).toBe(1);
    } finally {
      await oz.close();
    }

    // metadata: the help texts and types reached Prometheus
    const meta = (await (await fetch(`${prom.base}/api/v1/metadata?metric=oz_guest_cpu_seconds_total`)).json()) as { data: Record<string, Array<{ type: string; help: string }>> };
    expect(meta.data.oz_guest_cpu_seconds_total?.[0]).toMatchObject({ type: "counter", help: expect.stringContaining("CPU time") });

    // every query of the Grafana dashboard is valid PromQL, and answers data (rates need two scrapes of
    // the remote counters that just appeared)
    const dashboard = JSON.parse(fs.readFileSync(path.join(root, "docs", "grafana", "oz-dashboard.json"), "utf8")) as { panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }> };
    let empty: string[] = [];
    await waitFor(async () => {
      empty = [];
      for (const panel of dashboard.panels) {
        for (const t of panel.targets ?? []) {
          const promql = t.expr.replaceAll("$__rate_interval", "5s").replaceAll("$guest", ".*").replaceAll("$instance", ".*");
          const r = await prom.check(promql);
          if (r.size === 0) empty.push(`${panel.title}: ${t.expr}`);
        }
      }
      return empty.length === 0;
    }, "data for every query of the dashboard", 15_000, 500).catch(() => undefined);
    expect(empty).toEqual([]);

    // a destroyed guest's series go stale: an instant query no longer finds them
    await d.daemon.hypervisor.destroy("idle");
    await waitFor(async () => (await prom.query('{guest="idle"}')).length === 0, "idle's series to go stale", 15_000, 250);
    expect(await prom.value('sum(oz_guests{state=~"running|paused"})')).toBe(3);
    expect((await prom.query('oz_guest_cpu_seconds_total{guest="busy"}')).length).toBe(1);
    expect(await prom.value('up{job="ozd"}')).toBe(1);
    await sleep(0);
  });
});
