import type { SkippedTicksStore } from "../domain/store.ts";
import type { SkippedTicks } from "../domain/types.ts";
import type { Database } from "./db.ts";

const COLUMNS = "job_id, schedule_id, count, first_scheduled_at, last_scheduled_at, last_skipped_at, last_reason";

/** Ticks merged into a pending run of their schedule: one row per run that absorbed any (migration 20). */
export function skippedTicksStore(db: Database): SkippedTicksStore {
  const addTicks: SkippedTicksStore["addSkippedTicks"] = (t) => {
    db.query(
      `INSERT INTO skipped_ticks (${COLUMNS}) VALUES ($job_id, $schedule_id, $count, $first, $last, $at, $reason)
       ON CONFLICT (job_id) DO UPDATE SET count = count + excluded.count,
         first_scheduled_at = min(first_scheduled_at, excluded.first_scheduled_at),
         last_scheduled_at = max(last_scheduled_at, excluded.last_scheduled_at),
         last_skipped_at = excluded.last_skipped_at, last_reason = excluded.last_reason`,
    ).run({
      job_id: t.job_id,
      schedule_id: t.schedule_id,
      count: t.count,
      first: t.first_scheduled_at,
      last: t.last_scheduled_at,
      at: t.at,
      reason: t.reason,
    });
  };
  return {
    skipOfTick: (schedule_id: string, scheduled_at: string): SkippedTicks | null =>
      db
        .query<SkippedTicks, [string, string, string]>(
          `SELECT ${COLUMNS} FROM skipped_ticks
           WHERE schedule_id = ? AND last_scheduled_at >= ? AND first_scheduled_at <= ?
           ORDER BY last_scheduled_at LIMIT 1`,
        )
        .get(schedule_id, scheduled_at, scheduled_at),
    addSkippedTick(t): void {
      addTicks({ ...t, count: 1, first_scheduled_at: t.scheduled_at, last_scheduled_at: t.scheduled_at });
    },
    addSkippedTicks: addTicks,
    lastSkippedTicks: (schedule_id: string): SkippedTicks | null =>
      db
        .query<SkippedTicks, [string]>(
          `SELECT ${COLUMNS} FROM skipped_ticks WHERE schedule_id = ? ORDER BY last_scheduled_at DESC LIMIT 1`,
        )
        .get(schedule_id),
  };
}
