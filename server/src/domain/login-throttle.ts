import { isIP } from "node:net";
import type { Clock } from "../clock.ts";

/**
 * Login throttling that slows guessing and cannot be turned into a lock-out.
 *
 * Each attempt counts against two keys: the (user name, address) pair, and the address alone.
 * There is deliberately no key on the user name alone: failures from one address never delay
 * that user anywhere else, so nobody can lock the real admin out by failing as "ADMIN".
 *
 * A key allows some free failures (5 for a pair: typos; 20 for an address: a few users behind
 * one NAT), then each further attempt waits 1 s, 2 s, 4 s, ... after the previous one, capped at
 * 15 min. An attempt holds a slot from before its password check until its result, and counts
 * as a failure meanwhile: 100 guesses sent at once get 5 checks, not 100.
 *
 * At the cap, one (user, address) pair gets 4 guesses an hour; a key quiet for an hour starts
 * again from zero. A success clears its pair, never the address: an attacker with an account
 * of their own cannot reset their address's count by logging in.
 */
const PAIR_FREE = 5;
const ADDRESS_FREE = 20;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15 * 60_000;
const FORGET_MS = 60 * 60_000;
// ~100 bytes per key: 100,000 keys are ~10 MB. Each key costs its maker an argon2id check.
const MAX_KEYS = 100_000;
const PRUNE_EVERY_MS = 60_000;

interface Entry {
  failures: number;
  inFlight: number;
  /** The last failure or the last start of an attempt, ms. */
  lastAt: number;
}

/** A reserved attempt: release it exactly once, with its outcome, when the check is done. */
export interface LoginSlot {
  release(succeeded: boolean): void;
}

export type Reservation = { ok: true; slot: LoginSlot } | { ok: false; retryAfterS: number };

/** The wait after the n-th attempt beyond the free ones (n >= 1). */
export const delayMs = (n: number): number => Math.min(FIRST_DELAY_MS * 2 ** (n - 1), MAX_DELAY_MS);

export class LoginThrottle {
  // Insertion order is recency order (an entry is re-inserted when used), for eviction.
  #entries = new Map<string, Entry>();
  #prunedAt = 0;
  constructor(private readonly clock: Clock) {}

  /**
   * Takes a slot for one attempt by `username` from `address`, or says how long to wait.
   * Call it before the password check, and release the slot after it.
   */
  reserve(username: string, address: string): Reservation {
    const now = this.clock.now().getTime();
    this.#prune(now);
    const group = addressGroup(address);
    const keys = [
      [`p:${username.toLowerCase()}\u0000${group}`, PAIR_FREE],
      [`a:${group}`, ADDRESS_FREE],
    ] as const;
    const wait = Math.max(...keys.map(([key, free]) => this.#waitMs(key, free, now)));
    if (wait > 0) return { ok: false, retryAfterS: Math.ceil(wait / 1000) };
    const [pair, addr] = keys.map(([key]) => this.#take(key, now)) as [Entry, Entry];
    let released = false;
    return {
      ok: true,
      slot: {
        release: (succeeded) => {
          if (released) return;
          released = true;
          const at = this.clock.now().getTime();
          for (const e of [pair, addr]) {
            e.inFlight--;
            if (!succeeded) {
              e.failures++;
              e.lastAt = at;
            }
          }
          if (succeeded) {
            pair.failures = 0;
            if (pair.inFlight === 0) this.#entries.delete(keys[0][0]);
          }
        },
      },
    };
  }

  /** Keys held now (for tests of the memory bound). */
  get size(): number {
    return this.#entries.size;
  }

  #waitMs(key: string, free: number, now: number): number {
    const e = this.#live(key, now);
    if (!e) return 0;
    const attempts = e.failures + e.inFlight;
    if (attempts < free) return 0;
    return Math.max(0, e.lastAt + delayMs(attempts - free + 1) - now);
  }

  /** The key's entry, unless it has been quiet long enough to be forgotten (pruning is lazy). */
  #live(key: string, now: number): Entry | undefined {
    const e = this.#entries.get(key);
    return e && (e.inFlight > 0 || now - e.lastAt < FORGET_MS) ? e : undefined;
  }

  #take(key: string, now: number): Entry {
    const e = this.#live(key, now) ?? { failures: 0, inFlight: 0, lastAt: now };
    this.#entries.delete(key);
    if (this.#entries.size >= MAX_KEYS) this.#evict(now);
    e.inFlight++;
    e.lastAt = now;
    this.#entries.set(key, e);
    return e;
  }

  #prune(now: number) {
    if (now - this.#prunedAt < PRUNE_EVERY_MS) return;
    this.#prunedAt = now;
    for (const [key, e] of this.#entries)
      if (e.inFlight === 0 && now - e.lastAt >= FORGET_MS) this.#entries.delete(key);
  }

  /** Full: forget the quiet keys, else the least recently used idle ones (never one in flight). */
  #evict(now: number) {
    this.#prune(now);
    for (const [key, e] of this.#entries) {
      if (this.#entries.size < MAX_KEYS) return;
      if (e.inFlight === 0) this.#entries.delete(key);
    }
  }
}

/**
 * The unit an address is throttled by: an IPv4 address, or an IPv6 /64 (one site's usual
 * allocation, where a single host can pick any of 2^64 addresses). IPv4-mapped IPv6 addresses
 * count as their IPv4 address; anything else (no socket, as in tests) is its own group.
 */
export function addressGroup(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIP(address) !== 6) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("%")[0]?.split("::") ?? [];
  const left = head ? head.split(":") : [];
  const right = address.includes("::") && tail ? tail.split(":") : [];
  // An embedded IPv4 tail (::1.2.3.4) sits in the low 64 bits, which the group drops.
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(":")}::/64`;
}
