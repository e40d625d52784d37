import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import type { AlertRow } from "../domain/alert-rows.ts";
import { startTestServer, type TestServer } from "../testing/harness.ts";

// GET /alerts keyset-paged (issue 20 item 7) on the real server: every page walked through
// next_cursor gives the alerts a JS filter and sort of the stored rows gives, none twice and none
// missing, with each filter (state, host, condition, labels) and while new alerts fire between
// pages; each item carries its host's name and labels and whether a mute covers it. Bad paging
// input is a 400 naming the parameter. Alerts are written through the server's own store: the
// lifecycle that makes them has its own tests (alerts.int.test.ts).

type Item = {
  id: string;
  host_id: string;
  host_name: string;
  labels: Record<string, string>;
  condition: string;
  state: string;
  started_at: string;
  muted: boolean;
};

let t: TestServer;
const clock = new ManualClock("2026-12-03T12:00:00.000Z");
const HOSTS = 40;
const CONDITIONS = ["backup_failed", "backup_stale", "host_offline", "check_failed"] as const;
const rows: AlertRow[] = [];
const labelsOf = new Map<string, Record<string, string>>();

beforeAll(async () => {
  t = await startTestServer({ clock });
  const s = t.server.store;
  s.tx(() => {
    for (let i = 0; i < HOSTS; i++) {
      const id = `h${String(i).padStart(3, "0")}`;
      const labels = { env: i % 4 === 0 ? "dev" : "prod", role: i % 3 ? "db" : "web" };
      labelsOf.set(id, labels);
      s.insertHost({
        id,
        name: `host-${i}`,
        hostname: id,
        restic_host: id,
        agent_token_hash: `t-${id}`,
        enrolled_at: "2026-11-01T00:00:00.000Z",
        labels,
      });
    }
    const firing = new Set<string>();
    for (let n = 0; n < 330; n++) {
      const host_id = `h${String((n * 13) % HOSTS).padStart(3, "0")}`;
      const condition = CONDITIONS[n % CONDITIONS.length] ?? "backup_failed";
      const isFiring = n % 3 === 0 && !firing.has(`${host_id}/${condition}`);
      if (isFiring) firing.add(`${host_id}/${condition}`);
      // Two alerts a minute: the id breaks the tie, across page boundaries too.
      const started_at = new Date(Date.UTC(2026, 10, 20) + Math.floor(n / 2) * 60_000).toISOString();
      const a: AlertRow = {
        id: `alert_${String((n * 37) % 330).padStart(4, "0")}`,
        host_id,
        condition,
        state: isFiring ? "firing" : "resolved",
        started_at,
        resolved_at: isFiring ? null : started_at,
        summary: `summary ${n}`,
        notified_at: null,
        resolve_notified_at: null,
      };
      s.insertAlert(a);
      rows.push(a);
    }
  });
});
afterAll(async () => {
  await t.close();
});

const page = async (q: string): Promise<{ items: Item[]; next_cursor: string | null }> => {
  const res = await t.json(`/api/v1/alerts?${q}`);
  expect(res.status).toBe(200);
  return res.body;
};

/** Every page of `query` through next_cursor; `between` runs after each page. */
async function walk(query: string, limit: number, between?: () => void): Promise<Item[]> {
  const out: Item[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 500; pages++) {
    const p = await page(
      [query, `limit=${limit}`, cursor ? `cursor=${encodeURIComponent(cursor)}` : ""].filter(Boolean).join("&"),
    );
    expect(p.items.length).toBeLessThanOrEqual(limit);
    out.push(...p.items);
    between?.();
    if (!p.next_cursor) return out;
    expect(p.items).toHaveLength(limit);
    cursor = p.next_cursor;
  }
  throw new Error("the pages never ended");
}

const oracle = (f: { state?: string; host_id?: string; condition?: string; labels?: Record<string, string> }) =>
  rows
    .filter(
      (a) =>
        (f.state === undefined || a.state === f.state) &&
        (f.host_id === undefined || a.host_id === f.host_id) &&
        (f.condition === undefined || a.condition === f.condition) &&
        Object.entries(f.labels ?? {}).every(([k, v]) => labelsOf.get(a.host_id)?.[k] === v),
    )
    .sort((a, b) => b.started_at.localeCompare(a.started_at) || b.id.localeCompare(a.id))
    .map((a) => a.id);

const cases: Array<[string, Parameters<typeof oracle>[0]]> = [
  ["", {}],
  ["state=firing", { state: "firing" }],
  ["state=resolved", { state: "resolved" }],
  ["condition=host_offline", { condition: "host_offline" }],
  ["state=resolved&condition=backup_failed", { state: "resolved", condition: "backup_failed" }],
  ["host_id=h007", { host_id: "h007" }],
  ["host_id=h007&state=firing", { host_id: "h007", state: "firing" }],
  ["label=env=dev", { labels: { env: "dev" } }],
  ["label=env=prod&label=role=web&state=resolved", { labels: { env: "prod", role: "web" }, state: "resolved" }],
  ["label=role=db&condition=check_failed", { labels: { role: "db" }, condition: "check_failed" }],
];

test("pages through next_cursor give each alert once, newest first, under every filter", async () => {
  for (const [query, f] of cases) {
    const want = oracle(f);
    expect(want.length).toBeGreaterThan(0);
    for (const limit of [1, 17, 100]) {
      if (limit === 1 && want.length > 60) continue; // one-item pages only where they stay few
      const got = await walk(query, limit);
      expect({ query, limit, ids: got.map((a) => a.id) }).toEqual({ query, limit, ids: want });
    }
  }
  // No limit: the default page of 100, with a cursor to the rest.
  const first = await page("");
  expect(first.items).toHaveLength(100);
  expect(first.next_cursor).not.toBeNull();
  expect((await page("label=env=staging")).items).toEqual([]);
});

test("each item has its host's name and labels, its state, and whether a mute covers it", async () => {
  const mute = await t.json("/api/v1/mutes", {
    method: "POST",
    body: { selector: { labels: { env: "dev" } }, until: "3h", reason: "rack move" },
  });
  expect(mute.status).toBe(201);
  const items = await walk("", 100);
  expect(items).toHaveLength(rows.length);
  const byId = new Map(rows.map((a) => [a.id, a]));
  for (const item of items) {
    const a = byId.get(item.id);
    const host = Number(item.host_id.slice(1));
    expect(item).toMatchObject({
      host_id: a?.host_id,
      host_name: `host-${host}`,
      labels: labelsOf.get(item.host_id),
      condition: a?.condition,
      state: a?.state,
      started_at: a?.started_at,
      muted: labelsOf.get(item.host_id)?.env === "dev",
    });
  }
  await t.json(`/api/v1/mutes/${mute.body.id}`, { method: "DELETE" });
});

test("alerts that fire while a client pages on go to the top, never into the next pages", async () => {
  const before = oracle({});
  let n = 0;
  const got = await walk("", 40, () => {
    n += 1;
    t.server.store.insertAlert({
      id: `alert_new_${n}`,
      host_id: "h001",
      condition: "backup_warning",
      state: "resolved",
      started_at: new Date(clock.now().getTime() + n * 1000).toISOString(),
      resolved_at: null,
      summary: "new",
      notified_at: null,
      resolve_notified_at: null,
    });
  });
  expect(got.map((a) => a.id)).toEqual(before);
  expect((await page("limit=1")).items[0]?.id).toBe(`alert_new_${n}`);
});

test("bad paging input answers 400 naming the parameter", async () => {
  const bad = async (q: string, path: string) => {
    const res = await t.json(`/api/v1/alerts?${q}`);
    expect(res.status).toBe(400);
    expect(res.body.error.path).toBe(path);
    return res.body.error.message as string;
  };
  expect(await bad("cursor=nope", "cursor")).toContain("next_cursor");
  expect(await bad(`cursor=${Buffer.from('{"a":1}').toString("base64url")}`, "cursor")).toContain("next_cursor");
  expect(await bad("limit=0", "limit")).toContain("1-1000");
  expect(await bad("limit=1001", "limit")).toContain("1-1000");
  expect(await bad("limit=ten", "limit")).toContain("1-1000");
  expect(await bad("state=open", "state")).toBeTruthy();
  expect(await bad("condition=disk_full", "condition")).toBeTruthy();
  expect(await bad("label=env", "label")).toContain("key=value");
});
