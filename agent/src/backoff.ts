import type { Clock } from "./clock.ts";

/**
 * Reconnect delays: capped exponential backoff with "equal jitter".
 *
 * The ceiling doubles per failed attempt from 2 s and is capped at 24 s; the delay is uniform in
 * [ceiling / 2, ceiling]:
 *
 *   attempt  0: 1–2 s    1: 2–4 s    2: 4–8 s    3: 8–16 s    4+: 12–24 s
 *
 * So no agent retries sooner than 1 s or later than 24 s (a server back from an outage hears from
 * every agent within 25 s, and lists the backups they ran meanwhile, DESIGN §8.7; it was 60 s
 * before issue 19), and a fleet that lost its server at the
 * same instant spreads its reconnects over a window at least as wide as the delay itself, instead
 * of arriving in one wave. (Full jitter, [0, ceiling], would spread more but allows instant retries.)
 */
export const MIN_DELAY_MS = 1000;
export const MAX_DELAY_MS = 24_000;
/** A connection that stayed up this long was healthy: the next failure starts again at 1 s. */
export const STABLE_AFTER_MS = 60_000;

/** The delay before retry number `attempt` (0 = the first retry after a failure). */
export function nextDelay(attempt: number, random: () => number = Math.random): number {
  // Clamp odd inputs (negative, NaN, out-of-range random) rather than return a bad delay.
  const exponent = attempt > 0 ? Math.min(Math.floor(attempt), 16) : 0;
  const ceiling = Math.min(MAX_DELAY_MS, 2 * MIN_DELAY_MS * 2 ** exponent);
  const raw = random();
  const r = raw > 0 ? Math.min(1, raw) : 0;
  return Math.round(ceiling / 2 + r * (ceiling / 2));
}

/** What `connect()` resolves with once the connection is over. */
export interface ConnectOutcome {
  /** `unauthorized`: the server refused our token (401, or `error{unauthorized}`). Retrying cannot help. */
  reason: "closed" | "unauthorized";
  /** Why it ended or never opened, for the log: "Failed to connect (ECONNREFUSED)", "closed (code 1011: ...)". */
  detail?: string;
}

export interface RetryInfo {
  /** 0 for the first retry after a healthy period. */
  attempt: number;
  delayMs: number;
  /** How long the connection that just ended lasted (from connect() to its end). */
  upForMs: number;
  /** Set when connect() threw instead of resolving. */
  error?: unknown;
  /** Why the connection ended: the outcome's detail, or the error connect() threw. */
  why?: string;
}

export interface ReconnectLoopOptions {
  /** Opens the connection and resolves when it has closed. Rejecting counts as `closed`. */
  connect: () => Promise<ConnectOutcome>;
  /** Waits `ms`; should resolve early when `signal` aborts. Tests pass one that records and returns. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Measures how long a connection stayed up. */
  clock: Pick<Clock, "now">;
  random?: () => number;
  /** Called once when the loop stops for good because the server said `unauthorized`. */
  onGiveUp?: (outcome: ConnectOutcome) => void;
  /** Called before each sleep, for logging. */
  onRetry?: (info: RetryInfo) => void;
  /** Stops the loop: before the next connect, or during a sleep. */
  signal?: AbortSignal;
  stableAfterMs?: number;
}

/**
 * Connects, waits for the connection to end, sleeps with backoff, and connects again, until the
 * server says `unauthorized` (resolves "unauthorized") or `signal` aborts (resolves "stopped").
 */
export async function reconnectLoop(options: ReconnectLoopOptions): Promise<"unauthorized" | "stopped"> {
  const random = options.random ?? Math.random;
  const stableAfterMs = options.stableAfterMs ?? STABLE_AFTER_MS;
  let attempt = 0;
  for (;;) {
    if (options.signal?.aborted) return "stopped";
    const startedAt = options.clock.now().getTime();
    let outcome: ConnectOutcome;
    let error: unknown;
    try {
      outcome = await options.connect();
    } catch (err) {
      outcome = { reason: "closed" };
      error = err;
    }
    if (outcome.reason === "unauthorized") {
      options.onGiveUp?.(outcome);
      return "unauthorized";
    }
    if (options.signal?.aborted) return "stopped";
    const upForMs = options.clock.now().getTime() - startedAt;
    if (upForMs >= stableAfterMs) attempt = 0;
    const delayMs = nextDelay(attempt, random);
    const info: RetryInfo = { attempt, delayMs, upForMs };
    if (error !== undefined) info.error = error;
    const why =
      outcome.detail ?? (error === undefined ? undefined : error instanceof Error ? error.message : String(error));
    if (why) info.why = why;
    options.onRetry?.(info);
    attempt += 1;
    await options.sleep(delayMs, options.signal);
  }
}

/** A `sleep` on an injected clock that ends early when `signal` aborts. */
export function clockSleep(clock: Clock): (ms: number, signal?: AbortSignal) => Promise<void> {
  return (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        clock.clearTimeout(handle);
        resolve();
      };
      const handle = clock.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
}
