/**
 * The primitive table. Numbered primitives follow Squeak's numbering; each area has its own file
 * exporting a `{ number: function }` record of small named functions. Named primitives
 * (`<primitive: 'name' module: 'Module'>`, primitive 117) are looked up by module and name among the
 * registered modules (plugins); host services reach plugins only through adapters.
 *
 * A primitive answers true on success, having popped the receiver and arguments and pushed its result;
 * it answers false to fail (optionally after `vm.failWith(code)`), leaving the stack as it was, and the
 * method's Smalltalk code runs.
 */
import type { Interpreter } from "../interpreter/interpreter.js";
import type { Oop } from "../memory/oop.js";
import { integerPrimitives } from "./integer.js";
import { largeIntegerPrimitives } from "./largeInteger.js";
import { floatPrimitives, numbersModule } from "./float.js";
import { objectPrimitives } from "./object.js";
import { storagePrimitives } from "./storage.js";
import { stringPrimitives, stringModule } from "./string.js";
import { blockPrimitives } from "./block.js";
import { processPrimitives } from "./process.js";
import { timePrimitives } from "./time.js";
import { systemPrimitives, systemModule } from "./system.js";
import { compilerModule } from "./compiler.js";
import { blockModule } from "./block.js";
import { socketModule } from "./socket.js";
import { fileModule } from "./file.js";

export type PrimitiveFn = (vm: Interpreter, argCount: number) => boolean;

export interface PrimitiveTable {
  numbered: Array<PrimitiveFn | undefined>;
  modules: Map<string, Record<string, PrimitiveFn>>;
  /** method oop -> resolved named primitive (null: none); flushed when objects move */
  namedCache: Map<Oop, PrimitiveFn | null>;
}

export const MAX_PRIMITIVE_INDEX = 1023;

const AREAS: Array<Record<number, PrimitiveFn>> = [
  integerPrimitives, largeIntegerPrimitives, floatPrimitives, objectPrimitives, storagePrimitives,
  stringPrimitives, blockPrimitives, processPrimitives, timePrimitives, systemPrimitives,
];

export function createPrimitiveTable(): PrimitiveTable {
  const numbered: Array<PrimitiveFn | undefined> = new Array(MAX_PRIMITIVE_INDEX + 1).fill(undefined);
  for (const area of AREAS) {
    for (const [index, fn] of Object.entries(area)) {
      const i = Number(index);
      if (numbered[i] !== undefined) throw new Error(`primitive ${i} is defined twice`);
      numbered[i] = fn;
    }
  }
  const modules = new Map<string, Record<string, PrimitiveFn>>();
  modules.set("OzVM", { ...systemModule, ...blockModule });
  modules.set("OzCompiler", compilerModule);
  modules.set("OzNumbers", numbersModule);
  modules.set("MiscPrimitivePlugin", stringModule);
  // host services: their primitives fail (unavailable) unless the host gives the VM an adapter
  modules.set("SocketPlugin", socketModule);
  modules.set("FilePlugin", fileModule);
  return { numbered, modules, namedCache: new Map() };
}

/** The function of a named-primitive method (its first literal is {module. name. 0. 0}), or null. */
export function resolveNamedPrimitive(vm: Interpreter, method: Oop): PrimitiveFn | null {
  const table = vm.primitives;
  const cached = table.namedCache.get(method);
  if (cached !== undefined) return cached;
  let fn: PrimitiveFn | null = null;
  const mem = vm.mem;
  const spec = mem.fetchPointer(method, 1);
  if ((spec & 3) === 0 && spec !== mem.nilOop && mem.slotCount(spec) >= 2) {
    const moduleOop = mem.fetchPointer(spec, 0);
    const nameOop = mem.fetchPointer(spec, 1);
    if ((moduleOop & 3) === 0 && (nameOop & 3) === 0 && mem.hasBytes(moduleOop) && mem.hasBytes(nameOop)) {
      const module = table.modules.get(mem.stringOf(moduleOop));
      fn = module?.[mem.stringOf(nameOop)] ?? null;
    }
  }
  table.namedCache.set(method, fn);
  return fn;
}
