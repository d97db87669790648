/**
 * One guest's resource account: it implements the VM's SocketAdapter and FileAdapter for that guest
 * (`sockets`, a socket table over Node's `net`, and `files`, a file sandbox over `fs`), applies the guest's quotas and the
 * daemon's limits (through the ResourceManager), counts everything in GuestStats terms, runs the host's
 * finalization backstop, and releases everything on stop, destroy or crash (`releaseAll`).
 *
 * Backstop: when the plugin reports that the guest object owning a socket or a file was collected, the
 * image's own finalization (its WeakRegistry executors) is expected to close the handle; a handle the
 * image closes after its owner died counts as finalizedByImage. If it is still open `finalizationGraceMs`
 * later (the image's finalization process is broken or starved), the host closes it and counts it as
 * finalizedByHost.
 */
import type { VMHost } from "../../vm/host.js";
import type { ResourceFigures } from "../types.js";
import type { ResourceManager } from "./manager.js";
import { SocketTable } from "./sockets.js";
import { FileSandbox } from "./files.js";

export interface AccountOptions {
  /** the guest's file sandbox (a directory, created when first used); absent: the guest has no files */
  fileRoot?: string;
  /** sockets the guest may hold at once (default: the manager's guestMaxSockets) */
  maxSockets?: number;
  /** files the guest may hold open at once (default: the manager's guestMaxOpenFiles) */
  maxOpenFiles?: number;
  /** bytes the guest may keep in its sandbox (default: the manager's guestMaxFileBytes) */
  maxFileBytes?: number;
  /** called after an event was signalled to the guest, so that the daemon runs it if it was idle */
  wake?: () => void;
}

/** The account's counters: the resource fields of GuestStats. */
export type ResourceStats = ResourceFigures;

export class ResourceAccount {
  // counters (ResourceStats)
  socketsOpen = 0;
  socketsOpened = 0;
  socketsRefused = 0;
  bytesIn = 0;
  bytesOut = 0;
  finalizedByImage = 0;
  finalizedByHost = 0;
  filesOpen = 0;
  filesOpened = 0;
  filesRefused = 0;
  fileBytes = 0;
  fileBytesRead = 0;
  fileBytesWritten = 0;

  maxSockets: number;
  maxOpenFiles: number;
  maxFileBytes: number;
  fileRoot: string | undefined;
  /** whether a running guest uses the account (only attached guests keep a socket reserve) */
  attached = false;
  private wakeGuest: (() => void) | undefined;

  /** the guest's SocketAdapter */
  readonly sockets: SocketTable;
  /** the guest's FileAdapter */
  readonly files: FileSandbox;

  private readonly dying: Array<{ due: number; reap: () => void }> = [];
  private dyingTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly manager: ResourceManager,
    readonly name: string,
    options: AccountOptions = {},
  ) {
    const limits = manager.limits;
    this.maxSockets = options.maxSockets ?? limits.guestMaxSockets;
    this.maxOpenFiles = options.maxOpenFiles ?? limits.guestMaxOpenFiles;
    this.maxFileBytes = options.maxFileBytes ?? limits.guestMaxFileBytes;
    this.fileRoot = options.fileRoot;
    this.wakeGuest = options.wake;
    this.sockets = new SocketTable(this);
    this.files = new FileSandbox(this);
  }

  get limits() {
    return this.manager.limits;
  }

  configure(options: AccountOptions): void {
    if (options.maxSockets !== undefined) this.maxSockets = options.maxSockets;
    if (options.maxOpenFiles !== undefined) this.maxOpenFiles = options.maxOpenFiles;
    if (options.maxFileBytes !== undefined) this.maxFileBytes = options.maxFileBytes;
    if (options.fileRoot !== undefined && options.fileRoot !== this.fileRoot) {
      this.fileRoot = options.fileRoot;
      this.files.rootChanged();
    }
    if (options.wake !== undefined) this.wakeGuest = options.wake;
  }

  /**
   * Gives a guest's VM host this account's sockets (and files, when it has a sandbox), and makes the
   * host's `wake` call the account's (the daemon's) wake.
   */
  attach(host: VMHost): void {
    host.sockets = this.sockets;
    if (this.fileRoot !== undefined) host.files = this.files;
    host.wake = () => this.wake();
    this.attached = true;
  }

  /** The guest stopped using the account (its VM is gone): it keeps no socket reserve. */
  detach(host?: VMHost): void {
    if (host) {
      if (host.sockets === this.sockets) host.sockets = undefined;
      if (host.files === this.files) host.files = undefined;
      host.wake = undefined;
    }
    this.attached = false;
  }

  /** After an event was signalled to the guest (through the host's `wake`). */
  wake(): void {
    this.wakeGuest?.();
  }

  // ------------------------------------------------------------------ quotas

  /** Takes a socket slot or throws (quota, limit); refusals are counted. */
  takeSocket(): void {
    try {
      this.manager.checkSocket(this);
    } catch (e) {
      this.socketsRefused++;
      throw e;
    }
    this.socketsOpen++;
    this.socketsOpened++;
    this.manager.socketsOpen++;
  }

  dropSocket(): void {
    this.socketsOpen--;
    this.manager.socketsOpen--;
  }

  /** Reserves an open-file slot or throws (quota, limit); the open counts in filesOpened once it succeeds. */
  takeFile(): void {
    try {
      this.manager.checkFile(this);
    } catch (e) {
      this.filesRefused++;
      throw e;
    }
    this.filesOpen++;
    this.manager.filesOpen++;
  }

  dropFile(): void {
    this.filesOpen--;
    this.manager.filesOpen--;
  }

  // ------------------------------------------------------------------ the backstop

  /** Runs `reap` after the finalization grace period (it closes the handle if the image did not). */
  scheduleBackstop(reap: () => void): void {
    this.dying.push({ due: performance.now() + this.limits.finalizationGraceMs, reap });
    this.armBackstop();
  }

  private armBackstop(): void {
    if (this.dyingTimer !== undefined || this.dying.length === 0) return;
    const delay = Math.max(0, this.dying[0].due - performance.now());
    this.dyingTimer = setTimeout(() => {
      this.dyingTimer = undefined;
      const now = performance.now();
      while (this.dying.length > 0 && this.dying[0].due <= now + 1) this.dying.shift()!.reap();
      this.armBackstop();
    }, Math.ceil(delay));
    this.dyingTimer.unref?.();
  }

  // ------------------------------------------------------------------ release

  /** Closes every socket and file of the guest (stop, destroy, crash); resolves when their descriptors are closed. */
  async releaseAll(): Promise<void> {
    if (this.dyingTimer !== undefined) clearTimeout(this.dyingTimer);
    this.dyingTimer = undefined;
    this.dying.length = 0;
    await Promise.all([this.sockets.releaseAll(), this.files.releaseAll()]);
  }

  // ------------------------------------------------------------------ statistics

  stats(): ResourceStats {
    return {
      socketsOpen: this.socketsOpen,
      socketsOpened: this.socketsOpened,
      socketsRefused: this.socketsRefused,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      finalizedByImage: this.finalizedByImage,
      finalizedByHost: this.finalizedByHost,
      fileBytes: this.fileBytes,
      filesOpen: this.filesOpen,
      filesOpened: this.filesOpened,
      filesRefused: this.filesRefused,
      fileBytesRead: this.fileBytesRead,
      fileBytesWritten: this.fileBytesWritten,
    };
  }

}
