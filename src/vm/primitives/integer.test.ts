import { describe, expect, it } from "vitest";
import { createHarness } from "./numericTestHarness.js";
import { integerPrimitives } from "./integer.js";
import { PrimErr } from "./errors.js";
import { uncoveredPrimitives } from "./ledger.js";
import { MAX_SMALLINT, MIN_SMALLINT } from "../memory/oop.js";
import { PointLayout } from "../memory/layout.js";
import { Special } from "../memory/special.js";

const h = createHarness();
const P = integerPrimitives;

/** Calls primitive `n` with SmallInteger receiver and argument and answers the integer result. */
function intResult(n: number, a: number, b: number): bigint {
  const r = h.call(P[n], h.int(a), h.int(b));
  expect(r.ok).toBe(true);
  expect(r.stackIntact).toBe(true);
  return h.intValue(r.result);
}

function boolResult(n: number, a: number, b: number): boolean {
  const r = h.call(P[n], h.int(a), h.int(b));
  expect(r.ok).toBe(true);
  expect(r.stackIntact).toBe(true);
  expect(h.isTrue(r.result) || h.isFalse(r.result)).toBe(true);
  return h.isTrue(r.result);
}

function expectFail(n: number, rcvr: number, arg: number, code?: number): void {
  const r = h.call(P[n], rcvr, arg);
  expect(r.ok).toBe(false);
  expect(r.stackIntact).toBe(true);
  if (code !== undefined) expect(r.failCode).toBe(code);
}

describe("SmallInteger arithmetic (1, 2, 9)", () => {
  it("adds, subtracts and multiplies", () => {
    expect(intResult(1, 3, 4)).toBe(7n);
    expect(intResult(1, -3, 1)).toBe(-2n);
    expect(intResult(2, 3, 10)).toBe(-7n);
    expect(intResult(9, -6, 7)).toBe(-42n);
    expect(intResult(1, MAX_SMALLINT - 1, 1)).toBe(BigInt(MAX_SMALLINT));
    expect(intResult(2, MIN_SMALLINT + 1, 1)).toBe(BigInt(MIN_SMALLINT));
    expect(intResult(9, 32768, 32767)).toBe(32768n * 32767n);
  });

  it("fails on overflow, leaving the stack alone", () => {
    expectFail(1, h.int(MAX_SMALLINT), h.int(1));
    expectFail(2, h.int(MIN_SMALLINT), h.int(1));
    expectFail(9, h.int(65536), h.int(65536));
    expectFail(9, h.int(MIN_SMALLINT), h.int(-1));
    expectFail(9, h.int(MAX_SMALLINT), h.int(MAX_SMALLINT));
  });

  it("fails for non-SmallInteger operands", () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]) {
      expectFail(n, h.int(3), h.float(1.5), PrimErr.badArgument);
      expectFail(n, h.int(3), h.int(2n ** 40n), PrimErr.badArgument);
      expectFail(n, h.int(3), h.img.mem.nilOop, PrimErr.badArgument);
      expectFail(n, h.float(3), h.int(2), PrimErr.badReceiver);
      expectFail(n, h.int(2n ** 40n), h.int(2), PrimErr.badReceiver);
    }
  });

  it("fails when called with the wrong number of arguments", () => {
    const r = h.call(P[1], h.int(1));
    expect(r.ok).toBe(false);
    expect(r.failCode).toBe(PrimErr.badNumArgs);
    expect(r.stackIntact).toBe(true);
  });
});

describe("SmallInteger division (10-13)", () => {
  it("/ answers only exact quotients", () => {
    expect(intResult(10, 12, 4)).toBe(3n);
    expect(intResult(10, -12, 4)).toBe(-3n);
    expect(intResult(10, 0, -5)).toBe(0n);
    expectFail(10, h.int(7), h.int(2), PrimErr.inappropriate);
    expectFail(10, h.int(7), h.int(0), PrimErr.badArgument);
    expectFail(10, h.int(MIN_SMALLINT), h.int(-1));
  });

  it("// and \\\\ are floored, quo: is truncated", () => {
    const cases: Array<[number, number, number, number, number]> = [
      // a, b, a // b, a \\ b, a quo: b
      [7, 2, 3, 1, 3],
      [-7, 2, -4, 1, -3],
      [7, -2, -4, -1, -3],
      [-7, -2, 3, -1, 3],
      [6, 3, 2, 0, 2],
      [-6, 3, -2, 0, -2],
      [0, 5, 0, 0, 0],
      [MIN_SMALLINT, 7, Math.floor(MIN_SMALLINT / 7), ((MIN_SMALLINT % 7) + 7) % 7, Math.trunc(MIN_SMALLINT / 7)],
      [MAX_SMALLINT, -3, Math.floor(MAX_SMALLINT / -3), MAX_SMALLINT - Math.floor(MAX_SMALLINT / -3) * -3, Math.trunc(MAX_SMALLINT / -3)],
    ];
    for (const [a, b, div, mod, quo] of cases) {
      expect(intResult(12, a, b)).toBe(BigInt(div));
      expect(intResult(11, a, b)).toBe(BigInt(mod));
      expect(intResult(13, a, b)).toBe(BigInt(quo));
      // the Smalltalk identities
      expect(BigInt(div) * BigInt(b) + BigInt(mod)).toBe(BigInt(a));
    }
  });

  it("fail on zero divisors and on overflow", () => {
    for (const n of [11, 12, 13]) expectFail(n, h.int(5), h.int(0), PrimErr.badArgument);
    expectFail(12, h.int(MIN_SMALLINT), h.int(-1));
    expectFail(13, h.int(MIN_SMALLINT), h.int(-1));
    expect(intResult(11, MIN_SMALLINT, -1)).toBe(0n);
  });
});

describe("SmallInteger comparisons (3-8)", () => {
  it("compares", () => {
    const pairs: Array<[number, number]> = [[1, 2], [2, 1], [3, 3], [-5, 4], [MIN_SMALLINT, MAX_SMALLINT]];
    for (const [a, b] of pairs) {
      expect(boolResult(3, a, b)).toBe(a < b);
      expect(boolResult(4, a, b)).toBe(a > b);
      expect(boolResult(5, a, b)).toBe(a <= b);
      expect(boolResult(6, a, b)).toBe(a >= b);
      expect(boolResult(7, a, b)).toBe(a === b);
      expect(boolResult(8, a, b)).toBe(a !== b);
    }
  });
});

describe("SmallInteger bit operations (14-17)", () => {
  it("and, or, xor in two's complement", () => {
    const values = [0, 1, -1, 12, -12, 0x2aaaaaaa, -0x15555556, MAX_SMALLINT, MIN_SMALLINT];
    for (const a of values) {
      for (const b of values) {
        expect(intResult(14, a, b)).toBe(BigInt(a) & BigInt(b));
        expect(intResult(15, a, b)).toBe(BigInt(a) | BigInt(b));
        expect(intResult(16, a, b)).toBe(BigInt(a) ^ BigInt(b));
      }
    }
  });

  it("bitShift: shifts left while the result fits and right arithmetically", () => {
    expect(intResult(17, 1, 4)).toBe(16n);
    expect(intResult(17, -3, 2)).toBe(-12n);
    expect(intResult(17, 1, 29)).toBe(2n ** 29n);
    expect(intResult(17, -1, 30)).toBe(BigInt(MIN_SMALLINT));
    expect(intResult(17, 0, 1000)).toBe(0n);
    expect(intResult(17, 17, -2)).toBe(4n);
    expect(intResult(17, -17, -2)).toBe(-5n);
    expect(intResult(17, MAX_SMALLINT, -40)).toBe(0n);
    expect(intResult(17, MIN_SMALLINT, -40)).toBe(-1n);
    expect(intResult(17, MIN_SMALLINT, -30)).toBe(-1n);
    expect(intResult(17, 5, 0)).toBe(5n);
    expectFail(17, h.int(1), h.int(30));
    expectFail(17, h.int(3), h.int(29));
    expectFail(17, h.int(1), h.int(31));
    expectFail(17, h.int(1), h.int(100000));
  });
});

describe("makePoint (18)", () => {
  it("answers a Point of the special class with x and y", () => {
    const r = h.call(P[18], h.int(3), h.int(4));
    expect(r.ok).toBe(true);
    expect(r.stackIntact).toBe(true);
    expect(h.className(r.result)).toBe("Point");
    expect(h.img.mem.fetchClassOf(r.result)).toBe(h.img.mem.specialObject(Special.classPoint));
    expect(h.intValue(h.img.mem.fetchPointer(r.result, PointLayout.x))).toBe(3n);
    expect(h.intValue(h.img.mem.fetchPointer(r.result, PointLayout.y))).toBe(4n);
    const f = h.call(P[18], h.float(1.5), h.int(-2));
    expect(f.ok).toBe(true);
    expect(h.floatValue(h.img.mem.fetchPointer(f.result, PointLayout.x))).toBe(1.5);
  });

  it("fails for non-numbers", () => {
    expectFail(18, h.int(3), h.img.mem.nilOop, PrimErr.badArgument);
    expectFail(18, h.string("x"), h.int(3), PrimErr.badReceiver);
  });
});

describe("asFloat (40) and hashMultiply (159)", () => {
  it("converts SmallIntegers and LargeIntegers to Floats", () => {
    for (const v of [0, 1, -1, MAX_SMALLINT, MIN_SMALLINT]) {
      const r = h.call(P[40], h.int(v));
      expect(r.ok).toBe(true);
      expect(r.stackIntact).toBe(true);
      expect(h.floatValue(r.result)).toBe(v);
    }
    const big = 2n ** 64n + 1n;
    expect(h.floatValue(h.call(P[40], h.int(big)).result)).toBe(2 ** 64);
    // correctly rounded (ties to even) and infinite beyond the range
    const asFloat = (v: bigint) => h.floatValue(h.call(P[40], h.int(v)).result);
    expect(asFloat(0x1ffffffffffff0801n)).not.toBe(asFloat(0x1ffffffffffff0800n));
    expect(asFloat(0x1ffffffffffff0802n)).not.toBe(asFloat(0x1ffffffffffff0800n));
    expect(asFloat(0x1fffffffffff1f800n)).toBe(asFloat(0x1fffffffffff20000n));
    expect(asFloat(0x1ffffffffffff0800n)).toBe(asFloat(0x1ffffffffffff0000n));
    expect(h.floatValue(h.call(P[40], h.int(-(2n ** 1100n))).result)).toBe(-Infinity);
  });

  it("asFloat fails for non-integers", () => {
    const r = h.call(P[40], h.float(1));
    expect(r.ok).toBe(false);
    expect(r.failCode).toBe(PrimErr.badReceiver);
    expect(r.stackIntact).toBe(true);
  });

  it("hashMultiply is (self * 1664525) bitAnd: 16r0FFFFFFF", () => {
    for (const v of [0n, 1n, 12345n, -1n, -987654n, BigInt(MAX_SMALLINT), BigInt(MIN_SMALLINT), 2n ** 40n + 77n]) {
      const r = h.call(P[159], h.int(v));
      expect(r.ok).toBe(true);
      expect(r.stackIntact).toBe(true);
      expect(h.intValue(r.result)).toBe((v * 1664525n) & 0x0fffffffn);
    }
    const f = h.call(P[159], h.float(2));
    expect(f.ok).toBe(false);
    expect(f.stackIntact).toBe(true);
  });
});

describe("through a send", () => {
  it("runs the primitive, or the method's code when it fails", () => {
    const img = h.img;
    const failed = img.sym("failed");
    // SmallInteger>>+ aNumber <primitive: 1> ^#failed
    img.defineMethod("SmallInteger", "+", [0x20, 0x7c], [failed], { primitive: 1 });
    const plus = img.sym("+");
    const ok = img.run([0x20, 0x21, 0xe2, 0x7c], [img.int(40), img.int(2), plus]);
    expect(ok.slice.fault).toBeUndefined();
    expect(ok.result).toBe(img.int(42));
    const overflow = img.run([0x20, 0x21, 0xe2, 0x7c], [img.int(MAX_SMALLINT), img.int(1), plus]);
    expect(overflow.result).toBe(failed);
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(uncoveredPrimitives(integerPrimitives)).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
