/**
 * The Squeak V3 bytecode set with the closure extensions (bytecodes 138 and 140-143).
 *
 *   0-15    push receiver variable n        112-119 push self, true, false, nil, -1, 0, 1, 2
 *   16-31   push temporary n                120-123 return self, true, false, nil
 *   32-63   push literal constant n         124     return top from method, 125 from block
 *   64-95   push literal variable n         128-134 extended push/store/pop-store/sends
 *   96-103  pop into receiver variable n    135 pop, 136 dup, 137 push thisContext
 *   104-111 pop into temporary n            138 push new array, 140-142 remote temps, 143 push closure
 *   144-151 short jump (1..8)               152-159 short jump if false (1..8)
 *   160-167 long jump (-1024..1023)         168-171 long jump if true, 172-175 if false (0..1023)
 *   176-207 special selector sends          208-255 sends of literal selectors with 0, 1, 2 arguments
 *
 * `decode` describes one instruction; the disassembler, the interpreter's trace and the compiler's tests
 * all use it, so there is one description of the encoding.
 */

export type Operation =
  | "pushReceiverVariable" | "pushTemporary" | "pushLiteralConstant" | "pushLiteralVariable"
  | "popIntoReceiverVariable" | "popIntoTemporary" | "pushSpecial" | "returnSpecial"
  | "returnTop" | "blockReturnTop" | "storeReceiverVariable" | "storeTemporary"
  | "storeLiteralVariable" | "popIntoLiteralVariable" | "send" | "superSend" | "specialSend"
  | "pop" | "dup" | "pushThisContext" | "pushNewArray" | "popIntoNewArray"
  | "pushRemoteTemp" | "storeRemoteTemp" | "popIntoRemoteTemp" | "pushClosure"
  | "jump" | "jumpIfTrue" | "jumpIfFalse" | "unknown";

export interface Instruction {
  pc: number;
  opcode: number;
  length: number;
  op: Operation;
  /** variable index, literal index, array size, or remote temp index */
  index?: number;
  /** temp vector index of remote temp operations */
  vector?: number;
  /** number of arguments of sends and closures */
  numArgs?: number;
  /** number of copied values of a closure */
  numCopied?: number;
  /** closure body size in bytes */
  blockSize?: number;
  /** jump target pc */
  target?: number;
  /** the pushed or returned constant of push/return specials */
  special?: "self" | "true" | "false" | "nil" | number;
}

const SPECIAL_PUSHES: Array<"self" | "true" | "false" | "nil" | number> = ["self", "true", "false", "nil", -1, 0, 1, 2];
const SPECIAL_RETURNS: Array<"self" | "true" | "false" | "nil"> = ["self", "true", "false", "nil"];
const EXTENDED_KINDS = ["ReceiverVariable", "Temporary", "LiteralConstant", "LiteralVariable"] as const;

/** Decodes the instruction at `pc` (0-based offset into `code`). */
export function decode(code: Uint8Array, pc: number): Instruction {
  const b = code[pc];
  const byte1 = code[pc + 1] ?? 0;
  const byte2 = code[pc + 2] ?? 0;
  const byte3 = code[pc + 3] ?? 0;
  const one = (op: Operation, rest: Partial<Instruction> = {}): Instruction => ({ pc, opcode: b, length: 1, op, ...rest });
  if (b < 16) return one("pushReceiverVariable", { index: b & 15 });
  if (b < 32) return one("pushTemporary", { index: b & 15 });
  if (b < 64) return one("pushLiteralConstant", { index: b & 31 });
  if (b < 96) return one("pushLiteralVariable", { index: b & 31 });
  if (b < 104) return one("popIntoReceiverVariable", { index: b & 7 });
  if (b < 112) return one("popIntoTemporary", { index: b & 7 });
  if (b < 120) return one("pushSpecial", { special: SPECIAL_PUSHES[b - 112] });
  if (b < 124) return one("returnSpecial", { special: SPECIAL_RETURNS[b - 120] });
  if (b === 124) return one("returnTop");
  if (b === 125) return one("blockReturnTop");
  if (b < 128) return one("unknown");
  switch (b) {
    case 128:
    case 129:
    case 130: {
      const kind = EXTENDED_KINDS[byte1 >> 6];
      const verb = b === 128 ? "push" : b === 129 ? "store" : "popInto";
      const op = `${verb}${kind}` as Operation;
      if (b !== 128 && kind === "LiteralConstant") return { pc, opcode: b, length: 2, op: "unknown" };
      return { pc, opcode: b, length: 2, op, index: byte1 & 63 };
    }
    case 131:
      return { pc, opcode: b, length: 2, op: "send", index: byte1 & 31, numArgs: byte1 >> 5 };
    case 132: {
      const kind = byte1 >> 5;
      const rest = { pc, opcode: b, length: 3 };
      switch (kind) {
        case 0: return { ...rest, op: "send", index: byte2, numArgs: byte1 & 31 };
        case 1: return { ...rest, op: "superSend", index: byte2, numArgs: byte1 & 31 };
        case 2: return { ...rest, op: "pushReceiverVariable", index: byte2 };
        case 3: return { ...rest, op: "pushLiteralConstant", index: byte2 };
        case 4: return { ...rest, op: "pushLiteralVariable", index: byte2 };
        case 5: return { ...rest, op: "storeReceiverVariable", index: byte2 };
        case 6: return { ...rest, op: "popIntoReceiverVariable", index: byte2 };
        default: return { ...rest, op: "storeLiteralVariable", index: byte2 };
      }
    }
    case 133:
      return { pc, opcode: b, length: 2, op: "superSend", index: byte1 & 31, numArgs: byte1 >> 5 };
    case 134:
      return { pc, opcode: b, length: 2, op: "send", index: byte1 & 63, numArgs: byte1 >> 6 };
    case 135: return one("pop");
    case 136: return one("dup");
    case 137: return one("pushThisContext");
    case 138:
      return { pc, opcode: b, length: 2, op: byte1 & 128 ? "popIntoNewArray" : "pushNewArray", index: byte1 & 127 };
    case 139: return one("unknown");
    case 140: return { pc, opcode: b, length: 3, op: "pushRemoteTemp", index: byte1, vector: byte2 };
    case 141: return { pc, opcode: b, length: 3, op: "storeRemoteTemp", index: byte1, vector: byte2 };
    case 142: return { pc, opcode: b, length: 3, op: "popIntoRemoteTemp", index: byte1, vector: byte2 };
    case 143: {
      const blockSize = (byte2 << 8) | byte3;
      return {
        pc, opcode: b, length: 4, op: "pushClosure", numArgs: byte1 & 15, numCopied: byte1 >> 4, blockSize,
        target: pc + 4 + blockSize,
      };
    }
  }
  if (b < 152) return one("jump", { target: pc + 1 + (b & 7) + 1 });
  if (b < 160) return one("jumpIfFalse", { target: pc + 1 + (b & 7) + 1 });
  if (b < 168) return { pc, opcode: b, length: 2, op: "jump", target: pc + 2 + ((b & 7) - 4) * 256 + byte1 };
  if (b < 172) return { pc, opcode: b, length: 2, op: "jumpIfTrue", target: pc + 2 + (b & 3) * 256 + byte1 };
  if (b < 176) return { pc, opcode: b, length: 2, op: "jumpIfFalse", target: pc + 2 + (b & 3) * 256 + byte1 };
  if (b < 208) return one("specialSend", { index: b - 176 });
  return one("send", { index: b & 15, numArgs: (b - 208) >> 4 });
}

/** The length in bytes of the instruction starting with `opcode`. */
export function instructionLength(opcode: number): number {
  if (opcode < 128 || (opcode >= 135 && opcode <= 137) || opcode === 139) return 1;
  if (opcode >= 144 && opcode < 160) return 1;
  if (opcode >= 176) return 1;
  if (opcode === 132 || (opcode >= 140 && opcode <= 142)) return 3;
  if (opcode === 143) return 4;
  return 2;
}

/** Whether control can continue to the next instruction (false for returns and unconditional jumps). */
export function fallsThrough(ins: Instruction): boolean {
  return !(ins.op === "jump" || ins.op === "returnTop" || ins.op === "blockReturnTop" || ins.op === "returnSpecial");
}
