import { expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { silentLogger } from "../log.ts";
import { openDatabase } from "../store/db.ts";
import { createStore } from "../store/store.ts";
import { actorOf } from "./auth.ts";
import type { AgentLink } from "./deps.ts";
import { createDomain } from "./domain.ts";
import { EventBus } from "./events.ts";
import { createSecretBox } from "./secrets.ts";

/** A domain over an in-memory database whose agents are all connected; command.run frames are kept. */
async function setup() {
  const db = openDatabase(":memory:");
  const sent: unknown[] = [];
  const agents: AgentLink = {
    send(_hostId, type, payload) {
      if (type === "command.run") sent.push(payload);
      return true;
    },
    isConnected: () => true,
    isSecure: () => true,
    close() {},
  };
  const domain = createDomain({
    store: createStore(db),
    clock: new ManualClock("2026-12-01T12:00:00Z"),
    agents,
    events: new EventBus(),
    secrets: createSecretBox(new Uint8Array(32)),
    log: silentLogger,
  });
  const admin = actorOf(await domain.auth.createUser("admin", "admin-password", "admin", null));
  const enroll = (name: string) =>
    domain.auth.enroll(domain.auth.createEnrollmentToken(null, { uses: 1, expiresInMs: 3_600_000 }).token, name)
      .host_id;
  return { db, domain, admin, sent, enroll };
}

test("run now: each kind's spec reaches command.run as given, a backup's paths also as args", async () => {
  const { domain, admin, sent, enroll } = await setup();
  const h = enroll("web-a");
  const backup = domain.jobs.runNow(admin, h, { kind: "backup", spec: { paths: ["/srv"], tags: ["t"] } });
  expect(backup).toMatchObject({ kind: "backup", args: ["/srv"], spec: { paths: ["/srv"], tags: ["t"] } });
  const check = domain.jobs.runNow(admin, h, { kind: "check" });
  expect(check).toMatchObject({ kind: "check", args: [], spec: null });
  expect(sent).toEqual([
    { job_id: backup.id, kind: "backup", args: ["/srv"], spec: { paths: ["/srv"], tags: ["t"] } },
    { job_id: check.id, kind: "check", args: [] },
  ]);
});

test("run now: a restore's source_host_id becomes the wire's source_host, its own host none", async () => {
  const { domain, admin, sent, enroll } = await setup();
  const a = enroll("web-a");
  const b = enroll("web-b");
  const spec = { snapshot_id: "latest", target: "/tmp/restore" };
  const other = domain.jobs.runNow(admin, a, { kind: "restore", spec: { ...spec, source_host_id: b } });
  expect(other.spec).toEqual({ ...spec, source_host: "web-b" });
  domain.jobs.runNow(admin, a, { kind: "restore", spec: { ...spec, source_host_id: a } });
  expect(sent).toEqual([
    expect.objectContaining({ spec: { ...spec, source_host: "web-b" } }),
    expect.objectContaining({ spec }),
  ]);
});

test("a stored spec that no longer parses reads as none, and its job fails instead of being sent", async () => {
  const { db, domain, admin, sent, enroll } = await setup();
  const h = enroll("web-a");
  const job = domain.jobs.runNow(admin, h, { kind: "backup", spec: { paths: ["/srv"] } });
  // As if written by a newer server, whose schema this one does not share.
  db.query("UPDATE jobs SET spec = ? WHERE id = ?").run('{"paths":"/srv"}', job.id);
  const read = domain.jobs.get(job.id);
  expect(read).toMatchObject({ status: "queued", spec: null });
  expect(read.error).toContain("spec.paths");
  expect(domain.jobs.list({ host_id: h, limit: 10 }).items).toHaveLength(1);
  domain.jobs.onHello(h);
  expect(sent).toHaveLength(1); // the run-now delivery only
  expect(domain.jobs.get(job.id)).toMatchObject({ status: "failed", spec: null, error: read.error });
});

test("an agent's times are stored in UTC, whatever offset and precision it sends", async () => {
  const { domain, admin, enroll } = await setup();
  const h = enroll("web-a");
  const job = domain.jobs.runNow(admin, h, { kind: "backup", spec: { paths: ["/srv"] } });
  const frame = <T extends string, P>(type: T, payload: P, ts = "2026-12-01T14:00:00+02:00") =>
    ({ type, id: `env-${type}`, ts, payload }) as never;
  domain.reports.record(h, frame("job.started", { job_id: job.id, started_at: "2026-12-01T13:00:00+01:00" }));
  domain.reports.record(
    h,
    frame("job.finished", {
      job_id: job.id,
      status: "succeeded",
      exit_code: 0,
      finished_at: "2026-12-01T07:05:00.123456789-05:00",
    }),
  );
  domain.reports.record(
    h,
    frame("job.log", {
      lines: [{ job_id: job.id, seq: 1, ts: "2026-12-01T13:01:00+01:00", stream: "stdout", payload: "x" }],
    }),
  );
  domain.reports.record(
    h,
    frame("snapshots.report", {
      snapshots: [
        {
          id: "a".repeat(64),
          short_id: "aaaaaaaa",
          time: "2026-12-01T13:04:00.5+01:00",
          hostname: "web-a",
          paths: ["/srv"],
        },
      ],
    }),
  );
  domain.reports.record(
    h,
    frame("repo.stats", {
      size_bytes: 1,
      snapshot_count: 1,
      dedup_ratio: 1,
      lock_state: "unlocked",
      last_check_at: "2026-12-01T01:00:00-01:00",
    }),
  );
  expect(domain.jobs.get(job.id)).toMatchObject({
    started_at: "2026-12-01T12:00:00.000Z",
    finished_at: "2026-12-01T12:05:00.123Z",
  });
  expect(JSON.stringify(domain.jobs.logs(job.id, 0, 10))).toContain('"ts":"2026-12-01T12:01:00.000Z"');
  expect(domain.hosts.snapshots(h).items.map((s) => s.time)).toEqual(["2026-12-01T12:04:00.500Z"]);
  expect(domain.hosts.repoStats(h, 1)).toMatchObject([
    { reported_at: "2026-12-01T12:00:00.000Z", last_check_at: "2026-12-01T02:00:00.000Z" },
  ]);
});
