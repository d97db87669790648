/**
 * ozd, the daemon: a hypervisor (hypervisor.ts) with a data directory, an admin token, an HTTP server
 * (`/healthz`, the small admin API under `/v1/`, and whatever plugins register: `/metrics`, the
 * WebSocket endpoint `/ws`), a gRPC server that plugins fill with services, periodic snapshots, and a
 * graceful shutdown that snapshots every running guest.
 *
 * Plugins are how the other parts plug in without the daemon knowing them:
 *
 *   const plugin: DaemonPlugin = {
 *     name: "metrics",
 *     setup(daemon) {                                    // before the servers listen
 *       daemon.registerHttpRoute("/metrics", async (req, res) => { ... });
 *       daemon.registerUpgrade("/ws", (req, socket, head) => { ... });
 *       daemon.grpcServer?.addService(service, implementation);
 *     },
 *     stop(daemon) { ... },                             // at shutdown, before the guests are saved
 *   };
 *
 * `src/hypervisor/plugins.ts` lists the plugins `ozd` loads.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import * as crypto from "node:crypto";
import type { Duplex } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { splitAddress, type DaemonConfig } from "./config.js";
import { Hypervisor, type HypervisorOptions } from "./hypervisor.js";
import { HypervisorError } from "./types.js";
import { writeFileAtomic } from "./guest.js";
import { adminRoutes } from "./adminApi.js";
import { HttpError, httpStatus, sendJson } from "./http.js";

export { HttpError, httpStatus, readJsonBody, sendJson } from "./http.js";

export interface DaemonPlugin {
  name: string;
  /** options for the daemon's gRPC server (message size limits...), merged before it is created */
  grpcOptions?: grpc.ServerOptions;
  /** before the servers listen: register HTTP routes, WebSocket upgrades, gRPC services, guest hooks */
  setup?(daemon: Daemon): void | Promise<void>;
  /** after the servers listen and the guests started */
  started?(daemon: Daemon): void | Promise<void>;
  /** at shutdown, before the guests are snapshotted */
  stop?(daemon: Daemon): void | Promise<void>;
}

export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse, daemon: Daemon) => void | Promise<void>;
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer, daemon: Daemon) => void;

export interface HttpRouteOptions {
  /** the route serves every path under `path` ("/v1/" serves "/v1/guests/a") */
  prefix?: boolean;
  /** requests must carry the admin token (Authorization: Bearer TOKEN) */
  auth?: boolean;
}

export interface DaemonOptions {
  config: DaemonConfig;
  plugins?: DaemonPlugin[];
  /** the daemon's log (default: stdout) */
  log?: (line: string) => void;
  /** extra hypervisor options (tests pass the kernel image) */
  hypervisor?: Partial<HypervisorOptions>;
}

export class DaemonError extends Error {
  override name = "DaemonError";
}

interface Route {
  path: string;
  handler: HttpHandler;
  options: HttpRouteOptions;
}

const TOKEN_FILE = "admin.token";
const LOCK_FILE = "ozd.pid";
const STATE_FILE = "ozd.json";

/** Reads the admin token of a data directory (clients: OZ_TOKEN). */
export function readToken(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, TOKEN_FILE), "utf8").trim();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class Daemon {
  readonly config: DaemonConfig;
  readonly dataDir: string;
  readonly hypervisor: Hypervisor;
  readonly token: string;
  readonly tokenFile: string;
  /** the gRPC server (undefined when the configuration has no gRPC address); add services in `setup` */
  readonly grpcServer: grpc.Server | undefined;
  httpServer: http.Server | undefined;
  /** the addresses actually bound (port 0 in the configuration becomes a real port) */
  httpAddress: string | undefined;
  grpcAddress: string | undefined;
  readonly startedAt = Date.now();
  readonly log: (line: string) => void;
  private readonly routes: Route[] = [];
  private readonly upgrades = new Map<string, UpgradeHandler>();
  private readonly plugins: DaemonPlugin[];
  private stopping: Promise<void> | undefined;
  private stopped = false;

  private constructor(options: DaemonOptions, hypervisor: Hypervisor, token: string, tokenFile: string) {
    this.config = options.config;
    this.dataDir = hypervisor.dataDir;
    this.hypervisor = hypervisor;
    this.token = token;
    this.tokenFile = tokenFile;
    this.plugins = options.plugins ?? [];
    this.log = options.log ?? ((line) => void process.stdout.write(`${line}\n`));
    const grpcOptions: grpc.ServerOptions = {};
    for (const plugin of this.plugins) Object.assign(grpcOptions, plugin.grpcOptions ?? {});
    this.grpcServer = options.config.grpc ? new grpc.Server(grpcOptions) : undefined;
  }

  /** Starts a daemon: data directory, token, guests (recovered), servers, plugins, autostart. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const log = options.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
    const config = options.config;
    const dataDir = path.resolve(config.dataDir);
    try {
      fs.mkdirSync(dataDir, { recursive: true });
    } catch (e) {
      throw new DaemonError(`cannot create the data directory ${dataDir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    Daemon.lock(dataDir);
    let daemon: Daemon | undefined;
    try {
      const { token, tokenFile } = Daemon.adminToken(dataDir, log);
      const hypervisor = await Hypervisor.open({
        dataDir, heartbeatMs: config.heartbeatMs, sliceMs: config.sliceMs, logTranscripts: config.logTranscripts, log, ...options.hypervisor,
      });
      daemon = new Daemon({ ...options, log }, hypervisor, token, tokenFile);
      await daemon.boot();
      return daemon;
    } catch (e) {
      if (daemon) await daemon.stop().catch(() => undefined);
      else Daemon.unlock(dataDir);
      throw e;
    }
  }

  // ------------------------------------------------------------------ data directory

  /** data directories locked by daemons of this process */
  private static readonly locked = new Set<string>();

  private static lock(dataDir: string): void {
    if (Daemon.locked.has(dataDir)) throw new DaemonError(`another ozd in this process is using ${dataDir}`);
    const file = path.join(dataDir, LOCK_FILE);
    try {
      const pid = Number(fs.readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DaemonError(`another ozd (pid ${pid}) is using ${dataDir}`);
      }
    } catch (e) {
      if (e instanceof DaemonError) throw e;
    }
    fs.writeFileSync(file, `${process.pid}\n`);
    Daemon.locked.add(dataDir);
  }

  private static unlock(dataDir: string): void {
    Daemon.locked.delete(dataDir);
    for (const name of [LOCK_FILE, STATE_FILE]) {
      try {
        const file = path.join(dataDir, name);
        if (name === LOCK_FILE && Number(fs.readFileSync(file, "utf8").trim()) !== process.pid) continue;
        fs.unlinkSync(file);
      } catch {
        // already gone
      }
    }
  }

  /** The admin token: created (random, mode 0600) on the first start. */
  private static adminToken(dataDir: string, log: (line: string) => void): { token: string; tokenFile: string } {
    const tokenFile = path.join(dataDir, TOKEN_FILE);
    if (!fs.existsSync(tokenFile)) {
      const token = crypto.randomBytes(32).toString("base64url");
      writeFileAtomic(tokenFile, `${token}\n`, 0o600);
      fs.chmodSync(tokenFile, 0o600);
      log(`ozd: created the admin token in ${tokenFile} (mode 0600); clients pass it in OZ_TOKEN, e.g. OZ_TOKEN=$(cat ${tokenFile})`);
      return { token, tokenFile };
    }
    const mode = fs.statSync(tokenFile).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      fs.chmodSync(tokenFile, 0o600);
      log(`ozd: ${tokenFile} was readable by others (mode ${mode.toString(8)}); it is now 0600`);
    }
    const token = fs.readFileSync(tokenFile, "utf8").trim();
    if (token.length < 16) throw new DaemonError(`${tokenFile} does not hold a token (delete it to get a new one)`);
    log(`ozd: admin token in ${tokenFile}`);
    return { token, tokenFile };
  }

  // ------------------------------------------------------------------ routes

  /** Serves `path` (exactly, or everything under it with `prefix`) on the daemon's HTTP port. */
  registerHttpRoute(routePath: string, handler: HttpHandler, options: HttpRouteOptions = {}): void {
    if (this.routes.some((r) => r.path === routePath)) throw new DaemonError(`the HTTP route ${routePath} is already registered`);
    this.routes.push({ path: routePath, handler, options });
  }

  /** Hands HTTP upgrade requests (WebSockets) for `path` to `handler`. */
  registerUpgrade(upgradePath: string, handler: UpgradeHandler): void {
    if (this.upgrades.has(upgradePath)) throw new DaemonError(`the upgrade route ${upgradePath} is already registered`);
    this.upgrades.set(upgradePath, handler);
  }

  /** Compares a token with the admin token (in constant time). */
  checkToken(token: string | undefined | null): boolean {
    if (!token) return false;
    const a = Buffer.from(token);
    const b = Buffer.from(this.token);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }

  /** The token of a request: `Authorization: Bearer TOKEN` or `x-oz-token: TOKEN`. */
  static requestToken(req: http.IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (auth?.startsWith("Bearer ")) return auth.slice(7).trim();
    const header = req.headers["x-oz-token"];
    return typeof header === "string" ? header : undefined;
  }

  authorized(req: http.IncomingMessage): boolean {
    return this.checkToken(Daemon.requestToken(req));
  }

  private route(pathname: string): Route | undefined {
    let best: Route | undefined;
    for (const r of this.routes) {
      const match = r.options.prefix ? pathname === r.path || pathname.startsWith(r.path.endsWith("/") ? r.path : `${r.path}/`) : pathname === r.path;
      if (match && (!best || r.path.length > best.path.length)) best = r;
    }
    return best;
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = this.route(pathname);
    if (!route) return sendJson(res, 404, { error: { code: "notFound", message: `no route ${pathname}` } });
    if (route.options.auth && !this.authorized(req)) {
      return sendJson(res, 401, { error: { code: "unauthenticated", message: "pass the admin token: Authorization: Bearer $OZ_TOKEN" } });
    }
    try {
      await route.handler(req, res, this);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HypervisorError) return sendJson(res, httpStatus(e.code), { error: { code: e.code, message: e.message } });
      if (e instanceof HttpError) return sendJson(res, e.status, { error: { code: e.code, message: e.message } });
      sendJson(res, 500, { error: { code: "internal", message: e instanceof Error ? e.message : String(e) } });
    }
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    const handler = this.upgrades.get(pathname);
    if (!handler) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    try {
      handler(req, socket, head, this);
    } catch {
      socket.destroy();
    }
  }

  // ------------------------------------------------------------------ lifecycle

  private async boot(): Promise<void> {
    const hv = this.hypervisor;
    await hv.applyConfig(this.config.guests);
    this.registerHttpRoute("/healthz", (_req, res) => sendJson(res, 200, this.health()));
    for (const [p, handler] of Object.entries(adminRoutes)) this.registerHttpRoute(p, handler, { prefix: true, auth: true });
    for (const plugin of this.plugins) {
      try {
        await plugin.setup?.(this);
      } catch (e) {
        throw new DaemonError(`the ${plugin.name} plugin failed to set up: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (this.config.http) await this.listenHttp(this.config.http);
    if (this.config.grpc && this.grpcServer) await this.bindGrpc(this.config.grpc);
    await hv.autostart();
    for (const name of hv.names()) this.log(`ozd: guest ${name}: ${hv.stateLine(name)}`);
    hv.subscribe((event) => {
      if (event.type === "state" && (event.state === "crashed" || event.state === "shutoff")) {
        this.log(`ozd: guest ${event.guest}: ${event.state} (${event.reason})`);
      }
    });
    hv.startPeriodicSnapshots(this.config.snapshotIntervalMs);
    for (const plugin of this.plugins) {
      try {
        await plugin.started?.(this);
      } catch (e) {
        this.log(`ozd: the ${plugin.name} plugin failed after start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    writeFileAtomic(path.join(this.dataDir, STATE_FILE), `${JSON.stringify({ pid: process.pid, http: this.httpAddress ?? null, grpc: this.grpcAddress ?? null, startedAt: new Date(this.startedAt).toISOString() })}\n`);
    this.log(`ozd: ready; data ${this.dataDir}; http ${this.httpAddress ?? "off"}; grpc ${this.grpcAddress ?? "off"}`);
  }

  private listenHttp(address: string): Promise<void> {
    const { host, port } = splitAddress(address);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.serve(req, res);
    const tls = this.config.tls;
    const server = tls
      ? https.createServer({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) }, handler)
      : http.createServer(handler);
    server.on("upgrade", (req, socket, head) => this.upgrade(req, socket, head));
    server.keepAliveTimeout = 5000;
    this.httpServer = server;
    return new Promise((resolve, reject) => {
      server.once("error", (e) => reject(new DaemonError(`cannot listen on ${address} (http): ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      server.listen(port, host, () => {
        const a = server.address();
        if (a && typeof a === "object") this.httpAddress = `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
        resolve();
      });
    });
  }

  private bindGrpc(address: string): Promise<void> {
    const server = this.grpcServer!;
    const { host } = splitAddress(address);
    return new Promise((resolve, reject) => {
      const tls = this.config.tls;
      const credentials = tls
        ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: fs.readFileSync(tls.cert), private_key: fs.readFileSync(tls.key) }], false)
        : grpc.ServerCredentials.createInsecure();
      server.bindAsync(address, credentials, (error, port) => {
        if (error) return reject(new DaemonError(`cannot listen on ${address} (grpc): ${error.message}`));
        this.grpcAddress = `${host.includes(":") ? `[${host}]` : host}:${port}`;
        resolve();
      });
    });
  }

  health(): Record<string, unknown> {
    return {
      status: this.stopping ? "stopping" : "ok",
      pid: process.pid,
      uptimeMs: Date.now() - this.startedAt,
      guests: this.hypervisor.names().map((name) => {
        const g = this.hypervisor.guest(name);
        return { name, state: g.state, reason: g.reason };
      }),
    };
  }

  /** Graceful shutdown: plugins stop, servers close, running guests are snapshotted. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.log("ozd: shutting down: saving the running guests");
    for (const plugin of [...this.plugins].reverse()) {
      try {
        await plugin.stop?.(this);
      } catch (e) {
        this.log(`ozd: the ${plugin.name} plugin failed to stop: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const closing: Array<Promise<void>> = [];
    if (this.httpServer) {
      const server = this.httpServer;
      closing.push(new Promise((resolve) => server.close(() => resolve())));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    }
    if (this.grpcServer) {
      const server = this.grpcServer;
      closing.push(new Promise((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }));
    }
    await this.hypervisor.shutdown();
    await Promise.all(closing);
    Daemon.unlock(this.dataDir);
    this.stopped = true;
    this.log("ozd: stopped");
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}
