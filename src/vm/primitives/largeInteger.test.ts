import { describe, expect, it } from "vitest";
import { createHarness } from "./numericTestHarness.js";
import {
  floorDivBig, floorModBig, integerOop, integerValueOf, largeIntegerPrimitives, parseIntegerText,
  primitiveIntegerFromString, primitiveIntegerPrintString, primitiveNormalize,
} from "./largeInteger.js";
import { PrimErr } from "./errors.js";
import { uncoveredPrimitives } from "./ledger.js";
import { Special } from "../memory/special.js";
import { MAX_SMALLINT, MIN_SMALLINT, type Oop } from "../memory/oop.js";
import { bigIntValueOf } from "../memory/integers.js";
import { PRIM_EXTERNAL_CALL } from "../method/header.js";
import { numbersModule } from "./float.js";

const h = createHarness();
const P = largeIntegerPrimitives;
const mem = h.img.mem;

/** A deterministic pseudo-random generator of integers of up to `maxBytes` bytes, both signs. */
function randomIntegers(count: number, maxBytes: number, seed = 7): bigint[] {
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = 1 + (next() % maxBytes);
    let v = 0n;
    for (let k = 0; k < bytes; k++) v = (v << 8n) | BigInt(next() & 0xff);
    out.push(next() & 1 ? -v : v);
  }
  return out;
}

const EDGES = [
  0n, 1n, -1n, 7n, -7n, BigInt(MAX_SMALLINT), BigInt(MIN_SMALLINT), BigInt(MAX_SMALLINT) + 1n, BigInt(MIN_SMALLINT) - 1n,
  2n ** 31n, -(2n ** 31n), 2n ** 32n - 1n, 2n ** 63n, -(2n ** 64n) + 3n, 10n ** 40n, -(10n ** 40n) - 12345n,
];
const VALUES = [...EDGES, ...randomIntegers(40, 24)];

/** Checks that `oop` is the normalized representation of `value`. */
function expectNormalized(oop: Oop, value: bigint): void {
  expect(h.intValue(oop)).toBe(value);
  if (value >= BigInt(MIN_SMALLINT) && value <= BigInt(MAX_SMALLINT)) {
    expect(oop & 1).toBe(1);
    return;
  }
  expect(h.className(oop)).toBe(value < 0n ? "LargeNegativeInteger" : "LargePositiveInteger");
  const n = mem.byteLength(oop);
  expect(mem.fetchByte(oop, n - 1)).not.toBe(0);
  // the lead's reader agrees with ours
  expect(bigIntValueOf(mem, oop)).toBe(value);
}

function call(n: number, a: bigint, b: bigint) {
  return h.call(P[n], h.int(a), h.int(b));
}

function expectInteger(n: number, a: bigint, b: bigint, expected: bigint): void {
  const r = call(n, a, b);
  expect(r.ok, `prim ${n} on ${a}, ${b}`).toBe(true);
  expect(r.stackIntact).toBe(true);
  expectNormalized(r.result, expected);
}

function expectBool(n: number, a: bigint, b: bigint, expected: boolean): void {
  const r = call(n, a, b);
  expect(r.ok).toBe(true);
  expect(r.stackIntact).toBe(true);
  expect(r.result).toBe(expected ? mem.trueOop : mem.falseOop);
}

function expectFailure(n: number, rcvr: Oop, arg: Oop, code: number): void {
  const r = h.call(P[n], rcvr, arg);
  expect(r.ok, `prim ${n} should fail`).toBe(false);
  expect(r.stackIntact).toBe(true);
  expect(r.failCode).toBe(code);
}

describe("conversions", () => {
  it("round-trips integers of every size through the heap", () => {
    for (const v of [...VALUES, 2n ** 8000n - 1n, -(3n ** 5000n)]) {
      const oop = integerOop(mem, v);
      expectNormalized(oop, v);
      expect(integerValueOf(mem, oop)).toBe(v);
    }
  });

  it("is fast for big integers", () => {
    const v = 7n ** 400000n; // about 140 kB
    const start = performance.now();
    const oop = integerOop(mem, v);
    expect(integerValueOf(mem, oop)).toBe(v);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it("reads non-normalized LargeIntegers", () => {
    const lpi = mem.allocateBytes(mem.specialObject(Special.classLargePositiveInteger), 6);
    mem.storeByte(lpi, 0, 5);
    expect(integerValueOf(mem, lpi)).toBe(5n);
    expect(integerValueOf(mem, mem.nilOop)).toBeUndefined();
    expect(integerValueOf(mem, h.float(1))).toBeUndefined();
  });
});

describe("LargeInteger arithmetic (20-22, 29-33)", () => {
  it("matches exact integer arithmetic for any mix of sizes and signs", () => {
    for (const a of VALUES) {
      for (const b of VALUES) {
        expectInteger(21, a, b, a + b);
        expectInteger(22, a, b, a - b);
        expectInteger(29, a, b, a * b);
        if (b === 0n) continue;
        expectInteger(20, a, b, a % b);
        expectInteger(33, a, b, a / b);
        expectInteger(32, a, b, floorDivBig(a, b));
        expectInteger(31, a, b, floorModBig(a, b));
      }
    }
  });

  it("uses Smalltalk's rounding: // and \\\\ floored, quo: and rem: truncated", () => {
    const a = -(10n ** 20n) - 1n;
    expectInteger(32, a, 10n, -(10n ** 19n) - 1n);
    expectInteger(31, a, 10n, 9n);
    expectInteger(33, a, 10n, -(10n ** 19n));
    expectInteger(20, a, 10n, -1n);
    expectInteger(31, 10n ** 20n + 1n, -10n, -9n);
    expectInteger(20, 10n ** 20n + 1n, -10n, 1n);
  });

  it("/ answers only exact quotients", () => {
    expectInteger(30, 10n ** 30n, 10n ** 10n, 10n ** 20n);
    expectInteger(30, -(2n ** 80n), 2n ** 40n, -(2n ** 40n));
    expectInteger(30, 2n ** 62n, 2n ** 61n, 2n);
    expectFailure(30, h.int(10n ** 30n + 1n), h.int(10n), PrimErr.inappropriate);
    expectFailure(30, h.int(2n ** 40n), h.int(3n), PrimErr.inappropriate);
  });

  it("fails on zero divisors", () => {
    for (const n of [20, 30, 31, 32, 33]) expectFailure(n, h.int(2n ** 70n), h.int(0), PrimErr.badArgument);
  });

  it("normalizes results that fit a SmallInteger", () => {
    expectInteger(22, 2n ** 40n, 2n ** 40n - 5n, 5n);
    expectInteger(21, BigInt(MAX_SMALLINT) + 1n, -1n, BigInt(MAX_SMALLINT));
    expectInteger(22, BigInt(MIN_SMALLINT) - 1n, -1n, BigInt(MIN_SMALLINT));
    expectInteger(32, 2n ** 80n, 2n ** 79n, 2n);
  });
});

describe("LargeInteger comparisons (23-28)", () => {
  it("compares any mix of sizes", () => {
    for (const a of EDGES) {
      for (const b of EDGES) {
        expectBool(23, a, b, a < b);
        expectBool(24, a, b, a > b);
        expectBool(25, a, b, a <= b);
        expectBool(26, a, b, a >= b);
        expectBool(27, a, b, a === b);
        expectBool(28, a, b, a !== b);
      }
    }
  });

  it("fails for non-integer arguments (the fallback coerces)", () => {
    for (let n = 20; n <= 37; n++) {
      expectFailure(n, h.int(2n ** 40n), h.float(2.5), PrimErr.badArgument);
      expectFailure(n, h.int(2n ** 40n), mem.nilOop, PrimErr.badArgument);
      expectFailure(n, h.float(2.5), h.int(2n ** 40n), PrimErr.badReceiver);
      expectFailure(n, h.string("12"), h.int(3), PrimErr.badReceiver);
    }
  });

  it("fails with the wrong number of arguments", () => {
    const r = h.call(P[21], h.int(2n ** 40n));
    expect(r.ok).toBe(false);
    expect(r.failCode).toBe(PrimErr.badNumArgs);
  });
});

describe("LargeInteger bit operations (34-37)", () => {
  it("and, or, xor in two's complement", () => {
    for (const a of VALUES) {
      for (const b of VALUES) {
        expectInteger(34, a, b, a & b);
        expectInteger(35, a, b, a | b);
        expectInteger(36, a, b, a ^ b);
      }
    }
    expectInteger(34, -1n, 2n ** 100n + 5n, 2n ** 100n + 5n);
    expectInteger(34, -(2n ** 64n), 2n ** 70n - 1n, 2n ** 70n - 2n ** 64n);
  });

  it("bitShift: left and right (arithmetic for negatives)", () => {
    for (const a of VALUES) {
      for (const s of [0, 1, 7, 31, 64, 200, -1, -8, -31, -64, -500]) {
        expectInteger(37, a, BigInt(s), s >= 0 ? a << BigInt(s) : a >> BigInt(-s));
      }
    }
    expectInteger(37, -(2n ** 70n) - 1n, -70n, -2n);
    expectInteger(37, 0n, 10n ** 9n, 0n);
  });

  it("bitShift: needs a SmallInteger count", () => {
    expectFailure(37, h.int(2n ** 40n), h.int(2n ** 40n), PrimErr.badArgument);
    expectFailure(37, h.int(2n ** 40n), h.float(3), PrimErr.badArgument);
  });
});

describe("heap limits", () => {
  it("fails instead of building results larger than the heap allows", () => {
    const small = createHarness({ limitBytes: 1024 * 1024 });
    const shift = small.call(P[37], small.int(3), small.int(100_000_000));
    expect(shift.ok).toBe(false);
    expect(shift.failCode).toBe(PrimErr.insufficientObjectMemory);
    expect(shift.stackIntact).toBe(true);
    const huge = small.int(2n ** 3_000_000n);
    const square = small.call(P[29], huge, huge);
    expect(square.ok).toBe(false);
    expect(square.failCode).toBe(PrimErr.insufficientObjectMemory);
    expect(square.stackIntact).toBe(true);
  });
});

describe("OzNumbers integer printing, parsing, normalizing", () => {
  const print = (v: bigint, base: number): string => {
    const r = h.call(primitiveIntegerPrintString, h.int(v), h.int(base));
    expect(r.ok).toBe(true);
    expect(r.stackIntact).toBe(true);
    expect(h.className(r.result)).toBe("ByteString");
    return h.stringValue(r.result);
  };

  it("prints in any radix with upper-case digits", () => {
    expect(print(255n, 16)).toBe("FF");
    expect(print(-255n, 16)).toBe("-FF");
    expect(print(0n, 2)).toBe("0");
    expect(print(35n, 36)).toBe("Z");
    expect(print(10n, 2)).toBe("1010");
    expect(print(100n, 10)).toBe("100");
    expect(print(BigInt(MIN_SMALLINT), 10)).toBe(String(MIN_SMALLINT));
    expect(print(2n ** 100n, 10)).toBe("1267650600228229401496703205376");
    expect(print(-(2n ** 64n), 16)).toBe("-10000000000000000");
    for (const v of VALUES) for (const base of [2, 7, 10, 16, 36]) expect(print(v, base)).toBe(v.toString(base).toUpperCase());
  });

  it("print fails for bad receivers and bases", () => {
    for (const [rcvr, base, code] of [
      [h.float(1), h.int(10), PrimErr.badReceiver],
      [h.int(5), h.int(1), PrimErr.badArgument],
      [h.int(5), h.int(37), PrimErr.badArgument],
      [h.int(5), mem.nilOop, PrimErr.badArgument],
    ] as const) {
      const r = h.call(primitiveIntegerPrintString, rcvr, base);
      expect(r.ok).toBe(false);
      expect(r.failCode).toBe(code);
      expect(r.stackIntact).toBe(true);
    }
  });

  const parse = (text: string, base: number) => h.call(primitiveIntegerFromString, mem.nilOop, h.string(text), h.int(base));

  it("parses digits of any radix (either case) with an optional minus sign", () => {
    const cases: Array<[string, number, bigint]> = [
      ["FF", 16, 255n], ["ff", 16, 255n], ["-ff", 16, -255n], ["0", 10, 0n], ["-0", 10, 0n],
      ["1010", 2, 10n], ["zz", 36, 1295n], ["123456789012345678901234567890", 10, 123456789012345678901234567890n],
      ["777", 8, 511n], ["1073741823", 10, 1073741823n], ["-1073741825", 10, -1073741825n],
    ];
    for (const [text, base, value] of cases) {
      const r = parse(text, base);
      expect(r.ok, text).toBe(true);
      expect(r.stackIntact).toBe(true);
      expectNormalized(r.result, value);
    }
    for (const v of VALUES) for (const base of [3, 10, 16, 36]) expect(parseIntegerText(v.toString(base), base)).toBe(v);
  });

  it("parse fails for anything else", () => {
    for (const [text, base] of [["", 10], ["-", 10], ["12a", 10], ["G", 16], ["1 2", 10], ["+5", 10], ["1.5", 10], ["2", 2]] as const) {
      const r = parse(text, base);
      expect(r.ok, text).toBe(false);
      expect(r.failCode).toBe(PrimErr.badArgument);
      expect(r.stackIntact).toBe(true);
    }
    const notString = h.call(primitiveIntegerFromString, mem.nilOop, h.int(12), h.int(10));
    expect(notString.ok).toBe(false);
    const badBase = h.call(primitiveIntegerFromString, mem.nilOop, h.string("12"), h.int(40));
    expect(badBase.ok).toBe(false);
  });

  it("normalizes hand-built LargeIntegers", () => {
    const build = (cls: number, bytes: number[]) => {
      const oop = mem.allocateBytes(mem.specialObject(cls), bytes.length);
      bytes.forEach((b, i) => mem.storeByte(oop, i, b));
      return oop;
    };
    const small = h.call(primitiveNormalize, build(Special.classLargePositiveInteger, [5, 0, 0, 0, 0, 0]));
    expect(small.ok).toBe(true);
    expect(small.result).toBe(h.int(5));
    const negSmall = h.call(primitiveNormalize, build(Special.classLargeNegativeInteger, [0, 0, 0, 0x40]));
    expect(negSmall.result).toBe(h.int(MIN_SMALLINT));
    const padded = h.call(primitiveNormalize, build(Special.classLargePositiveInteger, [1, 2, 3, 4, 5, 0, 0]));
    expectNormalized(padded.result, 0x0504030201n);
    expect(mem.byteLength(padded.result)).toBe(5);
    const already = build(Special.classLargeNegativeInteger, [0, 0, 0, 0, 1]);
    expect(h.call(primitiveNormalize, already).result).toBe(already);
    expect(h.call(primitiveNormalize, h.int(3)).result).toBe(h.int(3));
    const bad = h.call(primitiveNormalize, h.float(3));
    expect(bad.ok).toBe(false);
    expect(bad.failCode).toBe(PrimErr.badReceiver);
    expect(bad.stackIntact).toBe(true);
  });
});

describe("through sends", () => {
  it("LargePositiveInteger>>+ runs primitive 21 or falls back", () => {
    const img = h.img;
    const failed = img.sym("failed");
    img.defineMethod("LargePositiveInteger", "+", [0x20, 0x7c], [failed], { primitive: 21 });
    const plus = img.sym("+");
    const ok = img.run([0x20, 0x21, 0xe2, 0x7c], [img.int(2n ** 40n), img.int(2n ** 40n), plus]);
    expect(ok.slice.fault).toBeUndefined();
    expect(h.intValue(ok.result!)).toBe(2n ** 41n);
    const fallback = img.run([0x20, 0x21, 0xe2, 0x7c], [img.int(2n ** 40n), img.float(1), plus]);
    expect(fallback.result).toBe(failed);
  });

  it("Integer>>printString: through the OzNumbers module", () => {
    const img = h.img;
    img.vm.registerModule("OzNumbers", numbersModule);
    const spec = img.array([img.string("OzNumbers"), img.string("primitiveIntegerPrintString"), img.int(0), img.int(0)]);
    img.defineMethod("Integer", "printString:", [0x21, 0x7c], [spec, img.sym("failed")], { primitive: PRIM_EXTERNAL_CALL });
    const r = img.run([0x20, 0x21, 0xe2, 0x7c], [img.int(-(2n ** 70n)), img.int(16), img.sym("printString:")]);
    expect(r.slice.fault).toBeUndefined();
    expect(h.stringValue(r.result!)).toBe("-400000000000000000");
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(uncoveredPrimitives(largeIntegerPrimitives)).toEqual({ notSucceeded: [], notFailed: [] });
    // the Float half of the OzNumbers module is covered in float.test.ts
    const { primitiveIntegerPrintString, primitiveIntegerFromString, primitiveNormalize } = numbersModule;
    expect(uncoveredPrimitives({ primitiveIntegerPrintString, primitiveIntegerFromString, primitiveNormalize })).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
