/**
 * The real programs: `node bin/oz.js` as a child process against `node bin/ozd.js` as a child process
 * (loopback, ephemeral ports, a temporary data directory): output, exit codes, signals for the following
 * commands, the token file, the inspector reading commands from a pipe. Needs the build (npm install
 * does it).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT, OZ, SHOP_ST, SHOP_STARTUP, guestState, ozChild, spawnChild, startDaemonChild, tempDir, waitFor, type ChildDaemon, cleanup } from "./helpers.js";

afterAll(cleanup);

let d: ChildDaemon;

describe.skipIf(!BUILT)("bin/oz.js against bin/ozd.js", () => {
  beforeAll(async () => {
    d = await startDaemonChild({ snapshotIntervalMs: 0, guests: [{ name: "calm", autostart: true, startup: "Transcript show: 'calm here'; cr" }] });
  });

  afterAll(async () => {
    await d?.stop();
  });

  it("ps and eval over both transports; an error in the guest is exit 1 with its class and message", async () => {
    for (const transport of ["grpc", "ws"] as const) {
      const ps = await ozChild(["ps", "--json"], { env: d.env(transport) });
      expect(ps.code).toBe(0);
      expect(JSON.parse(ps.out)).toEqual([expect.objectContaining({ name: "calm", state: "running" })]);
      expect(await ozChild(["eval", "calm", "3 + 4"], { env: d.env(transport) })).toMatchObject({ code: 0, out: "7\n", err: "" });
      const failed = await ozChild(["eval", "calm", "Error signal: 'it broke'"], { env: d.env(transport) });
      expect(failed.code).toBe(1);
      expect(failed.err).toMatch(/^Error: it broke\n/);
    }
    const human = await ozChild(["ps", "--remote", d.grpc], { env: { OZ_TOKEN: d.token } });
    expect(human.out).toMatch(/^NAME +STATE +REASON/);
    expect(human.out).toMatch(/\ncalm +running +booted/);
  });

  it("exit codes: 2 bad usage, 3 nothing listening, 4 a refused token; the token file", async () => {
    const usage = await ozChild(["ps", "--frobnicate"], { env: d.env() });
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/^oz ps: unknown option --frobnicate\n\noz ps /);
    expect((await ozChild(["eval", "calm", "1"], { env: { OZ_TOKEN: d.token } })).code).toBe(2);
    const refused = await ozChild(["ps"], { env: { ...d.env("ws"), OZ_TOKEN: "wrong" } });
    expect(refused.code).toBe(4);
    expect(refused.err).toMatch(/not authorized/);
    const none = await ozChild(["ps", "--remote", "grpc://127.0.0.1:1"], { env: { OZ_TOKEN: "x" } });
    expect(none.code).toBe(3);
    expect(none.err).toMatch(/^oz ps: cannot reach the daemon at grpc:\/\/127\.0\.0\.1:1: .*\(is ozd running\?\)\n$/);
    const tokenFile = path.join(d.dir, "admin.token");
    expect((await ozChild(["ps", "--remote", d.ws, "--token-file", tokenFile])).code).toBe(0);
    const help = await ozChild(["logs", "--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^oz logs \[-f\] \[GUEST\]/);
  });

  it("define --file-in with a broken method: the guest crashes; ps, logs and eval show it", async () => {
    const file = path.join(tempDir(), "shop.st");
    fs.writeFileSync(file, SHOP_ST);
    const defined = await ozChild(["define", "shop", "--file-in", file, "--startup", SHOP_STARTUP, "--start"], { env: d.env() });
    expect(defined.code).toBe(0);
    expect(defined.out).toBe("shop: running (booted)\n");
    await waitFor(async () => (await guestState(d, "shop")) === "crashed", "shop to crash");
    const ps = await ozChild(["ps"], { env: d.env() });
    expect(ps.out).toMatch(/\nshop +crashed +unhandledError /);
    // the failing process can be looked at while crashed
    expect((await ozChild(["eval", "shop", "Shop new count"], { env: d.env() })).out).toBe("0\n");
    await ozChild(["destroy", "shop"], { env: d.env() });
  });

  it("logs -f follows the Transcript until SIGINT (exit 0); top until SIGTERM (exit 0)", async () => {
    const follow = spawnChild([OZ, "logs", "-f", "calm"], { env: d.env("ws") });
    await waitFor(() => follow.out().includes("calm here\n"), "the guest's earlier output");
    expect((await ozChild(["eval", "calm", "Transcript show: 'more'; cr"], { env: d.env() })).code).toBe(0);
    await waitFor(() => follow.out().includes("more\n"), "the new line");
    follow.proc.kill("SIGINT");
    expect(await follow.exit).toEqual({ code: 0, signal: null });
    expect(follow.out()).toBe("calm here\nmore\n");

    const top = spawnChild([OZ, "top", "-d", "0.1"], { env: d.env() });
    await waitFor(() => (top.out().match(/oz top - /g) ?? []).length >= 2, "two refreshes");
    top.proc.kill("SIGTERM");
    expect(await top.exit).toEqual({ code: 0, signal: null });
    expect(top.out()).toMatch(/\ncalm +running/);
    expect(top.out()).not.toMatch(/\x1b/);
  });

  it("the inspector reads commands from a pipe: the walk-through without a terminal", async () => {
    const file = path.join(tempDir(), "shop.st");
    fs.writeFileSync(file, SHOP_ST);
    await ozChild(["define", "shop2", "--file-in", file, "--startup", SHOP_STARTUP, "--start"], { env: d.env() });
    await waitFor(async () => (await guestState(d, "shop2")) === "crashed", "shop2 to crash");
    const stack = await ozChild(["inspect", "shop2"], { env: d.env(), stdin: "stack\nquit\n" });
    const n = /(\d+) {2}Shop>>average/.exec(stack.out)![1];
    const session = await ozChild(["inspect", "shop2"], {
      env: { ...d.env("ws"), EDITOR: "" },
      stdin: [`frame ${n}`, "edit count", "count", "\t^ self items size", "!", "restart", "resume", "quit", ""].join("\n"),
    });
    expect(session.code).toBe(0);
    expect(session.err).toBe("");
    expect(session.out).toMatch(/^guest shop2: crashed \(unhandledError\)\ncrash: unhandledError: ZeroDivide\n/);
    expect(session.out).toMatch(/compiled Shop>>count \(accessing\); the change is in the image's changes file/);
    expect(session.out).toMatch(/resumed guest shop2: running \(unpaused\)/);
    await waitFor(async () => (await guestState(d, "shop2")) === "running", "the repaired guest to run");
    await waitFor(async () => (await ozChild(["logs", "shop2"], { env: d.env() })).out.includes("average: 4"), "the repaired guest to print", 10_000);
    const changes = await ozChild(["changes", path.join(d.dir, "guests", "shop2", "shop2.image")]);
    expect(changes.out).toMatch(/method +Shop>>count +\{accessing\}/);
    // a guest that does not exist
    const missing = await ozChild(["inspect", "nosuch"], { env: d.env(), stdin: "quit\n" });
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no guest named "nosuch"/);
  });

  it("after the daemon stops, commands say they cannot reach it (exit 3)", async () => {
    const env = d.env();
    await d.stop();
    const r = await ozChild(["ps"], { env });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/cannot reach the daemon/);
  });
});
