/**
 * The agent's time seam. Production code takes a Clock; tests pass a FakeClock
 * (testing/fake-clock.ts) and advance it, so nothing sleeps to synchronize.
 */
export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export type TimerHandle = { readonly id: number };

export const realClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { id: Number(t) };
  },
  clearTimeout(handle) {
    clearTimeout(handle.id as unknown as ReturnType<typeof setTimeout>);
  },
};
