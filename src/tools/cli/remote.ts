/**
 * How `oz` reaches a daemon: the URL (`--remote URL`, else `$OZ_REMOTE`, else for the daemon-only
 * commands the default gRPC port of design.md section 7), the token (`--token-file FILE`, else
 * `$OZ_TOKEN`), the connection, and the exit codes of what can go wrong on the way (docs/cli.md).
 */
import * as fs from "node:fs";
import type { OptionSpec } from "./args.js";
import { UsageError } from "./args.js";
import { CliError, EXIT_FAILURE, EXIT_UNAUTHORIZED, EXIT_UNAVAILABLE, type CommandIO } from "./io.js";
import type { OzClient } from "../../remote/client/connect.js";
import { RemoteError } from "../../remote/errors.js";
import { HypervisorError } from "../../hypervisor/types.js";
import { MembraneError } from "../../membrane/objectSpace.js";

export const DEFAULT_REMOTE = "grpc://127.0.0.1:50051";

/** The options of every command that may talk to a daemon. */
export const REMOTE_OPTIONS: Record<string, OptionSpec> = {
  remote: { value: true },
  "token-file": { value: true },
  "connect-timeout": { value: true },
  ca: { value: true },
};

export const REMOTE_USAGE = `Daemon options:
  --remote URL          the daemon: grpc://HOST:PORT or ws://HOST:PORT/ws (HOST:PORT means grpc://);
                        default $OZ_REMOTE, else (for the daemon commands) ${DEFAULT_REMOTE}
  --token-file FILE     read the token from FILE (default: $OZ_TOKEN; the daemon's admin token is
                        DATA_DIR/admin.token)
  --connect-timeout S   give up connecting after S seconds (default 10)
  --ca FILE             PEM certificate(s) to trust for grpcs:// and wss:// (default: $OZ_CA, else the
                        system's)`;

export const EXIT_USAGE_TEXT = `Exit status: 0 success, 1 failure (an error in the guest, a failed operation), 2 bad usage,
3 cannot reach the daemon, 4 not authorized.`;

/** `host:port` is gRPC; the schemes the client knows are kept; anything else is a usage error. */
export function normalizeUrl(url: string): string {
  const u = url.trim();
  if (/^[\w.-]+:\d+$/.test(u) || /^\[[0-9a-fA-F:]+\]:\d+$/.test(u)) return `grpc://${u}`;
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new UsageError(`not a daemon URL: ${JSON.stringify(url)} (grpc://HOST:PORT or ws://HOST:PORT/ws)`);
  }
  if (!["grpc:", "grpcs:", "ws:", "wss:"].includes(parsed.protocol)) {
    throw new UsageError(`unsupported URL scheme ${parsed.protocol} in ${url} (grpc://, grpcs://, ws://, wss://)`);
  }
  if ((parsed.protocol === "grpc:" || parsed.protocol === "grpcs:") && !parsed.port) {
    throw new UsageError(`${url}: give the port (grpc://127.0.0.1:50051)`);
  }
  return u;
}

/**
 * The daemon URL the options and the environment name, or undefined when neither does (then commands
 * that work on a local image do so). `OZ_REMOTE` set to an empty string counts as unset.
 */
export function explicitRemote(options: Record<string, string | true>, env: CommandIO["env"]): string | undefined {
  if (typeof options.remote === "string") return normalizeUrl(options.remote);
  const fromEnv = env.OZ_REMOTE?.trim();
  return fromEnv ? normalizeUrl(fromEnv) : undefined;
}

/** The daemon URL for the daemon-only commands: explicit, or the default gRPC port. */
export function remoteUrl(options: Record<string, string | true>, env: CommandIO["env"]): string {
  return explicitRemote(options, env) ?? DEFAULT_REMOTE;
}

export function readToken(options: Record<string, string | true>, env: CommandIO["env"]): string {
  if (typeof options["token-file"] === "string") {
    const file = options["token-file"];
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new CliError(`cannot read the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, EXIT_UNAUTHORIZED);
    }
    const token = text.trim();
    if (!token) throw new CliError(`the token file ${file} is empty`, EXIT_UNAUTHORIZED);
    return token;
  }
  const token = env.OZ_TOKEN?.trim();
  if (!token) {
    throw new CliError(
      "no token: set OZ_TOKEN (the daemon's admin token is DATA_DIR/admin.token: export OZ_TOKEN=$(cat oz-data/admin.token)) or pass --token-file FILE",
      EXIT_UNAUTHORIZED,
    );
  }
  return token;
}

function connectTimeoutMs(options: Record<string, string | true>): number {
  if (options["connect-timeout"] === undefined) return 10_000;
  const s = Number(options["connect-timeout"]);
  if (!Number.isFinite(s) || s <= 0) throw new UsageError("--connect-timeout needs a positive number of seconds");
  return s * 1000;
}

/** Connects (with a deadline); failures become CliErrors with the exit codes of docs/cli.md. */
export async function openClient(url: string, options: Record<string, string | true>, env: CommandIO["env"]): Promise<OzClient> {
  const token = readToken(options, env);
  const timeoutMs = connectTimeoutMs(options);
  const caFile = typeof options.ca === "string" ? options.ca : env.OZ_CA?.trim() || undefined;
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile);
    } catch (e) {
      throw new CliError(`cannot read the CA certificate ${caFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  let timer: NodeJS.Timeout | undefined;
  // the client (gRPC, WebSocket, the protocol) loads only for the commands that talk to a daemon
  const { connect } = await import("../../remote/client/connect.js");
  const attempt = connect(url, token, ca ? { ca } : {});
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError(`cannot reach the daemon at ${url}: no answer within ${timeoutMs / 1000} s`, EXIT_UNAVAILABLE)), timeoutMs);
  });
  try {
    return await Promise.race([attempt, timeout]);
  } catch (e) {
    attempt.then((c) => c.close(), () => undefined);
    throw asCliError(e, url);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `body` with a client of the daemon, closing it afterwards. */
export async function withClient<T>(url: string, options: Record<string, string | true>, env: CommandIO["env"], body: (client: OzClient) => Promise<T>): Promise<T> {
  const client = await openClient(url, options, env);
  try {
    return await body(client);
  } catch (e) {
    throw asCliError(e, url);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * The message and exit code of an error met on the way to a daemon or in it. Errors that are not ours
 * (bugs) are answered as they are.
 */
export function asCliError(e: unknown, url?: string): unknown {
  if (e instanceof CliError || e instanceof UsageError) return e;
  if (e instanceof RemoteError) {
    switch (e.code) {
      case "unavailable":
      case "deadlineExceeded":
      case "cancelled":
        return new CliError(`cannot reach the daemon${url ? ` at ${url}` : ""}: ${cleanMessage(e.message)} (is ozd running?)`, EXIT_UNAVAILABLE);
      case "unauthenticated":
        return new CliError(`not authorized: the daemon${url ? ` at ${url}` : ""} refuses the token (${cleanMessage(e.message)})`, EXIT_UNAUTHORIZED);
      case "permissionDenied":
        return new CliError(`not authorized: ${cleanMessage(e.message)}`, EXIT_UNAUTHORIZED);
      case "invalidArgument":
        return new CliError(cleanMessage(e.message), EXIT_FAILURE);
      default:
        return new CliError(`${cleanMessage(e.message)} (${e.code})`, EXIT_FAILURE);
    }
  }
  if (e instanceof HypervisorError || e instanceof MembraneError) return new CliError(e.message, EXIT_FAILURE);
  return e;
}

function cleanMessage(message: string): string {
  return message.replace(/\s*Resolution note:\s*$/, "").replace(/^\d+ [A-Z_]+: /, "").trim();
}
