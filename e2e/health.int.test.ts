import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { TestHost } from "./host.ts";

// Issue 15, item 0: health that tells the truth, with the compiled agent and real restic
// (RF_TEST_RESTIC picks the version). The tests run in order on one host and one repository;
// the last one deletes that repository.
let fleet: Fleet;
let host: TestHost;
let work: string;
let data: string;

interface HostBody {
  backup_health: string;
  last_backup: { job_id: string; status: string; finished_at: string | null; error: string | null } | null;
  last_backup_warning: string | null;
}
const view = async () => (await fleet.api<HostBody>(`/hosts/${host.hostId}`)).body;
const summary = async () => (await fleet.api<{ health: Record<string, number> }>("/hosts/summary")).body;

beforeAll(async () => {
  work = tempDir("rf-e2e-health-");
  fleet = await startFleet();
  host = new TestHost(fleet, work);
  await host.watch();
  await host.enroll();
  await host.start();
  data = join(work, "data");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "a.txt"), "some data\n");
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
  // An hourly schedule, so health is measured against an interval (not "unscheduled").
  const s = await fleet.api(`/hosts/${host.hostId}/schedules`, "POST", {
    kind: "backup",
    cron_expr: "0 * * * *",
    paths: [data],
  });
  expect(s.status).toBe(201);
});

afterAll(async () => {
  await host.stop();
  host.events?.close();
  await fleet.close();
  rmSync(work, { recursive: true, force: true });
});

test("(b) a backup of an existing and a missing path succeeds, and the host shows warning, not ok", async () => {
  const missing = join(work, "does-not-exist");
  const job = await host.run({ kind: "backup", spec: { paths: [data, missing] } }, "snapshots.updated");
  expect(job.status).toBe("succeeded");
  expect(job.stats?.missing_paths).toEqual([missing]);
  const v = await view();
  expect(v.backup_health).toBe("warning");
  expect(v.last_backup).toMatchObject({ job_id: job.id, status: "succeeded" });
  expect(v.last_backup_warning).toContain(`1 of 2 backup paths do not exist and were skipped: ${missing}`);
  expect((await summary()).health).toMatchObject({ warning: 1, ok: 0 });
  // A clean backup clears it.
  expect((await host.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
  expect(await view()).toMatchObject({ backup_health: "ok", last_backup_warning: null });
});

test("(b') a backup that saved 0 files (an empty folder) is warning too", async () => {
  const empty = join(work, "empty");
  mkdirSync(empty, { recursive: true });
  const job = await host.run({ kind: "backup", spec: { paths: [empty] } }, "snapshots.updated");
  expect(job.status).toBe("succeeded");
  expect(job.stats?.total_files_processed).toBe(0);
  expect(await view()).toMatchObject({ backup_health: "warning", last_backup_warning: "the backup saved 0 files" });
});

test("(a) a failed backup, then one queued behind it: still failed until a backup succeeds", async () => {
  const failed = await host.run({ kind: "backup", spec: { paths: [join(work, "gone-1"), join(work, "gone-2")] } });
  expect(failed.status).toBe("failed");
  expect((await view()).backup_health).toBe("failed");
  // The agent is stopped, so the next backup stays queued: the newest backup job, not finished.
  await host.stop();
  const queued = await host.runNow({ kind: "backup", spec: { paths: [data] } });
  expect((await host.job(queued.id)).status).toBe("queued");
  const v = await view();
  expect(v.backup_health).toBe("failed");
  expect(v.last_backup).toMatchObject({ job_id: failed.id, status: "failed" });
  expect((await summary()).health).toMatchObject({ failed: 1, ok: 0 });
  // Back online: the queued backup runs, succeeds, and only that makes the host ok.
  await host.start();
  expect((await host.finished(queued.id)).status).toBe("succeeded");
  expect(await view()).toMatchObject({ backup_health: "ok", last_backup: { job_id: queued.id } });
});

test("(c) the repository deleted between the backup and its reports: the backup turns failed, and so does the host", async () => {
  const repo = join(work, "repo");
  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  // The post-hook runs after restic's snapshot is written and before the reports: the seam
  // where an attack run deleted the repository.
  const job = await host.runNow({ kind: "backup", spec: { paths: [data], post_hook: `rm -rf '${repo}'` } });
  await events.until((e) => e.type === "job.updated" && e.job_id === job.id && e.status === "failed", from);
  expect(existsSync(repo)).toBe(false);
  const failed = await host.job(job.id);
  expect(failed.status).toBe("failed");
  expect(failed.error).toContain("the repository was gone right after it");
  expect(failed.error).toContain("There is no restic repository");
  expect(failed.stats?.failure_reason).toBe("repo_missing");
  const v = await view();
  expect(v.backup_health).toBe("failed");
  expect(v.last_backup).toMatchObject({ job_id: job.id, status: "failed" });
});
