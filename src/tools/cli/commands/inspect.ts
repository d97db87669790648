/**
 * `oz inspect`: the interactive inspector (src/tools/inspector) on a local image or on a daemon's guest.
 */
import type { Command } from "../io.js";
import { CliError, EXIT_FAILURE, EXIT_OK } from "../io.js";
import { parseArgs, UsageError } from "../args.js";
import { REMOTE_OPTIONS, REMOTE_USAGE, asCliError, explicitRemote, openClient } from "../remote.js";
import { openLocal } from "../local.js";
import { Inspector, type InspectorHypervisor, type InspectorOptions } from "../../inspector/inspector.js";
import { TerminalIO, runInspector } from "../../inspector/terminal.js";
import type { ObjectSpace } from "../../../membrane/objectSpace.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "the interactive inspector, on a local image or a daemon's guest (surgery on a crashed guest)",
  usage: `oz inspect ['EXPRESSION'] [--image IMAGE]
oz inspect GUEST ['EXPRESSION'] --remote URL [--token-file FILE]

An interactive inspector: shows an object (class, printString, named and indexed fields), moves into
fields and back, evaluates with self bound to it, sets fields; browses classes and methods and recompiles
them (logged to the image's changes file); lists processes, shows stacks and frames (receiver, arguments,
temporaries, source), suspends, resumes and terminates processes, restarts frames and returns from them.
Type 'help' in it for the commands.

Without a daemon (no --remote and no $OZ_REMOTE, or --local): on a fresh session of the kernel image (or
IMAGE), never saved. With --remote URL or $OZ_REMOTE: on the daemon's guest GUEST, in any state.
It starts on EXPRESSION's value; without one, on a crashed guest's failing process, else on Smalltalk.

On a terminal it prompts and edits lines (history with the arrow keys, Ctrl-D leaves); from a pipe it
reads one command per line, without prompts. 'edit' opens $VISUAL or $EDITOR when set, and otherwise
reads the new source from the terminal up to a line '!'.
  --page N      indexed fields per page (default 20)
  --budget MS   CPU budget of each evaluation (default 10000)

${REMOTE_USAGE}

Exit status: 0 when it quits, 1 when the guest does not exist or EXPRESSION fails, 2 bad usage,
3 cannot reach the daemon, 4 not authorized.`,
  async run(argv, io) {
    const { positional, options } = parseArgs(argv, {
      ...REMOTE_OPTIONS, image: { value: true }, local: {}, page: { value: true }, budget: { value: true }, help: { short: "h" },
    });
    const inspectorOptions: InspectorOptions = {};
    if (options.page !== undefined) {
      const n = Number(options.page);
      if (typeof options.page !== "string" || !Number.isInteger(n) || n < 1 || n > 10_000) throw new UsageError("--page needs a whole number from 1 to 10000");
      inspectorOptions.pageSize = n;
    }
    if (options.budget !== undefined) {
      const n = Number(options.budget);
      if (typeof options.budget !== "string" || !Number.isFinite(n) || n <= 0) throw new UsageError("--budget needs a positive number of milliseconds");
      inspectorOptions.budgetMs = n;
    }
    const local = options.local === true || options.image !== undefined;
    if (local && options.remote !== undefined) throw new UsageError("--remote works on a daemon's guest; --image and --local on a local image: not both");
    const remote = local ? undefined : explicitRemote(options, io.env);
    const session = async (space: ObjectSpace, start: string | undefined, extra: InspectorOptions): Promise<number> => {
      if (!io.stdin) throw new CliError("the inspector needs an input (a terminal or a pipe)");
      const terminal = io.stdin.isTTY === true && io.isTTY === true;
      const tio = new TerminalIO({ input: io.stdin!, output: io.stdout, write: io.out, terminal, env: io.env });
      const inspector = new Inspector(space, tio, { ...inspectorOptions, ...extra });
      try {
        if (start !== undefined) {
          if (!(await inspector.inspectExpression(start))) return EXIT_FAILURE;
        } else {
          await inspector.attach();
        }
        await runInspector(inspector, tio);
        if (inspector.lost) throw inspector.lost;
        return EXIT_OK;
      } finally {
        tio.close();
      }
    };

    if (remote === undefined) {
      if (positional.length > 1) {
        throw new UsageError(positional.length === 2 ? "'oz inspect GUEST EXPRESSION' inspects a daemon's guest: give --remote URL (or set OZ_REMOTE)" : "expected at most one expression");
      }
      const space = await openLocal(io, "inspect", typeof options.image === "string" ? options.image : undefined);
      return session(space, positional[0], {});
    }
    if (positional.length === 0 || positional.length > 2) {
      throw new UsageError(positional.length === 0 ? `with a daemon (${remote}), give the guest: oz inspect GUEST ['EXPRESSION']` : "expected a guest and at most one expression");
    }
    const [guest, start] = positional;
    const client = await openClient(remote, options, io.env);
    try {
      await client.hypervisor.info(guest);
      const hypervisor: InspectorHypervisor = client.hypervisor;
      return await session(client.space(guest), start, { guest, hypervisor });
    } catch (e) {
      throw asCliError(e, remote);
    } finally {
      await client.close().catch(() => undefined);
    }
  },
};
