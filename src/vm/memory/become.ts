/**
 * become: replacing every reference to some objects by references to others, as Squeak V3 does it: no
 * object moves; the heap and the roots are scanned once and each pointer to a `from` object is replaced
 * by the matching `to` object (and, two-way, each pointer to a `to` object by its `from` object).
 *
 * What is scanned: every object's class word and pointer fields (compiled methods: header and literals;
 * weak slots too; contexts only up to their stack pointer, so the caller must first write the
 * interpreter's registers back into the active context), and every root: the special objects array,
 * host handles, root holders (the interpreter's active context and its extra roots) and the collector's
 * weak handles when given.
 *
 * Identity hashes (Squeak semantics). With `copyHash`, hashes follow the references: one-way, each `to`
 * object takes the hash of its `from` object, so hashed collections that held `from` still find `to`;
 * two-way, the two objects swap hashes, so every hashed collection keeps working. Without `copyHash`
 * every object keeps its own hash.
 *
 * The remembered set stays right: an old object that now points to a young one is remembered, so the
 * next young collection sees that reference.
 *
 * Worked example (one-way): `{a} elementsForwardIdentityTo: {b}` with a old, b young, and an old array
 * X = {a. 3}. The scan finds X's slot 0 = a, stores b there and remembers X (old pointing to young); b
 * takes a's identity hash; a is now unreferenced garbage.
 */
import { FLAG_MARK, HEADER_WORDS, HEAP_START, type ObjectMemory } from "./heap.js";
import { Format } from "./format.js";
import { Special } from "./special.js";
import type { WeakHandle } from "./gc.js";
import type { Oop } from "./oop.js";

export interface BecomeOptions {
  /** the collector's weak handles (Collector.weakHandles), so that they follow too */
  weakHandles?: Iterable<WeakHandle>;
}

const CONTEXT_STACKP = 2;
const CONTEXT_FIXED = 6;

/**
 * Replaces references to `from[i]` by references to `to[i]` everywhere (and the converse when
 * `twoWay`). Answers an error message, changing nothing, when the input is not acceptable: arrays of
 * different lengths, immediates, nil/true/false, something that is not an object of this heap, the same
 * object twice in `from` (or, two-way, twice anywhere).
 */
export function become(
  mem: ObjectMemory, from: readonly Oop[], to: readonly Oop[], twoWay: boolean, copyHash: boolean,
  options: BecomeOptions = {},
): string | undefined {
  const error = checkBecome(mem, from, to, twoWay);
  if (error !== undefined) return error;
  const forwarding = new Map<Oop, Oop>();
  for (let i = 0; i < from.length; i++) {
    if (from[i] === to[i]) continue; // a one-way become of an object into itself changes nothing
    forwarding.set(from[i], to[i]);
    if (twoWay) forwarding.set(to[i], from[i]);
  }
  if (forwarding.size === 0) return undefined;
  if (copyHash) copyHashes(mem, from, to, twoWay);

  // Tag the objects to replace with the mark bit (free outside collections) so that the scan rejects
  // almost every pointer with one read, and keep their address range for a cheaper first test.
  const words = mem.words;
  let min = Number.MAX_SAFE_INTEGER;
  let max = 0;
  for (const oop of forwarding.keys()) {
    words[(oop >> 2) + 1] |= FLAG_MARK;
    if (oop < min) min = oop;
    if (oop > max) max = oop;
  }
  const forward = (oop: Oop): Oop => {
    if ((oop & 3) !== 0 || oop < min || oop > max || (words[(oop >> 2) + 1] & FLAG_MARK) === 0) return oop;
    return forwarding.get(oop) ?? oop;
  };
  try {
    scanHeap(mem, forward, min, max);
    forwardRoots(mem, forward, options);
  } finally {
    for (const oop of forwarding.keys()) words[(oop >> 2) + 1] &= ~FLAG_MARK;
  }
  return undefined;
}

/** The reason `become` would refuse these arrays, or undefined. */
export function checkBecome(mem: ObjectMemory, from: readonly Oop[], to: readonly Oop[], twoWay: boolean): string | undefined {
  if (from.length !== to.length) return `become: the arrays have different lengths (${from.length} and ${to.length})`;
  const special = new Set([mem.nilOop, mem.trueOop, mem.falseOop]);
  const seenFrom = new Set<Oop>();
  const seenTo = new Set<Oop>();
  for (let i = 0; i < from.length; i++) {
    for (const oop of [from[i], to[i]]) {
      if ((oop & 3) !== 0) return `become: element ${i + 1} is an immediate (${oop & 1 ? "SmallInteger" : "Character"}), which cannot become another object`;
      if (oop < HEAP_START || oop >= mem.freeStart) return `become: element ${i + 1} is not an object of this heap`;
      if (special.has(oop)) return `become: element ${i + 1} is nil, true or false, which cannot become another object`;
    }
    if (seenFrom.has(from[i])) return `become: element ${i + 1} of the first array appears twice`;
    seenFrom.add(from[i]);
    if (twoWay) {
      if (from[i] === to[i]) return `become: element ${i + 1} is the same object in both arrays`;
      if (seenTo.has(to[i])) return `become: element ${i + 1} of the second array appears twice`;
      seenTo.add(to[i]);
    }
  }
  if (twoWay) {
    for (const oop of seenTo) if (seenFrom.has(oop)) return "become: an object appears in both arrays";
  }
  return undefined;
}

function copyHashes(mem: ObjectMemory, from: readonly Oop[], to: readonly Oop[], twoWay: boolean): void {
  const fromHashes = from.map((oop) => mem.hashOf(oop));
  const toHashes = to.map((oop) => mem.hashOf(oop));
  for (let i = 0; i < from.length; i++) {
    if (from[i] === to[i]) continue;
    mem.setHash(to[i], fromHashes[i]);
    if (twoWay) mem.setHash(from[i], toHashes[i]);
  }
}

/** Replaces, in every object of the heap, the class word and pointer fields that `forward` changes. */
function scanHeap(mem: ObjectMemory, forward: (oop: Oop) => Oop, min: Oop, max: Oop): void {
  const words = mem.words;
  const end = mem.freeStart;
  const youngStart = mem.youngStart;
  const contextClass = mem.specialObjectsOop !== 0 ? mem.specialObject(Special.classMethodContext) : -1;
  for (let oop = HEAP_START; oop < end; ) {
    const i = oop >> 2;
    const slots = words[i + 2];
    const next = oop + ((HEADER_WORDS + slots) << 2);
    const old = oop < youngStart;
    const cls = words[i];
    if (cls >= min && cls <= max) {
      const replacement = forward(cls);
      if (replacement !== cls) {
        words[i] = replacement;
        if (old && replacement >= youngStart) mem.remember(oop);
      }
    }
    const fmt = (words[i + 1] >> 3) & 31;
    const base = i + HEADER_WORDS;
    let n: number;
    if (fmt <= Format.weak) {
      n = slots;
      if (cls === contextClass && fmt === Format.fixedIndexable && slots > CONTEXT_STACKP) {
        const sp = words[base + CONTEXT_STACKP];
        if ((sp & 1) === 1) n = Math.min(slots, Math.max(CONTEXT_FIXED, CONTEXT_FIXED + (sp >> 1)));
      }
    } else if (fmt >= Format.compiledMethod) {
      n = Math.min(slots, 1 + ((words[base] >> 10) & 0xff));
    } else {
      oop = next;
      continue;
    }
    for (let j = 0; j < n; j++) {
      const v = words[base + j];
      if ((v & 3) === 0 && v >= min && v <= max) {
        const replacement = forward(v);
        if (replacement !== v) {
          words[base + j] = replacement;
          if (old && replacement >= youngStart) mem.remember(oop);
        }
      }
    }
    oop = next;
  }
}

function forwardRoots(mem: ObjectMemory, forward: (oop: Oop) => Oop, options: BecomeOptions): void {
  if (mem.specialObjectsOop !== 0) {
    mem.specialObjectsOop = forward(mem.specialObjectsOop);
    mem.setSpecialObjects(mem.specialObjectsOop);
  }
  for (const h of mem.handles) h.oop = forward(h.oop);
  for (const holder of mem.rootHolders) holder.visitRoots(forward);
  if (options.weakHandles) for (const wh of options.weakHandles) wh.oop = forward(wh.oop);
}
