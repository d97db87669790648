/**
 * Test support for the numeric primitives: calls a primitive function directly on a micro image, with
 * the receiver and arguments pushed on a scratch context's stack, and reports what it left there.
 */
import { createMicroImage, type MicroImage } from "../testing/microImage.js";
import { Format } from "../memory/format.js";
import { Special } from "../memory/special.js";
import type { Oop } from "../memory/oop.js";
import type { HeapOptions } from "../memory/heap.js";
import type { PrimitiveFn } from "./table.js";
import { recordPrimitiveCall } from "./ledger.js";
import { integerOop, integerValueOf } from "./largeInteger.js";

export interface PrimCall {
  /** what the primitive answered */
  ok: boolean;
  /** the top of the stack afterwards (the result on success) */
  result: Oop;
  /** the failure code the primitive set (0 when none) */
  failCode: number;
  /** on failure: the stack is exactly as before the call; on success: receiver and arguments were replaced by one result */
  stackIntact: boolean;
}

export interface PrimHarness {
  img: MicroImage;
  call(fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): PrimCall;
  int(value: number | bigint): Oop;
  float(value: number): Oop;
  string(text: string): Oop;
  /** the integer value of an oop (throws when it is not an integer) */
  intValue(oop: Oop): bigint;
  floatValue(oop: Oop): number;
  stringValue(oop: Oop): string;
  className(oop: Oop): string;
  isTrue(oop: Oop): boolean;
  isFalse(oop: Oop): boolean;
}

const SENTINEL = (4242 << 1) | 1;

export function createHarness(options: HeapOptions = {}): PrimHarness {
  const img = createMicroImage(options);
  const { mem, vm } = img;
  const scratch = mem.allocate(img.classes.Context, Format.fixedIndexable, 6 + 56);
  const handle = mem.newHandle(scratch);

  const call = (fn: PrimitiveFn, receiver: Oop, ...args: Oop[]): PrimCall => {
    const base = mem.bodyIndex(handle.oop);
    vm.sp = base + 5 + 2;
    vm.words[vm.sp] = SENTINEL;
    vm.push(receiver);
    for (const a of args) vm.push(a);
    const before = Array.from(vm.words.subarray(vm.sp - args.length, vm.sp + 1));
    const spBefore = vm.sp;
    vm.primFailCode = 0;
    const ok = fn(vm, args.length);
    recordPrimitiveCall(fn, ok);
    let stackIntact: boolean;
    if (ok) {
      stackIntact = vm.sp === spBefore - args.length && vm.words[vm.sp - 1] === SENTINEL;
    } else {
      const after = Array.from(vm.words.subarray(spBefore - args.length, spBefore + 1));
      stackIntact = vm.sp === spBefore && after.every((v, i) => v === before[i]) && vm.words[spBefore - args.length - 1] === SENTINEL;
    }
    return { ok, result: vm.stackTop(), failCode: vm.primFailCode, stackIntact };
  };

  const className = (oop: Oop): string => {
    const cls = mem.fetchClassOf(oop);
    for (const [name, c] of Object.entries(img.classes)) if (c === cls) return name;
    return "?";
  };

  return {
    img,
    call,
    int: (v) => {
      const oop = integerOop(mem, BigInt(v));
      if (oop === 0) throw new Error("heap full");
      return oop;
    },
    float: (v) => img.float(v),
    string: (t) => img.string(t),
    intValue: (oop) => {
      const v = integerValueOf(mem, oop);
      if (v === undefined) throw new Error(`not an integer: ${className(oop)}`);
      return v;
    },
    floatValue: (oop) => {
      if ((oop & 3) !== 0 || mem.classOfPointer(oop) !== mem.specialObject(Special.classFloat)) throw new Error(`not a Float: ${className(oop)}`);
      return mem.floatValueOf(oop);
    },
    stringValue: (oop) => {
      if ((oop & 3) !== 0 || !mem.hasBytes(oop)) throw new Error(`not a string: ${className(oop)}`);
      return mem.stringOf(oop);
    },
    className,
    isTrue: (oop) => oop === mem.trueOop,
    isFalse: (oop) => oop === mem.falseOop,
  };
}
