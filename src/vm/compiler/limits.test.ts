import { describe, expect, test } from "vitest";
import { decode } from "../bytecode/opcodes.js";
import type { CompileContext } from "./context.js";
import { compileMethod } from "./compile.js";
import { CompileError } from "./errors.js";
import { listMethod } from "./listing.js";

const ctx: CompileContext = { className: "Foo", instanceVariableNames: ["iv"], resolveBinding: () => ({ kind: "global" }) };
const method = (src: string) => compileMethod(src, ctx).method;
const error = (src: string): CompileError => {
  try {
    compileMethod(src, ctx);
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error("no error");
};
const repeat = (n: number, f: (i: number) => string, sep = " ") => Array.from({ length: n }, (_, i) => f(i)).join(sep);

describe("frame limits", () => {
  test("255 literals, selector and class binding included", () => {
    const m = method(`foo ${repeat(253, (i) => `self s${i}.`)}`);
    expect(m.literals).toHaveLength(255);
    expect(listMethod(m).at(-3)).toBe("1181 <84 00 FC> send: #s252 (0 args)");
    const src = `foo ${repeat(254, (i) => `self s${i}.`)}`;
    const e = error(src);
    expect(e.message).toBe("Too many literals (at most 255, selector and class binding included)");
    expect(e.sourceOffset).toBe(src.indexOf("self s253"));
  });

  test("arguments", () => {
    expect(method(`${repeat(15, (i) => `a${i}: x${i}`)} ^x14`).numArgs).toBe(15);
    expect(error(`${repeat(16, (i) => `a${i}: x${i}`)} ^x14`).message).toBe("Too many arguments (16, at most 15)");
    expect(method(`foo ^[${repeat(15, (i) => `:x${i}`)} | x0]`).bytecodes[1]).toBe(15);
    expect(error(`foo ^[${repeat(16, (i) => `:x${i}`)} | x0]`).message).toBe("Too many block arguments (16, at most 15)");
  });

  test("temporaries", () => {
    expect(method(`foo | ${repeat(50, (i) => `t${i}`)} | ^t49`).numTemps).toBe(50);
    expect(error(`foo | ${repeat(64, (i) => `t${i}`)} | ^t63`).message).toBe("Too many temporaries (64, at most 63)");
    expect(error(`foo ^[| ${repeat(64, (i) => `t${i}`)} | t63]`).message).toBe("Too many temporaries (64, at most 63)");
  });

  test("temp vectors", () => {
    const temps = (n: number) => repeat(n, (i) => `t${i}`);
    const writes = (n: number) => repeat(n, (i) => `t${i} := 1`, ". ");
    expect(method(`foo | ${temps(127)} | ^[${writes(127)}]`).numTemps).toBe(1);
    expect(error(`foo | ${temps(128)} | ^[${writes(128)}]`).message).toBe("Too many temporaries shared with blocks (128, at most 127)");
  });

  test("copied values of a block", () => {
    const temps = repeat(16, (i) => `t${i}`);
    const m = method(`foo | ${temps} | ^[${repeat(15, (i) => `t${i}`, ". ")}]`);
    expect(decode(m.bytecodes, 15)).toMatchObject({ op: "pushClosure", numCopied: 15, numArgs: 0 });
    expect(error(`foo | ${temps} | ^[${repeat(16, (i) => `t${i}`, ". ")}]`).message).toBe("Block needs too many outer variables (16, at most 15)");
  });

  // A frame needs its temporaries, its deepest stack and VM_PUSH_RESERVE (3) slots for what the VM
  // pushes on the method's behalf; up to 16 fit a small context, up to 56 a large one.
  test("the large frame bit", () => {
    expect(method(`foo | ${repeat(12, (i) => `t${i}`)} | ^t0`).largeFrame).toBe(false);
    expect(method(`foo | ${repeat(12, (i) => `t${i}`)} | ^t0 + t1`).largeFrame).toBe(true);
    expect(method(`foo | ${repeat(13, (i) => `t${i}`)} | ^self`).largeFrame).toBe(false);
    expect(method(`foo | ${repeat(14, (i) => `t${i}`)} | ^self`).largeFrame).toBe(true);
    expect(method(`foo | ${repeat(11, (i) => `t${i}`)} | ^t0 foo`).largeFrame).toBe(false);
    expect(method(`foo ^{${repeat(13, (i) => `${i}`, ". ")}}`).largeFrame).toBe(false);
    expect(method(`foo ^{${repeat(14, (i) => `${i}`, ". ")}}`).largeFrame).toBe(true);
  });

  test("frames larger than a large context are refused", () => {
    expect(method(`foo | ${repeat(52, (i) => `t${i}`)} | ^t0`).largeFrame).toBe(true);
    expect(error(`foo | ${repeat(53, (i) => `t${i}`)} | ^t0`).message).toBe("Method too complex: it needs 57 stack slots (at most 56)");
  });
});

describe("jumps", () => {
  const jumpAt = (src: string, pc: number) => {
    const m = method(src);
    return decode(m.bytecodes, pc);
  };

  test("short forward jumps reach 8 bytes, long ones 1023", () => {
    expect(jumpAt("foo: x x ifTrue: [iv := 1. iv := 1. iv := 1. iv := 1]", 1)).toMatchObject({ length: 1, op: "jumpIfFalse", target: 10 });
    expect(jumpAt("foo: x x ifTrue: [iv := 1. iv := 1. iv := 1. iv := 1. iv := 1]", 1)).toMatchObject({ length: 2, op: "jumpIfFalse", target: 13 });
    const body = repeat(340, () => "self a.");
    expect(jumpAt(`foo: x x ifTrue: [${body}]`, 1)).toMatchObject({ opcode: 172 + 3, op: "jumpIfFalse", target: 1023 });
    expect(jumpAt(`foo: x x ifTrue: [${body} iv := 1. iv]`, 1)).toMatchObject({ opcode: 175, target: 1025 });
    const e = error(`foo: x x ifTrue: [${body} iv := 1. iv := 1]`);
    expect(e.message).toBe("Jump too far (1024 bytes, the limit is 1023): split this method into smaller ones");
    expect(e.sourceOffset).toBe(7);
  });

  test("jumpTrue has no short form", () => {
    expect(jumpAt("foo: x x ifFalse: [iv := 1]", 1)).toMatchObject({ length: 2, op: "jumpIfTrue", target: 5 });
  });

  test("an unconditional jump over a long else branch", () => {
    const body = repeat(100, () => "self a.");
    const m = method(`foo: x ^x ifTrue: [${body} 1] ifFalse: [2]`);
    const jump = decode(m.bytecodes, m.bytecodes.length - 3);
    expect(jump).toMatchObject({ op: "jump", length: 1 });
    expect(decode(m.bytecodes, 1)).toMatchObject({ op: "jumpIfFalse", length: 2, target: 305 });
  });

  test("backward jumps reach 1024 bytes", () => {
    const fits = method(`foo [iv] whileTrue: [${repeat(339, () => "self a.")} iv := 1]`);
    const back = decode(fits.bytecodes, fits.bytecodes.length - 3);
    expect(back).toMatchObject({ op: "jump", target: 0 });
    expect(back.pc).toBeGreaterThan(1000);
    expect(error(`foo [iv] whileTrue: [${repeat(340, () => "self a.")}]`).message).toBe("Jump too far (-1025 bytes, the limit is -1024): split this method into smaller ones");
  });

  test("growing one jump can make another one long", () => {
    const m = method("foo: x x ifTrue: [x ifTrue: [iv := 1. iv := 1. iv := 1. iv := 1. iv := 1] ifFalse: [iv := 2]]");
    expect(listMethod(m)).toEqual([
      "0 <10> pushTemp: temp 0",
      "1 <AC 10> jumpFalse: 19",
      "3 <10> pushTemp: temp 0",
      "4 <AC 0B> jumpFalse: 17",
      "6 <76> pushConstant: 1",
      "7 <60> popIntoRcvr: rcvr 0",
      "8 <76> pushConstant: 1",
      "9 <60> popIntoRcvr: rcvr 0",
      "10 <76> pushConstant: 1",
      "11 <60> popIntoRcvr: rcvr 0",
      "12 <76> pushConstant: 1",
      "13 <60> popIntoRcvr: rcvr 0",
      "14 <76> pushConstant: 1",
      "15 <60> popIntoRcvr: rcvr 0",
      "16 <91> jumpTo: 19",
      "17 <77> pushConstant: 2",
      "18 <60> popIntoRcvr: rcvr 0",
      "19 <78> return: self",
    ]);
  });

  test("blocks up to 64 KB", () => {
    const big = method(`foo ^[${repeat(300, () => "self a.")}]`);
    expect(decode(big.bytecodes, 0)).toMatchObject({ op: "pushClosure", blockSize: 900 });
  });
});
