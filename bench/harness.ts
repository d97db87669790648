/**
 * Benchmark plumbing: best-of-N timing, machine description, and the result table that BENCHMARKS.md
 * records. Benchmarks measure; they never assert (speed targets are not unit tests).
 */
import * as os from "node:os";

export interface Measurement {
  name: string;
  value: number;
  unit: string;
  /** the same thing done in plain JavaScript, when there is a reference */
  reference?: number;
  note?: string;
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/**
 * Runs `fn` `runs` times and answers the fastest duration in milliseconds (with its result). The
 * duration is this process's CPU time (user + system), which a busy machine inflates much less than the
 * wall clock: the benchmarks are single-threaded, so on an idle machine both are the same.
 */
export async function bestOf<T>(runs: number, fn: () => T | Promise<T>): Promise<{ ms: number; result: T }> {
  let best = Infinity;
  let result!: T;
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    result = await fn();
    const used = process.cpuUsage(before);
    const ms = (used.user + used.system) / 1000;
    if (ms < best) best = ms;
  }
  return { ms: best, result };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function formatNumber(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(n < 10 ? 2 : 0);
}

export function table(title: string, rows: Measurement[]): string {
  const lines = [`### ${title}`, "", "| measurement | value | plain JS | ratio | note |", "| --- | --- | --- | --- | --- |"];
  for (const r of rows) {
    const ref = r.reference !== undefined ? `${formatNumber(r.reference)} ${r.unit}` : "";
    const ratio = r.reference !== undefined ? `${(r.value / r.reference).toFixed(3)}` : "";
    lines.push(`| ${r.name} | ${formatNumber(r.value)} ${r.unit} | ${ref} | ${ratio} | ${r.note ?? ""} |`);
  }
  return lines.join("\n");
}
