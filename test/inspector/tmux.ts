/**
 * Driving a program in a real terminal: tmux on a private server socket in the test's temporary
 * directory (never the user's server), a window of
 * a fixed size, keys sent as a user types them, the screen read back. Every server a test starts is
 * killed by it (and, at the latest, when the test process exits).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const HAS_TMUX = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;

const servers = new Set<string>();
process.once("exit", () => {
  for (const s of servers) spawnSync("tmux", ["-S", s, "kill-server"]);
});

let count = 0;

export class Tmux {
  private readonly socket: string;

  /**
   * Runs `command` (argv) with `env` in `cwd` in a new tmux window of `width`x`height`; when it ends, the
   * window shows `[exited N]` and stays open.
   */
  constructor(argv: string[], options: { cwd: string; env: Record<string, string | undefined>; dir: string; width?: number; height?: number }) {
    this.socket = path.join(options.dir, `tmux-${++count}.sock`);
    const script = path.join(options.dir, `tmux-${count}.sh`);
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const exports = Object.entries(options.env)
      .map(([k, v]) => (v === undefined ? `unset ${k}` : `export ${k}=${quote(v)}`))
      .join("\n");
    fs.writeFileSync(script, `${exports}\ncd ${quote(options.cwd)}\n${argv.map(quote).join(" ")}\necho "[exited $?]"\nexec sleep 3600\n`);
    servers.add(this.socket);
    this.tmux(["-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", String(options.width ?? 120), "-y", String(options.height ?? 50), `sh ${quote(script)}`]);
    this.tmux(["set-option", "-t", "main", "history-limit", "10000"]);
  }

  private tmux(args: string[]): string {
    return execFileSync("tmux", ["-S", this.socket, ...args], { encoding: "utf8" });
  }

  /** Types text (literally) and presses Enter. */
  type(line: string): void {
    if (line) this.tmux(["send-keys", "-t", "main", "-l", line]);
    this.tmux(["send-keys", "-t", "main", "Enter"]);
  }

  /** Presses keys by name (Up, C-c, C-d, q...). */
  keys(...names: string[]): void {
    this.tmux(["send-keys", "-t", "main", ...names]);
  }

  /** The whole scrollback and the screen, lines joined. */
  screen(): string {
    return this.tmux(["capture-pane", "-p", "-J", "-S", "-10000", "-t", "main"]).replace(/\s+$/, "");
  }

  /** The visible screen only. */
  visible(): string {
    return this.tmux(["capture-pane", "-p", "-t", "main"]).replace(/\s+$/, "");
  }

  /** Waits until the screen (from `from` characters on) matches; answers the match. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000, from = 0): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.screen().slice(from).match(pattern);
      if (m) return m;
      if (Date.now() > end) throw new Error(`timed out waiting for ${pattern} on the screen:\n${this.screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Types a command and waits for the next prompt; answers the output between the two. */
  async command(line: string, prompt: RegExp, timeoutMs = 20_000): Promise<string> {
    const before = this.screen().length;
    this.type(line);
    // the last time the line was typed, then its output, then a prompt at the end of the screen
    const m = await this.waitFor(new RegExp(`^[\\s\\S]*${escape(line)}\\n(?:([\\s\\S]*?)\\n)?(${prompt.source})$`), timeoutMs, Math.max(0, before - 300));
    return m[1] ?? "";
  }

  kill(): void {
    spawnSync("tmux", ["-S", this.socket, "kill-server"]);
    servers.delete(this.socket);
    fs.rmSync(this.socket, { force: true });
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
