/**
 * Printing a process's Smalltalk stack, one frame per line ("Class>>selector (line N)"), for error
 * reports of `oz run`, failed bootstraps and crashed guests.
 */
import type { Oop } from "../../vm/memory/oop.js";
import { ContextLayout } from "../../vm/memory/layout.js";
import { isSmallInt, smallIntValue } from "../../vm/memory/oop.js";
import { isNil } from "../../vm/contract/guest.js";
import type { LocalObjectSpace } from "./space.js";

import type { StackFrame } from "../objectSpace.js";

export function processStackFrames(space: LocalObjectSpace, proc: Oop, limit = 100): StackFrame[] {
  return framesFrom(space, space.topContextOf(proc), limit);
}

/** The frames from `ctx` down its sender chain, at most `limit` of them. */
function framesFrom(space: LocalObjectSpace, ctx: Oop, limit: number): StackFrame[] {
  const mem = space.mem;
  const frames: StackFrame[] = [];
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

/**
 * The frames of a failed process from the context that signalled `exception` (Pharo's signalerContext:
 * the first frame below the exception's own machinery) down to the bottom.
 */
export function failureStackFrames(space: LocalObjectSpace, proc: Oop, exception: Oop, limit = 100): StackFrame[] {
  const mem = space.mem;
  let ctx = space.topContextOf(proc);
  const start = ctx;
  let signalContext = 0;
  if ((exception & 3) === 0 && !isNil(mem, exception) && mem.slotCount(exception) > 3) {
    const candidate = mem.fetchPointer(exception, 3);
    for (let c = ctx, guard = 0; c !== 0 && !isNil(mem, c) && guard < 10000; guard++) {
      if (c === candidate) {
        signalContext = candidate;
        break;
      }
      c = mem.fetchPointer(c, ContextLayout.sender);
    }
  }
  if (signalContext !== 0) {
    // skip the exception's own machinery: frames whose receiver is the exception or its class (the
    // class-side `signal:` / `signalWithDividend:` that created it), as Pharo's signalerContext does
    const exceptionClass = mem.fetchClassOf(exception);
    const isMachinery = (receiver: Oop) => receiver === exception || receiver === exceptionClass;
    ctx = signalContext;
    while (!isNil(mem, ctx) && isMachinery(mem.fetchPointer(ctx, ContextLayout.receiver))) ctx = mem.fetchPointer(ctx, ContextLayout.sender);
  } else {
    ctx = start;
  }
  return framesFrom(space, ctx, limit);
}

export async function describeProcessStack(space: LocalObjectSpace, proc: Oop, limit = 100): Promise<string> {
  return processStackFrames(space, proc, limit)
    .map((f) => `  ${f.description}${f.line !== undefined ? ` (line ${f.line})` : ""}`)
    .join("\n");
}
