/**
 * Test support: which primitive functions the unit tests called, and whether each call succeeded or
 * failed. Both primitive harnesses record here, so that each area's test file can end by checking that
 * every primitive of its area was seen both succeeding and failing.
 */
import type { PrimitiveFn } from "./table.js";

export interface LedgerEntry {
  succeeded: number;
  failed: number;
}

const ledger = new Map<PrimitiveFn, LedgerEntry>();

export function recordPrimitiveCall(fn: PrimitiveFn, ok: boolean): void {
  let entry = ledger.get(fn);
  if (entry === undefined) ledger.set(fn, (entry = { succeeded: 0, failed: 0 }));
  if (ok) entry.succeeded++;
  else entry.failed++;
}

/**
 * The primitives of `area` not yet seen succeeding (or failing), as "number name" strings. `neverFail`
 * names the primitives that have no failure case (they accept any receiver and arguments);
 * `neverSucceed` the ones that always fail by design (markers such as 198 and 199, whose method's code
 * is what runs).
 */
export function uncoveredPrimitives(
  area: Record<number | string, PrimitiveFn>,
  neverFail: Array<number | string> = [],
  neverSucceed: Array<number | string> = [],
): { notSucceeded: string[]; notFailed: string[] } {
  const notSucceeded: string[] = [];
  const notFailed: string[] = [];
  for (const [key, fn] of Object.entries(area)) {
    const entry = ledger.get(fn) ?? { succeeded: 0, failed: 0 };
    const label = `${key} ${fn.name}`;
    if (entry.succeeded === 0 && !neverSucceed.map(String).includes(key)) notSucceeded.push(label);
    if (entry.failed === 0 && !neverFail.map(String).includes(key)) notFailed.push(label);
  }
  return { notSucceeded, notFailed };
}
