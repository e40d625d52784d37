import { afterEach, beforeEach, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// At most one pending run per schedule (issue 18, item 7): a `*/2 * * * * *` schedule behind a
// slow backup queued a job every 2 s. A tick that comes while the schedule's previous run is still
// queued or running is now merged into it: no job, counted as skipped with the reason, shown on
// the schedule. A real server on loopback, real SQLite, a real WebSocket agent client.

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer({ clock: new ManualClock("2026-12-01T12:00:00.500Z") });
});
afterEach(async () => {
  await t.close();
});

type Skipped = {
  job_id: string;
  count: number;
  first_scheduled_at: string;
  last_scheduled_at: string;
  last_skipped_at: string;
  last_reason: string;
};

async function hostWithSchedule() {
  const host = await t.enroll();
  const s = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "*/2 * * * * *", paths: ["/srv"] },
  });
  expect(s.status).toBe(201);
  expect(s.body.skipped_ticks).toBeNull();
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello(3, { timezone: "UTC" });
  const scheduleId = s.body.id as string;
  return {
    agent,
    scheduleId,
    /** Fires and waits for the server's ack: the job (or the merge) is stored by then. */
    async fire(scheduled_at: string) {
      const id = agent.send("schedule.fire", { schedule_id: scheduleId, scheduled_at });
      await agent.acked(id);
      return id;
    },
    jobs: async () =>
      (await t.json(`/api/v1/jobs?host_id=${host.host_id}`)).body.items as Array<{
        id: string;
        status: string;
        scheduled_at: string;
      }>,
    skipped: async () => (await t.json(`/api/v1/schedules/${scheduleId}`)).body.skipped_ticks as Skipped | null,
    hostSchedules: async () =>
      (await t.json(`/api/v1/hosts/${host.host_id}/schedules`)).body.items as Array<{ skipped_ticks: Skipped | null }>,
  };
}

test("a tick while the previous run is running is merged into it: one job, one skip with its reason; the next tick after it ends makes a job", async () => {
  const h = await hostWithSchedule();
  await h.fire("2026-12-01T12:00:00Z");
  const run = await h.agent.next("command.run");
  const j1 = run.payload.job_id;
  await h.agent.acked(
    h.agent.send("command.result", { job_id: j1, accepted: true }),
    h.agent.send("job.started", { job_id: j1, kind: "backup", started_at: "2026-12-01T12:00:00.600Z" }),
  );

  t.clock.advance(2000);
  await h.fire("2026-12-01T12:00:02Z");
  expect((await h.jobs()).map((j) => j.id)).toEqual([j1]);
  expect(h.agent.of("command.run")).toHaveLength(1);
  expect(h.agent.of("error")).toEqual([]);
  expect(await h.skipped()).toEqual({
    job_id: j1,
    count: 1,
    first_scheduled_at: "2026-12-01T12:00:02.000Z",
    last_scheduled_at: "2026-12-01T12:00:02.000Z",
    last_skipped_at: "2026-12-01T12:00:02.500Z",
    last_reason: `previous run ${j1} still running (since 2026-12-01T12:00:00.600Z)`,
  });
  // The host's schedule list shows the same.
  expect((await h.hostSchedules())[0]?.skipped_ticks?.count).toBe(1);

  // Re-sent fires change nothing: the skipped tick is counted once, the run's own tick is its job.
  await h.fire("2026-12-01T12:00:02Z");
  await h.fire("2026-12-01T12:00:00Z");
  expect((await h.jobs()).map((j) => j.id)).toEqual([j1]);
  expect((await h.skipped())?.count).toBe(1);
  expect(h.agent.of("command.run")).toHaveLength(1);

  // Two more ticks while it runs: 3 merged into j1, 12:00:02 to 12:00:06.
  t.clock.advance(2000);
  await h.fire("2026-12-01T12:00:04Z");
  t.clock.advance(2000);
  await h.fire("2026-12-01T12:00:06Z");
  expect(await h.skipped()).toMatchObject({
    job_id: j1,
    count: 3,
    first_scheduled_at: "2026-12-01T12:00:02.000Z",
    last_scheduled_at: "2026-12-01T12:00:06.000Z",
  });

  // It ends; the next tick makes a job, and command.run goes out for it.
  await h.agent.acked(
    h.agent.send("job.finished", {
      job_id: j1,
      status: "succeeded",
      exit_code: 0,
      finished_at: "2026-12-01T12:00:07Z",
    }),
  );
  // A skipped tick re-sent after its run ended (a lost ack) is still not a job.
  await h.fire("2026-12-01T12:00:04Z");
  expect(await h.jobs()).toHaveLength(1);
  t.clock.advance(2000);
  await h.fire("2026-12-01T12:00:08Z");
  const second = await h.agent.next("command.run", 1);
  const jobs = await h.jobs();
  expect(jobs.map((j) => [j.id, j.scheduled_at])).toEqual([
    [second.payload.job_id, "2026-12-01T12:00:08.000Z"],
    [j1, "2026-12-01T12:00:00.000Z"],
  ]);
  // The schedule still says what was skipped last, and into which run.
  expect((await h.skipped())?.job_id).toBe(j1);
  h.agent.close();
});

test("a tick while the previous run is still queued (not started) is merged too, and says so", async () => {
  const h = await hostWithSchedule();
  await h.fire("2026-12-01T12:00:00Z");
  const j1 = (await h.agent.next("command.run")).payload.job_id;
  t.clock.advance(2000);
  await h.fire("2026-12-01T12:00:02Z");
  expect(await h.jobs()).toHaveLength(1);
  expect((await h.skipped())?.last_reason).toBe(`previous run ${j1} still queued`);
  // No second delivery of j1 for the merged tick: it was delivered for its own tick.
  expect(h.agent.of("command.run")).toHaveLength(1);

  // Cancelled while queued: the schedule's next tick makes a job again.
  expect((await t.json(`/api/v1/jobs/${j1}/cancel`, { method: "POST" })).body.status).toBe("cancelled");
  t.clock.advance(2000);
  await h.fire("2026-12-01T12:00:04Z");
  expect(await h.jobs()).toHaveLength(2);
  h.agent.close();
});

test("a run-now of another kind, or another schedule's run, does not hold a schedule's ticks back", async () => {
  const h = await hostWithSchedule();
  const host = (await t.json("/api/v1/hosts")).body.items[0].id as string;
  const other = await t.json(`/api/v1/hosts/${host}/schedules`, {
    method: "POST",
    body: { kind: "check", cron_expr: "*/2 * * * * *" },
  });
  const manual = await t.json(`/api/v1/hosts/${host}/jobs`, { method: "POST", body: { kind: "check" } });
  expect(manual.status).toBe(201);
  const otherFire = h.agent.send("schedule.fire", { schedule_id: other.body.id, scheduled_at: "2026-12-01T12:00:00Z" });
  await h.agent.acked(otherFire);
  await h.fire("2026-12-01T12:00:00Z");
  expect(await h.jobs()).toHaveLength(3);
  expect(await h.skipped()).toBeNull();
  h.agent.close();
});
