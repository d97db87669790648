/**
 * Controlled interruption (the Oz paper, sections 2.2 and 5.2): a guest process loops forever at the
 * highest priority. Inside the image nothing can stop it: no other process of the image ever runs again,
 * not even the one that would handle a user interrupt. The host runs the guest in slices, as a hypervisor
 * does, and interrupts it (a timer plays the user's interrupt key). The interruption leaves the guest as
 * it was: the runaway process is still the guest's active process, not moved to any list, so the host
 * finds it there, reads its stack through mirrors, terminates it, and the guest goes on.
 *
 *   npm run build && node dist/examples/interruption.js
 */
import { pathToFileURL } from "node:url";
import type { ObjectSpace, ProcessMirror, SliceReport } from "../src/membrane/index.js";
import { openSession } from "../src/tools/session.js";

export interface InterruptionReport {
  slices: number;
  lastSlice: SliceReport["reason"];
  active: { name: string; priority: number; state: string; isRunaway: boolean; inReadyLists: boolean };
  frames: Array<{ description: string; line: number | undefined }>;
  ticksAtInterrupt: number;
  ticksAfterTerminate: number;
  stateAfterTerminate: string;
  guestAnswerAfterwards: unknown;
}

async function must(space: ObjectSpace, source: string): Promise<unknown> {
  const r = await space.evaluate(source, { budget: { ms: 10_000 } });
  if (!r.ok) throw new Error(`${source}: ${r.errorClass}: ${r.messageText}`);
  return r.value.toLocal().catch(() => r.printString);
}

/** Runs the guest slice after slice, giving the host's event loop a turn in between, until it stops. */
async function runGuest(space: ObjectSpace, onSlice: (n: number) => void): Promise<{ slices: number; last: SliceReport }> {
  let slices = 0;
  for (;;) {
    const slice = await space.transferControl({ ms: 20 });
    slices++;
    onSlice(slices);
    if (slice.reason !== "budget") return { slices, last: slice };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export async function interruption(log: (line: string) => void = () => undefined, interruptAfterMs = 300): Promise<InterruptionReport> {
  const space = await openSession({ write: () => undefined });
  try {
    // The guest's own code: a counter and a process that never stops, at the highest priority.
    await must(space, "Smalltalk at: #Ticks put: 0");
    await must(space, `Smalltalk at: #Runaway put: ([[true] whileTrue: [Ticks := Ticks + 1]] newProcess
      priority: Processor highestPriority;
      name: 'runaway';
      yourself)`);
    const runaway = (await (await space.globalNamed("Runaway"))!.asProcess()) as ProcessMirror;
    await runaway.resume();
    log(`the guest started 'runaway' at priority ${await runaway.priority()}: it loops forever`);

    // The host runs the guest; after a while, the "user" presses the interrupt key.
    const timer = setTimeout(() => {
      log(`interrupt after ${interruptAfterMs} ms`);
      void space.interrupt();
    }, interruptAfterMs);
    const { slices, last } = await runGuest(space, () => undefined);
    clearTimeout(timer);
    log(`the guest ran ${slices} slices; the last one ended: ${last.reason}`);

    // The host finds the culprit where it was: the active process of the guest, on no list.
    const scheduler = await space.scheduler();
    const active = (await scheduler.activeProcess())!;
    let inReadyLists = false;
    for (const list of await scheduler.readyLists()) for (const p of list.processes) if (await p.isIdenticalTo(runaway)) inReadyLists = true;
    const info = {
      name: await active.name(),
      priority: await active.priority(),
      state: await active.state(),
      isRunaway: await active.isIdenticalTo(runaway),
      inReadyLists,
    };
    log(`the active process is '${info.name}' (priority ${info.priority}, ${info.state})${info.isRunaway ? ", the runaway itself" : ""}`);
    const frames = [];
    for (const ctx of await active.stack()) frames.push({ description: await ctx.description(), line: await ctx.line() });
    log("its stack:");
    for (const f of frames) log(`    ${f.description} (line ${f.line})`);
    const ticksAtInterrupt = Number(await (await space.globalNamed("Ticks"))!.toLocal());
    log(`Ticks = ${ticksAtInterrupt}`);

    // Terminate it; the guest runs on.
    await active.terminate();
    const stateAfterTerminate = await runaway.state();
    log(`terminated: the runaway is ${stateAfterTerminate}`);
    await space.transferControl({ ms: 50 });
    const ticksAfterTerminate = Number(await (await space.globalNamed("Ticks"))!.toLocal());
    const guestAnswerAfterwards = await must(space, "(1 to: 10) inject: 0 into: [:a :b | a + b]");
    log(`Ticks stays ${ticksAfterTerminate}; the guest answers (1 to: 10) inject: 0 into: [:a :b | a + b] = ${String(guestAnswerAfterwards)}`);
    return { slices, lastSlice: last.reason, active: info, frames, ticksAtInterrupt, ticksAfterTerminate, stateAfterTerminate, guestAnswerAfterwards };
  } finally {
    space.releaseAll();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  interruption((line) => console.log(line)).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
