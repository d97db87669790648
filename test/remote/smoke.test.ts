import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "./helpers.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx?.close();
});

for (const transport of ["grpc", "ws"] as const) {
  describe(transport, () => {
    it("evaluates and describes", async () => {
      const oz = await fx.connect(transport);
      const space = oz.space("alpha");
      const r = await space.evaluate("3 + 4", { budget: { ms: 5000 } });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.printString).toBe("7");
      expect(await r.value.toLocal()).toBe(7);
      const d = await r.value.describe();
      expect(d.className).toBe("SmallInteger");
      const obj = await space.classNamed("Object");
      expect(await obj!.name()).toBe("Object");
      expect((await obj!.selectors()).length).toBeGreaterThan(0);
      const arr = await space.fromLocal([1, "two", 3n ** 80n, null, true]);
      expect(await arr.toLocal()).toEqual([1, "two", 3n ** 80n, null, true]);
      const info = await oz.hypervisor.list();
      expect(info.map((i) => i.name)).toEqual(["alpha"]);
    });
  });
}
