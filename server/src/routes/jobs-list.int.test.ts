import { afterEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// GET /api/v1/jobs, fleet-wide (issue 17): filters by host, label, kind, status and time range,
// keyset pages that hold under inserts, and each item with its host's name, duration and data
// added. A real server on loopback, real SQLite, a real WebSocket agent to finish jobs.

let t: TestServer;
afterEach(async () => {
  await t.close();
});

type Item = {
  id: string;
  host_id: string;
  host_name: string;
  kind: string;
  status: string;
  created_at: string;
  duration_seconds: number | null;
  data_added: number | null;
};

const ids = (items: Item[]) => items.map((j) => j.id);
const list = async (q: string): Promise<{ items: Item[]; next_cursor: string | null }> => {
  const res = await t.json(`/api/v1/jobs?${q}`);
  expect(res.status).toBe(200);
  return res.body;
};
const run = async (hostId: string, kind: string): Promise<string> => {
  const body = kind === "backup" ? { kind, spec: { paths: ["/srv"] } } : { kind };
  const res = await t.json(`/api/v1/hosts/${hostId}/jobs`, { method: "POST", body });
  expect(res.status).toBe(201);
  t.clock.advance(1000);
  return res.body.id;
};

/** Two labelled hosts: web (connected, so its jobs can finish) and db (offline: jobs stay queued). */
async function fleet() {
  t = await startTestServer();
  const web = await t.enroll("web-01");
  const db = await t.enroll("db-01");
  await t.json(`/api/v1/hosts/${web.host_id}`, { method: "PATCH", body: { labels: { env: "prod", role: "web" } } });
  await t.json(`/api/v1/hosts/${db.host_id}`, { method: "PATCH", body: { labels: { env: "prod", role: "db" } } });
  const agent = await TestAgent.connect(t.url, web.agent_token);
  await agent.hello(3, { hostname: "web-01" });
  const finish = async (jobId: string, status: "succeeded" | "failed", stats?: Record<string, unknown>) => {
    const started = agent.send("job.started", { job_id: jobId, kind: "backup", started_at: "2026-12-01T10:00:00Z" });
    const finished = agent.send("job.finished", {
      job_id: jobId,
      status,
      exit_code: status === "succeeded" ? 0 : 1,
      finished_at: "2026-12-01T10:01:30Z",
      ...(stats ? { stats } : {}),
      ...(status === "failed" ? { error: "repository locked" } : {}),
    });
    await agent.acked(started, finished);
  };
  return { web: web.host_id, db: db.host_id, agent, finish };
}

test("each filter narrows the list: host, kind, status, label, time range; items carry name, duration and data added", async () => {
  const f = await fleet();
  const start = t.clock.now().toISOString();
  const b1 = await run(f.web, "backup");
  const c1 = await run(f.db, "check");
  const mid = t.clock.now().toISOString();
  const b2 = await run(f.web, "backup");
  const p1 = await run(f.db, "prune");
  await f.finish(b1, "succeeded", { data_added: 5_245_000, total_duration: 88.5, files_new: 3 });
  await f.finish(b2, "failed");

  expect(ids((await list("")).items)).toEqual([p1, b2, c1, b1]);
  expect(ids((await list(`host_id=${f.web}`)).items)).toEqual([b2, b1]);
  expect(ids((await list("kind=backup")).items)).toEqual([b2, b1]);
  expect(ids((await list("status=failed")).items)).toEqual([b2]);
  expect(ids((await list("status=queued")).items)).toEqual([p1, c1]);
  expect(ids((await list("kind=backup&status=succeeded")).items)).toEqual([b1]);
  expect(ids((await list("label=role=db")).items)).toEqual([p1, c1]);
  expect(ids((await list("label=env=prod&label=role=web")).items)).toEqual([b2, b1]);
  expect(ids((await list("label=env=prod&kind=check")).items)).toEqual([c1]);
  expect((await list("label=env=staging")).items).toEqual([]);
  expect(ids((await list(`since=${mid}`)).items)).toEqual([p1, b2]);
  expect(ids((await list(`until=${mid}`)).items)).toEqual([c1, b1]);
  expect(ids((await list(`since=${start}&until=${mid}&host_id=${f.db}`)).items)).toEqual([c1]);
  // A date alone is UTC midnight.
  const day = start.slice(0, 10);
  expect((await list(`since=${day}`)).items).toHaveLength(4);
  expect((await list(`until=${day}`)).items).toEqual([]);

  const byId = new Map((await list("")).items.map((j) => [j.id, j]));
  expect(byId.get(b1)).toMatchObject({ host_name: "web-01", status: "succeeded", data_added: 5_245_000 });
  // The job's own times (90 s), not restic's total_duration, which leaves out hooks.
  expect(byId.get(b1)?.duration_seconds).toBe(90);
  expect(byId.get(b2)).toMatchObject({ host_name: "web-01", status: "failed", data_added: null, duration_seconds: 90 });
  expect(byId.get(c1)).toMatchObject({
    host_name: "db-01",
    status: "queued",
    duration_seconds: null,
    data_added: null,
  });
  f.agent.close();
});

test("pages walk every job once, newest first, while new jobs are made between pages", async () => {
  const f = await fleet();
  const made: string[] = [];
  for (let i = 0; i < 7; i++) made.push(await run(i % 2 ? f.web : f.db, "check"));
  // Two jobs in the same millisecond: the id breaks the tie, across a page boundary too.
  made.push(
    (await t.json(`/api/v1/hosts/${f.db}/jobs`, { method: "POST", body: { kind: "check" } })).body.id,
    (await t.json(`/api/v1/hosts/${f.web}/jobs`, { method: "POST", body: { kind: "check" } })).body.id,
  );
  // Jobs made from here on are newer. (One made in the very millisecond of a page's last job, with a
  // lower id, would sort after it and show on the next page: once, still no duplicate nor gap.)
  t.clock.advance(1000);
  const before = [...(await list("limit=500")).items];
  expect(before).toHaveLength(9);
  const seen: Item[] = [];
  let cursor: string | null = null;
  let pages = 0;
  for (; pages < 10; pages++) {
    const page = await list(`limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    seen.push(...page.items);
    // New jobs arrive while the operator reads: they belong to the top, not to the next page.
    await run(f.web, "backup");
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  expect(pages).toBe(4);
  expect(ids(seen)).toEqual(ids(before));
  expect(new Set(ids(seen)).size).toBe(9);
  // The same with filters: a label and a range, paged by one.
  const until = t.clock.now().toISOString();
  const dbJobs: string[] = [];
  cursor = null;
  for (let n = 0; n < 10; n++) {
    const page = await list(`label=role=db&kind=check&until=${until}&limit=1${cursor ? `&cursor=${cursor}` : ""}`);
    dbJobs.push(...ids(page.items));
    await run(f.db, "check");
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  expect(dbJobs).toEqual(ids(before.filter((j) => j.host_id === f.db)));
  f.agent.close();
});

test("actor_kind narrows the list to who made the job: a user, a schedule's tick, the agent on its own", async () => {
  const f = await fleet();
  // A protocol 10 host with a schedule: one tick fired through the server, one the agent ran alone.
  const own = await t.enroll("app-01");
  const schedule = await t.json(`/api/v1/hosts/${own.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] },
  });
  const agent = await TestAgent.connect(t.url, own.agent_token);
  await agent.hello(10, { hostname: "app-01" });
  const hour = Math.floor(t.clock.now().getTime() / 3_600_000) * 3_600_000;
  const tick = (h: number) => new Date(hour - h * 3_600_000).toISOString();
  agent.send("schedule.fire", { schedule_id: schedule.body.id, scheduled_at: tick(0) });
  const fired = (await agent.next("command.run")).payload.job_id;
  const alone = "0193a0b0-7c00-7000-8000-0000000000a1";
  await agent.ranOnItsOwn({ jobId: alone, scheduleId: schedule.body.id, scheduledAt: tick(1) });
  const user = await run(f.web, "backup");

  expect(ids((await list("actor_kind=agent")).items)).toEqual([alone]);
  expect((await list("actor_kind=agent")).items[0]).toMatchObject({ actor_kind: "agent", host_name: "app-01" });
  expect(ids((await list("actor_kind=schedule")).items)).toEqual([fired]);
  expect(ids((await list("actor_kind=user")).items)).toEqual([user]);
  expect((await list("actor_kind=system")).items).toEqual([]);
  // With the others: a host's list, a kind, a label.
  expect(ids((await list(`actor_kind=agent&host_id=${own.host_id}`)).items)).toEqual([alone]);
  expect((await list(`actor_kind=agent&host_id=${f.web}`)).items).toEqual([]);
  expect(ids((await list("actor_kind=agent&kind=backup&status=succeeded")).items)).toEqual([alone]);
  expect((await list("actor_kind=agent&label=env=prod")).items).toEqual([]);
  agent.close();
  f.agent.close();
});

test("a bad filter answers 400 naming its field", async () => {
  await fleet();
  const bad = async (q: string, path: string) => {
    const res = await t.json(`/api/v1/jobs?${q}`);
    expect(res.status).toBe(400);
    expect(res.body.error.path).toBe(path);
    return res.body.error.message as string;
  };
  expect(await bad("label=env", "label")).toContain("not key=value");
  expect(await bad("label=Env=prod", "label")).toContain("label");
  expect(await bad("label=env=prod&label=env=dev", "label")).toContain("twice");
  expect(await bad("since=yesterday", "since")).toContain("ISO time");
  expect(await bad("until=2026-13-45T00:00:00Z", "until")).toContain("ISO time");
  expect(await bad("since=2026-12-01T08:00", "since")).toContain("offset");
  expect(await bad("since=2026-12-02&until=2026-12-01", "until")).toContain("later than since");
  expect(await bad("kind=backups", "kind")).toBeTruthy();
  expect(await bad("status=done", "status")).toBeTruthy();
  expect(await bad("actor_kind=robot", "actor_kind")).toContain("user, schedule, system, agent");
  expect(await bad("cursor=nope", "cursor")).toContain("next_cursor");
});
