/**
 * The execution trace switch: `vm.trace = bytecodeTracer(write)` prints every bytecode before it runs,
 * with the method, the Squeak pc, the disassembled instruction and the top of the stack:
 *
 *   Foo>>bar @17 <10> pushTemp: temp 0            | 3 nil
 *
 * While a trace is on, the interpreter runs one bytecode per dispatch, so this is a debugging aid, not
 * something to leave on.
 */
import type { Interpreter } from "./interpreter.js";
import { describeMethodName } from "./interpreter.js";
import { decode } from "../bytecode/opcodes.js";
import { describe } from "../bytecode/disassembler.js";
import { HEADER_BYTES } from "../memory/heap.js";
import { Special } from "../memory/special.js";
import { isCharacter, isSmallInt, smallIntValue, characterValue, type Oop } from "../memory/oop.js";

function shortOop(vm: Interpreter, oop: Oop): string {
  const mem = vm.mem;
  if (isSmallInt(oop)) return String(smallIntValue(oop));
  if (isCharacter(oop)) return `$${String.fromCodePoint(characterValue(oop))}`;
  if (oop === mem.nilOop) return "nil";
  if (oop === mem.trueOop) return "true";
  if (oop === mem.falseOop) return "false";
  if ((oop & 3) === 0 && mem.classOfPointer(oop) === mem.specialObject(Special.classByteSymbol)) return `#${mem.stringOf(oop)}`;
  if ((oop & 3) === 0 && mem.classOfPointer(oop) === mem.specialObject(Special.classByteString)) return `'${mem.stringOf(oop).slice(0, 20)}'`;
  return `@${oop}`;
}

export function bytecodeTracer(write: (line: string) => void, stackDepth = 3): (vm: Interpreter) => void {
  return (vm) => {
    if (vm.activeContext === 0) return;
    const mem = vm.mem;
    const body = vm.method + HEADER_BYTES;
    const code = mem.bytes.subarray(body, body + mem.byteLength(vm.method));
    const offset = vm.ip - body;
    const ins = decode(code, offset);
    const text = describe(ins, {
      pcBase: 1,
      literal: (i) => shortOop(vm, mem.fetchPointer(vm.method, 1 + i)),
    });
    const stack: string[] = [];
    const bottom = vm.ctxBase + 6;
    for (let i = 0; i < stackDepth && vm.sp - i >= bottom; i++) stack.unshift(shortOop(vm, vm.words[vm.sp - i]));
    write(`${describeMethodName(mem, vm.method)} @${offset + 1} ${text.padEnd(32)} | ${stack.join(" ")}\n`);
  };
}
