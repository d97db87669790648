/**
 * The daemon commands: `ps`, `top`, `define`, the lifecycle verbs (`start`, `suspend`, `resume`,
 * `interrupt`, `stop`, `destroy`), `snapshot` and `clone`. They talk to ozd through the remote client
 * (src/remote), over gRPC or WebSocket, with the token of `$OZ_TOKEN` or `--token-file`.
 */
import * as fs from "node:fs";
import type { Command } from "../io.js";
import { CliError, EXIT_FAILURE, EXIT_OK } from "../io.js";
import { parseArgs, UsageError, type OptionSpec, type ParsedArgs } from "../args.js";
import { REMOTE_OPTIONS, REMOTE_USAGE, EXIT_USAGE_TEXT, asCliError, openClient, remoteUrl, withClient } from "../remote.js";
import { formatBytes, formatDuration, formatPercent, progress, table } from "../format.js";
import type { GuestConfig, GuestInfo } from "../../../hypervisor/types.js";
import { HypervisorError } from "../../../hypervisor/types.js";
import type { OzClient } from "../../../remote/client/connect.js";

function parse(argv: string[], specs: Record<string, OptionSpec> = {}): ParsedArgs {
  return parseArgs(argv, { ...REMOTE_OPTIONS, json: {}, help: { short: "h" }, ...specs });
}

function stateText(info: GuestInfo): string {
  return `${info.state} (${info.reason})`;
}

// ---------------------------------------------------------------------- ps and top

/** CPU % since the guest started (as ps(1): CPU time over elapsed time). */
function lifetimeCpuPercent(info: GuestInfo): number {
  return info.stats.uptimeMs > 0 ? (info.stats.cpuMs / info.stats.uptimeMs) * 100 : 0;
}

function processCount(info: GuestInfo): number {
  const p = info.stats.processes;
  return p.running + p.runnable + p.waiting + p.suspended + p.failed;
}

export function guestRecord(info: GuestInfo, cpuPercent: number): Record<string, unknown> {
  const record: Record<string, unknown> = {
    name: info.name,
    state: info.state,
    reason: info.reason,
    cpuPercent: Math.round(cpuPercent * 10) / 10,
    cpuMs: Math.round(info.stats.cpuMs),
    heapBytes: info.stats.heapBytes,
    heapLimitBytes: info.stats.heapLimitBytes,
    sockets: info.stats.socketsOpen,
    processes: processCount(info),
    uptimeMs: Math.round(info.stats.uptimeMs),
  };
  if (info.crash) record.crash = info.crash;
  record.config = info.config;
  record.stats = info.stats;
  return record;
}

function guestTable(guests: Array<{ info: GuestInfo; cpu: number }>): string {
  const rows = guests.map(({ info, cpu }) => [
    info.name,
    info.state,
    info.reason,
    info.state === "shutoff" ? "-" : formatPercent(cpu),
    info.state === "shutoff" ? "-" : formatDuration(info.stats.cpuMs).replace(/^-$/, "0s"),
    info.state === "shutoff" ? "-" : formatBytes(info.stats.heapBytes),
    info.state === "shutoff" ? "-" : String(processCount(info)),
    String(info.stats.socketsOpen),
    info.state === "shutoff" ? "-" : formatDuration(info.stats.uptimeMs),
  ]);
  return table(["NAME", "STATE", "REASON", "CPU%", "CPU", "HEAP", "PROCS", "SOCKETS", "UPTIME"], rows, [3, 4, 5, 6, 7, 8]);
}

export const psCommand: Command = {
  name: "ps",
  summary: "list the daemon's guests with their state, CPU %, heap and sockets",
  usage: `oz ps [--json] [--remote URL] [--token-file FILE]

Lists the daemon's guests: name, state and reason, CPU % (CPU time over the time since the guest
started, as ps(1)), CPU time, heap in use, processes, open sockets, time since the guest started.
--json prints a JSON array of objects: name, state, reason, cpuPercent, cpuMs, heapBytes,
heapLimitBytes, sockets, processes, uptimeMs, crash (crashed guests), config and stats.

${REMOTE_USAGE}

${EXIT_USAGE_TEXT}`,
  async run(argv, io) {
    const { positional, options } = parse(argv);
    if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
    const url = remoteUrl(options, io.env);
    const guests = await withClient(url, options, io.env, (c) => c.hypervisor.list());
    if (options.json) {
      io.out(`${JSON.stringify(guests.map((g) => guestRecord(g, lifetimeCpuPercent(g))), null, 2)}\n`);
    } else if (guests.length === 0) {
      io.out("no guests (oz define NAME defines one)\n");
    } else {
      io.out(guestTable(guests.map((info) => ({ info, cpu: lifetimeCpuPercent(info) }))));
    }
    return EXIT_OK;
  },
};

function positiveNumber(value: string | true | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== "string" || !Number.isFinite(n) || n <= 0) throw new UsageError(`${name} needs a positive number`);
  return n;
}

/** Resolves after `ms`, or at once when the signal is aborted. */
function pause(ms: number, signal: AbortSignal, wake: { notify?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      wake.notify = undefined;
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
    wake.notify = done;
  });
}

export const topCommand: Command = {
  name: "top",
  summary: "the guests' state, CPU %, heap and sockets, refreshed live",
  usage: `oz top [-d SECONDS] [-n COUNT] [--json] [--remote URL] [--token-file FILE]

Shows what 'oz ps' shows and refreshes it every SECONDS (default 1); CPU % is measured over the last
interval. On a terminal the screen is redrawn in place and 'q' or Ctrl-C quits; otherwise each refresh
is printed as plain lines (with a time line first), until Ctrl-C, SIGTERM or COUNT refreshes.
--json prints one JSON array per refresh, one line each (objects as in 'oz ps --json').

${REMOTE_USAGE}

${EXIT_USAGE_TEXT} Quitting with q or Ctrl-C is a success.`,
  async run(argv, io) {
    const { positional, options } = parse(argv, { delay: { value: true, short: "d" }, iterations: { value: true, short: "n" } });
    if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
    const intervalMs = positiveNumber(options.delay, "-d", 1) * 1000;
    const count = options.iterations === undefined ? Infinity : positiveNumber(options.iterations, "-n", 1);
    if (!Number.isInteger(count) && count !== Infinity) throw new UsageError("-n needs a whole number");
    const url = remoteUrl(options, io.env);
    const client = await openClient(url, options, io.env);
    const controller = new AbortController();
    const outer = io.interrupts?.();
    const onOuter = () => controller.abort();
    outer?.addEventListener("abort", onOuter);
    const wake: { notify?: () => void } = {};
    const live = io.isTTY === true && !options.json;
    const stdin = io.stdin;
    let onKey: ((data: Buffer | string) => void) | undefined;
    if (live && stdin?.isTTY && stdin.setRawMode) {
      stdin.setRawMode(true);
      onKey = (data) => {
        const s = data.toString();
        if (s.includes("q") || s.includes("Q") || s.includes("\x03")) controller.abort();
        else wake.notify?.();
      };
      stdin.on("data", onKey);
      stdin.resume();
    }
    // on a terminal: the alternate screen (as top(1)), without the cursor; each refresh redraws it
    if (live) io.out("\x1b[?1049h\x1b[?25l");
    const previous = new Map<string, { cpuMs: number; at: number }>();
    try {
      for (let frame = 0; frame < count && !controller.signal.aborted; frame++) {
        const guests = await client.hypervisor.list();
        const at = performance.now();
        const rows = guests.map((info) => {
          const before = previous.get(info.name);
          const cpu = before && at > before.at && info.stats.cpuMs >= before.cpuMs
            ? ((info.stats.cpuMs - before.cpuMs) / (at - before.at)) * 100
            : lifetimeCpuPercent(info);
          previous.set(info.name, { cpuMs: info.stats.cpuMs, at });
          return { info, cpu };
        });
        rows.sort((a, b) => b.cpu - a.cpu || a.info.name.localeCompare(b.info.name));
        if (options.json) {
          io.out(`${JSON.stringify(rows.map((r) => guestRecord(r.info, r.cpu)))}\n`);
        } else {
          const counts = new Map<string, number>();
          for (const g of guests) counts.set(g.state, (counts.get(g.state) ?? 0) + 1);
          const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
          const head = `oz top - ${new Date().toLocaleTimeString("en-GB")} - ${url} - ${guests.length} guest${guests.length === 1 ? "" : "s"}${summary ? `: ${summary}` : ""}`;
          const body = guests.length === 0 ? "no guests\n" : guestTable(rows);
          if (live) io.out(`\x1b[H${`${head}   (q quits)\n\n${body}`.replace(/\n/g, "\x1b[K\n")}\x1b[J`);
          else io.out(`${frame > 0 ? "\n" : ""}${head}\n${body}`);
        }
        if (frame + 1 < count) await pause(intervalMs, controller.signal, wake);
      }
      return EXIT_OK;
    } catch (e) {
      throw asCliError(e, url);
    } finally {
      outer?.removeEventListener("abort", onOuter);
      if (onKey && stdin) {
        stdin.off("data", onKey);
        stdin.setRawMode?.(false);
        stdin.pause();
      }
      if (live) io.out("\x1b[?25h\x1b[?1049l");
      await client.close().catch(() => undefined);
    }
  },
};

// ---------------------------------------------------------------------- define

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i;

export function parseSize(text: string, option: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new UsageError(`${option}: not a size: ${JSON.stringify(text)} (bytes, or with K, M, G)`);
  const unit = (m[2] ?? "").toLowerCase()[0];
  const factor = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  const n = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${option}: too large: ${text}`);
  return n;
}

function integer(text: string | true, option: string): number {
  const n = Number(text);
  if (typeof text !== "string" || !/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${option} needs a whole number (got ${JSON.stringify(text)})`);
  return n;
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

const DEFINE_OPTIONS: Record<string, OptionSpec> = {
  image: { value: true },
  upload: { value: true },
  startup: { value: true },
  "startup-file": { value: true },
  cpu: { value: true },
  weight: { value: true },
  memory: { value: true },
  "max-sockets": { value: true },
  "max-file-bytes": { value: true },
  autostart: {},
  "file-in": { value: true },
  start: {},
};

export function configFromOptions(options: Record<string, string | true>): Omit<GuestConfig, "name"> {
  const config: Omit<GuestConfig, "name"> = {};
  if (options.startup !== undefined && options["startup-file"] !== undefined) throw new UsageError("give --startup or --startup-file, not both");
  if (typeof options.startup === "string") config.startup = options.startup;
  if (typeof options["startup-file"] === "string") config.startup = readText(options["startup-file"], "the startup file");
  if (options.cpu !== undefined) {
    const m = typeof options.cpu === "string" ? /^(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(options.cpu.trim()) : null;
    if (!m) throw new UsageError(`--cpu needs QUOTA_MS/PERIOD_MS, e.g. 300/1000 (got ${JSON.stringify(options.cpu)})`);
    config.cpu = { quotaMs: Number(m[1]), periodMs: m[2] === undefined ? 1000 : Number(m[2]) };
  }
  if (options.weight !== undefined) config.weight = integer(options.weight, "--weight");
  if (options.memory !== undefined) config.memoryLimitBytes = parseSize(String(options.memory), "--memory");
  if (options["max-sockets"] !== undefined) config.maxSockets = integer(options["max-sockets"], "--max-sockets");
  if (options["max-file-bytes"] !== undefined) config.maxFileBytes = parseSize(String(options["max-file-bytes"]), "--max-file-bytes");
  if (options.autostart) config.autostart = true;
  return config;
}

export const defineCommand: Command = {
  name: "define",
  summary: "define a guest on the daemon (from the kernel image or an image), optionally file in code and start it",
  usage: `oz define GUEST [--image PATH | --upload FILE] [--startup SOURCE | --startup-file FILE]
          [--cpu QUOTA/PERIOD] [--weight N] [--memory SIZE] [--max-sockets N] [--max-file-bytes SIZE]
          [--autostart] [--file-in FILE.st] [--start] [--json] [--remote URL] [--token-file FILE]

Defines GUEST on the daemon, shut off, from the kernel image, from --image PATH (a file on the daemon's
machine, with the .changes file beside it; admin token), or from --upload FILE (this machine's file,
sent to the daemon; its .changes file is not sent, so methods whose source was in it show none).
  --startup SOURCE      Smalltalk run in a new process each time the guest starts (temporaries allowed)
  --cpu 300/1000        a CPU quota: 300 ms in every 1000 ms (cgroup cpu.max); '300' means 300/1000
  --weight N            its share when several guests want the CPU (default 100)
  --memory SIZE         heap limit (bytes, or 64M, 1G...)
  --max-sockets N, --max-file-bytes SIZE   resource quotas (docs/resources.md)
  --autostart           start it whenever the daemon starts
  --file-in FILE.st     file in chunk-format Smalltalk (classes, methods, doits) into the new guest
                        before it starts; everything is logged to the guest's changes file
  --start               start it afterwards
Prints the guest's state ('shop: running (booted)'); --json prints its info as JSON.

${REMOTE_USAGE}

${EXIT_USAGE_TEXT} When the file-in fails the guest stays defined (exit 1).`,
  async run(argv, io) {
    const { positional, options } = parse(argv, DEFINE_OPTIONS);
    if (positional.length !== 1) throw new UsageError(positional.length === 0 ? "expected the guest's name" : `expected one guest name, got ${positional.length} arguments`);
    const name = positional[0];
    if (options.image !== undefined && options.upload !== undefined) throw new UsageError("give --image or --upload, not both");
    const config = configFromOptions(options);
    let image: string | Uint8Array | undefined = typeof options.image === "string" ? options.image : undefined;
    if (typeof options.upload === "string") {
      try {
        image = new Uint8Array(fs.readFileSync(options.upload));
      } catch (e) {
        throw new CliError(`cannot read the image ${options.upload}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
    }
    const source = typeof options["file-in"] === "string" ? { file: options["file-in"], text: readText(options["file-in"], "the file") } : undefined;
    const url = remoteUrl(options, io.env);
    return withClient(url, options, io.env, async (client) => {
      const p = image instanceof Uint8Array ? progress(io, "oz define", `uploading ${options.upload} (${formatBytes(image.length)}) to ${name}`) : undefined;
      let info: GuestInfo;
      try {
        info = await client.hypervisor.define(name, { image, config });
      } catch (e) {
        p?.fail();
        throw e;
      }
      p?.done(`defined ${name} from ${options.upload}`);
      if (source) {
        const { fileIn, formatFailure } = await import("../../fileIn.js");
        const fp = progress(io, "oz define", `filing ${source.file} into ${name}`);
        const outcome = await fileIn(client.space(name), source.text, { fileName: source.file, doitBudgetMs: 60_000 });
        if (!outcome.ok) {
          fp.fail();
          io.err(`${formatFailure(outcome)}\n`);
          io.err(`oz define: ${name} is defined, without the rest of ${source.file}\n`);
          return EXIT_FAILURE;
        }
        fp.done(`filed ${source.file} into ${name}: ${outcome.methods} method${outcome.methods === 1 ? "" : "s"}, ${outcome.doits} doit${outcome.doits === 1 ? "" : "s"}`);
      }
      if (options.start) info = await client.hypervisor.start(name);
      io.out(options.json ? `${JSON.stringify(info)}\n` : `${name}: ${stateText(info)}\n`);
      return EXIT_OK;
    });
  },
};

// ---------------------------------------------------------------------- lifecycle verbs

type Verb = "start" | "suspend" | "resume" | "interrupt" | "stop" | "destroy" | "snapshot";

const VERB_TEXT: Record<Verb, { summary: string; details: string }> = {
  start: { summary: "start guests (shut off -> running)", details: "Starts each GUEST: loads its image, replays its unsaved changes, runs its startup." },
  suspend: { summary: "pause running guests", details: "Pauses each running GUEST (paused, user): its processes stop; host evaluations (eval, inspect) still run." },
  resume: {
    summary: "resume paused or crashed guests",
    details: "Resumes each paused GUEST; a crashed guest's failing process goes on (after surgery, see 'oz inspect').",
  },
  interrupt: { summary: "stop running guests where they are (paused, interrupt)", details: "Interrupts each running GUEST: it is paused at once and its active process stays exactly where it was." },
  stop: { summary: "shut guests off (snapshot first, unless crashed)", details: "Stops each GUEST: snapshots it (not a crashed one), releases its resources and drops its VM." },
  destroy: {
    summary: "undefine guests (their directory goes to the daemon's trash)",
    details: "Destroys each GUEST without saving it; its directory moves to the daemon's DATA_DIR/trash/.",
  },
  snapshot: { summary: "write guests' images (prints the image file)", details: "Writes each GUEST's image atomically and marks its changes file; prints the image file on the daemon's machine." },
};

function verbCommand(verb: Verb): Command {
  const text = VERB_TEXT[verb];
  return {
    name: verb,
    summary: text.summary,
    usage: `oz ${verb} GUEST... [--json] [--remote URL] [--token-file FILE]

${text.details}
Prints one line per guest (${verb === "snapshot" ? "'shop: /path/shop.image'" : verb === "destroy" ? "'shop: destroyed'" : "'shop: running (booted)'"}); --json prints one JSON object per guest and line
(${verb === "snapshot" ? "name and image" : verb === "destroy" ? "name and destroyed" : "the guest's info: name, state, reason, config, stats"}). A guest that fails is reported on stderr and the others are still done.

${REMOTE_USAGE}

${EXIT_USAGE_TEXT} With several guests, 1 when any failed.`,
    async run(argv, io) {
      const { positional, options } = parse(argv);
      if (positional.length === 0) throw new UsageError("expected one or more guest names");
      const url = remoteUrl(options, io.env);
      return withClient(url, options, io.env, async (client) => {
        let status = EXIT_OK;
        for (const name of positional) {
          try {
            const line = await applyVerb(client, verb, name, options.json === true);
            io.out(`${line}\n`);
          } catch (e) {
            if (!(e instanceof HypervisorError)) throw e;
            io.err(`oz ${verb}: ${e.message}\n`);
            status = EXIT_FAILURE;
          }
        }
        return status;
      });
    },
  };
}

async function applyVerb(client: OzClient, verb: Verb, name: string, json: boolean): Promise<string> {
  const hv = client.hypervisor;
  switch (verb) {
    case "snapshot": {
      const image = await hv.snapshot(name);
      return json ? JSON.stringify({ name, image }) : `${name}: ${image}`;
    }
    case "destroy":
      await hv.destroy(name);
      return json ? JSON.stringify({ name, destroyed: true }) : `${name}: destroyed (its directory is in the daemon's trash)`;
    default: {
      const info = await hv[verb](name);
      return json ? JSON.stringify(info) : `${name}: ${stateText(info)}`;
    }
  }
}

export const startCommand = verbCommand("start");
export const suspendCommand = verbCommand("suspend");
export const resumeCommand = verbCommand("resume");
export const interruptCommand = verbCommand("interrupt");
export const stopCommand = verbCommand("stop");
export const destroyCommand = verbCommand("destroy");
export const snapshotCommand = verbCommand("snapshot");

// ---------------------------------------------------------------------- clone

export const cloneCommand: Command = {
  name: "clone",
  summary: "define a guest as a copy of another (as it is this instant)",
  usage: `oz clone SOURCE TARGET [--start] [--from-file PATH] [--json] [--remote URL] [--token-file FILE]

Defines TARGET as a copy of SOURCE's image as it is this instant (a running SOURCE is not paused), with a
copy of its changes file and its configuration (not autostart). --from-file PATH clones an image file on
the daemon's machine instead (admin token). --start starts TARGET afterwards. A progress line goes to
stderr; the new guest's state to stdout (--json: its info).

${REMOTE_USAGE}

${EXIT_USAGE_TEXT}`,
  async run(argv, io) {
    const { positional, options } = parse(argv, { start: {}, "from-file": { value: true } });
    if (positional.length !== 2) throw new UsageError("expected SOURCE and TARGET");
    const [source, target] = positional;
    const url = remoteUrl(options, io.env);
    return withClient(url, options, io.env, async (client) => {
      const p = progress(io, "oz clone", `cloning ${source} to ${target}`);
      let info: GuestInfo;
      try {
        info = await client.hypervisor.clone(source, target, {
          start: options.start === true,
          fromFile: typeof options["from-file"] === "string" ? options["from-file"] : undefined,
        });
      } catch (e) {
        p.fail();
        throw e;
      }
      p.done(`cloned ${source} to ${target}`);
      io.out(options.json ? `${JSON.stringify(info)}\n` : `${target}: ${stateText(info)}\n`);
      return EXIT_OK;
    });
  },
};

