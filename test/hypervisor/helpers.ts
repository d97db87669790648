/**
 * Helpers for the hypervisor tests: a temporary data directory, the kernel image read once, a
 * hypervisor opened on them, and waiting for conditions without timed asserts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";
import { Hypervisor, type HypervisorOptions } from "../../src/hypervisor/hypervisor.js";
import { kernelImageBytes } from "../../src/tools/kernelImage.js";
import type { HypervisorEvent } from "../../src/hypervisor/types.js";

let kernel: Promise<Uint8Array> | undefined;

export function kernelImage(): Promise<Uint8Array> {
  kernel ??= kernelImageBytes();
  return kernel;
}

const tempDirs: string[] = [];
// every test file that imports these helpers removes its temporary directories when it ends
afterAll(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory, removed when the test file ends. */
export function tempDir(prefix = "ozd-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export async function openHypervisor(options: Partial<HypervisorOptions> = {}): Promise<Hypervisor> {
  return Hypervisor.open({ dataDir: options.dataDir ?? tempDir(), kernelImage, ...options });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `test` answers true (polling), failing with `what` after `timeoutMs`. */
export async function waitFor(test: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await test()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Records the events of a hypervisor. */
export function record(hv: Hypervisor): HypervisorEvent[] {
  const events: HypervisorEvent[] = [];
  hv.subscribe((e) => events.push(e));
  return events;
}

/** Evaluates in a guest and answers the printString (throws on errors). */
export async function evaluate(hv: Hypervisor, guest: string, source: string): Promise<string> {
  const r = await hv.space(guest).evaluate(source, { budget: { ms: 20_000 } });
  if (!r.ok) throw new Error(`${source}: ${r.errorClass}: ${r.messageText}`);
  return r.printString;
}
