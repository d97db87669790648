/**
 * What the host can learn about a CompiledMethod beyond its bytecodes, following the image contract:
 * its source (the trailer points into the sources or changes file, or embeds it), the class it was
 * compiled for (the last literal is the class binding), whether it is a doit, and the blocks it contains
 * (found again by recompiling its source: compiler/blocks.ts).
 *
 *   method "Foo>>double: x ^ x collect: [:e | e * 2]"  ->  blockSourceOf(closure) = "[:e | e * 2]"
 */
import type { ObjectMemory } from "../memory/heap.js";
import type { SourceStore } from "../host.js";
import { Format, isPointersFormat } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { BehaviorLayout, BlockClosureLayout, ContextLayout } from "../memory/layout.js";
import { isSmallInt, smallIntValue, type Oop } from "../memory/oop.js";
import { decodeMethodHeader, initialPC } from "../method/header.js";
import { decodeTrailer } from "../method/trailer.js";
import { blockLayouts, type BlockLayout } from "../compiler/blocks.js";
import { compileContextFor } from "./compiling.js";
import { bytesText, isBehavior, isNil } from "./guest.js";

export function isCompiledMethod(mem: ObjectMemory, oop: Oop): boolean {
  return (oop & 3) === 0 && oop !== 0 && !isNil(mem, oop) && mem.formatOf(oop) >= Format.compiledMethod;
}

/** A class by its shape: a Behavior, or a pointer object with a SmallInteger format slot (a class being built). */
export function looksLikeClass(mem: ObjectMemory, oop: Oop): boolean {
  if ((oop & 3) !== 0 || isNil(mem, oop)) return false;
  if (isBehavior(mem, oop)) return true;
  return isPointersFormat(mem.formatOf(oop)) && mem.slotCount(oop) >= 3 && isSmallInt(mem.fetchPointer(oop, BehaviorLayout.format));
}

/** The method's source from its trailer: embedded, or read from the sources/changes file; undefined if unknown. */
export function methodSourceOf(mem: ObjectMemory, sources: SourceStore | undefined, method: Oop): string | undefined {
  const { ref } = decodeTrailer(mem.bytesView(method));
  if (ref.kind === "embedded") return ref.source;
  if (ref.kind === "file") return sources?.read(ref.file, ref.position);
  return undefined;
}

/** The class a method was compiled for (from its class binding), or UndefinedObject for doits without one. */
export function methodClassOf(mem: ObjectMemory, method: Oop): Oop {
  const header = decodeMethodHeader(mem.fetchPointer(method, 0) >> 1);
  const binding = header.numLiterals > 0 ? mem.fetchPointer(method, header.numLiterals) : mem.nilOop;
  if ((binding & 3) === 0 && !isNil(mem, binding) && mem.slotCount(binding) >= 2) {
    const cls = mem.fetchPointer(binding, 1);
    if (looksLikeClass(mem, cls)) return cls;
  }
  return mem.specialObject(Special.classUndefinedObject);
}

/** A doit: a method whose selector (the literal before the binding) is DoIt. */
export function isDoItMethod(mem: ObjectMemory, method: Oop): boolean {
  const header = decodeMethodHeader(mem.fetchPointer(method, 0) >> 1);
  return header.numLiterals >= 2 && bytesText(mem, mem.fetchPointer(method, header.numLiterals - 1)) === "DoIt";
}

/** The real blocks of `method`, by start pc, from its `source`; undefined when they cannot be matched. */
export function methodBlockLayouts(mem: ObjectMemory, method: Oop, source: string): Map<number, BlockLayout> | undefined {
  const header = decodeMethodHeader(mem.fetchPointer(method, 0) >> 1);
  const start = (header.numLiterals + 1) * 4;
  const body = mem.bytesView(method);
  const code = body.slice(start, body.length - decodeTrailer(body).size);
  const cls = methodClassOf(mem, method);
  return blockLayouts(source, isDoItMethod(mem, method), compileContextFor(mem, cls), code, initialPC(header.numLiterals));
}

/**
 * The source of a BlockClosure as written, from its '[' to its ']' (what Pharo prints for a block), or
 * undefined when its method's source is unknown or no longer matches its bytecodes.
 */
export function blockSourceOf(mem: ObjectMemory, sources: SourceStore | undefined, closure: Oop): string | undefined {
  if ((closure & 3) !== 0 || isNil(mem, closure) || mem.slotCount(closure) < 3) return undefined;
  const outer = mem.fetchPointer(closure, BlockClosureLayout.outerContext);
  const startpc = mem.fetchPointer(closure, BlockClosureLayout.startpc);
  if ((outer & 3) !== 0 || isNil(mem, outer) || !isSmallInt(startpc)) return undefined;
  if (mem.classOfPointer(outer) !== mem.specialObject(Special.classMethodContext)) return undefined;
  const method = mem.fetchPointer(outer, ContextLayout.method);
  if (!isCompiledMethod(mem, method)) return undefined;
  const source = methodSourceOf(mem, sources, method);
  if (source === undefined) return undefined;
  return methodBlockLayouts(mem, method, source)?.get(smallIntValue(startpc))?.source;
}
