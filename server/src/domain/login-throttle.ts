import type { Clock } from "../clock.ts";

// 5 failures per user name, or 20 per client address, within 15 minutes lock that key
// until 15 minutes after its oldest counted failure. Numbers follow common practice (OWASP).
const WINDOW_MS = 15 * 60 * 1000;
const MAX_PER_USER = 5;
const MAX_PER_ADDRESS = 20;

export class LoginThrottle {
  #failures = new Map<string, number[]>();
  constructor(private readonly clock: Clock) {}

  #recent(key: string): number[] {
    const now = this.clock.now().getTime();
    const list = (this.#failures.get(key) ?? []).filter((t) => now - t < WINDOW_MS);
    if (list.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, list);
    return list;
  }

  /** Seconds until another attempt is allowed, or 0 when allowed now. */
  retryAfter(username: string, address: string): number {
    const now = this.clock.now().getTime();
    let wait = 0;
    for (const [key, max] of [
      [`u:${username.toLowerCase()}`, MAX_PER_USER],
      [`a:${address}`, MAX_PER_ADDRESS],
    ] as const) {
      const list = this.#recent(key);
      if (list.length >= max) wait = Math.max(wait, Math.ceil(((list[0] as number) + WINDOW_MS - now) / 1000));
    }
    return wait;
  }

  fail(username: string, address: string): void {
    const now = this.clock.now().getTime();
    for (const key of [`u:${username.toLowerCase()}`, `a:${address}`])
      this.#failures.set(key, [...this.#recent(key), now]);
  }

  succeed(username: string): void {
    this.#failures.delete(`u:${username.toLowerCase()}`);
  }
}
