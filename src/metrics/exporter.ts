/**
 * The daemon's Prometheus metrics (issue 8, docs/metrics.md): per-guest figures the way cAdvisor gives them
 * per container, daemon-wide figures (guests by state, the scheduler, the remote servers) and Node's
 * process metrics, exposed with prom-client.
 *
 *   const metrics = new OzMetrics({ source: hypervisor, remote: () => remoteServices });
 *   remoteServices.dispatcher.observers.add(metrics.requests);   // request counts and durations
 *   res.end(await metrics.metrics());                             // one scrape: text format 0.0.4
 *
 * A scrape is cheap and runs no guest code: it reads the hypervisor's figures once (`scrape()`, which also
 * drains the samples of slice durations, heartbeat lateness and GC pauses into the histograms), the
 * remote sessions, and renders. Counters come from the hypervisor's cumulative figures: each scrape adds
 * what a figure grew since the previous one, so they never go down (a figure that drops, such as the
 * socket counters of a guest while it is shut off, is held at its high-water mark). A guest's series are
 * removed when it is undefined (destroyed), so the number of series stays bounded by the guests there are.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { DaemonStats, GuestInfo, GuestState, GuestStats, HypervisorEvent } from "../hypervisor/types.js";

/** What the metrics read: the hypervisor (`Hypervisor` has both). */
export interface MetricsSource {
  /** every figure of the daemon and its guests; drains the sample lists (slices, lateness, GC pauses) */
  scrape(): { daemon: DaemonStats; guests: GuestInfo[] };
  subscribe(listener: (event: HypervisorEvent) => void): () => void;
}

/** What the metrics read of the remote servers (src/remote: `RemoteServices` has all of it). */
export interface RemoteView {
  sessions: { all(): Iterable<{ readonly transport: "grpc" | "ws"; readonly size: number }> };
  ws?: { readonly connectionCount: number };
  activity?: { readonly inFlight: number };
}

/** The observer interface of the remote dispatcher (src/remote/dispatcher.ts `RequestObserver`). */
export interface RequestSink {
  request(transport: "grpc" | "ws", method: string, status: number, ms: number, stream: boolean): void;
}

export interface OzMetricsOptions {
  source: MetricsSource;
  /** the remote services, looked up at each scrape (absent: no remote gauges) */
  remote?: () => RemoteView | undefined;
  /** Node's default process metrics (`process_*`, `nodejs_*`), shared by every exporter of the process (default true) */
  processMetrics?: boolean;
}

export const GUEST_STATES: readonly GuestState[] = ["running", "paused", "shutoff", "crashed"];
export const PROCESS_STATES = ["running", "runnable", "waiting", "suspended", "failed"] as const;

/** Histogram buckets, in seconds. */
export const BUCKETS = {
  /** a guest's collections: a small heap collects in well under a millisecond, a 16 MiB full collection in 100-200 ms */
  gc: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  /** slices are at most sliceMs (2 ms; 0.5 ms while remote calls are served); a collection makes one longer */
  slice: [0.0001, 0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  /** a turn or a timer runs late by the slice in progress, or by more when the event loop is busy */
  lateness: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  /** remote calls: a mirror read over WebSocket takes tens of microseconds, an evaluation may take seconds */
  request: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
};

/** gRPC status names by code (the protocol's numbers), as the `code` label says them. */
const STATUS_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
  "UNAUTHENTICATED",
];

export function statusLabel(code: number): string {
  return STATUS_NAMES[code] ?? "UNKNOWN";
}

let processRegistry: Registry | undefined;

/**
 * One registry of Node's default metrics for the whole process (they describe the process, not a daemon),
 * without the gauges prom-client names `..._total` (`nodejs_active_handles_total`, `_requests_total`,
 * `_resources_total`): a `_total` suffix says counter, and promtool refuses them. The per-type gauges
 * (`nodejs_active_handles{type}`...) say the same, summed.
 */
function defaultProcessRegistry(): Registry {
  if (!processRegistry) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    for (const m of registry.getMetricsAsArray()) {
      if (String(m.type) !== "counter" && m.name.endsWith("_total")) registry.removeSingleMetric(m.name);
    }
    processRegistry = registry;
  }
  return processRegistry;
}

type GuestLabel = "guest";

/** The per-guest counters fed from cumulative GuestStats figures, with the unit conversion. */
const GUEST_COUNTERS = [
  ["cpu", "oz_guest_cpu_seconds_total", "CPU time charged to the guest: the time its slices held the daemon's thread, seconds.", (s: GuestStats) => s.cpuMs / 1000],
  ["throttledPeriods", "oz_guest_cpu_throttled_periods_total", "Quota periods in which the guest used its CPU quota and was throttled (paused, reason quota).", (s: GuestStats) => s.throttledPeriods],
  ["throttledSeconds", "oz_guest_cpu_throttled_seconds_total", "Time the guest spent throttled by its CPU quota, seconds.", (s: GuestStats) => s.throttledMs / 1000],
  ["bytecodes", "oz_guest_bytecodes_total", "Bytecodes the guest's interpreter executed.", (s: GuestStats) => s.bytecodes],
  ["sends", "oz_guest_sends_total", "Message sends the guest's interpreter performed.", (s: GuestStats) => s.sends],
  ["slices", "oz_guest_slices_total", "Slices the scheduler ran the guest for.", (s: GuestStats) => s.slices],
  ["gc", "oz_guest_gc_collections_total", "Garbage collections of the guest's heap.", (s: GuestStats) => s.gcCount],
  ["socketsOpened", "oz_guest_sockets_opened_total", "Sockets the guest opened (including connections accepted on its listening sockets).", (s: GuestStats) => s.socketsOpened],
  ["socketsRefused", "oz_guest_sockets_refused_total", "Sockets refused to the guest by its socket quota (maxSockets).", (s: GuestStats) => s.socketsRefused],
  ["bytesIn", "oz_guest_network_receive_bytes_total", "Bytes the guest's sockets received.", (s: GuestStats) => s.bytesIn],
  ["bytesOut", "oz_guest_network_transmit_bytes_total", "Bytes the guest's sockets sent.", (s: GuestStats) => s.bytesOut],
  ["filesOpened", "oz_guest_files_opened_total", "Files the guest opened in its sandbox.", (s: GuestStats) => s.filesOpened],
  ["filesRefused", "oz_guest_files_refused_total", "File opens refused to the guest by its open-file quota or the daemon's limit.", (s: GuestStats) => s.filesRefused],
  ["fileBytesRead", "oz_guest_fs_reads_bytes_total", "Bytes the guest read from its files.", (s: GuestStats) => s.fileBytesRead],
  ["fileBytesWritten", "oz_guest_fs_writes_bytes_total", "Bytes the guest wrote to its files.", (s: GuestStats) => s.fileBytesWritten],
] as const;

/**
 * A counter that follows cumulative figures: each `advance` adds what the figure grew since the largest
 * value seen (a drop is not counted: the counter never goes down, and a figure that starts again from 0
 * is counted again once it passes its previous high-water mark).
 */
class CumulativeCounter<L extends string> {
  private readonly high = new Map<string, number>();
  constructor(readonly counter: Counter<L>) {}

  advance(key: string, labels: Record<L, string>, total: number): void {
    const delta = Number.isFinite(total) ? total - (this.high.get(key) ?? 0) : 0;
    if (delta > 0) this.high.set(key, total);
    this.counter.inc(labels, Math.max(0, delta));
  }

  remove(key: string, labels: Record<L, string>): void {
    this.high.delete(key);
    this.counter.remove(labels);
  }
}

export class OzMetrics {
  /** this daemon's oz_* metrics */
  readonly ozRegistry = new Registry();
  /** what /metrics serves: the oz_* metrics and Node's process metrics */
  readonly registry: Registry;
  /** give it to the remote dispatcher (`dispatcher.observers.add(metrics.requests)`) */
  readonly requests: RequestSink;

  private readonly source: MetricsSource;
  private readonly remote: () => RemoteView | undefined;
  private readonly unsubscribe: () => void;
  /** guests that have series */
  private readonly known = new Set<string>();

  // per guest
  private readonly guestCounters: Array<{ key: string; read: (s: GuestStats) => number; c: CumulativeCounter<GuestLabel> }>;
  private readonly finalizations: CumulativeCounter<"guest" | "by">;
  private readonly gcDuration: Histogram<GuestLabel>;
  private readonly guestGauges: Array<Gauge<string>> = [];
  private readonly quota: Gauge<GuestLabel>;
  private readonly period: Gauge<GuestLabel>;
  private readonly weight: Gauge<GuestLabel>;
  private readonly heapUsed: Gauge<GuestLabel>;
  private readonly heapLimit: Gauge<GuestLabel>;
  private readonly processes: Gauge<"guest" | "state">;
  private readonly socketsOpen: Gauge<GuestLabel>;
  private readonly fileBytes: Gauge<GuestLabel>;
  private readonly filesOpen: Gauge<GuestLabel>;
  private readonly state: Gauge<"guest" | "state">;
  private readonly throttled: Gauge<GuestLabel>;
  private readonly uptime: Gauge<GuestLabel>;
  // daemon
  private readonly guests: Gauge<"state">;
  private readonly startTime: Gauge;
  private readonly sliceDuration: Histogram;
  private readonly lateness: Histogram;
  private readonly switches: CumulativeCounter<never>;
  private readonly daemonSocketsOpen: Gauge;
  private readonly daemonSocketsLimit: Gauge;
  private readonly daemonFilesOpen: Gauge;
  private readonly daemonFilesLimit: Gauge;
  private readonly daemonRefused: CumulativeCounter<"resource">;
  private readonly scrapeDuration: Gauge;
  // remote
  private readonly requestsTotal: Counter<"transport" | "method" | "code">;
  private readonly requestDuration: Histogram<"transport" | "method">;
  private readonly sessions: Gauge<"transport">;
  private readonly handles: Gauge<"transport">;
  private readonly wsConnections: Gauge;
  private readonly inFlight: Gauge;

  constructor(options: OzMetricsOptions) {
    this.source = options.source;
    this.remote = options.remote ?? (() => undefined);
    const registers = [this.ozRegistry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) => new Gauge<L>({ name, help, labelNames, registers });
    const histogram = <L extends string>(name: string, help: string, labelNames: L[], buckets: number[]) => new Histogram<L>({ name, help, labelNames, buckets, registers });
    const guestGauge = <L extends string>(name: string, help: string, labelNames: L[]) => {
      const g = gauge(name, help, labelNames);
      this.guestGauges.push(g as Gauge<string>);
      return g;
    };

    // ---- per guest: CPU and throttling
    this.guestCounters = GUEST_COUNTERS.map(([key, name, help, read]) => ({ key, read, c: new CumulativeCounter(counter(name, help, ["guest"])) }));
    this.quota = guestGauge("oz_guest_cpu_quota_seconds", "CPU time the guest may use in each quota period (cgroup cpu.max quota), seconds; absent without a quota.", ["guest"]);
    this.period = guestGauge("oz_guest_cpu_period_seconds", "The guest's CPU quota period (cgroup cpu.max period), seconds; absent without a quota.", ["guest"]);
    this.weight = guestGauge("oz_guest_cpu_weight", "The guest's relative CPU share when several guests want the CPU (default 100).", ["guest"]);
    // ---- memory and GC
    this.heapUsed = guestGauge("oz_guest_heap_used_bytes", "Bytes in use in the guest's heap (0 when its image is not loaded).", ["guest"]);
    this.heapLimit = guestGauge("oz_guest_heap_limit_bytes", "The guest's heap limit (memoryLimitBytes), bytes.", ["guest"]);
    this.gcDuration = histogram("oz_guest_gc_duration_seconds", "Pauses of the guest's garbage collections, seconds.", ["guest"], BUCKETS.gc);
    // ---- processes, sockets, files, finalization
    this.processes = guestGauge("oz_guest_processes", "The guest's Smalltalk processes by state (counted by a walk of its heap, at most once a second).", ["guest", "state"]);
    this.socketsOpen = guestGauge("oz_guest_sockets_open", "Sockets the guest holds now (slots of its socket quota).", ["guest"]);
    this.fileBytes = guestGauge("oz_guest_file_bytes", "Bytes in the guest's file sandbox, as its file quota counts them.", ["guest"]);
    this.filesOpen = guestGauge("oz_guest_files_open", "Files the guest holds open now (slots of its open-file quota).", ["guest"]);
    this.finalizations = new CumulativeCounter(counter("oz_guest_finalizations_total", "OS handles closed after their owner was collected: by=\"image\" by the image's own finalization, by=\"host\" by the host's backstop.", ["guest", "by"]));
    // ---- state
    this.state = guestGauge("oz_guest_state", "1 for the guest's current state (running, paused, shutoff, crashed), 0 for the others.", ["guest", "state"]);
    this.throttled = guestGauge("oz_guest_cpu_throttled", "1 while the guest is throttled by its CPU quota (paused, reason quota, until its next period), else 0.", ["guest"]);
    this.uptime = guestGauge("oz_guest_uptime_seconds", "Time since the guest last started, seconds (0 when it is shut off).", ["guest"]);

    // ---- daemon
    this.guests = gauge("oz_guests", "Guests by state.", ["state"]);
    this.startTime = gauge("oz_daemon_start_time_seconds", "When the daemon started, seconds since the Unix epoch.", []);
    this.sliceDuration = histogram("oz_scheduler_slice_duration_seconds", "Wall time of the slices the scheduler ran (a turn is several slices), seconds.", [], BUCKETS.slice);
    this.lateness = histogram("oz_scheduler_heartbeat_lateness_seconds", "How late guest turns and wake-ups ran after they were due, seconds.", [], BUCKETS.lateness);
    this.switches = new CumulativeCounter(counter("oz_scheduler_guest_switches_total", "Times the scheduler went from one guest to another.", []));
    this.daemonSocketsOpen = gauge("oz_daemon_sockets_open", "Sockets all guests hold now.", []);
    this.daemonSocketsLimit = gauge("oz_daemon_sockets_limit", "The daemon-wide socket limit (resources.maxSockets; 0: no resources plugin).", []);
    this.daemonFilesOpen = gauge("oz_daemon_files_open", "Files all guests hold open now.", []);
    this.daemonFilesLimit = gauge("oz_daemon_files_limit", "The daemon-wide open-file limit (resources.maxOpenFiles; 0: no resources plugin).", []);
    this.daemonRefused = new CumulativeCounter(counter("oz_daemon_refused_total", "Opens refused because the daemon-wide limit was reached, by resource (sockets, files); a guest's own quota refusals are per guest.", ["resource"]));
    this.scrapeDuration = gauge("oz_metrics_scrape_duration_seconds", "Time this scrape took to read the daemon's and the guests' figures, seconds.", []);

    // ---- remote
    this.requestsTotal = counter("oz_remote_requests_total", "Remote requests answered, by transport (grpc, ws), method (Service.Method) and gRPC status code; streams count when they end.", ["transport", "method", "code"]);
    this.requestDuration = histogram("oz_remote_request_duration_seconds", "Time from a unary remote request's arrival to its answer, seconds.", ["transport", "method"], BUCKETS.request);
    this.sessions = gauge("oz_remote_sessions", "Open remote sessions, by transport.", ["transport"]);
    this.handles = gauge("oz_remote_handles", "Live mirror handles held by the open remote sessions, by transport.", ["transport"]);
    this.wsConnections = gauge("oz_remote_websocket_connections", "Open WebSocket connections.", []);
    this.inFlight = gauge("oz_remote_requests_in_flight", "Unary remote requests being served.", []);

    this.requests = {
      request: (transport, method, status, ms, stream) => {
        this.requestsTotal.inc({ transport, method, code: statusLabel(status) });
        if (!stream) this.requestDuration.observe({ transport, method }, ms / 1000);
      },
    };

    this.registry = options.processMetrics === false ? this.ozRegistry : Registry.merge([this.ozRegistry, defaultProcessRegistry()]);
    this.unsubscribe = this.source.subscribe((event) => {
      if (event.type === "undefined") this.forgetGuest(event.guest);
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One scrape: reads every figure, then renders the text exposition format. */
  async metrics(): Promise<string> {
    this.update();
    return this.registry.metrics();
  }

  /** Reads the daemon's and the guests' figures into the metrics (synchronous: one consistent snapshot). */
  update(): void {
    const started = performance.now();
    const { daemon, guests } = this.source.scrape();
    for (const g of this.guestGauges) g.reset();
    const present = new Set<string>();
    const byState: Record<string, number> = Object.fromEntries(GUEST_STATES.map((s) => [s, 0]));
    for (const info of guests) {
      present.add(info.name);
      const fresh = !this.known.has(info.name);
      this.known.add(info.name);
      byState[info.state] = (byState[info.state] ?? 0) + 1;
      this.updateGuest(info, fresh);
    }
    for (const name of [...this.known]) if (!present.has(name)) this.forgetGuest(name);
    for (const [state, n] of Object.entries(byState)) this.guests.set({ state }, n);

    this.startTime.set(daemon.startedAt / 1000);
    for (const ms of daemon.slicesMs) this.sliceDuration.observe(ms / 1000);
    for (const ms of daemon.heartbeatLatenessMs) this.lateness.observe(ms / 1000);
    this.switches.advance("", {}, daemon.guestSwitches);
    this.daemonSocketsOpen.set(daemon.socketsOpen);
    this.daemonSocketsLimit.set(daemon.socketsLimit);
    this.daemonFilesOpen.set(daemon.filesOpen);
    this.daemonFilesLimit.set(daemon.filesLimit);
    this.daemonRefused.advance("sockets", { resource: "sockets" }, daemon.socketsRefusedByLimit);
    this.daemonRefused.advance("files", { resource: "files" }, daemon.filesRefusedByLimit);

    this.updateRemote();
    this.scrapeDuration.set((performance.now() - started) / 1000);
  }

  private updateGuest(info: GuestInfo, fresh: boolean): void {
    const guest = info.name;
    const labels = { guest };
    const s = info.stats;
    for (const { key, read, c } of this.guestCounters) c.advance(`${guest}\u0000${key}`, labels, read(s));
    this.finalizations.advance(`${guest}\u0000image`, { guest, by: "image" }, s.finalizedByImage);
    this.finalizations.advance(`${guest}\u0000host`, { guest, by: "host" }, s.finalizedByHost);
    if (fresh) this.gcDuration.zero(labels);
    for (const ms of s.gcPausesMs ?? []) this.gcDuration.observe(labels, ms / 1000);

    const cpu = info.config.cpu;
    if (cpu) {
      this.quota.set(labels, cpu.quotaMs / 1000);
      this.period.set(labels, cpu.periodMs / 1000);
    }
    this.weight.set(labels, info.config.weight ?? 100);
    this.heapUsed.set(labels, s.heapBytes);
    this.heapLimit.set(labels, s.heapLimitBytes);
    for (const state of PROCESS_STATES) this.processes.set({ guest, state }, s.processes[state] ?? 0);
    this.socketsOpen.set(labels, s.socketsOpen);
    this.fileBytes.set(labels, s.fileBytes);
    this.filesOpen.set(labels, s.filesOpen);
    for (const state of GUEST_STATES) this.state.set({ guest, state }, info.state === state ? 1 : 0);
    this.throttled.set(labels, info.state === "paused" && info.reason === "quota" ? 1 : 0);
    this.uptime.set(labels, s.uptimeMs / 1000);
  }

  private updateRemote(): void {
    this.sessions.reset();
    this.handles.reset();
    this.wsConnections.reset();
    this.inFlight.reset();
    let remote: RemoteView | undefined;
    try {
      remote = this.remote();
    } catch {
      remote = undefined;
    }
    if (!remote) return;
    const sessions = { grpc: 0, ws: 0 };
    const handles = { grpc: 0, ws: 0 };
    for (const s of remote.sessions.all()) {
      sessions[s.transport]++;
      handles[s.transport] += s.size;
    }
    for (const transport of ["grpc", "ws"] as const) {
      this.sessions.set({ transport }, sessions[transport]);
      this.handles.set({ transport }, handles[transport]);
    }
    if (remote.ws) this.wsConnections.set(remote.ws.connectionCount);
    if (remote.activity) this.inFlight.set(remote.activity.inFlight);
  }

  /** Removes every series of a guest (it was undefined): its counters start again from 0 if it comes back. */
  forgetGuest(guest: string): void {
    this.known.delete(guest);
    const labels = { guest };
    for (const { key, c } of this.guestCounters) c.remove(`${guest}\u0000${key}`, labels);
    this.finalizations.remove(`${guest}\u0000image`, { guest, by: "image" });
    this.finalizations.remove(`${guest}\u0000host`, { guest, by: "host" });
    this.gcDuration.remove(labels);
    for (const g of [this.quota, this.period, this.weight, this.heapUsed, this.heapLimit, this.socketsOpen, this.fileBytes, this.filesOpen, this.throttled, this.uptime]) g.remove(labels);
    for (const state of PROCESS_STATES) this.processes.remove({ guest, state });
    for (const state of GUEST_STATES) this.state.remove({ guest, state });
  }

  /** Stops following the hypervisor's events. */
  close(): void {
    this.unsubscribe();
  }
}
