/**
 * The same scenarios on a local space, a gRPC space and a WebSocket space must answer identically.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ObjectSpace } from "../../src/membrane/objectSpace.js";
import type { OzClient } from "../../src/remote/client/connect.js";
import { startFixture, type Fixture } from "./helpers.js";
import { SCENARIOS } from "./scenarios.js";

let fx: Fixture;
let grpc: OzClient;
let ws: OzClient;
const spaces: Record<"local" | "grpc" | "ws", [ObjectSpace, ObjectSpace]> = {} as never;
const results: Record<string, unknown[]> = { local: [], grpc: [], ws: [] };

beforeAll(async () => {
  fx = await startFixture({ guests: ["L1", "L2", "G1", "G2", "W1", "W2"] });
  grpc = await fx.connect("grpc");
  ws = await fx.connect("ws");
  spaces.local = [fx.hv.space("L1"), fx.hv.space("L2")];
  spaces.grpc = [grpc.space("G1"), grpc.space("G2")];
  spaces.ws = [ws.space("W1"), ws.space("W2")];
});

afterAll(async () => {
  await fx?.close();
});

describe("parity of local, gRPC and WebSocket spaces", () => {
  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const local = await scenario.run(...spaces.local);
      const overGrpc = await scenario.run(...spaces.grpc);
      const overWs = await scenario.run(...spaces.ws);
      expect(overGrpc).toEqual(local);
      expect(overWs).toEqual(local);
      results.local.push(local);
    });
  }
});
