/**
 * The metrics in ozd (loaded through src/hypervisor/plugins.ts, after the remote and resources plugins):
 * `GET /metrics` on the daemon's HTTP port (design.md section 7: 127.0.0.1:9464), without a token, like
 * `/healthz`, in Prometheus's text format; the remote services' requests are counted through the
 * dispatcher's `observers` (src/remote/dispatcher.ts `RequestObserver`). docs/metrics.md lists the metrics.
 */
import type * as http from "node:http";
import type { Daemon, DaemonPlugin } from "../hypervisor/daemon.js";
import { remoteServicesOf } from "../remote/daemonPlugin.js";
import { OzMetrics } from "./exporter.js";

const exporters = new WeakMap<Daemon, { metrics: OzMetrics; detach?: () => void }>();

/** The metrics of a running ozd (tests, benchmarks). */
export function metricsOf(daemon: Daemon): OzMetrics | undefined {
  return exporters.get(daemon)?.metrics;
}

/** Serves one scrape. */
export async function serveMetrics(metrics: OzMetrics, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    res.end("GET /metrics\n");
    return;
  }
  let text: string;
  try {
    text = await metrics.metrics();
  } catch (e) {
    res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
    res.end(`cannot collect the metrics: ${e instanceof Error ? e.message : String(e)}\n`);
    return;
  }
  res.writeHead(200, { "content-type": metrics.contentType, "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : text);
}

/** Counts the remote requests of the daemon's remote services, once they exist. */
function attachRemote(daemon: Daemon): void {
  const entry = exporters.get(daemon);
  const services = remoteServicesOf(daemon);
  if (!entry || entry.detach || !services) return;
  const observers = services.dispatcher.observers;
  observers.add(entry.metrics.requests);
  entry.detach = () => void observers.delete(entry.metrics.requests);
}

export const plugin: DaemonPlugin = {
  name: "metrics",
  setup(daemon) {
    const metrics = new OzMetrics({ source: daemon.hypervisor, remote: () => remoteServicesOf(daemon) });
    exporters.set(daemon, { metrics });
    daemon.registerHttpRoute("/metrics", (req, res) => serveMetrics(metrics, req, res));
    attachRemote(daemon);
  },
  started(daemon) {
    // the remote plugin is set up before this one (plugins.ts); if it was not, its requests count from here
    attachRemote(daemon);
  },
  stop(daemon) {
    const entry = exporters.get(daemon);
    entry?.detach?.();
    entry?.metrics.close();
    exporters.delete(daemon);
  },
};
