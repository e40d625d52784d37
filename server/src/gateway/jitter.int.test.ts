import { afterEach, beforeEach, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { jitterOffset } from "../domain/jitter.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Jitter through the real server and real sockets (DESIGN §8.3): the API keeps and shows a
// schedule's jitter, a protocol 9 agent is sent its own delay, a protocol 8 agent still gets its
// schedules (without a delay), and a fire that arrives late by the delay still makes its job.

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer({ clock: new ManualClock("2026-12-01T01:00:00Z") });
});
afterEach(async () => {
  await t.close();
});

async function hostWith(schedule: Record<string, unknown>) {
  const host = await t.enroll();
  const s = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", paths: ["/srv"], timezone: "UTC", ...schedule },
  });
  expect(s.status).toBe(201);
  return { ...host, schedule_id: s.body.id as string };
}

test("a host schedule's jitter is stored, shown with the host's delay and its next real runs, and sent as delay_seconds", async () => {
  const h = await hostWith({ cron_expr: "0 2 * * *", jitter: "1h" });
  const delay = jitterOffset(h.host_id, h.schedule_id, 3600);
  const agent = await TestAgent.connect(t.url, h.agent_token);
  const set = await agent.hello(9);
  expect(set?.payload.schedules).toEqual([
    {
      id: h.schedule_id,
      kind: "backup",
      cron_expr: "0 2 * * *",
      timezone: "UTC",
      paths: ["/srv"],
      enabled: true,
      delay_seconds: delay,
    },
  ]);
  const [view] = (await t.json(`/api/v1/hosts/${h.host_id}/schedules`)).body.items;
  expect(view).toMatchObject({ jitter: "1h", delay_seconds: delay, jitter_problem: null });
  expect(view.next_runs[0]).toBe("2026-12-01T02:00:00.000Z");
  expect(view.next_real_runs[0]).toBe(new Date(Date.parse("2026-12-01T02:00:00Z") + delay * 1000).toISOString());
  // Edited: a new set with no delay; bad values are refused naming the field.
  for (const [jitter, why] of [
    ["soon", "must be a duration like 90s"],
    ["25h", "longer than 24h"],
  ]) {
    const bad = await t.json(`/api/v1/schedules/${h.schedule_id}`, { method: "PATCH", body: { jitter } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.path).toBe("jitter");
    expect(bad.body.error.message).toContain(why);
  }
  const off = await t.json(`/api/v1/schedules/${h.schedule_id}`, { method: "PATCH", body: { jitter: null } });
  expect(off.body).toMatchObject({ jitter: null, delay_seconds: 0 });
  const next = await agent.next("schedule.set", 1);
  expect(next.payload.schedules[0]).not.toHaveProperty("delay_seconds");
  agent.close();
});

test("an agent of protocol 8 still gets its schedules, without a delay, and the host's view says why", async () => {
  const h = await hostWith({ cron_expr: "0 2 * * *", jitter: "30m" });
  const agent = await TestAgent.connect(t.url, h.agent_token);
  const set = await agent.hello(8);
  expect(set?.payload.schedules).toHaveLength(1);
  expect(set?.payload.schedules[0]).toMatchObject({ id: h.schedule_id, cron_expr: "0 2 * * *" });
  expect(set?.payload.schedules[0]).not.toHaveProperty("delay_seconds");
  const [view] = (await t.json(`/api/v1/hosts/${h.host_id}/schedules`)).body.items;
  expect(view).toMatchObject({ jitter: "30m", delay_seconds: 0 });
  expect(view.jitter_problem).toContain("speaks protocol 8, and jitter needs protocol 9");
  expect(view.next_real_runs).toEqual(view.next_runs);
  // It fires at the nominal time, as before, and gets its job.
  t.clock.advance(60 * 60_000);
  agent.send("schedule.fire", { schedule_id: h.schedule_id, scheduled_at: "2026-12-01T02:00:00Z" });
  const run = await agent.next("command.run");
  expect((await t.json(`/api/v1/jobs/${run.payload.job_id}`)).body.scheduled_at).toBe("2026-12-01T02:00:00.000Z");
  agent.close();
});

test("a missed jittered tick caught up after the next nominal tick still makes its job, with its nominal time", async () => {
  // Hourly, jitter 1h: find a host whose delay is over 40 min, so the catch-up comes after 03:00 + skew.
  let h = await hostWith({ cron_expr: "0 * * * *", jitter: "1h" });
  while (jitterOffset(h.host_id, h.schedule_id, 3600) < 40 * 60)
    h = await hostWith({ cron_expr: "0 * * * *", jitter: "1h" });
  const delay = jitterOffset(h.host_id, h.schedule_id, 3600);
  const agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello(9);
  // 02:00's delayed time fell while the agent was away; it reconnects 30 s before 03:00's delayed
  // time, past 03:10: the latest run before now less the skew is 03:00, but 03:00 is not due here.
  t.clock.advance(2 * 60 * 60_000 + delay * 1000 - 30_000);
  expect(t.clock.now().getTime()).toBeGreaterThan(Date.parse("2026-12-01T03:10:00Z"));
  agent.send("schedule.fire", { schedule_id: h.schedule_id, scheduled_at: "2026-12-01T02:00:00Z" });
  const run = await agent.next("command.run");
  const job = (await t.json(`/api/v1/jobs/${run.payload.job_id}`)).body;
  expect(job).toMatchObject({ scheduled_id: h.schedule_id, scheduled_at: "2026-12-01T02:00:00.000Z" });
  // The same tick again makes no second job.
  agent.send("schedule.fire", { schedule_id: h.schedule_id, scheduled_at: "2026-12-01T02:00:00Z" });
  agent.send("schedule.fire", { schedule_id: h.schedule_id, scheduled_at: "2026-12-01T01:00:00Z" });
  const refused = await agent.next("error");
  expect(refused.payload.message).toContain("older than the schedule's latest run");
  expect((await t.json(`/api/v1/jobs?host_id=${h.host_id}`)).body.items).toHaveLength(1);
  agent.close();
});

test("a policy schedule's jitter reaches each host's copy, with each host's own delay", async () => {
  const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 3, labels: { env: "prod" } } });
  const hosts: { host_id: string; agent_token: string }[] = [];
  for (const name of ["a", "b", "c"]) {
    const res = await t.json("/api/v1/agent/enroll", {
      method: "POST",
      body: { token: tok.body.token, hostname: name },
      token: null,
    });
    hosts.push(res.body);
  }
  const policy = await t.json("/api/v1/policies", {
    method: "POST",
    body: {
      name: "nightly",
      selector: { labels: { env: "prod" } },
      schedules: [{ kind: "backup", cron_expr: "0 2 * * *", jitter: "1h", paths: ["/srv"] }],
    },
  });
  expect(policy.status).toBe(201);
  expect(policy.body.schedules[0].jitter).toBe("1h");
  expect((await t.json(`/api/v1/policies/${policy.body.id}`)).body.schedules[0].jitter).toBe("1h");
  const delays = [];
  for (const h of hosts) {
    const [s] = (await t.json(`/api/v1/hosts/${h.host_id}/schedules`)).body.items;
    expect(s).toMatchObject({
      jitter: "1h",
      policy_id: policy.body.id,
      delay_seconds: jitterOffset(h.host_id, s.id, 3600),
    });
    const agent = await TestAgent.connect(t.url, h.agent_token);
    const set = await agent.hello(9);
    expect(set?.payload.schedules[0]?.delay_seconds ?? 0).toBe(s.delay_seconds);
    delays.push(s.delay_seconds);
    agent.close();
  }
  expect(new Set(delays).size).toBe(3);
  // A bad jitter in a policy is refused by its place.
  const bad = await t.json(`/api/v1/policies/${policy.body.id}`, {
    method: "PATCH",
    body: { schedules: [{ kind: "backup", cron_expr: "0 2 * * *", jitter: "1 hour", paths: ["/srv"] }] },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.path).toBe("schedules.0.jitter");
});
