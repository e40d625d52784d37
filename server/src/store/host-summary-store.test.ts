import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { queuedJob } from "../domain/blank-rows.ts";
import type { Job } from "../domain/types.ts";
import { migrate, openDatabase } from "./db.ts";
import { MIGRATIONS } from "./migrations.ts";
import { createStore, type Store } from "./store.ts";
import { applyMigration } from "./table-rebuild.ts";

const job = (id: string, host_id: string, kind: Job["kind"], created_at: string) =>
  queuedJob({ id, host_id, kind, actor_kind: "user", created_at });

const stats = (host_id: string, size_bytes: number) => ({
  host_id,
  reported_at: "2026-11-30T00:00:00Z",
  size_bytes,
  snapshot_count: 1,
  dedup_ratio: 1,
  last_check_at: null,
  last_check_status: null,
  lock_state: "unlocked",
});

/**
 * The facts as plain per-host queries read them straight from jobs and repo_stats: the last
 * FINISHED backup (migration 13) and its warning, in JS rather than the triggers' SQL.
 */
function oracle(store: Store, db: Database, hostId: string) {
  const last = db
    .query<
      {
        id: string;
        status: Job["status"];
        finished_at: string | null;
        error: string | null;
        exit_code: number | null;
        stats: string | null;
      },
      [string]
    >(
      `SELECT id, status, finished_at, error, exit_code, stats FROM jobs WHERE host_id = ? AND kind = 'backup'
       AND status IN ('succeeded', 'failed') ORDER BY finished_at DESC, id DESC LIMIT 1`,
    )
    .get(hostId);
  let warning: string | null = null;
  if (last?.status === "succeeded") {
    let stats: Record<string, unknown> = {};
    try {
      stats = JSON.parse(last.stats ?? "{}") ?? {};
    } catch {}
    if (typeof stats.warning === "string" && stats.warning !== "") warning = stats.warning;
    else if (stats.missing_paths !== undefined) warning = "some backup paths do not exist and were skipped";
    else if (last.exit_code === 3) warning = "some source files could not be read (restic exit code 3)";
    else if (stats.total_files_processed === 0) warning = "the backup saved 0 files";
  }
  return {
    last_backup: last
      ? { job_id: last.id, status: last.status, finished_at: last.finished_at, error: last.error }
      : null,
    last_backup_warning: warning,
    last_successful_backup_at: store.lastSuccessfulBackupAt(hostId),
    repo_size_bytes: store.repoStatsForHost(hostId, 1)[0]?.size_bytes ?? null,
  };
}

function stored(store: Store, hostId: string) {
  const s = store.hostSummary(hostId)?.summary;
  if (!s) throw new Error(`no host ${hostId}`);
  const { last_backup, last_backup_warning, last_successful_backup_at, repo_size_bytes } = s;
  return { last_backup, last_backup_warning, last_successful_backup_at, repo_size_bytes };
}

function twoHosts(db: Database) {
  const store = createStore(db);
  for (const id of ["h1", "h2"]) {
    store.insertHost({
      id,
      name: id,
      hostname: id,
      restic_host: id,
      agent_token_hash: `t-${id}`,
      enrolled_at: "2026-11-29T00:00:00Z",
    });
  }
  return store;
}

test("the triggers keep the facts equal to the jobs and repo_stats, whatever changes them", () => {
  const db = openDatabase(":memory:");
  const store = twoHosts(db);
  const check = () => {
    for (const id of ["h1", "h2"]) expect(stored(store, id)).toEqual(oracle(store, db, id));
  };
  check();
  // Through the store's methods.
  store.insertJob(job("a", "h1", "backup", "2026-11-30T01:00:00Z"));
  check();
  store.markRunning("a", "2026-11-30T01:00:01Z");
  store.finishJob("a", { status: "succeeded", exit_code: 0, finished_at: "2026-11-30T01:10:00Z", error: null });
  check();
  // Same created_at: the larger id is the newer one.
  store.insertJob(job("c", "h1", "backup", "2026-11-30T02:00:00Z"));
  store.insertJob(job("b", "h1", "backup", "2026-11-30T02:00:00Z"));
  store.finishJob("c", { status: "failed", exit_code: 1, finished_at: "2026-11-30T02:01:00Z", error: "boom" });
  check();
  expect(stored(store, "h1").last_backup?.job_id).toBe("c");
  // A later success with a warning, then one that is cancelled: the warning stays.
  store.finishJob("b", {
    status: "succeeded",
    exit_code: 3,
    finished_at: "2026-11-30T02:30:00Z",
    stats: { total_files_processed: 9 },
    error: "some source files could not be read",
  });
  check();
  expect(stored(store, "h1").last_backup_warning).toBe("some source files could not be read (restic exit code 3)");
  store.insertJob(job("d", "h1", "backup", "2026-11-30T02:40:00Z"));
  store.finishJob("d", {
    status: "cancelled",
    exit_code: 130,
    finished_at: "2026-11-30T02:41:00Z",
    error: "cancelled",
  });
  check();
  expect(stored(store, "h1").last_backup?.job_id).toBe("b");
  store.insertJob(job("f", "h1", "forget", "2026-11-30T03:00:00Z"));
  store.insertRepoStats(stats("h1", 10));
  store.insertRepoStats(stats("h1", 5));
  check();
  expect(stored(store, "h1").repo_size_bytes).toBe(5);
  // Behind the store's back: updates and deletes in SQL.
  db.exec("UPDATE jobs SET kind = 'backup' WHERE id = 'f'");
  check();
  db.exec("UPDATE jobs SET host_id = 'h2' WHERE id = 'f'");
  check();
  db.exec("UPDATE jobs SET kind = 'check' WHERE id = 'c'");
  check();
  db.exec("UPDATE jobs SET finished_at = '2026-11-30T09:00:00Z' WHERE id = 'a'");
  check();
  db.exec(`UPDATE jobs SET stats = '{"warning":"post-hook failed with exit code 2"}' WHERE id = 'a'`);
  check();
  expect(stored(store, "h1").last_backup_warning).toBe("post-hook failed with exit code 2");
  db.exec("UPDATE jobs SET exit_code = 3, stats = NULL WHERE id = 'a'");
  check();
  db.exec("UPDATE jobs SET status = 'failed' WHERE id = 'a'");
  check();
  db.exec("DELETE FROM jobs WHERE id IN ('a', 'b')");
  check();
  db.exec("DELETE FROM repo_stats WHERE size_bytes = 5");
  check();
  db.exec("UPDATE repo_stats SET host_id = 'h2'");
  check();
  expect(stored(store, "h2").repo_size_bytes).toBe(10);
  db.exec("DELETE FROM jobs");
  db.exec("DELETE FROM repo_stats");
  check();
  expect(stored(store, "h1")).toEqual({
    last_backup: null,
    last_backup_warning: null,
    last_successful_backup_at: null,
    repo_size_bytes: null,
  });
  expect(store.integrityCheck()).toBe("ok");
});

test("migration 4 fills in the facts of a database from before it", () => {
  const db = new Database(":memory:", { strict: true });
  db.exec("PRAGMA foreign_keys = ON");
  for (const [i, m] of MIGRATIONS.slice(0, 3).entries()) applyMigration(db, m, i + 1);
  const insertHost = db.query(
    "INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES (?, ?, ?, ?, '2026-11-29T00:00:00Z')",
  );
  const insertJob = db.query(
    `INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at, finished_at, error)
     VALUES (?, ?, ?, ?, 'user', ?, ?, ?)`,
  );
  insertHost.run("h1", "h1", "h1", "t1");
  insertHost.run("h2", "h2", "h2", "t2");
  insertJob.run("j1", "h1", "backup", "succeeded", "2026-11-30T01:00:00Z", "2026-11-30T01:05:00Z", null);
  insertJob.run("j2", "h1", "backup", "failed", "2026-11-30T02:00:00Z", "2026-11-30T02:05:00Z", "x");
  insertJob.run("j3", "h1", "forget", "succeeded", "2026-11-30T03:00:00Z", "2026-11-30T03:05:00Z", null);
  db.query(
    "INSERT INTO repo_stats (host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, lock_state) VALUES ('h1', '', ?, 1, 1, 'unlocked')",
  ).run(42);
  migrate(db);
  expect(db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(MIGRATIONS.length);
  const store = createStore(db);
  expect(stored(store, "h1")).toEqual({
    last_backup: { job_id: "j2", status: "failed", finished_at: "2026-11-30T02:05:00Z", error: "x" },
    last_backup_warning: null,
    last_successful_backup_at: "2026-11-30T01:05:00Z",
    repo_size_bytes: 42,
  });
  expect(stored(store, "h2")).toEqual(oracle(store, db, "h2"));
  expect(store.lastSuccessfulBackups()).toEqual([{ host_id: "h1", finished_at: "2026-11-30T01:05:00Z" }]);
});

test("migration 13 recomputes the facts of a database from before it: the last finished backup and its warning", () => {
  const db = new Database(":memory:", { strict: true });
  db.exec("PRAGMA foreign_keys = ON");
  for (const [i, m] of MIGRATIONS.slice(0, 12).entries()) applyMigration(db, m, i + 1);
  const insertHost = db.query(
    "INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES (?, ?, ?, ?, '2026-11-29T00:00:00Z')",
  );
  const insertJob = db.query(
    `INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at, finished_at, error, exit_code, stats)
     VALUES (?, ?, 'backup', ?, 'user', ?, ?, ?, ?, ?)`,
  );
  for (const id of ["h1", "h2"]) insertHost.run(id, id, id, `t-${id}`);
  // h1: failed, then a backup queued behind another job (issue 15 a).
  insertJob.run("a1", "h1", "succeeded", "2026-11-30T01:00:00Z", "2026-11-30T01:05:00Z", null, 0, null);
  insertJob.run("a2", "h1", "failed", "2026-11-30T02:00:00Z", "2026-11-30T02:05:00Z", "boom", 1, null);
  insertJob.run("a3", "h1", "queued", "2026-11-30T03:00:00Z", null, null, null, null);
  // h2: the last one skipped a missing path (issue 15 b).
  const warn = JSON.stringify({ warning: "1 of 2 backup paths do not exist and were skipped: /missing" });
  insertJob.run("b1", "h2", "succeeded", "2026-11-30T01:00:00Z", "2026-11-30T01:05:00Z", "x", 0, warn);
  // Before: migration 4's rule, the newest job whatever its status.
  expect(
    db.query<{ last_backup_job_id: string }, []>("SELECT last_backup_job_id FROM hosts WHERE id = 'h1'").get(),
  ).toEqual({ last_backup_job_id: "a3" });
  migrate(db);
  const store = createStore(db);
  expect(stored(store, "h1").last_backup).toEqual({
    job_id: "a2",
    status: "failed",
    finished_at: "2026-11-30T02:05:00Z",
    error: "boom",
  });
  expect(stored(store, "h2").last_backup_warning).toBe("1 of 2 backup paths do not exist and were skipped: /missing");
  for (const id of ["h1", "h2"]) expect(stored(store, id)).toEqual(oracle(store, db, id));
});

test("the last finished backup is one seek per host: the trigger's query uses the partial index", () => {
  const db = openDatabase(":memory:");
  const plan = db
    .query<{ detail: string }, []>(
      `EXPLAIN QUERY PLAN SELECT j.id FROM jobs j WHERE j.host_id = 'h1' AND j.kind = 'backup'
       AND j.status IN ('succeeded', 'failed') ORDER BY j.finished_at DESC, j.id DESC LIMIT 1`,
    )
    .all()
    .map((r) => r.detail)
    .join("\n");
  expect(plan).toContain("jobs_finished_backups");
  expect(plan).not.toContain("TEMP B-TREE");
});
