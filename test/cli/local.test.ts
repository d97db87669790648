/**
 * `oz` without a daemon: the local commands keep their behaviour (run, eval, image build, changes,
 * inspect from a pipe), every command has --help, bad usage is exit 2 with a clear message and never a
 * stack trace, and the daemon commands say how they reach a daemon and fail with the exit codes of
 * docs/cli.md when they cannot.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/tools/cli/oz.js";
import { defaultImagePath } from "../../src/tools/kernelImage.js";
import { openLocal } from "../../src/tools/cli/local.js";
import { progress } from "../../src/tools/cli/format.js";
import { ROOT, oz, tempDir, cleanup } from "./helpers.js";

afterAll(cleanup);

describe("oz on local images", () => {
  it("eval prints the printString; an error in the guest prints its class and message and exits 1", async () => {
    expect(await oz(["eval", "(1 to: 10) inject: 0 into: [:a :b | a + b]"])).toMatchObject({ code: 0, out: "55\n" });
    const failed = await oz(["eval", "#(1 2) at: 5"]);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/^SubscriptOutOfBounds: .*5/m);
    expect(failed.err).toMatch(/Array.*>>at:/);
    const syntax = await oz(["eval", "3 +"]);
    expect(syntax.code).toBe(1);
    expect(syntax.err).toMatch(/<eval>:1:\d+: /);
    const json = await oz(["eval", "--json", "3 @ 4"]);
    expect(JSON.parse(json.out)).toEqual({ ok: true, printString: "(3@4)" });
    const jsonError = await oz(["eval", "--json", "nil foo"]);
    expect(jsonError.code).toBe(1);
    expect(JSON.parse(jsonError.out)).toMatchObject({ ok: false, errorClass: "MessageNotUnderstood" });
    // a Transcript goes to stdout first
    expect((await oz(["eval", "Transcript show: 'hi'; cr. 7"])).out).toBe("hi\n7\n");
    // --local wins over OZ_REMOTE
    expect(await oz(["eval", "--local", "6 * 7"], { env: { OZ_REMOTE: "grpc://127.0.0.1:1" } })).toMatchObject({ code: 0, out: "42\n" });
  });

  it("eval --budget stops a loop", async () => {
    const r = await oz(["eval", "--budget", "200", "[true] whileTrue"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/budgetExhausted/);
  });

  it("run files in a file (unchanged behaviour)", async () => {
    const dir = tempDir();
    const file = path.join(dir, "prog.st");
    fs.writeFileSync(file, "Object subclass: #Greeter instanceVariableNames: '' classVariableNames: '' package: 'T'!\n!Greeter methodsFor: 'x'!\ngreet\n\t^ 'hello'\n! !\nTranscript show: Greeter new greet; cr!\n");
    expect(await oz(["run", file])).toMatchObject({ code: 0, out: "hello\n" });
    fs.writeFileSync(file, "Transcript show: 'a'; cr!\n1/0!\n");
    const failed = await oz(["run", file]);
    expect(failed.code).toBe(1);
    expect(failed.out).toBe("a\n");
    expect(failed.err).toMatch(/^ZeroDivide/m);
    expect((await oz(["run", path.join(dir, "missing.st")])).code).toBe(1);
  });

  it("image build writes an image (a progress line on stderr) that eval can use", async () => {
    const dir = tempDir();
    const image = path.join(dir, "k.image");
    const r = await oz(["image", "build", "-o", image]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/oz image build: wrote .*k\.image \(\d+ bytes\)/);
    expect(fs.statSync(image).size).toBeGreaterThan(100_000);
    expect(await oz(["eval", "--image", image, "3 + 4"])).toMatchObject({ code: 0, out: "7\n" });
    expect((await oz(["image", "frobnicate"])).code).toBe(2);
  });

  it("a progress line for long work: plain lines, or one line updated in place on a terminal", async () => {
    let err = "";
    const io = { out: () => undefined, err: (t: string) => void (err += t), env: {} };
    const space = await openLocal(io, "eval", defaultImagePath(), 0);
    expect((await space.evaluate("3 + 4")).ok).toBe(true);
    expect(err).toMatch(/^oz eval: loading .*kernel\.image \(\d+ KiB\)\noz eval: loaded .*kernel\.image \(\d+\.\d s\)\n$/);
    err = "";
    const p = progress({ ...io, errIsTTY: true }, "oz clone", "cloning a to b");
    p.update("still cloning");
    p.done("cloned a to b");
    expect(err).toMatch(/^\r\x1b\[Koz clone: cloning a to b \d+\.\d s\r\x1b\[Koz clone: still cloning \d+\.\d s\r\x1b\[Koz clone: cloned a to b \(\d+\.\d s\)\n$/);
    // a bad image is a clear error, not a stack trace
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "bad.image"), "garbage");
    for (const argv of [["eval", "--image", path.join(dir, "bad.image"), "3"], ["run", "--image", path.join(dir, "missing.image"), path.join(ROOT, "examples", "hello.st")]]) {
      const r = await oz(argv);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^oz (eval|run): cannot (load|read) the image /);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it("changes lists an image's changes", async () => {
    const dir = tempDir();
    const image = path.join(dir, "app.image");
    fs.copyFileSync(defaultImagePath(), image);
    fs.writeFileSync(path.join(dir, "app.changes"), "");
    const none = await oz(["changes", image]);
    expect(none.code).toBe(0);
    expect(none.err).toMatch(/0 changes since the last snapshot/);
    expect((await oz(["changes", path.join(dir, "nope.image")])).code).toBe(1);
    expect((await oz(["changes"])).code).toBe(2);
  });

  it("every command has --help, and 'oz help COMMAND' prints the same", async () => {
    for (const c of COMMANDS) {
      const r = await oz([c.name, "--help"]);
      expect(r.code, c.name).toBe(0);
      expect(r.out, c.name).toMatch(new RegExp(`^oz ${c.name}`));
      expect(r.out, c.name).toMatch(/Exit status/);
      expect((await oz(["help", c.name])).out).toBe(r.out);
    }
    const all = await oz(["--help"]);
    expect(all.code).toBe(0);
    for (const c of COMMANDS) expect(all.out).toContain(`  ${c.name} `);
    expect((await oz([])).code).toBe(2);
    expect((await oz(["version"])).out).toMatch(/^oz \d+\.\d+\.\d+/);
  });

  it("bad usage is exit 2 with a message and the usage, never a stack trace", async () => {
    const cases: string[][] = [
      ["frobnicate"],
      ["help", "frobnicate"],
      ["eval"],
      ["eval", "1", "2", "3"],
      ["eval", "--frob", "3"],
      ["eval", "--budget", "soon", "3"],
      ["eval", "guest", "3 + 4"],
      ["eval", "--image", "x.image", "--remote", "grpc://127.0.0.1:1", "3"],
      ["ps", "extra"],
      ["ps", "--remote", "http://127.0.0.1:1"],
      ["ps", "--remote", "grpc://127.0.0.1"],
      ["ps", "--remote"],
      ["top", "-d", "0"],
      ["top", "-n", "1.5"],
      ["define"],
      ["define", "a", "b"],
      ["define", "g", "--cpu", "lots"],
      ["define", "g", "--memory", "12 parsecs"],
      ["define", "g", "--weight", "-3"],
      ["define", "g", "--startup", "x", "--startup-file", "y"],
      ["define", "g", "--image", "a", "--upload", "b"],
      ["start"],
      ["stop"],
      ["suspend"],
      ["resume"],
      ["interrupt"],
      ["snapshot"],
      ["destroy"],
      ["clone", "onlyone"],
      ["logs"],
      ["logs", "a", "b"],
      ["logs", "g", "--bytes", "many"],
      ["inspect", "a", "b"],
      ["inspect", "--page", "0"],
      ["run"],
      ["changes", "replay"],
      ["changes", "replay", "x.image", "--remote", "grpc://127.0.0.1:1"],
      ["changes", "g", "--local", "--remote", "grpc://127.0.0.1:1"],
      ["changes", "a", "b", "--remote", "grpc://127.0.0.1:1"],
      ["changes", "g", "--remote", "http://127.0.0.1:1"],
    ];
    for (const argv of cases) {
      const r = await oz(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err, argv.join(" ")).toMatch(/^oz[ :]/);
      expect(r.err, argv.join(" ")).not.toMatch(/\n\s+at /);
    }
  });

  it("daemon commands: no token is exit 4, nothing listening is exit 3", async () => {
    const noToken = await oz(["ps", "--remote", "grpc://127.0.0.1:1"]);
    expect(noToken.code).toBe(4);
    expect(noToken.err).toMatch(/no token: set OZ_TOKEN/);
    expect((await oz(["changes", "g", "--remote", "grpc://127.0.0.1:1"])).code).toBe(4);
    const dir = tempDir();
    expect((await oz(["ps", "--token-file", path.join(dir, "missing")])).code).toBe(4);
    fs.writeFileSync(path.join(dir, "empty"), "\n");
    expect((await oz(["ps", "--token-file", path.join(dir, "empty")])).code).toBe(4);
    for (const url of ["grpc://127.0.0.1:1", "127.0.0.1:1", "ws://127.0.0.1:1/ws"]) {
      for (const argv of [["ps"], ["top", "-n", "1"], ["start", "g"], ["eval", "g", "3"], ["logs", "g"], ["inspect", "g"], ["define", "g"], ["clone", "a", "b"], ["changes", "g"]]) {
        const r = await oz([...argv, "--remote", url], { env: { OZ_TOKEN: "secret" } });
        expect(r.code, `${argv.join(" ")} ${url}`).toBe(3);
        expect(r.err).toMatch(/cannot reach the daemon at .*127\.0\.0\.1:1.*is ozd running\?/);
      }
    }
    // the default URL is the daemon's default gRPC port; OZ_REMOTE replaces it
    const viaEnv = await oz(["ps"], { env: { OZ_TOKEN: "secret", OZ_REMOTE: "grpc://127.0.0.1:1" } });
    expect(viaEnv.code).toBe(3);
    expect(viaEnv.err).toContain("grpc://127.0.0.1:1");
  });
});
