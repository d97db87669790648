/**
 * The remote services in ozd (loaded through src/hypervisor/plugins.ts): the Hypervisor and ObjectSpace
 * gRPC services, grpc.health.v1 and server reflection on the daemon's gRPC port, the WebSocket endpoint
 * `/ws` on its HTTP port, tokens from the data directory (admin.token, written by the daemon, and
 * tokens.json), and the scheduler told to shorten guest slices while clients are being served.
 */
import type { Daemon, DaemonPlugin } from "../hypervisor/daemon.js";
import { TokenStore } from "./auth.js";
import { createRemoteServices, grpcServerOptions, type RemoteServices } from "./services.js";

/** each daemon's services (a process may run several daemons, e.g. tests) */
const running = new WeakMap<Daemon, RemoteServices>();

/** The remote services of a daemon (for tests and other plugins). */
export function remoteServicesOf(daemon: Daemon): RemoteServices | undefined {
  return running.get(daemon);
}

export const plugin: DaemonPlugin = {
  name: "remote",
  grpcOptions: grpcServerOptions(),
  setup(daemon) {
    const auth = new TokenStore(daemon.dataDir);
    const s = createRemoteServices(daemon.hypervisor, auth);
    running.set(daemon, s);
    if (daemon.grpcServer) s.addToGrpcServer(daemon.grpcServer);
    daemon.registerUpgrade(s.wsPath, (req, socket, head) => s.handleUpgrade(req, socket, head));
    daemon.hypervisor.scheduler.interactive = () => s.activity.interactive();
  },
  started(daemon) {
    const where = [daemon.grpcAddress ? `gRPC ${daemon.grpcAddress}` : undefined, daemon.httpAddress ? `WebSocket ws://${daemon.httpAddress}/ws` : undefined].filter(Boolean);
    if (where.length > 0) daemon.log(`ozd: remote object spaces on ${where.join(", ")} (tokens: ${daemon.tokenFile}, tokens.json)`);
  },
  async stop(daemon) {
    daemon.hypervisor.scheduler.interactive = undefined;
    await running.get(daemon)?.close();
    running.delete(daemon);
  },
};
