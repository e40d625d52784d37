import { afterEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Every page has a byte budget (issue 13: one GET /jobs/:id/logs?limit=5000 answered 295 MB).
// A page stops adding items before its JSON would pass the budget and gives next_cursor; the
// client reads on from there. A 256 KiB budget keeps the test small.
const BUDGET = 256 * 1024;

let t: TestServer;
afterEach(async () => {
  await t.close();
});

async function setUp() {
  t = await startTestServer({ settings: { pageBytes: BUDGET } });
  const host = await t.enroll();
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello();
  return { host, agent };
}

/** Reads every page of a list, checking each against the budget; the items in order. */
async function readAll(path: (cursor: string | null) => string) {
  const items: Array<Record<string, unknown>> = [];
  let cursor: string | null = null;
  let pages = 0;
  for (;;) {
    const res = await t.api(path(cursor));
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(BUDGET);
    const body = JSON.parse(text);
    items.push(...body.items);
    pages++;
    if (!body.next_cursor) return { items, pages };
    cursor = body.next_cursor;
  }
}

test("a log page stops at the byte budget and pages on: every line once, each page under budget", async () => {
  const { host, agent } = await setUp();
  const job = await t.json(`/api/v1/hosts/${host.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
  // 60 lines of 20 KB (1.2 MB), in frames of 10.
  const ids: string[] = [];
  for (let f = 0; f < 6; f++) {
    const lines = Array.from({ length: 10 }, (_, i) => ({
      job_id: job.body.id,
      seq: f * 10 + i + 1,
      ts: "2026-12-01T12:00:00Z",
      stream: "stdout" as const,
      payload: `line ${f * 10 + i + 1} `.padEnd(20_000, "y"),
    }));
    ids.push(agent.send("job.log", { lines }));
  }
  await agent.acked(...ids);
  const { items, pages } = await readAll(
    (cursor) => `/api/v1/jobs/${job.body.id}/logs?limit=5000${cursor ? `&after_seq=${cursor}` : ""}`,
  );
  expect(items.map((l) => l.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  expect(pages).toBeGreaterThanOrEqual(5);
  // The count limit still holds, and a page that holds everything left says so.
  const two = await t.json(`/api/v1/jobs/${job.body.id}/logs?limit=2`);
  expect(two.body.items.map((l: { seq: number }) => l.seq)).toEqual([1, 2]);
  expect(two.body.next_cursor).toBe("2");
  const last = await t.json(`/api/v1/jobs/${job.body.id}/logs?after_seq=59&limit=2`);
  expect(last.body).toMatchObject({ items: [{ seq: 60 }], next_cursor: null });
  agent.close();
});

test("a job list page stops at the byte budget: jobs with large stats page through once each", async () => {
  const { host, agent } = await setUp();
  const made: string[] = [];
  for (let i = 0; i < 12; i++) {
    const job = await t.json(`/api/v1/hosts/${host.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
    made.push(job.body.id);
    // An agent may report up to a frame's worth of stats: 60 KB each here.
    await agent.acked(
      agent.send("job.finished", {
        job_id: job.body.id,
        status: "succeeded",
        exit_code: 0,
        finished_at: "2026-12-01T12:00:00Z",
        stats: { note: "z".repeat(60_000) },
      }),
    );
    t.clock.advance(1000);
  }
  const { items, pages } = await readAll((cursor) => `/api/v1/jobs?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
  expect(items.map((j) => j.id)).toEqual([...made].reverse());
  expect(pages).toBeGreaterThanOrEqual(3);
  agent.close();
});

test("an audit log page stops at the byte budget", async () => {
  const { host } = await setUp();
  // Each schedule's audit entry names its 16 KiB hook commands: 32 KB.
  for (let i = 0; i < 12; i++) {
    const res = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
      method: "POST",
      body: {
        kind: "backup",
        cron_expr: "0 2 * * *",
        paths: ["/srv"],
        pre_hook: `echo ${i} `.padEnd(16 * 1024, "a"),
        post_hook: `echo ${i} `.padEnd(16 * 1024, "b"),
      },
    });
    expect(res.status).toBe(201);
  }
  const { items, pages } = await readAll((cursor) => `/api/v1/audit-log?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
  const seqs = items.map((e) => e.seq as number);
  expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(items.filter((e) => e.action === "schedule.create")).toHaveLength(12);
  expect(pages).toBeGreaterThanOrEqual(2);
});
