import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { TestHost } from "./host.ts";

// The compiled agent and the real server, running every job kind through the API.
let fleet: Fleet;
let host: TestHost;
let work: string;
let data: string;

beforeAll(async () => {
  work = tempDir("rf-e2e-jobs-");
  fleet = await startFleet();
  host = new TestHost(fleet, work);
  await host.watch();
  await host.enroll();
  await host.start();
  data = join(work, "data");
  mkdirSync(join(data, "deep", "er"), { recursive: true });
  writeFileSync(join(data, "plain.txt"), "plain text\n");
  writeFileSync(join(data, "weird[1].txt"), "brackets\n");
  writeFileSync(join(data, "deep", "er", "random.bin"), randomBytes(300_000));
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
});

afterAll(async () => {
  await host.stop();
  host.events?.close();
  await fleet.close();
  rmSync(work, { recursive: true, force: true });
});

type Snap = { id: string; short_id: string };
const snapshots = async () => (await fleet.api<{ items: Snap[] }>(`/hosts/${host.hostId}/snapshots`)).body.items;

test("backups, then forget with a retention policy removes the older snapshots", async () => {
  for (let i = 0; i < 3; i++) {
    writeFileSync(join(data, "counter.txt"), `run ${i}\n`);
    const b = await host.run({ kind: "backup", spec: { paths: [data], tags: ["e2e"] } }, "snapshots.updated");
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
  const big = join(work, "big");
  mkdirSync(big, { recursive: true });
  for (let i = 0; i < 10; i++) writeFileSync(join(big, `f${i}.bin`), randomBytes(20 * 1024 * 1024));
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
  const big = join(work, "big");
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
