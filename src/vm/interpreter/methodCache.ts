/**
 * The global method cache: (selector, class) -> method and its primitive index. Keys are oops, so it is
 * flushed whenever objects move (garbage collection, become) or a method dictionary changes.
 */
import type { Oop } from "../memory/oop.js";

const SIZE = 4096;

export class MethodCache {
  readonly mask = SIZE - 1;
  readonly selectors = new Int32Array(SIZE);
  readonly classes = new Int32Array(SIZE);
  readonly methods = new Int32Array(SIZE);
  readonly primitives = new Int32Array(SIZE);
  hits = 0;
  misses = 0;

  slot(selector: Oop, cls: Oop): number {
    return ((selector ^ (cls >>> 1)) >>> 2) & this.mask;
  }

  flush(): void {
    this.selectors.fill(0);
    this.classes.fill(0);
  }

  /** Forgets entries for `selector` (after a method was added or removed). */
  flushSelector(selector: Oop): void {
    for (let i = 0; i < SIZE; i++) if (this.selectors[i] === selector) this.selectors[i] = 0;
  }
}
