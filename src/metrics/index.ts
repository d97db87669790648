/** ozd's Prometheus metrics (issue 8, docs/metrics.md). */
export { OzMetrics, BUCKETS, GUEST_STATES, PROCESS_STATES, statusLabel, type MetricsSource, type OzMetricsOptions, type RemoteView, type RequestSink } from "./exporter.js";
export { metricsOf, plugin, serveMetrics } from "./daemonPlugin.js";
