import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { blankSchedule, queuedJob } from "../domain/blank-rows.ts";
import type { Job } from "../domain/types.ts";
import { migrate, openDatabase } from "./db.ts";
import { MIGRATIONS } from "./migrations.ts";
import { createStore } from "./store.ts";

function fresh() {
  return createStore(openDatabase(":memory:"));
}

const job = (over: Partial<Job> = {}) =>
  queuedJob({
    id: "job_1",
    host_id: "h1",
    kind: "backup",
    actor_kind: "schedule",
    scheduled_id: "s1",
    scheduled_at: "2026-12-01T02:00:00.000Z",
    args: ["/srv"],
    spec: { paths: ["/srv"] },
    created_at: "2026-11-30T12:00:00.000Z",
    ...over,
  });

function seed() {
  const s = fresh();
  s.insertHost({
    id: "h1",
    name: "a",
    hostname: "a",
    restic_host: "a",
    agent_token_hash: "x1",
    enrolled_at: "2026-11-30T00:00:00Z",
  });
  s.insertSchedule(
    blankSchedule({
      id: "s1",
      host_id: "h1",
      kind: "backup",
      cron_expr: "0 2 * * *",
      paths: ["/srv"],
      created_at: "2026-11-30T00:00:00Z",
    }),
  );
  return s;
}

describe("store", () => {
  test("migrations set user_version and the pragmas", () => {
    const db = openDatabase(":memory:");
    expect(db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(MIGRATIONS.length);
    expect(db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys).toBe(1);
    expect(db.query<{ synchronous: number }, []>("PRAGMA synchronous").get()?.synchronous).toBe(2); // FULL
  });

  test("(scheduled_id, scheduled_at) is unique: a second insert returns the first job", () => {
    const s = seed();
    expect(s.insertJob(job()).created).toBe(true);
    const again = s.insertJob(job({ id: "job_2" }));
    expect(again.created).toBe(false);
    expect(again.job.id).toBe("job_1");
  });

  test("a finished job never goes back", () => {
    const s = seed();
    s.insertJob(job());
    expect(s.markRunning("job_1", "2026-11-30T12:00:01Z")).toBe(true);
    expect(
      s.finishJob("job_1", { status: "succeeded", exit_code: 0, finished_at: "2026-11-30T12:00:02Z", error: null }),
    ).toBe(true);
    expect(
      s.finishJob("job_1", { status: "failed", exit_code: 1, finished_at: "2026-11-30T12:00:03Z", error: "x" }),
    ).toBe(false);
    expect(s.markRunning("job_1", "2026-11-30T12:00:04Z")).toBe(false);
    expect(s.setProgress("job_1", { percent_done: 0.1 })).toBe(false);
    expect(s.jobById("job_1")?.status).toBe("succeeded");
  });

  test("cursor pagination walks every job once, newest first", () => {
    const s = seed();
    for (let i = 0; i < 7; i++) {
      s.insertJob(
        job({ id: `job_${i}`, scheduled_id: null, scheduled_at: null, created_at: `2026-11-30T12:00:0${i % 3}.000Z` }),
      );
    }
    const seen: string[] = [];
    let after: { created_at: string; id: string } | undefined;
    for (;;) {
      const page = s.listJobs({ limit: 3, after });
      seen.push(...page.map((j) => j.id));
      if (page.length < 3) break;
      const last = page.at(-1) as { created_at: string; id: string };
      after = { created_at: last.created_at, id: last.id };
    }
    expect(seen.length).toBe(7);
    expect(new Set(seen).size).toBe(7);
  });

  test("snapshot reports replace the list atomically, and logs dedup by seq", () => {
    const s = seed();
    s.insertJob(job());
    const snap = (id: string) => ({
      id: id.repeat(64),
      short_id: id.repeat(8),
      time: "2026-11-30T12:00:00Z",
      hostname: "a",
      paths: ["/srv"],
      tags: [],
      size_bytes: null,
      file_count: null,
    });
    s.tx(() => s.replaceSnapshots("h1", [snap("a"), snap("b")]));
    s.tx(() => s.replaceSnapshots("h1", [snap("c")]));
    expect(s.snapshotsForHost("h1").map((x) => x.short_id)).toEqual(["cccccccc"]);
    const line = { job_id: "job_1", seq: 1, ts: "2026-11-30T12:00:00Z", stream: "stdout", payload: "x" };
    s.tx(() => s.insertLogs([line, { ...line, seq: 2 }, line]));
    expect(s.logsAfter("job_1", 0, 10).length).toBe(2);
  });

  test("envelope ids are remembered per host", () => {
    const s = seed();
    expect(s.rememberEnvelope("h1", "e1", "2026-11-30T12:00:00Z")).toBe(true);
    expect(s.rememberEnvelope("h1", "e1", "2026-11-30T12:00:01Z")).toBe(false);
    expect(s.rememberEnvelope("h2", "e1", "2026-11-30T12:00:01Z")).toBe(true);
  });

  test("deleting a host removes its schedules, jobs and logs", () => {
    const s = seed();
    s.insertJob(job());
    s.deleteHost("h1");
    expect(s.jobById("job_1")).toBeNull();
    expect(s.scheduleById("s1")).toBeNull();
    expect(s.integrityCheck()).toBe("ok");
  });
});

describe("migration 5: restic_host", () => {
  test("hosts enrolled before it get the hostname of their last hello, the name their snapshots carry", () => {
    const db = new Database(":memory:", { strict: true });
    for (const [i, sql] of MIGRATIONS.slice(0, 4).entries()) {
      db.exec(sql);
      db.exec(`PRAGMA user_version = ${i + 1}`);
    }
    db.query(
      "INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES ('h1', 'Web A', 'box', 'x', '2026-11-30T00:00:00Z')",
    ).run();
    migrate(db);
    expect(createStore(db).hostById("h1")).toMatchObject({ name: "Web A", hostname: "box", restic_host: "box" });
  });
});
