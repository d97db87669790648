/**
 * The daemon's resource manager: the global limits (sockets and open files for the whole daemon) and one
 * ResourceAccount per guest, which implements the VM's SocketAdapter and FileAdapter for that guest,
 * applies its quotas and counts everything in GuestStats terms (docs/resources.md).
 *
 * The paper's example (section 4.7): with 100 sockets in all, one image must not be able to starve the
 * others. Each guest has its own quota, and every guest keeps a small reserve: a guest may not take the
 * daemon's last sockets while another guest has not used its reserve.
 *
 *   const resources = new ResourceManager({ maxSockets: 100 });
 *   const account = resources.account("web", { maxSockets: 20, fileRoot: "oz-data/web/files", wake });
 *   account.attach(host);          // host.sockets and host.files: the guest's plugins use them
 *   ...
 *   await account.releaseAll();    // on stop, destroy or crash: every socket and file closed
 */
import { HostError } from "../../vm/host.js";
import { ResourceAccount, type AccountOptions } from "./account.js";
import { DEFAULT_LIMITS, type ResourceLimits } from "./limits.js";
import type { DaemonResourceFigures } from "../types.js";

export interface DaemonResourceStats extends DaemonResourceFigures {
  socketsOpen: number;
}

export class ResourceManager {
  readonly limits: ResourceLimits;
  private readonly accounts = new Map<string, ResourceAccount>();
  /** sockets held by all guests (see ResourceAccount.socketsOpen) */
  socketsOpen = 0;
  filesOpen = 0;
  socketsRefusedByLimit = 0;
  filesRefusedByLimit = 0;

  constructor(limits: Partial<ResourceLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** The account of guest `name`, created on first use; later calls update its options (quotas, sandbox, wake). */
  account(name: string, options: AccountOptions = {}): ResourceAccount {
    let account = this.accounts.get(name);
    if (!account) {
      account = new ResourceAccount(this, name, options);
      this.accounts.set(name, account);
    } else {
      account.configure(options);
    }
    return account;
  }

  get(name: string): ResourceAccount | undefined {
    return this.accounts.get(name);
  }

  list(): ResourceAccount[] {
    return [...this.accounts.values()];
  }

  /** Releases everything the guest holds and forgets its account (the guest was undefined). */
  async remove(name: string): Promise<void> {
    const account = this.accounts.get(name);
    if (!account) return;
    this.accounts.delete(name);
    await account.releaseAll();
  }

  /** Releases every guest's resources (the daemon stops). */
  async close(): Promise<void> {
    await Promise.all([...this.accounts.values()].map((a) => a.releaseAll()));
  }

  /** Throws unless `account` may open one more socket (its quota, the daemon's limit and the others' reserves). */
  checkSocket(account: ResourceAccount): void {
    if (account.socketsOpen >= account.maxSockets) {
      throw new HostError("quotaExceeded", `socket quota exceeded: guest '${account.name}' may hold ${account.maxSockets} sockets at once and holds ${account.socketsOpen}`);
    }
    const reserved = this.reservedForOthers(account);
    if (this.socketsOpen + 1 + reserved > this.limits.maxSockets) {
      this.socketsRefusedByLimit++;
      const detail = reserved > 0 ? ` and ${reserved} are kept in reserve for other guests` : "";
      throw new HostError("limitExceeded", `daemon socket limit reached: ${this.socketsOpen} of ${this.limits.maxSockets} sockets are open${detail}`);
    }
  }

  /** Sockets the other guests have not used of their reserve. */
  private reservedForOthers(account: ResourceAccount): number {
    const reserve = this.limits.reservedSocketsPerGuest;
    if (reserve <= 0) return 0;
    let sum = 0;
    for (const other of this.accounts.values()) {
      if (other === account || !other.attached) continue;
      sum += Math.max(0, Math.min(reserve, other.maxSockets) - other.socketsOpen);
    }
    return sum;
  }

  /** Throws unless `account` may open one more file. */
  checkFile(account: ResourceAccount): void {
    if (account.filesOpen >= account.maxOpenFiles) {
      throw new HostError("quotaExceeded", `open file quota exceeded: guest '${account.name}' may hold ${account.maxOpenFiles} files open at once`);
    }
    if (this.filesOpen >= this.limits.maxOpenFiles) {
      this.filesRefusedByLimit++;
      throw new HostError("limitExceeded", `daemon open file limit reached: ${this.filesOpen} of ${this.limits.maxOpenFiles} files are open`);
    }
  }

  stats(): DaemonResourceStats {
    return {
      socketsOpen: this.socketsOpen,
      socketsLimit: this.limits.maxSockets,
      filesOpen: this.filesOpen,
      filesLimit: this.limits.maxOpenFiles,
      socketsRefusedByLimit: this.socketsRefusedByLimit,
      filesRefusedByLimit: this.filesRefusedByLimit,
    };
  }
}
