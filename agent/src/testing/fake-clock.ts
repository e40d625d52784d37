import type { Clock, TimerHandle } from "../clock.ts";

/** A manual clock for tests: timers fire only inside advance()/advanceTo(), in time order. */
export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start: Date | string = "2026-11-30T12:00:00Z") {
    this.#now = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle.id);
  }

  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by ms, firing every timer due on the way, earliest first. */
  advance(ms: number): void {
    this.advanceTo(new Date(this.#now + ms));
  }

  advanceTo(target: Date | string): void {
    const end = new Date(target).getTime();
    for (;;) {
      let dueId = -1;
      let dueAt = Number.POSITIVE_INFINITY;
      for (const [id, t] of this.#timers) {
        if (t.at <= end && t.at < dueAt) {
          dueAt = t.at;
          dueId = id;
        }
      }
      if (dueId < 0) break;
      const timer = this.#timers.get(dueId);
      this.#timers.delete(dueId);
      this.#now = Math.max(this.#now, dueAt);
      timer?.fn();
    }
    this.#now = Math.max(this.#now, end);
  }
}
