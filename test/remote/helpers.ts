/**
 * Test fixtures: the daemon's Hypervisor on a temporary data directory, with guests, a remote server on
 * ephemeral loopback ports, tokens for each role, and clients; `close()` stops everything that was
 * started and removes the directory.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Hypervisor } from "../../src/hypervisor/hypervisor.js";
import { kernelImageBytes } from "../../src/tools/kernelImage.js";
import { StaticAuthenticator, type Authenticator } from "../../src/remote/auth.js";
import { startRemoteServer, type RemoteServerOptions, type RunningRemoteServer } from "../../src/remote/server.js";
import { connect, type ConnectOptions, type OzClient } from "../../src/remote/client/connect.js";

export const TOKENS = { read: "read-token-0123456789", control: "control-token-0123456789", admin: "admin-token-0123456789" } as const;

let kernel: Promise<Uint8Array> | undefined;
const kernelImage = () => (kernel ??= kernelImageBytes());

export interface Fixture {
  hv: Hypervisor;
  server: RunningRemoteServer;
  url(transport: "grpc" | "ws"): string;
  connect(transport: "grpc" | "ws", token?: string, options?: ConnectOptions): Promise<OzClient>;
  close(): Promise<void>;
}

export async function startFixture(options: { guests?: string[]; server?: RemoteServerOptions; auth?: Authenticator } = {}): Promise<Fixture> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-remote-test-"));
  const hv = await Hypervisor.open({ dataDir, kernelImage });
  for (const g of options.guests ?? ["alpha"]) await hv.define(g);
  const auth = options.auth ?? new StaticAuthenticator({ [TOKENS.read]: "read", [TOKENS.control]: "control", [TOKENS.admin]: "admin" });
  const server = await startRemoteServer(hv, auth, { host: "127.0.0.1", grpcPort: 0, httpPort: 0, ...options.server });
  const clients: OzClient[] = [];
  return {
    hv,
    server,
    url: (t) => (t === "grpc" ? server.grpcUrl : server.wsUrl!),
    async connect(t, token = TOKENS.control, o) {
      const c = await connect(t === "grpc" ? server.grpcUrl : server.wsUrl!, token, o);
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await server.close();
      await hv.shutdown();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
