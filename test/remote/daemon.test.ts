/**
 * ozd serves the remote object spaces: the remote plugin registers the gRPC services (with health and
 * reflection) on the daemon's gRPC port and `/ws` on its HTTP port; the admin token of the data directory
 * works, tokens made with CreateToken land in tokens.json and work on both transports.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/hypervisor/config.js";
import { Daemon } from "../../src/hypervisor/daemon.js";
import { connect, type OzClient } from "../../src/remote/client/connect.js";
import { plugin, remoteServicesOf } from "../../src/remote/daemonPlugin.js";
import { kernelImageBytes } from "../../src/tools/kernelImage.js";
import { RawGrpc } from "./raw.js";

let dir: string;
let daemon: Daemon;
const clients: OzClient[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ozd-remote-"));
  const kernel = kernelImageBytes();
  daemon = await Daemon.start({
    config: validateConfig({
      dataDir: dir, http: "127.0.0.1:0", grpc: "127.0.0.1:0", snapshotIntervalMs: 0,
      guests: [{ name: "web", autostart: true }, { name: "idle" }],
    }),
    plugins: [plugin],
    log: () => undefined,
    hypervisor: { kernelImage: () => kernel },
  });
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await daemon?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function client(url: string, token: string): Promise<OzClient> {
  const c = await connect(url, token);
  clients.push(c);
  return c;
}

describe("ozd with the remote plugin", () => {
  it("serves both transports with the admin token of the data directory", async () => {
    expect(remoteServicesOf(daemon)).toBeDefined();
    for (const url of [`grpc://${daemon.grpcAddress}`, `ws://${daemon.httpAddress}/ws`]) {
      const oz = await client(url, daemon.token);
      expect(oz.role).toBe("admin");
      const guests = await oz.hypervisor.list();
      expect(guests.map((g) => [g.name, g.state])).toEqual([["idle", "shutoff"], ["web", "running"]]);
      const r = await oz.space("web").evaluate("(3 @ 4) + 1");
      expect(r.ok && r.printString).toBe("(4@5)");
      const d = await (r.ok ? r.value : await oz.space("web").nilObject()).describe();
      expect(d.className).toBe("Point");
      expect(d.namedFields.map((f) => f.name)).toEqual(["x", "y"]);
    }
  });

  it("health and reflection on the daemon's gRPC port", async () => {
    const raw = new RawGrpc(`grpc://${daemon.grpcAddress}`);
    try {
      expect((await raw.call("grpc.health.v1.Health.Check", { service: "oz.v1.Hypervisor" }, RawGrpc.metadata())).reply).toEqual({ status: "SERVING" });
      const m = raw.method("grpc.reflection.v1.ServerReflection.ServerReflectionInfo");
      const call = raw.client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, RawGrpc.metadata(daemon.token));
      const reply = await new Promise<any>((resolve, reject) => {
        call.on("data", (r) => {
          resolve(r);
          call.end();
        });
        call.on("error", reject);
        call.write({ listServices: "*" });
      });
      expect(reply.listServicesResponse.service.map((s: { name: string }) => s.name)).toContain("oz.v1.ObjectSpace");
    } finally {
      raw.close();
    }
  });

  it("tokens made with CreateToken are stored in tokens.json and have their role", async () => {
    const admin = await client(`grpc://${daemon.grpcAddress}`, daemon.token);
    const read = await admin.hypervisor.createToken("read", "dashboard");
    const control = await admin.hypervisor.createToken("control", "ci");
    const stored = JSON.parse(fs.readFileSync(path.join(dir, "tokens.json"), "utf8"));
    expect(stored.tokens.map((t: { name: string; role: string }) => [t.name, t.role])).toEqual([["dashboard", "read"], ["ci", "control"]]);
    const reader = await client(`ws://${daemon.httpAddress}/ws`, read.token);
    expect(reader.role).toBe("read");
    await expect(reader.hypervisor.start("idle")).rejects.toMatchObject({ code: "permissionDenied" });
    const controller = await client(`grpc://${daemon.grpcAddress}`, control.token);
    const started = await controller.hypervisor.start("idle");
    expect(started.state).toBe("running");
    await controller.hypervisor.stop("idle");
    await admin.hypervisor.revokeToken(read.id);
    await expect(reader.hypervisor.list()).rejects.toMatchObject({ code: "unauthenticated" });
  });

  it("handles of a guest that stops are gone (its space is unloaded)", async () => {
    const oz = await client(`grpc://${daemon.grpcAddress}`, daemon.token);
    await oz.hypervisor.start("idle");
    const m = await oz.space("idle").fromLocal([1, 2, 3]);
    expect(await m.toLocal()).toEqual([1, 2, 3]);
    await oz.hypervisor.stop("idle");
    await expect(m.toLocal()).rejects.toMatchObject({ name: "MembraneError", code: "released" });
  });
});
