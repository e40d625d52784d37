import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { resticDirect, TestHost } from "./host.ts";

// The compiled agent and the real server, running every job kind through the API.
// One host for the file; each test points it at a repository of its own (freshRepo), so no test
// sees another's snapshots or locks. The data folders are made here and only read by the tests.
let fleet: Fleet;
let host: TestHost;
let work: string;
let data: string;
let big: string;
/** The repository the init job made: copied by freshRepo, never used by a test itself. */
let template: string;

/** The test files: two small ones, one with glob characters in its name, and a random one. */
function writeData(dir: string): void {
  mkdirSync(join(dir, "deep", "er"), { recursive: true });
  writeFileSync(join(dir, "plain.txt"), "plain text\n");
  writeFileSync(join(dir, "weird[1].txt"), "brackets\n");
  writeFileSync(join(dir, "deep", "er", "random.bin"), randomBytes(300_000));
}

beforeAll(async () => {
  work = tempDir("rf-e2e-jobs-");
  fleet = await startFleet();
  host = new TestHost(fleet, work);
  await host.watch();
  await host.enroll();
  await host.start();
  data = join(work, "data");
  writeData(data);
  writeFileSync(join(data, "counter.txt"), "run 0\n");
  // 200 MiB of incompressible data, for the jobs that must still be running when a test acts.
  big = join(work, "big");
  mkdirSync(big, { recursive: true });
  for (let i = 0; i < 10; i++) writeFileSync(join(big, `f${i}.bin`), randomBytes(20 * 1024 * 1024));
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
  template = join(work, "repo");
});

afterAll(async () => {
  await host.stop();
  host.events?.close();
  await fleet.close();
  rmSync(work, { recursive: true, force: true });
});

type Snap = { id: string; short_id: string };
const snapshots = async () => (await fleet.api<{ items: Snap[] }>(`/hosts/${host.hostId}/snapshots`)).body.items;

let repos = 0;
/**
 * Points the host at a new, empty repository: a copy of the initialized template (a restic init
 * costs seconds; a copy does not). The agent applies the config.update before its next job.
 */
async function freshRepo(): Promise<string> {
  const repo = join(work, `repo-${++repos}`);
  cpSync(template, repo, { recursive: true });
  await host.useRepo(repo);
  return repo;
}

test("backups, then forget with a retention policy removes the older snapshots", async () => {
  await freshRepo();
  // Its own data folder: it changes a file between the backups.
  const mine = join(work, "data-forget");
  writeData(mine);
  for (let i = 0; i < 3; i++) {
    writeFileSync(join(mine, "counter.txt"), `run ${i}\n`);
    const b = await host.run({ kind: "backup", spec: { paths: [mine], tags: ["e2e"] } }, "snapshots.updated");
    expect(b.status).toBe("succeeded");
  }
  expect((await snapshots()).length).toBe(3);
  const forget = await host.run(
    { kind: "forget", spec: { policy: { keep_last: 2 }, prune: true } },
    "snapshots.updated",
  );
  expect(forget.error).toBeNull();
  expect(forget.status).toBe("succeeded");
  expect((await snapshots()).length).toBe(2);
});

test("check succeeds, also reading all data", async () => {
  const repo = await freshRepo();
  // Two snapshots to check, made directly: the jobs under test are the checks.
  for (let i = 0; i < 2; i++) expect((await resticDirect(repo, ["backup", "-q", data], work)).code).toBe(0);
  expect((await host.run({ kind: "check" })).status).toBe("succeeded");
  const full = await host.run({ kind: "check", spec: { read_data_subset: "100%" } }, "repo_stats.updated");
  expect(full.status).toBe("succeeded");
  const stats = await fleet.api<{ items: Array<{ last_check_status: string | null; snapshot_count: number }> }>(
    `/hosts/${host.hostId}/repo-stats`,
  );
  expect(stats.body.items[0]?.last_check_status).toBe("ok");
  expect(stats.body.items[0]?.snapshot_count).toBe(2);
});

test("restore to a temp dir gives byte-identical files, including an include of weird[1].txt", async () => {
  await freshRepo();
  const b = await host.run({ kind: "backup", spec: { paths: [data], tags: ["e2e"] } }, "snapshots.updated");
  expect(b.status).toBe("succeeded");
  const [latest] = await snapshots();
  const target = join(work, "restore-all");
  const r = await host.run({ kind: "restore", spec: { snapshot_id: latest?.short_id, target } });
  expect(r.error).toBeNull();
  for (const f of ["plain.txt", "weird[1].txt", "counter.txt", join("deep", "er", "random.bin")]) {
    expect(readFileSync(join(target, data, f)).equals(readFileSync(join(data, f)))).toBe(true);
  }
  const only = join(work, "restore-one");
  const one = await host.run({
    kind: "restore",
    spec: { snapshot_id: latest?.id, target: only, include: [join(data, "weird[1].txt")] },
  });
  expect(one.status).toBe("succeeded");
  expect(readFileSync(join(only, data, "weird[1].txt"), "utf8")).toBe("brackets\n");
  expect(() => readFileSync(join(only, data, "plain.txt"))).toThrow();
});

test("run-now and cancel: a queued job is cancelled at once, a running one through the agent", async () => {
  await freshRepo();
  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  const running = await host.runNow({ kind: "backup", spec: { paths: [big] } });
  const queued = await host.runNow({ kind: "check" });
  await events.until((e) => e.type === "job.progress" && e.job_id === running.id, from);
  // The check is accepted by the agent (queued behind the backup), so its cancel goes to the agent too.
  const c1 = await fleet.api<{ status: string }>(`/jobs/${queued.id}/cancel`, "POST");
  expect(c1.status).toBe(200);
  const c2 = await fleet.api<{ status: string }>(`/jobs/${running.id}/cancel`, "POST");
  expect(c2.status).toBe(200);
  expect((await host.finished(queued.id)).status).toBe("cancelled");
  expect((await host.finished(running.id)).status).toBe("cancelled");
  // Nothing is left locked: the next backup works.
  expect((await host.run({ kind: "backup", spec: { paths: [data] } })).status).toBe("succeeded");
});

test("the server stops and restarts mid-job: the job's terminal state still arrives", async () => {
  await freshRepo();
  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  const job = await host.runNow({ kind: "backup", spec: { paths: [big], tags: ["restart"] } });
  await events.until((e) => e.type === "job.progress" && e.job_id === job.id, from);
  host.events?.close();
  host.events = null;
  await fleet.restart();
  await host.watch();
  const done = await host.finished(job.id);
  expect(done.status).toBe("succeeded");
  expect(done.stats).not.toBeNull();
});
