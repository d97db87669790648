/**
 * The WebSocket encoding of the operations, at `/ws` on the HTTP port: binary frames, each one MessagePack
 * map (msgpackr, plain maps, no records).
 *
 *   client → server   { id, op: "auth", args: { token } }            (unless an Authorization header was sent)
 *                     { id, op: "ObjectSpace.MirrorAt", args: {...} }  any operation of schema.ts
 *                     { id, op: "Hypervisor.Watch", args: {...} }      a stream (subscription)
 *                     { id, op: "cancel", args: { id: streamId } }     ends a stream
 *   server → client   { id, result: {...} }                           the reply message's fields
 *                     { id, error: { status, domain, code, message } }
 *                     { id, next: {...} }  and finally { id, end: true } or { id, error }   stream items
 *
 * Requests run concurrently and are answered in any order (match them by id). The connection is the
 * session: its handles are released when it closes. Limits: a frame larger than maxMessageBytes closes the
 * connection (1009); undecodable frames are answered with INVALID_ARGUMENT and, after a few in a row,
 * close it (1007); more than maxInFlight requests at once are refused (RESOURCE_EXHAUSTED); a client that
 * does not authenticate within authTimeoutMs is disconnected (1008).
 */
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { bearerToken, sha256, type Authenticator } from "./auth.js";
import type { CallContext, Dispatcher } from "./dispatcher.js";
import { RemoteError, toWireError } from "./errors.js";
import type { Role } from "./schema.js";
import type { Session, SessionRegistry } from "./session.js";
import { wirePackr } from "./wire.js";

export interface WebSocketGatewayOptions {
  maxMessageBytes: number;
  maxReplyBytes: number;
  maxInFlight: number;
  maxStreams: number;
  streamBufferBytes: number;
  authTimeoutMs: number;
  /** ping interval; a connection that misses a pong is dropped */
  pingIntervalMs: number;
  maxMalformed: number;
}

interface Connection {
  ws: WebSocket;
  role?: Role;
  principal?: string;
  token?: string;
  session?: Session;
  inFlight: number;
  streams: Map<unknown, () => void>;
  malformed: number;
  alive: boolean;
}

export class WebSocketGateway {
  readonly wss: WebSocketServer;
  private readonly packr = wirePackr();
  private readonly connections = new Set<Connection>();
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly auth: Authenticator,
    private readonly sessions: SessionRegistry,
    private readonly options: WebSocketGatewayOptions,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false });
    this.pinger = setInterval(() => this.ping(), options.pingIntervalMs);
    this.pinger.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** For an http.Server's `upgrade` event on the WebSocket path. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const header = req.headers.authorization;
    let token: string | undefined;
    let role: Role | undefined;
    let session: Session | undefined;
    if (header !== undefined) {
      token = bearerToken(header);
      role = token ? this.auth.authenticate(token) : undefined;
      if (!role) {
        socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\ninvalid token\n");
        return;
      }
      try {
        session = this.sessions.create(sha256(token!), role, "ws");
      } catch (e) {
        socket.end(`HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${e instanceof Error ? e.message : String(e)}\n`);
        return;
      }
    }
    let accepted = false;
    socket.once("close", () => {
      if (!accepted) session?.close();
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      this.accept(ws, token, role, session);
    });
  }

  private accept(ws: WebSocket, token: string | undefined, role: Role | undefined, session: Session | undefined): void {
    const conn: Connection = { ws, inFlight: 0, streams: new Map(), malformed: 0, alive: true };
    this.connections.add(conn);
    if (token && role && session) this.login(conn, token, role, session);
    const authTimer = setTimeout(() => {
      if (!conn.role) ws.close(1008, "authentication required");
    }, this.options.authTimeoutMs);
    authTimer.unref();
    ws.on("pong", () => (conn.alive = true));
    ws.on("message", (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on("error", () => undefined);
    ws.on("close", () => {
      clearTimeout(authTimer);
      this.connections.delete(conn);
      for (const cancel of conn.streams.values()) cancel();
      conn.streams.clear();
      conn.session?.close();
    });
  }

  private login(conn: Connection, token: string, role: Role, session: Session): void {
    conn.token = token;
    conn.role = role;
    conn.principal = session.principal;
    conn.session = session;
    conn.session.attachments++;
    conn.session.whenClosed(() => {
      if (conn.ws.readyState === conn.ws.OPEN) conn.ws.close(1000, "session ended");
    });
  }

  private send(conn: Connection, message: Record<string, unknown>): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    let bytes: Buffer;
    try {
      bytes = this.packr.pack(message);
    } catch (e) {
      bytes = this.packr.pack({ id: message.id, error: toWireError(e) });
    }
    if (bytes.length > this.options.maxReplyBytes) {
      bytes = this.packr.pack({ id: message.id, error: toWireError(new RemoteError("resourceExhausted", `the reply (${bytes.length} bytes) exceeds the server's limit of ${this.options.maxReplyBytes}`)) });
    }
    conn.ws.send(bytes);
  }

  private sendError(conn: Connection, id: unknown, e: unknown): void {
    this.send(conn, { id, error: toWireError(e) });
  }

  /** Tells the dispatcher's observers (the metrics) how a request was answered: `error` undefined is OK. */
  private answered(method: unknown, since: number, error?: unknown, stream = false): void {
    this.dispatcher.observed("ws", method, error === undefined ? 0 : toWireError(error).status, since, stream);
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    const since = performance.now();
    let message: unknown;
    try {
      if (!isBinary) throw new Error("send binary MessagePack frames, not text");
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      message = this.packr.unpack(bytes);
    } catch (e) {
      this.malformed(conn, undefined, `malformed message: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      this.malformed(conn, undefined, "a message is a map { id, op, args }");
      return;
    }
    const { id, op, args } = message as { id?: unknown; op?: unknown; args?: unknown };
    if ((typeof id !== "number" && typeof id !== "string") || typeof op !== "string") {
      this.malformed(conn, typeof id === "number" || typeof id === "string" ? id : undefined, "a message is a map { id: number | string, op: string, args: map }");
      return;
    }
    conn.malformed = 0;
    const request = args === undefined || args === null ? {} : args;
    if (op === "auth") return this.onAuth(conn, id, request, since);
    if (!conn.role || !conn.session || !conn.token) {
      const e = new RemoteError("unauthenticated", "authenticate first: { op: \"auth\", args: { token } } or an Authorization header");
      this.answered(op, since, e);
      this.sendError(conn, id, e);
      return;
    }
    // a revoked token stops working at once, even on an open connection
    const role = this.auth.authenticate(conn.token);
    if (!role) {
      const e = new RemoteError("unauthenticated", "the token is no longer valid");
      this.answered(op, since, e);
      this.sendError(conn, id, e);
      conn.ws.close(1008, "token revoked");
      return;
    }
    const ctx: CallContext = { role, principal: conn.principal!, session: conn.session, transport: "ws", explicitSession: true };
    if (op === "cancel") {
      const target = (request as { id?: unknown }).id;
      const cancel = conn.streams.get(target);
      if (cancel) {
        cancel();
        conn.streams.delete(target);
        this.send(conn, { id: target, end: true });
      }
      this.answered(op, since);
      this.send(conn, { id, result: {} });
      return;
    }
    let def;
    try {
      def = this.dispatcher.operation(op);
      if (def.transport === "grpc") throw new RemoteError("unimplemented", `${op} is for gRPC only: on WebSocket the connection is the session`);
    } catch (e) {
      this.answered(op, since, e);
      this.sendError(conn, id, e);
      return;
    }
    if (def.stream) return this.onStream(conn, id, op, request, ctx, since);
    if (conn.inFlight >= this.options.maxInFlight) {
      const e = new RemoteError("resourceExhausted", `more than ${this.options.maxInFlight} requests in flight on this connection`);
      this.answered(op, since, e);
      this.sendError(conn, id, e);
      return;
    }
    conn.inFlight++;
    this.dispatcher.call(op, request, ctx).then(
      (result) => {
        conn.inFlight--;
        this.answered(op, since);
        this.send(conn, { id, result });
      },
      (e) => {
        conn.inFlight--;
        this.answered(op, since, e);
        this.sendError(conn, id, e);
      },
    );
  }

  private onAuth(conn: Connection, id: unknown, args: unknown, since: number): void {
    const token = (args as { token?: unknown }).token;
    if (conn.role) {
      const e = new RemoteError("failedPrecondition", "already authenticated");
      this.answered("auth", since, e);
      this.sendError(conn, id, e);
      return;
    }
    const role = typeof token === "string" ? this.auth.authenticate(token) : undefined;
    if (!role) {
      const e = new RemoteError("unauthenticated", "invalid token");
      this.answered("auth", since, e);
      this.sendError(conn, id, e);
      conn.ws.close(1008, "invalid token");
      return;
    }
    let session: Session;
    try {
      session = this.sessions.create(sha256(token as string), role, "ws");
    } catch (e) {
      this.answered("auth", since, e);
      this.sendError(conn, id, e);
      conn.ws.close(1013, "too many sessions");
      return;
    }
    this.login(conn, token as string, role, session);
    this.answered("auth", since);
    this.send(conn, { id, result: { role, session: session.id, transport: "ws" } });
  }

  private onStream(conn: Connection, id: unknown, op: string, request: unknown, ctx: CallContext, since: number): void {
    if (conn.streams.has(id)) {
      const e = new RemoteError("alreadyExists", `a stream with id ${String(id)} is open`);
      this.answered(op, since, e, true);
      this.sendError(conn, id, e);
      return;
    }
    if (conn.streams.size >= this.options.maxStreams) {
      const e = new RemoteError("resourceExhausted", `more than ${this.options.maxStreams} streams on this connection`);
      this.answered(op, since, e, true);
      this.sendError(conn, id, e);
      return;
    }
    let done = false;
    const end = (error?: unknown) => {
      if (done) return;
      done = true;
      this.answered(op, since, error, true);
      const cancel = conn.streams.get(id);
      conn.streams.delete(id);
      cancel?.();
      if (error) this.sendError(conn, id, error);
      else this.send(conn, { id, end: true });
    };
    try {
      const cancel = this.dispatcher.stream(op, request, ctx, {
        write: (item) => {
          if (done) return;
          if (conn.ws.bufferedAmount > this.options.streamBufferBytes) {
            end(new RemoteError("resourceExhausted", "the client reads this stream too slowly; subscribe again"));
            return;
          }
          this.send(conn, { id, next: item });
        },
        end,
      });
      if (done) cancel();
      else {
        conn.streams.set(id, () => {
          // cancelled by the client, or its connection closed
          if (!done) this.answered(op, since, new RemoteError("cancelled", "cancelled"), true);
          done = true;
          cancel();
        });
      }
    } catch (e) {
      end(e);
    }
  }

  private malformed(conn: Connection, id: unknown, message: string): void {
    conn.malformed++;
    const e = new RemoteError("invalidArgument", message);
    this.answered(undefined, performance.now(), e);
    this.sendError(conn, id ?? null, e);
    if (conn.malformed >= this.options.maxMalformed) conn.ws.close(1007, "too many malformed messages");
  }

  private ping(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.ws.ping();
      } catch {
        // closing
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    for (const conn of [...this.connections]) conn.ws.close(1001, "server shutting down");
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const conn of [...this.connections]) conn.ws.terminate();
  }
}
