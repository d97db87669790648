/**
 * The gRPC encoding of the operations: one handler per operation of schema.ts on the Hypervisor and
 * ObjectSpace services, all going through the dispatcher. Metadata: `authorization: Bearer <token>` on
 * every call, `oz-session: <id>` for calls whose handles must outlive the call. Errors carry their domain
 * and code in the trailing metadata `oz-error-domain` and `oz-error-code` (errors.ts).
 */
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import { bearerToken, sha256, type Authenticator } from "./auth.js";
import type { CallContext, Dispatcher } from "./dispatcher.js";
import { RemoteError, toWireError } from "./errors.js";
import { serviceDefinition } from "./protos.js";
import { OPERATIONS, PROTO_PACKAGE, type ServiceName } from "./schema.js";
import type { Session, SessionRegistry } from "./session.js";
import { ERROR_CODE_METADATA, ERROR_DOMAIN_METADATA, SESSION_METADATA } from "./wire.js";


/** A request that could not be decoded: answered INVALID_ARGUMENT instead of grpc-js's INTERNAL. */
class Malformed {
  constructor(readonly message: string) {}
}

export function grpcStatusOf(e: unknown): Partial<grpc.StatusObject> & { code: number; details: string } {
  const w = toWireError(e);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_DOMAIN_METADATA, w.domain);
  metadata.set(ERROR_CODE_METADATA, w.code);
  return { code: w.status, details: w.message, metadata };
}

export interface GrpcGatewayOptions {
  /** a stream whose client reads slower than this many buffered bytes is ended (RESOURCE_EXHAUSTED) */
  streamBufferBytes: number;
}

export class GrpcGateway {
  private readonly streams = new Set<{ cancel: () => void; finish: (error?: unknown) => void }>();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly auth: Authenticator,
    private readonly sessions: SessionRegistry,
    private readonly options: GrpcGatewayOptions,
  ) {}

  /** The caller's role and principal, or an UNAUTHENTICATED error. */
  authenticate(metadata: grpc.Metadata): { role: CallContext["role"]; principal: string } {
    const values = metadata.get("authorization");
    const token = bearerToken(values.length > 0 ? String(values[0]) : undefined);
    if (!token) throw new RemoteError("unauthenticated", "missing token: send `authorization: Bearer <token>` metadata");
    const role = this.auth.authenticate(token);
    if (!role) throw new RemoteError("unauthenticated", "invalid token");
    return { role, principal: sha256(token) };
  }

  /** Refusal text for reflection, or undefined when the caller may use it. */
  refusal(metadata: grpc.Metadata): string | undefined {
    try {
      this.authenticate(metadata);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  private context(metadata: grpc.Metadata): CallContext {
    const { role, principal } = this.authenticate(metadata);
    const sessionIds = metadata.get(SESSION_METADATA);
    let session: Session;
    let explicit = false;
    if (sessionIds.length > 0 && String(sessionIds[0]) !== "") {
      session = this.sessions.get(String(sessionIds[0]), principal);
      explicit = true;
    } else {
      session = this.sessions.create(principal, role, "grpc", { ephemeral: true });
    }
    return { role, principal, session, transport: "grpc", explicitSession: explicit };
  }

  private implementation(service: ServiceName): grpc.UntypedServiceImplementation {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const op of OPERATIONS.filter((o) => o.service === service)) {
      const key = `${op.service}.${op.name}`;
      if (op.stream) {
        impl[op.name] = (call: grpc.ServerWritableStream<unknown, unknown>) => this.serveStream(key, call);
      } else {
        impl[op.name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          const since = performance.now();
          this.serveUnary(key, call.request, call.metadata).then(
            (reply) => {
              this.dispatcher.observed("grpc", key, 0, since);
              callback(null, reply);
            },
            (e) => {
              const status = grpcStatusOf(e);
              this.dispatcher.observed("grpc", key, status.code, since);
              callback(status);
            },
          );
        };
      }
    }
    return impl;
  }

  private async serveUnary(key: string, request: unknown, metadata: grpc.Metadata): Promise<unknown> {
    const ctx = this.context(metadata);
    try {
      if (request instanceof Malformed) throw new RemoteError("invalidArgument", request.message);
      return await this.dispatcher.call(key, request, ctx);
    } finally {
      if (!ctx.explicitSession) ctx.session.close();
    }
  }

  private serveStream(key: string, call: grpc.ServerWritableStream<unknown, unknown>): void {
    let ctx: CallContext | undefined;
    let done = false;
    const since = performance.now();
    const entry = { cancel: () => undefined as void, finish: (error?: unknown) => finish(error) };
    const finish = (error?: unknown) => {
      if (done) return;
      done = true;
      this.streams.delete(entry);
      entry.cancel();
      if (ctx && !ctx.explicitSession) ctx.session.close();
      const status = error ? grpcStatusOf(error) : undefined;
      this.dispatcher.observed("grpc", key, status?.code ?? 0, since, true);
      if (status) call.emit("error", status);
      else call.end();
    };
    try {
      ctx = this.context(call.metadata);
      if (call.request instanceof Malformed) throw new RemoteError("invalidArgument", call.request.message);
      entry.cancel = this.dispatcher.stream(key, call.request, ctx, {
        write: (item) => {
          if (done) return;
          if (call.writableLength > this.options.streamBufferBytes) {
            finish(new RemoteError("resourceExhausted", "the client reads this stream too slowly; subscribe again"));
            return;
          }
          call.write(item);
        },
        end: (error) => finish(error),
      });
      this.streams.add(entry);
      call.on("cancelled", () => {
        if (done) return;
        done = true;
        this.dispatcher.observed("grpc", key, grpc.status.CANCELLED, since, true);
        this.streams.delete(entry);
        entry.cancel();
        if (ctx && !ctx.explicitSession) ctx.session.close();
      });
    } catch (e) {
      finish(e);
    }
  }

  /** Registers the Hypervisor and ObjectSpace services on a server. */
  addTo(server: grpc.Server): void {
    for (const service of ["Hypervisor", "ObjectSpace"] as const) {
      const def = serviceDefinition(`${PROTO_PACKAGE}.${service}`);
      const wrapped: Record<string, MethodDefinition<unknown, unknown>> = {};
      for (const [name, method] of Object.entries(def)) {
        const m = method as MethodDefinition<unknown, unknown>;
        wrapped[name] = {
          ...m,
          requestDeserialize: (bytes: Buffer) => {
            try {
              return m.requestDeserialize(bytes);
            } catch (e) {
              return new Malformed(`malformed ${name} request: ${e instanceof Error ? e.message : String(e)}`);
            }
          },
        };
      }
      server.addService(wrapped as unknown as grpc.ServiceDefinition, this.implementation(service));
    }
  }

  /** Ends every open stream with UNAVAILABLE (server shutdown). */
  closeStreams(): void {
    for (const s of [...this.streams]) s.finish(new RemoteError("unavailable", "the server is shutting down"));
    this.streams.clear();
  }
}
