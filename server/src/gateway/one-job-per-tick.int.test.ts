import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

test("one job per tick: a burst of re-sent fires, in every spelling of the instant, makes one job", async () => {
  const host = await t.enroll();
  const s = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] },
  });
  // The schedule's latest real tick: the top of the current hour.
  const tick = new Date(Math.floor(t.clock.now().getTime() / 3_600_000) * 3_600_000);
  const iso = tick.toISOString();
  const plusOne = new Date(tick.getTime() + 3_600_000).toISOString().replace(/\.000Z$/, "+01:00");
  const spellings = [iso, iso.replace(".000Z", "Z"), iso.replace(".000Z", "+00:00"), plusOne, iso.toLowerCase()];
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello();
  // Sent without waiting: they land in the same group commit, and in the ones after it.
  const ids = Array.from({ length: 20 }, (_, i) =>
    agent.send("schedule.fire", { schedule_id: s.body.id, scheduled_at: spellings[i % spellings.length] as string }),
  );
  await agent.acked(...ids);
  const jobs = await t.json(`/api/v1/jobs?host_id=${host.host_id}`);
  expect(jobs.body.items.map((j: { scheduled_at: string }) => j.scheduled_at)).toEqual([iso]);
  expect(new Set(agent.of("command.run").map((m) => m.payload.job_id))).toEqual(new Set([jobs.body.items[0].id]));
  expect(agent.of("error")).toEqual([]);
  agent.close();
});
