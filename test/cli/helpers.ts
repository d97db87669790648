/**
 * Helpers for the CLI tests: `oz` in-process (`main(argv, io)` with captured output), a daemon in-process
 * (the real Daemon with the remote plugin on ephemeral loopback ports and a temporary data directory),
 * and the real programs as child processes (`node bin/ozd.js`, `node bin/oz.js`). Everything a test
 * starts is stopped by it (or at the latest when the test process exits).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/tools/cli/oz.js";
import type { CommandIO } from "../../src/tools/cli/io.js";
import { validateConfig } from "../../src/hypervisor/config.js";
import { Daemon } from "../../src/hypervisor/daemon.js";
import type { GuestConfig } from "../../src/hypervisor/types.js";
import { plugin } from "../../src/remote/daemonPlugin.js";
import { kernelImageBytes } from "../../src/tools/kernelImage.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const OZ = path.join(ROOT, "bin", "oz.js");
export const OZD = path.join(ROOT, "bin", "ozd.js");
/** the child-process tests need the build (npm install builds it; so does npm run build) */
export const BUILT = fs.existsSync(path.join(ROOT, "dist", "src", "tools", "cli", "oz.js")) && fs.existsSync(path.join(ROOT, "dist", "src", "tools", "inspector", "inspector.js"));

const tempDirs: string[] = [];
const children = new Set<ChildProcess>();

/** Kills the children still running and removes the temporary directories (each test file's afterAll). */
export function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
process.once("exit", cleanup);

export function tempDir(prefix = "oz-cli-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(test: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await test()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface OzResult {
  code: number;
  out: string;
  err: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** aborting it plays Ctrl-C for following commands (top, logs -f) */
  signal?: AbortSignal;
  /** called with the output so far, as it comes */
  onOut?: (out: string) => void;
}

/** `oz ARGS...` in-process. */
export async function oz(argv: string[], options: RunOptions = {}): Promise<OzResult> {
  let out = "";
  let err = "";
  const io: CommandIO = {
    out: (t) => {
      out += t;
      options.onOut?.(out);
    },
    err: (t) => void (err += t),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, OZ_IMAGE: process.env.OZ_IMAGE, ...options.env },
    interrupts: () => options.signal ?? new AbortController().signal,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

let kernel: Promise<Uint8Array> | undefined;
const kernelImage = () => (kernel ??= kernelImageBytes());

export interface TestDaemon {
  daemon: Daemon;
  dir: string;
  grpc: string;
  ws: string;
  token: string;
  /** env for oz: OZ_TOKEN and OZ_REMOTE (gRPC unless told) */
  env(transport?: "grpc" | "ws"): Record<string, string>;
  stop(): Promise<void>;
}

/** ozd in-process with the remote plugin, on ephemeral loopback ports. */
export async function startDaemon(guests: GuestConfig[] = []): Promise<TestDaemon> {
  const dir = tempDir("oz-cli-daemon-");
  const daemon = await Daemon.start({
    config: validateConfig({ dataDir: dir, http: "127.0.0.1:0", grpc: "127.0.0.1:0", snapshotIntervalMs: 0, guests }),
    plugins: [plugin],
    log: () => undefined,
    hypervisor: { kernelImage },
  });
  const grpc = `grpc://${daemon.grpcAddress}`;
  const ws = `ws://${daemon.httpAddress}/ws`;
  return {
    daemon,
    dir,
    grpc,
    ws,
    token: daemon.token,
    env: (t = "grpc") => ({ OZ_TOKEN: daemon.token, OZ_REMOTE: t === "grpc" ? grpc : ws }),
    stop: () => daemon.stop(),
  };
}

// ---------------------------------------------------------------------- child processes

export interface Child {
  proc: ChildProcess;
  out(): string;
  err(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnChild(args: string[], options: { env?: Record<string, string | undefined>; stdin?: string } = {}): Child {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, OZ_TOKEN: undefined, OZ_REMOTE: undefined, ...options.env },
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  children.add(proc);
  let out = "";
  let err = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => void (out += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => void (err += d));
  if (options.stdin !== undefined) proc.stdin!.end(options.stdin);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    }),
  );
  return { proc, out: () => out, err: () => err, exit };
}

/** `node bin/oz.js ARGS...` to its end. */
export async function ozChild(args: string[], options: { env?: Record<string, string | undefined>; stdin?: string } = {}): Promise<OzResult> {
  const child = spawnChild([OZ, ...args], options);
  const { code } = await child.exit;
  return { code: code ?? -1, out: child.out(), err: child.err() };
}

export interface ChildDaemon {
  child: Child;
  dir: string;
  /** HOST:PORT of its HTTP server */
  http: string;
  grpc: string;
  ws: string;
  token: string;
  env(transport?: "grpc" | "ws"): Record<string, string>;
  stop(): Promise<void>;
}

/** `node bin/ozd.js --data TMP --grpc 127.0.0.1:0 --http 127.0.0.1:0 [--config FILE]`, ready. */
export async function startDaemonChild(config?: unknown): Promise<ChildDaemon> {
  const dir = tempDir("oz-cli-ozd-");
  const args = [OZD, "--data", dir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"];
  if (config !== undefined) {
    const file = path.join(dir, "test-config.json");
    fs.writeFileSync(file, JSON.stringify(config));
    args.push("--config", file);
  }
  const child = spawnChild(args);
  await Promise.race([
    waitFor(() => /ozd: ready/.test(child.out()), "ozd to be ready", 60_000),
    child.exit.then(({ code }) => {
      throw new Error(`ozd exited (${code}): ${child.err()}${child.out()}`);
    }),
  ]);
  const state = JSON.parse(fs.readFileSync(path.join(dir, "ozd.json"), "utf8")) as { grpc: string; http: string };
  const token = fs.readFileSync(path.join(dir, "admin.token"), "utf8").trim();
  const grpc = `grpc://${state.grpc}`;
  const ws = `ws://${state.http}/ws`;
  return {
    child,
    dir,
    http: state.http,
    grpc,
    ws,
    token,
    env: (t = "grpc") => ({ OZ_TOKEN: token, OZ_REMOTE: t === "grpc" ? grpc : ws }),
    async stop() {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
      child.proc.kill("SIGTERM");
      const timer = setTimeout(() => child.proc.kill("SIGKILL"), 15_000);
      await child.exit;
      clearTimeout(timer);
    },
  };
}

/** A guest's state, from the daemon's /healthz (no token, no child process). */
export async function guestState(d: { http: string }, name: string): Promise<string | undefined> {
  const health = (await (await fetch(`http://${d.http}/healthz`)).json()) as { guests: Array<{ name: string; state: string }> };
  return health.guests.find((g) => g.name === name)?.state;
}

/** examples/shop.st: Shop>>average divides by Shop>>count, which answers 0 (the walk-through's bug). */
export const SHOP_FILE = path.join(ROOT, "examples", "shop.st");
export const SHOP_ST = fs.readFileSync(SHOP_FILE, "utf8");

/** The walk-through's startup (README.md): it prints the average, so the guest crashes. */
export const SHOP_STARTUP = "Transcript show: 'average: ', Shop new average printString; cr";
