/**
 * Raw protocol clients for tests: gRPC calls by operation name with chosen metadata (as grpcurl makes
 * them), arbitrary bytes on a gRPC method, and a WebSocket that sends any frame and collects replies.
 */
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import { WebSocket } from "ws";
import { serviceDefinition } from "../../src/remote/protos.js";
import { wirePackr } from "../../src/remote/wire.js";

export interface RawReply {
  error?: grpc.ServiceError;
  reply?: any;
}

export class RawGrpc {
  readonly client: grpc.Client;
  constructor(target: string, credentials = grpc.credentials.createInsecure()) {
    this.client = new grpc.Client(target.replace(/^grpcs?:\/\//, ""), credentials, { "grpc.max_send_message_length": -1 });
  }

  method(op: string): MethodDefinition<unknown, unknown> {
    const dot = op.lastIndexOf(".");
    const service = op.slice(0, dot);
    const name = op.slice(dot + 1);
    const full = service.includes(".") ? service : `oz.v1.${service}`;
    return serviceDefinition(full)[name] as MethodDefinition<unknown, unknown>;
  }

  static metadata(token?: string, session?: string): grpc.Metadata {
    const md = new grpc.Metadata();
    if (token !== undefined) md.set("authorization", `Bearer ${token}`);
    if (session !== undefined) md.set("oz-session", session);
    return md;
  }

  call(op: string, request: unknown, metadata: grpc.Metadata): Promise<RawReply> {
    const m = this.method(op);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, metadata, {}, (error, reply) =>
        resolve(error ? { error } : { reply }),
      );
    });
  }

  /** Sends these exact bytes as the request of a method (path like /oz.v1.ObjectSpace/MirrorAt). */
  callBytes(path: string, bytes: Buffer, metadata: grpc.Metadata): Promise<RawReply> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, metadata, {}, (error, reply) => resolve(error ? { error } : { reply }));
    });
  }

  close(): void {
    this.client.close();
  }
}

export function errorCode(e: grpc.ServiceError | undefined): { status?: number; domain?: string; code?: string; details?: string } {
  if (!e) return {};
  return { status: e.code, domain: e.metadata?.get("oz-error-domain")[0] as string, code: e.metadata?.get("oz-error-code")[0] as string, details: e.details };
}

export class RawWs {
  readonly packr = wirePackr();
  readonly messages: any[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      this.messages.push(isBinary ? this.packr.unpack(data) : { text: data.toString() });
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on("error", () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<RawWs> {
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new RawWs(ws);
  }

  send(message: unknown): void {
    this.ws.send(this.packr.pack(message));
  }

  sendRaw(data: Buffer | string, binary = true): void {
    this.ws.send(data, { binary });
  }

  /** Waits for a message matching `pred` (or the close). */
  async next(pred: (m: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex(pred);
      if (i >= 0) return this.messages.splice(i, 1)[0];
      if (this.closed) return undefined;
      if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms (got ${JSON.stringify(this.messages)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async request(id: number, op: string, args: unknown): Promise<any> {
    this.send({ id, op, args });
    return this.next((m) => m.id === id);
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("the connection stayed open");
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closed;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A TCP proxy whose connections can be cut, to drop a client's connection as a network failure would. */
export class TcpProxy {
  private readonly sockets = new Set<import("node:net").Socket>();
  private constructor(
    readonly server: import("node:net").Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const net = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(targetPort, "127.0.0.1");
      sockets.add(client);
      sockets.add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on("error", drop);
      upstream.on("error", drop);
      client.on("close", drop);
      upstream.on("close", drop);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const proxy = new TcpProxy(server, (server.address() as import("node:net").AddressInfo).port);
    (proxy as unknown as { sockets: Set<unknown> }).sockets = sockets;
    return proxy;
  }

  /** Cuts every connection (both directions), as a network failure would. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
