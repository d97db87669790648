/**
 * `oz`, the command-line tool (design.md section 7, docs/cli.md). Each subcommand is a module under
 * commands/ with its own usage text; `oz help COMMAND` and `oz COMMAND --help` print it. Commands work on
 * local image files (run, eval, inspect, changes, image) or talk to a daemon (ps, top, define, start...,
 * logs, and run, eval, inspect and changes with --remote).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { processIO, CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Command, type CommandIO } from "./io.js";
import { UsageError } from "./args.js";
import { asCliError } from "./remote.js";
import { runCommand } from "./commands/run.js";
import { evalCommand } from "./commands/eval.js";
import { imageCommand } from "./commands/image.js";
import { changesCommand } from "./commands/changes.js";
import { inspectCommand } from "./commands/inspect.js";
import { logsCommand } from "./commands/logs.js";
import {
  cloneCommand, defineCommand, destroyCommand, interruptCommand, psCommand, resumeCommand, snapshotCommand, startCommand, stopCommand,
  suspendCommand, topCommand,
} from "./commands/guests.js";

export const COMMANDS: Command[] = [
  runCommand, evalCommand, inspectCommand, imageCommand, changesCommand,
  psCommand, topCommand, defineCommand, startCommand, suspendCommand, resumeCommand, interruptCommand, snapshotCommand, cloneCommand,
  stopCommand, destroyCommand, logsCommand,
];

function version(): string {
  try {
    // package.json is three levels up from src/tools/cli (four from dist/src/tools/cli)
    let dir = path.dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 5; i++, dir = path.dirname(dir)) {
      const file = path.join(dir, "package.json");
      if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
    }
    return "unknown";
  } catch {
    return "unknown";
  }
}

const LOCAL = ["run", "eval", "inspect", "image", "changes"];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const line = (c: Command) => `  ${c.name.padEnd(width)}  ${c.summary}`;
  return `usage: oz COMMAND [ARGS...]

Local images:
${COMMANDS.filter((c) => LOCAL.includes(c.name)).map(line).join("\n")}

A daemon (ozd; --remote URL or $OZ_REMOTE, default grpc://127.0.0.1:50051; token in $OZ_TOKEN):
${COMMANDS.filter((c) => !LOCAL.includes(c.name)).map(line).join("\n")}
  (run, eval, inspect and changes work on a daemon's guest with --remote URL or $OZ_REMOTE: oz eval GUEST 'EXPR')

Run 'oz COMMAND --help' for a command's usage. Exit status: 0 success, 1 failure, 2 bad usage,
3 cannot reach the daemon, 4 not authorized (docs/cli.md).
`;
}

export async function main(argv: string[], io: CommandIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" && rest[0] !== undefined ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (name === "help" && rest[0] !== undefined && !topic) {
      io.err(`oz: unknown command '${rest[0]}'\n\n${overview()}`);
      return EXIT_USAGE;
    }
    io.out(topic ? `${topic.usage}\n` : overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "--version" || name === "version") {
    io.out(`oz ${version()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`oz: unknown command '${name}'\n\n${overview()}`);
    return EXIT_USAGE;
  }
  const dashDash = rest.indexOf("--");
  const options = dashDash < 0 ? rest : rest.slice(0, dashDash);
  if (options.includes("--help") || options.includes("-h")) {
    io.out(`${command.usage}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (caught) {
    const e = asCliError(caught);
    if (e instanceof UsageError) {
      io.err(`oz ${command.name}: ${e.message}\n\n${command.usage}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof CliError) {
      io.err(`oz ${command.name}: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`oz ${command.name}: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }
}
