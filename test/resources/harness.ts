/**
 * Guests for the resource tests without the daemon: each is a local object space on the kernel image with
 * a ResourceAccount attached (sockets, a file sandbox in a temporary directory), run by an executor that
 * sleeps while the guest is idle and wakes when the account signals it (as the daemon's scheduler does).
 * Several guests run at once: their evaluations interleave on Node's event loop.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalObjectSpace } from "../../src/membrane/local/space.js";
import type { Job, JobBudget, JobOutcome } from "../../src/membrane/local/jobs.js";
import type { Interpreter } from "../../src/vm/interpreter/interpreter.js";
import { systemClock, type VMHost } from "../../src/vm/host.js";
import { kernelImageBytes } from "../../src/tools/kernelImage.js";
import { ResourceManager, type ResourceAccount, type ResourceLimits } from "../../src/hypervisor/resources/index.js";

let imageBytes: Promise<Uint8Array> | undefined;

/** The kernel image (OZ_RESOURCES_IMAGE overrides it, for trying kernel changes before they land). */
export function kernelImage(): Promise<Uint8Array> {
  imageBytes ??= process.env.OZ_RESOURCES_IMAGE
    ? Promise.resolve(new Uint8Array(fs.readFileSync(process.env.OZ_RESOURCES_IMAGE)))
    : kernelImageBytes();
  return imageBytes;
}

/** Wakes an idle guest's executor when the host signals it, or when its timer is due. */
class Waker {
  private woken = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    this.resolve?.();
  }

  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, Math.min(ms, 1000)));
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.resolve = undefined;
        self.woken = false;
        resolve();
      }
      this.resolve = done;
    });
  }
}

function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** runJob (src/membrane/local/jobs.ts), waking on host signals while idle. */
async function runWaking(vm: Interpreter, waker: Waker, job: Job, budget: JobBudget): Promise<JobOutcome> {
  const start = performance.now();
  const limit = budget.ms ?? 60_000;
  for (;;) {
    if (job.done) return { state: "finished", result: job.result! };
    const elapsed = performance.now() - start;
    if (elapsed >= limit) return { state: "budgetExhausted" };
    const slice = vm.run({ ms: Math.min(5, limit - elapsed) });
    if (job.done) return { state: "finished", result: job.result! };
    switch (slice.reason) {
      case "fault": {
        const fault = slice.fault!;
        if (fault.kind === "unhandledError" && fault.process?.oop === job.process.oop && fault.object) {
          return { state: "failed", error: fault.object, description: fault.message };
        }
        return { state: "crashed", description: fault.message, slice };
      }
      case "quit":
        return { state: "crashed", description: "the image quit", slice };
      case "interrupted":
        return { state: "interrupted" };
      case "idle":
        await waker.wait(slice.wakeAt === undefined ? limit - elapsed : slice.wakeAt - vm.msClock());
        break;
      case "budget":
        await nextTick();
        break;
    }
  }
}

export interface TestGuest {
  name: string;
  space: LocalObjectSpace;
  host: VMHost;
  account: ResourceAccount;
  output: string[];
  fileRoot: string;
  /** evaluates and answers the printString; throws with the Smalltalk error and stack */
  run(source: string, ms?: number): Promise<string>;
  /** evaluates and answers the result as a host value */
  value(source: string, ms?: number): Promise<unknown>;
}

export interface GuestOptions {
  maxSockets?: number;
  maxFileBytes?: number;
  maxOpenFiles?: number;
  files?: boolean;
}

export class TestDaemon {
  readonly resources: ResourceManager;
  readonly guests: TestGuest[] = [];
  readonly dataDir: string;

  constructor(limits: Partial<ResourceLimits> = {}) {
    this.resources = new ResourceManager(limits);
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-resources-"));
  }

  async guest(name: string, options: GuestOptions = {}): Promise<TestGuest> {
    const output: string[] = [];
    const host: VMHost = { clock: systemClock(), console: { write: (t) => void output.push(t) } };
    const waker = new Waker();
    const fileRoot = path.join(this.dataDir, name, "files");
    const account = this.resources.account(name, {
      maxSockets: options.maxSockets,
      maxFileBytes: options.maxFileBytes,
      maxOpenFiles: options.maxOpenFiles,
      fileRoot: options.files === false ? undefined : fileRoot,
      wake: () => waker.wake(),
    });
    account.attach(host);
    const space = LocalObjectSpace.fromImage(await kernelImage(), host);
    space.executor = (job, budget) => runWaking(space.vm, waker, job, budget);
    const run = async (source: string, ms = 30_000): Promise<string> => {
      const result = await space.evaluate(source, { budget: { ms } });
      if (!result.ok) {
        const stack = result.stack.map((f) => `  ${f.description}`).join("\n");
        throw new Error(`${name}: ${result.errorClass}: ${result.messageText}\n${stack}`);
      }
      return result.printString;
    };
    const value = async (source: string, ms = 30_000): Promise<unknown> => {
      const result = await space.evaluate(source, { budget: { ms } });
      if (!result.ok) {
        const stack = result.stack.map((f) => `  ${f.description}`).join("\n");
        throw new Error(`${name}: ${result.errorClass}: ${result.messageText}\n${stack}`);
      }
      return result.value.toLocal();
    };
    const guest: TestGuest = { name, space, host, account, output, fileRoot, run, value };
    this.guests.push(guest);
    return guest;
  }

  /** Releases every guest's resources and removes the data directory. */
  async close(): Promise<void> {
    await this.resources.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function eventually(check: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
