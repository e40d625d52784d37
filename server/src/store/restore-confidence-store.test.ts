import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { blankSchedule, queuedJob } from "../domain/blank-rows.ts";
import type { Job } from "../domain/types.ts";
import { migrate, openDatabase } from "./db.ts";
import { MIGRATIONS } from "./migrations.ts";
import { createStore, type Store } from "./store.ts";
import { applyMigration } from "./table-rebuild.ts";

// Migration 15 through the store: drill facts, the last check's stats, rolling read cycles and a
// repository's last check.

const t = (min: number) => new Date(Date.UTC(2026, 11, 2, 0, min)).toISOString();

function setup() {
  const db = openDatabase(":memory:");
  const store = createStore(db);
  for (const id of ["h1", "h2"]) {
    store.insertHost({
      id,
      name: id,
      hostname: id,
      restic_host: id,
      agent_token_hash: `t-${id}`,
      enrolled_at: t(0),
    });
  }
  return { db, store };
}

/** A queued job; `spec` as the store keeps it (its kind's shape, not checked here). */
const job = (id: string, host_id: string, kind: Job["kind"], over: { spec?: unknown } = {}) =>
  queuedJob({ id, host_id, kind, actor_kind: "user", created_at: t(1), spec: (over.spec ?? null) as never });

function finish(store: Store, id: string, status: "succeeded" | "failed" | "cancelled", min: number, more = {}) {
  store.finishJob(id, { status, exit_code: status === "succeeded" ? 0 : 1, finished_at: t(min), error: null, ...more });
}

const drillOf = (store: Store, host: string) => store.hostSummary(host)?.summary.last_drill;

test("the last finished drill is kept on its host: passed, failed by its job or by its report, with snapshot and reason", () => {
  const { db, store } = setup();
  expect(drillOf(store, "h1")).toBeNull();
  store.insertJob(job("d1", "h1", "drill", { spec: { snapshot_id: "latest" } }));
  expect(drillOf(store, "h1")).toBeNull(); // queued: says nothing yet
  finish(store, "d1", "succeeded", 5, {
    stats: { drill: { snapshot_id: "3f2a9c1d", files_requested: 20, files_verified: 20, result: "passed" } },
  });
  expect(drillOf(store, "h1")).toEqual({
    job_id: "d1",
    finished_at: t(5),
    result: "passed",
    snapshot_id: "3f2a9c1d",
    reason: null,
  });
  // A job that succeeded but whose report says failed is a failed drill, with the report's reason.
  store.insertJob(job("d2", "h1", "drill", { spec: { snapshot_id: "aaaabbbb" } }));
  finish(store, "d2", "succeeded", 10, { stats: { drill: { result: "failed", reason: "2 files differ" } } });
  expect(drillOf(store, "h1")).toMatchObject({
    job_id: "d2",
    result: "failed",
    snapshot_id: "aaaabbbb",
    reason: "2 files differ",
  });
  // A failed job without a report: the job's error is the reason; a cancelled one changes nothing.
  store.insertJob(job("d3", "h1", "drill"));
  store.finishJob("d3", { status: "failed", exit_code: 1, finished_at: t(15), error: "restic: repository locked" });
  expect(drillOf(store, "h1")).toMatchObject({
    job_id: "d3",
    result: "failed",
    snapshot_id: null,
    reason: "restic: repository locked",
  });
  store.insertJob(job("d4", "h1", "drill"));
  finish(store, "d4", "cancelled", 20);
  expect(drillOf(store, "h1")?.job_id).toBe("d3");
  // Stats that are not JSON do not break the write; the other host is untouched.
  db.exec("UPDATE jobs SET stats = 'not json' WHERE id = 'd3'");
  expect(drillOf(store, "h1")).toMatchObject({ job_id: "d3", result: "failed" });
  expect(drillOf(store, "h2")).toBeNull();
  // Deleting behind the store's back recomputes.
  db.exec("DELETE FROM jobs WHERE id IN ('d3', 'd4')");
  expect(drillOf(store, "h1")?.job_id).toBe("d2");
  // The alert sweep's lean read carries the same drill.
  expect(store.hostFacts().find((f) => f.host.id === "h1")?.summary.last_drill?.job_id).toBe("d2");
});

test("migration 15 fills in the drill facts of a database from before it", () => {
  const db = new Database(":memory:", { strict: true });
  db.exec("PRAGMA foreign_keys = ON");
  for (const [i, m] of MIGRATIONS.slice(0, 14).entries()) applyMigration(db, m, i + 1);
  db.exec(
    `INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES ('h1', 'h1', 'h1', 't', '${t(0)}')`,
  );
  db.exec(
    `INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at, finished_at, error)
     VALUES ('d1', 'h1', 'drill', 'failed', 'user', '${t(1)}', '${t(2)}', 'no snapshot')`,
  );
  migrate(db);
  expect(drillOf(createStore(db), "h1")).toEqual({
    job_id: "d1",
    finished_at: t(2),
    result: "failed",
    snapshot_id: null,
    reason: "no snapshot",
  });
});

test("the host's last check carries its job's stats", () => {
  const { store } = setup();
  store.insertJob(job("c1", "h1", "check"));
  finish(store, "c1", "failed", 3, { stats: { num_errors: 2 }, error: "check found 2 errors" });
  expect(store.hostSummary("h1")?.summary.last_check).toEqual({
    job_id: "c1",
    status: "failed",
    finished_at: t(3),
    error: "check found 2 errors",
    stats: { num_errors: 2 },
  });
  store.insertJob(job("c2", "h1", "check"));
  finish(store, "c2", "succeeded", 4);
  expect(store.hostSummary("h1")?.summary.last_check).toMatchObject({ job_id: "c2", stats: null });
});

test("a rolling cycle completes when each part has succeeded; a failed part is next again", () => {
  const { store } = setup();
  store.insertSchedule(
    blankSchedule({ id: "s1", host_id: "h1", kind: "check", cron_expr: "0 3 * * *", created_at: t(0) }),
  );
  store.startReadCycle("s1", 3, t(0));
  expect(store.readCycle("s1")).toEqual({
    schedule_id: "s1",
    parts: 3,
    next_part: 1,
    cycle_started_at: t(0),
    last_full_read_at: null,
    parts_done: 0,
  });
  let n = 0;
  /** Makes the job for the next part, as the domain does, and finishes it. */
  const run = (status: "succeeded" | "failed" | "cancelled") => {
    const part = store.readCycle("s1")?.next_part as number;
    const id = `c${++n}`;
    store.insertJob(job(id, "h1", "check", { spec: { read_data_subset: `${part}/3` } }));
    store.takeReadPart("s1", id, part);
    finish(store, id, status, 10 + n);
    return part;
  };
  expect(run("succeeded")).toBe(1);
  expect(run("failed")).toBe(2);
  expect(store.readCycle("s1")).toMatchObject({ next_part: 2, parts_done: 1 });
  expect(run("cancelled")).toBe(2);
  expect(run("succeeded")).toBe(2);
  expect(store.readCycle("s1")).toMatchObject({ next_part: 3, parts_done: 2, last_full_read_at: null });
  expect(store.hostSummary("h1")?.summary.last_full_read_at).toBeNull();
  expect(run("succeeded")).toBe(3);
  // Complete: a new cycle begins at its finish, and wraps to part 1.
  expect(store.readCycle("s1")).toEqual({
    schedule_id: "s1",
    parts: 3,
    next_part: 1,
    cycle_started_at: t(15),
    last_full_read_at: t(15),
    parts_done: 0,
  });
  expect(store.hostSummary("h1")?.summary.last_full_read_at).toBe(t(15));
  expect(store.hostSummary("h2")?.summary.last_full_read_at).toBeNull();
  // A job of an old N (the schedule changed to k/4 meanwhile) does not count in the new cycle.
  store.insertJob(job("old", "h1", "check", { spec: { read_data_subset: "1/3" } }));
  store.takeReadPart("s1", "old", 1);
  store.startReadCycle("s1", 4, t(30));
  finish(store, "old", "succeeded", 31);
  expect(store.readCycle("s1")).toMatchObject({ parts: 4, next_part: 1, parts_done: 0, last_full_read_at: t(15) });
  // The cycle goes with its schedule.
  store.deleteSchedule("s1");
  expect(store.readCycle("s1")).toBeNull();
});

test("a repository's last check is the newest among the hosts it is given to, not those with their own", () => {
  const { store } = setup();
  store.insertRepository({
    id: "repo_1",
    name: "shared",
    url: "s3:https://s3.example/backups",
    password_enc: "enc:pw",
    username: null,
    credential_enc: null,
    env: {},
    secret_env_enc: null,
    auto_init: false,
    created_at: t(0),
    updated_at: t(0),
  });
  for (const h of ["h1", "h2"]) {
    store.setHostPolicyState(h, { policy_repository_id: "repo_1", repository_policy_id: null, policy_conflict: null });
  }
  expect(store.repositoryLastChecks().get("repo_1")).toBeUndefined();
  store.insertJob(job("c1", "h1", "check"));
  finish(store, "c1", "succeeded", 5);
  store.insertJob(job("c2", "h2", "check"));
  store.finishJob("c2", { status: "failed", exit_code: 1, finished_at: t(6), error: "pack damaged" });
  expect(store.repositoryLastChecks().get("repo_1")).toEqual({
    job_id: "c2",
    host_id: "h2",
    status: "failed",
    finished_at: t(6),
    error: "pack damaged",
  });
  // h2's own settings beat its policies': its checks are of another repository.
  store.upsertConfig({
    host_id: "h2",
    repo_url: "/srv/other",
    repo_password_enc: null,
    repo_username: null,
    repo_credential_enc: null,
    hook_shell: null,
    updated_at: t(7),
  });
  expect(store.repositoryLastChecks().get("repo_1")?.job_id).toBe("c1");
});

test("jobs can be listed by kind", () => {
  const { store } = setup();
  store.insertJob(job("c1", "h1", "check"));
  store.insertJob(job("b1", "h1", "backup"));
  store.insertJob(job("c2", "h2", "check"));
  expect([...store.listJobs({ kind: "check", limit: 10 })].map((j) => j.id).sort()).toEqual(["c1", "c2"]);
  expect([...store.listJobs({ kind: "check", host_id: "h1", limit: 10 })].map((j) => j.id)).toEqual(["c1"]);
});
