/**
 * Sandboxing (the Oz paper, section 5.3): running a test suite leaves an image dirty (tests remove
 * methods, define classes, change globals) and a test that never ends takes the image with it. Here the
 * suite runs in a clone of the image, each test under a CPU budget and the whole suite under another;
 * the host reads the results, and the original image file and its changes file are byte-identical
 * afterwards.
 *
 *   npm run build && node dist/examples/sandbox.js
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { ObjectSpace } from "../src/membrane/index.js";
import { changesPathFor, cloneImageFile, openImageFile, saveImageFile } from "../src/membrane/local/imageFiles.js";
import { kernelImageBytes } from "../src/tools/kernelImage.js";
import { fileIn } from "../src/tools/fileIn.js";

/** The application and its tests, in chunk format, as a developer would file them in. */
const APP = `Object subclass: #Account
	instanceVariableNames: 'balance'
	classVariableNames: ''
	package: 'Sandbox-Demo'!

!Account methodsFor: 'banking'!
balance
	^ balance ifNil: [0]!
deposit: amount
	amount <= 0 ifTrue: [^ self error: 'deposit must be positive'].
	balance := self balance + amount!
withdraw: amount
	amount > self balance ifTrue: [^ self error: 'insufficient funds'].
	balance := self balance - amount!
audit
	^ #clean! !

TestCase subclass: #AccountTest
	instanceVariableNames: 'account'
	classVariableNames: ''
	package: 'Sandbox-Demo'!

!AccountTest methodsFor: 'running'!
setUp
	account := Account new! !

!AccountTest methodsFor: 'tests'!
testDeposit
	account deposit: 50.
	self assert: account balance equals: 50!
testWithdraw
	account deposit: 50; withdraw: 20.
	self assert: account balance equals: 30!
testOverdraftIsRefused
	self should: [account withdraw: 1] raise: Error!
testWrongExpectation
	account deposit: 10.
	self assert: account balance equals: 11!
testSideEffects
	"A careless test: it changes the system it runs in."
	Account removeSelector: #audit.
	Smalltalk at: #SandboxLeftover put: 'dirty'.
	Object subclass: #SandboxJunk instanceVariableNames: '' classVariableNames: '' package: 'Junk'.
	self assert: true!
testRunaway
	"A test that never ends."
	[true] whileTrue! !
`;

export type TestOutcome = "pass" | "fail" | "error" | "timeout";

export interface SandboxReport {
  results: Record<string, TestOutcome>;
  cpuMs: number;
  /** what the tests did to the clone */
  cloneDirty: { auditRemoved: boolean; junkDefined: boolean; leftover: unknown; loggedChanges: number };
  /** the original image and its changes file, before and after */
  original: { image: string; imageBefore: string; imageAfter: string; changesBefore: string; changesAfter: string; cleanWhenReopened: boolean };
}

function sha256(file: string): string {
  return fs.existsSync(file) ? crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") : "(none)";
}

/** The application's image: the kernel with the application and its tests filed in, saved with its changes file. */
export async function makeApplicationImage(file: string): Promise<void> {
  fs.writeFileSync(file, await kernelImageBytes());
  const { space, changes, close } = openImageFile(file);
  try {
    const outcome = await fileIn(space, APP, { fileName: "account.st" });
    if (!outcome.ok) throw new Error(`filing in the application failed: ${JSON.stringify(outcome)}`);
    await saveImageFile(space, file, changes);
  } finally {
    close();
  }
}

async function value(space: ObjectSpace, source: string): Promise<unknown> {
  const r = await space.evaluate(source, { budget: { ms: 10_000 } });
  if (!r.ok) throw new Error(`${source}: ${r.errorClass}: ${r.messageText}`);
  return r.value.toLocal();
}

export async function sandbox(dir: string, log: (line: string) => void = () => undefined, budgets = { perTestMs: 500, suiteMs: 5000 }): Promise<SandboxReport> {
  const image = path.join(dir, "app.image");
  await makeApplicationImage(image);
  const imageBefore = sha256(image);
  const changesBefore = sha256(changesPathFor(image));
  log(`the application image: ${image} (sha256 ${imageBefore.slice(0, 16)}...)`);

  // A clone: a space on a copy of the image's bytes, whose changes stay in memory.
  const { space, changes } = cloneImageFile(image);
  const results: Record<string, TestOutcome> = {};
  let cpuMs = 0;
  try {
    const selectors = ((await value(space, "AccountTest testSelectors asSortedCollection asArray")) as Array<{ name: string }>).map((s) => s.name);
    log(`running ${selectors.length} tests in the clone, ${budgets.perTestMs} ms of CPU each, ${budgets.suiteMs} ms for the suite`);
    for (const selector of selectors) {
      const remaining = budgets.suiteMs - cpuMs;
      if (remaining <= 0) {
        results[selector] = "timeout";
        continue;
      }
      const before = (await space.stats()).bytecodes;
      const started = performance.now();
      const r = await space.evaluate(
        `| result | result := (AccountTest selector: #${selector}) run.
         result hasPassed ifTrue: [#pass] ifFalse: [result hasFailures ifTrue: [#fail] ifFalse: [#error]]`,
        { budget: { ms: Math.min(budgets.perTestMs, remaining) } },
      );
      cpuMs += performance.now() - started;
      results[selector] = r.ok ? ((await r.value.toLocal()) as { name: TestOutcome }).name : r.errorClass === "budgetExhausted" ? "timeout" : "error";
      log(`    ${selector.padEnd(24)} ${results[selector].padEnd(8)} (${(await space.stats()).bytecodes - before} bytecodes)`);
    }
    const cloneDirty = {
      auditRemoved: !(await (await space.classNamed("Account"))!.includesSelector("audit")),
      junkDefined: (await space.classNamed("SandboxJunk")) !== undefined,
      leftover: await (await space.globalNamed("SandboxLeftover"))?.toLocal(),
      loggedChanges: changes.contents().split('"----CHANGE----').length - 1,
    };
    log(`the clone is dirty: Account>>audit removed: ${cloneDirty.auditRemoved}, SandboxJunk defined: ${cloneDirty.junkDefined}, ${cloneDirty.loggedChanges} changes logged (in memory)`);

    // The original is untouched.
    const imageAfter = sha256(image);
    const changesAfter = sha256(changesPathFor(image));
    const reopened = openImageFile(image);
    let cleanWhenReopened: boolean;
    try {
      cleanWhenReopened =
        (await reopened.space.classNamed("SandboxJunk")) === undefined &&
        (await (await reopened.space.classNamed("Account"))!.includesSelector("audit")) &&
        (await reopened.space.globalNamed("SandboxLeftover")) === undefined;
    } finally {
      reopened.close();
    }
    log(`the original image is ${imageAfter === imageBefore ? "byte-identical" : "CHANGED"}, its changes file ${changesAfter === changesBefore ? "byte-identical" : "CHANGED"}`);
    return {
      results,
      cpuMs,
      cloneDirty,
      original: { image, imageBefore, imageAfter, changesBefore, changesAfter, cleanWhenReopened },
    };
  } finally {
    space.releaseAll();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oz-sandbox-"));
  try {
    await sandbox(dir, (line) => console.log(line));
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
