/**
 * The plugins `ozd` loads: each part that serves something on the daemon's ports (metrics, the remote
 * mirror servers) has a module exporting `plugin` (a DaemonPlugin) or `plugins` (a list), named here.
 * A module that does not exist yet is skipped, so parts can land in any order.
 */
import type { DaemonPlugin } from "./daemon.js";

/**
 * Modules relative to this file (in dist/src/hypervisor/), set up in this order. Add yours here. The
 * metrics come last: they count the requests of the remote services, which must exist by then.
 */
export const PLUGIN_MODULES = ["./resources/daemonPlugin.js", "../remote/daemonPlugin.js", "../metrics/daemonPlugin.js"];

export async function defaultPlugins(log: (line: string) => void = () => undefined): Promise<DaemonPlugin[]> {
  const out: DaemonPlugin[] = [];
  for (const spec of PLUGIN_MODULES) {
    const url = new URL(spec, import.meta.url);
    let mod: { plugin?: DaemonPlugin; plugins?: DaemonPlugin[] };
    try {
      mod = (await import(url.href)) as typeof mod;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ERR_MODULE_NOT_FOUND" && String((e as Error).message).includes(url.pathname.split("/").pop()!)) continue;
      log(`ozd: cannot load the plugin module ${spec}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (mod.plugin) out.push(mod.plugin);
    if (Array.isArray(mod.plugins)) out.push(...mod.plugins);
  }
  return out;
}
