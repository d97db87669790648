/**
 * The conformance suite (conformance.ts) on the local implementation: a LocalObjectSpace on the kernel
 * image, one fresh session per space.
 */
import { conformanceSuite } from "./conformance.js";
import { openSession } from "../../src/tools/session.js";

conformanceSuite("LocalObjectSpace", async () => {
  const space = await openSession({ write: () => undefined });
  return {
    space,
    async dispose() {
      space.releaseAll();
    },
  };
});
