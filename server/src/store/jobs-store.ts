import * as v from "valibot";
import { type JobKind, specByKind, type TerminalJobStatus } from "../../../protocol/index.ts";
import { jobCommand } from "../domain/command-spec.ts";
import type { JobFilter, JobsStore, LastCopyJobRow } from "../domain/store.ts";
import type { Job, JobCommand, JobState } from "../domain/types.ts";
import { type Database, fromJson, lazily, toJson } from "./db.ts";

/** A jobs row: the kind with its spec as JSON text, which toJob reads back typed by the kind. */
type Row = Omit<JobState, "args" | "progress" | "stats"> & {
  kind: JobKind;
  args: string | null;
  spec: string | null;
  progress: string | null;
  stats: string | null;
};

/** command.run's `{kind, spec}` alone: the protocol's own schema of each kind's spec. */
const StoredCommand = specByKind({});

/**
 * A stored spec, parsed back through its kind's schema (fields the schema does not know are
 * dropped, as on the wire). A spec that no longer parses (written by a newer server before a
 * downgrade, or edited by hand) must not break every read that lists its job: it reads as no spec,
 * with the problem as the job's error, and the domain fails such a job instead of sending it
 * without the spec it was made with (a backup without its excludes and hooks).
 */
function readCommand(kind: JobKind, text: string | null): { command: JobCommand; problem: string | null } {
  if (text === null) return { command: { kind, spec: null }, problem: null };
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch {
    return { command: { kind, spec: null }, problem: `the stored spec of this ${kind} job is not JSON` };
  }
  const parsed = v.safeParse(StoredCommand, { kind, spec });
  if (parsed.success) return { command: jobCommand(parsed.output), problem: null };
  const issue = parsed.issues[0];
  const at = v.getDotPath(issue) ?? "spec";
  return {
    command: { kind, spec: null },
    problem: `the stored spec of this ${kind} job no longer matches its schema (${at}: ${issue.message})`,
  };
}

const toJob = (r: Row): Job => {
  const { command, problem } = readCommand(r.kind, r.spec);
  return {
    ...r,
    args: fromJson(r.args, []),
    progress: fromJson(r.progress, null),
    stats: fromJson(r.stats, null),
    error: r.error ?? problem,
    ...command,
  };
};

const NOT_TERMINAL = "status IN ('queued', 'running')";

/** Label filters matching at most this many hosts read each host's jobs (see jobListQuery). */
const SEEK_HOSTS = 1000;

/**
 * The statement of one jobs page, newest first, and its arguments (the limit last). Exported so a
 * test can read its plan (store/jobs-list-store.test.ts).
 */
export function jobListQuery(f: JobFilter): { sql: string; args: Array<string | number> } {
  // One statement per filter shape, so SQLite can use the (host_id|status, created_at, id)
  // indexes; an "? IS NULL OR" form would make it scan (measured: 94 ms p99 at 1M jobs).
  const where: string[] = [];
  const args: Array<string | number> = [];
  // A few hosts of a label filter are read through the hosts' indexes (below), as one host is.
  const seekHosts = f.host_ids !== undefined && f.host_ids.length <= SEEK_HOSTS;
  if (f.host_id !== undefined) {
    where.push("host_id = ?");
    args.push(f.host_id);
  }
  if (f.status !== undefined) {
    // With a host, "+" keeps SQLite on that host's index: the status index would walk every
    // host's jobs of that status (all succeeded jobs) for one host's page.
    where.push(f.host_id !== undefined || seekHosts ? "+status = ?" : "status = ?");
    args.push(f.status);
  }
  if (f.kind !== undefined) {
    // Likewise for a few hosts: the kind index would walk every host's jobs of that kind.
    where.push(seekHosts && f.host_id === undefined ? "+kind = ?" : "kind = ?");
    args.push(f.kind);
  }
  if (f.actor_kind !== undefined) {
    // Alone, its own (actor_kind, created_at, id) index (migration 25): agent jobs are rare, and a
    // page of them must not walk every job. With hosts, theirs, as for a kind.
    where.push(f.host_id !== undefined || seekHosts ? "+actor_kind = ?" : "actor_kind = ?");
    args.push(f.actor_kind);
  }
  if (f.host_ids !== undefined) {
    // Up to SEEK_HOSTS hosts, SQLite seeks each one's (created_at, id) index from the cursor and
    // reads at most a page from each (its IN early-out) before sorting: bounded by hosts × limit.
    // Beyond, the unary + keeps it on the time-ordered index, scanning until the page is full,
    // which is quick when that many hosts match. Measured at 1,000 hosts and 300k jobs (2 shared
    // cores): a label on 1 host, 0.15 ms seeking vs 44 ms scanning (260 ms when it has no jobs);
    // on all 1,000, 7.7 ms seeking (18 ms with a kind, a deep page) vs 0.4 ms scanning.
    where.push(`${seekHosts ? "" : "+"}host_id IN (SELECT value FROM json_each(?))`);
    args.push(JSON.stringify(f.host_ids));
  }
  if (f.since !== undefined) {
    where.push("created_at >= ?");
    args.push(f.since);
  }
  // A cursor from a page of this range already bounds it from above, and SQLite seeks only one
  // upper bound: the other would make each deeper page scan from `until` down to the cursor.
  if (f.until !== undefined && !(f.after && f.after.created_at < f.until)) {
    where.push("created_at < ?");
    args.push(f.until);
  }
  if (f.after) {
    // A row value, not "a < ? OR (a = ? AND b < ?)": SQLite seeks the index for the row value
    // but scans it from the top for the OR (measured at 300k jobs: 0.04 vs 15 ms per page).
    where.push("(created_at, id) < (?, ?)");
    args.push(f.after.created_at, f.after.id);
  }
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY created_at DESC, id DESC LIMIT ?`;
  return { sql, args: [...args, f.limit] };
}

export function jobsStore(db: Database): JobsStore {
  const byId = db.query<Row, [string]>("SELECT * FROM jobs WHERE id = ?");
  /**
   * Inserts a job; for a schedule tick already seen, returns the existing job and created=false.
   * Only that conflict is absorbed: any other constraint (a duplicate id, a host that does not
   * exist) throws, so it cannot pass for a tick seen before.
   */
  function insertJob(j: Job): { job: Job; created: boolean } {
    const res = db
      .query(
        `INSERT INTO jobs (id, host_id, kind, status, actor_kind, actor_id, scheduled_id, scheduled_at, args, spec,
           progress, stats, exit_code, error, created_at, dispatched_at, dispatch_attempts, accepted_at, started_at, finished_at)
         VALUES ($id, $host_id, $kind, $status, $actor_kind, $actor_id, $scheduled_id, $scheduled_at, $args, $spec,
           $progress, $stats, $exit_code, $error, $created_at, $dispatched_at, $dispatch_attempts, $accepted_at, $started_at, $finished_at)
         ON CONFLICT (scheduled_id, scheduled_at) DO NOTHING`,
      )
      .run({
        ...j,
        args: toJson(j.args),
        spec: toJson(j.spec),
        progress: toJson(j.progress),
        stats: toJson(j.stats),
      });
    if (res.changes > 0) return { job: j, created: true };
    const existing = db
      .query<Row, [string | null, string | null]>("SELECT * FROM jobs WHERE scheduled_id = ? AND scheduled_at = ?")
      .get(j.scheduled_id, j.scheduled_at);
    if (!existing) throw new Error(`job ${j.id} was neither inserted nor found`);
    return { job: toJob(existing), created: false };
  }
  return {
    insertJob,
    jobById(id: string): Job | null {
      const r = byId.get(id);
      return r ? toJob(r) : null;
    },
    listJobs(f: JobFilter): Iterable<Job> {
      const { sql, args } = jobListQuery(f);
      const statement = db.query<Row, Array<string | number>>(sql);
      return lazily(function* () {
        for (const r of statement.iterate(...args)) yield toJob(r);
      });
    },
    /** Queued jobs of a host, oldest first, that the agent has not accepted yet. */
    undeliveredJobs: (host_id: string): Job[] =>
      db
        .query<Row, [string]>(
          "SELECT * FROM jobs WHERE host_id = ? AND status = 'queued' AND accepted_at IS NULL ORDER BY created_at, id",
        )
        .all(host_id)
        .map(toJob),
    /** Dispatched but never accepted before `before`, across hosts. */
    unacceptedSince: (before: string): Job[] =>
      db
        .query<Row, [string]>(
          "SELECT * FROM jobs WHERE status = 'queued' AND accepted_at IS NULL AND dispatched_at IS NOT NULL AND dispatched_at < ?",
        )
        .all(before)
        .map(toJob),
    markDispatched: (id: string, at: string) =>
      db
        .query(
          "UPDATE jobs SET dispatched_at = ?, dispatch_attempts = dispatch_attempts + 1 WHERE id = ? AND status = 'queued'",
        )
        .run(at, id),
    /** A last acceptance window without a new delivery (see domain/jobs.ts onHello). */
    renewDispatch: (id: string, at: string) =>
      db
        .query("UPDATE jobs SET dispatched_at = ? WHERE id = ? AND status = 'queued' AND accepted_at IS NULL")
        .run(at, id),
    /** Jobs cancelled after delivery but before the agent accepted them: the agent may have them. */
    cancelledUnaccepted: (host_id: string, since: string) =>
      db
        .query<{ id: string }, [string, string]>(
          `SELECT id FROM jobs WHERE host_id = ? AND status = 'cancelled' AND dispatched_at IS NOT NULL
             AND accepted_at IS NULL AND finished_at >= ?`,
        )
        .all(host_id, since)
        .map((r) => r.id),
    markAccepted: (id: string, at: string) =>
      db.query(`UPDATE jobs SET accepted_at = coalesce(accepted_at, ?) WHERE id = ? AND ${NOT_TERMINAL}`).run(at, id)
        .changes > 0,
    markRunning: (id: string, started_at: string) =>
      db
        .query(
          "UPDATE jobs SET status = 'running', started_at = ?, accepted_at = coalesce(accepted_at, ?) WHERE id = ? AND status = 'queued'",
        )
        .run(started_at, started_at, id).changes > 0,
    setProgress: (id: string, progress: Record<string, unknown>) =>
      db.query(`UPDATE jobs SET progress = ? WHERE id = ? AND ${NOT_TERMINAL}`).run(JSON.stringify(progress), id)
        .changes > 0,
    /** Moves a job to a terminal state; a job already finished never changes again. */
    finishJob(
      id: string,
      f: {
        status: TerminalJobStatus;
        exit_code: number | null;
        finished_at: string;
        stats?: unknown;
        error: string | null;
      },
    ): boolean {
      return (
        db
          .query(
            `UPDATE jobs SET status = $status, exit_code = $exit_code, finished_at = $finished_at,
               stats = coalesce($stats, stats), error = $error WHERE id = $id AND ${NOT_TERMINAL}`,
          )
          .run({
            id,
            status: f.status,
            exit_code: f.exit_code,
            finished_at: f.finished_at,
            stats: toJson(f.stats),
            error: f.error,
          }).changes > 0
      );
    },
    failSucceededJob(id: string, f: { error: string; failure_reason: string }): boolean {
      return (
        db
          .query(
            `UPDATE jobs SET status = 'failed', error = $error,
               stats = json_set(CASE WHEN json_valid(stats) THEN stats ELSE '{}' END, '$.failure_reason', $reason)
             WHERE id = $id AND status = 'succeeded'`,
          )
          .run({ id, error: f.error, reason: f.failure_reason }).changes > 0
      );
    },
    lastJobOfKind(host_id: string, kind: string): Job | null {
      const r = db
        .query<Row, [string, string]>(
          "SELECT * FROM jobs WHERE host_id = ? AND kind = ? ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .get(host_id, kind);
      return r ? toJob(r) : null;
    },
    lastCopyJobs(host_id?: string): LastCopyJobRow[] {
      const one = host_id === undefined ? "" : "AND host_id = $host";
      // One pass: each (host, target, status)'s newest job (SQLite takes a bare column from the
      // row holding the MAX); the newest of the two statuses is the last. 1.1 s at 300,000 copy
      // jobs where a UNION of the two questions took 1.7 s (bench/copy-jobs-read.ts).
      const sql = `SELECT host_id, spec ->> 'target_id' AS target_id, id, status, finished_at, error, stats,
          MAX(created_at || id) AS k
        FROM jobs WHERE kind = 'copy' AND status IN ('succeeded', 'failed') ${one}
        GROUP BY host_id, target_id, status HAVING target_id IS NOT NULL`;
      type R = Omit<LastCopyJobRow, "stats" | "role"> & { stats: string | null; k: string };
      const rows =
        host_id === undefined
          ? db.query<R, []>(sql).all()
          : db.query<R, [{ host: string }]>(sql).all({ host: host_id });
      const newest = new Map<string, R>();
      const out: LastCopyJobRow[] = [];
      const row = ({ k: _k, stats, ...r }: R, role: LastCopyJobRow["role"]): LastCopyJobRow => ({
        ...r,
        role,
        stats: fromJson(stats, null),
      });
      for (const r of rows) {
        if (r.status === "succeeded") out.push(row(r, "success"));
        const key = `${r.host_id}\u0000${r.target_id}`;
        const seen = newest.get(key);
        if (!seen || r.k > seen.k) newest.set(key, r);
      }
      for (const r of newest.values()) out.push(row(r, "last"));
      return out;
    },
    replaceTickJob(replaced: string, job: Job): void {
      // The new row comes in beside the old one without its tick (UNIQUE (scheduled_id,
      // scheduled_at)), takes the old one's merged ticks, and gets the tick once the old row is gone.
      insertJob({ ...job, scheduled_id: null });
      db.query("UPDATE skipped_ticks SET job_id = ? WHERE job_id = ?").run(job.id, replaced);
      db.query("DELETE FROM jobs WHERE id = ?").run(replaced);
      db.query("UPDATE jobs SET scheduled_id = ? WHERE id = ?").run(job.scheduled_id, job.id);
    },
    jobOfTick(scheduled_id: string, scheduled_at: string): Job | null {
      const r = db
        .query<Row, [string, string]>("SELECT * FROM jobs WHERE scheduled_id = ? AND scheduled_at = ?")
        .get(scheduled_id, scheduled_at);
      return r ? toJob(r) : null;
    },
    // One seek in the partial index jobs_pending_by_schedule (migration 20).
    pendingTickJob(scheduled_id: string, host_id: string): Job | null {
      const r = db
        .query<Row, [string, string]>(
          `SELECT * FROM jobs INDEXED BY jobs_pending_by_schedule
           WHERE scheduled_id = ? AND host_id = ? AND ${NOT_TERMINAL}
           ORDER BY created_at DESC, id DESC LIMIT 1`,
        )
        .get(scheduled_id, host_id);
      return r ? toJob(r) : null;
    },
    lastSuccessfulBackupAt: (host_id: string) =>
      db
        .query<{ at: string | null }, [string]>(
          "SELECT max(finished_at) AS at FROM jobs WHERE host_id = ? AND kind = 'backup' AND status = 'succeeded'",
        )
        .get(host_id)?.at ?? null,
    backupSizes: (host_id: string) =>
      db
        .query<{ short_id: string; size_bytes: number; file_count: number | null }, [string]>(
          `SELECT substr(json_extract(stats, '$.snapshot_id'), 1, 8) AS short_id,
                  CAST(json_extract(stats, '$.total_bytes_processed') AS INTEGER) AS size_bytes,
                  CAST(json_extract(stats, '$.total_files_processed') AS INTEGER) AS file_count
           FROM jobs WHERE host_id = ? AND kind = 'backup' AND status = 'succeeded' AND json_valid(stats)
             AND json_type(stats, '$.snapshot_id') = 'text'
             AND json_type(stats, '$.total_bytes_processed') IN ('integer', 'real')`,
        )
        .all(host_id),
    jobCounts: () =>
      db
        .query<{ kind: string; status: string; n: number }, []>(
          "SELECT kind, status, count(*) AS n FROM jobs GROUP BY kind, status",
        )
        .all(),
  };
}
