import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { queuedJob } from "../domain/blank-rows.ts";
import type { Job } from "../domain/types.ts";
import { migrate, openDatabase } from "./db.ts";
import { MIGRATIONS } from "./migrations.ts";
import { createStore, type Store } from "./store.ts";

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

/** The facts as the per-host queries of before migration 4 read them straight from jobs and repo_stats. */
function oracle(store: Store, hostId: string) {
  const last = store.lastJobOfKind(hostId, "backup");
  return {
    last_backup: last
      ? { job_id: last.id, status: last.status, finished_at: last.finished_at, error: last.error }
      : null,
    last_successful_backup_at: store.lastSuccessfulBackupAt(hostId),
    repo_size_bytes: store.repoStatsForHost(hostId, 1)[0]?.size_bytes ?? null,
  };
}

function stored(store: Store, hostId: string) {
  const s = store.hostSummary(hostId)?.summary;
  if (!s) throw new Error(`no host ${hostId}`);
  const { last_backup, last_successful_backup_at, repo_size_bytes } = s;
  return { last_backup, last_successful_backup_at, repo_size_bytes };
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
    for (const id of ["h1", "h2"]) expect(stored(store, id)).toEqual(oracle(store, id));
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
  expect(stored(store, "h1")).toEqual({ last_backup: null, last_successful_backup_at: null, repo_size_bytes: null });
  expect(store.integrityCheck()).toBe("ok");
});

test("migration 4 fills in the facts of a database from before it", () => {
  const db = new Database(":memory:", { strict: true });
  db.exec("PRAGMA foreign_keys = ON");
  for (const m of MIGRATIONS.slice(0, 3)) db.exec(m);
  db.exec("PRAGMA user_version = 3");
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
    last_successful_backup_at: "2026-11-30T01:05:00Z",
    repo_size_bytes: 42,
  });
  expect(stored(store, "h2")).toEqual(oracle(store, "h2"));
  expect(store.lastSuccessfulBackups()).toEqual([{ host_id: "h1", finished_at: "2026-11-30T01:05:00Z" }]);
});
