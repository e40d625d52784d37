import type { AgentDataStore } from "../domain/store.ts";
import type { LogRow, RepoStatsRow, StoredSnapshot } from "../domain/types.ts";
import { type Database, fromJson, params, toJson } from "./db.ts";

type SnapshotRow = Omit<StoredSnapshot, "paths" | "tags"> & { paths: string; tags: string | null };

/** What agents report: log lines, snapshot lists, repository stats, and the envelope ids seen. */
export function agentDataStore(db: Database): AgentDataStore {
  const insertLog = db.query(
    "INSERT OR IGNORE INTO job_logs (job_id, seq, ts, stream, payload) VALUES ($job_id, $seq, $ts, $stream, $payload)",
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
    /** Batched: call inside a transaction. */
    insertLogs(lines: LogRow[]) {
      for (const l of lines) insertLog.run(params(l));
    },
    logsAfter: (job_id: string, after_seq: number, limit: number) =>
      db
        .query<LogRow, [string, number, number]>(
          "SELECT job_id, seq, ts, stream, payload FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .all(job_id, after_seq, limit),
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
        .map((r) => ({ ...r, paths: fromJson(r.paths, []), tags: fromJson(r.tags, []) })),
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
