import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { migrate, openDatabase } from "./db.ts";
import { MIGRATIONS } from "./migrations.ts";
import { createStore } from "./store.ts";
import { applyMigration } from "./table-rebuild.ts";

// The store's behaviour is pinned by the contract suite (store-contract.ts, run by
// sqlite-store.contract.test.ts); what stays here is SQLite's own: pragmas and migrations.
describe("store", () => {
  test("migrations set user_version and the pragmas", () => {
    const db = openDatabase(":memory:");
    expect(db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(MIGRATIONS.length);
    expect(db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys).toBe(1);
    expect(db.query<{ synchronous: number }, []>("PRAGMA synchronous").get()?.synchronous).toBe(2); // FULL
  });
});

describe("migration 5: restic_host", () => {
  test("hosts enrolled before it get the hostname of their last hello, the name their snapshots carry", () => {
    const db = new Database(":memory:", { strict: true });
    for (const [i, m] of MIGRATIONS.slice(0, 4).entries()) applyMigration(db, m, i + 1);
    db.query(
      "INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES ('h1', 'Web A', 'box', 'x', '2026-11-30T00:00:00Z')",
    ).run();
    migrate(db);
    expect(createStore(db).hostById("h1")).toMatchObject({ name: "Web A", hostname: "box", restic_host: "box" });
  });
});

describe("migration 24: jobs by the agent's own authority", () => {
  test("rebuilds jobs with actor_kind 'agent' allowed, keeping rows, logs, indexes and triggers", () => {
    const db = new Database(":memory:", { strict: true });
    db.exec("PRAGMA foreign_keys = ON");
    for (const [i, m] of MIGRATIONS.slice(0, 23).entries()) applyMigration(db, m, i + 1);
    const before = db
      .query<{ type: string; name: string }, []>(
        "SELECT type, name FROM sqlite_schema WHERE tbl_name = 'jobs' AND sql IS NOT NULL ORDER BY name",
      )
      .all();
    db.exec(
      "INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES ('h1', 'Web A', 'box', 'x', '2026-11-30T00:00:00Z')",
    );
    db.exec(`INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at, finished_at)
      VALUES ('j1', 'h1', 'backup', 'succeeded', 'schedule', '2026-11-30T01:00:00Z', '2026-11-30T01:05:00Z')`);
    db.exec(
      "INSERT INTO job_logs (job_id, seq, ts, stream, payload) VALUES ('j1', 1, '2026-11-30T01:00:01Z', 'stdout', 'hi')",
    );
    migrate(db);
    expect(db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(MIGRATIONS.length);
    expect(db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys).toBe(1);
    // The rows and their logs survived (no cascade from dropping the old table).
    expect(db.query("SELECT id FROM jobs").all()).toEqual([{ id: "j1" }]);
    expect(db.query("SELECT payload FROM job_logs").all()).toEqual([{ payload: "hi" }]);
    const after = db
      .query<{ type: string; name: string }, []>(
        "SELECT type, name FROM sqlite_schema WHERE tbl_name = 'jobs' AND sql IS NOT NULL ORDER BY name",
      )
      .all();
    // As they were, but for the index migration 25 adds (GET /jobs?actor_kind=) and migration 28's (retention).
    const later = ["jobs_by_actor_time", "jobs_by_finished", "jobs_keep_newest", "jobs_logs_unpruned"];
    expect(after.filter((o) => !later.includes(o.name))).toEqual(before);
    // A job the agent ran on its own is allowed; the host's facts triggers still run.
    db.exec(`INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at, finished_at)
      VALUES ('j2', 'h1', 'backup', 'succeeded', 'agent', '2026-11-30T02:00:00Z', '2026-11-30T02:05:00Z')`);
    expect(db.query("SELECT last_successful_backup_at AS at FROM hosts").get()).toEqual({ at: "2026-11-30T02:05:00Z" });
    expect(() =>
      db.exec(`INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at)
        VALUES ('j3', 'h1', 'backup', 'queued', 'nobody', '2026-11-30T03:00:00Z')`),
    ).toThrow(/CHECK/);
    expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
  });
});
