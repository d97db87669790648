/**
 * Image surgery (the Oz paper, sections 2.1 and 5.1): an image broke its own kernel while changing it
 * (self-brain surgery): `SequenceableCollection>>do:` got an off-by-one error, `Exception>>description`
 * now fails and the default action of exceptions logs the description first, so every error the image
 * meets makes another one while it is being reported, and the image sinks into endless error handling.
 * Its own tools cannot help: they use do: and description too.
 *
 * The host opens the broken image file as an object space (nothing runs), lets the failing request run
 * under a budget, finds the looping process, reads its stack through mirrors, repairs the two methods
 * (the fix is logged to the image's changes file first), restarts the request's frame so that the same
 * process goes on, and saves the cured image.
 *
 *   npm run build && node dist/examples/surgery.js
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { ObjectSpace } from "../src/membrane/index.js";
import { openImageFile, saveImageFile } from "../src/membrane/local/imageFiles.js";
import { kernelImageBytes } from "../src/tools/kernelImage.js";

/** The application: an inventory whose total is computed with do:. */
const APP_CLASS = { name: "Inventory", instanceVariableNames: ["items"], classVariableNames: ["Default"], category: "Surgery-Demo" };
const APP_METHODS = [
  "items: anArray\n\titems := anArray",
  "total\n\t| sum |\n\tsum := 0.\n\titems do: [:each | sum := sum + each].\n\t^ sum",
];
const APP_CLASS_METHODS = ["default\n\t^ Default ifNil: [Default := self new items: #(10 20 30); yourself]"];

/**
 * What the image did to itself, compiled inside the image by the image: an off-by-one do:, a description
 * that fails, and default actions that now log every error's description first, so that reporting an
 * error makes another one, and so on without end.
 */
const SELF_BRAIN_SURGERY = `
SequenceableCollection compile: 'do: aBlock
	1 to: self size do: [:index | aBlock value: (self at: index + 1)]' classified: 'enumerating'.
Exception compile: 'description
	^ self error: ''no description today''' classified: 'accessing'.
Exception compile: 'defaultAction
	Transcript show: ''error: '', self description; cr.
	^ self raiseUnhandledError' classified: 'handling'`;

/** The surgeon's fixes. */
const FIXED_DO = "do: aBlock\n\t1 to: self size do: [:index | aBlock value: (self at: index)]";
const FIXED_DESCRIPTION = "description\n\t^ self defaultDescription";

export interface SurgeryReport {
  patient: string;
  /** how the failing request ended before the surgery */
  before: string;
  /** the looping process: its state and stack depth when the host stopped it */
  state: string;
  depth: number;
  /** the bottom frames of its stack (where the request is), with lines */
  bottomFrames: string[];
  /** the broken method the host found on the stack, with its source */
  brokenMethod: string;
  brokenSource: string;
  /** the request's result after the repair, in the same process */
  resumedResult: unknown;
  /** checks made on the saved image */
  afterSave: { total: unknown; printString: string };
}

async function must(space: ObjectSpace, source: string): Promise<void> {
  const r = await space.evaluate(source, { budget: { ms: 10_000 } });
  if (!r.ok) throw new Error(`${source.trim().slice(0, 60)}: ${r.errorClass}: ${r.messageText}`);
}

/** Makes the patient: the kernel image, the application, and the image's own botched kernel change. */
export async function makePatient(file: string): Promise<void> {
  fs.writeFileSync(file, await kernelImageBytes());
  const { space, changes, close } = openImageFile(file);
  try {
    const object = (await space.classNamed("Object"))!;
    const app = await object.defineSubclass(APP_CLASS);
    for (const m of APP_METHODS) await app.compile(m, { category: "demo" });
    for (const m of APP_CLASS_METHODS) await (await app.metaclass()).compile(m, { category: "demo" });
    await must(space, SELF_BRAIN_SURGERY);
    await saveImageFile(space, file, changes);
  } finally {
    close();
  }
}

export async function surgery(dir: string, log: (line: string) => void = () => undefined): Promise<SurgeryReport> {
  const patient = path.join(dir, "patient.image");
  await makePatient(patient);
  log(`the patient: ${patient} (its do: and its error reporting are broken)`);

  // 1. Open the broken image as an object space: nothing runs.
  const { space, changes, close } = openImageFile(patient);
  try {
    // 2. The application's request, in a process of its own, under a budget.
    const request = await space.createProcess(40, "Inventory default total");
    const outcome = await space.runUntilFinished(request, { ms: 300 });
    const before = outcome.state;
    log(`the request "Inventory default total" ended: ${before}`);

    // 3. Diagnosis through mirrors: the process is stuck in error handling that keeps failing.
    const state = await request.state();
    const stack = await request.stack(1_000_000);
    const descriptions = await Promise.all(stack.map((c) => c.description()));
    log(`the process is ${state}, ${stack.length} frames deep; the top frames:`);
    for (const d of descriptions.slice(0, 4)) log(`    ${d}`);
    const bottom = stack.slice(-4);
    const bottomFrames: string[] = [];
    for (const c of bottom) bottomFrames.push(`${await c.description()} (line ${await c.line()})`);
    log("and the bottom ones, where the request is:");
    for (const f of bottomFrames) log(`    ${f}`);
    const doFrame = stack[descriptions.lastIndexOf("Array(SequenceableCollection)>>do:")];
    const brokenMethod = await doFrame.method();
    const brokenSource = (await brokenMethod.source()) ?? "";
    log(`the first failing frame runs ${await (await brokenMethod.methodClass())!.name()}>>${await brokenMethod.selector()}, whose source is:`);
    for (const line of brokenSource.split("\n")) log(`    | ${line}`);
    const exceptionFrames = descriptions.filter((d) => d.endsWith(">>description")).length;
    log(`and ${exceptionFrames} nested frames of Exception>>description: reporting an error makes another one`);

    // 4. Surgery: fix both methods from the host (each change is logged to patient.changes first).
    await (await space.classNamed("SequenceableCollection"))!.compile(FIXED_DO, { category: "enumerating" });
    await (await space.classNamed("Exception"))!.compile(FIXED_DESCRIPTION, { category: "accessing" });
    log("repaired SequenceableCollection>>do: and Exception>>description through mirrors");

    // 5. Resume: restart the request's own frame; everything above it (the error handling) is discarded.
    const totalFrame = stack[descriptions.lastIndexOf("Inventory>>total")];
    await totalFrame.restart();
    await request.resume().catch(() => undefined);
    const resumed = await space.runUntilFinished(request, { ms: 10_000 });
    if (resumed.state !== "finished") throw new Error(`the resumed request did not finish: ${JSON.stringify(resumed)}`);
    const resumedResult = await resumed.result.toLocal();
    log(`restarted Inventory>>total in the same process: it answers ${String(resumedResult)}`);

    // 6. Save the cured image.
    await saveImageFile(space, patient, changes);
    log(`saved the cured image over ${patient}`);
    close();

    const cured = openImageFile(patient);
    try {
      const total = await cured.space.evaluate("Inventory default total", { budget: { ms: 10_000 } });
      const printed = await cured.space.evaluate("#(1 $a 'b') printString", { budget: { ms: 10_000 } });
      const afterSave = {
        total: total.ok ? await total.value.toLocal() : `${total.errorClass}: ${total.messageText}`,
        printString: printed.ok ? String(await printed.value.toLocal()) : printed.errorClass,
      };
      log(`reopened: Inventory default total = ${String(afterSave.total)}, #(1 $a 'b') printString = ${afterSave.printString}`);
      return { patient, before, state, depth: stack.length, bottomFrames, brokenMethod: "SequenceableCollection>>do:", brokenSource, resumedResult, afterSave };
    } finally {
      cured.close();
    }
  } finally {
    close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-surgery-"));
  try {
    await surgery(dir, (line) => console.log(line));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
