/**
 * The daemon in-process on loopback (ephemeral ports, a temporary data directory): the admin token, the
 * data-directory lock, /healthz, the admin API and its errors, the plugin hooks (HTTP routes, WebSocket
 * upgrades, gRPC server options and services), periodic snapshots and the graceful stop.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { validateConfig, type DaemonConfig } from "../../src/hypervisor/config.js";
import { Daemon, DaemonError, sendJson, type DaemonPlugin } from "../../src/hypervisor/daemon.js";
import { kernelImage, tempDir, waitFor } from "./helpers.js";

const running: Daemon[] = [];

afterEach(async () => {
  for (const d of running.splice(0)) await d.stop();
});

function config(dataDir: string, extra: Record<string, unknown> = {}): DaemonConfig {
  return validateConfig({ dataDir, http: "127.0.0.1:0", grpc: "127.0.0.1:0", snapshotIntervalMs: 0, ...extra });
}

async function start(cfg: DaemonConfig, plugins: DaemonPlugin[] = [], log: string[] = []): Promise<Daemon> {
  const d = await Daemon.start({ config: cfg, plugins, log: (l) => log.push(l), hypervisor: { kernelImage } });
  running.push(d);
  return d;
}

async function api(d: Daemon, method: string, p: string, body?: unknown, token: string | null = d.token): Promise<{ status: number; json: any; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://${d.httpAddress}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

describe("ozd in-process", () => {
  it("creates the admin token (0600) on its first start, says where, and reuses it", async () => {
    const dir = tempDir();
    const log: string[] = [];
    const d = await start(config(dir), [], log);
    const file = path.join(dir, "admin.token");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(d.token);
    expect(d.token.length).toBeGreaterThanOrEqual(32);
    expect(log.join("\n")).toContain(`created the admin token in ${file}`);
    expect(log.join("\n")).toContain("OZ_TOKEN");
    expect(JSON.parse(fs.readFileSync(path.join(dir, "ozd.json"), "utf8")).http).toBe(d.httpAddress);
    // one daemon per data directory
    await expect(Daemon.start({ config: config(dir), log: () => undefined, hypervisor: { kernelImage } })).rejects.toThrow(DaemonError);
    await d.stop();
    running.pop();
    expect(fs.existsSync(path.join(dir, "ozd.json"))).toBe(false);
    const again = await start(config(dir));
    expect(again.token).toBe(d.token);
  });

  it("serves /healthz and the admin API, which needs the token", async () => {
    const dir = tempDir();
    const log: string[] = [];
    const d = await start(config(dir, { guests: [{ name: "auto", autostart: true, startup: "Transcript show: 'up'; cr" }] }), [], log);
    expect(log).toContain("ozd: guest auto: running (booted)");
    const health = await api(d, "GET", "/healthz", undefined, null);
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: "ok", guests: [{ name: "auto", state: "running", reason: "booted" }] });

    expect((await api(d, "GET", "/v1/guests", undefined, null)).status).toBe(401);
    expect((await api(d, "GET", "/v1/guests", undefined, "wrong")).status).toBe(401);
    const list = await api(d, "GET", "/v1/guests");
    expect(list.status).toBe(200);
    expect(list.json.map((g: { name: string }) => g.name)).toEqual(["auto"]);

    expect((await api(d, "POST", "/v1/guests/b", { config: { cpu: { quotaMs: 200, periodMs: 1000 } } })).status).toBe(201);
    expect((await api(d, "POST", "/v1/guests/b/start")).json.state).toBe("running");
    const compiled = await api(d, "POST", "/v1/guests/b/evaluate", { source: "Object compile: 'viaHttp ^ 6 * 7' classified: 'test'" });
    expect(compiled.json).toEqual({ ok: true, printString: "#viaHttp" });
    expect((await api(d, "POST", "/v1/guests/b/evaluate", { source: "nil viaHttp" })).json.printString).toBe("42");
    const changes = await api(d, "GET", "/v1/guests/b/changes");
    expect(changes.json).toMatchObject({ entries: [{ kind: "method", className: "Object", selector: "viaHttp", category: "test" }], truncated: false, file: path.join(dir, "guests", "b", "b.changes") });
    expect((await api(d, "GET", "/v1/guests/b/changes?all=1")).json.entries).toHaveLength(1);
    const failed = await api(d, "POST", "/v1/guests/b/evaluate", { source: "nil zork" });
    expect(failed.json).toMatchObject({ ok: false, errorClass: "MessageNotUnderstood" });
    expect((await api(d, "POST", "/v1/guests/b/suspend")).json.reason).toBe("user");
    expect((await api(d, "POST", "/v1/guests/b/resume")).json.reason).toBe("unpaused");
    expect((await api(d, "POST", "/v1/guests/b/interrupt")).json.reason).toBe("interrupt");
    expect((await api(d, "POST", "/v1/guests/b/resume")).json.state).toBe("running");
    expect((await api(d, "POST", "/v1/guests/b/snapshot")).json.image).toBe(path.join(dir, "guests", "b", "b.image"));
    expect((await api(d, "POST", "/v1/guests/b/clone", { target: "c" })).status).toBe(201);
    expect((await api(d, "PUT", "/v1/guests/c/config", { weight: 200 })).json.config.weight).toBe(200);
    expect((await api(d, "POST", "/v1/guests/b/stop")).json.reason).toBe("stopped");
    expect((await api(d, "DELETE", "/v1/guests/c")).json).toEqual({ destroyed: "c" });
    await waitFor(async () => (await api(d, "GET", "/v1/guests/auto/transcript")).text === "up\n", "the Transcript");
    expect((await api(d, "GET", "/v1/daemon")).json.stats.startedAt).toBeGreaterThan(0);

    // errors
    expect((await api(d, "GET", "/v1/guests/nobody")).json.error.code).toBe("notFound");
    expect((await api(d, "GET", "/v1/guests/nobody")).status).toBe(404);
    expect((await api(d, "POST", "/v1/guests/auto/start")).status).toBe(409);
    const bad = await api(d, "POST", "/v1/guests/x", { config: { cpu: { quotaMs: 5 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/config\.cpu\.periodMs: is missing/);
    expect((await api(d, "POST", "/v1/guests/auto/fly")).status).toBe(404);
    expect((await api(d, "GET", "/nowhere", undefined, null)).status).toBe(404);
  });

  it("lets plugins register HTTP routes, WebSocket upgrades, gRPC options and guest hooks", async () => {
    const calls: string[] = [];
    const plugin: DaemonPlugin = {
      name: "test",
      grpcOptions: { "grpc.max_receive_message_length": 1234 },
      setup(d) {
        calls.push("setup");
        d.registerHttpRoute("/metrics", (_req, res) => {
          res.writeHead(200, { "content-type": "text/plain" });
          res.end("oz_up 1\n");
        });
        d.registerHttpRoute("/private", (_req, res) => sendJson(res, 200, { secret: true }), { auth: true });
        d.registerUpgrade("/ws", (_req, socket) => {
          socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n");
        });
        expect(d.grpcServer).toBeDefined();
        d.hypervisor.addGuestHook({
          attach(guest) {
            calls.push(`attach ${guest.name}`);
            return { stats: () => ({ socketsOpen: 2 }), release: (reason) => void calls.push(`release ${guest.name} ${reason}`) };
          },
        });
      },
      started: () => void calls.push("started"),
      stop: () => void calls.push("stop"),
    };
    const d = await start(config(tempDir(), { guests: [{ name: "g", autostart: true }] }), [plugin]);
    expect(calls).toEqual(["setup", "attach g", "started"]);
    expect((await api(d, "GET", "/metrics", undefined, null)).text).toBe("oz_up 1\n");
    expect((await api(d, "GET", "/private", undefined, null)).status).toBe(401);
    expect((await api(d, "GET", "/private")).json).toEqual({ secret: true });
    expect(d.hypervisor.info("g").stats.socketsOpen).toBe(2);
    expect(d.hypervisor.daemonStats().socketsOpen).toBe(2);
    // upgrades go to the registered handler; others are refused
    const upgrade = async (p: string) => {
      const [host, port] = [d.httpAddress!.split(":")[0], Number(d.httpAddress!.split(":")[1])];
      const socket = net.connect(port, host);
      socket.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n`);
      let data = "";
      for await (const chunk of socket) data += chunk;
      return data.split("\r\n")[0];
    };
    expect(await upgrade("/ws")).toBe("HTTP/1.1 101 Switching Protocols");
    expect(await upgrade("/other")).toBe("HTTP/1.1 404 Not Found");
    await d.hypervisor.stop("g");
    expect(calls).toContain("release g stop");
    await d.stop();
    running.pop();
    expect(calls[calls.length - 1]).toBe("stop");
  });

  it("snapshots periodically and at a graceful stop", async () => {
    const dir = tempDir();
    const d = await start(config(dir, { snapshotIntervalMs: 200, guests: [{ name: "p", autostart: true, startup: "[true] whileTrue: [(Delay forMilliseconds: 10) wait]" }] }));
    const changes = path.join(dir, "guests", "p", "p.changes");
    const markers = () => (fs.readFileSync(changes, "utf8").match(/----SNAPSHOT----/g) ?? []).length;
    await waitFor(() => markers() >= 2, "two periodic snapshots");
    const before = markers();
    await d.stop();
    running.pop();
    expect(markers()).toBe(before + 1);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, "guests", "p", "guest.json"), "utf8"));
    expect(meta).toMatchObject({ desired: "running", lastState: "shutoff", lastReason: "shutdown" });
  });
});
