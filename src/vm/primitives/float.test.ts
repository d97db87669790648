import { describe, expect, it } from "vitest";
import { createHarness } from "./numericTestHarness.js";
import {
  floatExponent, floatFromWords, floatPrimitives, floatWords, fractionPart, ldexp, numbersModule,
  parseFloatText, printFloat, ratioToFloat,
} from "./float.js";
import { PrimErr } from "./errors.js";
import { uncoveredPrimitives } from "./ledger.js";
import { MAX_SMALLINT, MIN_SMALLINT, type Oop } from "../memory/oop.js";
import { Format } from "../memory/format.js";
import { PRIM_EXTERNAL_CALL } from "../method/header.js";

const h = createHarness();
const P = floatPrimitives;
const mem = h.img.mem;

function randomDoubles(count: number, seed = 99): number[] {
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const out: number[] = [];
  while (out.length < count) {
    const v = floatFromWords(next(), next());
    if (Number.isFinite(v)) out.push(v);
  }
  return out;
}

/** Pharo's layout of the shortest digits, built independently from JavaScript's shortest conversion. */
function referencePrint(x: number): string {
  if (Number.isNaN(x)) return "Float nan";
  if (!Number.isFinite(x)) return x > 0 ? "Float infinity" : "Float infinity negated";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  if (e >= -4 && e <= 5) {
    if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
    const intPart = digits.slice(0, e + 1).padEnd(e + 1, "0");
    const frac = digits.slice(e + 1) || "0";
    return `${sign}${intPart}.${frac}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || "0"}e${e}`;
}

function floatCall(n: number, rcvr: Oop, ...args: Oop[]) {
  const r = h.call(P[n], rcvr, ...args);
  expect(r.ok, `prim ${n}`).toBe(true);
  expect(r.stackIntact).toBe(true);
  return r.result;
}

function floatResult(n: number, rcvr: Oop, ...args: Oop[]): number {
  return h.floatValue(floatCall(n, rcvr, ...args));
}

function boolResult(n: number, a: Oop, b: Oop): boolean {
  const r = floatCall(n, a, b);
  expect(r === mem.trueOop || r === mem.falseOop).toBe(true);
  return r === mem.trueOop;
}

function expectFailure(n: number, code: number | undefined, rcvr: Oop, ...args: Oop[]): void {
  const r = h.call(P[n], rcvr, ...args);
  expect(r.ok, `prim ${n} should fail`).toBe(false);
  expect(r.stackIntact).toBe(true);
  if (code !== undefined) expect(r.failCode).toBe(code);
}

describe("IEEE helpers", () => {
  it("ldexp rounds once, also in the subnormal range", () => {
    expect(ldexp(1, 10)).toBe(1024);
    expect(ldexp(1.5, -1)).toBe(0.75);
    expect(ldexp(1, 1023)).toBe(2 ** 1023);
    expect(ldexp(1, 1024)).toBe(Infinity);
    expect(ldexp(2 ** -1074, 2000)).toBe(2 ** 926);
    expect(ldexp(2 ** 1000, -2000)).toBe(2 ** -1000);
    expect(ldexp(1, -1074)).toBe(5e-324);
    expect(ldexp(1, -1075)).toBe(0);
    expect(ldexp(1.5, -1075)).toBe(5e-324);
    expect(ldexp(3, -1076)).toBe(5e-324); // 0.75 ulp rounds up
    expect(ldexp(1 + 2 ** -52, -1070)).toBe(2 ** -1070); // the low bit is lost once, rounded to even
    expect(ldexp(-3, 1)).toBe(-6);
    expect(Object.is(ldexp(-0, 5), -0)).toBe(true);
    expect(ldexp(NaN, 3)).toBeNaN();
    expect(ldexp(Infinity, -3000)).toBe(Infinity);
    for (const x of randomDoubles(200)) {
      for (const n of [-2200, -1100, -60, -1, 0, 1, 60, 1100, 2200]) {
        const expected = ratioExact(x, n);
        expect(ldexp(x, n)).toBe(expected);
      }
    }
  });

  it("exponent is floor(log2 |x|), -1 for zero, infinities and NaN", () => {
    expect(floatExponent(1)).toBe(0);
    expect(floatExponent(1.99)).toBe(0);
    expect(floatExponent(2)).toBe(1);
    expect(floatExponent(0.5)).toBe(-1);
    expect(floatExponent(-1024.5)).toBe(10);
    expect(floatExponent(5e-324)).toBe(-1074);
    expect(floatExponent(2 ** -1022)).toBe(-1022);
    expect(floatExponent(2 ** -1030 * 3)).toBe(-1029);
    expect(floatExponent(Number.MAX_VALUE)).toBe(1023);
    expect(floatExponent(0)).toBe(-1);
    expect(floatExponent(Infinity)).toBe(-1);
    expect(floatExponent(NaN)).toBe(-1);
  });

  it("fractionPart keeps the sign as C's modf does", () => {
    expect(fractionPart(2.5)).toBe(0.5);
    expect(fractionPart(-2.5)).toBe(-0.5);
    expect(Object.is(fractionPart(-2), -0)).toBe(true);
    expect(Object.is(fractionPart(3), 0)).toBe(true);
    expect(Object.is(fractionPart(-Infinity), -0)).toBe(true);
    expect(fractionPart(NaN)).toBeNaN();
  });

  it("ratioToFloat rounds exact ratios to nearest, ties to even", () => {
    expect(ratioToFloat(1n, 3n)).toBe(1 / 3);
    expect(ratioToFloat(1n, 10n)).toBe(0.1);
    expect(ratioToFloat(2n ** 53n + 1n, 1n)).toBe(2 ** 53);
    expect(ratioToFloat(2n ** 53n + 3n, 1n)).toBe(2 ** 53 + 4);
    expect(ratioToFloat(1n, 2n ** 1075n)).toBe(0);
    expect(ratioToFloat(3n, 2n ** 1076n)).toBe(5e-324);
    expect(ratioToFloat(2n ** 1024n, 1n)).toBe(Infinity);
    expect(ratioToFloat(2n ** 1024n - 2n ** 970n, 1n)).toBe(Infinity);
    expect(ratioToFloat(2n ** 1024n - 2n ** 971n, 1n)).toBe(Number.MAX_VALUE);
  });
});

/** Whether x is exactly halfway between the numbers that the printed texts a and b denote. */
function isExactMidpoint(x: number, a: string, b: string): boolean {
  const decimal = (text: string): [bigint, number] => {
    const [m, e] = text.replace(/^-/, "").split("e");
    const [int, frac] = m.split(".");
    return [BigInt(int + frac), Number(e ?? 0) - frac.length];
  };
  const [ma, ea] = decimal(a);
  const [mb, eb] = decimal(b);
  if (ea !== eb) return false;
  const [hi, lo] = floatWords(Math.abs(x));
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const sig = biased === 0 ? frac : frac | (1n << 52n);
  const e2 = biased === 0 ? -1074 : biased - 1075;
  // 2 * sig * 2^e2 == (ma + mb) * 10^ea, both sides scaled to integers
  let left = 2n * sig;
  let right = ma + mb;
  if (e2 >= 0) left <<= BigInt(e2);
  else right <<= BigInt(-e2);
  if (ea >= 0) right *= 10n ** BigInt(ea);
  else left *= 10n ** BigInt(-ea);
  return left === right;
}

/** x * 2^n through exact rationals, as a check of ldexp. */
function ratioExact(x: number, n: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const [hi, lo] = floatWords(Math.abs(x));
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const sig = biased === 0 ? frac : frac | (1n << 52n);
  const e = (biased === 0 ? -1074 : biased - 1075) + n;
  const v = e >= 0 ? ratioToFloat(sig << BigInt(e), 1n) : ratioToFloat(sig, 1n << BigInt(-e));
  return x < 0 ? -v : v;
}

describe("printing as Pharo's Float>>printString", () => {
  it("prints the documented cases", () => {
    const cases: Array<[number, string]> = [
      [0.1, "0.1"], [1, "1.0"], [100, "100.0"], [123.456, "123.456"], [-1.5, "-1.5"], [0.5, "0.5"],
      [1e16, "1.0e16"], [1e15, "1.0e15"], [1e6, "1.0e6"], [1234567, "1.234567e6"], [123456, "123456.0"],
      [999999, "999999.0"], [100000, "100000.0"], [1e-5, "1.0e-5"], [1.5e-5, "1.5e-5"], [0.0001, "0.0001"],
      [0.001, "0.001"], [0.00012, "0.00012"], [0.3, "0.3"], [0.1 + 0.2, "0.30000000000000004"], [1 / 3, "0.3333333333333333"],
      [Math.PI, "3.141592653589793"], [Math.SQRT2, "1.4142135623730951"], [2 ** 52, "4.503599627370496e15"],
      [Number.MAX_VALUE, "1.7976931348623157e308"], [5e-324, "5.0e-324"], [2 ** -1022, "2.2250738585072014e-308"],
      [1e23, "1.0e23"], [9007199254740993, "9.007199254740992e15"], [12.0, "12.0"], [-0.0001, "-0.0001"],
      [0, "0.0"], [-0, "-0.0"], [NaN, "Float nan"], [Infinity, "Float infinity"], [-Infinity, "Float infinity negated"],
    ];
    for (const [x, text] of cases) expect(printFloat(x), String(x)).toBe(text);
    // 100 factorial asFloat
    let f = 1n;
    for (let i = 2n; i <= 100n; i++) f *= i;
    expect(printFloat(Number(f))).toBe("9.332621544394415e157");
  });

  it("prints the shortest digits that read back, for many random Floats", () => {
    let ties = 0;
    const check = (x: number) => {
      const text = printFloat(x);
      const reference = referencePrint(x);
      expect(parseFloatText(text)).toBe(x);
      if (text === reference) return;
      // JavaScript breaks a tie between two shortest candidates toward the even digit, Pharo upward
      ties++;
      expect(text.length, String(x)).toBe(reference.length);
      expect(isExactMidpoint(x, text, reference), `${x}: ${text} vs ${reference}`).toBe(true);
    };
    for (const x of randomDoubles(20000)) check(x);
    for (let i = 1; i < 2000; i++) for (const x of [i / 1000, i * 1.1, i / 7, 1 / i, i * 1e-7, i * 1e20]) check(x);
    // powers of two have an asymmetric rounding interval; also their neighbours and the subnormals
    for (let e = -1074; e <= 1023; e++) {
      const p = ldexp(1, e);
      for (const x of [p, p * (1 + 2 ** -52), p * (1 - 2 ** -53), p * 3, p * 5]) if (Number.isFinite(x) && x > 0) check(x);
    }
    expect(ties).toBeLessThan(20);
  });

  it("breaks ties between shortest candidates upward, as Pharo's algorithm does", () => {
    // 235639278121194.625 exactly: ...462 and ...463 are equally close
    expect(printFloat(235639278121194.625)).toBe("2.3563927812119463e14");
  });

  it("prints in other bases", () => {
    expect(printFloat(1.5, 2)).toBe("1.1");
    expect(printFloat(255, 16)).toBe("FF.0");
    expect(printFloat(-0.5, 16)).toBe("-0.8");
    expect(printFloat(2 ** 40, 2)).toBe("1.0e40");
    expect(printFloat(0.1, 3)).toBe(printFloat(0.1, 3));
    expect(parseFloatText("3r" + printFloat(0.1, 3))).toBe(0.1);
    for (const x of randomDoubles(500, 5)) {
      for (const base of [2, 8, 16, 36]) {
        const text = printFloat(x, base);
        const literal = text.startsWith("-") ? `-${base}r${text.slice(1)}` : `${base}r${text}`;
        expect(parseFloatText(literal), literal).toBe(x);
      }
    }
  });
});

describe("parsing Smalltalk number syntax", () => {
  it("reads literals", () => {
    const cases: Array<[string, number]> = [
      ["1.5", 1.5], ["-1.5e-3", -0.0015], ["1e-2", 0.01], ["1e3", 1000], ["12", 12], ["2r1.1", 1.5],
      ["16r1F.8", 31.5], ["2r1e4", 16], ["36rZZ", 1295], ["-16r10", -16], ["1.0e1000", Infinity], ["1e-400", 0],
      ["3.14159265358979323846264338327950288", Math.PI], ["2.4703282292062327e-324", 0],
      ["2.4703282292062328e-324", 5e-324], ["1.7976931348623157e308", Number.MAX_VALUE], ["1.5d2", 150], ["1.5q-1", 0.15],
      ["1" + "0".repeat(321) + ".0e-321", 1], ["0." + "0".repeat(320) + "1e321", 1], ["Infinity", Infinity],
      ["-Infinity", -Infinity],
    ];
    for (const [text, value] of cases) expect(parseFloatText(text), text).toBe(value);
    expect(Object.is(parseFloatText("-0.0"), -0)).toBe(true);
    expect(parseFloatText("NaN")).toBeNaN();
  });

  it("rounds exactly like JavaScript's decimal reader", () => {
    let seed = 17;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 5000; i++) {
      const digits = String(next()) + String(next()) + String(next());
      const len = 1 + (next() % digits.length);
      const point = 1 + (next() % len);
      const exp = (next() % 700) - 350;
      const text = `${digits.slice(0, point)}.${digits.slice(point, len) || "0"}e${exp}`;
      expect(parseFloatText(text), text).toBe(Number(text));
    }
  });

  it("rejects anything else", () => {
    for (const text of ["", "-", "1.", ".5", "e5", "1e", "1e-", "1.5x", "16rff", "1r5", "37r1", " 1", "1 ", "1.5s2", "+1", "1e+5", "--1", "nan"]) {
      expect(parseFloatText(text), text).toBeUndefined();
    }
  });
});

describe("Float arithmetic and comparisons (41-50)", () => {
  it("computes with Floats and SmallIntegers", () => {
    expect(floatResult(41, h.float(1.5), h.float(2.25))).toBe(3.75);
    expect(floatResult(41, h.float(0.1), h.float(0.2))).toBe(0.1 + 0.2);
    expect(floatResult(41, h.float(1.5), h.int(2))).toBe(3.5);
    expect(floatResult(41, h.int(2), h.float(1.5))).toBe(3.5);
    expect(floatResult(42, h.float(1.5), h.int(-2))).toBe(3.5);
    expect(floatResult(49, h.float(1.5), h.int(MAX_SMALLINT))).toBe(1.5 * MAX_SMALLINT);
    expect(floatResult(50, h.float(1), h.float(4))).toBe(0.25);
    expect(floatResult(50, h.float(2), h.int(1))).toBe(2);
    expect(floatResult(49, h.float(1e300), h.float(1e300))).toBe(Infinity);
    expect(floatResult(42, h.float(Infinity), h.float(Infinity))).toBeNaN();
    expect(Object.is(floatResult(49, h.float(-0), h.int(3)), -0)).toBe(true);
  });

  it("/ fails on zero divisors", () => {
    expectFailure(50, PrimErr.badArgument, h.float(2), h.float(0));
    expectFailure(50, PrimErr.badArgument, h.float(2), h.float(-0));
    expectFailure(50, PrimErr.badArgument, h.float(2), h.int(0));
    expectFailure(50, PrimErr.badArgument, h.float(0), h.float(0));
  });

  it("compares, with NaN unordered", () => {
    const values = [h.float(1.5), h.float(-2), h.int(3), h.float(3), h.float(NaN), h.float(Infinity), h.float(-0), h.int(0)];
    const num = (oop: Oop) => ((oop & 1) === 1 ? oop >> 1 : mem.floatValueOf(oop));
    for (const a of values) {
      for (const b of values) {
        if ((a & 1) === 1 && (b & 1) === 1) continue;
        expect(boolResult(43, a, b)).toBe(num(a) < num(b));
        expect(boolResult(44, a, b)).toBe(num(a) > num(b));
        expect(boolResult(45, a, b)).toBe(num(a) <= num(b));
        expect(boolResult(46, a, b)).toBe(num(a) >= num(b));
        expect(boolResult(47, a, b)).toBe(num(a) === num(b));
        expect(boolResult(48, a, b)).toBe(num(a) !== num(b));
      }
    }
  });

  it("fails for other arguments and receivers", () => {
    for (let n = 41; n <= 50; n++) {
      expectFailure(n, PrimErr.badArgument, h.float(1), h.int(2n ** 40n));
      expectFailure(n, PrimErr.badArgument, h.float(1), mem.nilOop);
      expectFailure(n, PrimErr.badArgument, h.float(1), h.string("1"));
      expectFailure(n, PrimErr.badReceiver, h.int(2n ** 40n), h.float(1));
      expectFailure(n, PrimErr.badNumArgs, h.float(1));
    }
  });
});

describe("Float functions (51-59)", () => {
  it("truncated answers SmallIntegers only", () => {
    const t = (x: number) => h.intValue(floatCall(51, h.float(x)));
    expect(t(3.7)).toBe(3n);
    expect(t(-3.7)).toBe(-3n);
    expect(t(-0.5)).toBe(0n);
    expect(t(MAX_SMALLINT + 0.9)).toBe(BigInt(MAX_SMALLINT));
    expect(t(MIN_SMALLINT - 0.9)).toBe(BigInt(MIN_SMALLINT));
    for (const x of [MAX_SMALLINT + 1, MIN_SMALLINT - 1, 1e20, NaN, Infinity, -Infinity]) {
      expectFailure(51, PrimErr.inappropriate, h.float(x));
    }
    expectFailure(51, PrimErr.badReceiver, h.int(3));
  });

  it("fractionPart, exponent, timesTwoPower:", () => {
    expect(floatResult(52, h.float(-2.25))).toBe(-0.25);
    expect(Object.is(floatResult(52, h.float(-4)), -0)).toBe(true);
    expect(h.intValue(floatCall(53, h.float(1024.5)))).toBe(10n);
    expect(h.intValue(floatCall(53, h.float(0.1)))).toBe(-4n);
    expect(h.intValue(floatCall(53, h.float(5e-324)))).toBe(-1074n);
    expect(h.intValue(floatCall(53, h.float(0)))).toBe(-1n);
    expect(floatResult(54, h.float(1.5), h.int(4))).toBe(24);
    expect(floatResult(54, h.float(1), h.int(-1074))).toBe(5e-324);
    expect(floatResult(54, h.float(1), h.int(5000))).toBe(Infinity);
    expect(floatResult(54, h.float(3), h.int(MIN_SMALLINT))).toBe(0);
    expectFailure(54, PrimErr.badArgument, h.float(1), h.float(2));
    expectFailure(54, PrimErr.badArgument, h.float(1), h.int(2n ** 40n));
    expectFailure(54, PrimErr.badReceiver, h.int(1), h.int(2));
    for (const n of [52, 53]) expectFailure(n, PrimErr.badReceiver, h.int(3));
  });

  it("sqrt fails for negatives and NaN", () => {
    expect(floatResult(55, h.float(2))).toBe(Math.SQRT2);
    expect(Object.is(floatResult(55, h.float(-0)), -0)).toBe(true);
    expect(floatResult(55, h.float(Infinity))).toBe(Infinity);
    expectFailure(55, PrimErr.badReceiver, h.float(-1));
    expectFailure(55, PrimErr.badReceiver, h.float(NaN));
    expectFailure(55, PrimErr.badReceiver, h.int(4));
  });

  it("sin, arcTan, ln, exp", () => {
    expect(floatResult(56, h.float(Math.PI / 2))).toBe(1);
    expect(floatResult(56, h.float(Infinity))).toBeNaN();
    expect(floatResult(57, h.float(1))).toBe(Math.PI / 4);
    expect(floatResult(58, h.float(Math.E))).toBe(1);
    expect(floatResult(58, h.float(0))).toBe(-Infinity);
    expect(floatResult(58, h.float(-1))).toBeNaN();
    expect(floatResult(59, h.float(0))).toBe(1);
    expect(floatResult(59, h.float(1000))).toBe(Infinity);
    for (const n of [56, 57, 58, 59]) {
      expectFailure(n, PrimErr.badReceiver, h.int(1));
      expectFailure(n, PrimErr.badReceiver, mem.nilOop);
    }
  });
});

describe("Float basicAt: and basicAt:put: (38, 39)", () => {
  it("reads the high word first", () => {
    const f = h.float(-2.5);
    const [hi, lo] = floatWords(-2.5);
    expect(h.intValue(floatCall(38, f, h.int(1)))).toBe(BigInt(hi));
    expect(h.intValue(floatCall(38, f, h.int(2)))).toBe(BigInt(lo));
    const hiOop = floatCall(38, f, h.int(1));
    expect(h.className(hiOop)).toBe("LargePositiveInteger");
    expect(h.intValue(floatCall(38, h.float(1), h.int(2)))).toBe(0n);
  });

  it("builds a Float from its words", () => {
    const f = mem.instantiate(h.img.classes.Float, 2);
    expect(mem.formatOf(f)).toBe(Format.words);
    const [hi, lo] = floatWords(Math.PI);
    const v1 = h.int(hi);
    expect(floatCall(39, f, h.int(1), v1)).toBe(v1);
    floatCall(39, f, h.int(2), h.int(lo));
    expect(mem.floatValueOf(f)).toBe(Math.PI);
    floatCall(39, f, h.int(2), h.int(0xffffffff));
    expect(h.intValue(floatCall(38, f, h.int(2)))).toBe(0xffffffffn);
  });

  it("fails on bad indices and values", () => {
    const f = h.float(1);
    expectFailure(38, PrimErr.badIndex, f, h.int(0));
    expectFailure(38, PrimErr.badIndex, f, h.int(3));
    expectFailure(38, PrimErr.badArgument, f, h.float(1));
    expectFailure(38, PrimErr.badReceiver, h.int(3), h.int(1));
    expectFailure(38, PrimErr.badReceiver, h.string("abcd"), h.int(1));
    expectFailure(39, PrimErr.badIndex, f, h.int(3), h.int(1));
    expectFailure(39, PrimErr.badArgument, f, h.int(1), h.int(-1));
    expectFailure(39, PrimErr.badArgument, f, h.int(1), h.int(2n ** 32n));
    expectFailure(39, PrimErr.badArgument, f, h.int(1), h.float(1));
    mem.setReadOnly(f, true); // a literal
    expectFailure(39, PrimErr.noModification, f, h.int(1), h.int(0));
    expect(mem.floatValueOf(f)).toBe(1);
  });
});

describe("OzNumbers float primitives", () => {
  const M = numbersModule;

  it("primitiveFloatPrintString prints as Pharo does", () => {
    const print = (x: number, base?: number) => {
      const r = base === undefined ? h.call(M.primitiveFloatPrintString, h.float(x)) : h.call(M.primitiveFloatPrintString, h.float(x), h.int(base));
      expect(r.ok).toBe(true);
      expect(r.stackIntact).toBe(true);
      expect(h.className(r.result)).toBe("ByteString");
      return h.stringValue(r.result);
    };
    expect(print(0.1)).toBe("0.1");
    expect(print(-0)).toBe("-0.0");
    expect(print(NaN)).toBe("Float nan");
    expect(print(-Infinity)).toBe("Float infinity negated");
    expect(print(1e100)).toBe("1.0e100");
    expect(print(10, 16)).toBe("A.0");
    for (const [rcvr, args, code] of [
      [h.int(1), [], PrimErr.badReceiver], [h.float(1), [h.int(1)], PrimErr.badArgument],
      [h.float(1), [h.int(37)], PrimErr.badArgument], [h.float(1), [mem.nilOop], PrimErr.badArgument],
      [h.float(1), [h.int(10), h.int(10)], PrimErr.badNumArgs],
    ] as const) {
      const r = h.call(M.primitiveFloatPrintString, rcvr, ...args);
      expect(r.ok).toBe(false);
      expect(r.failCode).toBe(code);
      expect(r.stackIntact).toBe(true);
    }
  });

  it("primitiveFloatFromString parses literals", () => {
    const parse = (text: string) => h.call(M.primitiveFloatFromString, mem.nilOop, h.string(text));
    const r = parse("2r1.1e3");
    expect(r.ok).toBe(true);
    expect(r.stackIntact).toBe(true);
    expect(h.floatValue(r.result)).toBe(12);
    expect(h.floatValue(parse("-1.0e-5").result)).toBe(-1e-5);
    for (const text of ["abc", "", "1.5.5"]) {
      const bad = parse(text);
      expect(bad.ok).toBe(false);
      expect(bad.failCode).toBe(PrimErr.badArgument);
      expect(bad.stackIntact).toBe(true);
    }
    const notString = h.call(M.primitiveFloatFromString, mem.nilOop, h.float(1));
    expect(notString.ok).toBe(false);
  });

  it("primitiveFloatTruncated answers integers of any size", () => {
    const t = (x: number) => {
      const r = h.call(M.primitiveFloatTruncated, h.float(x));
      expect(r.ok).toBe(true);
      expect(r.stackIntact).toBe(true);
      return h.intValue(r.result);
    };
    expect(t(3.9)).toBe(3n);
    expect(t(-3.9)).toBe(-3n);
    expect(t(1e20)).toBe(100000000000000000000n);
    expect(t(-(2 ** 80) - 2 ** 30)).toBe(-(2n ** 80n) - 2n ** 30n);
    expect(t(Number.MAX_VALUE)).toBe(BigInt(Number.MAX_VALUE));
    expect(h.className(h.call(M.primitiveFloatTruncated, h.float(-1e20)).result)).toBe("LargeNegativeInteger");
    for (const x of [NaN, Infinity, -Infinity]) {
      const r = h.call(M.primitiveFloatTruncated, h.float(x));
      expect(r.ok).toBe(false);
      expect(r.stackIntact).toBe(true);
    }
    expect(h.call(M.primitiveFloatTruncated, h.int(3)).failCode).toBe(PrimErr.badReceiver);
  });

  it("runs through a named-primitive method", () => {
    const img = h.img;
    img.vm.registerModule("OzNumbers", numbersModule);
    const spec = img.array([img.string("OzNumbers"), img.string("primitiveFloatPrintString"), img.int(0), img.int(0)]);
    img.defineMethod("Float", "printString", [0x21, 0x7c], [spec, img.sym("failed")], { primitive: PRIM_EXTERNAL_CALL });
    const r = img.run([0x20, 0xd1, 0x7c], [img.float(1e16), img.sym("printString")]);
    expect(r.slice.fault).toBeUndefined();
    expect(h.stringValue(r.result!)).toBe("1.0e16");
  });
});

describe("through sends", () => {
  it("Float>>/ runs primitive 50 or falls back on a zero divisor", () => {
    const img = h.img;
    const failed = img.sym("failed");
    img.defineMethod("Float", "/", [0x20, 0x7c], [failed], { primitive: 50 });
    const div = img.sym("/");
    const ok = img.run([0x20, 0x21, 0xe2, 0x7c], [img.float(3), img.int(2), div]);
    expect(ok.slice.fault).toBeUndefined();
    expect(h.floatValue(ok.result!)).toBe(1.5);
    const zero = img.run([0x20, 0x21, 0xe2, 0x7c], [img.float(3), img.float(0), div]);
    expect(zero.result).toBe(failed);
  });
});

describe("coverage", () => {
  it("exercises every primitive of the area, succeeding and failing", () => {
    expect(uncoveredPrimitives(floatPrimitives)).toEqual({ notSucceeded: [], notFailed: [] });
    // the integer half of the OzNumbers module is covered in largeInteger.test.ts
    const { primitiveFloatPrintString, primitiveFloatFromString, primitiveFloatTruncated } = numbersModule;
    expect(uncoveredPrimitives({ primitiveFloatPrintString, primitiveFloatFromString, primitiveFloatTruncated })).toEqual({ notSucceeded: [], notFailed: [] });
  });
});
