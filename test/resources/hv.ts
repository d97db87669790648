/**
 * The resource tests' daemon: an in-process Hypervisor (src/hypervisor) on a temporary data directory
 * with the resources installed as ozd installs them (installResources), guests defined and started
 * through its API, evaluations run in the guests' turns by its scheduler.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Hypervisor } from "../../src/hypervisor/hypervisor.js";
import { installResources } from "../../src/hypervisor/resources/daemonPlugin.js";
import type { ResourceLimits, ResourceManager } from "../../src/hypervisor/resources/index.js";
import type { GuestConfig, GuestStats } from "../../src/hypervisor/types.js";
import { kernelImage } from "./harness.js";

export interface TestHypervisor {
  hv: Hypervisor;
  resources: ResourceManager;
  dataDir: string;
  /** defines and starts a guest */
  start(name: string, config?: Omit<GuestConfig, "name">): Promise<void>;
  /** evaluates in a guest; answers the printString, throws with the Smalltalk error */
  run(guest: string, source: string, ms?: number): Promise<string>;
  /** evaluates; answers the result as a host value */
  value(guest: string, source: string, ms?: number): Promise<unknown>;
  stats(guest: string): GuestStats;
  close(): Promise<void>;
}

export async function openTestHypervisor(limits: Partial<ResourceLimits> = {}): Promise<TestHypervisor> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-resources-hv-"));
  const hv = await Hypervisor.open({ dataDir, kernelImage });
  const resources = installResources(hv, limits);
  const evaluate = async (guest: string, source: string, ms: number) => {
    const result = await hv.space(guest).evaluate(source, { budget: { ms } });
    if (!result.ok) {
      const stack = result.stack.map((f) => `  ${f.description}`).join("\n");
      throw new Error(`${guest}: ${result.errorClass}: ${result.messageText}\n${stack}`);
    }
    return result;
  };
  return {
    hv,
    resources,
    dataDir,
    async start(name, config = {}) {
      await hv.define(name, { config });
      await hv.start(name);
    },
    async run(guest, source, ms = 30_000) {
      return (await evaluate(guest, source, ms)).printString;
    },
    async value(guest, source, ms = 30_000) {
      return (await evaluate(guest, source, ms)).value.toLocal();
    },
    stats(guest) {
      return hv.info(guest).stats;
    },
    async close() {
      await hv.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
