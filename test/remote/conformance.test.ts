/**
 * The membrane's conformance suite (test/membrane/conformance.ts), unchanged, on remote spaces: a gRPC
 * space and a WebSocket space, each on its own fresh guest (kernel image) of a test server on loopback.
 */
import { afterAll } from "vitest";
import { conformanceSuite } from "../membrane/conformance.js";
import type { OzClient } from "../../src/remote/client/connect.js";
import { startFixture, type Fixture } from "./helpers.js";

let fixture: Promise<Fixture> | undefined;
const clients: Partial<Record<"grpc" | "ws", Promise<OzClient>>> = {};
let guests = 0;

function fx(): Promise<Fixture> {
  fixture ??= startFixture({ guests: [] });
  return fixture;
}

function client(transport: "grpc" | "ws"): Promise<OzClient> {
  clients[transport] ??= fx().then((f) => f.connect(transport));
  return clients[transport]!;
}

afterAll(async () => {
  if (fixture) await (await fixture).close();
});

for (const transport of ["grpc", "ws"] as const) {
  conformanceSuite(`RemoteObjectSpace (${transport === "grpc" ? "gRPC" : "WebSocket"})`, async () => {
    const f = await fx();
    const name = `${transport}-${++guests}`;
    await f.hv.define(name);
    const space = (await client(transport)).space(name);
    return {
      space,
      async dispose() {
        space.releaseAll();
        await f.hv.destroy(name);
      },
    };
  });
}
