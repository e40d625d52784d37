import type { AgentDataStore, LogUsage } from "../domain/store.ts";
import type { LogRow, RepoStatsRow, StoredSnapshot } from "../domain/types.ts";
import { type Database, fromJson, lazily, params, toJson } from "./db.ts";

type SnapshotRow = Omit<StoredSnapshot, "paths" | "tags"> & { paths: string; tags: string | null };
const toSnapshot = (r: SnapshotRow): StoredSnapshot => ({
  ...r,
  paths: fromJson(r.paths, []),
  tags: fromJson(r.tags, []),
});

/**
 * One page of a host's snapshots, newest first (time, then id, both descending), after a cursor:
 * snapshots_by_host_time_id gives that order, so SQLite seeks the cursor and stops at the page.
 * Exported so a test can read its plan (store/snapshot-page-store.test.ts).
 */
export function snapshotPageQuery(
  host_id: string,
  limit: number,
  after?: { time: string; id: string },
): { sql: string; args: Array<string | number> } {
  return after
    ? {
        sql: "SELECT * FROM snapshots WHERE host_id = ? AND (time, id) < (?, ?) ORDER BY time DESC, id DESC LIMIT ?",
        args: [host_id, after.time, after.id, limit],
      }
    : { sql: "SELECT * FROM snapshots WHERE host_id = ? ORDER BY time DESC, id DESC LIMIT ?", args: [host_id, limit] };
}

/** What agents report: log lines, snapshot lists, repository stats, and the envelope ids seen. */
export function agentDataStore(db: Database): AgentDataStore {
  const insertLog = db.query<unknown, [string, number, string, string, string]>(
    "INSERT OR IGNORE INTO job_logs (job_id, seq, ts, stream, payload) VALUES (?, ?, ?, ?, ?)",
  );
  const addJobBytes = db.query<unknown, [string, number]>(
    `INSERT INTO job_log_usage (job_id, bytes) VALUES (?, ?)
     ON CONFLICT (job_id) DO UPDATE SET bytes = bytes + excluded.bytes`,
  );
  const addHostBytes = db.query<unknown, [string, number]>(
    `INSERT INTO host_log_usage (host_id, bytes) VALUES (?, ?)
     ON CONFLICT (host_id) DO UPDATE SET bytes = bytes + excluded.bytes`,
  );
  const usage = db.query<{ host_id: string; job_bytes: number; capped: number; host_bytes: number }, [string]>(
    `SELECT j.host_id, coalesce(u.bytes, 0) AS job_bytes, coalesce(u.capped, 0) AS capped,
       coalesce(h.bytes, 0) AS host_bytes
     FROM jobs j LEFT JOIN job_log_usage u ON u.job_id = j.id LEFT JOIN host_log_usage h ON h.host_id = j.host_id
     WHERE j.id = ?`,
  );
  const insertSnapshot = db.query(
    `INSERT INTO snapshots (host_id, id, short_id, time, hostname, paths, tags, size_bytes, file_count)
     VALUES ($host_id, $id, $short_id, $time, $hostname, $paths, $tags, $size_bytes, $file_count)`,
  );
  return {
    /** True when this envelope id is new for the host (and records it); false for a re-send. */
    rememberEnvelope: (host_id: string, id: string, at: string) =>
      db
        .query("INSERT OR IGNORE INTO received_envelopes (host_id, id, received_at) VALUES (?, ?, ?)")
        .run(host_id, id, at).changes > 0,
    forgetEnvelopesBefore: (at: string) => db.query("DELETE FROM received_envelopes WHERE received_at < ?").run(at),
    logUsage(job_id: string): LogUsage | null {
      const r = usage.get(job_id);
      return r ? { ...r, capped: r.capped !== 0 } : null;
    },
    /** Batched: call inside a transaction. */
    insertLogs(host_id: string, lines: Array<LogRow & { cost: number }>) {
      const added = new Map<string, number>();
      for (const l of lines) {
        if (insertLog.run(l.job_id, l.seq, l.ts, l.stream, l.payload).changes > 0) {
          added.set(l.job_id, (added.get(l.job_id) ?? 0) + l.cost);
        }
      }
      let total = 0;
      for (const [job_id, bytes] of added) {
        addJobBytes.run(job_id, bytes);
        total += bytes;
      }
      if (total > 0) addHostBytes.run(host_id, total);
    },
    capLog(m: LogRow) {
      db.query(
        `INSERT INTO job_logs (job_id, seq, ts, stream, payload) VALUES ($job_id, $seq, $ts, $stream, $payload)
         ON CONFLICT (job_id, seq) DO UPDATE SET ts = excluded.ts, stream = excluded.stream, payload = excluded.payload`,
      ).run(params(m));
      db.query(
        `INSERT INTO job_log_usage (job_id, bytes, capped) VALUES (?, 0, 1)
         ON CONFLICT (job_id) DO UPDATE SET capped = 1`,
      ).run(m.job_id);
    },
    logsAfter: (job_id: string, after_seq: number, limit: number): Iterable<LogRow> =>
      lazily(() =>
        db
          .query<LogRow, [string, number, number]>(
            "SELECT job_id, seq, ts, stream, payload FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
          )
          .iterate(job_id, after_seq, limit),
      ),
    /** Replaces the host's snapshot list; call inside a transaction so readers never see half. */
    replaceSnapshots(host_id: string, list: Omit<StoredSnapshot, "host_id">[]) {
      db.query("DELETE FROM snapshots WHERE host_id = ?").run(host_id);
      for (const s of list) {
        insertSnapshot.run({ ...s, host_id, paths: JSON.stringify(s.paths), tags: toJson(s.tags) });
      }
    },
    snapshotsForHost: (host_id: string): StoredSnapshot[] =>
      db
        .query<SnapshotRow, [string]>("SELECT * FROM snapshots WHERE host_id = ? ORDER BY time DESC, id")
        .all(host_id)
        .map(toSnapshot),
    snapshotPage(host_id: string, limit: number, after?: { time: string; id: string }): StoredSnapshot[] {
      const { sql, args } = snapshotPageQuery(host_id, limit, after);
      return db
        .query<SnapshotRow, Array<string | number>>(sql)
        .all(...args)
        .map(toSnapshot);
    },
    insertRepoStats(s: RepoStatsRow) {
      db.query(
        `INSERT INTO repo_stats (host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, last_check_at, last_check_status, lock_state)
         VALUES ($host_id, $reported_at, $size_bytes, $snapshot_count, $dedup_ratio, $last_check_at, $last_check_status, $lock_state)`,
      ).run(params(s));
    },
    repoStatsForHost: (host_id: string, limit: number) =>
      db
        .query<RepoStatsRow, [string, number]>(
          `SELECT host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, last_check_at, last_check_status, lock_state
           FROM repo_stats WHERE host_id = ? ORDER BY seq DESC LIMIT ?`,
        )
        .all(host_id, limit),
  };
}
