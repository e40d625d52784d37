import { beforeAll, expect, test } from "bun:test";
import type { AlertFilter, AlertRow } from "../domain/alert-rows.ts";
import { alertListQuery } from "./alerts-store.ts";
import { openDatabase } from "./db.ts";
import { createStore, type Store } from "./store.ts";

// GET /alerts pages (issue 20 item 7): each filter shape reads through an index in the page's
// (started_at DESC, id DESC) order, seeking the cursor, and pages walked from cursor to cursor
// give exactly what a JS filter and sort of the same rows give. EXPLAIN QUERY PLAN of the store's
// own statements; real SQLite.

const cursor = { started_at: "2026-12-02T10:00:00.000Z", id: "alert_x" };
const plan = (f: Omit<AlertFilter, "limit">, seekLabel?: string) => {
  const db = openDatabase(":memory:");
  const { sql, args } = alertListQuery({ ...f, limit: 101 }, seekLabel);
  const rows = db.query<{ detail: string }, Array<string | number>>(`EXPLAIN QUERY PLAN ${sql}`).all(...args);
  db.close();
  return rows.map((r) => r.detail).join(" | ");
};

const shapes: Array<[string, Omit<AlertFilter, "limit">, string]> = [
  ["none", {}, "alerts_by_start"],
  ["state", { state: "firing" }, "alerts_by_state_time"],
  ["condition", { condition: "backup_failed" }, "alerts_by_condition_time"],
  ["state and condition", { state: "resolved", condition: "host_offline" }, "alerts_by_state_condition_time"],
  ["host", { host_id: "h1" }, "alerts_by_host_time"],
  ["host and state", { host_id: "h1", state: "firing" }, "alerts_by_host_state_time"],
  ["host and condition", { host_id: "h1", condition: "backup_failed" }, "alerts_by_host_time"],
  ["common label", { labels: { env: "prod" } }, "alerts_by_start"],
  ["common label and state", { labels: { env: "prod" }, state: "firing" }, "alerts_by_state_time"],
];

for (const [name, filter, index] of shapes) {
  test(`a ${name} page seeks ${index} and needs no sort, first page or deep`, () => {
    for (const after of [undefined, cursor]) {
      const p = plan({ ...filter, after });
      expect(p).toContain(`USING INDEX ${index}`);
      expect(p).not.toContain("TEMP B-TREE");
      if (after) expect(p).toContain("(started_at,id)<(?,?)");
    }
  });
}

// A label on few hosts reads each host's index from the cursor, a page at most from each, then
// sorts those: bounded by hosts × limit, where the time order would walk past every other alert.
test("a label page of few hosts seeks each host's index from the cursor", () => {
  expect(plan({ labels: { env: "prod" }, after: cursor }, "env")).toMatch(
    /SEARCH alerts USING INDEX alerts_by_host_time \(host_id=\? AND \(started_at,id\)<\(\?,\?\)\)/,
  );
  expect(plan({ labels: { env: "prod" }, state: "firing", after: cursor }, "env")).toMatch(
    /SEARCH alerts USING INDEX alerts_by_host_state_time \(host_id=\? AND state=\? AND \(started_at,id\)<\(\?,\?\)\)/,
  );
});

// Deep pages against a JS filter and sort of the same rows. 1,200 hosts: "env=prod" is on more
// than the store's 1,000 (the page walks the time order, checking each alert's host), "site" and
// "tier=silver" on few with few alerts (each host's alerts are read, then sorted), "tier=gold" on
// 900 hosts with 2,250 alerts (too many to read and sort: walked); every path gives the same rows.
const HOSTS = 1200;
const CONDITIONS = ["backup_failed", "backup_stale", "host_offline", "check_failed"] as const;
let store: Store;
const rows: AlertRow[] = [];
const labelsOf = new Map<string, Record<string, string>>();

beforeAll(() => {
  store = createStore(openDatabase(":memory:"));
  store.tx(() => {
    for (let i = 0; i < HOSTS; i++) {
      const id = `h${String(i).padStart(4, "0")}`;
      const labels: Record<string, string> = { env: i % 10 === 0 ? "dev" : "prod", role: i % 3 ? "db" : "web" };
      if (i % 97 === 0) labels.site = "fra";
      labels.tier = i < 900 ? "gold" : "silver";
      labelsOf.set(id, labels);
      store.insertHost({
        id,
        name: id,
        hostname: id,
        restic_host: id,
        agent_token_hash: `t-${id}`,
        enrolled_at: "2026-11-01T00:00:00.000Z",
        labels,
      });
    }
    // 3,000 alerts; many share a started_at (a sweep fires several at once), so the id breaks ties
    // across page boundaries; at most one firing per host and condition.
    const firing = new Set<string>();
    for (let n = 0; n < 3000; n++) {
      const host_id = `h${String((n * 7919) % HOSTS).padStart(4, "0")}`;
      const condition = CONDITIONS[n % CONDITIONS.length] ?? "backup_failed";
      const key = `${host_id}/${condition}`;
      const isFiring = n % 5 === 0 && !firing.has(key);
      if (isFiring) firing.add(key);
      const started_at = new Date(Date.UTC(2026, 10, 1) + Math.floor(n / 4) * 60_000).toISOString();
      const a: AlertRow = {
        id: `alert_${String((n * 31) % 3000).padStart(5, "0")}`,
        host_id,
        condition,
        state: isFiring ? "firing" : "resolved",
        started_at,
        resolved_at: isFiring ? null : started_at,
        summary: `alert ${n}`,
        notified_at: null,
        resolve_notified_at: null,
      };
      store.insertAlert(a);
      rows.push(a);
    }
  });
});

/** Every page of the filter through the store, from cursor to cursor. */
function walk(f: Omit<AlertFilter, "limit" | "after">, limit: number): AlertRow[] {
  const out: AlertRow[] = [];
  let after: AlertFilter["after"];
  for (let pages = 0; pages < 10_000; pages++) {
    const page = store.listAlerts({ ...f, limit, after });
    out.push(...page);
    const last = page.at(-1);
    if (page.length < limit || !last) return out;
    after = { started_at: last.started_at, id: last.id };
  }
  throw new Error("the pages never ended");
}

const expected = (f: Omit<AlertFilter, "limit" | "after">) =>
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

const filters: Array<Omit<AlertFilter, "limit" | "after">> = [
  {},
  { state: "firing" },
  { state: "resolved", condition: "host_offline" },
  { condition: "check_failed" },
  { host_id: "h0042" },
  { host_id: "h0042", state: "resolved" },
  { labels: { env: "prod" } },
  { labels: { env: "prod", role: "web" }, state: "firing" },
  { labels: { site: "fra" } },
  { labels: { site: "fra" }, state: "resolved", condition: "backup_stale" },
  { labels: { site: "fra", env: "prod" } },
  { labels: { env: "nowhere" } },
  { labels: { tier: "gold" } },
  { labels: { tier: "gold" }, state: "firing" },
  { labels: { tier: "silver" } },
  { labels: { tier: "silver", role: "db" }, state: "resolved" },
];

for (const f of filters) {
  test(`pages of ${JSON.stringify(f)} are the JS filter and sort of the same alerts`, () => {
    const want = expected(f);
    if (!f.labels?.env?.startsWith("nowhere")) expect(want.length).toBeGreaterThan(0);
    for (const limit of [7, 100]) expect(walk(f, limit).map((a) => a.id)).toEqual(want);
  });
}
