import { afterEach, beforeEach, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Invented ticks (issue 13): 2,000 schedule.fire frames with made-up scheduled_at values made
// 2,001 jobs. A fire is now taken only for a real run of the schedule's cron, in its zone, no
// more than 10 min ahead of the server's clock and no older than its latest run (the agent's
// catch-up after downtime sends that one).

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer({ clock: new ManualClock("2026-12-01T12:00:30Z") });
});
afterEach(async () => {
  await t.close();
});

/** A host with one schedule and its connected agent: protocol 3 with a zone when given, else 1 (no zone). */
async function hostWith(schedule: { cron_expr: string; timezone?: string }, hello: { timezone?: string } = {}) {
  const host = await t.enroll();
  const s = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
    method: "POST",
    body: { kind: "check", ...schedule },
  });
  expect(s.status).toBe(201);
  const scheduleId = s.body.id as string;
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello(hello.timezone ? 3 : 1, hello);
  const made = new Set<string>();
  return {
    agent,
    scheduleId,
    /** Fires once; the job it made, or the error frame that refused it. */
    async fire(scheduled_at: string) {
      const id = agent.send("schedule.fire", { schedule_id: scheduleId, scheduled_at });
      // The answer: a command.run for a new job, or an error naming this fire.
      const answer = await agent.until(
        () =>
          agent.of("error").find((e) => e.payload.ref_id === id) ??
          agent.of("command.run").find((m) => !made.has(m.payload.job_id)),
        "command.run or error",
      );
      if (answer.type === "error") return { error: answer.payload, job: null };
      made.add(answer.payload.job_id);
      return { error: null, job: (await t.json(`/api/v1/jobs/${answer.payload.job_id}`)).body };
    },
    jobs: async () => (await t.json(`/api/v1/jobs?host_id=${host.host_id}`)).body.items as unknown[],
  };
}

test("fires of invented, far-future and too-old times make no job, each with a clear error", async () => {
  // 02:00 in Kolkata (UTC+05:30) is 20:30 UTC; the latest run before now was 2026-11-30T20:30Z.
  const h = await hostWith({ cron_expr: "0 2 * * *", timezone: "Asia/Kolkata" });
  const refused = [
    ["2026-12-01T11:59:17Z", 'is not a run of "0 2 * * *" in Asia/Kolkata'],
    ["2026-12-01T02:00:00Z", 'is not a run of "0 2 * * *" in Asia/Kolkata'], // 02:00, but in UTC
    ["2026-12-01T20:30:00Z", "30570 s ahead of the server's clock"], // a real run, 8.5 h from now
    ["2026-11-29T20:30:00Z", "older than the schedule's latest run before now (2026-11-30T20:30:00.000Z)"],
  ] as const;
  for (const [at, why] of refused) {
    const r = await h.fire(at);
    expect(r.error?.code).toBe("conflict");
    expect(r.error?.message).toContain(why);
  }
  expect(await h.jobs()).toEqual([]);
  h.agent.close();
});

test("a flood of invented ticks makes no job", async () => {
  const h = await hostWith({ cron_expr: "0 * * * *" }, { timezone: "UTC" });
  // 500 distinct times in the last hour, none of them a run of "0 * * * *" (each at 7 s past a second).
  const ids = Array.from({ length: 500 }, (_, i) =>
    h.agent.send("schedule.fire", {
      schedule_id: h.scheduleId,
      scheduled_at: new Date(Date.parse("2026-12-01T11:00:01Z") + i * 7_000).toISOString(),
    }),
  );
  await h.agent.acked(...ids);
  const refusals = await h.agent.until(() => {
    const refused = h.agent.of("error").filter((e) => e.payload.code === "conflict");
    return refused.length === ids.length && refused;
  }, "500 refusals");
  expect(new Set(refusals.map((e) => e.payload.ref_id))).toEqual(new Set(ids));
  expect(h.agent.of("command.run")).toEqual([]);
  expect(await h.jobs()).toEqual([]);
  h.agent.close();
});

test("the latest missed run (the agent's catch-up) and each run as it falls make jobs", async () => {
  const h = await hostWith({ cron_expr: "0 2 * * *", timezone: "Asia/Kolkata" });
  // After downtime the agent fires its latest missed run once: yesterday's, 15.5 h ago.
  const caughtUp = await h.fire("2026-11-30T20:30:00Z");
  expect(caughtUp.error).toBeNull();
  expect(caughtUp.job).toMatchObject({ actor_kind: "schedule", scheduled_at: "2026-11-30T20:30:00.000Z" });
  // It runs and ends (a tick behind a run still pending is merged into it: tick-merge.int.test.ts).
  const finished = h.agent.send("job.finished", {
    job_id: caughtUp.job.id,
    status: "succeeded",
    exit_code: 0,
    finished_at: "2026-12-01T12:05:00Z",
  });
  await h.agent.acked(finished);
  // Today's run, arriving 9 min late (a slow connection, or the host's clock behind).
  t.clock.advance(8.5 * 3_600_000 + 9 * 60_000);
  const onTime = await h.fire("2026-12-01T20:30:00Z");
  expect(onTime.error).toBeNull();
  expect(onTime.job.scheduled_at).toBe("2026-12-01T20:30:00.000Z");
  expect(await h.jobs()).toHaveLength(2);
  h.agent.close();
});

test("a host's clock a few minutes ahead is allowed: its runs fire early", async () => {
  const h = await hostWith({ cron_expr: "*/15 * * * *" }, { timezone: "Europe/Berlin" });
  // Now is 12:00:30 UTC; the host's clock says 12:15 (14.5 min ahead) for the next run: refused, as
  // more than 10 min. At 12:08:00 server time the same run is 7 min ahead: taken.
  expect((await h.fire("2026-12-01T12:15:00Z")).error?.message).toContain("ahead of the server's clock");
  t.clock.advance(7.5 * 60_000);
  expect((await h.fire("2026-12-01T12:15:00Z")).error).toBeNull();
  h.agent.close();
});

test("the zone is the schedule's, else the host's; an agent that never named one may use any offset", async () => {
  // The host's zone (New York, UTC-5): 02:00 there is 07:00 UTC, and 02:00 UTC is not a run.
  const ny = await hostWith({ cron_expr: "0 2 * * *" }, { timezone: "America/New_York" });
  expect((await ny.fire("2026-12-01T02:00:00Z")).error?.message).toContain("in America/New_York");
  expect((await ny.fire("2026-12-01T07:00:00Z")).error).toBeNull();
  ny.agent.close();
  // A protocol 1 agent reads its crons in its local zone, unknown to the server: 02:00 at +01:00
  // is taken, a time that is 02:00 in no zone is not.
  const old = await hostWith({ cron_expr: "0 2 * * *" });
  expect((await old.fire("2026-12-01T01:00:07Z")).error?.message).toContain("in any time zone");
  expect((await old.fire("2026-12-01T01:00:00Z")).error).toBeNull();
  old.agent.close();
});
