/**
 * How the resources plug into the hypervisor and ozd (docs/resources.md):
 *
 * - a GuestHook gives every guest VM, when it is created, the sockets and the file sandbox
 *   (DIR/guests/NAME/files/) of the guest's ResourceAccount, with the guest's quotas (GuestConfig
 *   maxSockets, maxFileBytes) and the guest's wake for host events; the resources it answers report the
 *   account's counters in the guest's stats and release everything when the VM goes away (stop, destroy,
 *   quit, shutdown);
 * - a crashed guest's sockets and files are released at once (its VM stays for surgery; the image sees
 *   its sockets closed if it is resumed), and an undefined guest's account is forgotten;
 * - the daemon plugin installs this on ozd's hypervisor, with the limits of the configuration's
 *   `resources` section.
 *
 *   const resources = installResources(hv, { maxSockets: 100 });   // in tests, or any embedding
 */
import type { Daemon, DaemonPlugin } from "../daemon.js";
import type { Guest, GuestHook, GuestResources } from "../guest.js";
import type { Hypervisor } from "../hypervisor.js";
import { ResourceManager } from "./manager.js";
import type { ResourceLimits } from "./limits.js";

/** The hook that attaches each guest's account to its VM. */
export function resourceHook(manager: ResourceManager): GuestHook {
  return {
    attach(guest: Guest): GuestResources {
      const space = guest.space;
      if (!space) throw new Error(`guest ${guest.name} has no VM`);
      const limits = manager.limits;
      const account = manager.account(guest.name, {
        fileRoot: guest.filesDir,
        maxSockets: guest.config.maxSockets ?? limits.guestMaxSockets,
        maxFileBytes: guest.config.maxFileBytes ?? limits.guestMaxFileBytes,
        wake: () => guest.wake(),
      });
      // a new VM: nothing of an earlier one may survive
      void account.releaseAll();
      const host = space.host;
      account.attach(host);
      return {
        stats: () => account.stats(),
        release: async () => {
          account.detach(host);
          await account.releaseAll();
        },
      };
    },
  };
}

/** Attaches resource accounts to every guest of `hv` (from now on); answers the manager. */
export function installResources(hv: Hypervisor, limits: Partial<ResourceLimits> = {}): ResourceManager {
  const manager = new ResourceManager(limits);
  hv.addGuestHook(resourceHook(manager));
  hv.resourceStats = () => manager.stats();
  hv.subscribe((event) => {
    if (event.type === "state" && event.state === "crashed") void manager.get(event.guest)?.releaseAll();
    if (event.type === "undefined") void manager.remove(event.guest);
  });
  return manager;
}

const managers = new WeakMap<Daemon, ResourceManager>();

/** The resource manager of a running ozd (for tests and the metrics). */
export function resourcesOf(daemon: Daemon): ResourceManager | undefined {
  return managers.get(daemon);
}

export const plugin: DaemonPlugin = {
  name: "resources",
  setup(daemon: Daemon) {
    managers.set(daemon, installResources(daemon.hypervisor, daemon.config.resources ?? {}));
  },
};
