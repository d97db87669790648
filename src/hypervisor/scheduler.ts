/**
 * The guest scheduler (design.md section 4): runnable guests take turns of one heartbeat of CPU each
 * (default 20 ms), in the order of their virtual runtime (CPU used divided by weight, as Linux's CFS
 * does), which is round-robin when weights are equal and proportional sharing otherwise. A turn runs as
 * sub-slices of at most `sliceMs` (default 2 ms) separated by returns to Node's event loop
 * (setImmediate), so network requests are served within a couple of milliseconds however busy the
 * guests are.
 *
 * CPU quotas are cgroup `cpu.max`: `quotaMs` of CPU in every `periodMs`. A guest that used its quota is
 * throttled (paused, reason "quota") until its next period; the periods it was throttled in and the time
 * it waited are counted. Overruns (a slice ends at the first interrupt check after its deadline) are
 * carried into the next period, so the long-run share is exact.
 *
 * Idle guests (no runnable process: waiting for a Delay or for I/O) are parked and cost nothing: a timer
 * unparks a guest when its VM's next timer is due, and `wake` (host signals: sockets, files) unparks it
 * at once. The loop runs only while some guest is runnable.
 */
import type { Guest } from "./guest.js";

/** the longest a parked guest sleeps before it is woken to look at its timers again */
const MAX_PARK_MS = 3_600_000;

export interface SchedulerOptions {
  heartbeatMs?: number;
  sliceMs?: number;
}

/** Bounded sample buffers for the metrics (drained by each scrape). */
const MAX_SAMPLES = 10_000;

function pushSample(list: number[], value: number): void {
  if (list.length >= MAX_SAMPLES) list.shift();
  list.push(value);
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Scheduler {
  heartbeatMs: number;
  sliceMs: number;
  /**
   * When this answers true (remote calls in flight: the remote services' `activity.interactive()`), sub-
   * slices are at most `interactiveSliceMs`, so that requests wait even less for the event loop.
   */
  interactive: (() => boolean) | undefined;
  interactiveSliceMs = 0.5;
  private readonly guests = new Set<Guest>();
  private looping = false;
  private closed = false;
  /** the guest whose turn it is (undefined between turns) */
  current: Guest | undefined;
  private last: Guest | undefined;
  /** when the next turn became due (the end of the previous one, or a wake-up) */
  private dueAt: number | undefined;

  // daemon-wide figures
  guestSwitches = 0;
  turns = 0;
  /** time spent between two guests' slices (scheduler overhead + event loop), total ms */
  switchOverheadMs = 0;
  slicesMs: number[] = [];
  heartbeatLatenessMs: number[] = [];
  /** time from the end of one guest's last slice to the start of the next guest's first slice (benchmarks) */
  switchGapsMs: number[] = [];
  private lastSliceEnd: number | undefined;
  private lastSliceGuest: Guest | undefined;

  /** where unexpected errors of the loop itself are reported */
  onError: (error: unknown, guest: Guest) => void = () => undefined;

  constructor(options: SchedulerOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 20;
    this.sliceMs = options.sliceMs ?? 2;
  }

  add(guest: Guest): void {
    this.guests.add(guest);
    this.kick();
  }

  remove(guest: Guest): void {
    this.guests.delete(guest);
    this.clearTimers(guest);
  }

  close(): void {
    this.closed = true;
    for (const g of this.guests) this.clearTimers(g);
    this.guests.clear();
  }

  private clearTimers(g: Guest): void {
    const s = g.sched;
    if (s.wakeTimer) clearTimeout(s.wakeTimer);
    if (s.unthrottleTimer) clearTimeout(s.unthrottleTimer);
    s.wakeTimer = undefined;
    s.unthrottleTimer = undefined;
  }

  /** Whether the guest would run now. Host jobs run in paused and crashed guests too (surgery). */
  isRunnable(g: Guest): boolean {
    const s = g.sched;
    if (!g.space || s.parked) return false;
    if (g.isActive()) return !s.throttled;
    return g.hasJobs();
  }

  /** Starts the loop if it is not running (after anything that may make a guest runnable). */
  kick(): void {
    if (this.looping || this.closed) return;
    this.looping = true;
    this.dueAt ??= performance.now();
    setImmediate(() => void this.loop());
  }

  /** Unparks a guest now (a host signal, a new job, a resume). */
  wake(g: Guest): void {
    const s = g.sched;
    if (s.wakeTimer) clearTimeout(s.wakeTimer);
    s.wakeTimer = undefined;
    if (s.parked) {
      s.parked = false;
      this.catchUp(g);
    }
    this.kick();
  }

  /** Parks an idle guest until `delayMs` from now (undefined: until woken). */
  park(g: Guest, delayMs: number | undefined): void {
    const s = g.sched;
    s.parked = true;
    if (s.wakeTimer) clearTimeout(s.wakeTimer);
    s.wakeTimer = undefined;
    if (delayMs !== undefined) {
      // a Delay of days would overflow setTimeout (which then fires at once, in a loop): wake at most an
      // hour later; the guest finds nothing due and parks again for the rest
      const wait = Math.min(Math.max(0, delayMs), MAX_PARK_MS);
      const due = performance.now() + wait;
      s.wakeTimer = setTimeout(() => {
        s.wakeTimer = undefined;
        pushSample(this.heartbeatLatenessMs, Math.max(0, performance.now() - due));
        if (s.parked) {
          s.parked = false;
          this.catchUp(g);
          this.dueAt = Math.min(this.dueAt ?? Infinity, due);
          this.kick();
        }
      }, Math.ceil(wait));
    }
  }

  /** A guest that slept does not get to hog the CPU for the time it did not use. */
  private catchUp(g: Guest): void {
    let min = Infinity;
    for (const other of this.guests) if (other !== g && this.isRunnable(other)) min = Math.min(min, other.sched.vruntime);
    if (min !== Infinity) g.sched.vruntime = Math.max(g.sched.vruntime, min - this.heartbeatMs / 2);
  }

  // ------------------------------------------------------------------ quotas

  /** Moves the guest's quota period forward to now; answers the CPU left in the period (Infinity: no quota). */
  quotaLeft(g: Guest, now: number): number {
    const quota = g.config.cpu;
    if (!quota) return Infinity;
    const s = g.sched;
    if (s.periodStart === undefined) {
      s.periodStart = now;
      s.usedInPeriod = 0;
    }
    if (now >= s.periodStart + quota.periodMs) {
      const k = Math.floor((now - s.periodStart) / quota.periodMs);
      s.periodStart += k * quota.periodMs;
      s.usedInPeriod = Math.max(0, s.usedInPeriod - k * quota.quotaMs);
    }
    return quota.quotaMs - s.usedInPeriod;
  }

  private throttle(g: Guest, now: number): void {
    const quota = g.config.cpu!;
    const s = g.sched;
    s.throttled = true;
    s.throttledAt = now;
    g.stats.throttledPeriods++;
    g.throttled(true);
    const until = s.periodStart! + quota.periodMs;
    s.unthrottleTimer = setTimeout(() => {
      s.unthrottleTimer = undefined;
      this.unthrottle(g);
    }, Math.max(0, Math.ceil(until - now)));
  }

  /** Ends a throttle (its period is over, or the quota changed). */
  unthrottle(g: Guest): void {
    const s = g.sched;
    if (s.unthrottleTimer) clearTimeout(s.unthrottleTimer);
    s.unthrottleTimer = undefined;
    if (!s.throttled) return;
    const now = performance.now();
    s.throttled = false;
    g.stats.throttledMs += now - (s.throttledAt ?? now);
    s.throttledAt = undefined;
    this.catchUp(g);
    g.throttled(false);
    this.kick();
  }

  // ------------------------------------------------------------------ the loop

  private pickNext(): Guest | undefined {
    let best: Guest | undefined;
    for (const g of this.guests) {
      if (!this.isRunnable(g)) continue;
      if (!best || g.sched.vruntime < best.sched.vruntime) best = g;
    }
    return best;
  }

  private async loop(): Promise<void> {
    try {
      while (!this.closed) {
        const g = this.pickNext();
        if (!g) break;
        const start = performance.now();
        if (this.dueAt !== undefined) pushSample(this.heartbeatLatenessMs, Math.max(0, start - this.dueAt));
        if (this.last !== g) {
          if (this.last !== undefined) this.guestSwitches++;
          this.last = g;
        }
        this.turns++;
        try {
          await this.turn(g);
        } catch (e) {
          // never reached by a guest's own faults (runSlice catches them); a bug here must not stop the loop
          this.onError(e, g);
          g.sched.vruntime += this.heartbeatMs;
        }
        this.dueAt = performance.now();
        await yieldToEventLoop();
      }
    } finally {
      this.current = undefined;
      this.looping = false;
      this.dueAt = undefined;
    }
  }

  private isInteractive(): boolean {
    try {
      return this.interactive?.() ?? false;
    } catch {
      return false;
    }
  }

  /** One guest's turn: up to one heartbeat of CPU (less when its quota is nearly used), in sub-slices. */
  private async turn(g: Guest): Promise<void> {
    this.current = g;
    const surgery = !g.isActive();
    let budget = this.heartbeatMs;
    if (!surgery) {
      const left = this.quotaLeft(g, performance.now());
      if (left <= 0) {
        this.throttle(g, performance.now());
        this.current = undefined;
        return;
      }
      budget = Math.min(budget, left);
    }
    let used = 0;
    let lastEnd: number | undefined;
    try {
      while (used < budget - 0.01) {
        const sliceStart = performance.now();
        if (lastEnd !== undefined) this.switchOverheadMs += sliceStart - lastEnd;
        else if (this.lastSliceGuest !== undefined && this.lastSliceGuest !== g && this.lastSliceEnd !== undefined) {
          pushSample(this.switchGapsMs, sliceStart - this.lastSliceEnd);
        }
        const sliceMs = this.isInteractive() ? Math.min(this.sliceMs, this.interactiveSliceMs) : this.sliceMs;
        const ms = Math.min(sliceMs, budget - used);
        const elapsed = g.runSlice(ms, !surgery);
        lastEnd = performance.now();
        this.lastSliceEnd = lastEnd;
        this.lastSliceGuest = g;
        used += elapsed;
        pushSample(this.slicesMs, g.lastSliceWallMs);
        if (!this.isRunnable(g) || g.isActive() === surgery) break;
        await yieldToEventLoop();
        if (!this.isRunnable(g) || g.isActive() === surgery) break;
      }
    } finally {
      g.sched.vruntime += (used * 100) / (g.config.weight ?? 100);
      this.current = undefined;
    }
    if (!surgery && g.isActive() && g.config.cpu && !g.sched.throttled) {
      const now = performance.now();
      if (this.quotaLeft(g, now) <= 0) this.throttle(g, now);
    }
  }

  /** The samples since the last drain, copied (not drained: for readers other than the metrics). */
  peekSamples(): { slicesMs: number[]; heartbeatLatenessMs: number[] } {
    return { slicesMs: [...this.slicesMs], heartbeatLatenessMs: [...this.heartbeatLatenessMs] };
  }

  /** Figures for the metrics since the previous call (the sample lists are drained). */
  drainSamples(): { slicesMs: number[]; heartbeatLatenessMs: number[] } {
    const out = { slicesMs: this.slicesMs, heartbeatLatenessMs: this.heartbeatLatenessMs };
    this.slicesMs = [];
    this.heartbeatLatenessMs = [];
    return out;
  }
}

/** Per-guest scheduling state (owned by the scheduler, kept on the guest). */
export interface GuestSchedState {
  vruntime: number;
  parked: boolean;
  wakeTimer: ReturnType<typeof setTimeout> | undefined;
  throttled: boolean;
  throttledAt: number | undefined;
  unthrottleTimer: ReturnType<typeof setTimeout> | undefined;
  periodStart: number | undefined;
  usedInPeriod: number;
}

export function newSchedState(): GuestSchedState {
  return {
    vruntime: 0, parked: false, wakeTimer: undefined, throttled: false, throttledAt: undefined, unthrottleTimer: undefined,
    periodStart: undefined, usedInPeriod: 0,
  };
}
