/**
 * Startup recovery (the Oz paper, section 2.3): an image registered start-up code that fails, so the
 * image fails every time it starts and never gets to the point where its own tools could fix it. The
 * host opens the image file as an object space, which does not start it: nothing runs. Through mirrors it
 * finds the start-up list and the failing method, installs a fixed method (logged to the changes file),
 * saves the image, and starts it: this time it comes up.
 *
 * Starting an image is what a launcher or the hypervisor does: load it and evaluate `Smalltalk startUp`
 * before anything else (docs/kernel-contract.md); `SmalltalkImage addToStartUpList:` registers a class
 * whose class-side `startUp` runs then.
 *
 *   npm run build && node dist/examples/startup.js
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { ObjectMirror } from "../src/membrane/index.js";
import { openImageFile, saveImageFile } from "../src/membrane/local/imageFiles.js";
import { kernelImageBytes } from "../src/tools/kernelImage.js";
import { fileIn } from "../src/tools/fileIn.js";

const APP = `Object subclass: #AppConfig
	instanceVariableNames: ''
	classVariableNames: 'Settings'
	package: 'Startup-Demo'!

!AppConfig class methodsFor: 'startup'!
startUp
	"Read the settings the deployment provides (it forgot to)."
	Settings := (Smalltalk at: #AppSettings) copy!
settings
	^ Settings! !

SmalltalkImage addToStartUpList: AppConfig!
`;

const FIXED_STARTUP = `startUp
	"Read the settings the deployment provides, or start with defaults."
	Settings := (Smalltalk at: #AppSettings ifAbsent: [Dictionary new]) copy.
	Settings at: #mode ifAbsentPut: ['safe']`;

export interface StartAttempt {
  ok: boolean;
  error?: string;
  frames?: string[];
}

export interface StartupReport {
  attempts: StartAttempt[];
  startUpList: string[];
  failingMethod: string;
  failingSource: string;
  afterFix: StartAttempt;
  settingsAfterFix: string;
}

/** Makes the image: the kernel, the application, and its start-up registration. */
export async function makeBrokenImage(file: string): Promise<void> {
  fs.writeFileSync(file, await kernelImageBytes());
  const { space, changes, close } = openImageFile(file);
  try {
    const outcome = await fileIn(space, APP, { fileName: "app.st" });
    if (!outcome.ok) throw new Error(`filing in the application failed: ${JSON.stringify(outcome)}`);
    await saveImageFile(space, file, changes);
  } finally {
    close();
  }
}

/** Starts an image file as a launcher does: loads it and runs `Smalltalk startUp` first. */
export async function startImage(file: string): Promise<StartAttempt> {
  const { space, close } = openImageFile(file);
  try {
    const r = await space.evaluate("Smalltalk startUp", { budget: { ms: 10_000 } });
    if (r.ok) return { ok: true };
    return { ok: false, error: r.messageText ? `${r.errorClass}: ${r.messageText}` : r.errorClass, frames: r.stack.map((f) => f.description) };
  } finally {
    close();
  }
}

/** The elements of an OrderedCollection, read through mirrors (no guest code runs). */
async function orderedCollectionElements(collection: ObjectMirror): Promise<ObjectMirror[]> {
  const array = await collection.instVarNamed("array");
  const first = Number(await (await collection.instVarNamed("firstIndex")).toLocal());
  const last = Number(await (await collection.instVarNamed("lastIndex")).toLocal());
  const out: ObjectMirror[] = [];
  for (let i = first; i <= last; i++) out.push(await array.at(i));
  return out;
}

export async function startupRecovery(dir: string, log: (line: string) => void = () => undefined): Promise<StartupReport> {
  const image = path.join(dir, "app.image");
  await makeBrokenImage(image);

  // The image fails every time it starts.
  const attempts: StartAttempt[] = [];
  for (let i = 1; i <= 2; i++) {
    const attempt = await startImage(image);
    attempts.push(attempt);
    log(`start #${i}: ${attempt.ok ? "up" : `failed: ${attempt.error}`}`);
    for (const f of (attempt.frames ?? []).slice(0, 6)) log(`    ${f}`);
  }

  // Open it as an object space: it does not start, nothing runs.
  const { space, changes, close } = openImageFile(image);
  let startUpList: string[];
  let failingMethod: string;
  let failingSource: string;
  try {
    const pool = await (await space.classNamed("SmalltalkImage"))!.classPool();
    const list = (await pool.valueAt("StartUpList"))!;
    startUpList = [];
    for (const element of await orderedCollectionElements(list)) startUpList.push(await (await element.asClass()).name());
    log(`the start-up list: ${startUpList.join(", ")}`);
    // the failing start's stack names the culprit: the first class-side startUp on it
    const culprit = (attempts[0].frames ?? []).map((f) => /^(\w+) class>>startUp$/.exec(f)?.[1]).find((name) => name !== undefined);
    if (!culprit || !startUpList.includes(culprit)) throw new Error(`no start-up method on the failing stack: ${attempts[0].frames?.join(" / ")}`);
    const suspect = (await space.classNamed(culprit))!;
    const method = (await (await suspect.metaclass()).methodAt("startUp"))!;
    failingMethod = `${await (await method.methodClass())!.name()}>>${await method.selector()}`;
    failingSource = (await method.source()) ?? "";
    log(`${failingMethod} reads:`);
    for (const line of failingSource.split("\n")) log(`    | ${line}`);

    // The fix, through mirrors, logged to the changes file; then the image is saved.
    await (await suspect.metaclass()).compile(FIXED_STARTUP, { category: "startup" });
    await saveImageFile(space, image, changes);
    log(`installed a fixed ${failingMethod} and saved ${image}`);
  } finally {
    close();
  }

  // It starts now.
  const afterFix = await startImage(image);
  log(`start #3: ${afterFix.ok ? "up" : `failed: ${afterFix.error}`}`);
  const check = openImageFile(image);
  let settingsAfterFix: string;
  try {
    const started = await check.space.evaluate("Smalltalk startUp. AppConfig settings at: #mode", { budget: { ms: 10_000 } });
    settingsAfterFix = started.ok ? String(await started.value.toLocal()) : `${started.errorClass}: ${started.messageText}`;
    log(`AppConfig settings at: #mode = ${settingsAfterFix}`);
  } finally {
    check.close();
  }
  return { attempts, startUpList, failingMethod, failingSource, afterFix, settingsAfterFix };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-startup-"));
  try {
    await startupRecovery(dir, (line) => console.log(line));
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
