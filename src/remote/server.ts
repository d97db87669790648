/**
 * A standalone remote server: a gRPC server and an HTTP server (with `/ws` and `/healthz`) around
 * createRemoteServices, on loopback unless told otherwise, with TLS when a certificate and key are given.
 * Tests and benchmarks use it; the daemon registers the same services on its own servers instead.
 */
import * as grpc from "@grpc/grpc-js";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import type { HypervisorApi } from "../hypervisor/types.js";
import type { Authenticator } from "./auth.js";
import { createRemoteServices, grpcServerOptions, type RemoteServices, type RemoteServicesOptions } from "./services.js";

export interface TlsOptions {
  /** PEM certificate chain */
  cert: string | Buffer;
  /** PEM private key */
  key: string | Buffer;
}

export interface RemoteServerOptions extends RemoteServicesOptions {
  /** interface to listen on (default 127.0.0.1: loopback only) */
  host?: string;
  /** gRPC port (default 50051; 0: any free port) */
  grpcPort?: number;
  /** HTTP port for /ws and /healthz (default 9464; 0: any free port; null: no HTTP server) */
  httpPort?: number | null;
  tls?: TlsOptions;
}

export interface RunningRemoteServer {
  services: RemoteServices;
  grpcServer: grpc.Server;
  httpServer: http.Server | undefined;
  host: string;
  grpcPort: number;
  httpPort: number | undefined;
  /** grpc://host:port (grpcs:// with TLS) */
  grpcUrl: string;
  /** ws://host:port/ws (wss:// with TLS) */
  wsUrl: string | undefined;
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export async function startRemoteServer(hypervisor: HypervisorApi, auth: Authenticator, options: RemoteServerOptions = {}): Promise<RunningRemoteServer> {
  const host = options.host ?? "127.0.0.1";
  const services = createRemoteServices(hypervisor, auth, options);
  const grpcServer = new grpc.Server(grpcServerOptions(options));
  services.addToGrpcServer(grpcServer);
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }], false)
    : grpc.ServerCredentials.createInsecure();
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`${hostForUrl(host)}:${options.grpcPort ?? 50051}`, credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
  let httpServer: http.Server | undefined;
  let httpPort: number | undefined;
  if (options.httpPort !== null) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      }
    };
    httpServer = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
    services.attachToHttpServer(httpServer);
    await new Promise<void>((resolve, reject) => {
      httpServer!.once("error", reject);
      httpServer!.listen(options.httpPort ?? 9464, host, () => resolve());
    });
    httpPort = (httpServer.address() as AddressInfo).port;
  }
  const secure = options.tls !== undefined;
  let closing: Promise<void> | undefined;
  return {
    services,
    grpcServer,
    httpServer,
    host,
    grpcPort,
    httpPort,
    grpcUrl: `${secure ? "grpcs" : "grpc"}://${hostForUrl(host)}:${grpcPort}`,
    wsUrl: httpPort === undefined ? undefined : `${secure ? "wss" : "ws"}://${hostForUrl(host)}:${httpPort}${services.wsPath}`,
    close() {
      closing ??= (async () => {
        await services.close();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            grpcServer.forceShutdown();
            resolve();
          }, 2000);
          grpcServer.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        if (httpServer) {
          httpServer.closeAllConnections?.();
          await new Promise<void>((resolve) => httpServer!.close(() => resolve()));
        }
      })();
      return closing;
    },
  };
}
