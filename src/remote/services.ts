/**
 * The remote services of a hypervisor, independent of the daemon's internals: give it a HypervisorApi and
 * an Authenticator, and it gives back
 *   - `addToGrpcServer(server)`: registers Hypervisor, ObjectSpace, grpc.health.v1 and server reflection
 *     (create the server with `grpcServerOptions()` so that message size limits and keepalives apply);
 *   - `handleUpgrade(req, socket, head)`: the WebSocket endpoint, for an http.Server's `upgrade` event on
 *     `/ws` (or `attachToHttpServer(server)`, which routes `/ws` and leaves other paths alone);
 *   - `close()`: ends every session and stream.
 */
import type * as grpc from "@grpc/grpc-js";
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import type { ObjectSpace } from "../membrane/objectSpace.js";
import type { HypervisorApi } from "../hypervisor/types.js";
import type { Authenticator } from "./auth.js";
import { Dispatcher, type Activity } from "./dispatcher.js";
import { GrpcGateway } from "./grpcServer.js";
import { HealthService } from "./health.js";
import { ReflectionService } from "./reflection.js";
import { PROTO_PACKAGE } from "./schema.js";
import { SessionRegistry } from "./session.js";
import { WebSocketGateway } from "./wsServer.js";

export interface RemoteServicesOptions {
  /** largest request accepted, bytes (gRPC message or WebSocket frame; default 64 MiB) */
  maxMessageBytes?: number;
  /** largest reply sent, bytes (default 256 MiB) */
  maxReplyBytes?: number;
  /** handles one session may hold (default 100000) */
  maxHandlesPerSession?: number;
  /** sessions the server keeps at once (default 10000) */
  maxSessions?: number;
  /** sessions one token may hold at once (default 1000) */
  maxSessionsPerToken?: number;
  /** an unattached gRPC session ends after this long without calls (default 10 minutes) */
  sessionIdleTimeoutMs?: number;
  /** requests in flight on one WebSocket connection (default 1024) */
  maxInFlightPerConnection?: number;
  /** streams open on one WebSocket connection (default 64) */
  maxStreamsPerConnection?: number;
  /** a stream whose client has this many bytes unread is ended (default 8 MiB) */
  streamBufferBytes?: number;
  /** a WebSocket client must authenticate within this time (default 10 s) */
  authTimeoutMs?: number;
  /** WebSocket ping interval (default 30 s) */
  pingIntervalMs?: number;
  /** the WebSocket path (default /ws) */
  wsPath?: string;
}

export interface RemoteServices {
  readonly dispatcher: Dispatcher;
  /** remote calls in flight and recent: a scheduler shortens guest slices while `activity.interactive()` */
  readonly activity: Activity;
  readonly sessions: SessionRegistry;
  readonly health: HealthService;
  readonly grpc: GrpcGateway;
  readonly ws: WebSocketGateway;
  readonly wsPath: string;
  addToGrpcServer(server: grpc.Server): void;
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Routes upgrades of `wsPath` to handleUpgrade (others are left to other listeners, or refused when there is none). */
  attachToHttpServer(server: http.Server): () => void;
  close(): Promise<void>;
}

export const DEFAULTS = {
  maxMessageBytes: 64 * 2 ** 20,
  maxReplyBytes: 256 * 2 ** 20,
  maxHandlesPerSession: 100_000,
  maxSessions: 10_000,
  maxSessionsPerToken: 1000,
  sessionIdleTimeoutMs: 10 * 60_000,
  maxInFlightPerConnection: 1024,
  maxStreamsPerConnection: 64,
  streamBufferBytes: 8 * 2 ** 20,
  authTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
  wsPath: "/ws",
} satisfies Required<RemoteServicesOptions>;

/** grpc.Server options for the remote services: message limits and keepalives. */
export function grpcServerOptions(options: RemoteServicesOptions = {}): grpc.ServerOptions {
  return {
    "grpc.max_receive_message_length": options.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
    "grpc.max_send_message_length": options.maxReplyBytes ?? DEFAULTS.maxReplyBytes,
    "grpc.max_concurrent_streams": (options.maxInFlightPerConnection ?? DEFAULTS.maxInFlightPerConnection) + (options.maxStreamsPerConnection ?? DEFAULTS.maxStreamsPerConnection),
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 5_000,
  };
}

export function createRemoteServices(hypervisor: HypervisorApi, auth: Authenticator, options: RemoteServicesOptions = {}): RemoteServices {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<RemoteServicesOptions>;
  const isCurrent = (guest: string, space: ObjectSpace): boolean => {
    try {
      return hypervisor.space(guest) === space;
    } catch {
      return false;
    }
  };
  const sessions = new SessionRegistry({
    maxSessions: o.maxSessions,
    maxSessionsPerToken: o.maxSessionsPerToken,
    maxHandlesPerSession: o.maxHandlesPerSession,
    idleTimeoutMs: o.sessionIdleTimeoutMs,
    isCurrent,
  });
  const unsubscribe = hypervisor.subscribe((event) => {
    if (event.type === "undefined") sessions.dropGuest(event.guest);
  });
  const dispatcher = new Dispatcher(hypervisor, auth, { sessions });
  const grpcGateway = new GrpcGateway(dispatcher, auth, sessions, { streamBufferBytes: o.streamBufferBytes });
  const services = [`${PROTO_PACKAGE}.Hypervisor`, `${PROTO_PACKAGE}.ObjectSpace`];
  const health = new HealthService(services);
  const reflection = new ReflectionService(
    [...services, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"],
    (metadata) => grpcGateway.refusal(metadata),
  );
  const ws = new WebSocketGateway(dispatcher, auth, sessions, {
    maxMessageBytes: o.maxMessageBytes,
    maxReplyBytes: o.maxReplyBytes,
    maxInFlight: o.maxInFlightPerConnection,
    maxStreams: o.maxStreamsPerConnection,
    streamBufferBytes: o.streamBufferBytes,
    authTimeoutMs: o.authTimeoutMs,
    pingIntervalMs: o.pingIntervalMs,
    maxMalformed: 8,
  });
  let closed = false;
  return {
    dispatcher,
    activity: dispatcher.activity,
    sessions,
    health,
    grpc: grpcGateway,
    ws,
    wsPath: o.wsPath,
    addToGrpcServer(server) {
      grpcGateway.addTo(server);
      health.addTo(server);
      reflection.addTo(server);
    },
    handleUpgrade(req, socket, head) {
      ws.handleUpgrade(req, socket, head);
    },
    attachToHttpServer(server) {
      const listener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
        if (pathname === o.wsPath) ws.handleUpgrade(req, socket, head);
        else if (server.listenerCount("upgrade") === 1) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      };
      server.on("upgrade", listener);
      return () => server.off("upgrade", listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      health.shutdown();
      grpcGateway.closeStreams();
      await ws.close();
      sessions.closeAll();
    },
  };
}
