import type { ReadCyclesStore } from "../domain/store.ts";
import type { ReadCycle } from "../domain/types.ts";
import type { Database } from "./db.ts";

/**
 * Rolling data checks' positions, one row per schedule (migration 15). The parts that succeeded,
 * and a cycle's completion, are written by the triggers on jobs; this module starts cycles and
 * moves the next part when the domain makes a job.
 */
export function readCyclesStore(db: Database): ReadCyclesStore {
  return {
    readCycle: (schedule_id: string): ReadCycle | null =>
      db
        .query<ReadCycle, [string]>(
          `SELECT schedule_id, parts, next_part, cycle_started_at, last_full_read_at,
             (SELECT count(*) FROM read_cycle_parts p WHERE p.schedule_id = c.schedule_id) AS parts_done
           FROM read_cycles c WHERE schedule_id = ?`,
        )
        .get(schedule_id),
    /** A new cycle of `parts` from part 1: the parts done are forgotten, the last full read kept. */
    startReadCycle(schedule_id: string, parts: number, at: string): void {
      db.query("DELETE FROM read_cycle_parts WHERE schedule_id = ?").run(schedule_id);
      db.query(
        `INSERT INTO read_cycles (schedule_id, parts, next_part, cycle_started_at) VALUES (?, ?, 1, ?)
         ON CONFLICT (schedule_id) DO UPDATE SET parts = excluded.parts, next_part = 1,
           cycle_started_at = excluded.cycle_started_at`,
      ).run(schedule_id, parts, at);
    },
    /** The job checks `part` of the cycle's parts; the one after it is next. */
    takeReadPart(schedule_id: string, job_id: string, part: number): void {
      db.query(
        `INSERT INTO read_cycle_jobs (job_id, schedule_id, part, parts)
         SELECT ?, schedule_id, ?, parts FROM read_cycles WHERE schedule_id = ?`,
      ).run(job_id, part, schedule_id);
      db.query("UPDATE read_cycles SET next_part = (? % parts) + 1 WHERE schedule_id = ?").run(part, schedule_id);
    },
    deleteReadCycle: (schedule_id: string) =>
      db.query("DELETE FROM read_cycles WHERE schedule_id = ?").run(schedule_id),
  };
}
