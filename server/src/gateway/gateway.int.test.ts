import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

let t: TestServer;
beforeEach(async () => {
  // Just after the 02:00 run the fires below name: a fire must be a recent run of its schedule.
  t = await startTestServer({ clock: new ManualClock("2026-12-01T02:00:05Z") });
});
afterEach(async () => {
  await t.close();
});

async function hostWithSchedule(cron = "0 2 * * *") {
  const host = await t.enroll();
  await t.json(`/api/v1/hosts/${host.host_id}/config`, {
    method: "PUT",
    body: { repo_url: "/srv/repo", repo_password: "pw-not-in-logs" },
  });
  const s = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: cron, paths: ["/srv/www"], excludes: ["*.tmp"], tags: ["nightly"] },
  });
  expect(s.status).toBe(201);
  return { ...host, schedule_id: s.body.id as string };
}

describe("fire → job → command.run (the original design's round trip)", () => {
  test("a fire makes one job with actor_kind=schedule, and command.run carries its id, kind and args", async () => {
    const h = await hostWithSchedule();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    agent.send("schedule.fire", { schedule_id: h.schedule_id, scheduled_at: "2026-12-01T02:00:00Z" });
    const run = await agent.next("command.run");
    expect(run.payload.kind).toBe("backup");
    expect(run.payload.args).toEqual(["/srv/www"]);
    expect(run.payload.spec).toEqual({ paths: ["/srv/www"], excludes: ["*.tmp"], tags: ["nightly"] });

    const job = await t.json(`/api/v1/jobs/${run.payload.job_id}`);
    expect(job.body.actor_kind).toBe("schedule");
    expect(job.body.scheduled_id).toBe(h.schedule_id);
    expect(job.body.scheduled_at).toBe("2026-12-01T02:00:00.000Z");
    expect(job.body.status).toBe("queued");

    // The same tick again (a re-sent fire) makes no second job.
    await agent.acked(agent.send("command.result", { job_id: run.payload.job_id, accepted: true }));
    agent.send("schedule.fire", { schedule_id: h.schedule_id, scheduled_at: "2026-12-01T02:00:00Z" });
    agent.send("heartbeat", { sent_at: "2026-12-01T02:00:01Z" });
    agent.send("schedule.fire", { schedule_id: "sch_nope", scheduled_at: "2026-12-01T02:00:00Z" });
    await agent.next("error");
    const jobs = await t.json(`/api/v1/jobs?host_id=${h.host_id}`);
    expect(jobs.body.items.length).toBe(1);
    expect(agent.of("command.run").length).toBe(1);
    agent.close();
  });

  test("a fire for an unknown, foreign or disabled schedule gets an error and no job", async () => {
    const a = await hostWithSchedule();
    const b = await hostWithSchedule();
    await t.json(`/api/v1/schedules/${a.schedule_id}`, { method: "PATCH", body: { enabled: false } });
    const agentA = await TestAgent.connect(t.url, a.agent_token);
    await agentA.hello();
    agentA.send("schedule.fire", { schedule_id: a.schedule_id, scheduled_at: "2026-12-01T02:00:00Z" });
    expect((await agentA.next("error", 0)).payload.code).toBe("conflict");
    agentA.send("schedule.fire", { schedule_id: b.schedule_id, scheduled_at: "2026-12-01T02:00:00Z" });
    expect((await agentA.next("error", 1)).payload.code).toBe("not_found");
    agentA.send("schedule.fire", { schedule_id: "sch_missing", scheduled_at: "2026-12-01T02:00:00Z" });
    expect((await agentA.next("error", 2)).payload.code).toBe("not_found");
    expect((await t.json("/api/v1/jobs")).body.items).toEqual([]);
    agentA.close();
  });
});

describe("handshake, schedules and presence", () => {
  test("hello is answered with config.update then schedule.set, and the host is online", async () => {
    const h = await hostWithSchedule();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    expect(agent.received.map((m) => m.type).slice(0, 2)).toEqual(["config.update", "schedule.set"]);
    const config = await agent.next("config.update");
    expect(config.payload).toEqual({ repo_url: "/srv/repo", repo_password: "pw-not-in-logs" });
    const set = await agent.next("schedule.set");
    expect(set.payload.version).toBe(1);
    expect(set.payload.schedules.map((s) => s.id)).toEqual([h.schedule_id]);
    const host = await t.json(`/api/v1/hosts/${h.host_id}`);
    expect(host.body.online).toBe(true);
    expect(host.body.restic_version).toBe("0.14.0");
    expect(host.body.schedule_in_sync).toBe(false);
    // The API never shows the password.
    expect(JSON.stringify(host.body)).not.toContain("pw-not-in-logs");
    expect(host.body.config.has_repo_password).toBe(true);
    agent.close();
  });

  test("a schedule change bumps the version and pushes schedule.set; schedule.ack records it", async () => {
    const h = await hostWithSchedule();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    agent.send("schedule.ack", { version: 1, applied_at: new Date().toISOString() });
    await agent.until(() => agent.received.length >= 2);
    const patch = await t.json(`/api/v1/schedules/${h.schedule_id}`, {
      method: "PATCH",
      body: { cron_expr: "*/5 * * * *" },
    });
    expect(patch.status).toBe(200);
    const set = await agent.next("schedule.set", 1);
    expect(set.payload.version).toBe(2);
    expect(set.payload.schedules[0]?.cron_expr).toBe("*/5 * * * *");
    let host = await t.json(`/api/v1/hosts/${h.host_id}`);
    expect(host.body.schedule_in_sync).toBe(false);
    agent.send("schedule.ack", { version: 2, applied_at: new Date().toISOString() });
    // The ack has no reply; a heartbeat-then-fire round trip proves it was processed.
    agent.send("schedule.fire", { schedule_id: "sch_x", scheduled_at: "2026-12-01T02:00:00Z" });
    await agent.next("error");
    host = await t.json(`/api/v1/hosts/${h.host_id}`);
    expect(host.body.acked_schedule_version).toBe(2);
    expect(host.body.schedule_in_sync).toBe(true);
    // Deleting the schedule pushes an empty set with version 3.
    await t.json(`/api/v1/schedules/${h.schedule_id}`, { method: "DELETE" });
    const empty = await agent.next("schedule.set", 2);
    expect(empty.payload).toEqual({ version: 3, schedules: [] });
    agent.close();
  });

  test("an unsupported protocol version is refused and closed", async () => {
    const h = await t.enroll();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(99);
    const err = await agent.next("error");
    expect(err.payload.code).toBe("version_not_supported");
    expect((await agent.waitClosed()).code).toBe(4002);
  });

  test("90 s without a heartbeat marks the host offline (injected clock)", async () => {
    const h = await t.enroll();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    t.clock.advance(60_000);
    t.server.sweep();
    expect((await t.json(`/api/v1/hosts/${h.host_id}`)).body.online).toBe(true);
    agent.send("heartbeat", { sent_at: t.clock.now().toISOString() });
    agent.send("schedule.fire", { schedule_id: "sch_x", scheduled_at: "2026-12-01T02:00:00Z" });
    await agent.next("error");
    t.clock.advance(89_000);
    t.server.sweep();
    expect((await t.json(`/api/v1/hosts/${h.host_id}`)).body.online).toBe(true);
    t.clock.advance(2_000);
    t.server.sweep();
    expect((await t.json(`/api/v1/hosts/${h.host_id}`)).body.online).toBe(false);
    expect((await agent.waitClosed()).code).toBe(4003);
  });

  test("a second connection for the same host replaces the first", async () => {
    const h = await t.enroll();
    const first = await TestAgent.connect(t.url, h.agent_token);
    await first.hello();
    const second = await TestAgent.connect(t.url, h.agent_token);
    expect((await first.waitClosed()).code).toBe(4000);
    await second.hello();
    expect((await t.json(`/api/v1/hosts/${h.host_id}`)).body.online).toBe(true);
    second.close();
  });
});

describe("jobs: offline queue, cancel, reports, ack and dedup", () => {
  test("a run-now for an offline host stays queued and is dispatched on the next hello", async () => {
    const h = await t.enroll();
    const job = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "init" } });
    expect(job.status).toBe(201);
    expect(job.body.status).toBe("queued");
    expect(job.body.actor_kind).toBe("user");
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    const run = await agent.next("command.run");
    expect(run.payload).toEqual({ job_id: job.body.id, kind: "init", args: [] });
    agent.close();
  });

  test("the full report path: accepted, started, progress, logs, finished, snapshots, stats", async () => {
    const h = await t.enroll();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    const job = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, {
      method: "POST",
      body: { kind: "backup", spec: { paths: ["/srv"] } },
    });
    const run = await agent.next("command.run");
    const jobId = run.payload.job_id;
    expect(jobId).toBe(job.body.id);
    const ids = [
      agent.send("command.result", { job_id: jobId, accepted: true }),
      agent.send("job.started", { job_id: jobId, kind: "backup", started_at: "2026-11-30T12:00:01Z" }),
      agent.send("job.progress", {
        job_id: jobId,
        percent_done: 0.5,
        files_done: 1,
        total_files: 2,
        bytes_done: 10,
        total_bytes: 20,
        eta_seconds: 1,
        throughput_bps: 10,
      }),
      agent.send("job.log", {
        lines: [
          { job_id: jobId, seq: 1, ts: "2026-11-30T12:00:01Z", stream: "stdout", payload: "one" },
          { job_id: jobId, seq: 2, ts: "2026-11-30T12:00:02Z", stream: "stderr", payload: "two" },
        ],
      }),
      agent.send("job.finished", {
        job_id: jobId,
        status: "succeeded",
        exit_code: 0,
        finished_at: "2026-11-30T12:00:03Z",
        stats: { snapshot_id: "abcdef12" },
      }),
      agent.send("snapshots.report", {
        snapshots: [
          {
            id: "a".repeat(64),
            short_id: "aaaaaaaa",
            time: "2026-11-30T12:00:02Z",
            hostname: "web-01",
            paths: ["/srv"],
          },
        ],
      }),
      agent.send("repo.stats", { size_bytes: 100, snapshot_count: 1, dedup_ratio: 1.5, lock_state: "unlocked" }),
    ];
    await agent.acked(...ids);
    // Acked in order, each once it was stored.
    const acks = agent.of("ack").flatMap((a) => a.payload.ids);
    expect(acks.filter((id) => ids.includes(id))).toEqual(ids);

    const done = await t.json(`/api/v1/jobs/${jobId}`);
    expect(done.body).toMatchObject({ status: "succeeded", exit_code: 0, started_at: "2026-11-30T12:00:01.000Z" });
    expect(done.body.progress.percent_done).toBe(0.5);
    expect(done.body.stats).toEqual({ snapshot_id: "abcdef12" });
    const logs = await t.json(`/api/v1/jobs/${jobId}/logs?after_seq=1`);
    expect(logs.body.items.map((l: { payload: string }) => l.payload)).toEqual(["two"]);
    const snaps = await t.json(`/api/v1/hosts/${h.host_id}/snapshots`);
    expect(snaps.body.items[0].short_id).toBe("aaaaaaaa");
    const stats = await t.json(`/api/v1/hosts/${h.host_id}/repo-stats`);
    expect(stats.body.items[0].dedup_ratio).toBe(1.5);

    // Re-sending the same envelopes (lost acks) changes nothing, and they are acked again.
    agent.send("job.started", { job_id: jobId, kind: "backup", started_at: "2026-11-30T12:00:09Z" }, ids[1]);
    agent.send(
      "job.finished",
      { job_id: jobId, status: "failed", exit_code: 1, finished_at: "2026-11-30T12:00:09Z" },
      ids[4],
    );
    // A new envelope cannot move a finished job back either.
    agent.send("job.started", { job_id: jobId, kind: "backup", started_at: "2026-11-30T12:00:10Z" });
    await agent.until(() => agent.of("ack").length >= ids.length + 3);
    const after = await t.json(`/api/v1/jobs/${jobId}`);
    expect(after.body).toMatchObject({ status: "succeeded", exit_code: 0, started_at: "2026-11-30T12:00:01.000Z" });
    agent.close();
  });

  test("a report about another host's job is refused and changes nothing", async () => {
    const a = await t.enroll("a");
    const b = await t.enroll("b");
    const job = await t.json(`/api/v1/hosts/${a.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
    const agentB = await TestAgent.connect(t.url, b.agent_token);
    await agentB.hello();
    agentB.send("job.finished", {
      job_id: job.body.id,
      status: "failed",
      exit_code: 1,
      finished_at: "2026-11-30T12:00:00Z",
    });
    expect((await agentB.next("error")).payload.code).toBe("not_found");
    expect((await t.json(`/api/v1/jobs/${job.body.id}`)).body.status).toBe("queued");
    agentB.close();
  });

  test("cancel: a queued job at once; a running one through command.cancel", async () => {
    const h = await t.enroll();
    const queued = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "prune" } });
    const c1 = await t.json(`/api/v1/jobs/${queued.body.id}/cancel`, { method: "POST" });
    expect(c1.body.status).toBe("cancelled");
    const again = await t.json(`/api/v1/jobs/${queued.body.id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);

    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    expect(agent.of("command.run")).toEqual([]); // the cancelled job is never delivered
    const running = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
    const run = await agent.next("command.run");
    agent.send("command.result", { job_id: run.payload.job_id, accepted: true });
    agent.send("job.started", { job_id: run.payload.job_id, kind: "check", started_at: "2026-11-30T12:00:00Z" });
    await agent.until(() => agent.of("ack").length >= 2);
    const c2 = await t.json(`/api/v1/jobs/${running.body.id}/cancel`, { method: "POST" });
    expect(c2.body.status).toBe("running");
    expect((await agent.next("command.cancel")).payload.job_id).toBe(running.body.id);
    agent.send("job.finished", {
      job_id: running.body.id,
      status: "cancelled",
      exit_code: 130,
      finished_at: "2026-11-30T12:00:05Z",
    });
    await agent.until(() => agent.of("ack").length >= 3);
    expect((await t.json(`/api/v1/jobs/${running.body.id}`)).body.status).toBe("cancelled");
    agent.close();
  });

  test("a job never accepted is delivered again on the next connection, then failed", async () => {
    const h = await t.enroll();
    const job = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "unlock" } });
    for (let i = 0; i < 2; i++) {
      const agent = await TestAgent.connect(t.url, h.agent_token);
      await agent.hello();
      await agent.next("command.run");
      agent.close();
      await agent.waitClosed();
    }
    t.clock.advance(61_000);
    t.server.sweep();
    const failed = await t.json(`/api/v1/jobs/${job.body.id}`);
    expect(failed.body.status).toBe("failed");
    expect(failed.body.error).toContain("did not accept");
    expect(failed.body.dispatch_attempts).toBe(2);
  });
});
