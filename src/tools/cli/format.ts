/** Human output: sizes, durations, tables, and a progress line for long work. */
import type { CommandIO } from "./io.js";

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "-";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** 45s, 12m05s, 3h07m, 2d04h */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "-";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

export function formatPercent(p: number): string {
  if (!Number.isFinite(p)) return "-";
  return p >= 100 ? p.toFixed(0) : p.toFixed(1);
}

/** Columns separated by two spaces; `right` lists the right-aligned columns. */
export function table(headers: string[], rows: string[][], right: number[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]) : i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

export interface Progress {
  /** a new text for the line */
  update(text: string): void;
  /** the final line */
  done(text: string): void;
  /** ends the line without a final text (an error follows) */
  fail(): void;
}

/**
 * A progress line on stderr for long work (building or loading a large image, uploading, cloning): on a
 * terminal one line updated in place with the elapsed time; otherwise the first and the final lines.
 */
export function progress(io: CommandIO, prefix: string, text: string): Progress {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (!io.errIsTTY) {
    io.err(`${prefix}: ${text}\n`);
    return {
      update: () => undefined,
      done: (t) => io.err(`${prefix}: ${t} (${elapsed()})\n`),
      fail: () => undefined,
    };
  }
  let current = text;
  let ended = false;
  const draw = () => io.err(`\r\x1b[K${prefix}: ${current} ${elapsed()}`);
  draw();
  const timer = setInterval(draw, 200);
  timer.unref?.();
  const end = () => {
    ended = true;
    clearInterval(timer);
  };
  return {
    update(t) {
      if (ended) return;
      current = t;
      draw();
    },
    done(t) {
      if (ended) return;
      end();
      io.err(`\r\x1b[K${prefix}: ${t} (${elapsed()})\n`);
    },
    fail() {
      if (ended) return;
      end();
      io.err("\r\x1b[K");
    },
  };
}
