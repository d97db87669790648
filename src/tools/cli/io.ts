/** What a command writes to, so that commands run the same in a terminal and in tests. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /** the environment (OZ_TOKEN, OZ_IMAGE...) */
  env: Record<string, string | undefined>;
}

export function processIO(): CommandIO {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
  };
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** answers the exit code: 0 success, 1 failure in Smalltalk or of the operation, 2 bad usage */
  run(argv: string[], io: CommandIO): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
