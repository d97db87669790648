/** What a command writes to, so that commands run the same in a terminal and in tests. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /** the environment (OZ_TOKEN, OZ_REMOTE, OZ_IMAGE, EDITOR...) */
  env: Record<string, string | undefined>;
  /** standard input, for interactive commands (`inspect`, the keys of `top`); absent: none */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** standard output as a stream (readline writes its prompts there); absent: through `out` */
  stdout?: NodeJS.WritableStream;
  /** stdout is a terminal: `top` redraws in place, the inspector prompts */
  isTTY?: boolean;
  /** stderr is a terminal: progress lines update in place */
  errIsTTY?: boolean;
  /** terminal width */
  columns?: number;
  /**
   * A signal aborted when the user interrupts a command that follows something (`top`, `logs -f`):
   * Ctrl-C or SIGTERM end them normally (exit status 0). Commands ask for it only when they follow, so
   * Ctrl-C keeps its default effect everywhere else.
   */
  interrupts?(): AbortSignal;
}

export function processIO(): CommandIO {
  let controller: AbortController | undefined;
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    isTTY: process.stdout.isTTY === true,
    errIsTTY: process.stderr.isTTY === true,
    columns: process.stdout.columns,
    interrupts() {
      if (!controller) {
        const c = (controller = new AbortController());
        const onSignal = () => c.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
      }
      return controller.signal;
    },
  };
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** answers the exit code (EXIT_*) */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** Exit codes scripts can trust (docs/cli.md). */
export const EXIT_OK = 0;
/** an error in Smalltalk (eval, run), a failed operation (no such guest, a state that does not allow it) */
export const EXIT_FAILURE = 1;
/** bad usage: unknown command or option, missing or extra arguments, a malformed value */
export const EXIT_USAGE = 2;
/** cannot reach the daemon (nothing listens at the URL, the connection dropped, a timeout) */
export const EXIT_UNAVAILABLE = 3;
/** not authorized: no token, a token the daemon refuses, or a role that does not allow the operation */
export const EXIT_UNAUTHORIZED = 4;

/** An error a command reports with its message and exit code (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = "CliError";
  }
}
