/**
 * Client transports: the same calls (an operation name such as `ObjectSpace.MirrorAt` and a request
 * object) over gRPC or over WebSocket + MessagePack. Errors come back as the errors the local
 * implementation throws (errors.ts).
 */
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import { WebSocket } from "ws";
import { fromWireError, RemoteError, Status } from "../errors.js";
import { serviceDefinition } from "../protos.js";
import { OPERATIONS_BY_KEY, PROTO_PACKAGE } from "../schema.js";
import { ERROR_CODE_METADATA, ERROR_DOMAIN_METADATA, SESSION_METADATA, wirePackr } from "../wire.js";

export interface Transport {
  readonly kind: "grpc" | "ws";
  /** the session id (WebSocket: the connection's) */
  readonly sessionId: string | undefined;
  readonly role: string | undefined;
  call(op: string, request: Record<string, unknown>): Promise<any>;
  /** a call whose answer nobody waits for (handle releases) */
  fire(op: string, request: Record<string, unknown>): void;
  stream(op: string, request: Record<string, unknown>, onItem: (item: any) => void, onEnd: (error?: Error) => void): () => void;
  close(): Promise<void>;
}

export interface TransportOptions {
  /** PEM CA certificate(s) trusted for TLS (default: the system's) */
  ca?: string | Buffer;
  /** deadline of each call, ms (default: none) */
  timeoutMs?: number;
  /** largest request sent, bytes (default: unlimited here; the server enforces its own) */
  maxMessageBytes?: number;
  /** gRPC: idle timeout of the session, seconds (default: the server's) */
  idleTimeoutSeconds?: number;
  /** WebSocket: authenticate with a first `auth` message rather than an Authorization header */
  wsAuthMessage?: boolean;
}

// ---------------------------------------------------------------------- gRPC

function errorOf(e: grpc.ServiceError): Error {
  const domain = e.metadata?.get(ERROR_DOMAIN_METADATA)[0];
  const code = e.metadata?.get(ERROR_CODE_METADATA)[0];
  return fromWireError({ status: e.code, domain: domain as never, code: code === undefined ? undefined : String(code), message: e.details || e.message });
}

function isNoSession(e: unknown): boolean {
  return e instanceof RemoteError && e.code === "notFound" && /no such session/.test(e.message);
}

export class GrpcTransport implements Transport {
  readonly kind = "grpc";
  private readonly client: grpc.Client;
  private readonly methods = new Map<string, MethodDefinition<unknown, unknown>>();
  private readonly auth = new grpc.Metadata();
  private session: string | undefined;
  private opening: Promise<string> | undefined;
  private keep: grpc.ClientReadableStream<unknown> | undefined;
  private closed = false;
  role: string | undefined;

  constructor(
    target: string,
    secure: boolean,
    token: string,
    private readonly options: TransportOptions = {},
  ) {
    const credentials = secure ? grpc.credentials.createSsl(options.ca ? Buffer.from(options.ca) : null) : grpc.credentials.createInsecure();
    this.client = new grpc.Client(target, credentials, {
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": options.maxMessageBytes ?? -1,
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      // a connection of its own: the session lives and dies with it (grpc-js shares connections otherwise)
      "grpc.use_local_subchannel_pool": 1,
    });
    for (const service of ["Hypervisor", "ObjectSpace"]) {
      for (const [name, m] of Object.entries(serviceDefinition(`${PROTO_PACKAGE}.${service}`))) {
        this.methods.set(`${service}.${name}`, m as MethodDefinition<unknown, unknown>);
      }
    }
    this.auth.set("authorization", `Bearer ${token}`);
  }

  get sessionId(): string | undefined {
    return this.session;
  }

  /** Opens the session (and checks the token). */
  async open(): Promise<void> {
    await this.ensureSession();
  }

  private sessionMetadata: { id: string; metadata: grpc.Metadata } | undefined;

  /** Call metadata (grpc-js copies it at the start of a call, so these objects are shared). */
  private metadata(withSession: boolean): grpc.Metadata {
    if (!withSession || !this.session) return this.auth;
    if (this.sessionMetadata?.id !== this.session) {
      const metadata = this.auth.clone();
      metadata.set(SESSION_METADATA, this.session);
      this.sessionMetadata = { id: this.session, metadata };
    }
    return this.sessionMetadata.metadata;
  }

  private callOptions(): grpc.CallOptions {
    return this.options.timeoutMs ? { deadline: Date.now() + this.options.timeoutMs } : {};
  }

  private unary(op: string, request: unknown, withSession: boolean): Promise<any> {
    const m = this.methods.get(op);
    if (!m) return Promise.reject(new RemoteError("unimplemented", `no operation ${op}`));
    return new Promise((resolve, reject) => {
      // grpc-js captures the caller's stack on every call (for its error messages); our errors carry
      // their own, so skip that cost (a third of a call's client-side CPU)
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        this.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, this.metadata(withSession), this.callOptions(), (err, reply) => {
          if (err) reject(errorOf(err));
          else resolve(reply);
        });
      } finally {
        Error.stackTraceLimit = limit;
      }
    });
  }

  private ensureSession(): Promise<string> {
    if (this.session) return Promise.resolve(this.session);
    if (this.closed) return Promise.reject(new RemoteError("cancelled", "the client is closed"));
    this.opening ??= (async () => {
      try {
        const reply = await this.unary("ObjectSpace.OpenSession", this.options.idleTimeoutSeconds ? { idleTimeoutSeconds: this.options.idleTimeoutSeconds } : {}, false);
        const id = String(reply.session);
        this.role = reply.role;
        await this.attach(id);
        this.session = id;
        return id;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  /** KeepSession: the session lives as long as this stream (and so this connection). */
  private attach(id: string): Promise<void> {
    const m = this.methods.get("ObjectSpace.KeepSession")!;
    const md = this.auth.clone();
    md.set(SESSION_METADATA, id);
    return new Promise((resolve, reject) => {
      const call = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, md, {});
      this.keep = call;
      let attached = false;
      const lost = () => {
        if (this.session === id) this.session = undefined;
        if (this.keep === call) this.keep = undefined;
      };
      call.on("data", () => {
        if (!attached) {
          attached = true;
          resolve();
        }
      });
      call.on("error", (e: grpc.ServiceError) => {
        lost();
        if (!attached) reject(errorOf(e));
      });
      call.on("end", () => {
        lost();
        if (!attached) reject(new RemoteError("unavailable", "the session ended"));
      });
    });
  }

  async call(op: string, request: Record<string, unknown>): Promise<any> {
    const def = OPERATIONS_BY_KEY.get(op);
    const withSession = def?.service === "ObjectSpace";
    if (withSession) await this.ensureSession();
    try {
      return await this.unary(op, request, withSession);
    } catch (e) {
      if (withSession && isNoSession(e)) {
        // the session was lost (connection dropped, idle timeout): a new one for this call
        this.session = undefined;
        await this.ensureSession();
        return this.unary(op, request, true);
      }
      throw e;
    }
  }

  fire(op: string, request: Record<string, unknown>): void {
    if (!this.session || this.closed) return;
    this.unary(op, request, true).catch(() => undefined);
  }

  stream(op: string, request: Record<string, unknown>, onItem: (item: any) => void, onEnd: (error?: Error) => void): () => void {
    const m = this.methods.get(op);
    if (!m) {
      queueMicrotask(() => onEnd(new RemoteError("unimplemented", `no operation ${op}`)));
      return () => undefined;
    }
    const call = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, request, this.metadata(false), {});
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      onEnd(error);
    };
    call.on("data", (item) => {
      if (!done) onItem(item);
    });
    call.on("error", (e: grpc.ServiceError) => finish(e.code === Status.CANCELLED && done ? undefined : errorOf(e)));
    call.on("end", () => finish());
    return () => {
      if (done) return;
      done = true;
      call.cancel();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.session) await this.unary("ObjectSpace.CloseSession", {}, true).catch(() => undefined);
    this.closed = true;
    this.session = undefined;
    this.keep?.cancel();
    this.client.close();
  }
}

// ---------------------------------------------------------------------- WebSocket

interface Pending {
  resolve: (value: any) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

export class WsTransport implements Transport {
  readonly kind = "ws";
  private readonly packr = wirePackr();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, { onItem: (item: any) => void; onEnd: (error?: Error) => void }>();
  private closedError: Error | undefined;
  sessionId: string | undefined;
  role: string | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly options: TransportOptions,
  ) {
    ws.on("message", (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on("close", (code: number, reason: Buffer) => this.onClose(new RemoteError("unavailable", `the connection closed (${code}${reason.length ? ` ${reason.toString()}` : ""})`)));
    ws.on("error", () => undefined);
  }

  static async open(url: string, token: string, options: TransportOptions = {}): Promise<WsTransport> {
    const headers = options.wsAuthMessage ? {} : { authorization: `Bearer ${token}` };
    const ws = new WebSocket(url, { headers, ca: options.ca, maxPayload: 2 ** 31 - 1, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => {
        ws.off("open", ok);
        const status = /Unexpected server response: (\d+)/.exec(e.message)?.[1];
        if (status === "401") reject(new RemoteError("unauthenticated", "invalid token"));
        else if (status === "429") reject(new RemoteError("resourceExhausted", "the server refuses more sessions for this token"));
        else reject(new RemoteError("unavailable", `cannot connect to ${url}: ${e.message}`));
      };
      const ok = () => {
        ws.off("error", fail);
        resolve();
      };
      ws.once("open", ok);
      ws.once("error", fail);
    });
    const transport = new WsTransport(ws, options);
    try {
      const who = options.wsAuthMessage ? await transport.call("auth", { token }) : await transport.call("ObjectSpace.Whoami", {});
      transport.sessionId = who.session;
      transport.role = who.role;
    } catch (e) {
      await transport.close();
      throw e;
    }
    return transport;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (!isBinary) return;
    let message: any;
    try {
      message = this.packr.unpack(data);
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    const id = message.id;
    const stream = this.streams.get(id);
    if (stream) {
      if (message.next !== undefined) stream.onItem(message.next);
      else if (message.end || message.error) {
        this.streams.delete(id);
        stream.onEnd(message.error ? fromWireError(message.error) : undefined);
      }
      return;
    }
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (message.error) p.reject(fromWireError(message.error));
    else p.resolve(message.result ?? {});
  }

  private onClose(error: Error): void {
    this.closedError ??= error;
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.closedError);
    }
    this.pending.clear();
    for (const s of this.streams.values()) s.onEnd(this.closedError);
    this.streams.clear();
  }

  private send(message: Record<string, unknown>): void {
    this.ws.send(this.packr.pack(message));
  }

  call(op: string, request: Record<string, unknown>): Promise<any> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (this.options.timeoutMs) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RemoteError("deadlineExceeded", `${op} took longer than ${this.options.timeoutMs} ms`));
        }, this.options.timeoutMs);
      }
      this.pending.set(id, p);
      try {
        this.send({ id, op, args: request });
      } catch (e) {
        this.pending.delete(id);
        if (p.timer) clearTimeout(p.timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  fire(op: string, request: Record<string, unknown>): void {
    if (this.closedError) return;
    this.call(op, request).catch(() => undefined);
  }

  stream(op: string, request: Record<string, unknown>, onItem: (item: any) => void, onEnd: (error?: Error) => void): () => void {
    if (this.closedError) {
      const error = this.closedError;
      queueMicrotask(() => onEnd(error));
      return () => undefined;
    }
    const id = this.nextId++;
    this.streams.set(id, { onItem, onEnd });
    this.send({ id, op, args: request });
    return () => {
      if (!this.streams.delete(id)) return;
      if (!this.closedError) this.fire("cancel", { id });
    };
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2000);
      this.ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1000, "client closed");
    });
  }
}
