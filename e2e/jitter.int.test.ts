import { afterAll, beforeAll, expect, test } from "bun:test";
import { Scheduler } from "../agent/src/scheduler.ts";
import { FakeClock } from "../agent/src/testing/fake-clock.ts";
import type { AgentMessage, ScheduleSetPayload } from "../protocol/index.ts";
import { ManualClock } from "../server/src/clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";

// Issue 18, jitter: 100 hosts on one `0 2 * * *` policy schedule with jitter "1h", with an
// injected clock. The real server computes each host's delay and sends it in schedule.set (protocol
// 9) over real sockets; each host runs the agent's real Scheduler on one fake clock, its fires go
// back over its socket, and the server turns them into jobs (fire → job → command.run). The fires
// spread across the hour, each host at the same offset every day, one job per tick and host.

const HOSTS = 100;
const START = "2026-12-01T01:00:00Z";
let t: TestServer;
let policyId = "";
const agentClock = new FakeClock(START);
interface Host {
  id: string;
  agent: TestAgent;
  scheduler: Scheduler;
  set: ScheduleSetPayload;
  /** [scheduled_at, sent at] of each fire. */
  fires: [string, string][];
}
const hosts: Host[] = [];

/** Moves the server's clock and the agents' together, a minute at a time (the server never behind). */
function advanceTo(iso: string) {
  const end = Date.parse(iso);
  while (agentClock.now().getTime() < end) {
    const step = Math.min(60_000, end - agentClock.now().getTime());
    t.clock.advance(agentClock.now().getTime() + step - t.clock.now().getTime());
    agentClock.advance(step);
  }
}

/** Waits until every host has received `n` command.runs. */
const commandRuns = (n: number) =>
  Promise.all(hosts.map((h) => h.agent.until(() => h.agent.of("command.run").length >= n, `${n} command.run`)));

beforeAll(async () => {
  t = await startTestServer({ clock: new ManualClock(START) });
  const tok = await t.json("/api/v1/enrollment-tokens", {
    method: "POST",
    body: { uses: HOSTS, labels: { role: "night" } },
  });
  const policy = await t.json("/api/v1/policies", {
    method: "POST",
    body: {
      name: "nightly",
      selector: { labels: { role: "night" } },
      schedules: [{ kind: "backup", cron_expr: "0 2 * * *", timezone: "UTC", jitter: "1h", paths: ["/srv"] }],
    },
  });
  expect(policy.status).toBe(201);
  policyId = policy.body.id;
  for (let i = 0; i < HOSTS; i++) {
    const name = `web-${String(i).padStart(3, "0")}`;
    const enrolled = await t.json("/api/v1/agent/enroll", {
      method: "POST",
      body: { token: tok.body.token, hostname: name },
      token: null,
    });
    expect(enrolled.status).toBe(201);
    const agent = await TestAgent.connect(t.url, enrolled.body.agent_token);
    const set = await agent.hello(9, { hostname: name, resticHost: name });
    if (!set) throw new Error("no schedule.set");
    const fires: [string, string][] = [];
    const send = (m: AgentMessage) => {
      if (m.type === "schedule.fire") fires.push([m.payload.scheduled_at, agentClock.now().toISOString()]);
      agent.sendRaw(JSON.stringify(m));
      return true;
    };
    const lastFires = new Map<string, string>();
    const scheduler = new Scheduler({
      clock: agentClock,
      send,
      state: { getLastFire: (id) => lastFires.get(id), setLastFire: (id, at) => void lastFires.set(id, at) },
      log: { warn: (m) => console.error(m) },
      timezone: "UTC",
    });
    await scheduler.apply(set.payload);
    scheduler.start();
    hosts.push({ id: enrolled.body.host_id, agent, scheduler, set: set.payload, fires });
  }
}, 120_000);

afterAll(async () => {
  for (const h of hosts) {
    await h.scheduler.stop();
    h.agent.close();
  }
  await t?.close();
});

test("100 hosts on one 0 2 * * * schedule with jitter 1h fire spread across the hour, each at the same offset every day, one job per tick and host", async () => {
  // Each host's delay as the server sent it, and as its schedules page shows it.
  for (const h of hosts) {
    const entry = h.set.schedules[0];
    expect(entry?.cron_expr).toBe("0 2 * * *");
    const [view] = (await t.json(`/api/v1/hosts/${h.id}/schedules`)).body.items;
    expect(view).toMatchObject({ id: entry?.id, policy_id: policyId, jitter: "1h" });
    expect(view.delay_seconds).toBe(entry?.delay_seconds ?? 0);
    expect(Date.parse(view.next_real_runs[0]) - Date.parse(view.next_runs[0])).toBe(view.delay_seconds * 1000);
  }

  advanceTo("2026-12-01T03:00:00Z");
  await commandRuns(1);
  // Each host's run ends before the next night's tick, which would otherwise be merged into it
  // (at most one pending run per schedule: tick-merge.int.test.ts).
  await Promise.all(
    hosts.map(async (h) => {
      const finished = h.agent.send("job.finished", {
        job_id: h.agent.of("command.run")[0]?.payload.job_id ?? "",
        status: "succeeded",
        exit_code: 0,
        finished_at: agentClock.now().toISOString(),
      });
      await h.agent.acked(finished);
    }),
  );
  advanceTo("2026-12-02T03:00:00Z");
  await commandRuns(2);

  const day = (n: number) => Date.parse(`2026-12-0${n}T02:00:00Z`);
  const offsets: number[] = [];
  for (const h of hosts) {
    const delayMs = (h.set.schedules[0]?.delay_seconds ?? 0) * 1000;
    // Two fires: each names its nominal tick and was sent at that tick plus the host's delay.
    expect(h.fires).toEqual([
      ["2026-12-01T02:00:00Z", new Date(day(1) + delayMs).toISOString()],
      ["2026-12-02T02:00:00Z", new Date(day(2) + delayMs).toISOString()],
    ]);
    offsets.push(delayMs / 1000);
  }
  // Spread across the hour: every offset in [0, 3600), at least 40 different minutes of the 60,
  // and no minute holds more than 10 of the 100 hosts (all 100 at 02:00:00 without jitter).
  expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...offsets)).toBeLessThan(3600);
  const perMinute = Map.groupBy(offsets, (o) => Math.floor(o / 60));
  expect(perMinute.size).toBeGreaterThanOrEqual(40);
  expect(Math.max(...[...perMinute.values()].map((l) => l.length))).toBeLessThanOrEqual(10);
  expect(Math.max(...offsets) - Math.min(...offsets)).toBeGreaterThan(50 * 60);

  // One job per tick and host, each with its nominal scheduled_at; no errors on any socket.
  for (const h of hosts) {
    const jobs = (await t.json(`/api/v1/jobs?host_id=${h.id}`)).body.items as {
      actor_kind: string;
      scheduled_at: string;
    }[];
    expect(jobs.map((j) => [j.actor_kind, j.scheduled_at]).sort()).toEqual([
      ["schedule", "2026-12-01T02:00:00.000Z"],
      ["schedule", "2026-12-02T02:00:00.000Z"],
    ]);
    expect(h.agent.of("command.run")).toHaveLength(2);
    expect(h.agent.of("error")).toEqual([]);
  }
}, 120_000);
