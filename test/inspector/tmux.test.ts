/**
 * The inspector and `oz top` in a real terminal (tmux): `node bin/oz.js inspect` on a local image, and
 * the README's walk-through against `node bin/ozd.js`: a guest whose startup calls a broken method
 * crashes; `oz inspect GUEST --remote URL` attaches to it, finds the failing frame, the method is fixed
 * through the inspector, the frame restarted and the guest resumed; it then runs normally.
 * Needs tmux (.ci/run installs it) and the build.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BUILT, OZ, ROOT, SHOP_STARTUP, guestState, ozChild, startDaemonChild, tempDir, waitFor, type ChildDaemon, cleanup } from "../cli/helpers.js";
import { HAS_TMUX, Tmux } from "./tmux.js";

afterAll(cleanup);

const terminals: Tmux[] = [];
afterEach(() => {
  for (const t of terminals.splice(0)) t.kill();
});

/** `node bin/oz.js ARGS` in a terminal. */
function terminal(args: string[], env: Record<string, string | undefined> = {}): Tmux {
  const t = new Tmux([process.execPath, OZ, ...args], {
    cwd: ROOT,
    dir: tempDir("oz-tmux-"),
    env: { TERM: "xterm-256color", EDITOR: undefined, VISUAL: undefined, OZ_TOKEN: undefined, OZ_REMOTE: undefined, ...env },
  });
  terminals.push(t);
  return t;
}

const PROMPT = /[\w.-]+:[^\n]*>/;

// CI (.ci/run) installs tmux and sets OZ_REQUIRE_TMUX=1: there, no tmux is a failure, not a skip
describe.runIf(!HAS_TMUX && process.env.OZ_REQUIRE_TMUX === "1")("tmux", () => {
  it("is installed (apt-get install tmux)", () => {
    expect(HAS_TMUX).toBe(true);
  });
});

describe.skipIf(!HAS_TMUX || !BUILT)("in a terminal (tmux)", () => {
  it("the inspector on a local image: prompts, fields, eval, classes, a method typed in, history, Ctrl-C, quit", async () => {
    const t = terminal(["inspect", "3 @ 4"]);
    await t.waitFor(/^\(3@4\)\n {2}class Point {3}format fixed {3}hash \d+\n {2}named fields:\n {4}x {2}3\n {4}y {2}4\noz:\(3@4\)>$/m);
    expect(await t.command("go x", PROMPT)).toMatch(/^3\n {2}class SmallInteger/);
    await t.waitFor(/oz:3>$/);
    expect(await t.command("back", PROMPT)).toMatch(/^\(3@4\)\n/);
    expect(await t.command("eval self x + self y", PROMPT)).toBe("7");
    expect(await t.command("eval 1/0", PROMPT)).toMatch(/^ZeroDivide\n {4}SmallInteger/);
    expect(await t.command("class", PROMPT)).toMatch(/^class Point {3}category Kernel-Numbers\n {2}superclasses {8}Object > ProtoObject\n/);
    await t.waitFor(/oz:Point>$/);
    expect(await t.command("source x", PROMPT)).toBe("Point>>x\n    x\n        ^ x");
    // a new method, typed in the terminal up to a line '!'
    t.type("edit double");
    await t.waitFor(/type the new source, then a line with '!' alone \(just '!' cancels\):$/);
    t.type("double");
    t.type("    ^ (x * 2) @ (y * 2)");
    t.type("!");
    await t.waitFor(/compiled Point>>double; the change is in the image's changes file\noz:Point>$/);
    expect(await t.command("back", PROMPT)).toMatch(/^\(3@4\)/);
    expect(await t.command("eval self double", PROMPT)).toBe("(6@8)");
    // line editing: the Up arrow brings the last command back
    const before = t.screen().length;
    t.keys("Up");
    await t.waitFor(/oz:\(3@4\)> eval self double$/, 10_000, before - 10);
    t.keys("Enter");
    await t.waitFor(/oz:\(3@4\)> eval self double\n\(6@8\)\noz:\(3@4\)>$/, 10_000, before - 10);
    // Ctrl-C drops the line being typed
    t.keys("-l", "half typed");
    t.keys("C-c");
    await t.waitFor(/\^C \('quit' or Ctrl-D leaves\)\noz:\(3@4\)>$/);
    expect(await t.command("frobnicate", PROMPT)).toBe("unknown command 'frobnicate' ('help' lists the commands)");
    t.type("quit");
    await t.waitFor(/\[exited 0\]$/);
  });

  it("edit opens $EDITOR when it is set; Ctrl-D leaves", async () => {
    const dir = tempDir();
    const editor = path.join(dir, "editor.sh");
    fs.writeFileSync(editor, `#!/bin/sh\nprintf 'triple\\n\\t^ x * 3' > "$1"\n`);
    fs.chmodSync(editor, 0o755);
    const t = terminal(["inspect", "7 @ 1"], { EDITOR: editor });
    await t.waitFor(/oz:\(7@1\)>$/);
    expect(await t.command("class", PROMPT)).toMatch(/^class Point/);
    expect(await t.command("edit triple", PROMPT)).toBe("compiled Point>>triple; the change is in the image's changes file");
    expect(await t.command("back", PROMPT)).toMatch(/^\(7@1\)/);
    expect(await t.command("eval self triple", PROMPT)).toBe("21");
    t.keys("C-d");
    await t.waitFor(/\[exited 0\]$/);
  });

  describe("against a daemon", () => {
    let d: ChildDaemon;
    beforeAll(async () => {
      d = await startDaemonChild({ snapshotIntervalMs: 0, guests: [{ name: "calm", autostart: true }] });
    });
    afterAll(async () => {
      await d?.stop();
    });

    it("oz top redraws in place and q quits", async () => {
      const t = terminal(["top", "-d", "0.2"], d.env());
      await t.waitFor(/oz top - \d\d:\d\d:\d\d - grpc:\/\/127\.0\.0\.1:\d+ - \d+ guests?: .* {3}\(q quits\)\n\nNAME +STATE +REASON +CPU% +CPU +HEAP +PROCS +SOCKETS +UPTIME\ncalm +running/);
      await new Promise((resolve) => setTimeout(resolve, 700));
      // redrawn in place: one header on the screen, not one per refresh
      expect((t.visible().match(/oz top - /g) ?? []).length).toBe(1);
      t.keys("q");
      await t.waitFor(/\[exited 0\]$/);
    });

    it("the walk-through: attach to a crashed guest, find the failing frame, fix the method, restart the frame, resume the guest", async () => {
      // as README.md says (examples/shop.st, relative to the repository)
      const defined = await ozChild(["define", "shop", "--file-in", "examples/shop.st", "--startup", SHOP_STARTUP, "--start"], { env: d.env() });
      expect(defined.code).toBe(0);
      await waitFor(async () => (await guestState(d, "shop")) === "crashed", "shop to crash");

      const t = terminal(["inspect", "shop", "--remote", d.grpc], { OZ_TOKEN: d.token });
      const attached = await t.waitFor(/guest shop: crashed \(unhandledError\)\ncrash: unhandledError: ZeroDivide\n[\s\S]*inspecting the failing process[\s\S]*\n *(\d+) {2}Shop>>average {2}\(line 5\)\n[\s\S]*shop:process>$/);
      const n = attached[1];
      const frame = await t.command(`frame ${n}`, PROMPT);
      expect(frame).toMatch(new RegExp(`^frame ${n} of process 'ozd startup': Shop>>average \\(line 5\\)\\n {2}receiver {2}a Shop\\n`));
      expect(frame).toMatch(/ {4}sum {7}12\n/);
      expect(frame).toMatch(/ {2}=> 5 {6}\^ sum \/ self count$/);
      expect(await t.command("eval self count", PROMPT)).toBe("0");
      expect(await t.command("source count", PROMPT)).toBe("Shop>>count\n    count\n        ^ 0");
      t.type("edit count");
      await t.waitFor(/type the new source, then a line with '!' alone \(just '!' cancels\):$/);
      t.type("count");
      t.type("    ^ self items size");
      t.type("!");
      await t.waitFor(/compiled Shop>>count \(accessing\); the change is in the image's changes file\n.*\nshop:frame \d+>$/);
      expect(await t.command("restart", PROMPT)).toMatch(/^restarted Shop>>average: it runs again from its first instruction/);
      expect(await t.command("resume", PROMPT)).toBe("resumed guest shop: running (unpaused); process 'ozd startup' goes on");
      await waitFor(async () => (await ozChild(["logs", "shop"], { env: d.env() })).out === "average: 4\n", "the guest to print its average");
      expect(await t.command("guest", PROMPT)).toMatch(/^guest shop: running \(unpaused\)/);
      expect(await t.command("transcript", PROMPT)).toBe("average: 4");
      t.type("quit");
      await t.waitFor(/\[exited 0\]$/);
      // the fix is in the guest's changes file (listed through the daemon, as from the data directory), and the guest runs normally
      const changes = await ozChild(["changes", "shop"], { env: d.env() });
      expect(changes.out).toMatch(/method +Shop>>count +\{accessing\}/);
      expect((await ozChild(["changes", path.join(d.dir, "guests", "shop", "shop.image")])).out).toBe(changes.out);
      const ps = await ozChild(["ps", "--json"], { env: d.env() });
      expect(JSON.parse(ps.out).find((g: { name: string }) => g.name === "shop")).toMatchObject({ state: "running" });
      expect((await ozChild(["eval", "shop", "Shop new average"], { env: d.env() })).out).toBe("4\n");
    });
  });
});
