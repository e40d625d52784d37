import type { FinishedJobMark, RetentionStore } from "../domain/retention-rows.ts";
import type { Database } from "./db.ts";

const TERMINAL = "('succeeded', 'failed', 'cancelled')";
/** A job's copy target as jobs_keep_newest (migration 28) indexes it: the same expression, or no seek. */
const target = (j: string) => `(CASE WHEN json_valid(${j}.spec) THEN json_extract(${j}.spec, '$.target_id') END)`;

/**
 * The keep rule of domain/retention.ts as SQL, over a job `j` that finished before the cut: true
 * when it may go. A newer job of its group, in both orders: one seek in jobs_keep_newest.
 */
const MAY_GO = `j.status IN ${TERMINAL} AND j.logs_pruned_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM jobs k INDEXED BY jobs_keep_newest
    WHERE k.finished_at IS NOT NULL AND k.host_id = j.host_id AND k.kind = j.kind AND k.status = j.status
      AND ${target("k")} IS ${target("j")} AND k.finished_at > j.finished_at AND k.created_at > j.created_at)
  AND NOT (j.kind = 'backup' AND json_valid(j.stats) AND EXISTS (SELECT 1 FROM snapshots s
    WHERE s.host_id = j.host_id AND s.short_id = substr(json_extract(j.stats, '$.snapshot_id'), 1, 8)))
  AND NOT EXISTS (SELECT 1 FROM maintenance_ticks t WHERE t.job_id = j.id AND t.outcome = 'fired'
    AND NOT EXISTS (SELECT 1 FROM maintenance_ticks u WHERE u.repository_id = t.repository_id
      AND u.kind = t.kind AND u.outcome = 'fired' AND u.scheduled_at > t.scheduled_at))`;

/** Retention's deletes (domain/retention.ts) and the file's vacuum. */
export function retentionStore(db: Database): RetentionStore {
  const nextToPrune = db.query<{ id: string; host_id: string }, [string]>(
    `SELECT id, host_id FROM jobs INDEXED BY jobs_logs_unpruned
     WHERE finished_at IS NOT NULL AND logs_pruned_at IS NULL AND finished_at < ? AND status IN ${TERMINAL}
     ORDER BY finished_at, id LIMIT 1`,
  );
  const deleteLines = db.query<unknown, [string, string, number]>(
    `DELETE FROM job_logs WHERE job_id = ? AND seq IN (SELECT seq FROM job_logs WHERE job_id = ? ORDER BY seq LIMIT ?)`,
  );
  // The window of jobs looked at, then each of them by its id: CROSS JOIN keeps that order. Left to
  // itself the planner read every job of the status (jobs_by_status_time) to join them to the
  // window: 40 ms per 100 jobs at 17,520 jobs of one host, 0.6 ms this way.
  const window = (after: FinishedJobMark | null) => `SELECT id FROM jobs INDEXED BY jobs_by_finished
    WHERE finished_at IS NOT NULL AND finished_at < $cut
      ${after ? "AND (finished_at > $after_at OR (finished_at = $after_at AND id > $after_id))" : ""}
    ORDER BY finished_at, id LIMIT $limit`;
  return {
    nextJobToPruneLogs: (cut: string) => nextToPrune.get(cut),
    deleteLogLines: (job_id: string, limit: number) => deleteLines.run(job_id, job_id, limit).changes,
    markLogsPruned(job_id: string, at: string): void {
      db.query(
        `UPDATE host_log_usage SET bytes = max(0, bytes - coalesce((SELECT u.bytes FROM job_log_usage u WHERE u.job_id = ?1), 0))
         WHERE host_id = (SELECT host_id FROM jobs WHERE id = ?1)`,
      ).run(job_id);
      db.query("UPDATE job_log_usage SET bytes = 0, capped = 1 WHERE job_id = ?").run(job_id);
      db.query("UPDATE jobs SET logs_pruned_at = ? WHERE id = ?").run(at, job_id);
    },
    deleteOldJobs(cut: string, after: FinishedJobMark | null, limit: number) {
      const args = {
        cut,
        limit,
        ...(after ? { after_at: after.finished_at, after_id: after.id } : {}),
      };
      const seen = db
        .query<FinishedJobMark, Record<string, string | number>>(
          `SELECT j.id, j.finished_at FROM (${window(after)}) w CROSS JOIN jobs j ON j.id = w.id ORDER BY j.finished_at, j.id`,
        )
        .all(args);
      if (seen.length === 0) return { scanned: 0, deleted: 0, last: null };
      const deleted = db
        .query<unknown, Record<string, string | number>>(
          `DELETE FROM jobs WHERE id IN (SELECT j.id FROM (${window(after)}) w CROSS JOIN jobs j ON j.id = w.id WHERE ${MAY_GO})`,
        )
        .run(args).changes;
      const last = seen[seen.length - 1] as FinishedJobMark;
      return { scanned: seen.length, deleted, last: { finished_at: last.finished_at, id: last.id } };
    },
    retentionMark: (name: string) =>
      db.query<{ value: string }, [string]>("SELECT value FROM retention_marks WHERE name = ?").get(name)?.value ??
      null,
    setRetentionMark(name: string, value: string | null): void {
      if (value === null) db.query("DELETE FROM retention_marks WHERE name = ?").run(name);
      else {
        db.query(
          "INSERT INTO retention_marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        ).run(name, value);
      }
    },
    autoVacuum() {
      const mode = db.query<{ auto_vacuum: number }, []>("PRAGMA auto_vacuum").get()?.auto_vacuum ?? 0;
      return mode === 2 ? "incremental" : mode === 1 ? "full" : "none";
    },
    enableIncrementalVacuum(): void {
      db.exec("PRAGMA auto_vacuum = INCREMENTAL");
      db.exec("VACUUM");
    },
    incrementalVacuum(pages: number): number {
      // The pragma frees its pages as it steps through its rows: read them all.
      db.query(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`).all();
      return db.query<{ freelist_count: number }, []>("PRAGMA freelist_count").get()?.freelist_count ?? 0;
    },
    pageCounts() {
      const one = (p: string) => (db.query(`PRAGMA ${p}`).get() as Record<string, number>)[p] ?? 0;
      return { pages: one("page_count"), free: one("freelist_count"), page_size: one("page_size") };
    },
  };
}
