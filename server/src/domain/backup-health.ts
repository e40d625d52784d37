import { Cron } from "croner";
import type { BackupCadence, Schedule } from "./types.ts";

/**
 * "Does this host have a recent, good backup?" in one word:
 * - failed: its last backup job failed;
 * - stale: no successful backup within its expected interval (plus grace);
 * - ok: the last backup succeeded within it;
 * - pending: never backed up yet, but not due yet either (just enrolled);
 * - unscheduled: no enabled backup schedule, so nothing is expected.
 */
export type BackupHealth = "ok" | "failed" | "stale" | "pending" | "unscheduled";

const intervals = new Map<string, number | null>();

/** Seconds between two consecutive runs of a cron expression (cached per expression and zone). */
export function cronInterval(expr: string, timezone: string | null, now: Date): number | null {
  const key = `${expr}\u0000${timezone ?? ""}`;
  if (!intervals.has(key)) {
    try {
      const runs = new Cron(expr, { paused: true, mode: "5-or-6-parts", ...(timezone ? { timezone } : {}) }).nextRuns(
        3,
        now,
      );
      // The gap between the 2nd and 3rd run: the 1st may be cut short by `now`.
      const [, b, c] = runs;
      intervals.set(key, b && c ? (c.getTime() - b.getTime()) / 1000 : null);
    } catch {
      intervals.set(key, null);
    }
  }
  return intervals.get(key) ?? null;
}

const shorter = (a: number | null, b: number | null) => (a === null ? b : b === null || a <= b ? a : b);

/** The shortest interval among the host's enabled backup schedules, in seconds; null if none. */
export function expectedInterval(schedules: Schedule[], now: Date, hostZone: string | null = null): number | null {
  let best: number | null = null;
  for (const s of schedules) {
    if (s.kind !== "backup" || !s.enabled) continue;
    // A schedule without its own zone runs in its host's.
    best = shorter(best, cronInterval(s.cron_expr, s.timezone ?? hostZone, now));
  }
  return best;
}

/**
 * expectedInterval for many hosts in one pass: host id → interval; a host without an enabled
 * backup schedule (or with none that parses) is absent.
 */
export function expectedIntervals(cadences: Iterable<BackupCadence>, now: Date): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of cadences) {
    const best = shorter(out.get(c.host_id) ?? null, cronInterval(c.cron_expr, c.timezone, now));
    if (best !== null) out.set(c.host_id, best);
  }
  return out;
}

/** Grace on top of the interval, for a backup that is still running: the interval itself, at most 1 h. */
export const graceSeconds = (interval: number) => Math.min(interval, 3600);

export function backupHealth(input: {
  now: Date;
  enrolledAt: string;
  intervalS: number | null;
  lastStatus: string | null;
  lastSuccessAt: string | null;
}): BackupHealth {
  if (input.lastStatus === "failed") return "failed";
  if (input.intervalS === null) return input.lastSuccessAt ? "ok" : "unscheduled";
  const limit = (input.intervalS + graceSeconds(input.intervalS)) * 1000;
  const since = input.lastSuccessAt ?? input.enrolledAt;
  const late = input.now.getTime() - Date.parse(since) > limit;
  if (!input.lastSuccessAt) return late ? "stale" : "pending";
  return late ? "stale" : "ok";
}
