import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Backups the agent ran on its own while the server was down (protocol 10, DESIGN §8.7), through a
// real server and a real WebSocket client speaking the agent's side.

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

async function hostWithSchedule() {
  const host = await t.enroll();
  const s = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] },
  });
  const tick = new Date(Math.floor(t.clock.now().getTime() / 3_600_000) * 3_600_000).toISOString();
  return { host, scheduleId: s.body.id as string, tick };
}

const agentJob = "0193a0b0-7c00-7000-8000-000000000001";

test("a backup the agent ran on its own becomes a job row with actor_kind agent, its tick and its log", async () => {
  const { host, scheduleId, tick } = await hostWithSchedule();
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello(10);
  const ids = [
    agent.send("job.started", {
      job_id: agentJob,
      kind: "backup",
      started_at: tick,
      autonomous: {
        schedule_id: scheduleId,
        scheduled_at: tick,
        spec: { paths: ["/srv"], tags: [`fleet-job=${agentJob}`] },
        missed: { count: 3, first_scheduled_at: "2026-11-30T00:00:00Z", last_scheduled_at: "2026-11-30T02:00:00Z" },
      },
    }),
    agent.send("job.log", { lines: [{ job_id: agentJob, seq: 1, ts: tick, stream: "stdout", payload: "saved" }] }),
    agent.send("job.finished", { job_id: agentJob, status: "succeeded", exit_code: 0, finished_at: tick }),
  ];
  await agent.acked(...ids);
  expect(agent.of("error")).toEqual([]);
  const job = await t.json(`/api/v1/jobs/${agentJob}`);
  expect(job.body).toMatchObject({
    id: agentJob,
    kind: "backup",
    status: "succeeded",
    actor_kind: "agent",
    scheduled_id: scheduleId,
    scheduled_at: tick,
  });
  const logs = await t.json(`/api/v1/jobs/${agentJob}/logs`);
  expect(logs.body.items.map((l: { payload: string }) => l.payload)).toEqual(["saved"]);
  const schedule = await t.json(`/api/v1/hosts/${host.host_id}/schedules`);
  expect(schedule.body.items[0].skipped_ticks).toMatchObject({ count: 3, job_id: agentJob });
  // A fire of the same tick afterwards (a re-sent one) finds the agent's job: no second job.
  await agent.acked(agent.send("schedule.fire", { schedule_id: scheduleId, scheduled_at: tick }));
  const jobs = await t.json(`/api/v1/jobs?host_id=${host.host_id}`);
  expect(jobs.body.items.map((j: { id: string }) => j.id)).toEqual([agentJob]);
  expect(agent.of("command.run")).toEqual([]);
  agent.close();
});

test("the race: the server's row for a tick that never reached the agent becomes the agent's job", async () => {
  const { host, scheduleId, tick } = await hostWithSchedule();
  // The agent fires; the server makes its job and sends command.run, which is lost with the link.
  const first = await TestAgent.connect(t.url, host.agent_token);
  await first.hello(10);
  await first.acked(first.send("schedule.fire", { schedule_id: scheduleId, scheduled_at: tick }));
  const lost = await first.next("command.run");
  expect(lost.payload).toMatchObject({ schedule_id: scheduleId, scheduled_at: tick });
  first.close();
  await first.waitClosed();
  // Reconnected: the agent's outbox says it ran that tick itself while the link was down.
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello(10, { activeJobIds: [agentJob] });
  await agent.acked(
    agent.send("job.started", {
      job_id: agentJob,
      kind: "backup",
      started_at: tick,
      autonomous: { schedule_id: scheduleId, scheduled_at: tick, spec: { paths: ["/srv"] } },
    }),
    agent.send("job.finished", { job_id: agentJob, status: "succeeded", exit_code: 0, finished_at: tick }),
  );
  const jobs = await t.json(`/api/v1/jobs?host_id=${host.host_id}`);
  expect(jobs.body.items.map((j: { id: string; actor_kind: string }) => [j.id, j.actor_kind])).toEqual([
    [agentJob, "agent"],
  ]);
  expect((await t.json(`/api/v1/jobs/${lost.payload.job_id}`)).status).toBe(404);
  // The agent refuses the re-sent command.run of the server's row (its ledger holds the tick):
  // the server has no such job any more, and makes nothing of it.
  await agent.acked(
    agent.send("command.result", {
      job_id: lost.payload.job_id,
      accepted: false,
      error: `tick already ran as job ${agentJob}`,
    }),
  );
  const after = await t.json(`/api/v1/jobs?host_id=${host.host_id}`);
  expect(after.body.items.map((j: { id: string; status: string }) => [j.id, j.status])).toEqual([
    [agentJob, "succeeded"],
  ]);
  agent.close();
});

test("a lost outbox: the next snapshots.report rebuilds the agent's jobs from fleet-job tags, once", async () => {
  const { host } = await hostWithSchedule();
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello(10);
  const time = t.clock.now().toISOString();
  const snapshot = (id: string, tags: string[]) => ({
    id: id.repeat(64 / id.length),
    short_id: id.repeat(8 / id.length),
    time,
    hostname: "web-01",
    paths: ["/srv"],
    tags,
  });
  const report = () =>
    agent.send("snapshots.report", {
      snapshots: [snapshot("a1", [`fleet-job=${agentJob}`]), snapshot("b2", ["daily"])],
    });
  await agent.acked(report());
  await agent.acked(report());
  const jobs = await t.json(`/api/v1/jobs?host_id=${host.host_id}`);
  expect(jobs.body.items).toHaveLength(1);
  expect(jobs.body.items[0]).toMatchObject({ id: agentJob, actor_kind: "agent", status: "succeeded", kind: "backup" });
  const host1 = await t.json(`/api/v1/hosts/${host.host_id}`);
  expect(host1.body.last_successful_backup_at).toBe(time);
  agent.close();
});

test("only backups run on the agent's own authority: a started prune that claims it is refused", async () => {
  const { host, scheduleId, tick } = await hostWithSchedule();
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello(10);
  const id = agent.send("job.started", {
    job_id: agentJob,
    kind: "prune",
    started_at: tick,
    autonomous: { schedule_id: scheduleId, scheduled_at: tick },
  });
  const error = await agent.next("error");
  expect(error.payload).toMatchObject({ ref_id: id });
  expect(error.payload.message).toContain("only backups");
  expect((await t.json(`/api/v1/jobs/${agentJob}`)).status).toBe(404);
  agent.close();
});
