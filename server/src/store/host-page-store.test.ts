import { expect, test } from "bun:test";
import { openDatabase } from "./db.ts";
import { createStore } from "./store.ts";

// A page under a label on more hosts than SORT_LABEL_HOSTS checks the label host by host while it
// walks the sort's index; under a rare one it reads and sorts that label's hosts. Both must give the
// same pages as filtering every host in JS, alone and combined, in every index-ordered sort.
test("pages under common and rare labels, alone and together, are the hosts that carry them, in order", () => {
  const store = createStore(openDatabase(":memory:"));
  const hosts: Array<{ id: string; name: string; labels: Record<string, string>; seen: string | null }> = [];
  store.tx(() => {
    for (let i = 0; i < 2600; i++) {
      const labels: Record<string, string> = {};
      if (i % 6 !== 0) labels.common = "yes";
      if (i % 53 === 0) labels.rare = "yes";
      const h = {
        id: `h${i}`,
        name: `n${(i * 7919) % 2600}`,
        labels,
        seen: i % 3 ? `2026-12-0${1 + (i % 3)}T00:00:00.000Z` : null,
      };
      store.insertHost({
        ...h,
        hostname: h.id,
        restic_host: h.id,
        agent_token_hash: `t${i}`,
        enrolled_at: "2026-12-01T00:00:00Z",
      });
      if (h.seen) store.touchHost(h.id, h.seen);
      hosts.push(h);
    }
  });
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const orders = {
    name: (a: (typeof hosts)[number], b: (typeof hosts)[number]) => cmp(a.name, b.name) || cmp(a.id, b.id),
    last_seen: (a: (typeof hosts)[number], b: (typeof hosts)[number]) =>
      cmp(b.seen ?? "", a.seen ?? "") || cmp(b.id, a.id),
  };
  const filters: Array<Record<string, string>> = [{ common: "yes" }, { rare: "yes" }, { common: "yes", rare: "yes" }];
  for (const labels of filters) {
    for (const [sort, order] of Object.entries(orders) as Array<
      ["name" | "last_seen", (a: (typeof hosts)[number], b: (typeof hosts)[number]) => number]
    >) {
      const want = hosts.filter((h) => Object.entries(labels).every(([k, v]) => h.labels[k] === v)).sort(order);
      const got: string[] = [];
      let after: Array<string | number> | undefined;
      for (;;) {
        const rows = store.hostPage({ labels, sort, after, limit: 97, nowMs: Date.parse("2026-12-03T00:00:00Z") });
        got.push(...rows.map((r) => r.host.id));
        if (rows.length < 97) break;
        after = rows.at(-1)?.keys;
      }
      expect({ labels, sort, got }).toEqual({ labels, sort, got: want.map((h) => h.id) });
    }
  }
  expect(hosts.filter((h) => h.labels.common).length).toBeGreaterThan(2000);
});

// host_label_counts is kept by triggers: through inserts, label changes and deletes it must equal
// counting host_labels, and the summary must read it.
test("the label counts follow hosts as they are added, relabelled and deleted", () => {
  const db = openDatabase(":memory:");
  const store = createStore(db);
  const add = (i: number, labels: Record<string, string>) =>
    store.insertHost({
      id: `h${i}`,
      name: `n${i}`,
      hostname: "x",
      restic_host: "x",
      agent_token_hash: `t${i}`,
      enrolled_at: "2026-12-01T00:00:00Z",
      labels,
    });
  const counted = () =>
    db.query("SELECT key, value, count(*) AS n FROM host_labels GROUP BY key, value ORDER BY key, value").all();
  const nowMs = Date.parse("2026-12-03T00:00:00Z");
  for (let i = 0; i < 30; i++) add(i, { env: i % 2 ? "prod" : "dev", ...(i % 5 === 0 ? { site: "a" } : {}) });
  expect(store.hostCounts({ nowMs }).labels).toEqual(counted() as never);
  for (let i = 0; i < 10; i++) store.setHostLabels(`h${i}`, { env: "staging" });
  expect(store.hostCounts({ nowMs }).labels).toEqual(counted() as never);
  db.run("DELETE FROM hosts WHERE id IN ('h10', 'h15', 'h20', 'h25')");
  const labels = store.hostCounts({ nowMs }).labels;
  expect(labels).toEqual(counted() as never);
  expect(labels.find((l) => l.key === "site")).toBeUndefined();
  expect(labels.find((l) => l.key === "env" && l.value === "staging")?.n).toBe(10);
});

// The write-back of intervals from the map the last call wrote touches only the hosts whose
// interval changed, and ends with the same rows as a full comparison.
test("expected intervals are written from the previous map as they would be from the rows", () => {
  const db = openDatabase(":memory:");
  const store = createStore(db);
  for (let i = 0; i < 5; i++)
    store.insertHost({
      id: `h${i}`,
      name: `n${i}`,
      hostname: "x",
      restic_host: "x",
      agent_token_hash: `t${i}`,
      enrolled_at: "2026-12-01T00:00:00Z",
    });
  const first = new Map([
    ["h0", 3600],
    ["h1", 86400],
  ]);
  expect(store.syncExpectedIntervals(first)).toBe(2);
  const second = new Map([
    ["h1", 3600],
    ["h2", 60],
  ]);
  expect(store.syncExpectedIntervals(second, first)).toBe(3);
  expect(db.query("SELECT id, expected_interval_s AS s FROM hosts ORDER BY id").all()).toEqual([
    { id: "h0", s: null },
    { id: "h1", s: 3600 },
    { id: "h2", s: 60 },
    { id: "h3", s: null },
    { id: "h4", s: null },
  ]);
  expect(store.syncExpectedIntervals(second, second)).toBe(0);
  expect(store.syncExpectedIntervals(second)).toBe(0);
});

// More stale hosts than STALE_SORT_HOSTS: the stale page walks each state's hosts by name instead
// of sorting every stale host; walked page by page it must give the same hosts in the same order.
test("a fleet mostly stale pages worst first as a JS sort of the same hosts would", () => {
  const db = openDatabase(":memory:");
  const store = createStore(db);
  const nowMs = Date.parse("2026-12-03T12:00:00Z");
  store.tx(() => {
    for (let i = 0; i < 2600; i++) {
      store.insertHost({
        id: `h${i}`,
        name: `n${(i * 7919) % 2600}`,
        hostname: "x",
        restic_host: "x",
        agent_token_hash: `t${i}`,
        enrolled_at: "2026-11-01T00:00:00Z",
        labels: { half: i % 2 ? "a" : "b" },
      });
    }
  });
  // Hourly, last success 1 day ago (stale) for most; some recent (ok), some with a warning, some failed.
  db.run(`UPDATE hosts SET expected_interval_s = 3600, last_backup_job_id = 'j',
    last_backup_status = CASE WHEN rowid % 13 = 0 THEN 'failed' ELSE 'succeeded' END,
    last_backup_warning = CASE WHEN rowid % 5 = 0 THEN 'skipped' END,
    last_successful_backup_at = CASE WHEN rowid % 11 = 0 THEN '2026-12-03T11:30:00Z' ELSE '2026-12-02T12:00:00Z' END`);
  const rank = (r: { rank: number }) => r.rank;
  const all = db
    .query<{ id: string; name: string; rank: number }, { now_ms: number }>(
      "SELECT id, name, CASE WHEN stale_after_ms < $now_ms THEN 1 ELSE health_base END AS rank FROM hosts",
    )
    .all({ now_ms: nowMs });
  expect(all.filter((r) => rank(r) === 1).length).toBeGreaterThan(2000);
  for (const labels of [undefined, { half: "a" }]) {
    const want = all
      .filter((r) => !labels || Number(r.id.slice(1)) % 2 === 1)
      .sort((a, b) => a.rank - b.rank || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1))
      .map((r) => r.id);
    const got: string[] = [];
    let after: Array<string | number> | undefined;
    for (;;) {
      const rows = store.hostPage({ sort: "health", labels, after, limit: 173, nowMs });
      got.push(...rows.map((r) => r.host.id));
      if (rows.length < 173) break;
      after = rows.at(-1)?.keys;
    }
    expect(got).toEqual(want);
  }
});
