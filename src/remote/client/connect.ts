/**
 * `connect(url, token)`: a client of an Oz daemon, over gRPC (`grpc://host:port`, `grpcs://` with TLS) or
 * WebSocket (`ws://host:port/ws`, `wss://`). It gives each guest's RemoteObjectSpace (`space(name)`), the
 * remote control plane (`hypervisor`), and `close()`, which ends the session and releases its handles.
 *
 *   const oz = await connect("grpc://127.0.0.1:50051", token);
 *   const space = oz.space("alice");
 *   const r = await space.evaluate("3 + 4");          // the same ObjectSpace API as a local space
 *   await oz.close();
 */
import type { Role } from "../schema.js";
import { RemoteError } from "../errors.js";
import { RemoteHypervisor } from "./hypervisor.js";
import { RemoteConnection, RemoteObjectSpace } from "./space.js";
import { GrpcTransport, WsTransport, type Transport, type TransportOptions } from "./transport.js";

export type ConnectOptions = TransportOptions;

export interface OzClient {
  readonly url: string;
  readonly transport: "grpc" | "ws";
  /** the role of the token */
  readonly role: Role;
  readonly hypervisor: RemoteHypervisor;
  /** the guest's object space (the same object for the same name) */
  space(guest: string): RemoteObjectSpace;
  /** releases a handle group of this client, in every guest */
  releaseGroup(name: string): Promise<number>;
  close(): Promise<void>;
}

class Client implements OzClient {
  readonly hypervisor: RemoteHypervisor;
  private readonly connection: RemoteConnection;
  private readonly spaces = new Map<string, RemoteObjectSpace>();

  constructor(
    readonly url: string,
    private readonly t: Transport,
  ) {
    this.connection = new RemoteConnection(t);
    this.hypervisor = new RemoteHypervisor(t, (name) => this.space(name));
  }

  get transport(): "grpc" | "ws" {
    return this.t.kind;
  }

  get role(): Role {
    return this.t.role as Role;
  }

  space(guest: string): RemoteObjectSpace {
    let s = this.spaces.get(guest);
    if (!s) this.spaces.set(guest, (s = new RemoteObjectSpace(this.connection, guest)));
    return s;
  }

  releaseGroup(name: string): Promise<number> {
    return this.connection.releaseGroup(name);
  }

  close(): Promise<void> {
    return this.t.close();
  }
}

export async function connect(url: string, token: string, options: ConnectOptions = {}): Promise<OzClient> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RemoteError("invalidArgument", `not a URL: ${url} (grpc://host:port, grpcs://, ws://host:port/ws or wss://)`);
  }
  switch (parsed.protocol) {
    case "grpc:":
    case "grpcs:": {
      if (!parsed.port) throw new RemoteError("invalidArgument", `${url}: give the port (grpc://host:50051)`);
      const t = new GrpcTransport(parsed.host, parsed.protocol === "grpcs:", token, options);
      try {
        await t.open();
      } catch (e) {
        await t.close().catch(() => undefined);
        throw e;
      }
      return new Client(url, t);
    }
    case "ws:":
    case "wss:": {
      const target = parsed.pathname === "/" || parsed.pathname === "" ? new URL("/ws", parsed).toString() : parsed.toString();
      return new Client(url, await WsTransport.open(target, token, options));
    }
    default:
      throw new RemoteError("invalidArgument", `unsupported scheme ${parsed.protocol} (grpc:, grpcs:, ws:, wss:)`);
  }
}
