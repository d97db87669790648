/**
 * `oz` against a daemon (in-process, with the remote plugin, on ephemeral loopback ports): every daemon
 * subcommand, human and --json output, errors in guests, failed operations, roles, and both transports.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/hypervisor/config.js";
import { Daemon } from "../../src/hypervisor/daemon.js";
import { plugin } from "../../src/remote/daemonPlugin.js";
import { connect } from "../../src/remote/client/connect.js";
import { SHOP_ST, SHOP_STARTUP, oz, startDaemon, tempDir, waitFor, type TestDaemon, cleanup } from "./helpers.js";

afterAll(cleanup);

let d: TestDaemon;

beforeAll(async () => {
  d = await startDaemon([{ name: "web", autostart: true, startup: "Transcript show: 'web up'; cr" }, { name: "cold" }]);
});

afterAll(async () => {
  await d?.stop();
});

const run = (argv: string[], transport: "grpc" | "ws" = "grpc", extra: Record<string, string> = {}) => oz(argv, { env: { ...d.env(transport), ...extra } });

describe("oz ps and top", () => {
  it("ps lists the guests; --json is a list of objects with name and state", async () => {
    for (const transport of ["grpc", "ws"] as const) {
      const human = await run(["ps"], transport);
      expect(human.code).toBe(0);
      const lines = human.out.trim().split("\n");
      expect(lines[0]).toMatch(/^NAME\s+STATE\s+REASON\s+CPU%\s+CPU\s+HEAP\s+PROCS\s+SOCKETS\s+UPTIME$/);
      expect(lines.find((l) => l.startsWith("web "))).toMatch(/^web\s+running\s+booted\s+[\d.]+\s+\S+\s+[\d.]+ [KM]iB\s+\d+\s+0\s+\S+$/);
      expect(lines.find((l) => l.startsWith("cold "))).toMatch(/^cold\s+shutoff\s+defined\s+-/);
      const json = await run(["ps", "--json"], transport);
      const list = JSON.parse(json.out) as Array<Record<string, unknown>>;
      expect(Array.isArray(list)).toBe(true);
      expect(list.map((g) => [g.name, g.state])).toEqual(expect.arrayContaining([["web", "running"], ["cold", "shutoff"]]));
      const web = list.find((g) => g.name === "web")!;
      for (const key of ["reason", "cpuPercent", "cpuMs", "heapBytes", "heapLimitBytes", "sockets", "processes", "uptimeMs", "config", "stats"]) expect(web).toHaveProperty(key);
      expect(web.heapBytes as number).toBeGreaterThan(100_000);
    }
  });

  it("ps through --remote and --token-file instead of the environment", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "token"), `${d.token}\n`);
    const r = await oz(["ps", "--json", "--remote", d.grpc.replace("grpc://", ""), "--token-file", path.join(dir, "token")]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).length).toBeGreaterThanOrEqual(2);
  });

  it("top prints plain refreshes when not on a terminal, and JSON lines with --json", async () => {
    const r = await run(["top", "-n", "2", "-d", "0.05"]);
    expect(r.code).toBe(0);
    const frames = r.out.split(/\n(?=oz top - )/);
    expect(frames).toHaveLength(2);
    for (const f of frames) {
      expect(f).toMatch(/^oz top - \d\d:\d\d:\d\d - grpc:\/\/127\.0\.0\.1:\d+ - \d+ guests: /);
      expect(f).toMatch(/\nNAME\s+STATE/);
      expect(f).toMatch(/\nweb\s+running/);
    }
    expect(r.out).not.toMatch(/\x1b\[/);
    const json = await run(["top", "-n", "2", "-d", "0.05", "--json"], "ws");
    const lines = json.out.trim().split("\n");
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(JSON.parse(l).map((g: { name: string }) => g.name)).toEqual(expect.arrayContaining(["web", "cold"]));
  });

  it("top runs until interrupted (Ctrl-C is a success)", async () => {
    const controller = new AbortController();
    const pending = oz(["top", "-d", "0.05"], {
      env: d.env(),
      signal: controller.signal,
      onOut: (out) => {
        if ((out.match(/oz top - /g) ?? []).length >= 3) controller.abort();
      },
    });
    const r = await pending;
    expect(r.code).toBe(0);
    expect((r.out.match(/oz top - /g) ?? []).length).toBeGreaterThanOrEqual(3);
  });
});

describe("oz define and the lifecycle verbs", () => {
  it("define with a configuration, then start, suspend, resume, interrupt, snapshot, stop, destroy", async () => {
    const defined = await run(["define", "life", "--cpu", "200/1000", "--weight", "50", "--memory", "64M", "--max-sockets", "3", "--max-file-bytes", "1M",
      "--startup", "[true] whileTrue: [(Delay forMilliseconds: 10) wait]"]);
    expect(defined).toMatchObject({ code: 0, out: "life: shutoff (defined)\n" });
    const info = d.daemon.hypervisor.info("life");
    expect(info.config).toMatchObject({ cpu: { quotaMs: 200, periodMs: 1000 }, weight: 50, memoryLimitBytes: 64 * 1024 * 1024, maxSockets: 3, maxFileBytes: 1024 * 1024 });
    expect(await run(["start", "life"])).toMatchObject({ code: 0, out: "life: running (booted)\n" });
    expect(await run(["suspend", "life"], "ws")).toMatchObject({ code: 0, out: "life: paused (user)\n" });
    expect(await run(["resume", "life"])).toMatchObject({ code: 0, out: "life: running (unpaused)\n" });
    expect(await run(["interrupt", "life"], "ws")).toMatchObject({ code: 0, out: "life: paused (interrupt)\n" });
    const resumed = await run(["resume", "life", "--json"]);
    expect(JSON.parse(resumed.out)).toMatchObject({ name: "life", state: "running", reason: "unpaused" });
    const snap = await run(["snapshot", "life"]);
    expect(snap.code).toBe(0);
    expect(snap.out).toBe(`life: ${path.join(d.dir, "guests", "life", "life.image")}\n`);
    expect(JSON.parse((await run(["snapshot", "life", "--json"])).out)).toEqual({ name: "life", image: path.join(d.dir, "guests", "life", "life.image") });
    expect(await run(["stop", "life"])).toMatchObject({ code: 0, out: "life: shutoff (stopped)\n" });
    expect(await run(["destroy", "life"])).toMatchObject({ code: 0, out: "life: destroyed (its directory is in the daemon's trash)\n" });
    expect(d.daemon.hypervisor.list().some((g) => g.name === "life")).toBe(false);
    expect(fs.readdirSync(path.join(d.dir, "trash")).some((n) => n.startsWith("life-"))).toBe(true);
  });

  it("verbs take several guests; a failure is reported and the others are done (exit 1)", async () => {
    await run(["define", "v1"]);
    await run(["define", "v2"]);
    const r = await run(["start", "v1", "nosuch", "v2", "--json"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/oz start: no guest named "nosuch"/);
    expect(r.out.trim().split("\n").map((l) => JSON.parse(l).state)).toEqual(["running", "running"]);
    const again = await run(["start", "v1"]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/oz start: guest v1 is running/);
    expect((await run(["destroy", "v1", "v2"])).out).toBe("v1: destroyed (its directory is in the daemon's trash)\nv2: destroyed (its directory is in the daemon's trash)\n");
    expect((await run(["destroy", "nosuch"])).code).toBe(1);
  });

  it("define refuses what the daemon refuses (exit 1), an existing name, and reads --startup-file", async () => {
    const bad = await run(["define", "bad name!"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^oz define: .*name/);
    const quota = await run(["define", "q", "--cpu", "2000/1000"]);
    expect(quota.code).toBe(1);
    expect(quota.err).toMatch(/cpu/);
    expect((await run(["define", "web"])).code).toBe(1);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "startup.st"), "Transcript show: 'from a file'; cr");
    const r = await run(["define", "fromfile", "--startup-file", path.join(dir, "startup.st"), "--start", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ name: "fromfile", state: "running", config: { startup: "Transcript show: 'from a file'; cr" } });
    await waitFor(() => d.daemon.hypervisor.transcript("fromfile").includes("from a file"), "the startup to print");
    expect((await run(["define", "x", "--startup-file", path.join(dir, "missing.st")])).code).toBe(1);
    await run(["destroy", "fromfile"]);
  });

  it("define --file-in files code into the new guest (logged to its changes file) and --start starts it", async () => {
    const dir = tempDir();
    const file = path.join(dir, "shop.st");
    fs.writeFileSync(file, SHOP_ST.replace("^ 0", "^ self items size"));
    const r = await run(["define", "shop1", "--file-in", file, "--startup", SHOP_STARTUP, "--start"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe("shop1: running (booted)\n");
    expect(r.err).toMatch(/oz define: filed .*shop\.st into shop1: 3 methods, 1 doit/);
    await waitFor(() => d.daemon.hypervisor.transcript("shop1").includes("average: 4"), "the guest's startup to print");
    const changes = fs.readFileSync(path.join(d.dir, "guests", "shop1", "shop1.changes"), "utf8");
    expect(changes).toMatch(/Shop methodsFor: 'totals'/);
    // a file-in that fails leaves the guest defined, and says so
    fs.writeFileSync(file, "Object subclass: #Half instanceVariableNames: '' classVariableNames: '' package: 'T'!\n!Half methodsFor: 'x'!\nbroken\n\t^ ^\n! !\n");
    const failed = await run(["define", "half", "--file-in", file]);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/shop\.st:\d+:\d+: /);
    expect(failed.err).toMatch(/oz define: half is defined, without the rest of/);
    expect(d.daemon.hypervisor.info("half").state).toBe("shutoff");
    await run(["destroy", "shop1", "half"]);
  });

  it("define --upload sends a local image file", async () => {
    const image = path.join(tempDir(), "up.image");
    expect((await oz(["image", "build", "-o", image])).code).toBe(0);
    const r = await run(["define", "uploaded", "--upload", image, "--start"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/oz define: uploading .*up\.image \(\d+ KiB\) to uploaded/);
    expect(r.err).toMatch(/oz define: defined uploaded from/);
    expect((await run(["eval", "uploaded", "3 + 4"])).out).toBe("7\n");
    expect((await run(["define", "nofile", "--upload", path.join(tempDir(), "missing.image")])).code).toBe(1);
    await run(["destroy", "uploaded"]);
  });

  it("clone copies a guest (with a progress line), and --start starts the copy", async () => {
    await run(["eval", "web", "Smalltalk at: #Marker put: 42"]);
    const r = await run(["clone", "web", "web2", "--start"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("web2: running (booted)\n");
    expect(r.err).toMatch(/oz clone: cloning web to web2/);
    expect(r.err).toMatch(/oz clone: cloned web to web2 \(\d+\.\d s\)/);
    expect((await run(["eval", "web2", "Smalltalk at: #Marker"])).out).toBe("42\n");
    const json = await run(["clone", "web", "web3", "--json"], "ws");
    expect(JSON.parse(json.out)).toMatchObject({ name: "web3", state: "shutoff" });
    const exists = await run(["clone", "web", "web2"]);
    expect(exists.code).toBe(1);
    expect(exists.err).toMatch(/already exists/);
    expect((await run(["clone", "nosuch", "web4"])).code).toBe(1);
    await run(["destroy", "web2", "web3"]);
  });
});

describe("oz eval, logs and the exit codes", () => {
  it("eval GUEST EXPR evaluates in the guest; an error prints its class and message and exits 1", async () => {
    for (const transport of ["grpc", "ws"] as const) {
      expect(await run(["eval", "web", "(1 to: 5) inject: 0 into: [:a :b | a + b]"], transport)).toMatchObject({ code: 0, out: "15\n", err: "" });
      const failed = await run(["eval", "web", "1/0"], transport);
      expect(failed.code).toBe(1);
      expect(failed.out).toBe("");
      expect(failed.err).toMatch(/^ZeroDivide\n {2}SmallInteger.*>>\/ \(line \d+\)/);
      const dnu = await run(["eval", "web", "nil frobnicate"], transport);
      expect(dnu.code).toBe(1);
      expect(dnu.err).toMatch(/^MessageNotUnderstood: .*frobnicate/);
      const syntax = await run(["eval", "web", "3 +"], transport);
      expect(syntax.code).toBe(1);
      expect(syntax.err).toMatch(/<eval>:1:\d+: /);
      const json = await run(["eval", "web", "--json", "'abc' reversed"], transport);
      expect(JSON.parse(json.out)).toEqual({ ok: true, printString: "'cba'" });
    }
    // --remote on the command line, OZ_REMOTE unset
    expect(await oz(["eval", "--remote", d.ws, "web", "6 * 7"], { env: { OZ_TOKEN: d.token } })).toMatchObject({ code: 0, out: "42\n" });
    // a guest that is shut off is loaded for the evaluation (surgery)
    expect((await run(["eval", "cold", "3 + 4"])).out).toBe("7\n");
    expect((await run(["eval", "web", "--budget", "100", "[true] whileTrue"])).err).toMatch(/budgetExhausted/);
    const missing = await run(["eval", "nosuch", "3"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no guest named "nosuch"/);
  });

  it("run GUEST FILE files a program into a running guest, printing its Transcript output (as eval GUEST does); errors exit 1", async () => {
    const dir = tempDir();
    const program = path.join(dir, "greeter.st");
    fs.writeFileSync(program, [
      "Object subclass: #Greeter",
      "\tinstanceVariableNames: 'name'",
      "\tclassVariableNames: ''",
      "\tpackage: 'Run'!",
      "",
      "!Greeter methodsFor: 'greeting'!",
      "name: aString",
      "\tname := aString!",
      "greeting",
      "\t^ 'hello, ', name! !",
      "",
      "Transcript show: (Greeter new name: 'oz') greeting; cr!",
      "Transcript show: 'two'; cr!",
      "",
    ].join("\n"));
    expect((await run(["define", "runner", "--start"])).code).toBe(0);
    for (const transport of ["grpc", "ws"] as const) {
      const r = await run(["run", "runner", program], transport);
      expect(r).toMatchObject({ code: 0, out: "hello, oz\ntwo\n", err: "" });
    }
    // the guest keeps what the file defined; eval prints the guest's Transcript output first, as run does
    expect((await run(["eval", "runner", "(Greeter new name: 'again') greeting"])).out).toBe("'hello, again'\n");
    for (const transport of ["grpc", "ws"] as const) {
      expect(await run(["eval", "runner", "Transcript show: 'shown'; cr. 6 * 7"], transport)).toMatchObject({ code: 0, out: "shown\n42\n" });
    }
    expect(JSON.parse((await run(["eval", "runner", "--json", "Transcript show: 'not in json'; cr. 1"])).out)).toEqual({ ok: true, printString: "1" });
    const failing = path.join(dir, "failing.st");
    fs.writeFileSync(failing, "Transcript show: 'before'; cr!\n\nnil frobnicate!\n\nTranscript show: 'not reached'; cr!\n");
    const failed = await run(["run", "runner", failing]);
    expect(failed.code).toBe(1);
    expect(failed.out).toBe("before\n");
    expect(failed.err).toMatch(/^MessageNotUnderstood: receiver of "frobnicate" is nil\n {2}UndefinedObject\(Object\)>>doesNotUnderstand: .*\n {2}UndefinedObject>>DoIt \(line 3\)/);
    const syntax = path.join(dir, "syntax.st");
    fs.writeFileSync(syntax, "Transcript show: 'x' +!\n");
    expect(await run(["run", "runner", syntax])).toMatchObject({ code: 1 });
    expect((await run(["run", "nosuch", program])).code).toBe(1);
    expect((await run(["run", program])).code).toBe(2); // a daemon is set: the guest is missing
    expect((await run(["run", "runner", path.join(dir, "missing.st")])).code).toBe(1);
    expect((await run(["run", "runner", program, "--budget", "x"])).code).toBe(2);
    await run(["destroy", "runner"]);
  });

  it("tokens: a bad token is exit 4, a read token may look but not act (exit 4)", async () => {
    const bad = await run(["ps"], "grpc", { OZ_TOKEN: "not-the-token" });
    expect(bad.code).toBe(4);
    expect(bad.err).toMatch(/not authorized: the daemon at .* refuses the token/);
    expect((await run(["ps"], "ws", { OZ_TOKEN: "not-the-token" })).code).toBe(4);
    const admin = await connect(d.grpc, d.token);
    const reader = await admin.hypervisor.createToken("read", "cli-test");
    await admin.close();
    const env = { OZ_TOKEN: reader.token };
    expect((await run(["ps"], "grpc", env)).code).toBe(0);
    const denied = await run(["stop", "web"], "grpc", env);
    expect(denied.code).toBe(4);
    expect(denied.err).toMatch(/not authorized: /);
    expect((await run(["eval", "web", "3"], "ws", env)).code).toBe(4);
  });

  it("logs prints a guest's Transcript; -f follows it until interrupted", async () => {
    const r = await run(["logs", "web"]);
    expect(r).toMatchObject({ code: 0, out: "web up\n" });
    expect((await run(["logs", "web", "--bytes", "3"])).out).toBe("up\n");
    expect((await run(["logs", "nosuch"])).code).toBe(1);
    const controller = new AbortController();
    const follow = oz(["logs", "-f", "web"], {
      env: d.env("ws"),
      signal: controller.signal,
      onOut: (out) => {
        if (out.includes("second line")) controller.abort();
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await run(["eval", "web", "Transcript show: 'second line'; cr"]);
    const followed = await follow;
    expect(followed.code).toBe(0);
    expect(followed.out).toBe("web up\nsecond line\n");
  });

  it("logs -f shows state changes on stderr and ends when the guest is destroyed", async () => {
    await run(["define", "brief", "--startup", "(Delay forMilliseconds: 300) wait. Transcript show: 'tick'; cr. 1/0"]);
    const follow = run(["logs", "-f", "brief"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await run(["start", "brief"]);
    await waitFor(() => d.daemon.hypervisor.info("brief").state === "crashed", "the guest to crash");
    await run(["destroy", "brief"]);
    const r = await follow;
    expect(r.code).toBe(0);
    expect(r.out).toBe("tick\n");
    expect(r.err).toMatch(/oz logs: brief is running \(booted\)/);
    expect(r.err).toMatch(/oz logs: brief is crashed \(unhandledError\)/);
    expect(r.err).toMatch(/oz logs: brief: .*ZeroDivide/);
    expect(r.err).toMatch(/oz logs: brief was destroyed/);
  });

  it("logs -f without a guest follows every guest, each line prefixed", async () => {
    const controller = new AbortController();
    const follow = oz(["logs", "-f"], {
      env: d.env(),
      signal: controller.signal,
      onOut: (out) => {
        if (out.includes("two\n")) controller.abort();
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await run(["eval", "web", "Transcript show: 'one'; cr"]);
    await run(["eval", "cold", "Transcript show: 'two'; cr"]);
    const r = await follow;
    expect(r.code).toBe(0);
    expect(r.out).toBe("[web] one\n[cold] two\n");
  });
});

describe("oz changes on a daemon's guest", () => {
  it("lists a guest's changes over gRPC and WebSocket exactly as the local form lists its changes file", async () => {
    expect((await run(["define", "chg", "--start"])).code).toBe(0);
    // one change through a remote evaluation, one through the mirrors (the inspector's way)
    expect((await run(["eval", "chg", "Object compile: 'viaEval ^ 1' classified: 'cli-changes'"])).code).toBe(0);
    const client = await connect(d.ws, d.token);
    await (await client.space("chg").classNamed("Object"))!.compile("viaMirror ^ 2", { category: "cli-changes" });
    await client.close();
    const image = path.join(d.dir, "guests", "chg", "chg.image");
    const file = path.join(d.dir, "guests", "chg", "chg.changes");
    const local = await oz(["changes", image]);
    expect(local.code).toBe(0);
    expect(local.out).toMatch(/^\S+\s+method\s+Object>>viaEval  \{cli-changes\}\n\S+\s+method\s+Object>>viaMirror  \{cli-changes\}\n$/);
    expect(local.err).toBe(`2 changes since the last snapshot of ${file}\n`);
    const localJson = await oz(["changes", image, "--json"]);
    expect(JSON.parse(localJson.out)).toEqual([
      expect.objectContaining({ kind: "method", className: "Object", classSide: false, selector: "viaEval", category: "cli-changes", source: "viaEval ^ 1" }),
      expect.objectContaining({ kind: "method", selector: "viaMirror", source: "viaMirror ^ 2" }),
    ]);
    for (const url of [d.grpc, d.ws]) {
      expect(await oz(["changes", "chg", "--remote", url], { env: { OZ_TOKEN: d.token } })).toEqual(local);
      expect(await oz(["changes", "chg", "--remote", url, "--json"], { env: { OZ_TOKEN: d.token } })).toEqual(localJson);
    }
    // $OZ_REMOTE as for eval and inspect; --local still lists a local image
    expect(await run(["changes", "chg"], "ws")).toEqual(local);
    expect(await run(["changes", image, "--local"])).toEqual(local);

    // after a snapshot: nothing since, and --all shows the marker
    expect((await run(["snapshot", "chg"])).code).toBe(0);
    expect(await run(["changes", "chg"])).toEqual({ code: 0, out: "", err: `0 changes since the last snapshot of ${file}\n` });
    const all = await run(["changes", "chg", "--all"], "ws");
    expect(all.code).toBe(0);
    expect(all.out.trim().split("\n").map((l) => l.split(/\s+/)[1])).toEqual(["method", "method", "snapshot"]);
    expect(all.err).toBe(`2 changes in ${file}\n`);
    expect(all).toEqual(await oz(["changes", image, "--all"]));
    const allJson = await run(["changes", "chg", "--all", "--json"]);
    expect(JSON.parse(allJson.out).map((e: { kind: string }) => e.kind)).toEqual(["method", "method", "snapshot"]);
    expect(allJson.out).toBe((await oz(["changes", image, "--all", "--json"])).out);
  });

  it("an unknown guest is exit 1; a read token is enough; no token or a bad one is exit 4; bad usage is exit 2", async () => {
    for (const transport of ["grpc", "ws"] as const) {
      expect(await run(["changes", "nosuch"], transport)).toEqual({ code: 1, out: "", err: 'oz changes: no guest named "nosuch"\n' });
      expect((await run(["changes", "web", "--token-file", path.join(tempDir(), "missing")], transport)).code).toBe(4);
      expect((await run(["changes", "web"], transport, { OZ_TOKEN: "not-the-token" })).code).toBe(4);
    }
    const noToken = await oz(["changes", "web", "--remote", d.grpc]);
    expect(noToken.code).toBe(4);
    expect(noToken.err).toMatch(/no token: set OZ_TOKEN/);
    const admin = await connect(d.grpc, d.token);
    const reader = await admin.hypervisor.createToken("read", "cli-changes");
    await admin.close();
    const read = await run(["changes", "web", "--json"], "ws", { OZ_TOKEN: reader.token });
    expect(read.code).toBe(0);
    expect(Array.isArray(JSON.parse(read.out))).toBe(true);
    // an image file given as a guest: the message says how to list it
    const image = path.join(d.dir, "guests", "web", "web.image");
    const asGuest = await run(["changes", image]);
    expect(asGuest.code).toBe(1);
    expect(asGuest.err).toBe(`oz changes: no guest named ${JSON.stringify(image)}; ${image} is a local file: add --local to list its changes\n`);
    for (const argv of [["changes"], ["changes", "a", "b"], ["changes", "web", "--local", "--remote", d.grpc], ["changes", "web", "--changes", "x.changes", "--remote", d.grpc]]) {
      const r = await run(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toMatch(/^oz changes: /);
    }
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasOpenssl())("oz and a daemon with TLS", () => {
  it("grpcs:// and wss:// with --ca or OZ_CA; without the certificate it cannot connect (exit 3)", async () => {
    const dir = tempDir();
    const cert = path.join(dir, "cert.pem");
    const key = path.join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
    const daemon = await Daemon.start({
      config: validateConfig({ dataDir: path.join(dir, "data"), http: "127.0.0.1:0", grpc: "127.0.0.1:0", snapshotIntervalMs: 0, tls: { cert, key }, guests: [{ name: "secure", autostart: true }] }),
      plugins: [plugin],
      log: () => undefined,
    });
    try {
      const grpcs = `grpcs://${daemon.grpcAddress}`;
      const wss = `wss://${daemon.httpAddress}/ws`;
      expect(await oz(["eval", "secure", "3 + 4", "--remote", grpcs, "--ca", cert], { env: { OZ_TOKEN: daemon.token } })).toMatchObject({ code: 0, out: "7\n" });
      const ps = await oz(["ps", "--json"], { env: { OZ_TOKEN: daemon.token, OZ_REMOTE: wss, OZ_CA: cert } });
      expect(JSON.parse(ps.out)).toEqual([expect.objectContaining({ name: "secure", state: "running" })]);
      const untrusted = await oz(["ps", "--remote", wss, "--connect-timeout", "5"], { env: { OZ_TOKEN: daemon.token } });
      expect(untrusted.code).toBe(3);
      expect((await oz(["ps", "--remote", grpcs, "--ca", path.join(dir, "missing.pem")], { env: { OZ_TOKEN: daemon.token } })).code).toBe(1);
    } finally {
      await daemon.stop();
    }
  });
});
