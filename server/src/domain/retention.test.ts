import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobKind, TerminalJobStatus } from "../../../protocol/index.ts";
import { FLEET_JOB_TAG } from "../../../protocol/index.ts";
import { ManualClock } from "../clock.ts";
import { silentLogger } from "../log.ts";
import { migrate, openDatabase } from "../store/db.ts";
import { createStore } from "../store/store.ts";
import { rebuildAgentJobs } from "./agent-jobs.ts";
import { blankSchedule, queuedJob } from "./blank-rows.ts";
import { lineCost } from "./log-quota.ts";
import { convertToIncrementalVacuum, createRetention, JOBS_BATCH, RETENTION_BATCH } from "./retention.ts";
import { DEFAULT_SETTINGS } from "./settings.ts";
import type { Store } from "./store.ts";

// Retention over the real SQLite store (a file, so the vacuum shrinks something real).
const NOW = new Date("2027-06-01T12:00:00Z");
const daysAgo = (d: number, sec = 0) => new Date(NOW.getTime() - d * 86_400_000 + sec * 1000).toISOString();

let dir: string;
let s: Store;
let clock: ManualClock;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rf-retention-"));
  s = createStore(openDatabase(join(dir, "db.sqlite")));
  clock = new ManualClock(NOW);
  s.insertHost({
    id: "h1",
    name: "h1",
    hostname: "h1.lan",
    restic_host: "h1.lan",
    agent_token_hash: "agent-h1",
    enrolled_at: daysAgo(900),
  });
});
afterEach(() => {
  s.close();
  rmSync(dir, { recursive: true, force: true });
});

const retention = (over: Partial<typeof DEFAULT_SETTINGS> = {}) =>
  createRetention({
    store: s,
    clock,
    settings: { ...DEFAULT_SETTINGS, ...over },
    log: silentLogger,
    tx: (fn) => s.tx(fn),
  });

let n = 0;
/** A job that was made `days` ago and finished a minute later (or not, when status is running). */
function job(
  days: number,
  over: {
    kind?: JobKind;
    status?: TerminalJobStatus | "running";
    spec?: unknown;
    stats?: unknown;
    /** Its log already deleted, as the log pass leaves it. */
    pruned?: boolean;
  } = {},
) {
  const id = `j${++n}`;
  const status = over.status ?? "succeeded";
  const done = status !== "running";
  s.insertJob(
    queuedJob({
      id,
      host_id: "h1",
      kind: over.kind ?? "backup",
      actor_kind: "schedule",
      actor_id: null,
      created_at: daysAgo(days),
      ...(over.spec !== undefined ? { spec: over.spec } : {}),
      status,
      started_at: daysAgo(days, 1),
      finished_at: done ? daysAgo(days, 60) : null,
      stats: (over.stats ?? null) as Record<string, unknown> | null,
    } as Parameters<typeof queuedJob>[0]),
  );
  if (over.pruned) s.markLogsPruned(id, daysAgo(days - 31));
  return id;
}
const payload = "x".repeat(200);
function addLines(job_id: string, count: number) {
  s.tx(() =>
    s.insertLogs(
      "h1",
      Array.from({ length: count }, (_, i) => ({
        job_id,
        seq: i + 1,
        ts: NOW.toISOString(),
        stream: "stdout" as const,
        payload,
        cost: lineCost(payload.length),
      })),
    ),
  );
  return count * lineCost(payload.length);
}
const lineCount = (id: string) => [...s.logsAfter(id, 0, 1_000_000)].length;

describe("job logs", () => {
  test("lines of jobs finished before the cut go, in chunks; the host's usage loses exactly their bytes", async () => {
    const old = job(31);
    const recent = job(29);
    const running = job(60, { status: "running" });
    const oldBytes = addLines(old, RETENTION_BATCH * 2 + 7);
    const recentBytes = addLines(recent, 10);
    const runningBytes = addLines(running, 10);
    expect(s.logUsage(old)?.host_bytes).toBe(oldBytes + recentBytes + runningBytes);

    const pass = await retention().run();
    expect(pass).toMatchObject({ log_jobs: 1, log_lines: RETENTION_BATCH * 2 + 7 });
    expect(lineCount(old)).toBe(0);
    expect(s.jobById(old)?.logs_pruned_at).toBe(NOW.toISOString());
    // The job row stays, with its count at 0 and capped: a late re-send stores nothing.
    expect(s.logUsage(old)).toEqual({
      host_id: "h1",
      job_bytes: 0,
      capped: true,
      host_bytes: recentBytes + runningBytes,
    });
    expect(lineCount(recent)).toBe(10);
    expect(s.jobById(recent)?.logs_pruned_at).toBeNull();
    // Not finished: never touched, however old.
    expect(lineCount(running)).toBe(10);
    expect(s.jobById(running)?.logs_pruned_at).toBeNull();
  });

  test("a pass stopped midway resumes at the same job's next line", async () => {
    const old = job(40);
    addLines(old, RETENTION_BATCH + 5);
    const cut = daysAgo(30);
    expect(s.nextJobToPruneLogs(cut)?.id).toBe(old);
    expect(s.deleteLogLines(old, RETENTION_BATCH)).toBe(RETENTION_BATCH);
    // Not marked until its last line is gone: the next pass starts here.
    expect(s.nextJobToPruneLogs(cut)?.id).toBe(old);
    expect([...s.logsAfter(old, 0, 1)][0]?.seq).toBe(RETENTION_BATCH + 1);
    await retention().run();
    expect(lineCount(old)).toBe(0);
    expect(s.nextJobToPruneLogs(cut)).toBeNull();
  });
});

describe("jobs", () => {
  test("old finished jobs go, but the newest of each host, kind, status and target stays, and every fact with it", async () => {
    // 500 days of daily backups (some failed), checks, drills, copies to two targets, cancelled ones.
    for (let d = 500; d >= 1; d--) {
      job(d, { status: d % 7 === 0 ? "failed" : "succeeded" });
      if (d % 10 === 0) job(d, { kind: "check", status: d % 20 === 0 ? "failed" : "succeeded" });
      if (d % 30 === 0) job(d, { kind: "drill" });
      if (d % 5 === 0) job(d, { kind: "copy", spec: { target_id: d % 10 === 0 ? "repo_a" : "repo_b" } });
    }
    const lonelyCancel = job(450, { kind: "forget", status: "cancelled" });
    const oldFailedCopy = job(480, { kind: "copy", status: "failed", spec: { target_id: "repo_a" } });
    const oldRunning = job(470, { status: "running" });
    const before = {
      summary: s.hostSummary("h1"),
      facts: s.hostFacts(),
      copies: s.lastCopyJobs("h1"),
      kinds: (["backup", "check", "drill", "copy", "forget"] as const).map((k) => s.lastJobOfKind("h1", k)?.id),
      lastSuccess: s.lastSuccessfulBackupAt("h1"),
    };
    const total = s.jobCounts().reduce((a, c) => a + c.n, 0);

    const pass = await retention().run();
    expect(pass.jobs_deleted).toBeGreaterThan(100);
    expect(s.jobCounts().reduce((a, c) => a + c.n, 0)).toBe(total - pass.jobs_deleted);
    expect({
      summary: s.hostSummary("h1"),
      facts: s.hostFacts(),
      copies: s.lastCopyJobs("h1"),
      kinds: (["backup", "check", "drill", "copy", "forget"] as const).map((k) => s.lastJobOfKind("h1", k)?.id),
      lastSuccess: s.lastSuccessfulBackupAt("h1"),
    }).toEqual(before);
    // The only one of its group, and the last failed copy to repo_a: kept though older than 400 days.
    expect(s.jobById(lonelyCancel)).not.toBeNull();
    expect(s.jobById(oldFailedCopy)).not.toBeNull();
    expect(s.jobById(oldRunning)?.status).toBe("running");
    // Nothing finished before the cut is left but the newest of a group.
    const cut = daysAgo(400);
    const left = [...s.listJobs({ host_id: "h1", limit: 100_000 })].filter((j) => j.finished_at && j.finished_at < cut);
    const groups = new Set(
      left.map((j) => `${j.kind}/${j.status}/${(j.spec as { target_id?: string } | null)?.target_id ?? ""}`),
    );
    expect(left.length).toBe(groups.size);
    // Younger than 400 days: all kept.
    expect([...s.listJobs({ host_id: "h1", limit: 100_000 })].filter((j) => j.created_at > cut).length).toBe(
      399 + 39 + 13 + 79,
    );
  });

  test("a job whose lines are not yet deleted, or whose snapshot the host still lists, or of the last maintenance tick, stays", async () => {
    const withSnapshot = job(460, {
      stats: { snapshot_id: "ab".repeat(32), total_bytes_processed: 5, total_files_processed: 1 },
    });
    const prune = job(455, { kind: "prune" });
    const olderPrune = job(458, { kind: "prune" });
    job(420);
    job(410, { kind: "prune" });
    job(405);
    s.replaceSnapshots("h1", [
      {
        id: "ab".repeat(32),
        short_id: "abababab",
        time: daysAgo(460),
        hostname: "h1.lan",
        paths: ["/"],
        tags: [],
        size_bytes: null,
        file_count: null,
      },
    ]);
    const tick = (at: string, job_id: string) => ({
      policy_schedule_id: "ps1",
      scheduled_at: at,
      repository_id: "repo_1",
      policy_id: "pol_1",
      kind: "prune" as const,
      outcome: "fired" as const,
      reason: null,
      host_id: "h1",
      job_id,
      created_at: at,
      updated_at: at,
    });
    s.insertMaintenanceTick(tick(daysAgo(458), olderPrune));
    s.insertMaintenanceTick(tick(daysAgo(455), prune));
    const sizes = s.backupSizes("h1");
    await retention().run();
    expect(s.jobById(withSnapshot)).not.toBeNull();
    expect(s.backupSizes("h1")).toEqual(sizes);
    expect(s.jobById(prune)).not.toBeNull();
    expect(s.jobById(olderPrune)).toBeNull();
  });

  test("a finished rolling check's part of the cycle stays counted when its job goes", async () => {
    s.insertSchedule(
      blankSchedule({ id: "sc1", host_id: "h1", kind: "check", cron_expr: "0 3 * * *", created_at: daysAgo(900) }),
    );
    s.startReadCycle("sc1", 4, daysAgo(500));
    const part = `j${++n}`;
    s.insertJob(
      queuedJob({
        id: part,
        host_id: "h1",
        kind: "check",
        actor_kind: "schedule",
        actor_id: null,
        scheduled_id: "sc1",
        created_at: daysAgo(450),
      }),
    );
    s.takeReadPart("sc1", part, 1);
    s.finishJob(part, { status: "succeeded", exit_code: 0, finished_at: daysAgo(450, 60), error: null });
    job(420, { kind: "check" });
    expect(s.readCycle("sc1")?.parts_done).toBe(1);
    await retention().run();
    expect(s.jobById(part)).toBeNull();
    expect(s.readCycle("sc1")?.parts_done).toBe(1);
  });

  test("a backup the agent ran on its own, deleted at the shortest RF_KEEP_JOBS_DAYS, is not rebuilt from its snapshot", async () => {
    // Its id is the agent's (a UUID), its snapshot tagged with it; a newer backup follows.
    const id = "0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d";
    s.insertJob(
      queuedJob({
        id,
        host_id: "h1",
        kind: "backup",
        actor_kind: "agent",
        actor_id: "h1",
        created_at: daysAgo(36),
        status: "succeeded",
        finished_at: daysAgo(36, 60),
        logs_pruned_at: daysAgo(20),
      }),
    );
    job(34);
    await retention({ keepJobsDays: 35, keepJobLogsDays: 7 }).run();
    expect(s.jobById(id)).toBeNull();
    // A report that still lists its snapshot (taken when the job started) makes no job again.
    const snapshot = {
      id: "cd".repeat(32),
      short_id: "cdcdcdcd",
      time: daysAgo(36, 1),
      hostname: "h1.lan",
      paths: ["/srv"],
      tags: [`${FLEET_JOB_TAG}${id}`],
    };
    expect(s.tx(() => rebuildAgentJobs(s, "h1", [snapshot], clock.now()))).toEqual([]);
    expect(s.jobById(id)).toBeNull();
  });

  test("the walk starts where the last pass stopped, and from the first again once it reached the cut", async () => {
    const ids = Array.from({ length: JOBS_BATCH * 3 + 20 }, (_, i) => job(500 - i / 1000, { pruned: true }));
    const first = s.tx(() => s.deleteOldJobs(daysAgo(400), null, JOBS_BATCH));
    expect(first).toMatchObject({ scanned: JOBS_BATCH, deleted: JOBS_BATCH });
    // As a pass stopped there would have left it: at the 150th job.
    const at = s.jobById(ids[150] as string);
    s.setRetentionMark("jobs", JSON.stringify({ finished_at: at?.finished_at, id: at?.id }));
    await retention().run();
    // Those up to the mark are left for the next pass; after it, all but the newest went.
    expect(ids.filter((id) => s.jobById(id)).length).toBe(151 - JOBS_BATCH + 1);
    expect(s.retentionMark("jobs")).toBeNull();
    await retention().run();
    expect(ids.filter((id) => s.jobById(id))).toEqual([ids[ids.length - 1] as string]);
  });
});

describe("sweep and vacuum", () => {
  test("a pass starts at most once an hour by the clock", async () => {
    const r = retention();
    addLines(job(40), 3);
    job(39);
    r.sweep();
    expect((await r.idle())?.log_jobs).toBe(2);
    job(38);
    clock.advance(59 * 60_000);
    r.sweep();
    expect(await r.idle()).toBeNull();
    clock.advance(60_000);
    r.sweep();
    expect(await r.idle()).not.toBeNull();
  });

  test("a new database has incremental vacuum, and a pass gives the deleted pages back", async () => {
    expect(s.autoVacuum()).toBe("incremental");
    for (let i = 0; i < 10; i++) addLines(job(40 + i), 2000);
    const before = s.pageCounts();
    const pass = await retention().run();
    const after = s.pageCounts();
    expect(pass.log_lines).toBe(20_000);
    expect(after.free).toBe(0);
    expect(pass.pages_freed).toBeGreaterThan(1000);
    // 20,000 lines of ~330 bytes: about 6.5 MB fewer in the file.
    expect((before.pages - after.pages) * after.page_size).toBeGreaterThan(5_000_000);
  });

  /** A database as a server before migration 28 made it: tables first, so no auto_vacuum. */
  function oldDatabase() {
    const file = join(dir, "old.sqlite");
    const raw = new Database(file, { create: true, strict: true });
    migrate(raw);
    raw.close();
    return { file, db: openDatabase(file) };
  }
  const recording = () => {
    const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
    const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
      lines.push({ level, msg, ...(fields ? { fields } : {}) });
    };
    return { lines, log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } };
  };

  test("a database without auto_vacuum converts to incremental, once, and says so", () => {
    const { file, db } = oldDatabase();
    const old = createStore(db);
    try {
      expect(old.autoVacuum()).toBe("none");
      const { lines, log } = recording();
      convertToIncrementalVacuum(old, log, file);
      expect(old.autoVacuum()).toBe("incremental");
      expect(old.integrityCheck()).toBe("ok");
      expect(lines.map((l) => [l.level, l.msg])).toEqual([
        ["info", "turning on incremental vacuum: rewriting the database once (VACUUM)"],
        ["info", "incremental vacuum is on"],
      ]);
      convertToIncrementalVacuum(old, log, file);
      expect(lines).toHaveLength(2);
    } finally {
      old.close();
    }
  });

  test("a conversion that fails is a warning that says what to do, and the server goes on", () => {
    const { file, db } = oldDatabase();
    const old = createStore(db);
    // SQLite refuses VACUUM while a statement of the same connection is still being read.
    const reading = db.query("SELECT name FROM sqlite_schema").iterate();
    reading.next();
    try {
      const { lines, log } = recording();
      expect(() => convertToIncrementalVacuum(old, log, file)).not.toThrow();
      expect(old.autoVacuum()).toBe("none");
      const warning = lines.find((l) => l.level === "warn");
      expect(warning?.msg).toContain("could not turn on incremental vacuum; the server runs on");
      expect(warning?.fields).toMatchObject({ file, error: expect.stringContaining("VACUUM") });
      expect(String(warning?.fields?.hint)).toContain("free space there and restart the server");
    } finally {
      reading.return?.();
      old.close();
    }
  });
});
