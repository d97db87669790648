/**
 * A guest's sockets over Node's `net` (the SocketAdapter of its ResourceAccount). Nothing here blocks:
 * every call starts the I/O and answers at once; Node's events update the socket's record and signal the
 * guest's semaphore (then wake the guest). Received data is buffered per socket, up to
 * `socketReceiveBuffer` bytes, after which the host stops reading from the network until the guest reads;
 * sends are queued up to `socketSendBuffer` bytes, after which `send` answers 0 and the guest waits.
 *
 * A socket holds a slot of the guest's quota (and of the daemon's limit) from `create` (or from the moment
 * a connection arrives on a listening socket) until it holds neither an OS handle nor unread data: when it
 * is destroyed, when an unconnected socket is closed, or when the connection is gone and its data read.
 * A connection the guest closed and then destroyed lingers: the host still sends what was queued (for at
 * most `closeLingerMs`) and gives the slot back when the connection is gone.
 */
import * as net from "node:net";
import { HostError, SocketStatus, type HandleEvents, type SocketAdapter, type SocketInfo } from "../../vm/host.js";
import type { ResourceAccount } from "./account.js";

type Kind = "tcp" | "listener" | "accepted";

interface SocketRecord {
  id: number;
  kind: Kind;
  /** undefined for an arrived connection the guest has not accepted yet */
  events: HandleEvents | undefined;
  status: number;
  error: string | undefined;
  socket: net.Socket | undefined;
  server: net.Server | undefined;
  /** the OS handle is gone (Node's 'close') */
  osClosed: boolean;
  holdsSlot: boolean;
  received: Buffer[];
  receivedBytes: number;
  paused: boolean;
  /** listening sockets: arrived connections, oldest first */
  pending: SocketRecord[];
  backlog: number;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  ownerDead: boolean;
  lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** the listener an arrived connection waits on */
  listener: SocketRecord | undefined;
  /** destroyed by the guest after a graceful close: the host still delivers what was sent */
  lingering: boolean;
}

function describeError(e: NodeJS.ErrnoException): string {
  return e.code ? `${e.code}: ${e.message}` : e.message;
}

export class SocketTable implements SocketAdapter {
  private readonly records = new Map<number, SocketRecord>();
  /** sockets the guest destroyed after closing them, still sending what it wrote */
  private readonly lingering = new Set<SocketRecord>();
  private nextId = 1;

  constructor(private readonly account: ResourceAccount) {}

  /** Sockets the guest knows (including closed ones it has not destroyed). */
  get count(): number {
    return this.records.size;
  }

  private newRecord(kind: Kind, events: HandleEvents | undefined): SocketRecord {
    const rec: SocketRecord = {
      id: this.nextId++, kind, events, status: SocketStatus.unconnected, error: undefined, socket: undefined, server: undefined,
      osClosed: false, holdsSlot: true, received: [], receivedBytes: 0, paused: false, pending: [], backlog: 0, localPort: 0,
      remoteAddress: "", remotePort: 0, ownerDead: false, lingerTimer: undefined, listener: undefined, lingering: false,
    };
    if (this.nextId > 0x3fffffff) this.nextId = 1;
    this.records.set(rec.id, rec);
    return rec;
  }

  private record(id: number): SocketRecord {
    const rec = this.records.get(id);
    if (!rec) throw new HostError("closed", `socket ${id} was destroyed`);
    return rec;
  }

  /** Signals the guest about the socket (the plugin then wakes the guest through its host's `wake`). */
  private notify(rec: SocketRecord): void {
    rec.events?.signal();
  }

  /** Gives the slot back once the socket holds neither an OS handle nor unread data. */
  private dropSlotIfDone(rec: SocketRecord): void {
    if (!rec.holdsSlot) return;
    const used = rec.socket !== undefined || rec.server !== undefined;
    // a new socket holds its slot until it is closed; a used one while its OS handle lives
    const holding = used ? !rec.osClosed : rec.status !== SocketStatus.thisEndClosed;
    if (holding || rec.receivedBytes > 0) return;
    rec.holdsSlot = false;
    this.account.dropSocket();
  }

  // ------------------------------------------------------------------ Node events

  private watch(rec: SocketRecord, socket: net.Socket): void {
    rec.socket = socket;
    const limits = this.account.limits;
    socket.on("connect", () => {
      rec.status = SocketStatus.connected;
      this.addresses(rec, socket);
      this.notify(rec);
    });
    socket.on("data", (chunk: Buffer) => {
      this.account.bytesIn += chunk.length;
      if (rec.lingering) return;
      rec.received.push(chunk);
      rec.receivedBytes += chunk.length;
      if (rec.receivedBytes >= limits.socketReceiveBuffer && !rec.paused) {
        rec.paused = true;
        socket.pause();
      }
      this.notify(rec);
    });
    socket.on("end", () => {
      if (rec.status === SocketStatus.connected) rec.status = SocketStatus.otherEndClosed;
      this.notify(rec);
    });
    socket.on("drain", () => this.notify(rec));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      rec.error = describeError(e);
      if (rec.status === SocketStatus.waitingForConnection) rec.status = SocketStatus.unconnected;
      this.notify(rec);
    });
    socket.on("close", () => {
      rec.osClosed = true;
      if (rec.lingerTimer) clearTimeout(rec.lingerTimer);
      rec.lingerTimer = undefined;
      if (rec.lingering) {
        this.lingering.delete(rec);
        this.dropSlotIfDone(rec);
        return;
      }
      if (rec.status === SocketStatus.connected) rec.status = SocketStatus.otherEndClosed;
      if (!this.records.has(rec.id)) return;
      this.dropSlotIfDone(rec);
      this.notify(rec);
    });
  }

  private addresses(rec: SocketRecord, socket: net.Socket): void {
    rec.localPort = socket.localPort ?? 0;
    rec.remoteAddress = socket.remoteAddress ?? "";
    rec.remotePort = socket.remotePort ?? 0;
  }

  // ------------------------------------------------------------------ SocketAdapter

  create(events: HandleEvents): number {
    this.account.takeSocket();
    return this.newRecord("tcp", events).id;
  }

  connect(id: number, host: string, port: number): void {
    const rec = this.record(id);
    if (rec.kind !== "tcp" || rec.socket || rec.server || rec.status !== SocketStatus.unconnected) {
      throw new HostError("invalid", `socket ${id} cannot connect: it is already in use`);
    }
    rec.status = SocketStatus.waitingForConnection;
    rec.error = undefined;
    const socket = net.connect({ host, port });
    this.watch(rec, socket);
  }

  listen(id: number, port: number, backlog: number, address?: string): void {
    const rec = this.record(id);
    if (rec.kind !== "tcp" || rec.socket || rec.server || rec.status !== SocketStatus.unconnected) {
      throw new HostError("invalid", `socket ${id} cannot listen: it is already in use`);
    }
    const host = address ?? "127.0.0.1";
    if (!this.account.limits.listenAddresses.includes(host)) {
      throw new HostError("accessDenied", `guests may listen only on ${this.account.limits.listenAddresses.join(", ")} (not ${host})`);
    }
    rec.kind = "listener";
    rec.backlog = backlog;
    rec.status = SocketStatus.waitingForConnection;
    rec.error = undefined;
    const server = net.createServer();
    rec.server = server;
    server.on("connection", (socket) => this.arrived(rec, socket));
    server.on("error", (e: NodeJS.ErrnoException) => {
      rec.error = describeError(e);
      rec.status = SocketStatus.unconnected;
      rec.osClosed = true;
      server.close();
      this.dropSlotIfDone(rec);
      this.notify(rec);
    });
    server.listen({ port, host, backlog }, () => {
      const a = server.address();
      rec.localPort = a !== null && typeof a === "object" ? a.port : 0;
      this.notify(rec);
    });
  }

  /** A connection arrived on a listening socket: it waits for accept, or is refused (backlog full, quota, limit). */
  private arrived(listener: SocketRecord, socket: net.Socket): void {
    if (!this.records.has(listener.id) || listener.status !== SocketStatus.waitingForConnection || listener.pending.length >= listener.backlog) {
      this.account.socketsRefused++;
      socket.destroy();
      return;
    }
    try {
      this.account.takeSocket();
    } catch {
      socket.destroy();
      return;
    }
    const rec = this.newRecord("accepted", undefined);
    rec.status = SocketStatus.connected;
    rec.listener = listener;
    this.watch(rec, socket);
    this.addresses(rec, socket);
    listener.pending.push(rec);
    this.notify(listener);
  }

  accept(id: number, events: HandleEvents): number | undefined {
    const listener = this.record(id);
    if (listener.kind !== "listener") throw new HostError("invalid", `socket ${id} is not listening`);
    const rec = listener.pending.shift();
    if (!rec) return undefined;
    rec.events = events;
    rec.listener = undefined;
    if (rec.receivedBytes > 0 || rec.status !== SocketStatus.connected) this.notify(rec);
    return rec.id;
  }

  info(id: number): SocketInfo {
    const rec = this.record(id);
    const socket = rec.socket;
    return {
      status: rec.status,
      error: rec.error,
      localPort: rec.localPort,
      remoteAddress: rec.remoteAddress,
      remotePort: rec.remotePort,
      available: rec.receivedBytes,
      canSend: rec.status === SocketStatus.connected && socket !== undefined && socket.writableLength < this.account.limits.socketSendBuffer,
      pendingAccepts: rec.pending.length,
    };
  }

  send(id: number, data: Uint8Array): number {
    const rec = this.record(id);
    const socket = rec.socket;
    if (rec.kind === "listener") throw new HostError("invalid", `socket ${id} is listening: it cannot send`);
    if (rec.status === SocketStatus.unconnected || rec.status === SocketStatus.waitingForConnection || !socket) {
      throw new HostError("invalid", `socket ${id} is not connected`);
    }
    if (rec.status !== SocketStatus.connected || socket.destroyed || !socket.writable) {
      throw new HostError("closed", `socket ${id}: the connection is closed`);
    }
    const room = this.account.limits.socketSendBuffer - socket.writableLength;
    const n = Math.min(room, data.length);
    if (n <= 0) return 0;
    socket.write(Buffer.from(data.buffer, data.byteOffset, n));
    this.account.bytesOut += n;
    return n;
  }

  receive(id: number, max: number): Uint8Array {
    const rec = this.record(id);
    if (rec.kind === "listener") throw new HostError("invalid", `socket ${id} is listening: it receives connections, not data`);
    if (max <= 0 || rec.receivedBytes === 0) return new Uint8Array(0);
    const out = new Uint8Array(Math.min(max, rec.receivedBytes));
    let n = 0;
    while (n < out.length) {
      const chunk = rec.received[0];
      const take = Math.min(chunk.length, out.length - n);
      out.set(chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) rec.received.shift();
      else rec.received[0] = chunk.subarray(take);
    }
    rec.receivedBytes -= n;
    if (rec.paused && rec.receivedBytes < this.account.limits.socketReceiveBuffer / 2) {
      rec.paused = false;
      rec.socket?.resume();
    }
    this.dropSlotIfDone(rec);
    return out;
  }

  close(id: number): void {
    const rec = this.record(id);
    if (rec.status === SocketStatus.thisEndClosed) return;
    rec.status = SocketStatus.thisEndClosed;
    if (rec.server) {
      // the listening descriptor closes now ('close' waits for the accepted connections)
      this.refusePending(rec);
      rec.server.close();
      rec.osClosed = true;
    } else if (rec.socket && !rec.osClosed) {
      const socket = rec.socket;
      socket.end();
      rec.lingerTimer = setTimeout(() => {
        rec.lingerTimer = undefined;
        socket.destroy();
      }, this.account.limits.closeLingerMs);
      rec.lingerTimer.unref?.();
    }
    this.dropSlotIfDone(rec);
  }

  /**
   * Forgets the socket. A connection the guest closed first is not aborted: the host still delivers what
   * was sent (within closeLingerMs), and the slot is given back when the connection is gone.
   */
  destroy(id: number): void {
    const rec = this.records.get(id);
    if (!rec) return;
    if (rec.ownerDead && rec.holdsSlot) this.account.finalizedByImage++;
    if (rec.status === SocketStatus.thisEndClosed && rec.socket && !rec.osClosed && !rec.socket.destroyed) this.linger(rec);
    else this.forget(rec);
  }

  private linger(rec: SocketRecord): void {
    this.records.delete(rec.id);
    this.lingering.add(rec);
    rec.lingering = true;
    rec.received.length = 0;
    rec.receivedBytes = 0;
    if (rec.paused) rec.socket?.resume();
    const events = rec.events;
    rec.events = undefined;
    events?.released();
  }

  ownerCollected(id: number): void {
    const rec = this.records.get(id);
    if (!rec) return;
    rec.ownerDead = true;
    if (!rec.holdsSlot) {
      this.forget(rec);
      return;
    }
    this.account.scheduleBackstop(() => {
      if (this.records.get(id) !== rec) return;
      if (rec.holdsSlot) this.account.finalizedByHost++;
      this.forget(rec);
    });
  }

  // ------------------------------------------------------------------ releasing

  private refusePending(listener: SocketRecord): void {
    for (const rec of listener.pending.splice(0)) this.forget(rec);
  }

  /** Aborts the socket, gives its slot back, and forgets it. */
  private forget(rec: SocketRecord): void {
    if (!this.records.delete(rec.id)) return;
    if (rec.lingerTimer) clearTimeout(rec.lingerTimer);
    rec.lingerTimer = undefined;
    if (rec.server) {
      this.refusePending(rec);
      rec.server.close();
    }
    if (rec.socket && !rec.socket.destroyed) rec.socket.destroy();
    if (rec.listener) {
      const i = rec.listener.pending.indexOf(rec);
      if (i >= 0) rec.listener.pending.splice(i, 1);
    }
    rec.received.length = 0;
    rec.receivedBytes = 0;
    if (rec.holdsSlot) {
      rec.holdsSlot = false;
      this.account.dropSocket();
    }
    const events = rec.events;
    rec.events = undefined;
    events?.released();
  }

  /** Destroys every socket (the guest stops); resolves when their descriptors are closed. */
  async releaseAll(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const rec of [...this.lingering]) {
      this.lingering.delete(rec);
      if (!rec.osClosed) closing.push(new Promise((resolve) => rec.socket!.once("close", () => resolve())));
      if (rec.lingerTimer) clearTimeout(rec.lingerTimer);
      rec.lingerTimer = undefined;
      rec.socket!.destroy();
      if (rec.holdsSlot) {
        rec.holdsSlot = false;
        this.account.dropSocket();
      }
    }
    for (const rec of [...this.records.values()]) {
      if (rec.socket && !rec.osClosed) closing.push(new Promise((resolve) => rec.socket!.once("close", () => resolve())));
      this.forget(rec);
    }
    await Promise.all(closing);
  }
}
