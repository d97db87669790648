/**
 * The third guest of ozd's default configuration serves a tiny TCP service from Smalltalk
 * (OzEchoService). Its startup source runs here in a hypervisor guest with resources, on a free port
 * instead of 7070, and a host client talks to it.
 */
import * as net from "node:net";
import { afterAll, expect, it } from "vitest";
import { DEFAULT_CONFIG, validateConfig } from "../../src/hypervisor/config.js";
import { eventually } from "./harness.js";
import { openTestHypervisor, type TestHypervisor } from "./hv.js";

let t: TestHypervisor | undefined;
afterAll(() => t?.close());

function exchange(port: number, messages: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const answers: string[] = [];
    const socket = net.connect(port, "127.0.0.1");
    let pending = "";
    socket.on("error", reject);
    socket.on("connect", () => socket.write(messages[0]));
    socket.on("data", (d) => {
      pending += d.toString("latin1");
      if (pending.length >= messages[answers.length].length) {
        answers.push(pending);
        pending = "";
        if (answers.length === messages.length) socket.end();
        else socket.write(messages[answers.length]);
      }
    });
    socket.on("close", () => resolve(answers));
  });
}

it("the default configuration's echo guest serves TCP from Smalltalk, several clients at once", async () => {
  const echo = validateConfig(DEFAULT_CONFIG).guests.find((g) => g.name === "echo")!;
  expect(echo.startup).toContain("OzEchoService startOn: 7070");
  const { name: _name, ...config } = echo;
  t = await openTestHypervisor();
  await t.start("echo", { ...config, startup: echo.startup!.replaceAll("7070", "0") });
  await eventually(() => t!.hv.transcript("echo").includes("echo: serving TCP"), 10_000, "the echo service to start");
  const port = Number(await t.run("echo", "OzEchoService default port"));
  expect(port).toBeGreaterThan(0);
  const answers = await Promise.all([1, 2, 3].map((i) => exchange(port, [`hello ${i}\n`, `again ${i}\n`])));
  expect(answers).toEqual([1, 2, 3].map((i) => [`hello ${i}\n`, `again ${i}\n`]));
  await eventually(() => t!.stats("echo").socketsOpen === 1, 5000, "the connections to be released (the listener stays)");
  expect(t.stats("echo")).toMatchObject({ socketsOpened: 4, bytesIn: 48, bytesOut: 48 });
});
