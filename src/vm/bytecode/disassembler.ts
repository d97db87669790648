/**
 * A disassembler for every bytecode of the set (see opcodes.ts). It prints one line per instruction,
 * Squeak style:
 *
 *   25 <70> self
 *   26 <D0> send: #printString
 *   27 <8F 10 00 03> closure(1 args, 0 copied) to 34
 *
 * Literals are printed through a callback, so the same code serves compiled MethodSpecs on the host and
 * methods inside a heap.
 */
import { decode, type Instruction } from "./opcodes.js";
import { SPECIAL_SELECTORS } from "../memory/special.js";

export interface DisassemblyOptions {
  /** prints literal `index` of the method */
  literal: (index: number) => string;
  /** the pc of code[0], for display (Squeak pcs count from the start of the method body, 1-based) */
  pcBase?: number;
  /** names of temporaries, when known */
  tempName?: (index: number) => string | undefined;
  /** names of instance variables, when known */
  instVarName?: (index: number) => string | undefined;
}

export function describe(ins: Instruction, opts: DisassemblyOptions): string {
  const base = opts.pcBase ?? 0;
  const temp = (i: number) => opts.tempName?.(i) ?? `temp ${i}`;
  const ivar = (i: number) => opts.instVarName?.(i) ?? `rcvr ${i}`;
  const lit = (i: number) => opts.literal(i);
  switch (ins.op) {
    case "pushReceiverVariable": return `pushRcvr: ${ivar(ins.index!)}`;
    case "pushTemporary": return `pushTemp: ${temp(ins.index!)}`;
    case "pushLiteralConstant": return `pushConstant: ${lit(ins.index!)}`;
    case "pushLiteralVariable": return `pushLitVar: ${lit(ins.index!)}`;
    case "popIntoReceiverVariable": return `popIntoRcvr: ${ivar(ins.index!)}`;
    case "popIntoTemporary": return `popIntoTemp: ${temp(ins.index!)}`;
    case "storeReceiverVariable": return `storeIntoRcvr: ${ivar(ins.index!)}`;
    case "storeTemporary": return `storeIntoTemp: ${temp(ins.index!)}`;
    case "storeLiteralVariable": return `storeIntoLitVar: ${lit(ins.index!)}`;
    case "popIntoLiteralVariable": return `popIntoLitVar: ${lit(ins.index!)}`;
    case "pushSpecial": return typeof ins.special === "number" ? `pushConstant: ${ins.special}` : ins.special === "self" ? "self" : `pushConstant: ${ins.special}`;
    case "returnSpecial": return `return: ${ins.special}`;
    case "returnTop": return "returnTop";
    case "blockReturnTop": return "blockReturn";
    case "send": return `send: ${lit(ins.index!)}${ins.numArgs! > 2 || ins.opcode < 208 ? ` (${ins.numArgs} args)` : ""}`;
    case "superSend": return `superSend: ${lit(ins.index!)} (${ins.numArgs} args)`;
    case "specialSend": return `send: #${SPECIAL_SELECTORS[ins.index!][0]}`;
    case "pop": return "pop";
    case "dup": return "dup";
    case "pushThisContext": return "pushThisContext";
    case "pushNewArray": return `push: (Array new: ${ins.index})`;
    case "popIntoNewArray": return `pop ${ins.index} into (Array new: ${ins.index})`;
    case "pushRemoteTemp": return `pushTemp: ${ins.index} inVectorAt: ${ins.vector}`;
    case "storeRemoteTemp": return `storeIntoTemp: ${ins.index} inVectorAt: ${ins.vector}`;
    case "popIntoRemoteTemp": return `popIntoTemp: ${ins.index} inVectorAt: ${ins.vector}`;
    case "pushClosure": return `closure(${ins.numArgs} args, ${ins.numCopied} copied) to ${ins.target! + base}`;
    case "jump": return `jumpTo: ${ins.target! + base}`;
    case "jumpIfTrue": return `jumpTrue: ${ins.target! + base}`;
    case "jumpIfFalse": return `jumpFalse: ${ins.target! + base}`;
    case "unknown": return `unknown bytecode ${ins.opcode}`;
  }
}

function hexBytes(code: Uint8Array, ins: Instruction): string {
  const parts: string[] = [];
  for (let i = 0; i < ins.length; i++) parts.push((code[ins.pc + i] ?? 0).toString(16).toUpperCase().padStart(2, "0"));
  return parts.join(" ");
}

/** Disassembles `code` from `start` to `end` (0-based offsets), one string per instruction. */
export function disassemble(code: Uint8Array, opts: DisassemblyOptions, start = 0, end = code.length): string[] {
  const lines: string[] = [];
  const base = opts.pcBase ?? 0;
  let pc = start;
  while (pc < end) {
    const ins = decode(code, pc);
    lines.push(`${pc + base} <${hexBytes(code, ins)}> ${describe(ins, opts)}`);
    pc += ins.length;
  }
  return lines;
}
