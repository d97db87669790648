/**
 * A small command-line parser: positional arguments, `--flag`, `--name value` and `--name=value`, `-o value`.
 * Unknown options are errors, so typos never pass silently.
 */

export class UsageError extends Error {}

export interface OptionSpec {
  /** takes a value */
  value?: boolean;
  /** short alias, e.g. "o" */
  short?: string;
}

export interface ParsedArgs {
  positional: string[];
  options: Record<string, string | true>;
}

export function parseArgs(argv: string[], specs: Record<string, OptionSpec>): ParsedArgs {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  const byShort = new Map(Object.entries(specs).filter(([, s]) => s.short).map(([name, s]) => [s.short!, name]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg)) {
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
      continue;
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.value) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`option --${name} needs a value`);
      options[name] = v;
    } else {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      options[name] = true;
    }
  }
  return { positional, options };
}
