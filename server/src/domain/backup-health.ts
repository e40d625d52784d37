import { Cron } from "croner";
import type { BackupCadence, Schedule } from "./types.ts";

/**
 * "Does this host have a recent, good backup?" in one word, from its last FINISHED backup (a
 * queued or running one never hides the result before it):
 * - failed: its last finished backup failed;
 * - stale: no successful backup within its expected interval (plus grace);
 * - warning: the last backup succeeded within it, but with warnings (restic exit 3, backup
 *   paths skipped as missing, 0 files saved, a failed post-hook): it may not hold what it should;
 * - ok: the last backup succeeded within it, without warnings;
 * - pending: never backed up yet, but not due yet either (just enrolled);
 * - unscheduled: no enabled backup schedule, so nothing is expected.
 */
export type BackupHealth = "ok" | "warning" | "failed" | "stale" | "pending" | "unscheduled";

/** Every state, in the order the dashboard lists them. */
export const BACKUP_HEALTH_STATES: readonly BackupHealth[] = [
  "failed",
  "stale",
  "warning",
  "pending",
  "ok",
  "unscheduled",
];

// Keyed by the UTC day as well: an interval measured on one day is not the next day's once a DST
// change falls between them (a daily 03:00 run in Europe/Berlin is 23 h or 25 h apart around
// one). The map holds one day's entries: a new day starts it afresh.
let intervalsDay = "";
const intervals = new Map<string, number | null>();
// A day of a schedule every minute is 1,441 runs; more frequent ones (6-part, seconds) stop here.
const MAX_RUNS_PER_DAY = 1500;
const DAY_MS = 86_400_000;

/**
 * Seconds between two consecutive runs of a cron expression on the UTC day of `now`: the longest
 * gap between the last run before that day and the first run after it, so a DST change that day
 * (a gap of 23 h or 25 h for a daily run), or an uneven expression ("0 9,17 * * *": 8 h and 16 h),
 * never makes a punctual host look late. Cached per day, expression and zone.
 */
export function cronInterval(expr: string, timezone: string | null, now: Date): number | null {
  const day = now.toISOString().slice(0, 10);
  if (day !== intervalsDay) {
    intervals.clear();
    intervalsDay = day;
  }
  const key = `${expr}\u0000${timezone ?? ""}`;
  if (!intervals.has(key)) intervals.set(key, measureInterval(expr, timezone, Date.parse(`${day}T00:00:00Z`)));
  return intervals.get(key) ?? null;
}

function measureInterval(expr: string, timezone: string | null, dayStart: number): number | null {
  try {
    const cron = new Cron(expr, { paused: true, mode: "5-or-6-parts", ...(timezone ? { timezone } : {}) });
    const [before] = cron.previousRuns(1, new Date(dayStart));
    let prev = before ?? cron.nextRun(new Date(dayStart));
    let longest: number | null = null;
    // Run by run (not nextRuns(MAX)), so a daily schedule costs 3 steps, not 1,500.
    for (let i = 0; prev && prev.getTime() < dayStart + DAY_MS && i < MAX_RUNS_PER_DAY; i++) {
      const next = cron.nextRun(prev);
      if (!next) break;
      const gap = (next.getTime() - prev.getTime()) / 1000;
      if (longest === null || gap > longest) longest = gap;
      prev = next;
    }
    return longest;
  } catch {
    return null;
  }
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
  /** The status of the last finished (succeeded or failed) backup; null when none finished yet. */
  lastStatus: string | null;
  lastSuccessAt: string | null;
  /** The last finished backup succeeded with this warning (null or absent: none). */
  lastWarning?: string | null;
}): BackupHealth {
  if (input.lastStatus === "failed") return "failed";
  const good = input.lastWarning ? "warning" : "ok";
  if (input.intervalS === null) return input.lastSuccessAt ? good : "unscheduled";
  const limit = (input.intervalS + graceSeconds(input.intervalS)) * 1000;
  const since = input.lastSuccessAt ?? input.enrolledAt;
  const late = input.now.getTime() - Date.parse(since) > limit;
  if (!input.lastSuccessAt) return late ? "stale" : "pending";
  return late ? "stale" : good;
}
