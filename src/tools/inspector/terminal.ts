/**
 * The inspector in a terminal: Node's readline (line editing and history on a TTY; plain lines from a
 * pipe, without prompts), and $VISUAL / $EDITOR for `edit`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import type { Inspector, InspectorIO } from "./inspector.js";

export interface TerminalOptions {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** where readline writes prompts and echo (a TTY) */
  output?: NodeJS.WritableStream;
  /** where the inspector's output goes */
  write: (text: string) => void;
  /** a terminal: prompts, line editing, history */
  terminal: boolean;
  env: Record<string, string | undefined>;
}

export class TerminalIO implements InspectorIO {
  private readonly rl: readline.Interface;
  private readonly lines: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;
  private closed = false;

  constructor(private readonly options: TerminalOptions) {
    this.rl = readline.createInterface({
      input: options.input,
      output: options.terminal ? options.output : undefined,
      terminal: options.terminal,
      historySize: 500,
      prompt: "",
    });
    this.rl.on("line", (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else {
        this.lines.push(line);
      }
    });
    this.rl.on("close", () => {
      this.closed = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.(undefined);
    });
    this.rl.on("SIGINT", () => {
      // Ctrl-C drops the line being typed; 'quit' or Ctrl-D leaves
      this.rl.write(null, { ctrl: true, name: "u" });
      this.options.write("^C ('quit' or Ctrl-D leaves)\n");
      this.rl.prompt();
    });
  }

  out(text: string): void {
    this.options.write(text);
  }

  readLine(prompt: string): Promise<string | undefined> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    if (this.options.terminal) {
      this.rl.setPrompt(prompt);
      this.rl.prompt();
    }
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The user's editor on a temporary file; undefined when there is none. */
  async editText(text: string, name: string): Promise<string | undefined> {
    const editor = this.options.env.VISUAL?.trim() || this.options.env.EDITOR?.trim();
    if (!editor) return undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-edit-"));
    const file = path.join(dir, name);
    fs.writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
    const input = this.options.input;
    const raw = this.options.terminal && input.isTTY === true;
    this.rl.pause();
    if (raw) input.setRawMode?.(false);
    try {
      const status = await new Promise<number | string>((resolve) => {
        const child = spawn("sh", ["-c", `${editor} "$1"`, "sh", file], { stdio: "inherit" });
        child.on("error", (e) => resolve(e.message));
        child.on("exit", (code, signal) => resolve(code ?? signal ?? 1));
      });
      if (status !== 0) {
        this.out(`the editor (${editor}) failed (${status}): nothing was compiled\n`);
        return "";
      }
      return fs.readFileSync(file, "utf8");
    } finally {
      if (raw) input.setRawMode?.(true);
      this.rl.resume();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  close(): void {
    this.rl.close();
  }
}

/** Reads and runs commands until `quit` or the end of the input. */
export async function runInspector(inspector: Inspector, io: TerminalIO): Promise<void> {
  while (!inspector.finished) {
    const line = await io.readLine(await inspector.prompt());
    if (line === undefined) break;
    await inspector.execute(line);
  }
  io.close();
}
