/**
 * Printing a process's Smalltalk stack, one frame per line ("Class>>selector (line N)"), for error
 * reports of `oz run`, failed bootstraps and crashed guests.
 */
import type { Oop } from "../../vm/memory/oop.js";
import { ContextLayout } from "../../vm/memory/layout.js";
import { isSmallInt, smallIntValue } from "../../vm/memory/oop.js";
import { isNil } from "../../vm/contract/guest.js";
import type { LocalObjectSpace } from "./space.js";

export interface StackFrame {
  description: string;
  line: number | undefined;
}

export function processStackFrames(space: LocalObjectSpace, proc: Oop, limit = 100): StackFrame[] {
  const mem = space.mem;
  const frames: StackFrame[] = [];
  let ctx = space.topContextOf(proc);
  while (ctx !== 0 && !isNil(mem, ctx) && frames.length < limit) {
    const pc = mem.fetchPointer(ctx, ContextLayout.pc);
    frames.push({
      description: space.describeContext(ctx),
      line: isSmallInt(pc) ? space.lineForPc(mem.fetchPointer(ctx, ContextLayout.method), smallIntValue(pc)) : undefined,
    });
    ctx = mem.fetchPointer(ctx, ContextLayout.sender);
  }
  return frames;
}

export async function describeProcessStack(space: LocalObjectSpace, proc: Oop, limit = 100): Promise<string> {
  return processStackFrames(space, proc, limit)
    .map((f) => `  ${f.description}${f.line !== undefined ? ` (line ${f.line})` : ""}`)
    .join("\n");
}
