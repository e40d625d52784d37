import { afterAll, beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { blankSchedule, queuedJob } from "../domain/blank-rows.ts";
import { startTestServer, type TestServer } from "../testing/harness.ts";

// GET /hosts paged, sorted and filtered in SQL (DESIGN §8.8) on the real server: every page walked
// through next_cursor must give the hosts the domain's own unpaged views give (the JS rule of
// backup health), filtered and ordered the same, none twice and none missing; /summary must count
// what those views count. The facts come from real rows: schedules, and backups finished through
// the store, so the triggers keep the summary columns.

type View = {
  id: string;
  name: string;
  online: boolean;
  labels: Record<string, string>;
  backup_health: string;
  last_seen_at: string | null;
  last_backup: { finished_at: string | null } | null;
  last_drill_result: string | null;
};
const HEALTH_ORDER = ["failed", "stale", "warning", "pending", "ok", "unscheduled"];

let t: TestServer;
const clock = new ManualClock("2026-12-03T12:00:00.000Z");
const N = 230;

beforeAll(async () => {
  t = await startTestServer({ clock });
  const s = t.server.store;
  const at = (minutesAgo: number) => new Date(clock.now().getTime() - minutesAgo * 60_000).toISOString();
  // Names out of insertion order, some sharing a name (the id breaks the tie).
  for (let i = 0; i < N; i++) {
    const id = `h${String((i * 7919) % 1000).padStart(4, "0")}`;
    const labels: Record<string, string> = { env: i % 3 === 0 ? "prod" : "staging", role: i % 2 ? "db" : "web" };
    if (i % 5 === 0) labels.site = `fra-${i % 4}`;
    s.insertHost({
      id,
      name: i % 17 === 0 ? "Shared Name" : `host-${String(N - i).padStart(3, "0")}`,
      hostname: id,
      restic_host: id,
      agent_token_hash: `t-${id}`,
      enrolled_at: at(600 + i),
      labels,
    });
    if (i % 4 !== 3) {
      s.insertSchedule(
        blankSchedule({
          id: `s-${id}`,
          host_id: id,
          kind: "backup",
          cron_expr: i % 2 ? "0 * * * *" : "0 3 * * *",
          created_at: at(700),
        }),
      );
    }
    if (i % 3 !== 2) {
      const job = `j-${id}`;
      s.insertJob(queuedJob({ id: job, host_id: id, kind: "backup", actor_kind: "schedule", created_at: at(i * 3) }));
      s.markRunning(job, at(i * 3));
      const failed = i % 11 === 0;
      s.finishJob(job, {
        status: failed ? "failed" : "succeeded",
        exit_code: failed ? 1 : i % 13 === 0 ? 3 : 0,
        finished_at: at(i * 3 - 1),
        error: failed ? "boom" : i % 13 === 0 ? "some files could not be read" : null,
      });
    }
    if (i % 6 === 0) s.touchHost(id, at(i));
    // Restore drills, passed and failed, through the jobs' triggers (the drill filter's facts).
    if (i % 7 === 0) {
      const drill = `d-${id}`;
      s.insertJob(queuedJob({ id: drill, host_id: id, kind: "drill", actor_kind: "schedule", created_at: at(i) }));
      s.markRunning(drill, at(i));
      s.finishJob(drill, {
        status: i % 14 === 0 ? "failed" : "succeeded",
        exit_code: i % 14 === 0 ? 1 : 0,
        finished_at: at(i),
        error: i % 14 === 0 ? "sampled file differs" : null,
      });
    }
  }
});
afterAll(async () => {
  await t.close();
});

/** The domain's own views of every host (no paging, health by backupHealth in JS). */
const oracle = () => t.server.domain.hosts.list() as unknown as View[];

async function walk(query: string, limit: number): Promise<View[]> {
  const out: View[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const sep = query ? "&" : "";
    const res: { status: number; body: { items: View[]; next_cursor: string | null } } = await t.json(
      `/api/v1/hosts?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    out.push(...res.body.items);
    cursor = res.body.next_cursor;
    if (cursor === null) return out;
  }
  throw new Error("next_cursor never ended");
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const ORDERS: Record<string, (a: View, b: View) => number> = {
  name: (a, b) => cmp(a.name, b.name) || cmp(a.id, b.id),
  health: (a, b) =>
    HEALTH_ORDER.indexOf(a.backup_health) - HEALTH_ORDER.indexOf(b.backup_health) ||
    cmp(a.name, b.name) ||
    cmp(a.id, b.id),
  last_backup: (a, b) => cmp(b.last_backup?.finished_at ?? "", a.last_backup?.finished_at ?? "") || cmp(b.id, a.id),
  last_seen: (a, b) => cmp(b.last_seen_at ?? "", a.last_seen_at ?? "") || cmp(b.id, a.id),
};

const FILTERS: Array<[string, (h: View) => boolean]> = [
  ["", () => true],
  ["label=env=prod", (h) => h.labels.env === "prod"],
  ["label=env=prod&label=role=db", (h) => h.labels.env === "prod" && h.labels.role === "db"],
  ["label=site=fra-0", (h) => h.labels.site === "fra-0"],
  ["health=stale", (h) => h.backup_health === "stale"],
  ["health=failed,warning", (h) => h.backup_health === "failed" || h.backup_health === "warning"],
  ["online=true", (h) => h.online],
  ["online=false&label=role=web", (h) => !h.online && h.labels.role === "web"],
  ["q=HOST-1", (h) => h.name.toLowerCase().includes("host-1")],
  ["q=shared%20name&health=ok", (h) => h.name === "Shared Name" && h.backup_health === "ok"],
  ["q=100%25", () => false],
  ["without_label=site", (h) => !Object.hasOwn(h.labels, "site")],
  ["without_label=site&label=role=db", (h) => !Object.hasOwn(h.labels, "site") && h.labels.role === "db"],
  ["drill=failed", (h) => h.last_drill_result === "failed"],
  ["drill=never&online=false", (h) => h.last_drill_result === null && !h.online],
];

test("every sort and filter, walked page by page, gives the domain's views in order, each once", async () => {
  const all = oracle();
  expect(all).toHaveLength(N);
  // The fixture covers every state, so the filters are not vacuous.
  expect(new Set(all.map((h) => h.backup_health))).toEqual(new Set(HEALTH_ORDER));
  for (const [sort, order] of Object.entries(ORDERS)) {
    for (const [query, keep] of FILTERS) {
      const want = all.filter(keep).sort(order);
      const got = await walk([query, `sort=${sort}`].filter(Boolean).join("&"), 7);
      expect({ sort, query, ids: got.map((h) => h.id) }).toEqual({ sort, query, ids: want.map((h) => h.id) });
      expect(got).toEqual(want);
    }
  }
});

test("the default is sorted by name, 100 to a page; the last page says so with next_cursor null", async () => {
  const first = await t.json("/api/v1/hosts");
  expect(first.body.items).toHaveLength(100);
  expect(first.body.items.map((h: View) => h.id)).toEqual(
    oracle()
      .sort(ORDERS.name)
      .slice(0, 100)
      .map((h) => h.id),
  );
  const all = await t.json("/api/v1/hosts?limit=500");
  expect(all.body.items).toHaveLength(N);
  expect(all.body.next_cursor).toBeNull();
});

test("/summary counts what the views count, per health state, presence and label value", async () => {
  const summaryFilters = [
    FILTERS[0],
    FILTERS[1],
    FILTERS[2],
    ...FILTERS.filter(([q]) => q.startsWith("without_label")),
  ];
  for (const [query, keep] of summaryFilters as Array<[string, (h: View) => boolean]>) {
    const hosts = oracle().filter(keep);
    const health = Object.fromEntries(HEALTH_ORDER.map((s) => [s, hosts.filter((h) => h.backup_health === s).length]));
    const labels: Record<string, Record<string, number>> = {};
    for (const h of hosts) {
      for (const [k, v] of Object.entries(h.labels)) {
        labels[k] ??= {};
        const values = labels[k] as Record<string, number>;
        values[v] = (values[v] ?? 0) + 1;
      }
    }
    const online = hosts.filter((h) => h.online).length;
    const res = await t.json(`/api/v1/hosts/summary${query ? `?${query}` : ""}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ total: hosts.length, online, offline: hosts.length - online, health, labels });
  }
});

test("time moves health: hosts whose backups are due turn stale in the filter and the counters", async () => {
  const before = (await t.json("/api/v1/hosts/summary")).body.health;
  clock.advance(3 * 86_400_000);
  const after = (await t.json("/api/v1/hosts/summary")).body.health;
  const all = oracle();
  expect(after.stale).toBe(all.filter((h) => h.backup_health === "stale").length);
  expect(after.stale).toBeGreaterThan(before.stale);
  const stale = await walk("health=stale", 50);
  expect(stale.map((h) => h.id).sort()).toEqual(
    all
      .filter((h) => h.backup_health === "stale")
      .map((h) => h.id)
      .sort(),
  );
  clock.advance(-3 * 86_400_000);
});

test("a label change, a new schedule and a revoked host show in the next page and count", async () => {
  const [target] = await walk("label=site=fra-0", 500);
  if (!target) throw new Error("fixture has no site=fra-0 host");
  const patched = await t.json(`/api/v1/hosts/${target.id}`, { method: "PATCH", body: { labels: { site: "ams-9" } } });
  expect(patched.status).toBe(200);
  expect((await walk("label=site=ams-9", 50)).map((h) => h.id)).toEqual([target.id]);
  expect((await walk("label=site=fra-0", 500)).map((h) => h.id)).not.toContain(target.id);
  expect((await t.json("/api/v1/hosts/summary")).body.labels.site["ams-9"]).toBe(1);
  // An unscheduled host gets a schedule through the API: its interval reaches the SQL at once.
  const [idle] = await walk("health=unscheduled", 1);
  if (!idle) throw new Error("fixture has no unscheduled host");
  const made = await t.json(`/api/v1/hosts/${idle.id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "*/5 * * * *", paths: ["/srv"] },
  });
  expect(made.status).toBe(201);
  const now = (await t.json(`/api/v1/hosts/${idle.id}`)).body.backup_health;
  expect(now).not.toBe("unscheduled");
  expect((await walk(`health=${now}`, 500)).map((h) => h.id)).toContain(idle.id);
  // Revoked: gone from the list and from every count.
  const total = (await t.json("/api/v1/hosts/summary")).body.total;
  expect((await t.json(`/api/v1/hosts/${target.id}`, { method: "DELETE" })).status).toBe(204);
  const summary = (await t.json("/api/v1/hosts/summary")).body;
  expect(summary.total).toBe(total - 1);
  expect(summary.labels.site["ams-9"]).toBeUndefined();
  expect((await walk("", 500)).map((h) => h.id)).not.toContain(target.id);
});

test("a bad query is a 400 that names the parameter and what it takes", async () => {
  const bad = async (q: string) => (await t.json(`/api/v1/hosts?${q}`)).body;
  for (const [q, field] of [
    ["limit=0", "limit"],
    ["limit=501", "limit"],
    ["limit=ten", "limit"],
    ["sort=size", "sort"],
    ["health=fine", "health"],
    ["online=yes", "online"],
    ["cursor=nonsense", "cursor"],
    ["label=env", "label"],
    ["without_label=Site", "without_label"],
    ["drill=maybe", "drill"],
  ]) {
    const res = await t.json(`/api/v1/hosts?${q}`);
    expect({ q, status: res.status }).toEqual({ q, status: 400 });
    expect(JSON.stringify(res.body)).toContain(field as string);
  }
  const page = await t.json("/api/v1/hosts?limit=2&sort=health");
  expect(JSON.stringify(await bad(`sort=name&cursor=${page.body.next_cursor}`))).toContain("sort=health");
});
