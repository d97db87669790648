/**
 * `oz logs [-f] [GUEST]`: a guest's Transcript output, and with -f the daemon's event feed as it comes
 * (Transcript text on stdout; state changes and errors on stderr).
 */
import type { Command } from "../io.js";
import { CliError, EXIT_OK, EXIT_UNAVAILABLE } from "../io.js";
import { parseArgs, UsageError } from "../args.js";
import { REMOTE_OPTIONS, REMOTE_USAGE, EXIT_USAGE_TEXT, asCliError, openClient, remoteUrl } from "../remote.js";
import type { HypervisorEvent } from "../../../hypervisor/types.js";

export const logsCommand: Command = {
  name: "logs",
  summary: "a guest's Transcript output; -f follows it (and state changes) live",
  usage: `oz logs [-f] [GUEST] [--bytes N] [--remote URL] [--token-file FILE]

Prints GUEST's last Transcript output (the daemon keeps the last 64 KiB; --bytes N prints at most the
last N bytes). With -f (--follow) it then follows the daemon's event feed: the guest's Transcript output
goes to stdout as it is written; its state changes ('oz logs: shop is crashed (unhandledError)') and
errors go to stderr. Without GUEST, -f follows every guest, each line prefixed with [GUEST].
Following ends with Ctrl-C or SIGTERM (exit 0), when the guest is destroyed (exit 0), or when the
daemon ends the feed (exit 3).

${REMOTE_USAGE}

${EXIT_USAGE_TEXT}`,
  async run(argv, io) {
    const { positional, options } = parseArgs(argv, { ...REMOTE_OPTIONS, follow: { short: "f" }, bytes: { value: true }, help: { short: "h" } });
    if (positional.length > 1) throw new UsageError("expected at most one guest name");
    const guest = positional[0];
    const follow = options.follow === true;
    if (!guest && !follow) throw new UsageError("expected a guest name (or -f to follow every guest)");
    let maxBytes: number | undefined;
    if (options.bytes !== undefined) {
      maxBytes = Number(options.bytes);
      if (typeof options.bytes !== "string" || !Number.isInteger(maxBytes) || maxBytes < 0) throw new UsageError("--bytes needs a whole number");
    }
    const url = remoteUrl(options, io.env);
    const client = await openClient(url, options, io.env);
    try {
      if (!follow) {
        io.out(await client.hypervisor.transcript(guest!, maxBytes));
        return EXIT_OK;
      }
      const signal = io.interrupts?.();
      // subscribe first, so that nothing written after the transcript was read is lost
      const early: HypervisorEvent[] = [];
      let ready = false;
      let atLineStart = new Map<string, boolean>();
      let finish!: (code: number) => void;
      let endError: Error | undefined;
      const finished = new Promise<number>((resolve) => (finish = resolve));
      const print = (e: HypervisorEvent) => {
        if (e.type === "transcript") {
          if (guest) {
            io.out(e.text);
            return;
          }
          // every guest: each line prefixed with its guest
          let text = "";
          let start = atLineStart.get(e.guest) ?? true;
          for (const ch of e.text.split(/(?<=\n)/)) {
            text += `${start ? `[${e.guest}] ` : ""}${ch}`;
            start = ch.endsWith("\n");
          }
          atLineStart.set(e.guest, start);
          io.out(text);
        } else if (e.type === "state") {
          io.err(`oz logs: ${e.guest} is ${e.state} (${e.reason})\n`);
        } else if (e.type === "error") {
          io.err(`oz logs: ${e.guest}: ${e.message}\n${(e.stack ?? []).map((l) => `  ${l}\n`).join("")}`);
        } else if (e.type === "undefined") {
          io.err(`oz logs: ${e.guest} was destroyed\n`);
          if (guest) finish(EXIT_OK);
        } else if (e.type === "defined") {
          io.err(`oz logs: ${e.guest} was defined\n`);
        }
      };
      const unsubscribe = client.hypervisor.subscribe(
        (e) => {
          if (ready) print(e);
          else early.push(e);
        },
        {
          guests: guest ? [guest] : undefined,
          onEnd: (error) => {
            endError = error;
            finish(error ? -1 : EXIT_OK);
          },
        },
      );
      const onAbort = () => finish(EXIT_OK);
      signal?.addEventListener("abort", onAbort);
      try {
        if (guest) {
          const text = await client.hypervisor.transcript(guest, maxBytes);
          // the events that came before the transcript was read and are already in it
          const earlyText = early.filter((e) => e.type === "transcript").map((e) => (e as { text: string }).text).join("");
          io.out(text);
          if (earlyText && text.endsWith(earlyText)) early.splice(0, early.length, ...early.filter((e) => e.type !== "transcript"));
        }
        ready = true;
        for (const e of early.splice(0)) print(e);
        if (signal?.aborted) finish(EXIT_OK);
        const code = await finished;
        if (code === -1) {
          const e = asCliError(endError, url);
          throw e instanceof CliError ? e : new CliError(`the daemon ended the event feed: ${endError?.message ?? "unknown reason"}`, EXIT_UNAVAILABLE);
        }
        return code;
      } finally {
        signal?.removeEventListener("abort", onAbort);
        unsubscribe();
        atLineStart = new Map();
      }
    } catch (e) {
      throw asCliError(e, url);
    } finally {
      await client.close().catch(() => undefined);
    }
  },
};
