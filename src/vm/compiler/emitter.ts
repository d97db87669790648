/**
 * Instruction encoding and layout. The code generator calls one method per instruction; the emitter
 * picks the shortest encoding of the bytecode set (opcodes.ts) for the operands, tracks the stack depth
 * of the current context, and keeps jumps and closures symbolic until `assemble`, which lays the code
 * out: a jump starts short (1 byte, forward 1..8) and becomes long (2 bytes) when its distance does not
 * fit, until nothing changes (sizes only grow, so this terminates, usually after one or two passes).
 */
import type { SourceRange } from "../method/spec.js";

export interface Label {
  pc: number;
  placed: boolean;
}

type JumpCondition = "always" | "ifTrue" | "ifFalse";

type Item =
  | { kind: "code"; bytes: number[]; range: SourceRange | undefined; pc: number }
  | { kind: "jump"; cond: JumpCondition; target: Label; size: number; range: SourceRange | undefined; at: number; pc: number }
  | { kind: "closure"; numArgs: number; numCopied: number; end: Label; at: number; pc: number }
  | { kind: "label"; label: Label; pc: number };

export type SpecialPush = "true" | "false" | "nil" | -1 | 0 | 1 | 2;
const SPECIAL_PUSH_CODE: Record<string, number> = { true: 113, false: 114, nil: 115, "-1": 116, "0": 117, "1": 118, "2": 119 };
export type SpecialReturn = "self" | "true" | "false" | "nil";
const SPECIAL_RETURN_CODE: Record<SpecialReturn, number> = { self: 120, true: 121, false: 122, nil: 123 };

export class Emitter {
  private readonly items: Item[] = [];
  depth = 0;
  maxDepth = 0;
  /** source offset used for errors raised while encoding */
  at = 0;

  constructor(private readonly fail: (message: string, at: number) => never) {}

  private adjust(delta: number): void {
    this.depth += delta;
    if (this.depth > this.maxDepth) this.maxDepth = this.depth;
  }

  private code(bytes: number[], delta: number, range?: SourceRange): void {
    this.items.push({ kind: "code", bytes, range, pc: 0 });
    this.adjust(delta);
  }

  private tooLarge(what: string, index: number): never {
    return this.fail(`${what} index ${index} is out of range`, this.at);
  }

  pushReceiverVariable(i: number): void {
    if (i < 16) this.code([i], 1);
    else if (i < 64) this.code([128, i], 1);
    else if (i < 256) this.code([132, 2 << 5, i], 1);
    else this.tooLarge("Instance variable", i);
  }

  pushTemp(i: number): void {
    if (i < 16) this.code([16 + i], 1);
    else if (i < 64) this.code([128, 0x40 | i], 1);
    else this.tooLarge("Temporary", i);
  }

  pushLiteralConstant(i: number): void {
    if (i < 32) this.code([32 + i], 1);
    else if (i < 64) this.code([128, 0x80 | i], 1);
    else this.code([132, 3 << 5, i], 1);
  }

  pushLiteralVariable(i: number): void {
    if (i < 32) this.code([64 + i], 1);
    else if (i < 64) this.code([128, 0xc0 | i], 1);
    else this.code([132, 4 << 5, i], 1);
  }

  pushSelf(): void {
    this.code([112], 1);
  }

  pushSpecial(value: SpecialPush): void {
    this.code([SPECIAL_PUSH_CODE[String(value)]], 1);
  }

  pushThisContext(): void {
    this.code([137], 1);
  }

  pushRemoteTemp(index: number, vector: number): void {
    this.code([140, index, vector], 1);
  }

  storeReceiverVariable(i: number, pop: boolean, range?: SourceRange): void {
    if (pop && i < 8) this.code([96 + i], -1, range);
    else if (i < 64) this.code([pop ? 130 : 129, i], pop ? -1 : 0, range);
    else if (i < 256) this.code([132, (pop ? 6 : 5) << 5, i], pop ? -1 : 0, range);
    else this.tooLarge("Instance variable", i);
  }

  storeTemp(i: number, pop: boolean): void {
    if (pop && i < 8) this.code([104 + i], -1);
    else if (i < 64) this.code([pop ? 130 : 129, 0x40 | i], pop ? -1 : 0);
    else this.tooLarge("Temporary", i);
  }

  storeLiteralVariable(i: number, pop: boolean, range?: SourceRange): void {
    if (i < 64) this.code([pop ? 130 : 129, 0xc0 | i], pop ? -1 : 0, range);
    else {
      this.code([132, 7 << 5, i], 0, range);
      if (pop) this.pop();
    }
  }

  storeRemoteTemp(index: number, vector: number, pop: boolean): void {
    this.code([pop ? 142 : 141, index, vector], pop ? -1 : 0);
  }

  /** the marker that begins a method with a primitive error code temporary (a store into temp numArgs) */
  primitiveErrorMarker(numArgs: number): void {
    this.code([129, 0x40 | numArgs], 0);
  }

  pop(): void {
    this.code([135], -1);
  }

  dup(): void {
    this.code([136], 1);
  }

  pushNewArray(size: number): void {
    this.code([138, size], 1);
  }

  popIntoNewArray(size: number): void {
    this.code([138, 0x80 | size], 1 - size);
  }

  send(literal: number, numArgs: number, range?: SourceRange): void {
    if (literal < 16 && numArgs < 3) this.code([208 + numArgs * 16 + literal], -numArgs, range);
    else if (literal < 32 && numArgs < 8) this.code([131, (numArgs << 5) | literal], -numArgs, range);
    else if (literal < 64 && numArgs < 4) this.code([134, (numArgs << 6) | literal], -numArgs, range);
    else this.code([132, numArgs, literal], -numArgs, range);
  }

  superSend(literal: number, numArgs: number, range?: SourceRange): void {
    if (literal < 32 && numArgs < 8) this.code([133, (numArgs << 5) | literal], -numArgs, range);
    else this.code([132, (1 << 5) | numArgs, literal], -numArgs, range);
  }

  specialSend(index: number, numArgs: number, range?: SourceRange): void {
    this.code([176 + index], -numArgs, range);
  }

  returnTop(range?: SourceRange): void {
    this.code([124], -1, range);
  }

  returnSpecial(value: SpecialReturn): void {
    this.code([SPECIAL_RETURN_CODE[value]], 0);
  }

  blockReturnTop(): void {
    this.code([125], -1);
  }

  label(): Label {
    return { pc: 0, placed: false };
  }

  place(label: Label): void {
    label.placed = true;
    this.items.push({ kind: "label", label, pc: 0 });
  }

  jump(target: Label): void {
    this.items.push({ kind: "jump", cond: "always", target, size: target.placed ? 2 : 1, range: undefined, at: this.at, pc: 0 });
  }

  /** jumps to `target` when the popped value is `when`; the VM sends #mustBeBoolean for a non-boolean */
  jumpIf(when: boolean, target: Label, range?: SourceRange): void {
    this.items.push({ kind: "jump", cond: when ? "ifTrue" : "ifFalse", target, size: when ? 2 : 1, range, at: this.at, pc: 0 });
    this.adjust(-1);
  }

  /** a closure whose body is the code up to `end`; pops the copied values, pushes the closure */
  closure(numArgs: number, numCopied: number, end: Label): void {
    this.items.push({ kind: "closure", numArgs, numCopied, end, at: this.at, pc: 0 });
  }

  assemble(): { bytecodes: Uint8Array; sourceMap: Array<{ pc: number; range: SourceRange }> } {
    const sizeOf = (item: Item) =>
      item.kind === "code" ? item.bytes.length : item.kind === "jump" ? item.size : item.kind === "closure" ? 4 : 0;
    let total = 0;
    for (let changed = true; changed; ) {
      total = 0;
      for (const item of this.items) {
        item.pc = total;
        if (item.kind === "label") item.label.pc = total;
        total += sizeOf(item);
      }
      changed = false;
      for (const item of this.items) {
        if (item.kind !== "jump" || item.size !== 1) continue;
        const distance = item.target.pc - (item.pc + 1);
        if (distance < 1 || distance > 8) {
          item.size = 2;
          changed = true;
        }
      }
    }
    const out = new Uint8Array(total);
    const sourceMap: Array<{ pc: number; range: SourceRange }> = [];
    for (const item of this.items) {
      switch (item.kind) {
        case "code":
          out.set(item.bytes, item.pc);
          if (item.range) sourceMap.push({ pc: item.pc, range: item.range });
          break;
        case "jump": {
          const distance = item.target.pc - (item.pc + item.size);
          if (item.size === 1) out[item.pc] = (item.cond === "always" ? 144 : 152) + distance - 1;
          else {
            const [low, high] = item.cond === "always" ? [-1024, 1023] : [0, 1023];
            if (distance < low || distance > high) {
              this.fail(`Jump too far (${distance} bytes, the limit is ${distance < 0 ? low : high}): split this method into smaller ones`, item.at);
            }
            const hi = Math.floor(distance / 256);
            out[item.pc] = item.cond === "always" ? 160 + hi + 4 : (item.cond === "ifTrue" ? 168 : 172) + hi;
            out[item.pc + 1] = distance - hi * 256;
          }
          if (item.range) sourceMap.push({ pc: item.pc, range: item.range });
          break;
        }
        case "closure": {
          const size = item.end.pc - (item.pc + 4);
          if (size > 0xffff) this.fail(`Block too large (${size} bytes, at most 65535)`, item.at);
          out.set([143, (item.numCopied << 4) | item.numArgs, size >> 8, size & 255], item.pc);
          break;
        }
        case "label":
          break;
      }
    }
    return { bytecodes: out, sourceMap };
  }
}
