/**
 * `ozd [--config FILE] [--data DIR] [--grpc HOST:PORT] [--http HOST:PORT]`: starts the daemon and runs
 * until SIGTERM or SIGINT, which save the running guests (a second signal exits at once).
 */
import { parseArgs, UsageError } from "../tools/cli/args.js";
import { ConfigError, loadConfig } from "./config.js";
import { Daemon, DaemonError } from "./daemon.js";
import { defaultPlugins } from "./plugins.js";

export const USAGE = `ozd [--config FILE] [--data DIR] [--grpc HOST:PORT] [--http HOST:PORT]

The Oz hypervisor daemon: runs the guest images of its data directory (default ./oz-data).
Without --config it runs its embedded default configuration (three demo guests).
  --config FILE      JSON configuration (docs/hypervisor.md)
  --data DIR         data directory (overrides the configuration's dataDir)
  --grpc HOST:PORT   gRPC address (default 127.0.0.1:50051; "off": none)
  --http HOST:PORT   HTTP address for /healthz, /metrics, /ws and /v1 (default 127.0.0.1:9464; "off": none)
SIGTERM and SIGINT shut it down gracefully (running guests are snapshotted).`;

export async function main(argv: string[]): Promise<number> {
  let flags: Record<string, string | true>;
  try {
    flags = parseArgs(argv, { config: { value: true }, data: { value: true }, grpc: { value: true }, http: { value: true }, help: { short: "h" } }).options;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`ozd: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const value = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
  let daemon: Daemon;
  try {
    const config = loadConfig({ config: value("config"), data: value("data"), grpc: value("grpc"), http: value("http") });
    const log = (line: string) => void process.stdout.write(`${line}\n`);
    daemon = await Daemon.start({ config, log, plugins: await defaultPlugins(log) });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`ozd: bad configuration: ${e.message}\n`);
      return 2;
    }
    if (e instanceof DaemonError) {
      process.stderr.write(`ozd: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`ozd: cannot start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`ozd: ${signal} again: exiting without saving\n`);
        process.exit(130);
      }
      process.stdout.write(`ozd: ${signal}\n`);
      daemon.stop().then(
        () => resolve(0),
        (e) => {
          process.stderr.write(`ozd: shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}
