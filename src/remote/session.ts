/**
 * Client sessions and their handles. A remote mirror is a handle: a random 128-bit id, meaningful only in
 * the session that received it, standing for a server-side mirror (which keeps its object alive and
 * follows it across garbage collections). A handle is released on its own, with its group, with all the
 * session's handles in a guest, or when the session ends (closed, its connection dropped, idle too long).
 * A handle that is unknown to the session (forged, another session's, released, or of a guest that has
 * since been destroyed or restarted) is a "released" error (NOT_FOUND), never another object.
 */
import * as crypto from "node:crypto";
import { MembraneError, type ObjectMirror, type ObjectSpace } from "../membrane/objectSpace.js";
import { RemoteError } from "./errors.js";
import type { Role } from "./schema.js";
import type { MirrorRef } from "./wire.js";

export interface HandleEntry {
  readonly id: string;
  readonly guest: string;
  readonly space: ObjectSpace;
  readonly mirror: ObjectMirror;
  readonly group: string;
}

export interface SessionOptions {
  /** who opened it (a digest of the token): a session is usable only with the token that opened it */
  principal: string;
  role: Role;
  transport: "grpc" | "ws";
  /** an unattached session ends after this long without calls (ms) */
  idleTimeoutMs: number;
  maxHandles: number;
  /** is this still the guest's current space? (false after the guest was destroyed or restarted) */
  isCurrent: (guest: string, space: ObjectSpace) => boolean;
  /** one request's session, closed when the request is answered */
  ephemeral?: boolean;
}

export function randomId(): string {
  return crypto.randomBytes(16).toString("base64url");
}

export class Session {
  readonly id = randomId();
  readonly createdAt = Date.now();
  lastUsed = Date.now();
  closed = false;
  /** KeepSession streams (gRPC) or the connection (WebSocket) holding the session open */
  attachments = 0;
  private readonly handles = new Map<string, HandleEntry>();
  private readonly byMirror = new Map<ObjectMirror, HandleEntry>();
  private readonly groups = new Map<string, Set<string>>();
  private readonly onClose: Array<() => void> = [];

  constructor(readonly options: SessionOptions) {}

  get principal(): string {
    return this.options.principal;
  }
  get transport(): "grpc" | "ws" {
    return this.options.transport;
  }
  get size(): number {
    return this.handles.size;
  }

  touch(): void {
    this.lastUsed = Date.now();
  }

  whenClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.onClose.push(fn);
  }

  /** Checks that `count` more handles fit in the session's quota. */
  reserve(count: number): void {
    if (this.closed) throw new RemoteError("cancelled", "the session has ended");
    if (this.handles.size + count > this.options.maxHandles) {
      throw new RemoteError("resourceExhausted", `this session would hold more than ${this.options.maxHandles} handles (its quota): release some (Release, ReleaseGroup, ReleaseAll)`);
    }
  }

  /** A handle for a server-side mirror (the same handle when the mirror already has one). */
  register(guest: string, space: ObjectSpace, mirror: ObjectMirror, group: string): MirrorRef {
    const known = this.byMirror.get(mirror);
    if (known) return { handle: known.id, kind: mirror.kind };
    if (this.closed) {
      mirror.release();
      throw new RemoteError("cancelled", "the session has ended");
    }
    const entry: HandleEntry = { id: randomId(), guest, space, mirror, group };
    this.handles.set(entry.id, entry);
    this.byMirror.set(mirror, entry);
    if (group) {
      let set = this.groups.get(group);
      if (!set) this.groups.set(group, (set = new Set()));
      set.add(entry.id);
    }
    return { handle: entry.id, kind: mirror.kind };
  }

  /** The entry of a handle, or undefined for anything this session does not hold (or holds no more). */
  lookup(handle: unknown): HandleEntry | undefined {
    const entry = typeof handle === "string" ? this.handles.get(handle) : undefined;
    if (!entry) return undefined;
    if (!this.options.isCurrent(entry.guest, entry.space)) {
      this.drop(entry);
      return undefined;
    }
    return entry;
  }

  /** The entry of a handle; "released" (NOT_FOUND) for anything this session does not hold. */
  resolve(handle: unknown): HandleEntry {
    const entry = typeof handle === "string" ? this.handles.get(handle) : undefined;
    if (!entry) throw new MembraneError("released", "no such handle in this session (released, expired, or never given to it)");
    if (!this.options.isCurrent(entry.guest, entry.space)) {
      this.drop(entry);
      throw new MembraneError("released", `the guest ${entry.guest} was restarted or undefined since this handle was given`);
    }
    return entry;
  }

  /** Does this mirror object already have a handle here? */
  owns(mirror: ObjectMirror): boolean {
    return this.byMirror.has(mirror);
  }

  has(handle: string): boolean {
    return this.handles.has(handle);
  }

  private drop(entry: HandleEntry): void {
    this.handles.delete(entry.id);
    this.byMirror.delete(entry.mirror);
    if (entry.group) {
      const set = this.groups.get(entry.group);
      set?.delete(entry.id);
      if (set && set.size === 0) this.groups.delete(entry.group);
    }
    try {
      entry.mirror.release();
    } catch {
      // the guest is gone: nothing to release
    }
  }

  release(handles: Iterable<string>): number {
    let n = 0;
    for (const h of handles) {
      const entry = this.handles.get(h);
      if (entry) {
        this.drop(entry);
        n++;
      }
    }
    return n;
  }

  releaseGroup(group: string): number {
    const set = this.groups.get(group);
    return set ? this.release([...set]) : 0;
  }

  /** Releases the session's handles in one guest (or everywhere). */
  releaseAll(guest?: string): number {
    const ids = [...this.handles.values()].filter((e) => guest === undefined || e.guest === guest).map((e) => e.id);
    return this.release(ids);
  }

  close(): void {
    if (this.closed) return;
    this.releaseAll();
    this.closed = true;
    for (const fn of this.onClose.splice(0)) {
      try {
        fn();
      } catch {
        // a listener's failure does not stop the others
      }
    }
  }
}

export interface SessionRegistryOptions {
  maxSessions: number;
  /** sessions one token may hold at once */
  maxSessionsPerToken: number;
  maxHandlesPerSession: number;
  idleTimeoutMs: number;
  isCurrent: (guest: string, space: ObjectSpace) => boolean;
}

/** Every live session, with the idle sweep. */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly perPrincipal = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly options: SessionRegistryOptions) {
    this.timer = setInterval(() => this.sweep(), Math.min(10_000, Math.max(50, options.idleTimeoutMs / 4)));
    this.timer.unref();
  }

  get count(): number {
    return this.sessions.size;
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  create(principal: string, role: Role, transport: "grpc" | "ws", extra: { idleTimeoutMs?: number; ephemeral?: boolean } = {}): Session {
    if (!extra.ephemeral && this.sessions.size >= this.options.maxSessions) {
      throw new RemoteError("resourceExhausted", `the server holds ${this.options.maxSessions} sessions (its limit)`);
    }
    const held = this.perPrincipal.get(principal) ?? 0;
    if (!extra.ephemeral && held >= this.options.maxSessionsPerToken) {
      throw new RemoteError("resourceExhausted", `this token holds ${held} sessions (its limit): close some`);
    }
    const session = new Session({
      principal,
      role,
      transport,
      idleTimeoutMs: extra.idleTimeoutMs ?? this.options.idleTimeoutMs,
      maxHandles: this.options.maxHandlesPerSession,
      isCurrent: this.options.isCurrent,
      ephemeral: extra.ephemeral,
    });
    if (!extra.ephemeral) {
      this.sessions.set(session.id, session);
      this.perPrincipal.set(principal, held + 1);
      session.whenClosed(() => {
        this.sessions.delete(session.id);
        const n = (this.perPrincipal.get(principal) ?? 1) - 1;
        if (n > 0) this.perPrincipal.set(principal, n);
        else this.perPrincipal.delete(principal);
      });
    }
    return session;
  }

  /** A session by id, for the principal that opened it. */
  get(id: string, principal: string): Session {
    const s = this.sessions.get(id);
    if (!s || s.closed || s.principal !== principal) throw new RemoteError("notFound", "no such session (closed, expired, or opened with another token): open one with OpenSession");
    s.touch();
    return s;
  }

  /** Ends sessions that are not attached and were not used for their idle timeout. */
  sweep(now = Date.now()): void {
    for (const s of this.sessions.values()) {
      if (s.attachments === 0 && now - s.lastUsed > s.options.idleTimeoutMs) s.close();
    }
  }

  /** Releases every handle on a guest (it was destroyed or restarted). */
  dropGuest(guest: string): void {
    for (const s of this.sessions.values()) s.releaseAll(guest);
  }

  closeAll(): void {
    clearInterval(this.timer);
    for (const s of [...this.sessions.values()]) s.close();
  }
}
