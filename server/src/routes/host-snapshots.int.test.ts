import { afterAll, beforeAll, expect, test } from "bun:test";
import type { StoredSnapshot } from "../domain/types.ts";
import { startTestServer, type TestServer } from "../testing/harness.ts";

// GET /hosts/:id/snapshots keyset-paged (issue 20 item 7) on the real server: a host with 1,500
// snapshots is walked through next_cursor, each snapshot once, newest first (the id breaks equal
// times), every field as stored; a report between pages (a new snapshot, a forget) shifts none of
// the pages; bad paging input is a 400 naming the parameter. The list is stored through the
// server's own store, as a report from the agent stores it (gateway tests cover the report).

type Snap = Omit<StoredSnapshot, "host_id">;
let t: TestServer;
let hostId: string;
let other: string;
const snap = (n: number): Snap => {
  const id = `${n.toString(16).padStart(6, "0")}`.repeat(10).slice(0, 64).padEnd(64, "f");
  return {
    id,
    short_id: id.slice(0, 8),
    // Two snapshots a minute, inserted in a scrambled order.
    time: new Date(Date.UTC(2026, 5, 1) + Math.floor(((n * 7919) % 1500) / 2) * 60_000).toISOString(),
    hostname: "db-01",
    paths: ["/var/lib/postgresql"],
    tags: n % 3 ? ["daily"] : [],
    size_bytes: n % 5 ? 1000 + n : null,
    file_count: n % 5 ? n : null,
  };
};
const mine = Array.from({ length: 1500 }, (_, n) => snap(n));
const newestFirst = (list: Snap[]) =>
  [...list].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));

beforeAll(async () => {
  t = await startTestServer();
  hostId = (await t.enroll("db-01")).host_id;
  other = (await t.enroll("web-01")).host_id;
  t.server.store.tx(() => {
    t.server.store.replaceSnapshots(hostId, mine);
    t.server.store.replaceSnapshots(other, [snap(5000)]);
  });
});
afterAll(async () => {
  await t.close();
});

const page = async (id: string, q: string): Promise<{ items: StoredSnapshot[]; next_cursor: string | null }> => {
  const res = await t.json(`/api/v1/hosts/${id}/snapshots${q ? `?${q}` : ""}`);
  expect(res.status).toBe(200);
  return res.body;
};
async function walk(limit: number | null, between?: () => void): Promise<StoredSnapshot[]> {
  const out: StoredSnapshot[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 2000; pages++) {
    const q = [limit ? `limit=${limit}` : "", cursor ? `cursor=${encodeURIComponent(cursor)}` : ""];
    const p = await page(hostId, q.filter(Boolean).join("&"));
    out.push(...p.items);
    between?.();
    if (!p.next_cursor) return out;
    expect(p.items).toHaveLength(limit ?? 100);
    cursor = p.next_cursor;
  }
  throw new Error("the pages never ended");
}

test("pages through next_cursor give each snapshot once, newest first, every field as stored", async () => {
  const want = newestFirst(mine).map((s) => ({ host_id: hostId, ...s }));
  for (const limit of [null, 7, 500]) expect(await walk(limit)).toEqual(want);
  // No limit: 100 a page.
  expect((await page(hostId, "")).items).toHaveLength(100);
  // Another host's list is its own.
  expect((await page(other, "")).items.map((s) => s.id)).toEqual([snap(5000).id]);
});

test("a report between pages (a new snapshot, older ones forgotten) shifts no page", async () => {
  const sorted = newestFirst(mine);
  let reports = 0;
  const got = await walk(250, () => {
    reports += 1;
    // The agent's next report: a snapshot newer than all, and the oldest one forgotten.
    const newest = { ...snap(9000 + reports), time: "2026-12-31T00:00:00.000Z" };
    const list = [...sorted.slice(0, sorted.length - reports), newest];
    t.server.store.tx(() => t.server.store.replaceSnapshots(hostId, list));
  });
  // Pages after each report: what was older than the cursor, minus what was forgotten meanwhile.
  const ids = got.map((s) => s.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(sorted.slice(0, ids.length).map((s) => s.id));
  expect(ids.length).toBe(sorted.length - (reports - 1));
  t.server.store.tx(() => t.server.store.replaceSnapshots(hostId, mine));
});

test("bad paging input answers 400 naming the parameter; an unknown host 404", async () => {
  const bad = async (q: string, path: string) => {
    const res = await t.json(`/api/v1/hosts/${hostId}/snapshots?${q}`);
    expect(res.status).toBe(400);
    expect(res.body.error.path).toBe(path);
    return res.body.error.message as string;
  };
  expect(await bad("cursor=nope", "cursor")).toContain("next_cursor");
  expect(await bad("limit=0", "limit")).toContain("1-500");
  expect(await bad("limit=501", "limit")).toContain("1-500");
  expect(await bad("limit=all", "limit")).toContain("1-500");
  expect((await t.json("/api/v1/hosts/nope/snapshots")).status).toBe(404);
});
