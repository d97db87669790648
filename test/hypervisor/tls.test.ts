/**
 * TLS: with `tls: {cert, key}` in its configuration the daemon serves HTTPS (and WebSocket over TLS) and
 * gRPC over TLS; clients that trust the certificate connect with `grpcs://` and `wss://`.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/hypervisor/config.js";
import { Daemon } from "../../src/hypervisor/daemon.js";
import { plugin as remotePlugin } from "../../src/remote/daemonPlugin.js";
import { connect } from "../../src/remote/index.js";
import { kernelImage, tempDir } from "./helpers.js";

const running: Daemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop();
});

/** A self-signed certificate for 127.0.0.1, made with openssl. */
function certificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
  ], { stdio: "ignore" });
  return { cert, key };
}

function getJson(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

describe("ozd with TLS", () => {
  it("refuses a tls configuration whose files do not exist, naming the field", () => {
    expect(() => validateConfig({ tls: { cert: "/nonexistent.pem", key: "/nonexistent.key" } })).toThrow(/tls\.cert: no such file/);
    expect(() => validateConfig({ tls: { cert: "x" } })).toThrow(/tls\.key/);
  });

  it("serves /healthz over HTTPS and the remote object spaces over gRPC with TLS and over wss", async () => {
    const dir = tempDir();
    const tls = certificate(dir);
    const ca = fs.readFileSync(tls.cert);
    const config = validateConfig({ dataDir: path.join(dir, "data"), http: "127.0.0.1:0", grpc: "127.0.0.1:0", snapshotIntervalMs: 0, tls });
    const d = await Daemon.start({ config, plugins: [remotePlugin], log: () => undefined, hypervisor: { kernelImage } });
    running.push(d);
    const health = await getJson(`https://${d.httpAddress}/healthz`, ca);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body).status).toBe("ok");
    await d.hypervisor.define("g");
    await d.hypervisor.start("g");
    for (const url of [`grpcs://${d.grpcAddress}`, `wss://${d.httpAddress}/ws`]) {
      const client = await connect(url, d.token, { ca: ca.toString() });
      try {
        const r = await client.space("g").evaluate("3 + 4");
        expect(r.ok && (await r.value.toLocal())).toBe(7);
      } finally {
        await client.close();
      }
    }
  });
});
