/**
 * A harness for unit tests of primitives: a micro image whose interpreter has an active context with a
 * large frame, so that a test can push a receiver and arguments, call a primitive function directly and
 * look at what it answered, checking the primitive conventions on the way (success pops receiver and
 * arguments and pushes one result; failure leaves the stack as it was).
 *
 * Oops held in test variables are stale after anything that collects garbage: hold them in handles
 * (`mem.newHandle`) across such calls.
 */
import { createMicroImage, type MicroImage } from "../testing/microImage.js";
import type { HeapOptions } from "../memory/heap.js";
import type { InterpreterOptions } from "../interpreter/interpreter.js";
import { Format, classFormat } from "../memory/format.js";
import { smallIntOop, type Oop } from "../memory/oop.js";
import { initialPC } from "../method/header.js";
import { CONTEXT_FIXED_SIZE, LARGE_FRAME_SIZE } from "../memory/layout.js";
import type { PrimitiveFn } from "./table.js";
import { recordPrimitiveCall } from "./ledger.js";

export interface PrimitiveCall {
  ok: boolean;
  /** the answer on success, 0 on failure */
  result: Oop;
  /** vm.primFailCode after a failure */
  code: number;
}

export interface Harness extends MicroImage {
  /** the context the primitives run in (the active context) */
  context(): Oop;
  /** pushes receiver and arguments, calls `fn`, checks the stack discipline, and pops what is left */
  call(fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): PrimitiveCall;
  /** `call`, answering the primitive's result; throws (naming the failure code) when it fails */
  answer(fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): Oop;
  /** `call`, answering the failure code; throws when the primitive succeeds */
  failure(fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): number;
  /** a byte object of class `className` (default ByteArray) holding `bytes` */
  bytes(values: number[], className?: string): Oop;
  /** a WordArray holding `values` (unsigned 32-bit) */
  wordArray(values: number[]): Oop;
  /** an instance of a fixed-size pointer class with its fields set */
  instance(className: string, fields: Oop[]): Oop;
  /** a new class object (no metaclass, no methods) under `superclass` */
  defineClass(superclass: string | Oop, spec: number, instSize: number): Oop;
  /** allocates garbage-free Arrays until not even an empty one fits (the allocator itself never collects) */
  exhaustHeap(): void;
}

export function createHarness(options: HeapOptions & InterpreterOptions = {}): Harness {
  const img = createMicroImage(options);
  const { mem, vm, classes } = img;
  const nil = mem.nilOop;
  const method = img.makeMethod([0x7c], [], { largeFrame: true }, "harness");
  const numLiterals = (mem.fetchPointer(method, 0) >> 10) & 0xff;
  const ctx = mem.allocate(classes.Context, Format.fixedIndexable, CONTEXT_FIXED_SIZE + LARGE_FRAME_SIZE);
  mem.storePointer(ctx, 0, nil);
  mem.storePointer(ctx, 1, smallIntOop(initialPC(numLiterals)));
  mem.storePointer(ctx, 2, smallIntOop(0));
  mem.storePointer(ctx, 3, method);
  mem.storePointer(ctx, 4, nil);
  mem.storePointer(ctx, 5, nil);
  if (!vm.fetchContextRegisters(ctx)) throw new Error("harness context cannot run");

  const call = (fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): PrimitiveCall => {
    // stack depths are measured from the context's base: a collection may move the context
    const depth = vm.sp - vm.ctxBase;
    const collections = vm.collector.stats.youngCollections + vm.collector.stats.fullCollections;
    vm.push(receiver);
    for (const a of args) vm.push(a);
    vm.primFailCode = 0;
    const ok = fn(vm, args.length);
    recordPrimitiveCall(fn, ok);
    const moved = vm.collector.stats.youngCollections + vm.collector.stats.fullCollections !== collections;
    if (ok) {
      const left = vm.sp - vm.ctxBase - depth;
      if (left !== 1) throw new Error(`the primitive succeeded leaving ${left} values instead of 1`);
      const result = vm.stackTop();
      vm.sp = vm.ctxBase + depth;
      return { ok, result, code: 0 };
    }
    if (vm.sp - vm.ctxBase !== depth + 1 + args.length) throw new Error("the primitive failed but changed the stack depth");
    if (!moved) {
      const pushed = [receiver, ...args];
      pushed.forEach((v, i) => {
        if (vm.stackValue(args.length - i) !== v) throw new Error(`the primitive failed but changed stack slot ${i}`);
      });
    }
    vm.sp = vm.ctxBase + depth;
    return { ok, result: 0, code: vm.primFailCode };
  };

  const bytes = (values: number[], className = "ByteArray"): Oop => {
    const oop = mem.allocateBytes(classes[className], values.length);
    values.forEach((v, i) => mem.storeByte(oop, i, v));
    return oop;
  };

  const wordArray = (values: number[]): Oop => {
    const oop = mem.allocate(classes.WordArray, Format.words, values.length, 0);
    values.forEach((v, i) => mem.storeWord(oop, i, v));
    return oop;
  };

  const instance = (className: string, fields: Oop[]): Oop => {
    const oop = mem.instantiate(classes[className]);
    fields.forEach((f, i) => mem.storePointer(oop, i, f));
    return oop;
  };

  const defineClass = (superclass: string | Oop, spec: number, instSize: number): Oop => {
    const superOop = typeof superclass === "string" ? classes[superclass] : superclass;
    const cls = mem.allocate(mem.classOfPointer(classes.Object), Format.fixed, 11, nil);
    mem.storePointer(cls, 0, superOop);
    mem.storePointer(cls, 2, smallIntOop(classFormat(spec, instSize)));
    return cls;
  };

  const exhaustHeap = (): void => {
    for (let slots = 64 * 1024; slots >= 1; slots >>= 1) while (mem.allocate(classes.Array, Format.indexable, slots) !== 0);
    if (mem.allocate(classes.Array, Format.indexable, 0) !== 0) throw new Error("the heap still has room");
  };

  const answer = (fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): Oop => {
    const r = call(fn, receiver, ...args);
    if (!r.ok) throw new Error(`${fn.name || "the primitive"} failed with code ${r.code}`);
    return r.result;
  };

  const failure = (fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): number => {
    const r = call(fn, receiver, ...args);
    if (r.ok) throw new Error(`${fn.name || "the primitive"} succeeded where it should fail`);
    return r.code;
  };

  return { ...img, context: () => vm.activeContext, call, answer, failure, bytes, wordArray, instance, defineClass, exhaustHeap };
}
