/**
 * Image files (imageFile.ts, snapshot.ts, primitive 97): the save/load round trip, a loaded image that
 * resumes, and every way a file can be wrong (truncated, foreign, a Squeak image, bad checksums, flipped
 * bytes, wrong version or header fields, trailing bytes, broken heap structure), each refused with an
 * ImageFormatError that names the problem. A seeded fuzz of 1,000 corruptions checks that nothing else is
 * ever thrown and that whatever loads is a heap the collector can work on.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createSmalltalkImage, type SmalltalkImage } from "../testing/smalltalk.js";
import { IMAGE_HEADER_SIZE, ImageFormatError, readImage, validateHeap, writeImage } from "./imageFile.js";
import { snapshotImage } from "./snapshot.js";
import { crc32 } from "./crc32.js";
import { Interpreter } from "../interpreter/interpreter.js";
import { memoryHost } from "../host.js";
import { Collector } from "../memory/gc.js";
import { COLLECTOR_FLAGS, FLAG_READ_ONLY, HEADER_WORDS, HEAP_START, type ObjectMemory } from "../memory/heap.js";
import { Format } from "../memory/format.js";
import { Special } from "../memory/special.js";
import { smallIntOop, type Oop } from "../memory/oop.js";

const int = smallIntOop;
const SQUEAK_IMAGE = fileURLToPath(new URL("../../../../shared/images/squeak-2.2-benchmark.image", import.meta.url));

/** An image with some of everything: methods, strings, floats, large integers, weak arrays, globals. */
function populated(): SmalltalkImage {
  const st = createSmalltalkImage();
  st.compile("Object", "double: x ^x + x");
  const r = st.doIt("Strings := {'hello'. #sym. 3.25. 1000000000000. $a}. W := WeakArray new: 2. W at: 1 put: Strings. Big := Array new: 300. 7 double: 8");
  expect(r.result).toBe(int(16));
  st.vm.collect(true);
  return st;
}

/** The bytes of a snapshot taken from inside, by primitive 97, while a doit runs. */
function snapshotFromInside(st: SmalltalkImage, source: string): { bytes: Uint8Array; slice: ReturnType<SmalltalkImage["doIt"]>["slice"] } {
  let saved: Uint8Array | undefined;
  st.vm.host.snapshots = { save: (b) => void (saved = b.slice()) };
  const { slice } = st.doIt(source);
  expect(saved).toBeDefined();
  return { bytes: saved!, slice };
}

function fixChecksums(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= IMAGE_HEADER_SIZE) {
    view.setUint32(36, crc32(bytes.subarray(IMAGE_HEADER_SIZE)), true);
    view.setUint32(60, crc32(bytes.subarray(0, 60)), true);
  }
  return bytes;
}

function setHeader(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value >>> 0, true);
  return fixChecksums(copy);
}

function refusal(bytes: Uint8Array): string {
  try {
    readImage(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ImageFormatError);
    return (error as Error).message;
  }
  throw new Error("the image was accepted");
}

/** Word `index` of the heap (0 = heap byte 0) in an image file. */
function heapWord(bytes: Uint8Array, byteOffset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getInt32(IMAGE_HEADER_SIZE + byteOffset, true);
}

function setHeapWord(bytes: Uint8Array, byteOffset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setInt32(IMAGE_HEADER_SIZE + byteOffset, value, true);
  return fixChecksums(copy);
}

/** The oops of the heap's objects, in address order. */
function objectsOf(mem: ObjectMemory): Oop[] {
  const out: Oop[] = [];
  for (let oop = HEAP_START; oop < mem.freeStart; oop = mem.nextObject(oop)) out.push(oop);
  return out;
}

describe("the round trip", () => {
  it("saves, loads and saves again byte for byte", () => {
    const st = populated();
    const first = writeImage(st.mem);
    const loaded = readImage(first);
    expect(loaded.freeStart).toBe(st.mem.freeStart);
    expect(loaded.specialObjectsOop).toBe(st.mem.specialObjectsOop);
    expect(loaded.nilOop).toBe(st.mem.nilOop);
    expect(loaded.hashState).toBe(st.mem.hashState);
    const second = writeImage(loaded);
    expect(Buffer.compare(Buffer.from(second), Buffer.from(first))).toBe(0);
  });

  it("snapshots a loaded image into the same bytes, generation after generation", () => {
    // the first snapshot of a loaded heap drops what only the test host's handles kept alive; from then
    // on every object is reachable from the special objects array and nothing changes
    const st = populated();
    const gen1 = snapshotImage(new Interpreter(readImage(writeImage(st.mem)), memoryHost()));
    const gen2 = snapshotImage(new Interpreter(readImage(gen1), memoryHost()));
    const gen3 = snapshotImage(new Interpreter(readImage(gen2), memoryHost()));
    expect(Buffer.compare(Buffer.from(gen2), Buffer.from(gen1))).toBe(0);
    expect(Buffer.compare(Buffer.from(gen3), Buffer.from(gen1))).toBe(0);
  });

  it("keeps the objects, their identity hashes, and the hash generator's state", () => {
    const st = populated();
    const loaded = readImage(writeImage(st.mem));
    for (const oop of objectsOf(st.mem)) {
      expect(loaded.hashOf(oop)).toBe(st.mem.hashOf(oop));
      expect(loaded.classOfPointer(oop)).toBe(st.mem.classOfPointer(oop));
    }
    const strings = loaded.fetchPointer(st.binding("Strings"), 1);
    expect(loaded.stringOf(loaded.fetchPointer(strings, 0))).toBe("hello");
    expect(loaded.floatValueOf(loaded.fetchPointer(strings, 2))).toBe(3.25);
    // the next objects get the same hashes in both heaps
    const a = st.mem.allocate(st.classes.Array, Format.indexable, 1);
    const b = loaded.allocate(st.classes.Array, Format.indexable, 1);
    expect(b).toBe(a);
    expect(loaded.hashOf(b)).toBe(st.mem.hashOf(a));
  });

  it("loads with another heap limit when asked, never below what the heap needs", () => {
    const st = populated();
    const bytes = writeImage(st.mem);
    expect(readImage(bytes).limitBytes).toBe(st.mem.limitBytes);
    expect(readImage(bytes, { limitBytes: 64 * 1024 * 1024 }).limitBytes).toBe(64 * 1024 * 1024);
    expect(readImage(bytes, { limitBytes: 64 * 1024 }).limitBytes).toBeGreaterThanOrEqual(st.mem.freeStart);
  });

  it("writes no collector flags, even when the heap has remembered objects", () => {
    const st = populated();
    const old = st.mem.newHandle(st.array([st.mem.nilOop]));
    st.vm.collect(false);
    st.mem.storePointer(old.oop, 0, st.array([]));
    expect(st.mem.remembered.length).toBeGreaterThan(0);
    const loaded = readImage(writeImage(st.mem));
    for (const oop of objectsOf(loaded)) expect(loaded.flagsOf(oop) & COLLECTOR_FLAGS).toBe(0);
  });

  it("keeps the read-only flag of objects, byte-identically", () => {
    const st = populated();
    const readOnly = st.mem.newHandle(st.array([st.mem.nilOop]));
    const writable = st.mem.newHandle(st.array([st.mem.nilOop]));
    st.mem.setReadOnly(readOnly.oop, true);
    st.vm.collect(true);
    const bytes = writeImage(st.mem);
    const loaded = readImage(bytes);
    expect(loaded.flagsOf(readOnly.oop)).toBe(FLAG_READ_ONLY);
    expect(loaded.isReadOnly(readOnly.oop)).toBe(true);
    expect(loaded.isReadOnly(writable.oop)).toBe(false);
    expect(writeImage(loaded)).toEqual(bytes);
  });
});

describe("snapshots from inside (primitive 97)", () => {
  const source = "| r | r := self snapshotPrimitive. Log := r. self show: (r ifTrue: ['resumed'] ifFalse: ['saved']). Counter := Counter + 1. self quit";

  it("answers false in the running image and true in the saved one when it resumes", () => {
    const st = createSmalltalkImage();
    st.setGlobal("Counter", int(41));
    const { bytes, slice } = snapshotFromInside(st, source);
    expect(slice.reason).toBe("quit");
    expect(st.output).toEqual(["saved"]);
    expect(st.global("Log")).toBe(st.mem.falseOop);
    expect(st.global("Counter")).toBe(int(42));
    // the saved image resumes where the primitive was, with true on the stack
    const mem = readImage(bytes);
    const host = memoryHost();
    const vm = new Interpreter(mem, host);
    const resumed = vm.run({ bytecodes: 100_000 });
    expect(resumed.reason).toBe("quit");
    expect(host.output).toEqual(["resumed"]);
    const log = mem.fetchPointer(st.binding("Log"), 1);
    const counter = mem.fetchPointer(st.binding("Counter"), 1);
    expect(log).toBe(mem.trueOop);
    expect(counter).toBe(int(42)); // 41 when saved, plus one in the resumed image
  });

  it("resumes a snapshot taken deep in a computation, with its whole stack", () => {
    const st = createSmalltalkImage();
    st.compile("Object", "down: n ^n = 0 ifTrue: [self snapshotPrimitive ifTrue: [0] ifFalse: [1000000]] ifFalse: [(self down: n - 1) + 1]");
    const { bytes } = snapshotFromInside(st, "Result := self down: 500. self quit");
    expect(st.global("Result")).toBe(int(1000500));
    const mem = readImage(bytes);
    const vm = new Interpreter(mem, memoryHost());
    expect(vm.run({ bytecodes: 1_000_000 }).reason).toBe("quit");
    expect(mem.fetchPointer(st.binding("Result"), 1)).toBe(int(500));
  });

  it("answers nil when the host could not save, and fails without a snapshot sink", () => {
    const st = createSmalltalkImage();
    st.vm.host.snapshots = { save: () => "disk full" };
    expect(st.doIt("self snapshotPrimitive").result).toBe(st.mem.nilOop);
    st.vm.host.snapshots = undefined;
    st.compile("Object", "snap <primitive: 97 error: ec> ^ec");
    expect(st.doIt("self snap").result).toBe(st.sym("unsupported operation"));
  });
});

describe("refusals", () => {
  const st = populated();
  const good = writeImage(st.mem);

  it("refuses truncated files", () => {
    expect(refusal(new Uint8Array(0))).toMatch(/truncated image: 0 bytes/);
    expect(refusal(good.subarray(0, 7))).toMatch(/truncated image/);
    expect(refusal(good.subarray(0, 63))).toMatch(/truncated image: 63 bytes, but the header alone is 64/);
    expect(refusal(good.subarray(0, 64))).toMatch(/truncated image: the header announces \d+ heap bytes, the file holds 0/);
    expect(refusal(good.subarray(0, good.length - 1))).toMatch(/truncated image/);
  });

  it("refuses files that are not Oz images", () => {
    expect(refusal(new TextEncoder().encode("Hello, this is not an image at all, just some text for the loader to refuse."))).toMatch(/not an Oz image \(bad magic number\)/);
    const mangled = good.slice();
    mangled[5] = 0x0a; // a text-mode transfer turned CR LF into LF
    expect(refusal(mangled)).toMatch(/bad magic/);
  });

  it.skipIf(!existsSync(SQUEAK_IMAGE))("refuses a Squeak image, saying it is one", () => {
    const squeak = new Uint8Array(readFileSync(SQUEAK_IMAGE));
    expect(refusal(squeak)).toMatch(/Squeak\/Pharo image \(format 6502\), not an Oz image/);
    const swapped = squeak.slice(0, 64);
    swapped.set([squeak[3], squeak[2], squeak[1], squeak[0]], 0);
    expect(refusal(swapped)).toMatch(/Squeak\/Pharo image \(format 6502, big-endian\)/);
    expect(refusal(squeak.subarray(0, 16))).toMatch(/Squeak/);
  });

  it("refuses a header or heap whose checksum does not match", () => {
    const header = good.slice();
    header[61] ^= 0x40;
    expect(refusal(header)).toMatch(/corrupt image: the header checksum does not match/);
    const field = good.slice();
    field[28] ^= 1; // the hash generator state, covered by the header checksum
    expect(refusal(field)).toMatch(/header checksum/);
    const heapSum = good.slice();
    heapSum[37] ^= 1;
    expect(refusal(heapSum)).toMatch(/header checksum/);
    expect(() => readImage(fixChecksums(heapSum.slice()))).not.toThrow();
  });

  it("refuses flipped bytes anywhere in the heap", () => {
    for (const at of [0, 16, 17, 100, 1000, good.length - IMAGE_HEADER_SIZE - 1]) {
      const flipped = good.slice();
      flipped[IMAGE_HEADER_SIZE + at] ^= 0x10;
      expect(refusal(flipped), `byte ${at}`).toMatch(/corrupt image: the heap checksum does not match/);
    }
  });

  it("refuses a wrong version, header size, word size, byte order or heap size", () => {
    expect(refusal(setHeader(good, 8, 2))).toMatch(/unsupported image format version 2 \(this Oz reads version 1\)/);
    expect(refusal(setHeader(good, 8, 0))).toMatch(/version 0/);
    const unchecked = good.slice();
    unchecked[8] = 7; // the version is read before the checksum: a newer image is named as such
    expect(refusal(unchecked)).toMatch(/version 7/);
    expect(refusal(setHeader(good, 12, 128))).toMatch(/unsupported header size 128/);
    expect(refusal(setHeader(good, 16, 8))).toMatch(/unsupported word size 8/);
    expect(refusal(setHeader(good, 32, 0))).toMatch(/big-endian images are not supported/);
    const heapBytes = good.length - IMAGE_HEADER_SIZE;
    expect(refusal(setHeader(good, 20, heapBytes + 4))).toMatch(/truncated image: the header announces/);
    expect(refusal(setHeader(good, 20, heapBytes - 4))).toMatch(/corrupt image: 4 unexpected bytes after the heap/);
    expect(refusal(setHeader(good.subarray(0, 64 + 8), 20, 8))).toMatch(/impossible heap size 8/);
  });

  it("refuses trailing bytes after the heap", () => {
    const longer = new Uint8Array(good.length + 3);
    longer.set(good);
    expect(refusal(longer)).toMatch(/corrupt image: 3 unexpected bytes after the heap/);
  });

  describe("a broken heap behind valid checksums", () => {
    const objects = objectsOf(st.mem);
    const array = st.global("Big");
    const method = objects.find((o) => st.mem.formatOf(o) >= Format.compiledMethod)!;
    const soa = st.mem.specialObjectsOop;

    it("refuses objects that do not tile the heap", () => {
      expect(refusal(setHeapWord(good, array + 8, 1 << 24))).toMatch(/object at \d+ \(16777216 slots\) runs past the end of the heap/);
      expect(refusal(setHeapWord(good, array + 8, -1))).toMatch(/runs past the end/);
      const last = objects[objects.length - 1];
      const cut = setHeader(good.subarray(0, IMAGE_HEADER_SIZE + last + 8), 20, last + 8);
      expect(refusal(cut)).toMatch(/object header at \d+ runs past the end of the heap/);
    });

    it("refuses invalid formats and collector flags", () => {
      const header = heapWord(good, array + 4);
      expect(refusal(setHeapWord(good, array + 4, (header & ~(31 << 3)) | (5 << 3)))).toMatch(/object at \d+ has invalid format 5/);
      expect(refusal(setHeapWord(good, array + 4, (header & ~(31 << 3)) | (7 << 3)))).toMatch(/invalid format 7/);
      expect(refusal(setHeapWord(good, array + 4, (header & ~(31 << 3)) | (16 << 3)))).toMatch(/invalid format 16/);
      expect(refusal(setHeapWord(good, array + 4, header | 1))).toMatch(/collector flags set/);
      expect(refusal(setHeapWord(good, array + 4, header | 2))).toMatch(/collector flags set/);
      expect(() => readImage(setHeapWord(good, array + 4, header | 4))).not.toThrow(); // read-only: allowed
    });

    it("refuses class references and pointer fields that do not designate objects", () => {
      expect(refusal(setHeapWord(good, array, array + 4))).toMatch(/object at \d+ has an invalid class reference/);
      expect(refusal(setHeapWord(good, array, 0))).toMatch(/invalid class reference 0/);
      expect(refusal(setHeapWord(good, array + 12, array + 12))).toMatch(/field 0 of the object at \d+ refers to \d+, which is not an object/);
      expect(refusal(setHeapWord(good, array + 12, st.mem.freeStart))).toMatch(/not an object/);
      expect(refusal(setHeapWord(good, array + 12, 8))).toMatch(/not an object/);
      // immediates are fine anywhere
      expect(() => readImage(setHeapWord(good, array + 12, int(-5)))).not.toThrow();
    });

    it("refuses a method whose header is not a SmallInteger or that declares more literals than it holds", () => {
      expect(refusal(setHeapWord(good, method + 12, 4))).toMatch(/method at \d+ has a non-integer header/);
      const header = heapWord(good, method + 12);
      expect(refusal(setHeapWord(good, method + 12, header | (0xff << 10)))).toMatch(/declares more literals than it holds/);
    });

    it("refuses a missing or short special objects array, or one without nil, false, true or the scheduler", () => {
      expect(refusal(setHeader(good, 24, soa + 4))).toMatch(/special objects array reference \d+ is not an object/);
      expect(refusal(setHeader(good, 24, st.global("Strings")))).toMatch(/special objects array is too short/);
      for (const index of [Special.nil, Special.false, Special.true, Special.schedulerAssociation]) {
        expect(refusal(setHeapWord(good, soa + 12 + 4 * index, int(0))), `special ${index}`).toMatch(new RegExp(`special object ${index} is missing`));
      }
    });
  });
});

// ------------------------------------------------------------------ fuzz

function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

describe("fuzz", () => {
  it("refuses 1,000 random corruptions with ImageFormatError or loads them into heaps that collect and run (long: 2-3 s)", () => {
    const st = populated();
    st.compile("Object", "down: n ^n = 0 ifTrue: [self snapshotPrimitive] ifFalse: [self down: n - 1]");
    const { bytes: good } = snapshotFromInside(st, "self down: 20. self quit");
    const objects = objectsOf(readImage(good));
    const random = xorshift(20261121);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const heapLength = good.length - IMAGE_HEADER_SIZE;
    const plausible = (): number =>
      pick([
        () => pick(objects),
        () => pick(objects) + 4 * Math.floor(random() * 4),
        () => int(Math.floor(random() * 2000) - 1000),
        () => 0,
        () => -1,
        () => Math.floor(random() * 0x100000000) | 0,
        () => heapLength + 4 * Math.floor(random() * 8),
        () => (Math.floor(random() * 32) << 3) | (heapWord(good, pick(objects) + 4) & ~0xff),
      ])();
    const strategies: Array<[string, () => Uint8Array]> = [
      ["flipped bits", () => {
        const b = good.slice();
        for (let n = 1 + Math.floor(random() * 3); n > 0; n--) b[Math.floor(random() * b.length)] ^= 1 << Math.floor(random() * 8);
        return b;
      }],
      ["flipped heap bits, checksums fixed", () => {
        const b = good.slice();
        for (let n = 1 + Math.floor(random() * 3); n > 0; n--) b[IMAGE_HEADER_SIZE + Math.floor(random() * heapLength)] ^= 1 << Math.floor(random() * 8);
        return fixChecksums(b);
      }],
      ["object words overwritten, checksums fixed", () => {
        const oop = pick(objects);
        const slots = heapWord(good, oop + 8);
        const at = oop + 4 * Math.floor(random() * Math.min(HEADER_WORDS + slots, 12));
        return setHeapWord(good, at, plausible());
      }],
      ["header fields, checksums fixed", () => setHeader(good, 4 * Math.floor(random() * 15), plausible())],
      ["truncated or extended", () => {
        if (random() < 0.5) return good.subarray(0, Math.floor(random() * good.length));
        const b = new Uint8Array(good.length + 1 + Math.floor(random() * 64));
        b.set(good);
        return random() < 0.5 ? b : setHeader(b, 20, b.length - IMAGE_HEADER_SIZE);
      }],
    ];
    const outcomes = new Map<string, { refused: number; loaded: number }>();
    const runs: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const [name, corrupt] = strategies[i % strategies.length];
      const bytes = corrupt();
      const tally = outcomes.get(name) ?? { refused: 0, loaded: 0 };
      outcomes.set(name, tally);
      let mem: ObjectMemory;
      try {
        mem = readImage(bytes);
      } catch (error) {
        if (!(error instanceof ImageFormatError)) throw new Error(`case ${i} (${name}) threw ${String(error)}`);
        tally.refused++;
        continue;
      }
      tally.loaded++;
      // a valid heap: the loader's own check holds, and a full collection works on it and leaves one
      expect(() => validateHeap(mem, mem.specialObjectsOop)).not.toThrow();
      new Collector(mem).collect(true);
      for (let oop = HEAP_START; oop < mem.freeStart; oop = mem.nextObject(oop)) mem.words[(oop >> 2) + 1] &= ~7;
      expect(() => validateHeap(mem, mem.specialObjectsOop), `case ${i} (${name}) after a collection`).not.toThrow();
      // and running it (it resumes in the middle of a recursion) ends its slice, whatever it finds
      const slice = new Interpreter(mem, memoryHost()).run({ bytecodes: 20_000 });
      expect(["quit", "fault", "budget", "idle"], `case ${i} (${name})`).toContain(slice.reason);
      runs[slice.reason] = (runs[slice.reason] ?? 0) + 1;
    }
    const total = [...outcomes.values()].reduce((a, t) => ({ refused: a.refused + t.refused, loaded: a.loaded + t.loaded }), { refused: 0, loaded: 0 });
    if (process.env.OZ_FUZZ_REPORT) console.log(JSON.stringify([...outcomes]), JSON.stringify(runs));
    expect(total.refused + total.loaded).toBe(1000);
    expect(outcomes.get("flipped bits")!.loaded).toBeLessThan(10); // the checksums catch (nearly) all
    expect(total.refused).toBeGreaterThan(300);
    expect(total.loaded).toBeGreaterThan(50);
  });
});
