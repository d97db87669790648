/**
 * ozd's configuration: a JSON file (or the embedded default) plus command-line flags. Validation is
 * strict and every message names the field it is about ("guests[1].cpu.quotaMs: must be ..."), so a bad
 * configuration is refused at start with a message that says what to fix.
 *
 *   {
 *     "dataDir": "./oz-data",
 *     "grpc": "127.0.0.1:50051",          // or null: no gRPC port
 *     "http": "127.0.0.1:9464",           // or null: no HTTP port
 *     "heartbeatMs": 20,                  // one guest turn
 *     "sliceMs": 2,                       // longest run between two returns to the event loop
 *     "snapshotIntervalMs": 300000,       // periodic snapshots of running guests (0: never)
 *     "logTranscripts": false,            // copy guests' Transcript lines to the daemon's stdout
 *     "resources": { "maxSockets": 1024 },  // daemon-wide limits, per-guest defaults (docs/resources.md)
 *     "guests": [
 *       { "name": "busy", "autostart": true, "cpu": { "quotaMs": 300, "periodMs": 1000 },
 *         "weight": 100, "memoryLimitBytes": 67108864, "startup": "[true] whileTrue: [...]" }
 *     ]
 *   }
 */
import * as fs from "node:fs";
import { parseExpression, CompileError } from "../vm/compiler/index.js";
import type { GuestConfig } from "./types.js";
import type { ResourceLimits } from "./resources/limits.js";
import { validateResourceLimits } from "./resources/config.js";

export interface DaemonConfig {
  dataDir: string;
  /** "HOST:PORT" or null (no gRPC server) */
  grpc: string | null;
  /** "HOST:PORT" or null (no HTTP server) */
  http: string | null;
  heartbeatMs: number;
  sliceMs: number;
  /** 0: no periodic snapshots */
  snapshotIntervalMs: number;
  /** copy every guest's Transcript lines to the daemon's stdout, prefixed with the guest's name */
  logTranscripts: boolean;
  guests: GuestConfig[];
  /** daemon-wide resource limits and per-guest defaults (docs/resources.md); absent fields keep the defaults */
  resources?: Partial<ResourceLimits>;
  /** PEM files of the daemon's certificate and key: both servers then speak TLS (https/wss, gRPC over TLS) */
  tls?: { cert: string; key: string };
}

export class ConfigError extends Error {
  constructor(
    /** the field, as a path: "guests[1].cpu.quotaMs" ("" for the whole document) */
    readonly field: string,
    readonly problem: string,
  ) {
    super(field ? `${field}: ${problem}` : problem);
    this.name = "ConfigError";
  }
}

export const DEFAULTS = {
  dataDir: "./oz-data",
  grpc: "127.0.0.1:50051",
  http: "127.0.0.1:9464",
  heartbeatMs: 20,
  sliceMs: 2,
  snapshotIntervalMs: 300_000,
  logTranscripts: false,
} as const;

/** Guest names are file names in the data directory, so they are kept simple. */
export const GUEST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The embedded configuration `npm start` runs: three guests built from the kernel image. */
export const DEFAULT_CONFIG: Readonly<Record<string, unknown>> = {
  logTranscripts: true,
  guests: [
    {
      name: "idle",
      autostart: true,
      startup: "Transcript show: 'idle: nothing to do; waiting costs nothing'; cr",
    },
    {
      name: "busy",
      autostart: true,
      cpu: { quotaMs: 300, periodMs: 1000 },
      startup: [
        "| n next |",
        "n := 0. next := Time millisecondClockValue + 5000.",
        "Transcript show: 'busy: computing in a loop under a 300 ms/s quota'; cr.",
        "[true] whileTrue: [",
        "  n := n + 1.",
        "  (n \\\\ 100000 = 0 and: [Time millisecondClockValue >= next]) ifTrue: [",
        "    Transcript show: 'busy: ', n printString, ' iterations'; cr.",
        "    next := next + 5000]]",
      ].join("\n"),
    },
    {
      name: "echo",
      autostart: true,
      maxSockets: 32,
      startup: [
        "Socket isAvailable",
        "  ifFalse: [Transcript show: 'echo: this host gives the guest no sockets; waiting'; cr]",
        "  ifTrue: [",
        "    [OzEchoService startOn: 7070.",
        "     Transcript show: 'echo: serving TCP on 127.0.0.1:7070 (it sends back what it receives)'; cr]",
        "      on: NetworkError",
        "      do: [:e | Transcript show: 'echo: cannot serve on 127.0.0.1:7070: ', e messageText; cr]]",
      ].join("\n"),
    },
  ],
};

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: Json): string {
  if (v === undefined) return "nothing";
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function checkKeys(obj: Record<string, Json>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (key === "comment" || key.startsWith("$")) continue;
    if (!allowed.includes(key)) {
      throw new ConfigError(where ? `${where}.${key}` : key, `unknown field (known fields: ${allowed.join(", ")})`);
    }
  }
}

function number(v: Json, field: string, opts: { min?: number; max?: number; integer?: boolean; positive?: boolean }): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ConfigError(field, `must be a number (got ${describe(v)})`);
  if (opts.integer && !Number.isInteger(v)) throw new ConfigError(field, `must be a whole number (got ${v})`);
  if (opts.positive && v <= 0) throw new ConfigError(field, `must be greater than 0 (got ${v})`);
  if (opts.min !== undefined && v < opts.min) throw new ConfigError(field, `must be at least ${opts.min} (got ${v})`);
  if (opts.max !== undefined && v > opts.max) throw new ConfigError(field, `must be at most ${opts.max} (got ${v})`);
  return v;
}

function string(v: Json, field: string): string {
  if (typeof v !== "string") throw new ConfigError(field, `must be a string (got ${describe(v)})`);
  return v;
}

function boolean(v: Json, field: string): boolean {
  if (typeof v !== "boolean") throw new ConfigError(field, `must be true or false (got ${describe(v)})`);
  return v;
}

/** "HOST:PORT" (IPv6 hosts in brackets); answers the string unchanged, or null for null / "off". */
export function address(v: Json, field: string): string | null {
  if (v === null || v === "off") return null;
  const s = string(v, field);
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
  if (!m) throw new ConfigError(field, `must be HOST:PORT, e.g. 127.0.0.1:9464, or null (got ${describe(v)})`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(field, `port ${port} is out of range 0..65535`);
  return s;
}

export function splitAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  let host = addr.slice(0, i);
  if (host.startsWith("[")) host = host.slice(1, -1);
  return { host, port: Number(addr.slice(i + 1)) };
}

const GUEST_FIELDS = ["name", "image", "autostart", "cpu", "weight", "memoryLimitBytes", "maxSockets", "maxFileBytes", "startup"] as const;

/** Validates one guest's configuration; `where` prefixes field names ("guests[2]"). */
export function validateGuestConfig(v: Json, where: string, options: { requireName?: boolean } = {}): GuestConfig {
  if (!isObject(v)) throw new ConfigError(where, `must be an object (got ${describe(v)})`);
  const f = (name: string) => (where ? `${where}.${name}` : name);
  checkKeys(v, GUEST_FIELDS, where);
  let name = "";
  if (options.requireName !== false || v.name !== undefined) {
    if (v.name === undefined) throw new ConfigError(f("name"), "is missing");
    name = string(v.name, f("name"));
    if (!GUEST_NAME.test(name)) {
      throw new ConfigError(f("name"), `${describe(name)} is not a valid guest name (letters, digits, '_', '.', '-', at most 63, starting with a letter or digit)`);
    }
  }
  const config: GuestConfig = { name };
  if (v.image !== undefined) config.image = string(v.image, f("image"));
  if (v.autostart !== undefined) config.autostart = boolean(v.autostart, f("autostart"));
  if (v.cpu !== undefined && v.cpu !== null) {
    if (!isObject(v.cpu)) throw new ConfigError(f("cpu"), `must be an object {"quotaMs": N, "periodMs": N} (got ${describe(v.cpu)})`);
    checkKeys(v.cpu, ["quotaMs", "periodMs"], f("cpu"));
    if (v.cpu.quotaMs === undefined) throw new ConfigError(f("cpu.quotaMs"), "is missing");
    if (v.cpu.periodMs === undefined) throw new ConfigError(f("cpu.periodMs"), "is missing");
    const periodMs = number(v.cpu.periodMs, f("cpu.periodMs"), { positive: true, min: 1, max: 60_000 });
    const quotaMs = number(v.cpu.quotaMs, f("cpu.quotaMs"), { positive: true });
    if (quotaMs > periodMs) throw new ConfigError(f("cpu.quotaMs"), `must not exceed cpu.periodMs (${periodMs}): a guest runs on one core (got ${quotaMs})`);
    config.cpu = { quotaMs, periodMs };
  }
  if (v.weight !== undefined) config.weight = number(v.weight, f("weight"), { positive: true, min: 1, max: 10_000 });
  if (v.memoryLimitBytes !== undefined) {
    config.memoryLimitBytes = number(v.memoryLimitBytes, f("memoryLimitBytes"), { integer: true, min: 1024 * 1024, max: 1024 * 1024 * 1024 });
  }
  if (v.maxSockets !== undefined) config.maxSockets = number(v.maxSockets, f("maxSockets"), { integer: true, min: 0 });
  if (v.maxFileBytes !== undefined) config.maxFileBytes = number(v.maxFileBytes, f("maxFileBytes"), { integer: true, min: 0 });
  if (v.startup !== undefined && v.startup !== null) {
    const source = string(v.startup, f("startup"));
    try {
      parseExpression(`[${source}\n]`);
    } catch (e) {
      if (e instanceof CompileError) throw new ConfigError(f("startup"), `does not parse: ${e.message}`);
      throw e;
    }
    config.startup = source;
  }
  return config;
}

const TOP_FIELDS = ["dataDir", "grpc", "http", "heartbeatMs", "sliceMs", "snapshotIntervalMs", "logTranscripts", "guests", "resources", "tls"] as const;

/** Validates a configuration document (parsed JSON) and fills in the defaults. */
export function validateConfig(doc: Json): DaemonConfig {
  if (!isObject(doc)) throw new ConfigError("", `the configuration must be a JSON object (got ${describe(doc)})`);
  checkKeys(doc, TOP_FIELDS, "");
  const config: DaemonConfig = { ...DEFAULTS, guests: [] };
  if (doc.dataDir !== undefined) {
    config.dataDir = string(doc.dataDir, "dataDir");
    if (config.dataDir === "") throw new ConfigError("dataDir", "must not be empty");
  }
  if (doc.grpc !== undefined) config.grpc = address(doc.grpc, "grpc");
  if (doc.http !== undefined) config.http = address(doc.http, "http");
  if (doc.heartbeatMs !== undefined) config.heartbeatMs = number(doc.heartbeatMs, "heartbeatMs", { min: 1, max: 1000 });
  if (doc.sliceMs !== undefined) config.sliceMs = number(doc.sliceMs, "sliceMs", { min: 0.1, max: 1000 });
  if (config.sliceMs > config.heartbeatMs) throw new ConfigError("sliceMs", `must not exceed heartbeatMs (${config.heartbeatMs}) (got ${config.sliceMs})`);
  if (doc.snapshotIntervalMs !== undefined) {
    config.snapshotIntervalMs = number(doc.snapshotIntervalMs, "snapshotIntervalMs", { min: 0 });
    if (config.snapshotIntervalMs > 0 && config.snapshotIntervalMs < 100) {
      throw new ConfigError("snapshotIntervalMs", `must be 0 (never) or at least 100 (got ${config.snapshotIntervalMs})`);
    }
  }
  if (doc.logTranscripts !== undefined) config.logTranscripts = boolean(doc.logTranscripts, "logTranscripts");
  if (doc.tls !== undefined) {
    if (!isObject(doc.tls)) throw new ConfigError("tls", `must be an object {"cert": FILE, "key": FILE} (got ${describe(doc.tls)})`);
    checkKeys(doc.tls, ["cert", "key"], "tls");
    const tls = { cert: string(doc.tls.cert, "tls.cert"), key: string(doc.tls.key, "tls.key") };
    for (const field of ["cert", "key"] as const) {
      if (!fs.existsSync(tls[field])) throw new ConfigError(`tls.${field}`, `no such file ${describe(tls[field])}`);
    }
    config.tls = tls;
  }
  if (doc.resources !== undefined) {
    config.resources = validateResourceLimits(doc.resources, "resources", (field, problem) => {
      throw new ConfigError(field, problem);
    });
  }
  if (doc.guests !== undefined) {
    if (!Array.isArray(doc.guests)) throw new ConfigError("guests", `must be an array of guests (got ${describe(doc.guests)})`);
    const seen = new Set<string>();
    doc.guests.forEach((g, i) => {
      const guest = validateGuestConfig(g, `guests[${i}]`);
      if (seen.has(guest.name)) throw new ConfigError(`guests[${i}].name`, `duplicate guest name ${describe(guest.name)}`);
      seen.add(guest.name);
      config.guests.push(guest);
    });
  }
  return config;
}

/** The offset of the first JSON syntax error in `text` (Node's messages do not always say). */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  class Stop {
    constructor(readonly at: number) {}
  }
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const fail = (): never => {
    throw new Stop(i);
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const str = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if (text.charCodeAt(i) < 32) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else fail();
      }
    } else if (c === '"') str();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!m) fail();
      i += m![0].length;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (e) {
    if (e instanceof Stop) return e.at;
    throw e;
  }
  return undefined;
}

/** Parses JSON text; a syntax error is reported with its line and column. */
export function parseConfigText(text: string, fileName = "configuration"): DaemonConfig {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(message);
    const where = m ? Number(m[1]) : jsonErrorOffset(text);
    if (where !== undefined) {
      const pos = where;
      const before = text.slice(0, pos);
      const line = before.split("\n").length;
      const column = pos - before.lastIndexOf("\n");
      throw new ConfigError("", `${fileName}:${line}:${column}: not valid JSON: ${message}`);
    }
    throw new ConfigError("", `${fileName}: not valid JSON: ${message}`);
  }
  return validateConfig(doc);
}

export interface ConfigFlags {
  config?: string;
  data?: string;
  grpc?: string;
  http?: string;
}

/** The configuration from `--config FILE` (or the embedded default) with the flags applied on top. */
export function loadConfig(flags: ConfigFlags): DaemonConfig {
  let config: DaemonConfig;
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(flags.config, "utf8");
    } catch (e) {
      throw new ConfigError("", `cannot read ${flags.config}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    config = parseConfigText(text, flags.config);
  } else {
    config = validateConfig(DEFAULT_CONFIG);
  }
  if (flags.data !== undefined) {
    if (flags.data === "") throw new ConfigError("--data", "must not be empty");
    config.dataDir = flags.data;
  }
  if (flags.grpc !== undefined) config.grpc = address(flags.grpc, "--grpc");
  if (flags.http !== undefined) config.http = address(flags.http, "--http");
  return config;
}
