/**
 * The inspector's commands, in-process (`execute(line)` with the output captured), on a local session
 * and on a daemon's guest through a RemoteObjectSpace: the same program on both, since it is written
 * against the ObjectSpace interface only. The terminal itself is tested in tmux.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Inspector, type InspectorIO, type InspectorOptions } from "../../src/tools/inspector/inspector.js";
import { openSession } from "../../src/tools/session.js";
import { connect, type OzClient } from "../../src/remote/client/connect.js";
import type { ObjectSpace } from "../../src/membrane/objectSpace.js";
import { fileIn } from "../../src/tools/fileIn.js";
import { SHOP_ST, SHOP_STARTUP, startDaemon, waitFor, type TestDaemon, cleanup } from "../cli/helpers.js";

afterAll(cleanup);

/** An inspector whose input is a script of lines and whose output is kept. */
class Script implements InspectorIO {
  output = "";
  input: string[] = [];
  edited: string | undefined;
  out(text: string): void {
    this.output += text;
  }
  async readLine(): Promise<string | undefined> {
    return this.input.shift();
  }
  editText?: (text: string, name: string) => Promise<string | undefined>;
  /** the output of one command */
  async run(inspector: Inspector, line: string): Promise<string> {
    this.output = "";
    await inspector.execute(line);
    return this.output;
  }
}

async function make(space: ObjectSpace, options: InspectorOptions = {}): Promise<{ inspector: Inspector; io: Script; run: (line: string) => Promise<string> }> {
  const io = new Script();
  const inspector = new Inspector(space, io, options);
  return { inspector, io, run: (line) => io.run(inspector, line) };
}

const SETUP = `Object subclass: #Account instanceVariableNames: 'owner balance history' classVariableNames: 'Rate' package: 'Bank'.
Account compile: 'balance ^ balance' classified: 'accessing'.
Account compile: 'deposit: amount | before | before := balance. balance := balance + amount. ^ before' classified: 'operations'.
Account compile: 'owner: aString owner := aString. balance := 0. history := OrderedCollection new' classified: 'initialization'.
Account`;

describe("the inspector on a local image", () => {
  let space: ObjectSpace;
  beforeAll(async () => {
    space = await openSession();
    const r = await space.evaluate(SETUP);
    if (!r.ok) throw new Error(r.messageText);
  });

  it("shows an object: printString, class, named fields; moves into a field and back", async () => {
    const { inspector, run } = await make(space);
    expect(await inspector.inspectExpression("(Account new owner: 'ada') deposit: 5; yourself")).toBe(true);
    const shown = await run("show");
    expect(shown).toMatch(/^an Account\n {2}class Account {3}format fixed {3}hash \d+\n {2}named fields:\n {4}owner {4}'ada'\n {4}balance {2}5\n {4}history {2}an OrderedCollection\n$/);
    expect(await inspector.prompt()).toBe("oz:an Account> ");
    expect(await run("go owner")).toMatch(/^'ada'\n {2}class ByteString {3}format bytes/);
    expect(await run("back")).toMatch(/^an Account/);
    expect(await run("go 2")).toMatch(/^5\n {2}class SmallInteger/);
    await run("back");
    expect(await run("go nothing")).toBe("no field 'nothing': owner, balance, history\n");
    expect(await run("go 9")).toBe("field 9 is out of range 1..3\n");
    expect(await run("go")).toMatch(/^go FIELD/);
    expect(await run("frobnicate")).toBe("unknown command 'frobnicate' ('help' lists the commands)\n");
    await run("back");
    expect(await run("back")).toBe("this is the first object inspected\n");
  });

  it("pages large collections", async () => {
    const { inspector, run } = await make(space, { pageSize: 10 });
    await inspector.inspectExpression("(1 to: 35) asArray");
    const first = await run("show");
    expect(first).toMatch(/indexed fields 1-10 of 35 \('next' for more\):\n {4}\[1\] {3}1\n/);
    expect(first).not.toMatch(/\[11\]/);
    expect(await run("next")).toMatch(/indexed fields 11-20 of 35/);
    await run("next");
    expect(await run("next")).toMatch(/indexed fields 31-35 of 35:\n(.*\n)*\s+\[35\]\s+35\n$/);
    expect(await run("next")).toBe("this is the last page\n");
    expect(await run("prev")).toMatch(/indexed fields 21-30 of 35/);
    expect(await run("fields 17")).toMatch(/indexed fields 17-26 of 35/);
    expect(await run("go 33")).toMatch(/^33\n/);
    await run("back");
    expect(await run("go 36")).toBe("index 36 is out of range 1..35\n");
    expect(await run("fields 0")).toMatch(/^fields N/);
  });

  it("evaluates with self bound to the inspected object, inspects results, sets fields", async () => {
    const { inspector, run } = await make(space);
    await inspector.inspectExpression("Account new owner: 'bob'");
    expect(await run("eval balance + 10")).toBe("10\n");
    expect(await run("eval self deposit: 32; balance")).toBe("32\n");
    expect(await run("eval 1/0")).toMatch(/^ZeroDivide\n {4}SmallInteger.*>>\/ \(line \d+\)/);
    expect(await run("eval 3 +")).toMatch(/^error: <inspector>:1:\d+: /);
    expect(await run("set balance 100 factorial")).toMatch(/^balance := 9332621544\d+\.\.\.\n$/);
    expect(await run("eval balance > 1000")).toBe("true\n");
    expect(await run("set 1 'carol' , ' smith'")).toBe("field 1 := 'carol smith'\n");
    expect(await run("set nothing 3")).toBe("no field 'nothing': owner, balance, history\n");
    expect(await run("set balance nil foo")).toMatch(/^MessageNotUnderstood: .*foo.*\n(.*\n)*nothing was changed\n$/);
    expect(await run("inspect history")).toMatch(/^an OrderedCollection\(\)/);
    expect(await run("eval self add: 7; add: 8; yourself")).toBe("an OrderedCollection(7 8)\n");
    await run("back");
    expect(await run("eval owner")).toBe("'carol smith'\n");
    // an array's indexed fields
    await inspector.inspectExpression("Array new: 3");
    expect(await run("set 2 #two")).toBe("[2] := #two\n");
    expect(await run("set 4 1")).toBe("index 4 is out of range 1..3\n");
    expect(await run("eval self")).toBe("#(nil #two nil)\n");
  });

  it("browses classes: superclass chain, instance variables, methods, sources; recompiles a method", async () => {
    const { inspector, io, run } = await make(space);
    await inspector.inspectExpression("Account new owner: 'dan'");
    const cls = await run("class");
    expect(cls).toMatch(/^class Account {3}category Bank\n {2}superclasses {8}Object > ProtoObject\n {2}instance variables {2}owner balance history\n {2}class variables {5}Rate\n {2}methods \(3\)\n {4}balance {2}deposit: {2}owner:/);
    expect(await inspector.prompt()).toBe("oz:Account> ");
    expect(await run("methods")).toBe("Account: 3 methods\n    balance  deposit:  owner:\n");
    expect(await run("source deposit:")).toBe("Account>>deposit:\n    deposit: amount | before | before := balance. balance := balance + amount. ^ before\n");
    expect(await run("source printString")).toMatch(/^Object>>printString\n/);
    expect(await run("source frobnicate")).toBe("Account has no method #frobnicate (nor do its superclasses)\n");
    // edit from the terminal: the source up to a line '!'
    io.input = ["deposit: amount", "\tamount < 0 ifTrue: [^ self error: 'negative'].", "\tbalance := balance + amount", "!"];
    const edited = await run("edit deposit:");
    expect(edited).toMatch(/^editing Account>>deposit: \(its source\):\n {4}deposit: amount \| before \|/);
    expect(edited).toMatch(/type the new source, then a line with '!' alone/);
    expect(edited).toMatch(/compiled Account>>deposit: \(operations\); the change is in the image's changes file\n$/);
    expect(await run("eval (self new owner: 'x') deposit: 3; balance")).toBe("3\n");
    expect(await run("eval (self new owner: 'x') deposit: -3")).toMatch(/^Error: negative/);
    // a compile error keeps the text for the next edit
    io.input = ["withdraw: amount", "\tbalance := balance - ", "!"];
    expect(await run("edit withdraw:")).toMatch(/^editing Account>>withdraw: \(a new method; a template\):\n {4}withdraw:\n(.*\n)*compile error: Account>>withdraw::2:\d+: Variable or expression expected\n(.*\n)*nothing was compiled; 'edit withdraw:' starts again from your text\n$/);
    io.input = ["!"];
    expect(await run("edit withdraw:")).toMatch(/^editing Account>>withdraw: \(your last text\):\n {4}withdraw: amount\n {8}balance := balance - \n(.*\n)*edit cancelled: nothing was compiled\n$/);
    // an editor ($EDITOR) when there is one
    io.editText = async (text, name) => {
      expect(name).toBe("Account-withdraw_.st");
      return text.replace("balance - ", "balance - amount");
    };
    expect(await run("edit withdraw:")).toMatch(/^compiled Account>>withdraw:; the change is in the image's changes file\n$/);
    expect(await run("eval ((self new owner: 'x') deposit: 10; withdraw: 4; balance)")).toBe("6\n");
    io.editText = async (text) => text;
    expect(await run("edit withdraw:")).toBe("no change: nothing was compiled\n");
    io.editText = undefined;
    // inherited methods go into the class being browsed
    io.input = ["printOn: aStream", "\taStream nextPutAll: 'Account of ', owner", "!"];
    expect(await run("edit printOn:")).toMatch(/^note: #printOn: is inherited from Object: the new method goes into Account\n/);
    expect(await run("eval self new owner: 'eve'")).toBe("Account of eve\n");
    expect(await run("class Point")).toMatch(/^class Point {3}category Kernel-Numbers\n {2}superclasses {8}Object > ProtoObject\n {2}instance variables {2}x y\n/);
    expect(await run("class Point class")).toMatch(/^class Point class( {3}category \S+)?\n {2}superclasses {8}Object class > ProtoObject class > Class > /);
    expect(await run("class Nonexistent")).toBe("no class named Nonexistent\n");
    expect(await run("fields")).toMatch(/^Point class\n {2}class Metaclass {3}format fixed {3}hash \d+\n {2}named fields:\n {4}superclass {9}Object class\n/);
  });

  it("lists processes, shows a stack and a frame (receiver, arguments, temporaries, source); suspends, resumes, terminates", async () => {
    const s = await openSession();
    await s.evaluate(SETUP);
    const account = (await s.classNamed("Account"))!;
    await account.compile("slowDeposit: amount\n\t| before |\n\tbefore := balance.\n\tself waitHere.\n\tbalance := before + amount", { category: "operations" });
    await account.compile("waitHere\n\tSemaphore new wait", { category: "operations" });
    const { inspector, run } = await make(s, { stackDepth: 5 });
    await inspector.inspectExpression("[(Account new owner: 'fay') slowDeposit: 12] forkAt: 30 named: 'depositor'");
    expect(await run("run 200")).toMatch(/^the image is idle: no process wants to run|^ran 200 ms/);
    const list = await run("processes");
    expect(list).toMatch(/^\s+#\s+process\s+pri\s+state\s+where\n/);
    const line = list.split("\n").find((l) => l.includes("depositor"))!;
    expect(line).toMatch(/^\s+(\d+)\s+depositor\s+30\s+waiting\s+Account>>waitHere$/);
    const n = /^\s+(\d+)/.exec(line)![1];
    const proc = await run(`process ${n}`);
    expect(proc).toMatch(/^process 'depositor' {3}priority 30 {3}waiting\n {2}stack, top first \('frame N' inspects one\):\n {4}1 {2}Account>>waitHere {2}\(line 2\)\n {4}2 {2}Account>>slowDeposit: {2}\(line 4\)\n/);
    expect(await inspector.prompt()).toBe(`oz:process ${n}> `);
    const frame = await run("frame 2");
    expect(frame).toMatch(/^frame 2 of process 'depositor': Account>>slowDeposit: \(line 4\)\n {2}receiver {2}an Account\n {2}arguments\n {4}amount {4}12\n {2}temporaries\n {4}before {4}0\n/);
    expect(frame).toMatch(/ {2}source of Account>>slowDeposit: \(=> the current line\):\n {5}1 {2}slowDeposit: amount\n(.*\n)* {2}=> 4 {6}self waitHere\.\n/);
    expect(await inspector.prompt()).toBe("oz:frame 2> ");
    expect(await run("eval balance")).toBe("0\n");
    // the frame's temporaries can be read in expressions
    expect(await run("eval amount * 2 + before")).toBe("24\n");
    expect(await run("eval | x | x := amount. x + 1")).toBe("13\n");
    expect(await run("eval #amount")).toBe("#amount\n");
    expect(await run("go amount")).toMatch(/^12\n/);
    await run("back");
    expect(await run("set before 30")).toBe("before := 30\n");
    expect(await run("eval before")).toBe("30\n");
    expect(await run("go receiver")).toMatch(/^an Account\n/);
    await run("back");
    expect(await run("go sender")).toMatch(/^frame 3 of process 'depositor': \[\] in UndefinedObject>>DoIt/);
    await run("back");
    expect(await run("go nothing")).toMatch(/^no field 'nothing' in this frame: receiver, method, sender, amount, before/);
    expect(await run("stack")).toMatch(/^process 'depositor' {3}waiting\n {2}stack, top first/);
    expect(await run("stack 1")).toMatch(/ {4}1 {2}Account>>waitHere {2}\(line 2\)\n {4}\.\.\. more frames: 'stack 4'\n$/);
    // return from the wait: the method goes on with before = 30
    expect(await run("frame 1")).toMatch(/^frame 1 of process 'depositor': Account>>waitHere/);
    const returned = await run("return nil");
    // (still on the semaphore's list: suspending takes it off)
    expect(returned).toMatch(/^Account>>waitHere returned nil to its sender\nprocess 'depositor' {3}priority 30 {3}waiting\n {2}stack, top first \('frame N' inspects one\):\n {4}1 {2}Account>>slowDeposit:/);
    expect(await run("suspend")).toBe("process 'depositor': suspended\n");
    expect(await run("resume")).toMatch(/^process 'depositor': (runnable|running)\n\('run' lets the image run\)\n$/);
    await run("run 200");
    expect(await run("eval (Account allInstances detect: [:a | (a instVarNamed: 'owner') = 'fay']) balance")).toBe("42\n");
    expect(await run("terminate")).toBe("process 'depositor': terminated\n");
    expect(await run("resume")).toBe("process 'depositor' has terminated: it cannot go on\n");
    expect(await run("restart")).toMatch(/^not a frame/);
    expect(await run("guest")).toMatch(/^this is a local image, not a daemon's guest/);
    expect(await run("transcript")).toMatch(/^this is a local image/);
    expect(await run("process 999")).toMatch(/^process 999: the list has \d+/);
  });

  it("restarts a frame after fixing its method", async () => {
    const s = await openSession();
    await fileIn(s, SHOP_ST, { fileName: "shop.st" });
    const p = await s.createProcess(40, "Smalltalk at: #Result put: Shop new average");
    const outcome = await s.runUntilFinished(p, { ms: 5000 });
    expect(outcome.state).toBe("failed");
    const { inspector, io, run } = await make(s);
    await inspector.inspect(p, "process", { process: p });
    const stack = await run("stack");
    const n = /(\d+) {2}Shop>>average/.exec(stack)![1];
    expect(await run(`frame ${n}`)).toMatch(/=> 5 {6}\^ sum \/ self count/);
    io.input = ["count", "\t^ self items size", "!"];
    expect(await run("edit count")).toMatch(/compiled Shop>>count \(accessing\)/);
    expect(await run("restart")).toMatch(/^restarted Shop>>average: it runs again from its first instruction/);
    expect(await run("stack")).toMatch(/stack, top first \('frame N' inspects one\):\n {4}1 {2}Shop>>average/);
    expect(await run("resume")).toMatch(/^process 'a Process|^process '.*': (runnable|running)/);
    await run("run 300");
    expect(await run("eval Smalltalk at: #Result")).toBe("4\n");
  });

  it("help lists every command; quit ends", async () => {
    const { inspector, run } = await make(space);
    await inspector.attach();
    expect(await run("help")).toMatch(/^ {2}show {2,}show the inspected object again/);
    for (const c of ["fields", "go", "back", "eval", "set", "class", "methods", "source", "edit", "processes", "stack", "frame", "suspend", "resume", "terminate", "restart", "return", "quit"]) {
      expect(await run("help"), c).toMatch(new RegExp(`^ {2}(.*[ ,])?${c}\\b`, "m"));
    }
    expect(await run("help edit")).toMatch(/^ {2}edit \[SEL\] {2}recompile method SEL/);
    expect(await run("help nothing")).toBe("no command 'nothing' ('help' lists them)\n");
    expect(inspector.finished).toBe(false);
    await run("quit");
    expect(inspector.finished).toBe(true);
  });
});

describe("the inspector on a daemon's guest (a remote object space)", () => {
  let d: TestDaemon;
  let client: OzClient;
  beforeAll(async () => {
    d = await startDaemon();
    client = await connect(d.ws, d.token);
  });
  afterAll(async () => {
    await client?.close();
    await d?.stop();
  });

  it("attaches to a crashed guest, finds the failing frame, fixes the method, restarts the frame and resumes the guest", async () => {
    await client.hypervisor.define("shop", { config: { startup: SHOP_STARTUP } });
    const filed = await fileIn(client.space("shop"), SHOP_ST, { fileName: "shop.st" });
    expect(filed.ok).toBe(true);
    await client.hypervisor.start("shop");
    await waitFor(async () => (await client.hypervisor.info("shop")).state === "crashed", "the guest to crash");
    const { inspector, io, run } = await make(client.space("shop"), { guest: "shop", hypervisor: client.hypervisor });
    io.output = "";
    await inspector.attach();
    expect(io.output).toMatch(/^guest shop: crashed \(unhandledError\)\ncrash: unhandledError: ZeroDivide\n {4}SmallInteger\(Integer\)>>\/ \(line 4\)\n(.*\n)* {4}Shop>>average \(line 5\)\n/);
    expect(io.output).toMatch(/inspecting the failing process/);
    expect(io.output).toMatch(/process 'ozd startup' {3}priority 40 {3}failed\n {2}failed with ZeroDivide\n/);
    expect(await inspector.prompt()).toBe("shop:process> ");
    const n = /(\d+) {2}Shop>>average/.exec(io.output)![1];
    const frame = await run(`frame ${n}`);
    expect(frame).toMatch(/receiver {2}a Shop\n {2}arguments {2}\(none\)\n {2}temporaries\n {4}sum {7}12\n/);
    expect(frame).toMatch(/=> 5 {6}\^ sum \/ self count/);
    expect(await run("eval self count")).toBe("0\n");
    io.input = ["count", "\t^ self items size", "!"];
    expect(await run("edit count")).toMatch(/compiled Shop>>count \(accessing\); the change is in the image's changes file/);
    expect(fs.readFileSync(path.join(d.dir, "guests", "shop", "shop.changes"), "utf8")).toMatch(/count\n\t\^ self items size/);
    expect(await run("restart")).toMatch(/^restarted Shop>>average/);
    expect(await run("guest")).toMatch(/^guest shop: crashed \(unhandledError\)/);
    expect(await run("resume")).toBe("resumed guest shop: running (unpaused); process 'ozd startup' goes on\n");
    await waitFor(async () => (await client.hypervisor.transcript("shop")).includes("average: 4"), "the repaired guest to print");
    expect(await run("transcript")).toBe("average: 4\n");
    expect((await client.hypervisor.info("shop")).state).toBe("running");
    expect(await run("guest suspend")).toBe("guest shop: paused (user)\n");
    expect(await run("guest resume")).toBe("guest shop: running (unpaused)\n");
    expect(await run("guest frobnicate")).toMatch(/^guest \[VERB\]/);
    expect(await run("run")).toMatch(/^the daemon runs this guest/);
  });

  it("returns a value from a failing frame instead", async () => {
    await client.hypervisor.define("shop2", { config: { startup: SHOP_STARTUP } });
    await fileIn(client.space("shop2"), SHOP_ST, { fileName: "shop.st" });
    await client.hypervisor.start("shop2");
    await waitFor(async () => (await client.hypervisor.info("shop2")).state === "crashed", "the guest to crash");
    const { inspector, io, run } = await make(client.space("shop2"), { guest: "shop2", hypervisor: client.hypervisor });
    await inspector.attach();
    const n = /(\d+) {2}Shop>>average/.exec(io.output)![1];
    await run(`frame ${n}`);
    expect(await run("return sum / 3")).toMatch(/^Shop>>average returned 4 to its sender\nprocess 'ozd startup'/);
    expect(await run("resume")).toMatch(/^resumed guest shop2: running/);
    await waitFor(async () => (await client.hypervisor.transcript("shop2")).includes("average: 4"), "the guest to print");
  });

  it("starts on Smalltalk when the guest is not crashed, and on an expression", async () => {
    await client.hypervisor.define("plain");
    const { inspector, io, run } = await make(client.space("plain"), { guest: "plain", hypervisor: client.hypervisor });
    await inspector.attach();
    expect(io.output).toMatch(/^guest plain: shutoff \(defined\)\nSmalltalk\n {2}class SystemDictionary/);
    expect(await inspector.inspectExpression("3 @ 4")).toBe(true);
    expect(await run("go x")).toMatch(/^3\n/);
    expect(await inspector.inspectExpression("1/0")).toBe(false);
    expect(await run("processes")).toMatch(/idle process/);
  });
});

describe("the inspector when the daemon goes away", () => {
  it("says the connection is lost and ends", async () => {
    const d = await startDaemon([{ name: "short", autostart: true }]);
    const client = await connect(d.grpc, d.token);
    try {
      const { inspector, run } = await make(client.space("short"), { guest: "short", hypervisor: client.hypervisor });
      await inspector.inspectExpression("3 @ 4");
      await d.stop();
      expect(await run("eval self x")).toMatch(/^the connection to the daemon is lost \(.*\): leaving\n$/);
      expect(inspector.finished).toBe(true);
      expect(inspector.lost?.name).toBe("RemoteError");
    } finally {
      await client.close();
      await d.stop();
    }
  });
});
