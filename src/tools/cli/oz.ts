/**
 * `oz`, the command-line tool (design.md section 7). Each subcommand is a module under commands/ with its
 * own usage text; `oz help COMMAND` and `oz COMMAND --help` print it.
 */
import { processIO, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Command, type CommandIO } from "./io.js";
import { UsageError } from "./args.js";
import { runCommand } from "./commands/run.js";
import { evalCommand } from "./commands/eval.js";
import { imageCommand } from "./commands/image.js";
import { changesCommand } from "./commands/changes.js";

export const COMMANDS: Command[] = [runCommand, evalCommand, imageCommand, changesCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: oz COMMAND [ARGS...]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run 'oz COMMAND --help' for a command's usage.
`;
}

export async function main(argv: string[], io: CommandIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(topic ? `${topic.usage}\n` : overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`oz: unknown command '${name}'\n\n${overview()}`);
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(`${command.usage}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`oz ${command.name}: ${e.message}\n\n${command.usage}\n`);
      return EXIT_USAGE;
    }
    io.err(`oz ${command.name}: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }
}
