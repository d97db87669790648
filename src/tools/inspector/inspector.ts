/**
 * The inspector: a line-oriented tool to look at and repair a Smalltalk image, written only against the
 * ObjectSpace interface (src/membrane/objectSpace.ts), so that it is the same program on a local image
 * and on a daemon's guest (a RemoteObjectSpace). The control plane (`InspectorHypervisor`) is optional:
 * with it the inspector also sees and drives the guest's state (resuming a crashed guest after surgery).
 *
 * It holds a trail of inspected objects (`go` moves into a field, `back` returns). What is shown depends
 * on the object: any object shows its class, printString and fields (indexed fields a page at a time); a
 * class shows its superclass chain, instance variables and methods; a process its state and stack; a
 * frame (a context) its method, receiver, arguments, temporaries and source with the current line.
 *
 * `execute(line)` runs one command and writes to `io.out`; terminal.ts runs it in a terminal.
 */
import type {
  ClassMirror, ContextMirror, EvaluationResult, MethodMirror, ObjectMirror, ObjectSpace, ProcessMirror,
} from "../../membrane/objectSpace.js";
import { MembraneError } from "../../membrane/objectSpace.js";
import type { GuestInfo } from "../../hypervisor/types.js";
import { HypervisorError } from "../../hypervisor/types.js";

/** The part of the hypervisor API the inspector uses (the local HypervisorApi and the remote one fit). */
export interface InspectorHypervisor {
  info(name: string): GuestInfo | Promise<GuestInfo>;
  start(name: string): Promise<GuestInfo>;
  stop(name: string): Promise<GuestInfo>;
  suspend(name: string): Promise<GuestInfo>;
  resume(name: string): Promise<GuestInfo>;
  interrupt(name: string): Promise<GuestInfo>;
  snapshot(name: string): Promise<string>;
  transcript(name: string, maxBytes?: number): string | Promise<string>;
}

export interface InspectorIO {
  out(text: string): void;
  /** one line of input (the source of `edit` without an editor); undefined at the end of the input */
  readLine(prompt: string): Promise<string | undefined>;
  /**
   * Edits a text in the user's editor ($VISUAL, $EDITOR); answers the new text, or undefined when there
   * is no editor (the source is then read from the terminal up to a line '!').
   */
  editText?(text: string, name: string): Promise<string | undefined>;
}

export interface InspectorOptions {
  /** the guest's name, for the prompt and the hypervisor */
  guest?: string;
  hypervisor?: InspectorHypervisor;
  /** indexed fields per page (default 20) */
  pageSize?: number;
  /** CPU budget of each evaluation, ms (default 10000) */
  budgetMs?: number;
  /** frames shown by `stack` (default 40) */
  stackDepth?: number;
}

interface Focus {
  mirror: ObjectMirror;
  /** how it was reached: "self", "x", "[3]", "frame 13", "process 2" */
  label: string;
  /** 0-based offset of the page of indexed fields shown */
  page: number;
  /** for a process: itself; for a frame: the process whose stack it is on (when known) */
  process?: ProcessMirror;
  /** for a frame: its position on that stack (1: top) */
  frameIndex?: number;
}

/** An error the user made (bad command, no such field): printed as it is. */
class InspectorError extends Error {}

const HELP: Array<[string, string]> = [
  ["show", "show the inspected object again (a class, a process, a frame: as such)"],
  ["fields [N]", "its class, printString, named fields and a page of indexed fields (from index N)"],
  ["next, prev", "the next / previous page of indexed fields"],
  ["go FIELD", "inspect a field: a named field, an index (a number), or in a frame: receiver, method, sender or a temporary"],
  ["back", "back to the previously inspected object"],
  ["eval EXPR", "evaluate EXPR and print the result; self is the inspected object (in a frame: its receiver, and its temporaries can be read)"],
  ["inspect EXPR", "evaluate EXPR (self as for eval) and inspect the result"],
  ["set FIELD EXPR", "set a field (in a frame: a temporary) to EXPR's value"],
  ["class [NAME]", "browse the inspected object's class (in a frame: its method's class), or the class NAME"],
  ["methods", "the selectors of the class being browsed"],
  ["source SEL", "the source of method SEL (looked up from the class being browsed)"],
  ["edit [SEL]", "recompile method SEL ($EDITOR, or type the source and end with a line '!'); in a frame, without SEL: its method. Logged to the image's changes file"],
  ["processes", "the image's processes (* marks the active one)"],
  ["process N", "inspect process N of the last list"],
  ["stack [N]", "the inspected process's stack (N frames, default 40)"],
  ["frame N", "inspect frame N of the process's stack (1 is the top)"],
  ["suspend, resume, terminate", "the inspected process (resume on the failing process of a crashed guest resumes the guest)"],
  ["restart", "restart the inspected frame (the frames above it are discarded)"],
  ["return EXPR", "return EXPR's value from the inspected frame to its sender (EXPR as for eval in the frame)"],
  ["guest [VERB]", "the guest's state, or VERB it: start, stop, suspend, resume, interrupt, snapshot (daemon guests)"],
  ["transcript [N]", "the guest's last Transcript output (N bytes, default 2000; daemon guests)"],
  ["run [MS]", "let a local image run for MS milliseconds (default 1000)"],
  ["help [COMMAND]", "this list"],
  ["quit", "leave (also: q, exit, Ctrl-D)"],
];

function clip(text: string, max: number): string {
  const oneLine = text.replace(/\r?\n/g, " ");
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function columns(items: string[], width = 96): string {
  const lines: string[] = [];
  let line = "   ";
  for (const item of items) {
    if (line.length + item.length + 2 > width && line.trim()) {
      lines.push(line.trimEnd());
      line = "   ";
    }
    line += ` ${item} `;
  }
  if (line.trim()) lines.push(line.trimEnd());
  return lines.join("\n");
}

const VECTOR = /^<vector: (.*)>$/;

/** The global through which a frame's temporaries reach an evaluation in that frame (removed after it). */
const TEMPS_GLOBAL = "OzInspectorFrameTemps";

export class Inspector {
  private readonly trail: Focus[] = [];
  private processList: ProcessMirror[] = [];
  private readonly pageSize: number;
  private readonly budgetMs: number;
  private readonly stackDepth: number;
  /** sources that failed to compile, by class and selector, to start the next edit from */
  private readonly failedEdits = new Map<string, string>();
  private done = false;
  /** the connection to the daemon was lost (the inspector then ends) */
  lost: Error | undefined;

  constructor(
    readonly space: ObjectSpace,
    private readonly io: InspectorIO,
    private readonly options: InspectorOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 20;
    this.budgetMs = options.budgetMs ?? 10_000;
    this.stackDepth = options.stackDepth ?? 40;
  }

  get finished(): boolean {
    return this.done;
  }

  private out(text: string): void {
    this.io.out(text.endsWith("\n") ? text : `${text}\n`);
  }

  private get focus(): Focus {
    const f = this.trail[this.trail.length - 1];
    if (!f) throw new InspectorError("nothing is inspected");
    return f;
  }

  /** The prompt: the guest and what is inspected. */
  async prompt(): Promise<string> {
    const where = this.options.guest ?? "oz";
    const f = this.trail[this.trail.length - 1];
    if (!f) return `${where}> `;
    let label: string;
    if (f.mirror.kind === "context") label = f.frameIndex ? `frame ${f.frameIndex}` : "frame";
    else if (f.mirror.kind === "process") label = f.label.startsWith("process") ? f.label : "process";
    else label = await this.shortName(f.mirror);
    return `${where}:${clip(label, 28)}> `;
  }

  private async shortName(m: ObjectMirror): Promise<string> {
    try {
      if (m.kind === "class" || m.kind === "metaclass") return await (await m.asClass()).name();
      const d = await m.describe(0, 0);
      return d.printString;
    } catch {
      return "?";
    }
  }

  // ------------------------------------------------------------------ starting points

  /** Inspects a mirror (the start, or after `inspect EXPR`) and shows it. */
  async inspect(mirror: ObjectMirror, label = "self", extra: Partial<Focus> = {}): Promise<void> {
    const focus: Focus = { mirror, label, page: 0, ...extra };
    if (mirror.kind === "process" && !focus.process) focus.process = await mirror.asProcess();
    this.trail.push(focus);
    await this.show();
  }

  /** Evaluates the start expression and inspects its value; answers false (and says why) when it fails. */
  async inspectExpression(source: string): Promise<boolean> {
    const r = await this.evaluate(source, undefined);
    if (!r.ok) {
      this.printFailure(r);
      return false;
    }
    await this.inspect(r.value, "self");
    return true;
  }

  /**
   * The start on a guest without an expression: a crashed guest's failing process (with what happened),
   * otherwise Smalltalk.
   */
  async attach(): Promise<void> {
    const { hypervisor, guest } = this.options;
    if (hypervisor && guest) {
      const info = await hypervisor.info(guest);
      this.out(`guest ${guest}: ${info.state} (${info.reason})`);
      if (info.crash) {
        this.out(`crash: ${info.crash.kind}: ${info.crash.message}`);
        for (const line of info.crash.stack ?? []) this.out(`    ${line}`);
        const failing = await this.failingProcess(info.crash.stack?.[0]);
        if (failing) {
          this.out("inspecting the failing process ('stack' lists its frames, 'frame N' inspects one, 'help' lists the commands)");
          await this.inspect(failing, "process");
          return;
        }
      }
    }
    const smalltalk = await this.space.globalNamed("Smalltalk");
    await this.inspect(smalltalk ?? (await this.space.nilObject()), "Smalltalk");
  }

  /**
   * The process that crashed the guest: a failed process (the image contract's failed-process list),
   * the one whose stack has the crash's first frame when there are several; else the active process
   * when it is still the failing one (host evaluations in a crashed guest may have run since).
   */
  private async failingProcess(firstFrame: string | undefined): Promise<ProcessMirror | undefined> {
    const failed: ProcessMirror[] = [];
    for (const p of await this.space.processes()) {
      if ((await p.state()) === "failed") failed.push(p);
      else p.release();
    }
    const wanted = firstFrame?.replace(/\s*\(line \d+\)$/, "");
    let chosen = failed[0];
    if (failed.length > 1 && wanted) {
      for (const p of failed) {
        const frames = await p.stack(200);
        const found = (await Promise.all(frames.map((f) => f.description()))).includes(wanted);
        for (const f of frames) f.release();
        if (found) {
          chosen = p;
          break;
        }
      }
    }
    for (const p of failed) if (p !== chosen) p.release();
    if (chosen) return chosen;
    const active = await (await this.space.scheduler()).activeProcess();
    if (active && ["failed", "running"].includes(await active.state())) return active;
    active?.release();
    return undefined;
  }

  // ------------------------------------------------------------------ commands

  /** Runs one command line; errors are printed, never thrown. */
  async execute(line: string): Promise<void> {
    const text = line.trim();
    if (!text || text.startsWith('"')) return;
    const space = text.search(/\s/);
    const word = (space < 0 ? text : text.slice(0, space)).toLowerCase();
    const rest = space < 0 ? "" : text.slice(space + 1).trim();
    try {
      await this.dispatch(word, rest);
    } catch (e) {
      this.printError(e);
    }
  }

  private printError(e: unknown): void {
    if (e instanceof InspectorError) this.out(e.message);
    else if (e instanceof MembraneError || e instanceof HypervisorError) this.out(`error: ${e.message}`);
    else if (e instanceof Error && e.name === "RemoteError") {
      const code = (e as Error & { code?: string }).code;
      if (code === "unavailable" || code === "cancelled") {
        // the daemon is gone: nothing more can be done here
        this.lost = e;
        this.done = true;
        this.out(`the connection to the daemon is lost (${e.message}): leaving`);
      } else {
        this.out(`error: ${e.message} (${code ?? "remote"})`);
      }
    }
    else this.out(`internal error (please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }

  private async dispatch(word: string, rest: string): Promise<void> {
    switch (word) {
      case "help":
      case "?":
        return this.help(rest);
      case "quit":
      case "q":
      case "exit":
        this.done = true;
        return;
      case "show":
      case "self":
        this.noArgs(word, rest);
        return this.show();
      case "fields":
        return this.fields(rest);
      case "next":
        this.noArgs(word, rest);
        return this.turnPage(1);
      case "prev":
      case "previous":
        this.noArgs(word, rest);
        return this.turnPage(-1);
      case "go":
        return this.go(rest);
      case "back":
      case "b":
        this.noArgs(word, rest);
        return this.back();
      case "eval":
      case "print":
      case "p":
        return this.evalCommand(rest);
      case "inspect":
      case "i":
        return this.inspectCommand(rest);
      case "set":
        return this.set(rest);
      case "class":
        return this.classCommand(rest);
      case "methods":
        this.noArgs(word, rest);
        return this.methods();
      case "source":
        return this.source(rest);
      case "edit":
        return this.edit(rest);
      case "processes":
      case "ps":
        this.noArgs(word, rest);
        return this.processes();
      case "process":
        return this.process(rest);
      case "stack":
      case "where":
        return this.stack(rest);
      case "frame":
        return this.frame(rest);
      case "suspend":
      case "resume":
      case "terminate":
        this.noArgs(word, rest);
        return this.processControl(word);
      case "restart":
        this.noArgs(word, rest);
        return this.restart();
      case "return":
        return this.returnFrom(rest);
      case "guest":
        return this.guestCommand(rest);
      case "transcript":
        return this.transcript(rest);
      case "run":
        return this.run(rest);
      default:
        throw new InspectorError(`unknown command '${word}' ('help' lists the commands)`);
    }
  }

  private noArgs(word: string, rest: string): void {
    if (rest) throw new InspectorError(`'${word}' takes no argument`);
  }

  private help(topic: string): void {
    const entries = topic ? HELP.filter(([cmd]) => cmd.split(/[ ,]+/).includes(topic.toLowerCase())) : HELP;
    if (entries.length === 0) throw new InspectorError(`no command '${topic}' ('help' lists them)`);
    const width = Math.max(...entries.map(([c]) => c.length));
    this.out(entries.map(([c, d]) => `  ${c.padEnd(width)}  ${d}`).join("\n"));
  }

  // ------------------------------------------------------------------ showing

  async show(): Promise<void> {
    const f = this.focus;
    switch (f.mirror.kind) {
      case "context":
        return this.showFrame(f);
      case "process":
        return this.showProcess(f);
      case "class":
      case "metaclass":
        return this.showClass(await f.mirror.asClass());
      default:
        return this.showObject(f);
    }
  }

  private async showObject(f: Focus): Promise<void> {
    const d = await f.mirror.describe(f.page, this.pageSize);
    const lines = [clip(d.printString, 240), `  class ${d.className}   format ${d.format}   hash ${d.identityHash}`];
    if (d.namedFields.length > 0) {
      const width = Math.max(...d.namedFields.map((n) => n.name.length));
      lines.push("  named fields:");
      for (const n of d.namedFields) lines.push(`    ${n.name.padEnd(width)}  ${clip(n.value, 100)}`);
    }
    if (d.variableSize > 0) lines.push(...this.indexedLines(d.variableSize, f.page, d.indexedFields));
    if (d.namedFields.length === 0 && d.variableSize === 0) lines.push("  no fields");
    this.out(lines.join("\n"));
  }

  private indexedLines(size: number, page: number, fields: Array<{ index: number; value: string }>): string[] {
    if (fields.length === 0) return [`  indexed fields: ${size} (none from ${page + 1}; 'fields 1' shows the first page)`];
    const first = fields[0].index;
    const last = fields[fields.length - 1].index;
    const more = last < size ? " ('next' for more)" : "";
    const lines = [`  indexed fields ${first}-${last} of ${size}${more}:`];
    const width = String(last).length + 2;
    for (const i of fields) lines.push(`    ${`[${i.index}]`.padEnd(width)}  ${clip(i.value, 100)}`);
    return lines;
  }

  private async fields(rest: string): Promise<void> {
    const f = this.focus;
    if (rest) {
      const from = Number(rest);
      if (!Number.isInteger(from) || from < 1) throw new InspectorError("fields N: N is the first index to show (1, 2, ...)");
      f.page = from - 1;
    }
    // raw fields, whatever the object is (a class's, a process's, a context's own slots too)
    await this.showObject(f);
  }

  private async turnPage(direction: number): Promise<void> {
    const f = this.focus;
    const size = await f.mirror.variableSize();
    if (size === 0) throw new InspectorError("this object has no indexed fields");
    const page = f.page + direction * this.pageSize;
    if (page >= size) throw new InspectorError("this is the last page");
    if (page < 0 && f.page === 0) throw new InspectorError("this is the first page");
    f.page = Math.max(0, page);
    await this.showObject(f);
  }

  private async showClass(cls: ClassMirror): Promise<void> {
    const name = await cls.name();
    const chain: string[] = [];
    for (let s = await cls.superclass(); s && chain.length < 50; s = await s.superclass()) chain.push(await s.name());
    const own = await cls.instVarNames();
    const all = await cls.allInstVarNames();
    const inherited = all.slice(0, all.length - own.length);
    const selectors = (await cls.selectors()).sort();
    let category = "";
    try {
      category = await cls.category();
    } catch {
      // a classless class or a metaclass may have none
    }
    let classVariables: string[] = [];
    try {
      classVariables = await (await cls.classPool()).names();
    } catch {
      // no class pool
    }
    const lines = [
      `class ${name}${category ? `   category ${category}` : ""}`,
      `  superclasses        ${chain.length ? chain.join(" > ") : "(none)"}`,
      `  instance variables  ${own.length ? own.join(" ") : "(none)"}${inherited.length ? `   inherited: ${inherited.join(" ")}` : ""}`,
    ];
    if (classVariables.length) lines.push(`  class variables     ${classVariables.join(" ")}`);
    lines.push(`  methods (${selectors.length})${selectors.length ? "" : " none"}`);
    if (selectors.length) lines.push(columns(selectors));
    lines.push("  ('source SEL' shows a method, 'edit SEL' changes one, 'fields' the class object's own fields)");
    this.out(lines.join("\n"));
  }

  private async showProcess(f: Focus): Promise<void> {
    const p = f.process ?? (await f.mirror.asProcess());
    const state = await p.state();
    const lines = [`process '${await p.name()}'   priority ${await p.priority()}   ${state}`];
    if (state === "failed") {
      const failure = await p.failure();
      if (failure) lines.push(`  failed with ${clip(await failure.printString(), 160)}`);
    }
    this.out(lines.join("\n"));
    if (state !== "terminated") await this.printStack(p, this.stackDepth);
  }

  private async printStack(p: ProcessMirror, depth: number): Promise<void> {
    const frames = await p.stack(depth + 1);
    if (frames.length === 0) {
      this.out("  (no frames)");
      return;
    }
    const lines = ["  stack, top first ('frame N' inspects one):"];
    const width = String(Math.min(frames.length, depth)).length;
    for (let i = 0; i < Math.min(frames.length, depth); i++) {
      const line = await frames[i].line();
      lines.push(`    ${String(i + 1).padStart(width)}  ${await frames[i].description()}${line !== undefined ? `  (line ${line})` : ""}`);
    }
    if (frames.length > depth) lines.push(`    ... more frames: 'stack ${depth * 4}'`);
    for (const fr of frames) if (!this.trail.some((t) => t.mirror === fr)) fr.release();
    this.out(lines.join("\n"));
  }

  /** A frame's temporaries by name, those of temp vectors (`<vector: a b>`) by their own names. */
  private async temporaries(ctx: ContextMirror): Promise<Array<{ name: string; value: () => Promise<ObjectMirror>; set: (v: ObjectMirror) => Promise<void> }>> {
    const names = await ctx.tempNames();
    const temps = [];
    for (const name of names) {
      const m = VECTOR.exec(name);
      if (!m) {
        temps.push({ name, value: () => ctx.tempNamed(name), set: (v: ObjectMirror) => ctx.tempNamedPut(name, v) });
        continue;
      }
      const inner = m[1].split(/\s+/).filter(Boolean);
      inner.forEach((innerName, i) => {
        temps.push({
          name: innerName,
          value: async () => {
            const vector = await ctx.tempNamed(name);
            if (await vector.isNilObject()) return vector;
            return vector.at(i + 1);
          },
          set: async (v: ObjectMirror) => (await ctx.tempNamed(name)).atPut(i + 1, v),
        });
      });
    }
    return temps;
  }

  private async showFrame(f: Focus): Promise<void> {
    const ctx = await f.mirror.asContext();
    const description = await ctx.description();
    if (await ctx.isDead()) {
      this.out(`${f.frameIndex ? `frame ${f.frameIndex}: ` : ""}${description}: it has returned (dead)`);
      return;
    }
    const line = await ctx.line();
    const method = await ctx.method();
    const numArgs = await method.numArgs();
    const temps = await this.temporaries(ctx);
    const processName = f.process ? ` of process '${await f.process.name()}'` : "";
    const lines = [`${f.frameIndex ? `frame ${f.frameIndex}` : "frame"}${processName}: ${description}${line !== undefined ? ` (line ${line})` : ""}`];
    lines.push(`  receiver  ${clip(await (await ctx.receiver()).printString(), 120)}`);
    const width = Math.max(8, ...temps.map((t) => t.name.length));
    const valueOf = async (t: (typeof temps)[number]) => {
      try {
        return clip(await (await t.value()).printString(), 120);
      } catch (e) {
        return e instanceof MembraneError && e.code === "notFound" ? "(not yet)" : `(${e instanceof Error ? e.message : String(e)})`;
      }
    };
    const args = temps.slice(0, numArgs);
    const others = temps.slice(numArgs);
    lines.push(args.length ? "  arguments" : "  arguments  (none)");
    for (const t of args) lines.push(`    ${t.name.padEnd(width)}  ${await valueOf(t)}`);
    lines.push(others.length ? "  temporaries" : "  temporaries  (none)");
    for (const t of others) lines.push(`    ${t.name.padEnd(width)}  ${await valueOf(t)}`);
    const source = await method.source();
    const cls = await method.methodClass();
    const where = cls ? `${await cls.name()}>>${await method.selector()}` : await method.selector();
    if (source === undefined) {
      lines.push(`  source of ${where}: not available`);
    } else {
      lines.push(`  source of ${where}${line !== undefined ? " (=> the current line)" : ""}:`);
      const srcLines = source.split(/\r\n|\r|\n/);
      const w = String(srcLines.length).length;
      srcLines.forEach((s, i) => lines.push(`  ${i + 1 === line ? "=>" : "  "} ${String(i + 1).padStart(w)}  ${s.replace(/\t/g, "    ")}`));
    }
    this.out(lines.join("\n"));
  }

  // ------------------------------------------------------------------ moving

  private async go(rest: string): Promise<void> {
    if (!rest) throw new InspectorError("go FIELD: a named field, an index, or in a frame: receiver, method, sender or a temporary");
    const f = this.focus;
    const target = await this.field(f, rest);
    const extra: Partial<Focus> = {};
    if (target.mirror.kind === "context" && f.mirror.kind === "context" && rest === "sender") {
      extra.process = f.process;
      if (f.frameIndex) extra.frameIndex = f.frameIndex + 1;
    }
    await this.inspect(target.mirror, target.label, extra);
  }

  /** A field of the inspected object, by name or index; with a setter. */
  private async field(f: Focus, spec: string): Promise<{ mirror: ObjectMirror; label: string }> {
    const m = f.mirror;
    if (m.kind === "context") {
      const ctx = await m.asContext();
      if (spec === "receiver") return { mirror: await ctx.receiver(), label: "receiver" };
      if (spec === "method") return { mirror: await ctx.method(), label: "method" };
      if (spec === "sender") {
        const sender = await ctx.sender();
        if (!sender) throw new InspectorError("this frame has no sender (it is the bottom of its stack)");
        return { mirror: sender, label: "sender" };
      }
      const temp = (await this.temporaries(ctx)).find((t) => t.name === spec);
      if (temp) return { mirror: await temp.value(), label: spec };
      if (!/^\d+$/.test(spec)) throw new InspectorError(`no field '${spec}' in this frame: receiver, method, sender${(await this.temporaries(ctx)).map((t) => `, ${t.name}`).join("")} (or a slot number)`);
    }
    if (/^\d+$/.test(spec)) {
      const index = Number(spec);
      const variable = await m.variableSize();
      if (variable > 0) {
        if (index < 1 || index > variable) throw new InspectorError(`index ${index} is out of range 1..${variable}`);
        return { mirror: await m.at(index), label: `[${index}]` };
      }
      const fixed = await m.fixedSize();
      if (index < 1 || index > fixed) throw new InspectorError(fixed === 0 ? "this object has no fields" : `field ${index} is out of range 1..${fixed}`);
      return { mirror: await m.instVarAt(index), label: `field ${index}` };
    }
    const d = await m.describe(0, 0);
    if (!d.namedFields.some((n) => n.name === spec)) {
      throw new InspectorError(
        d.namedFields.length
          ? `no field '${spec}': ${d.namedFields.map((n) => n.name).join(", ")}${d.variableSize ? ` or an index 1..${d.variableSize}` : ""}`
          : d.variableSize ? `no field '${spec}': give an index 1..${d.variableSize}` : `no field '${spec}': this object has no fields`,
      );
    }
    return { mirror: await m.instVarNamed(spec), label: spec };
  }

  private async back(): Promise<void> {
    if (this.trail.length <= 1) throw new InspectorError("this is the first object inspected");
    this.trail.pop();
    await this.show();
  }

  // ------------------------------------------------------------------ evaluating

  /** self: the inspected object; in a frame: its receiver. */
  private async selfFor(f: Focus | undefined): Promise<ObjectMirror | undefined> {
    if (!f) return undefined;
    if (f.mirror.kind === "context") return (await f.mirror.asContext()).receiver();
    return f.mirror;
  }

  private async evaluate(source: string, receiver: ObjectMirror | undefined): Promise<EvaluationResult> {
    return this.space.evaluate(source, { receiver, budget: { ms: this.budgetMs }, origin: { fileName: "<inspector>" } });
  }

  /**
   * Evaluates in the inspected object, or in a frame: self is its receiver and its temporaries can be
   * read by name (their values are handed over in a global, TEMPS_GLOBAL, removed afterwards; assigning
   * one in the expression changes a copy: 'set' changes the frame's).
   */
  private async evaluateHere(source: string, f: Focus | undefined = this.trail[this.trail.length - 1]): Promise<EvaluationResult> {
    const receiver = await this.selfFor(f);
    if (!f || f.mirror.kind !== "context") return this.evaluate(source, receiver);
    const ctx = await f.mirror.asContext();
    const declared = /^\s*\|([^|]*)\|/.exec(source);
    const own = declared ? declared[1].trim().split(/\s+/).filter(Boolean) : [];
    const body = declared ? source.slice(declared[0].length) : source;
    const used = (await this.temporaries(ctx)).filter(
      (t) => /^[a-zA-Z_]\w*$/.test(t.name) && !own.includes(t.name) && t.name !== "self" && new RegExp(`(^|[^\\w:#])${t.name}(?![\\w:])`).test(body),
    );
    if (used.length === 0) return this.evaluate(source, receiver);
    const made = await this.evaluate(`Array new: ${used.length}`, undefined);
    if (!made.ok) {
      made.error.release();
      return this.evaluate(source, receiver);
    }
    const values = made.value;
    for (const [i, t] of used.entries()) {
      let v: ObjectMirror;
      try {
        v = await t.value();
      } catch {
        v = await this.space.nilObject();
      }
      await values.atPut(i + 1, v);
    }
    await this.space.setGlobal(TEMPS_GLOBAL, values);
    const prelude = `| ${[...own, ...used.map((t) => t.name)].join(" ")} | ${used.map((t, i) => `${t.name} := (Smalltalk at: #${TEMPS_GLOBAL}) at: ${i + 1}.`).join(" ")}\n`;
    try {
      return await this.evaluate(prelude + body, receiver);
    } finally {
      values.release();
      const r = await this.space.evaluate(`Smalltalk removeKey: #${TEMPS_GLOBAL} ifAbsent: [nil]. nil`, { budget: { ms: 2000 } }).catch(() => undefined);
      if (r) (r.ok ? r.value : r.error).release();
    }
  }

  private printFailure(r: Extract<EvaluationResult, { ok: false }>): void {
    const lines = [`${r.errorClass}${r.messageText ? `: ${r.messageText}` : ""}`];
    for (const fr of r.stack.slice(0, 12)) lines.push(`    ${fr.description}${fr.line !== undefined ? ` (line ${fr.line})` : ""}`);
    if (r.stack.length > 12) lines.push(`    ... ${r.stack.length - 12} more frames`);
    this.out(lines.join("\n"));
  }

  private async evalCommand(source: string): Promise<void> {
    if (!source) throw new InspectorError("eval EXPR: an expression to evaluate (self is the inspected object)");
    const r = await this.evaluateHere(source);
    if (!r.ok) {
      this.printFailure(r);
      r.error.release();
      return;
    }
    this.out(clip(r.printString, 2000));
    r.value.release();
  }

  private async inspectCommand(source: string): Promise<void> {
    if (!source) throw new InspectorError("inspect EXPR: an expression whose value to inspect");
    const r = await this.evaluateHere(source);
    if (!r.ok) {
      this.printFailure(r);
      r.error.release();
      return;
    }
    await this.inspect(r.value, clip(source, 30));
  }

  /** Evaluates EXPR for a field (as 'eval' does); answers its value. */
  private async valueOf(source: string): Promise<ObjectMirror> {
    const r = await this.evaluateHere(source);
    if (!r.ok) {
      this.printFailure(r);
      r.error.release();
      throw new InspectorError("nothing was changed");
    }
    return r.value;
  }

  private async set(rest: string): Promise<void> {
    const m = /^(\S+)\s+(.+)$/s.exec(rest);
    if (!m) throw new InspectorError("set FIELD EXPR: a field (name or index; in a frame: a temporary) and an expression");
    const [, spec, source] = m;
    const f = this.focus;
    if (f.mirror.kind === "context") {
      const ctx = await f.mirror.asContext();
      const temp = (await this.temporaries(ctx)).find((t) => t.name === spec);
      if (!temp) throw new InspectorError(`no temporary '${spec}' in this frame: ${(await this.temporaries(ctx)).map((t) => t.name).join(", ") || "it has none"}`);
      const value = await this.valueOf(source);
      await temp.set(value);
      this.out(`${spec} := ${clip(await value.printString(), 120)}`);
      return;
    }
    const obj = f.mirror;
    if (/^\d+$/.test(spec)) {
      const index = Number(spec);
      const variable = await obj.variableSize();
      const fixed = await obj.fixedSize();
      if (variable > 0 ? index < 1 || index > variable : index < 1 || index > fixed) {
        throw new InspectorError(variable > 0 ? `index ${index} is out of range 1..${variable}` : fixed ? `field ${index} is out of range 1..${fixed}` : "this object has no fields");
      }
      const value = await this.valueOf(source);
      if (variable > 0) await obj.atPut(index, value);
      else await obj.instVarAtPut(index, value);
      this.out(`${variable > 0 ? `[${index}]` : `field ${index}`} := ${clip(await value.printString(), 120)}`);
    } else {
      const d = await obj.describe(0, 0);
      if (!d.namedFields.some((n) => n.name === spec)) throw new InspectorError(`no field '${spec}'${d.namedFields.length ? `: ${d.namedFields.map((n) => n.name).join(", ")}` : ""}`);
      const value = await this.valueOf(source);
      await obj.instVarNamedPut(spec, value);
      this.out(`${spec} := ${clip(await value.printString(), 120)}`);
    }
  }

  // ------------------------------------------------------------------ classes and methods

  /** The class `methods`, `source` and `edit` work on. */
  private async currentClass(): Promise<ClassMirror> {
    const f = this.focus;
    if (f.mirror.kind === "class" || f.mirror.kind === "metaclass") return f.mirror.asClass();
    if (f.mirror.kind === "context") {
      const cls = await (await (await f.mirror.asContext()).method()).methodClass();
      if (cls) return cls;
    }
    return f.mirror.getClass();
  }

  private async classCommand(rest: string): Promise<void> {
    let cls: ClassMirror | undefined;
    if (rest) {
      cls = await this.space.classNamed(rest);
      if (!cls) throw new InspectorError(`no class named ${rest}`);
    } else {
      cls = await this.currentClass();
    }
    await this.inspect(cls, rest || "class");
  }

  private async methods(): Promise<void> {
    const cls = await this.currentClass();
    const selectors = (await cls.selectors()).sort();
    this.out(`${await cls.name()}: ${plural(selectors.length, "method")}${selectors.length ? `\n${columns(selectors)}` : ""}`);
  }

  private async lookupMethod(cls: ClassMirror, selector: string): Promise<MethodMirror> {
    const method = await cls.lookup(selector);
    if (!method) throw new InspectorError(`${await cls.name()} has no method #${selector} (nor do its superclasses)`);
    return method;
  }

  private async source(rest: string): Promise<void> {
    if (!rest || /\s/.test(rest)) throw new InspectorError("source SEL: one selector, e.g. 'source printOn:'");
    const cls = await this.currentClass();
    const method = await this.lookupMethod(cls, rest);
    const owner = await method.methodClass();
    const where = `${owner ? await owner.name() : await cls.name()}>>${rest}`;
    const source = await method.source();
    if (source === undefined) {
      this.out(`${where}: no source; its bytecodes:\n${(await method.disassembly()).map((l) => `    ${l}`).join("\n")}`);
      return;
    }
    this.out(`${where}\n${source.split(/\r\n|\r|\n/).map((l) => `    ${l.replace(/\t/g, "    ")}`).join("\n")}`);
  }

  /** The category of a method in its class, asked of the image (its organization); undefined when unknown. */
  private async categoryOf(cls: ClassMirror, selector: string): Promise<string | undefined> {
    try {
      const r = await this.space.evaluate(`self whichCategoryIncludesSelector: #${selector}`, { receiver: cls, budget: { ms: 2000 } });
      if (!r.ok) {
        r.error.release();
        return undefined;
      }
      const v = await r.value.toLocal().catch(() => undefined);
      r.value.release();
      return typeof v === "string" ? v : undefined;
    } catch {
      return undefined;
    }
  }

  private async edit(rest: string): Promise<void> {
    if (/\s/.test(rest)) throw new InspectorError("edit [SEL]: one selector (in a frame, none edits the frame's method)");
    let cls: ClassMirror;
    let selector: string;
    let current: MethodMirror | undefined;
    const f = this.focus;
    if (!rest) {
      if (f.mirror.kind !== "context") throw new InspectorError("edit SEL: which method? (in a frame, 'edit' alone edits the frame's method)");
      current = await (await f.mirror.asContext()).method();
      const owner = await current.methodClass();
      if (!owner) throw new InspectorError("this frame's method belongs to no class");
      cls = owner;
      selector = await current.selector();
    } else {
      cls = await this.currentClass();
      selector = rest;
      current = await cls.lookup(selector);
    }
    const className = await cls.name();
    const owner = current ? await current.methodClass() : undefined;
    const inherited = current !== undefined && owner !== undefined && !(await owner.isIdenticalTo(cls));
    if (inherited) this.out(`note: #${selector} is inherited from ${await owner!.name()}: the new method goes into ${className}`);
    const key = `${className}>>${selector}`;
    const original = (current ? await current.source() : undefined) ?? `${selector}\n\t"a new method"\n\t^ self`;
    const startText = this.failedEdits.get(key) ?? original;
    let text = this.io.editText ? await this.io.editText(startText, `${className}-${selector.replace(/[^\w]/g, "_")}.st`) : undefined;
    if (text === undefined) {
      const what = this.failedEdits.has(key) ? "your last text" : current && !inherited ? "its source" : "a new method; a template";
      this.out(`editing ${key} (${what}):\n${startText.split(/\r\n|\r|\n/).map((l) => `    ${l.replace(/\t/g, "    ")}`).join("\n")}`);
      this.out("type the new source, then a line with '!' alone (just '!' cancels):");
      const lines: string[] = [];
      for (;;) {
        const line = await this.io.readLine("");
        if (line === undefined || line.trim() === "!") break;
        lines.push(line);
      }
      text = lines.join("\n");
    }
    if (!text.trim()) {
      this.out("edit cancelled: nothing was compiled");
      return;
    }
    if (text.trim() === original.trim() && !inherited && current) {
      this.failedEdits.delete(key);
      this.out("no change: nothing was compiled");
      return;
    }
    const category = current && !inherited ? await this.categoryOf(cls, selector) : undefined;
    let method: MethodMirror;
    try {
      method = await cls.compile(text, { category, origin: { fileName: key } });
    } catch (e) {
      if (e instanceof MembraneError && e.code === "compileError") {
        this.failedEdits.set(key, text);
        this.out(`compile error: ${e.message}\nnothing was compiled; 'edit ${selector}' starts again from your text`);
        return;
      }
      throw e;
    }
    this.failedEdits.delete(key);
    const newSelector = await method.selector();
    method.release();
    this.out(`compiled ${className}>>${newSelector}${category ? ` (${category})` : ""}; the change is in the image's changes file`);
    if (f.mirror.kind === "context") this.out("(running frames keep their old method: 'restart' runs this frame again)");
  }

  // ------------------------------------------------------------------ processes and frames

  private async processes(): Promise<void> {
    for (const p of this.processList) if (!this.trail.some((t) => t.mirror === p || t.process === p)) p.release();
    const all = await this.space.processes();
    const active = await (await this.space.scheduler()).activeProcess();
    const rows: string[][] = [];
    for (const [i, p] of all.entries()) {
      const top = await p.suspendedContext();
      const isActive = active ? await p.isIdenticalTo(active) : false;
      rows.push([
        `${isActive ? "*" : " "}${i + 1}`,
        clip(await p.name(), 32),
        String(await p.priority()),
        await p.state(),
        top ? clip(await top.description(), 60) : "-",
      ]);
      top?.release();
    }
    active?.release();
    this.processList = all;
    if (rows.length === 0) {
      this.out("no processes");
      return;
    }
    const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length), ["#", "process", "pri", "state"][c].length));
    const fmt = (r: string[]) => `  ${r[0].padStart(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padStart(widths[2])}  ${r[3].padEnd(widths[3])}  ${r[4]}`.trimEnd();
    this.out([fmt(["#", "process", "pri", "state", "where"]), ...rows.map(fmt), "  ('process N' inspects one)"].join("\n"));
  }

  private async process(rest: string): Promise<void> {
    const n = Number(rest);
    if (!rest || !Number.isInteger(n) || n < 1) throw new InspectorError("process N: a number from the 'processes' list");
    if (this.processList.length === 0) throw new InspectorError("list the processes first ('processes')");
    if (n > this.processList.length) throw new InspectorError(`process ${n}: the list has ${this.processList.length}`);
    const p = this.processList[n - 1];
    await this.inspect(p, `process ${n}`, { process: p });
  }

  /** The process the inspected object is, or whose stack the inspected frame is on. */
  private currentProcess(): ProcessMirror {
    const f = this.focus;
    if (f.process) return f.process;
    throw new InspectorError(
      f.mirror.kind === "context"
        ? "this frame was not reached from a process: inspect the process first ('processes', 'process N')"
        : "not a process: 'processes' lists them, 'process N' inspects one",
    );
  }

  private async stack(rest: string): Promise<void> {
    const depth = rest ? Number(rest) : this.stackDepth;
    if (!Number.isInteger(depth) || depth < 1) throw new InspectorError("stack [N]: how many frames to show");
    const p = this.currentProcess();
    this.out(`process '${await p.name()}'   ${await p.state()}`);
    await this.printStack(p, depth);
  }

  private async frame(rest: string): Promise<void> {
    const n = Number(rest);
    if (!rest || !Number.isInteger(n) || n < 1) throw new InspectorError("frame N: a frame number from 'stack' (1 is the top)");
    const p = this.currentProcess();
    const frames = await p.stack(n);
    if (n > frames.length) throw new InspectorError(`frame ${n}: the stack has ${plural(frames.length, "frame")}`);
    for (const fr of frames.slice(0, n - 1)) fr.release();
    await this.inspect(frames[n - 1], `frame ${n}`, { process: p, frameIndex: n });
  }

  private async guestState(): Promise<GuestInfo | undefined> {
    const { hypervisor, guest } = this.options;
    if (!hypervisor || !guest) return undefined;
    return hypervisor.info(guest);
  }

  private async processControl(verb: "suspend" | "resume" | "terminate"): Promise<void> {
    const p = this.currentProcess();
    const name = await p.name();
    if (verb === "resume") {
      const info = await this.guestState();
      const state = await p.state();
      if (state === "terminated") throw new InspectorError(`process '${name}' has terminated: it cannot go on`);
      if (info && info.state === "crashed") {
        // surgery is over: the process goes on (a failed one proceeds, a restarted one runs its frame
        // again) and so does the guest
        if (state !== "running" && state !== "runnable") await p.resume();
        const after = await this.options.hypervisor!.resume(this.options.guest!);
        this.out(`resumed guest ${this.options.guest}: ${after.state} (${after.reason}); process '${name}' goes on`);
        return;
      }
      if (state === "running" || state === "runnable") {
        this.out(`process '${name}' is already ${state}`);
        return;
      }
      await p.resume();
      this.out(`process '${name}': ${await p.state()}`);
      if (info && info.state !== "running") this.out(`the guest is ${info.state}: 'guest resume' lets it run`);
      else if (!info && !this.options.hypervisor) this.out("('run' lets the image run)");
      return;
    }
    if (verb === "suspend") await p.suspend();
    else await p.terminate();
    this.out(`process '${name}': ${await p.state()}`);
  }

  private async currentFrame(): Promise<{ ctx: ContextMirror; f: Focus }> {
    const f = this.focus;
    if (f.mirror.kind !== "context") throw new InspectorError("not a frame: 'stack' lists the frames of a process, 'frame N' inspects one");
    return { ctx: await f.mirror.asContext(), f };
  }

  private async restart(): Promise<void> {
    const { ctx, f } = await this.currentFrame();
    const description = await ctx.description();
    await ctx.restart();
    if (f.frameIndex) f.frameIndex = 1;
    this.out(`restarted ${description}: it runs again from its first instruction when its process goes on${this.options.hypervisor ? " ('resume')" : ""}`);
  }

  private async returnFrom(source: string): Promise<void> {
    if (!source) throw new InspectorError("return EXPR: the value to return from the frame (e.g. 'return nil')");
    const { ctx, f } = await this.currentFrame();
    const description = await ctx.description();
    const value = await this.valueOf(source);
    await ctx.returnValue(value);
    this.out(`${description} returned ${clip(await value.printString(), 120)} to its sender`);
    value.release();
    if (f.process) {
      // the frame is gone: back to its process
      this.trail.pop();
      const p = f.process;
      if (!(this.trail.length > 0 && this.focus.mirror === p)) this.trail.push({ mirror: p, label: "process", page: 0, process: p });
      await this.show();
    }
  }

  // ------------------------------------------------------------------ the guest

  private needHypervisor(): { hypervisor: InspectorHypervisor; guest: string } {
    const { hypervisor, guest } = this.options;
    if (!hypervisor || !guest) throw new InspectorError("this is a local image, not a daemon's guest ('oz inspect GUEST --remote URL' attaches to one)");
    return { hypervisor, guest };
  }

  private async guestCommand(rest: string): Promise<void> {
    const { hypervisor, guest } = this.needHypervisor();
    if (!rest) {
      const info = await hypervisor.info(guest);
      const lines = [`guest ${guest}: ${info.state} (${info.reason})`];
      if (info.crash) lines.push(`  crash: ${info.crash.kind}: ${info.crash.message}`);
      lines.push(`  cpu ${Math.round(info.stats.cpuMs)} ms, heap ${info.stats.heapBytes} bytes, ${plural(info.stats.socketsOpen, "socket")}`);
      this.out(lines.join("\n"));
      return;
    }
    const verb = rest.toLowerCase();
    switch (verb) {
      case "start":
      case "stop":
      case "suspend":
      case "resume":
      case "interrupt": {
        const info = await hypervisor[verb](guest);
        this.out(`guest ${guest}: ${info.state} (${info.reason})`);
        return;
      }
      case "snapshot":
        this.out(`guest ${guest}: saved ${await hypervisor.snapshot(guest)}`);
        return;
      default:
        throw new InspectorError("guest [VERB]: start, stop, suspend, resume, interrupt or snapshot");
    }
  }

  private async transcript(rest: string): Promise<void> {
    const { hypervisor, guest } = this.needHypervisor();
    const bytes = rest ? Number(rest) : 2000;
    if (!Number.isInteger(bytes) || bytes < 0) throw new InspectorError("transcript [N]: how many bytes to show");
    const text = await hypervisor.transcript(guest, bytes);
    this.out(text ? text : "(no Transcript output)");
  }

  private async run(rest: string): Promise<void> {
    if (this.options.hypervisor) throw new InspectorError("the daemon runs this guest: 'guest resume' or 'resume' lets it run");
    const ms = rest ? Number(rest) : 1000;
    if (!Number.isFinite(ms) || ms <= 0) throw new InspectorError("run [MS]: how long to let the image run");
    const end = performance.now() + ms;
    let bytecodes = 0;
    for (;;) {
      const left = end - performance.now();
      if (left <= 0) {
        this.out(`ran ${ms} ms (${bytecodes} bytecodes)`);
        return;
      }
      const slice = await this.space.transferControl({ ms: Math.min(50, left) });
      bytecodes += slice.bytecodes;
      if (slice.reason === "fault") {
        this.out(`the image stopped: ${slice.fault?.kind ?? "fault"}: ${slice.fault?.message ?? ""} ('processes' shows the failed process)`);
        return;
      }
      if (slice.reason === "quit") {
        this.out("the image quit");
        return;
      }
      if (slice.reason === "idle") {
        if (slice.nextTimerMs === undefined) {
          this.out(`the image is idle: no process wants to run (${bytecodes} bytecodes)`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(slice.nextTimerMs!, Math.max(1, end - performance.now()))));
      } else {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }
}
