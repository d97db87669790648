/**
 * The garbage collector of one heap: mark-compact, applied either to the young objects only (everything
 * allocated since the last collection, above `youngStart`) or to the whole heap. It is Squeak V3's
 * scheme: old objects do not move in a young collection, and the remembered set (filled by the write
 * barrier in ObjectMemory.storePointer) says which old objects may point to young ones.
 *
 * Phases, for the region [start, freeStart):
 *  1. mark: from the roots (special objects array, host handles, root holders such as the interpreter,
 *     and for a young collection the remembered objects) trace every reachable object of the region;
 *     weak slots are not traced, contexts only up to their stack pointer.
 *  2. weak: every weak slot that refers to an unmarked object of the region becomes nil; host weak
 *     handles whose object died are reported.
 *  3. plan: walking the region in address order, give each marked object its new address; its class
 *     word temporarily holds the index of its entry in two side tables (saved class, new address).
 *  4. update: every pointer into the region (roots, remembered objects, marked objects) is replaced by
 *     the new address.
 *  5. slide: walking again in address order, restore each class word and move the object down.
 * Afterwards every survivor is old: `youngStart = freeStart`.
 *
 * Worked example: young objects A (live, 20 bytes) at 1000, B (dead, 40) at 1020, C (live, 20) at 1060.
 * Plan gives A -> 1000 (k=0), C -> 1020 (k=1); a field holding 1060 reads words[1060 >> 2] = 1 and
 * becomes newAddress[1] = 1020; sliding moves C's 5 words from 1060 to 1020; freeStart becomes 1040.
 */
import {
  FLAG_MARK, FLAG_REMEMBERED, HEADER_WORDS, HEAP_START, type ObjectMemory,
} from "./heap.js";
import { Format, isCompiledMethodFormat } from "./format.js";
import { Special } from "./special.js";
import type { Oop } from "./oop.js";

export interface GcResult {
  full: boolean;
  /** bytes in the collected region before and after */
  regionBytes: number;
  survivorBytes: number;
  survivors: number;
  weakCleared: number;
  ms: number;
}

/** A host reference that does not keep its object alive; `onDeath` runs when a collection finds it dead. */
export class WeakHandle {
  constructor(
    public oop: Oop,
    readonly onDeath: () => void,
  ) {}
  dead = false;
}

export interface GcStats {
  youngCollections: number;
  fullCollections: number;
  totalMs: number;
  lastMs: number;
  maxPauseMs: number;
  survivorBytes: number;
}

const STACKP = 2;

export class Collector {
  readonly stats: GcStats = { youngCollections: 0, fullCollections: 0, totalMs: 0, lastMs: 0, maxPauseMs: 0, survivorBytes: 0 };
  readonly weakHandles = new Set<WeakHandle>();
  /**
   * The method whose primitive is running (Squeak's newMethod register): a root, forwarded when it moves,
   * so that the method's code can run when the primitive fails after collecting garbage.
   */
  primitiveMethod: Oop = 0;
  private markStack: Oop[] = [];
  private weakObjects: Oop[] = [];
  private savedClass = new Int32Array(1024);
  private newAddress = new Int32Array(1024);

  constructor(private readonly mem: ObjectMemory) {}

  collect(full: boolean): GcResult {
    const t0 = performance.now();
    const mem = this.mem;
    const start = full ? HEAP_START : mem.youngStart;
    const end = mem.freeStart;
    const regionBytes = end - start;
    const contextClass = mem.specialObjectsOop !== 0 ? mem.specialObject(Special.classMethodContext) : -1;

    // 1. mark
    let survivors = 0;
    const markStack = this.markStack;
    const words = mem.words;
    const mark = (oop: Oop): Oop => {
      if ((oop & 3) === 0 && oop >= start && oop < end) {
        const i = (oop >> 2) + 1;
        if ((words[i] & FLAG_MARK) === 0) {
          words[i] |= FLAG_MARK;
          survivors++;
          markStack.push(oop);
        }
      }
      return oop;
    };
    this.weakObjects.length = 0;
    for (const oop of mem.remembered) words[(oop >> 2) + 1] &= ~FLAG_REMEMBERED;
    mark(mem.specialObjectsOop);
    for (const h of mem.handles) mark(h.oop);
    mark(this.primitiveMethod);
    for (const holder of mem.rootHolders) holder.visitRoots(mark);
    if (!full) for (const oop of mem.remembered) this.scanFields(oop, contextClass, mark);
    while (markStack.length > 0) this.scanFields(markStack.pop()!, contextClass, mark);

    // 2. weak slots and weak handles
    let weakCleared = 0;
    const nil = mem.nilOop;
    const isDead = (oop: Oop): boolean =>
      (oop & 3) === 0 && oop >= start && oop < end && (words[(oop >> 2) + 1] & FLAG_MARK) === 0;
    for (const weak of this.weakObjects) {
      const base = (weak >> 2) + HEADER_WORDS;
      const fixed = mem.fixedFieldsOf(weak);
      const slots = words[base - 1];
      for (let i = fixed; i < slots; i++) {
        if (isDead(words[base + i])) {
          words[base + i] = nil;
          weakCleared++;
        }
      }
    }
    const died: WeakHandle[] = [];
    for (const wh of this.weakHandles) {
      if (isDead(wh.oop)) {
        wh.dead = true;
        this.weakHandles.delete(wh);
        died.push(wh);
      }
    }

    // 3. plan new addresses
    this.ensureSideTables(survivors);
    const savedClass = this.savedClass;
    const newAddress = this.newAddress;
    let dest = start;
    let k = 0;
    for (let oop = start; oop < end; ) {
      const size = (HEADER_WORDS + words[(oop >> 2) + 2]) << 2;
      if ((words[(oop >> 2) + 1] & FLAG_MARK) !== 0) {
        savedClass[k] = words[oop >> 2];
        newAddress[k] = dest;
        words[oop >> 2] = k;
        dest += size;
        k++;
      }
      oop += size;
    }

    // 4. update pointers
    const newNil = nil >= start && nil < end ? newAddress[words[nil >> 2]] : nil;
    const forward = (oop: Oop): Oop => {
      if ((oop & 3) === 0 && oop >= start && oop < end) {
        if ((words[(oop >> 2) + 1] & FLAG_MARK) === 0) return newNil; // a reference the marker did not see: drop it
        return newAddress[words[oop >> 2]];
      }
      return oop;
    };
    mem.specialObjectsOop = forward(mem.specialObjectsOop);
    for (const h of mem.handles) h.oop = forward(h.oop);
    this.primitiveMethod = forward(this.primitiveMethod);
    for (const wh of this.weakHandles) wh.oop = forward(wh.oop);
    for (const holder of mem.rootHolders) holder.visitRoots(forward);
    if (!full) {
      for (const oop of mem.remembered) {
        const isContext = words[oop >> 2] === contextClass;
        words[oop >> 2] = forward(words[oop >> 2]);
        this.updateFields(oop, isContext, forward, newNil);
      }
    }
    for (let oop = start; oop < end; ) {
      const i = oop >> 2;
      const size = (HEADER_WORDS + words[i + 2]) << 2;
      if ((words[i + 1] & FLAG_MARK) !== 0) {
        const idx = words[i];
        const cls = savedClass[idx];
        const isContext = cls === contextClass && contextClass !== -1;
        savedClass[idx] = forward(cls);
        this.updateFields(oop, isContext, forward, newNil);
      }
      oop += size;
    }

    // 5. slide
    for (let oop = start; oop < end; ) {
      const i = oop >> 2;
      const slots = words[i + 2];
      const size = (HEADER_WORDS + slots) << 2;
      if ((words[i + 1] & FLAG_MARK) !== 0) {
        const idx = words[i];
        const to = newAddress[idx];
        words[i] = savedClass[idx];
        words[i + 1] &= ~FLAG_MARK;
        if (to !== oop) words.copyWithin(to >> 2, i, i + HEADER_WORDS + slots);
      }
      oop += size;
    }

    mem.remembered.length = 0;
    mem.freeStart = dest;
    mem.youngStart = dest;
    if (mem.specialObjectsOop !== 0) mem.setSpecialObjects(mem.specialObjectsOop);
    if (full) this.shrinkIfSparse();

    const ms = performance.now() - t0;
    if (full) this.stats.fullCollections++;
    else this.stats.youngCollections++;
    this.stats.totalMs += ms;
    this.stats.lastMs = ms;
    if (ms > this.stats.maxPauseMs) this.stats.maxPauseMs = ms;
    this.stats.survivorBytes = dest - start;
    for (const wh of died) wh.onDeath();
    return { full, regionBytes, survivorBytes: dest - start, survivors, weakCleared, ms };
  }

  /** Traces the fields of `oop`: class, pointer slots (contexts up to stackp, weak objects' strong part only). */
  private scanFields(oop: Oop, contextClass: Oop, mark: (oop: Oop) => Oop): void {
    const mem = this.mem;
    const words = mem.words;
    const i = oop >> 2;
    mark(words[i]);
    const fmt = (words[i + 1] >> 3) & 31;
    const base = i + HEADER_WORDS;
    let n: number;
    if (fmt <= Format.fixedIndexable) {
      n = words[i + 2];
      if (words[i] === contextClass && fmt === Format.fixedIndexable) {
        const sp = words[base + STACKP];
        const live = (sp & 1) === 1 ? 6 + (sp >> 1) : n;
        if (live < n) {
          words.fill(mem.nilOop, base + Math.max(6, live), base + n);
          n = Math.max(6, live);
        }
      }
    } else if (fmt === Format.weak) {
      this.weakObjects.push(oop);
      // the class says how many named (strong) fields there are; never trust it past the object's end
      n = Math.min(mem.fixedFieldsOf(oop), words[i + 2]);
    } else if (isCompiledMethodFormat(fmt)) {
      n = 1 + ((words[base] >> 10) & 0xff);
    } else {
      return;
    }
    for (let j = 0; j < n; j++) {
      const v = words[base + j];
      if ((v & 3) === 0) mark(v);
    }
  }

  private updateFields(oop: Oop, isContext: boolean, forward: (oop: Oop) => Oop, nil: Oop): void {
    const words = this.mem.words;
    const i = oop >> 2;
    const fmt = (words[i + 1] >> 3) & 31;
    const base = i + HEADER_WORDS;
    let n: number;
    if (fmt <= Format.weak) n = words[i + 2];
    else if (isCompiledMethodFormat(fmt)) n = 1 + ((words[base] >> 10) & 0xff);
    else return;
    if (isContext) {
      const sp = words[base + STACKP];
      if ((sp & 1) === 1) {
        const live = 6 + (sp >> 1);
        if (live < n) {
          words.fill(nil, base + live, base + n);
          n = live;
        }
      }
    }
    for (let j = 0; j < n; j++) {
      const v = words[base + j];
      if ((v & 3) === 0) words[base + j] = forward(v);
    }
  }

  private ensureSideTables(n: number): void {
    if (this.savedClass.length < n) {
      const size = Math.max(n, this.savedClass.length * 2);
      this.savedClass = new Int32Array(size);
      this.newAddress = new Int32Array(size);
    }
  }

  /** After a full collection, gives memory back when the buffer is mostly empty. */
  private shrinkIfSparse(): void {
    const mem = this.mem;
    const used = mem.freeStart;
    const size = mem.buffer.byteLength;
    const target = Math.max(1024 * 1024, Math.ceil((used * 2) / 65536) * 65536);
    if (size > 4 * 1024 * 1024 && target < size / 2) {
      const next = new ArrayBuffer(target);
      new Uint8Array(next).set(new Uint8Array(mem.buffer, 0, used));
      mem.replaceBuffer(next);
    }
  }
}
