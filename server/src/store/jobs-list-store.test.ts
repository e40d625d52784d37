import { expect, test } from "bun:test";
import type { JobFilter } from "../domain/store.ts";
import { openDatabase } from "./db.ts";
import { jobListQuery } from "./jobs-store.ts";

// The fleet-wide jobs list (GET /jobs, issue 17) reads every filter shape through an index that
// gives its order: SQLite seeks the (created_at, id) cursor and stops at the page, so a deep or a
// filtered page costs what a first one does. EXPLAIN QUERY PLAN of the store's own statements.

const cursor = { created_at: "2026-12-02T10:00:00.000Z", id: "job_x" };
const plan = (f: Omit<JobFilter, "limit">) => {
  const db = openDatabase(":memory:");
  const { sql, args } = jobListQuery({ ...f, limit: 51 });
  const rows = db.query<{ detail: string }, Array<string | number>>(`EXPLAIN QUERY PLAN ${sql}`).all(...args);
  db.close();
  return rows.map((r) => r.detail).join(" | ");
};

const shapes: Array<[string, Omit<JobFilter, "limit">, string]> = [
  ["none", {}, "jobs_by_time"],
  ["host", { host_id: "h1" }, "jobs_by_host_time"],
  ["kind", { kind: "drill" }, "jobs_by_kind_time"],
  ["status", { status: "failed" }, "jobs_by_status_time"],
  ["host and kind", { host_id: "h1", kind: "backup" }, "jobs_by_host_kind_time"],
  ["host and status", { host_id: "h1", status: "succeeded" }, "jobs_by_host_time"],
  ["host, kind and status", { host_id: "h1", kind: "backup", status: "failed" }, "jobs_by_host_kind_time"],
  ["labels of many hosts", { host_ids: Array.from({ length: 1001 }, (_, i) => `h${i}`) }, "jobs_by_time"],
  [
    "labels of many hosts and a kind",
    { host_ids: Array.from({ length: 1001 }, (_, i) => `h${i}`), kind: "drill" },
    "jobs_by_kind_time",
  ],
  ["actor kind", { actor_kind: "agent" }, "jobs_by_actor_time"],
  ["host and actor kind", { host_id: "h1", actor_kind: "agent" }, "jobs_by_host_time"],
  ["host, kind and actor kind", { host_id: "h1", kind: "backup", actor_kind: "agent" }, "jobs_by_host_kind_time"],
  ["time range", { since: "2026-12-01T00:00:00.000Z", until: "2026-12-03T00:00:00.000Z" }, "jobs_by_time"],
];

for (const [name, filter, index] of shapes) {
  test(`a ${name} page seeks ${index} and needs no sort, first page or deep`, () => {
    for (const after of [undefined, cursor]) {
      const p = plan({ ...filter, after });
      expect(p).toContain(`USING INDEX ${index}`);
      expect(p).not.toContain("TEMP B-TREE");
      // A deep page starts at the cursor, not at the top of the index.
      if (after) expect(p).toContain("(created_at,id)<(?,?)");
    }
  });
}

// A label on few hosts reads each host's index from the cursor, a page at most from each (SQLite's
// IN early-out), then sorts those: bounded by hosts × limit, where a scan of the time order would
// walk past every other host's jobs.
test("a label page of few hosts seeks each host's index from the cursor", () => {
  for (const extra of [{}, { kind: "backup" as const }, { status: "failed" as const }]) {
    const p = plan({ host_ids: ["h1", "h2"], after: cursor, ...extra });
    expect(p).toMatch(/SEARCH jobs USING INDEX jobs_by_host_time \(host_id=\? AND \(created_at,id\)<\(\?,\?\)\)/);
  }
});
