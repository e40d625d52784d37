import { beforeEach, expect, test } from "bun:test";
import { actorOf } from "../domain/auth.ts";
import { memoryApp } from "../testing/memory-app.ts";

// GET /hosts/summary through `app.request` (no port): the dashboard's counters over the hosts a
// label filter matches, health as the host list computes it, and the same 400 as GET /hosts.

let t: Awaited<ReturnType<typeof memoryApp>>;
let viewerToken: string;
const ids: Record<string, string> = {};

const enroll = (hostname: string, labels: Record<string, string>) =>
  t.domain.auth.enroll(
    t.domain.auth.createEnrollmentToken(null, { uses: 1, expiresInMs: 3_600_000, labels }).token,
    hostname,
  ).host_id;
const hourly = (id: string) =>
  t.call("POST", `/hosts/${id}/schedules`, { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] });
async function backup(id: string, status: "succeeded" | "failed", warnings?: string[]) {
  const job = (await t.call("POST", `/hosts/${id}/jobs`, { kind: "backup", spec: { paths: ["/srv"] } })).body;
  const at = t.clock.now().toISOString();
  const frame = <T extends string, P>(type: T, payload: P) => ({ type, id: `env-${job.id}-${type}`, ts: at, payload });
  t.domain.reports.record(id, frame("job.started", { job_id: job.id, started_at: at }) as never);
  const finished = {
    job_id: job.id,
    status,
    exit_code: status === "failed" ? 1 : 0,
    finished_at: at,
    ...(warnings ? { warnings, stats: { total_files_processed: 3, missing_paths: ["/missing"] } } : {}),
  };
  t.domain.reports.record(id, frame("job.finished", finished) as never);
}

/**
 * One host in each health state: old-01 stale (scheduled hourly, nothing for 3 h), web-01 failed
 * and online (a backup queued after its failure does not hide it), db-01 ok, db-02 pending
 * (scheduled, just enrolled), bare-01 unscheduled, warn-01 warning (a path was skipped).
 */
beforeEach(async () => {
  t = await memoryApp();
  const viewer = await t.domain.auth.createUser("watcher", "viewer-password", "viewer", null);
  viewerToken = t.domain.auth.createApiToken(actorOf(viewer), "viewer").token;
  ids.old = enroll("old-01", { env: "prod", role: "db" });
  await hourly(ids.old);
  t.clock.advance(3 * 3_600_000); // past 1 h interval + 1 h grace
  ids.web = t.hostId;
  await t.call("PATCH", `/hosts/${ids.web}`, { labels: { env: "prod", role: "web" } });
  await backup(ids.web, "failed");
  await t.call("POST", `/hosts/${ids.web}/jobs`, { kind: "backup", spec: { paths: ["/srv"] } });
  t.domain.presence.hello(ids.web, {
    protocol_version: 4,
    agent_version: "test",
    restic_version: "0.17.3",
    hostname: "web-01",
    os: "linux",
    arch: "amd64",
  });
  ids.db1 = enroll("db-01", { env: "prod", role: "db" });
  await hourly(ids.db1);
  await backup(ids.db1, "succeeded");
  ids.db2 = enroll("db-02", { env: "staging", role: "db" });
  await hourly(ids.db2);
  ids.bare = enroll("bare-01", {});
  ids.warn = enroll("warn-01", { env: "staging", role: "web" });
  await hourly(ids.warn);
  await backup(ids.warn, "succeeded", ["1 of 2 backup paths do not exist and were skipped: /missing"]);
});

test("counts every host by presence and by the list's own backup_health, and each label value", async () => {
  const r = await t.call("GET", "/hosts/summary");
  expect(r.status).toBe(200);
  expect(r.body).toEqual({
    total: 6,
    online: 1,
    offline: 5,
    health: { ok: 1, warning: 1, failed: 1, stale: 1, pending: 1, unscheduled: 1 },
    labels: { env: { prod: 3, staging: 2 }, role: { db: 3, web: 2 } },
  });
  // One rule: the counts are those of GET /hosts, host by host.
  const list = (await t.call("GET", "/hosts")).body.items as { name: string; backup_health: string }[];
  expect(Object.fromEntries(list.map((h) => [h.name, h.backup_health]))).toEqual({
    "old-01": "stale",
    "web-01": "failed",
    "db-01": "ok",
    "db-02": "pending",
    "bare-01": "unscheduled",
    "warn-01": "warning",
  });
  const warn = list.find((h) => h.name === "warn-01") as unknown as Record<string, unknown>;
  expect(warn.last_backup_warning).toBe("1 of 2 backup paths do not exist and were skipped: /missing");
});

test("the label filter is GET /hosts's: every label must match, and a bad one is 400 naming label", async () => {
  const summary = async (q: string) => (await t.call("GET", `/hosts/summary${q}`)).body;
  expect(await summary("?label=role=db")).toEqual({
    total: 3,
    online: 0,
    offline: 3,
    health: { ok: 1, warning: 0, failed: 0, stale: 1, pending: 1, unscheduled: 0 },
    labels: { env: { prod: 2, staging: 1 }, role: { db: 3 } },
  });
  expect(await summary("?label=env=prod&label=role=web")).toMatchObject({
    total: 1,
    online: 1,
    health: { failed: 1 },
    labels: { env: { prod: 1 }, role: { web: 1 } },
  });
  expect(await summary("?label=env=nowhere")).toEqual({
    total: 0,
    online: 0,
    offline: 0,
    health: { ok: 0, warning: 0, failed: 0, stale: 0, pending: 0, unscheduled: 0 },
    labels: {},
  });
  for (const bad of ["env", "Env=prod", "env=a&label=env=b"]) {
    const r = await t.call("GET", `/hosts/summary?label=${bad}`);
    expect({ status: r.status, path: r.body.error.path }).toEqual({ status: 400, path: "label" });
  }
});

test("a viewer may read it; without credentials it is 401", async () => {
  const res = await t.app.request("/api/v1/hosts/summary?label=role=db", {
    headers: { Authorization: `Bearer ${viewerToken}` },
  });
  expect(res.status).toBe(200);
  expect((await res.json()).total).toBe(3);
  expect((await t.app.request("/api/v1/hosts/summary")).status).toBe(401);
});
