/**
 * Filing in chunk-format Smalltalk (design.md section 7), written against the ObjectSpace interface so
 * it works on a local image and on a remote guest alike:
 *
 *   - `!Foo methodsFor: 'x'!` and `!Foo class methodsFor: 'x'!` sections compile their methods into Foo or
 *     its metaclass (compile errors stop the file-in with FILE:LINE:COL, the line and a caret);
 *   - every other chunk is a doit, evaluated in the image: class definitions
 *     (`Object subclass: #Foo ...`, `Foo class instanceVariableNames: '...'`) are messages the image's own
 *     class builder answers; a doit may start with temporaries;
 *   - an error nobody handles stops the file-in and is reported with the Smalltalk stack.
 */
import type { ContextMirror, ObjectMirror, ObjectSpace, StackFrame } from "../membrane/objectSpace.js";
import { MembraneError } from "../membrane/objectSpace.js";
import { readChunks } from "../vm/compiler/index.js";

export type FileInOutcome =
  | { ok: true; doits: number; methods: number; doitLines: DoitLines }
  | { ok: false; kind: "compileError"; message: string }
  | { ok: false; kind: "error"; errorClass: string; messageText: string; stack: StackFrame[]; where: string }
  | { ok: false; kind: "stopped"; message: string };

export interface FileInOptions {
  fileName: string;
  /** stop each doit after this many milliseconds (default: no limit) */
  doitBudgetMs?: number;
}

/** The first line in the file of each doit, by its source: to give file lines to DoIt frames found later. */
export type DoitLines = Map<string, number>;

/** Adjusts DoIt frames (whose lines count from the doit's first line) to lines of the file. */
function fileLines(stack: StackFrame[], doitLine: number): StackFrame[] {
  return stack.map((f) =>
    f.description.endsWith(">>DoIt") && f.line !== undefined ? { ...f, line: f.line + doitLine - 1 } : f,
  );
}

export async function fileIn(space: ObjectSpace, text: string, options: FileInOptions): Promise<FileInOutcome> {
  let items;
  try {
    items = readChunks(text);
  } catch (e) {
    return { ok: false, kind: "compileError", message: `${options.fileName}: ${e instanceof Error ? e.message : String(e)}` };
  }
  let doits = 0;
  let methods = 0;
  const doitLines: DoitLines = new Map();
  for (const item of items) {
    if (item.kind === "comment") continue;
    if (item.kind === "methods") {
      const cls = await space.classNamed(item.classSide ? `${item.className} class` : item.className);
      if (!cls) {
        return {
          ok: false, kind: "compileError",
          message: `${options.fileName}:${item.line}:${item.column}: methods for ${item.className}${item.classSide ? " class" : ""}, which is not defined`,
        };
      }
      for (const m of item.methods) {
        try {
          const method = await cls.compile(m.source, {
            category: item.category,
            origin: { fileName: options.fileName, line: m.line, column: m.column, offset: m.offset },
          });
          method.release();
          methods++;
        } catch (e) {
          if (e instanceof MembraneError && e.code === "compileError") return { ok: false, kind: "compileError", message: e.message };
          throw e;
        }
      }
      cls.release();
      continue;
    }
    if (!doitLines.has(item.source)) doitLines.set(item.source, item.line);
    let result;
    try {
      result = await space.evaluate(item.source, {
        origin: { fileName: options.fileName, line: item.line, column: item.column, offset: item.offset },
        budget: options.doitBudgetMs !== undefined ? { ms: options.doitBudgetMs } : undefined,
      });
    } catch (e) {
      if (e instanceof MembraneError && e.code === "compileError") return { ok: false, kind: "compileError", message: e.message };
      throw e;
    }
    doits++;
    if (!result.ok) {
      if (result.stack.length === 0 && ["budgetExhausted", "idle", "interrupted"].includes(result.errorClass)) {
        return { ok: false, kind: "stopped", message: `${options.fileName}:${item.line}: ${result.messageText}` };
      }
      return {
        ok: false, kind: "error", errorClass: result.errorClass, messageText: result.messageText,
        stack: fileLines(result.stack, item.line), where: `${options.fileName}:${item.line}`,
      };
    }
    result.value.release();
  }
  return { ok: true, doits, methods, doitLines };
}

/** The error report of `oz run`: class and message, then one line per frame. */
export function formatFailure(outcome: Exclude<FileInOutcome, { ok: true }>): string {
  switch (outcome.kind) {
    case "compileError":
    case "stopped":
      return outcome.message;
    case "error": {
      const head = outcome.messageText ? `${outcome.errorClass}: ${outcome.messageText}` : outcome.errorClass;
      const frames = outcome.stack.map((f) => `  ${f.description}${f.line !== undefined ? ` (line ${f.line})` : ""}`);
      return [head, ...frames].join("\n");
    }
  }
}

/**
 * After a file-in, lets the image's own processes finish what the file started (forked processes,
 * Delays), as a script in Pharo would: runs slices until no process wants to run and no timer is
 * pending. An unhandled error in one of those processes is reported like a doit's.
 */
export async function runUntilQuiet(space: ObjectSpace, fileName: string, doitLines: DoitLines = new Map()): Promise<FileInOutcome | undefined> {
  for (;;) {
    const slice = await space.transferControl({ ms: 50 });
    if (slice.reason === "quit") return undefined;
    if (slice.reason === "fault") {
      const failures = (await space.processes()).filter(() => true);
      for (const p of failures) {
        if ((await p.state()) !== "failed") continue;
        const error = await p.failure();
        const errorClass = error ? await (await error.getClass()).name() : "Error";
        // reported as a doit's error is: the exception's own messageText, and the stack from the frame
        // that signalled it (Exception>>signalerContext), without the exception machinery above it
        const messageText = (error && (await askString(space, error, "self messageText"))) ?? slice.fault?.message ?? "";
        const signaler = error ? await askContext(space, error, "self signalerContext") : undefined;
        const stack = signaler ? await framesFrom(signaler, 100, doitLines) : await framesOf(await p.stack(100), doitLines);
        return { ok: false, kind: "error", errorClass, messageText, stack, where: fileName };
      }
      return { ok: false, kind: "stopped", message: `${fileName}: the image stopped: ${slice.fault?.message ?? "a fault"}` };
    }
    if (slice.reason === "idle") {
      if (slice.nextTimerMs === undefined) return undefined;
      await new Promise((resolve) => setTimeout(resolve, Math.min(slice.nextTimerMs!, 1000)));
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** The frames of `contexts`; a DoIt frame of one of the file's doits gets its line in the file. */
async function framesOf(contexts: ContextMirror[], doitLines: DoitLines): Promise<StackFrame[]> {
  const out: StackFrame[] = [];
  for (const c of contexts) {
    const frame: StackFrame = { description: await c.description(), line: await c.line() };
    const source = frame.description.endsWith(">>DoIt") ? await (await c.method()).source() : undefined;
    const doitLine = source === undefined ? undefined : doitLines.get(source);
    out.push(doitLine === undefined ? frame : fileLines([frame], doitLine)[0]);
  }
  return out;
}

async function framesFrom(top: ContextMirror, limit: number, doitLines: DoitLines): Promise<StackFrame[]> {
  const contexts: ContextMirror[] = [];
  for (let c: ContextMirror | undefined = top; c && contexts.length < limit; c = await c.sender()) contexts.push(c);
  return framesOf(contexts, doitLines);
}

/** `expression` evaluated with `receiver` as self, when it answers a String (else undefined) */
async function askString(space: ObjectSpace, receiver: ObjectMirror, expression: string): Promise<string | undefined> {
  try {
    const r = await space.evaluate(expression, { receiver, budget: { ms: 1000 } });
    if (!r.ok) return undefined;
    const value = await space.toLocal(r.value);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `expression` evaluated with `receiver` as self, when it answers a Context (else undefined) */
async function askContext(space: ObjectSpace, receiver: ObjectMirror, expression: string): Promise<ContextMirror | undefined> {
  try {
    const r = await space.evaluate(expression, { receiver, budget: { ms: 1000 } });
    return r.ok && r.value.kind === "context" ? await r.value.asContext() : undefined;
  } catch {
    return undefined;
  }
}
