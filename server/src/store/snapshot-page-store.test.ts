import { expect, test } from "bun:test";
import type { StoredSnapshot } from "../domain/types.ts";
import { snapshotPageQuery } from "./agent-data-store.ts";
import { openDatabase } from "./db.ts";
import { createStore } from "./store.ts";

// A host's snapshots paged (GET /hosts/:id/snapshots, issue 20 item 7): the page seeks the
// (host_id, time, id) index at the cursor and needs no sort, and pages walked from cursor to
// cursor give every snapshot of the host once, in a JS sort's order, whatever the page size.

test("a snapshot page seeks snapshots_by_host_time_id and needs no sort, first page or deep", () => {
  const db = openDatabase(":memory:");
  for (const after of [undefined, { time: "2026-12-01T00:00:00.000Z", id: "ab".repeat(32) }]) {
    const { sql, args } = snapshotPageQuery("h1", 101, after);
    const p = db
      .query<{ detail: string }, Array<string | number>>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...args)
      .map((r) => r.detail)
      .join(" | ");
    expect(p).toContain("USING INDEX snapshots_by_host_time_id");
    expect(p).not.toContain("TEMP B-TREE");
    if (after) expect(p).toContain("(time,id)<(?,?)");
  }
  db.close();
});

test("pages of a host with 2,500 snapshots are a JS sort of them, ties broken by id, other hosts apart", () => {
  const store = createStore(openDatabase(":memory:"));
  for (const id of ["h1", "h2"]) {
    store.insertHost({
      id,
      name: id,
      hostname: id,
      restic_host: id,
      agent_token_hash: `t-${id}`,
      enrolled_at: "2026-11-01T00:00:00.000Z",
      labels: {},
    });
  }
  const snap = (n: number): Omit<StoredSnapshot, "host_id"> => {
    const id = (((n * 2654435761) >>> 0).toString(16).padStart(8, "0") + String(n).padStart(8, "0")).repeat(4);
    return {
      id,
      short_id: id.slice(0, 8),
      // Three snapshots a minute, in a scrambled order: equal times are sorted by id.
      time: new Date(Date.UTC(2026, 0, 1) + Math.floor(((n * 7919) % 2500) / 3) * 60_000).toISOString(),
      hostname: "h1",
      paths: ["/srv"],
      tags: n % 2 ? ["daily"] : [],
      size_bytes: n,
      file_count: null,
    };
  };
  const mine = Array.from({ length: 2500 }, (_, n) => snap(n));
  store.tx(() => {
    store.replaceSnapshots("h1", mine);
    store.replaceSnapshots("h2", [snap(3000), snap(3001)]);
  });
  const want = [...mine]
    .sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id))
    .map((s) => ({ ...s, host_id: "h1" }));
  for (const limit of [1, 9, 100, 500]) {
    const seen: StoredSnapshot[] = [];
    let after: { time: string; id: string } | undefined;
    for (;;) {
      const page = store.snapshotPage("h1", limit, after);
      seen.push(...page);
      const last = page.at(-1);
      if (page.length < limit || !last) break;
      after = { time: last.time, id: last.id };
    }
    expect(seen).toEqual(want);
  }
  expect(store.snapshotPage("h2", 10).map((s) => [s.host_id, s.size_bytes])).toEqual([
    ["h2", 3001],
    ["h2", 3000],
  ]);
});
