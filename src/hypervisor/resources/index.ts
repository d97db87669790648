/** Per-guest resources for the daemon: sockets, files, quotas, limits and the finalization backstop (docs/resources.md). */
export { ResourceManager, type DaemonResourceStats } from "./manager.js";
export { ResourceAccount, type AccountOptions, type ResourceStats } from "./account.js";
export { DEFAULT_LIMITS, type ResourceLimits } from "./limits.js";
export { SocketTable } from "./sockets.js";
export { FileSandbox, sandboxNames } from "./files.js";
