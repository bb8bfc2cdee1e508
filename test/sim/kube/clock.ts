/**
 * The simulated clock: simulated epoch milliseconds and a discrete-event timer queue. `advanceTo(t)` runs every
 * timer due up to `t` in (time, insertion) order with `now` set to the timer's time, so timestamps are exact
 * whatever the real timer's jitter.
 */
export interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class Clock {
  private timers: Timer[] = [];
  private seq = 0;

  constructor(public now: number) {}

  /** Runs `fn` at simulated time `at` (epoch ms). */
  at(at: number, fn: () => void): Timer {
    const t: Timer = { at: Math.max(at, this.now), seq: this.seq++, fn, cancelled: false };
    // Keep the queue sorted (small queues: insertion by binary search).
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.timers[mid] as Timer;
      if (m.at < t.at || (m.at === t.at && m.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, t);
    return t;
  }

  /** Runs `fn` after `seconds` simulated seconds. */
  after(seconds: number, fn: () => void): Timer {
    return this.at(this.now + seconds * 1000, fn);
  }

  cancel(t: Timer | undefined | null): void {
    if (t) t.cancelled = true;
  }

  /** Advances to `target`, running due timers in order; `between` runs after each timer (controllers settle). */
  advanceTo(target: number, between?: () => void): void {
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      if (next.cancelled) continue;
      if (next.at > this.now) this.now = next.at;
      next.fn();
      between?.();
    }
    if (target > this.now) this.now = target;
  }

  /** Time of the next pending timer, if any. */
  nextAt(): number | undefined {
    while (this.timers[0]?.cancelled) this.timers.shift();
    return this.timers[0]?.at;
  }

  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}
