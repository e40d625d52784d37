import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// The server speaks protocol versions 1 to 3 and answers each agent in its own, so a fleet can
// upgrade one host at a time. Real server, real sockets.

let t: TestServer;
beforeEach(async () => {
  // Just after the recorded fire's run (02:00 in Europe/Berlin): a fire must be a recent run.
  t = await startTestServer({ clock: new ManualClock("2026-12-01T01:00:05Z") });
});
afterEach(async () => {
  await t.close();
});

async function hostWithSchedule(timezone: string | null) {
  const host = await t.enroll();
  await t.json(`/api/v1/hosts/${host.host_id}/config`, {
    method: "PUT",
    body: { repo_url: "/srv/repo", repo_password: "pw" },
  });
  const s = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 2 * * *", paths: ["/srv"], ...(timezone ? { timezone } : {}) },
  });
  expect(s.status).toBe(201);
  return { ...host, schedule_id: s.body.id as string };
}

describe("a recorded protocol 1 client", () => {
  test("handshake, fire and job, with frames exactly as a version 1 agent sent them", async () => {
    const h = await hostWithSchedule("Europe/Berlin");
    const agent = await TestAgent.connect(t.url, h.agent_token);
    // Recorded from the version 1 agent (no restic_host, active_job_ids, timezone; facts in stats).
    agent.sendRaw(
      JSON.stringify({
        type: "hello",
        id: "0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0001",
        ts: "2026-11-30T12:00:00.000Z",
        payload: {
          protocol_version: 1,
          agent_version: "0.1.0",
          restic_version: "0.14.0",
          hostname: "web-01",
          os: "linux",
          arch: "amd64",
          boot_time: "2026-11-29T06:12:44.000Z",
        },
      }),
    );
    const set = await agent.next("schedule.set");
    // Served in its own version: the time zone rides in options.timezone, never as a typed field.
    expect(set.payload.schedules[0]).toMatchObject({ cron_expr: "0 2 * * *", options: { timezone: "Europe/Berlin" } });
    expect("timezone" in (set.payload.schedules[0] ?? {})).toBe(false);
    agent.sendRaw(
      `{"type":"schedule.ack","id":"0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0002","ts":"2026-11-30T12:00:00.100Z","payload":{"version":${set.payload.version},"applied_at":"2026-11-30T12:00:00.100Z"}}`,
    );
    agent.sendRaw(
      `{"type":"schedule.fire","id":"0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0003","ts":"2026-12-01T01:00:00.000Z","payload":{"schedule_id":"${h.schedule_id}","scheduled_at":"2026-12-01T01:00:00Z"}}`,
    );
    const run = await agent.next("command.run");
    const jobId = run.payload.job_id;
    const frames = [
      `{"type":"command.result","id":"0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0004","ts":"2026-12-01T01:00:00.200Z","payload":{"job_id":"${jobId}","accepted":true}}`,
      `{"type":"job.started","id":"0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0005","ts":"2026-12-01T01:00:01.000Z","payload":{"job_id":"${jobId}","kind":"backup","started_at":"2026-12-01T01:00:01.000Z"}}`,
      `{"type":"job.finished","id":"0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0006","ts":"2026-12-01T01:00:02.000Z","payload":{"job_id":"${jobId}","status":"failed","exit_code":1,"finished_at":"2026-12-01T01:00:02.000Z","stats":{"failure_reason":"wrong_password"},"error":"The repository password is wrong"}}`,
    ];
    for (const f of frames) agent.sendRaw(f);
    await agent.acked(
      "0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0004",
      "0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0005",
      "0b9f3c1e-1c55-4a4e-9f0e-5f1d2f6a0006",
    );
    expect(agent.of("error")).toEqual([]);
    const job = (await t.json(`/api/v1/jobs/${jobId}`)).body;
    expect(job).toMatchObject({
      status: "failed",
      actor_kind: "schedule",
      stats: { failure_reason: "wrong_password" },
    });
    expect((await t.json(`/api/v1/hosts/${h.host_id}`)).body).toMatchObject({
      protocol_version: 1,
      schedule_in_sync: true,
      restic_host: "web-01",
    });
    agent.close();
  });
});

describe("protocol 3", () => {
  test("typed time zone in schedule.set; the host's zone for schedules without one", async () => {
    const h = await hostWithSchedule("Europe/Berlin");
    await t.json(`/api/v1/hosts/${h.host_id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 2 * * *", paths: ["/data"] },
    });
    const agent = await TestAgent.connect(t.url, h.agent_token);
    const set = await agent.hello(3, { activeJobIds: [], timezone: "Asia/Tokyo" });
    if (!set) throw new Error("no schedule.set");
    const own = set.payload.schedules.find((e) => e.paths?.[0] === "/srv");
    const plain = set.payload.schedules.find((e) => e.paths?.[0] === "/data");
    expect(own).toMatchObject({ timezone: "Europe/Berlin" });
    expect(own?.options?.timezone).toBeUndefined();
    expect(plain?.timezone).toBeUndefined();
    expect((await t.json(`/api/v1/hosts/${h.host_id}`)).body.timezone).toBe("Asia/Tokyo");
    // The schedule without a zone runs at 02:00 in Tokyo (17:00 UTC), not in the server's zone.
    const schedules = (await t.json(`/api/v1/hosts/${h.host_id}/schedules`)).body.items;
    const tokyo = schedules.find((s: { paths: string[] }) => s.paths[0] === "/data");
    expect(tokyo.next_runs[0]).toMatch(/T17:00:00\.000Z$/);
    agent.close();
  });

  test("failure_reason and warnings travel typed, and the job's stats show them", async () => {
    const h = await hostWithSchedule(null);
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(3);
    const jobs = [] as string[];
    for (const kind of ["check", "check"] as const) {
      await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind } });
      jobs.push((await agent.next("command.run", jobs.length)).payload.job_id);
    }
    const ids = [
      agent.send("job.finished", {
        job_id: jobs[0] as string,
        status: "failed",
        exit_code: 11,
        finished_at: "2026-12-01T01:00:02Z",
        failure_reason: "locked",
        error: "The repository is locked",
      }),
      agent.send("job.finished", {
        job_id: jobs[1] as string,
        status: "succeeded",
        exit_code: 3,
        finished_at: "2026-12-01T01:00:03Z",
        stats: { files_new: 1 },
        warnings: ["some source files could not be read"],
      }),
    ];
    await agent.acked(...ids);
    expect((await t.json(`/api/v1/jobs/${jobs[0]}`)).body.stats).toEqual({ failure_reason: "locked" });
    expect((await t.json(`/api/v1/jobs/${jobs[1]}`)).body.stats).toEqual({
      files_new: 1,
      warnings: ["some source files could not be read"],
      warning: "some source files could not be read",
    });
    agent.close();
  });

  test("every hello reconciles: a job the agent no longer holds is failed, with a reason that says so", async () => {
    const h = await hostWithSchedule(null);
    const first = await TestAgent.connect(t.url, h.agent_token);
    await first.hello(3);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
      ids.push((await first.next("command.run", i)).payload.job_id);
    }
    const [running, accepted, kept] = ids as [string, string, string];
    await first.acked(
      first.send("command.result", { job_id: running, accepted: true }),
      first.send("command.result", { job_id: accepted, accepted: true }),
      first.send("command.result", { job_id: kept, accepted: true }),
      first.send("job.started", { job_id: running, kind: "check", started_at: "2026-12-01T01:00:00Z" }),
    );
    first.close();
    await first.waitClosed();

    // The agent lost its state: it comes back holding only `kept`.
    const again = await TestAgent.connect(t.url, h.agent_token);
    await again.hello(3, { activeJobIds: [kept] });
    for (const id of [running, accepted]) {
      const job = (await t.json(`/api/v1/jobs/${id}`)).body;
      expect(job.status).toBe("failed");
      expect(job.error).toContain("no longer holds this job");
    }
    expect((await t.json(`/api/v1/jobs/${kept}`)).body.status).toBe("queued");
    again.close();
  });

  test("a hello without active_job_ids (protocol 1 or 2) fails nothing", async () => {
    const h = await hostWithSchedule(null);
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(2);
    await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
    const id = (await agent.next("command.run")).payload.job_id;
    await agent.acked(agent.send("command.result", { job_id: id, accepted: true }));
    agent.close();
    await agent.waitClosed();
    const again = await TestAgent.connect(t.url, h.agent_token);
    await again.hello(2);
    expect((await t.json(`/api/v1/jobs/${id}`)).body.status).toBe("queued");
    again.close();
  });

  test("error frames say whether the same frame may succeed again", async () => {
    const h = await hostWithSchedule(null);
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(3);
    agent.sendRaw('{"type":"heartbeat","id":"x1","ts":"nope","payload":{}}');
    const err = await agent.next("error");
    expect(err.payload).toMatchObject({ code: "invalid_message", retryable: false });
    agent.close();
  });
});

describe("protocol 10: max_offline_age_seconds (DESIGN §8.7)", () => {
  const patchHost = (id: string, body: Record<string, unknown>) =>
    t.json(`/api/v1/hosts/${id}`, { method: "PATCH", body });

  test("every config.update carries the host's value in effect, and a change sends a fresh one", async () => {
    const h = await hostWithSchedule(null);
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(10, { activeJobIds: [] });
    // The default: 7 days.
    expect((await agent.next("config.update")).payload.max_offline_age_seconds).toBe(604_800);

    expect((await patchHost(h.host_id, { max_offline_age: "36h" })).status).toBe(200);
    expect((await agent.next("config.update", 1)).payload.max_offline_age_seconds).toBe(129_600);

    // "0": the agent never runs a backup on its own.
    expect((await patchHost(h.host_id, { max_offline_age: "off" })).status).toBe(200);
    expect((await agent.next("config.update", 2)).payload.max_offline_age_seconds).toBe(0);

    // Cleared: a policy that matches the host and sets one decides, pushed when it is created.
    expect((await patchHost(h.host_id, { max_offline_age: null })).status).toBe(200);
    expect((await agent.next("config.update", 3)).payload.max_offline_age_seconds).toBe(604_800);
    const policy = await t.json("/api/v1/policies", { method: "POST", body: { name: "p", max_offline_age: "2d" } });
    expect(policy.status).toBe(201);
    expect((await agent.next("config.update", 4)).payload.max_offline_age_seconds).toBe(172_800);
    // Its change reaches the host too.
    await t.json(`/api/v1/policies/${policy.body.id}`, { method: "PATCH", body: { max_offline_age: "12h" } });
    expect((await agent.next("config.update", 5)).payload.max_offline_age_seconds).toBe(43_200);
    // An unchanged value pushes nothing: the next frame the agent sees is the next real change.
    expect((await patchHost(h.host_id, { max_offline_age: null })).status).toBe(200);
    expect((await patchHost(h.host_id, { max_offline_age: "1d" })).status).toBe(200);
    expect((await agent.next("config.update", 6)).payload.max_offline_age_seconds).toBe(86_400);
    // Cleared again, the policy's 12h; the policy deleted, its hosts hear of it: the default again.
    expect((await patchHost(h.host_id, { max_offline_age: null })).status).toBe(200);
    expect((await agent.next("config.update", 7)).payload.max_offline_age_seconds).toBe(43_200);
    expect((await t.json(`/api/v1/policies/${policy.body.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await agent.next("config.update", 8)).payload.max_offline_age_seconds).toBe(604_800);
    agent.close();
  });

  test("an agent of protocol 9 is never sent it", async () => {
    const h = await hostWithSchedule(null);
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(9, { activeJobIds: [] });
    const first = await agent.next("config.update");
    expect(first.payload.repo_url).toBe("/srv/repo");
    expect("max_offline_age_seconds" in first.payload).toBe(false);
    expect((await patchHost(h.host_id, { max_offline_age: "36h" })).status).toBe(200);
    const second = await agent.next("config.update", 1);
    expect("max_offline_age_seconds" in second.payload).toBe(false);
    agent.close();
  });
});
