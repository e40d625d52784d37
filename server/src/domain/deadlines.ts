import type { Clock } from "../clock.ts";

/** A timer on the server's clock, fired by the periodic sweep (tests move the clock and sweep). */
export interface Deadline {
  arm(): void;
  disarm(): void;
}

/**
 * The expiries of the waits on agents' live answers (a browse, a download, a diff, a repository
 * test): each is armed on the server's clock, and the periodic sweep fires those past due. No
 * timers of the runtime, so tests move the injected clock and sweep.
 */
export function createDeadlines(clock: Clock) {
  const timers = new Map<symbol, { at: number; fire: () => void }>();
  return {
    /** A deadline `ms` after it is armed; `onExpire` runs once, from the sweep, if it is not disarmed. */
    deadline(ms: number, onExpire: () => void): Deadline {
      const key = Symbol("deadline");
      return {
        arm: () => timers.set(key, { at: clock.now().getTime() + ms, fire: onExpire }),
        disarm: () => timers.delete(key),
      };
    },
    /** Fires every deadline past due. */
    sweep(): void {
      const now = clock.now().getTime();
      for (const [key, t] of [...timers]) {
        if (t.at > now) continue;
        timers.delete(key);
        t.fire();
      }
    },
    /** How many deadlines are armed (tests). */
    get size(): number {
      return timers.size;
    },
  };
}
