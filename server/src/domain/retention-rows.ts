/** A position in the walk of finished jobs by (finished_at, id). */
export interface FinishedJobMark {
  finished_at: string;
  id: string;
}

/** What retention (retention.ts) needs of the store: store/retention-store.ts holds the SQL. */
export interface RetentionStore {
  /**
   * The first finished job (by finished_at, id) that finished before `cut` and whose log lines
   * are not yet marked deleted: where the log pass starts, so a pass cut short resumes there.
   */
  nextJobToPruneLogs(cut: string): { id: string; host_id: string } | null;
  /** Deletes at most `limit` of the job's log lines, lowest seq first; how many it deleted. */
  deleteLogLines(job_id: string, limit: number): number;
  /**
   * The job's lines are all gone: its host's log usage loses the job's bytes (job_log_usage), the
   * job's count goes to 0 and stays capped (a late re-send stores nothing), and the job is marked
   * with `at`. Call inside a transaction.
   */
  markLogsPruned(job_id: string, at: string): void;
  /**
   * Looks at up to `limit` finished jobs after `after` (null: from the first) that finished before
   * `cut`, and deletes those the keep rule lets go (see retention.ts). `last` is the last job looked
   * at: null when there was none, and `scanned < limit` means the walk reached `cut`.
   */
  deleteOldJobs(
    cut: string,
    after: FinishedJobMark | null,
    limit: number,
  ): { scanned: number; deleted: number; last: FinishedJobMark | null };
  retentionMark(name: string): string | null;
  setRetentionMark(name: string, value: string | null): void;
  /** The database's auto_vacuum mode. */
  autoVacuum(): "none" | "full" | "incremental";
  /** Turns on incremental vacuum on a database without it: rewrites the whole file (VACUUM). */
  enableIncrementalVacuum(): void;
  /** Frees at most `pages` free pages back to the file system; the free pages left. */
  incrementalVacuum(pages: number): number;
  /** The file's pages and its free ones (PRAGMA page_count, freelist_count), and the page size. */
  pageCounts(): { pages: number; free: number; page_size: number };
}
