import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { type Job, RESTIC, resticDirect, TestHost } from "./host.ts";

// Issue 18 end to end, with the compiled agent and real restic (RF_TEST_RESTIC: 0.14 and 0.18):
// - item 3: bulk run-now on a label of 3 real agents makes 3 jobs (init, then backup), and they
//   succeed; each repository holds its host's snapshot; the host the label leaves out runs nothing;
// - item 7: a `* * * * * *` backup held in its pre-hook (until the test releases it) merges the
//   ticks that fall meanwhile into itself, and the schedule says so; the next tick after it ends
//   makes the next job. No two runs of the schedule are ever pending at once.
let fleet: Fleet;
let work: string;
let data: string;
const hosts: TestHost[] = [];
let other: TestHost;

beforeAll(async () => {
  work = tempDir("rf-e2e-bulk-");
  data = join(work, "srv");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "index.html"), "hello from a bulk run\n");
  fleet = await startFleet();
  const token = await fleet.api<{ token: string }>("/enrollment-tokens", "POST", { uses: 3, labels: { role: "web" } });
  for (const name of ["web-01", "web-02", "web-03"]) {
    const h = new TestHost(fleet, join(work, name));
    hosts.push(h);
    await h.watch();
    await h.enroll({ hostname: name, token: token.body.token });
  }
  other = new TestHost(fleet, join(work, "db-01"));
  await other.watch();
  await other.enroll({ hostname: "db-01" });
  for (const h of [...hosts, other]) await h.start();
});

afterAll(async () => {
  for (const h of [...hosts, other]) {
    await h?.stop();
    h?.events?.close();
  }
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Bulk run-now on role=web; waits for every job it made to end. */
async function bulkOnWeb(body: Record<string, unknown>): Promise<Job[]> {
  const res = await fleet.api<{ items: Job[]; refused: unknown[] }>("/jobs", "POST", {
    selector: { labels: { role: "web" } },
    ...body,
  });
  expect(res.status).toBe(201);
  expect(res.body.refused).toEqual([]);
  const byHost = new Map(hosts.map((h) => [h.hostId, h]));
  return Promise.all(
    res.body.items.map((j) => (byHost.get((j as Job & { host_id: string }).host_id) as TestHost).finished(j.id)),
  );
}

test(`bulk run-now on a label of 3 real agents: 3 inits, then 3 backups, all succeed (${RESTIC})`, async () => {
  const inits = await bulkOnWeb({ kind: "init" });
  expect(inits.map((j) => [j.kind, j.status])).toEqual(Array(3).fill(["init", "succeeded"]));
  const backups = await bulkOnWeb({ kind: "backup", spec: { paths: [data], tags: ["bulk"] } });
  expect(backups.map((j) => [j.kind, j.status, j.actor_kind])).toEqual(Array(3).fill(["backup", "succeeded", "user"]));
  for (const h of hosts) {
    const out = await resticDirect(join(h.work, "repo"), ["snapshots", "--json", "--no-lock"], work);
    const snaps = JSON.parse(out.stdout) as { hostname: string; paths: string[]; tags?: string[] }[];
    expect(snaps).toHaveLength(1);
    expect(snaps[0]).toMatchObject({ paths: [data], tags: ["bulk"] });
  }
  // The host the label leaves out ran nothing.
  const otherJobs = await fleet.api<{ items: unknown[] }>(`/jobs?host_id=${other.hostId}`);
  expect(otherJobs.body.items).toEqual([]);
  expect(existsSync(join(other.work, "repo"))).toBe(false);
});

test("a tick while the schedule's previous run is still running is merged into it, and the schedule says so", async () => {
  const h = hosts[0] as TestHost;
  const release = join(work, "release");
  const events = h.events ?? (await h.watch());
  const from = events.seen.length;
  // The backup waits in its pre-hook until the test creates `release`: ticks fall every second meanwhile.
  const schedule = await fleet.api<{ id: string }>(`/hosts/${h.hostId}/schedules`, "POST", {
    kind: "backup",
    cron_expr: "* * * * * *",
    paths: [data],
    pre_hook: `while [ ! -e '${release}' ]; do sleep 0.05; done`,
  });
  expect(schedule.status).toBe(201);
  const started = await events.until((e) => e.type === "job.updated" && e.host_id === h.hostId, from);
  const skipped = await events.until((e) => e.type === "schedule.skipped" && e.host_id === h.hostId, from);
  expect(skipped.job_id).toBe(started.job_id);
  const view = await fleet.api<{ skipped_ticks: { job_id: string; count: number; last_reason: string } }>(
    `/schedules/${schedule.body.id}`,
  );
  expect(view.body.skipped_ticks).toMatchObject({ job_id: started.job_id });
  expect(view.body.skipped_ticks.count).toBeGreaterThanOrEqual(1);
  expect(view.body.skipped_ticks.last_reason).toMatch(
    new RegExp(`^previous run ${started.job_id} still (queued|running)`),
  );

  // Released: it succeeds, and a later tick makes the next job (the schedule is then stopped).
  writeFileSync(release, "");
  expect((await h.finished(started.job_id as string)).status).toBe("succeeded");
  const next = await events.until(
    (e) => e.type === "job.updated" && e.host_id === h.hostId && e.status === "queued" && e.job_id !== started.job_id,
    from,
  );
  await fleet.api(`/schedules/${schedule.body.id}`, "PATCH", { enabled: false });
  expect((await h.finished(next.job_id as string)).status).toBe("succeeded");

  // Each run of the schedule was made only after the one before it had ended.
  type Row = Job & { scheduled_id: string | null; created_at: string; finished_at: string | null };
  const runs = (await fleet.api<{ items: Row[] }>(`/jobs?host_id=${h.hostId}&kind=backup&limit=500`)).body.items
    .filter((j) => j.scheduled_id === schedule.body.id)
    .reverse();
  expect(runs.length).toBeGreaterThanOrEqual(2);
  for (let i = 1; i < runs.length; i++) {
    expect((runs[i] as Row).created_at >= ((runs[i - 1] as Row).finished_at ?? "9")).toBe(true);
  }
});
