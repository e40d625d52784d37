import { afterEach, beforeEach, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Restore confidence on the server (issue 16), over the real server and real agent sockets with
// an injected clock: drills as a job kind at every door, the host's drill facts and the
// drill_failed alert, rolling data checks, and checks as the server records them.

let t: TestServer;
let clock: ManualClock;
const agents: TestAgent[] = [];
const HOUR = 3_600_000;

beforeEach(async () => {
  clock = new ManualClock("2026-12-02T10:00:30Z");
  t = await startTestServer({ clock });
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await t.close();
});

/** An enrolled host whose agent says hello in `version` (none: enrolled, never connected). */
async function host(name: string, version: number | null = 7) {
  const h = await t.enroll(name);
  if (version === null) return { id: h.host_id, token: h.agent_token, agent: null };
  const agent = await TestAgent.connect(t.url, h.agent_token);
  agents.push(agent);
  await agent.hello(version, { hostname: name, resticHost: name });
  return { id: h.host_id, token: h.agent_token, agent };
}

/** The agent runs a job to its end: accepted, then finished as given. */
async function finish(
  agent: TestAgent,
  jobId: string,
  status: "succeeded" | "failed",
  extra: { stats?: Record<string, unknown>; error?: string } = {},
) {
  const ids = [
    agent.send("command.result", { job_id: jobId, accepted: true }),
    agent.send("job.finished", {
      job_id: jobId,
      status,
      exit_code: status === "succeeded" ? 0 : 1,
      finished_at: clock.now().toISOString(),
      ...extra,
    }),
  ];
  await agent.acked(...ids);
}

const post = (path: string, body: unknown) => t.json(path, { method: "POST", body });

test("a drill run now reaches a protocol 7 agent; its report becomes the host's drill facts and drill_failed", async () => {
  const h = await host("web-01");
  const agent = h.agent as TestAgent;
  const run = await post(`/api/v1/hosts/${h.id}/jobs`, { kind: "drill", spec: { sample_files: 5, max_bytes: "10M" } });
  expect(run.status).toBe(201);
  const cmd = await agent.next("command.run");
  expect(cmd.payload).toEqual({
    job_id: run.body.id,
    kind: "drill",
    args: [],
    spec: { sample_files: 5, max_bytes: "10M" },
  });

  const before = (await t.json(`/api/v1/hosts/${h.id}`)).body;
  expect([before.last_drill_at, before.last_drill_result, before.last_drill_job_id]).toEqual([null, null, null]);

  const report = {
    snapshot_id: "3f2a9c1d",
    files_requested: 5,
    files_verified: 4,
    live_matched: 3,
    mismatched: ["/srv/app/config.yml"],
    bytes: 1234,
    result: "failed",
    reason: "1 file differs from the live file: /srv/app/config.yml",
  };
  await finish(agent, run.body.id, "failed", { stats: { drill: report }, error: "drill failed" });
  const view = (await t.json(`/api/v1/hosts/${h.id}`)).body;
  expect(view).toMatchObject({
    last_drill_at: clock.now().toISOString(),
    last_drill_result: "failed",
    last_drill_job_id: run.body.id,
  });
  // The report is in the job view as the agent sent it.
  expect((await t.json(`/api/v1/jobs/${run.body.id}`)).body.stats.drill).toEqual(report);
  // The list carries the same facts.
  const listed = (await t.json("/api/v1/hosts")).body.items.find((x: { id: string }) => x.id === h.id);
  expect(listed.last_drill_result).toBe("failed");

  t.server.sweep();
  const firing = (await t.json("/api/v1/alerts?state=firing")).body.items;
  expect(firing.map((a: { condition: string; summary: string }) => [a.condition, a.summary])).toEqual([
    [
      "drill_failed",
      "restore drill failed on web-01 (snapshot 3f2a9c1d): 1 file differs from the live file: /srv/app/config.yml",
    ],
  ]);

  // A later drill that passes resolves it.
  clock.advance(HOUR);
  const again = await post(`/api/v1/hosts/${h.id}/jobs`, { kind: "drill" });
  await agent.next("command.run", 1);
  await finish(agent, again.body.id, "succeeded", {
    stats: { drill: { ...report, mismatched: [], files_verified: 5, result: "passed", reason: undefined } },
  });
  expect((await t.json(`/api/v1/hosts/${h.id}`)).body.last_drill_result).toBe("passed");
  await agent.acked(agent.send("heartbeat", { sent_at: clock.now().toISOString() }));
  t.server.sweep();
  expect((await t.json("/api/v1/alerts?state=firing")).body.items).toEqual([]);
  const resolved = (await t.json("/api/v1/alerts?state=resolved")).body.items;
  expect(resolved.map((a: { condition: string }) => a.condition)).toEqual(["drill_failed"]);
});

test("an agent before protocol 7 cannot drill: run-now is a 409, schedule.set leaves drills out, a queued drill fails", async () => {
  const old = await host("old-01", 6);
  const res = await post(`/api/v1/hosts/${old.id}/jobs`, { kind: "drill" });
  expect(res.status).toBe(409);
  expect(res.body.error.message).toContain("protocol 6");
  expect(res.body.error.message).toContain("upgrade the agent");

  // A drill schedule is accepted (the host may be upgraded), but not sent to this agent.
  const agent = old.agent as TestAgent;
  const sets = agent.of("schedule.set").length;
  const drill = await post(`/api/v1/hosts/${old.id}/schedules`, {
    kind: "drill",
    cron_expr: "0 4 * * 0",
    options: { sample_files: 10 },
  });
  expect(drill.status).toBe(201);
  const check = await post(`/api/v1/hosts/${old.id}/schedules`, { kind: "check", cron_expr: "0 5 * * *" });
  expect(check.status).toBe(201);
  const set = await agent.next("schedule.set", sets + 1);
  expect(set.payload.schedules.map((s) => s.kind)).toEqual(["check"]);

  // Upgraded: the same host says hello in 7 and gets both.
  agent.close();
  await agent.waitClosed();
  const upgraded = await TestAgent.connect(t.url, old.token);
  agents.push(upgraded);
  const fresh = await upgraded.hello(7, { hostname: "old-01", resticHost: "old-01" });
  expect(fresh?.payload.schedules.map((s) => s.kind).sort()).toEqual(["check", "drill"]);

  // Queued while the version was unknown, then the agent turns out to be too old: failed, not sent.
  const never = await host("new-01", null);
  const queued = await post(`/api/v1/hosts/${never.id}/jobs`, { kind: "drill" });
  expect(queued.status).toBe(201);
  expect(queued.body.status).toBe("queued");
  const late = await TestAgent.connect(t.url, never.token);
  agents.push(late);
  await late.hello(6, { hostname: "new-01", resticHost: "new-01" });
  const job = (await t.json(`/api/v1/jobs/${queued.body.id}`)).body;
  expect(job.status).toBe("failed");
  expect(job.error).toContain("needs protocol 7");
  expect(late.of("command.run")).toEqual([]);
});

test("drill and check schedules: each kind's options are checked at the host's door and the policy's", async () => {
  const h = await host("web-01");
  const bad: Array<[unknown, string]> = [
    [{ kind: "drill", cron_expr: "0 4 * * *", options: { sample_files: 0 } }, "options.sample_files"],
    [{ kind: "drill", cron_expr: "0 4 * * *", options: { sample_files: "20" } }, "options.sample_files"],
    [{ kind: "drill", cron_expr: "0 4 * * *", options: { max_bytes: "lots" } }, "options.max_bytes"],
    [{ kind: "drill", cron_expr: "0 4 * * *", options: { snapshot_id: "nope" } }, "options.snapshot_id"],
    [{ kind: "drill", cron_expr: "0 4 * * *", options: { read_data_subset: "1/5" } }, "options.read_data_subset"],
    [{ kind: "check", cron_expr: "0 4 * * *", options: { read_data_subset: "k/1" } }, "options.read_data_subset"],
    [{ kind: "check", cron_expr: "0 4 * * *", options: { read_data_subset: "k/10001" } }, "options.read_data_subset"],
    [{ kind: "check", cron_expr: "0 4 * * *", options: { read_data_subset: "k/x" } }, "options.read_data_subset"],
    [{ kind: "check", cron_expr: "0 4 * * *", options: { sample_files: 3 } }, "options.sample_files"],
    [{ kind: "restore", cron_expr: "0 4 * * *" }, "kind"],
  ];
  for (const [body, path] of bad) {
    const res = await post(`/api/v1/hosts/${h.id}/schedules`, body);
    expect([res.status, res.body.error.path]).toEqual([400, path]);
    const policy = await post("/api/v1/policies", { name: "p", schedules: [body] });
    expect([policy.status, policy.body.error.path]).toEqual([400, `schedules.0.${path}`]);
  }
  const ok = await post(`/api/v1/hosts/${h.id}/schedules`, {
    kind: "drill",
    cron_expr: "0 4 * * *",
    options: { snapshot_id: "latest", sample_files: 50, max_bytes: "1G" },
  });
  expect(ok.status).toBe(201);
  expect(ok.body.read_cycle).toBeNull();
  const policy = await post("/api/v1/policies", {
    name: "weekly drills",
    schedules: [
      { kind: "drill", cron_expr: "0 4 * * 0", options: { sample_files: 20 } },
      { kind: "check", cron_expr: "0 5 * * *", options: { read_data_subset: "k/7" } },
    ],
  });
  expect(policy.status).toBe(201);

  // Run-now: a rolling subset is only for schedules, named as such; restic's own forms run.
  const rolling = await post(`/api/v1/hosts/${h.id}/jobs`, { kind: "check", spec: { read_data_subset: "k/7" } });
  expect(rolling.status).toBe(400);
  expect(rolling.body.error.path).toBe("spec.read_data_subset");
  expect(rolling.body.error.message).toContain("only a check schedule");
  expect((await post(`/api/v1/hosts/${h.id}/jobs`, { kind: "check", spec: { read_data_subset: "2/7" } })).status).toBe(
    201,
  );
  const badDrill = await post(`/api/v1/hosts/${h.id}/jobs`, { kind: "drill", spec: { sample_files: 1001 } });
  expect([badDrill.status, badDrill.body.error.path]).toEqual([400, "spec.sample_files"]);
});

test("a rolling check: each tick checks the next part, a failed part is retried, N parts make a full read", async () => {
  const h = await host("db-01");
  const agent = h.agent as TestAgent;
  const s = await post(`/api/v1/hosts/${h.id}/schedules`, {
    kind: "check",
    cron_expr: "0 * * * *",
    options: { read_data_subset: "k/3" },
  });
  expect(s.status).toBe(201);
  expect(s.body.read_cycle).toEqual({
    next_part: 1,
    parts: 3,
    parts_done: 0,
    cycle_started_at: null,
    last_full_read_at: null,
  });
  // The wire carries no rolling form: the agent is not told the subset at all.
  const set = await agent.until(() => agent.of("schedule.set").find((m) => m.payload.schedules.length === 1));
  expect(set.payload.schedules[0]?.options).toBeUndefined();

  let runs = 0;
  /** The tick at the clock's hour: its command.run's subset, and the job's id. */
  const tick = async () => {
    const at = new Date(clock.now());
    at.setUTCMinutes(0, 0, 0);
    const fireId = agent.send("schedule.fire", { schedule_id: s.body.id, scheduled_at: at.toISOString() });
    await agent.acked(fireId);
    const cmd = await agent.next("command.run", runs++);
    return { id: cmd.payload.job_id, subset: cmd.payload.kind === "check" ? cmd.payload.spec?.read_data_subset : null };
  };
  const hourLater = () => clock.advance(HOUR);

  const one = await tick();
  expect(one.subset).toBe("1/3");
  await finish(agent, one.id, "succeeded");
  // The same tick again makes no new job and takes no part.
  const dup = agent.send("schedule.fire", { schedule_id: s.body.id, scheduled_at: "2026-12-02T10:00:00Z" });
  await agent.acked(dup);
  expect((await t.json(`/api/v1/schedules/${s.body.id}`)).body.read_cycle).toMatchObject({
    next_part: 2,
    parts_done: 1,
  });
  hourLater();
  const two = await tick();
  expect(two.subset).toBe("2/3");
  await finish(agent, two.id, "failed", { error: "Pack ID does not match" });
  hourLater();
  const retry = await tick();
  expect(retry.subset).toBe("2/3");
  await finish(agent, retry.id, "succeeded");
  expect((await t.json(`/api/v1/hosts/${h.id}`)).body.last_full_read_at).toBeNull();
  hourLater();
  const three = await tick();
  expect(three.subset).toBe("3/3");
  await finish(agent, three.id, "succeeded");
  const done = clock.now().toISOString();
  expect((await t.json(`/api/v1/hosts/${h.id}`)).body.last_full_read_at).toBe(done);
  expect((await t.json(`/api/v1/schedules/${s.body.id}`)).body.read_cycle).toEqual({
    next_part: 1,
    parts: 3,
    parts_done: 0,
    cycle_started_at: done,
    last_full_read_at: done,
  });
  // A run-now of the schedule is one of its runs: it checks the next part, and wraps.
  clock.advance(60_000);
  const now = await post(`/api/v1/hosts/${h.id}/jobs`, { kind: "check", schedule_id: s.body.id });
  expect(now.body.spec).toEqual({ read_data_subset: "1/3" });
  expect((await t.json(`/api/v1/schedules/${s.body.id}`)).body.read_cycle.next_part).toBe(2);

  // Changing N starts a new cycle at part 1; the last full read stays.
  const changed = await t.json(`/api/v1/schedules/${s.body.id}`, {
    method: "PATCH",
    body: { options: { read_data_subset: "k/5" } },
  });
  expect(changed.body.read_cycle).toMatchObject({ next_part: 1, parts: 5, last_full_read_at: done });

  // Checks as the server keeps them: listed by kind and host, the last with its stats.
  const checks = (await t.json(`/api/v1/jobs?kind=check&host_id=${h.id}`)).body.items;
  expect(checks.map((j: { id: string }) => j.id)).toEqual([now.body.id, three.id, retry.id, two.id, one.id]);
  expect((await t.json(`/api/v1/hosts/${h.id}`)).body.last_check).toMatchObject({
    job_id: three.id,
    status: "succeeded",
  });
});

test("the host's last check comes from the server's records with its stats; a repository shows its hosts' last check", async () => {
  const repo = await post("/api/v1/repositories", {
    name: "shared",
    url: "s3:https://s3.example.com/backups",
    password: "repo-password",
  });
  expect(repo.status).toBe(201);
  expect(repo.body.last_check).toBeNull();
  const policy = await post("/api/v1/policies", { name: "all", repository_id: repo.body.id, schedules: [] });
  expect(policy.status).toBe(201);
  const a = await host("web-01");
  const b = await host("web-02");
  const first = await post(`/api/v1/hosts/${a.id}/jobs`, { kind: "check" });
  await finish(a.agent as TestAgent, first.body.id, "succeeded", { stats: { num_errors: 0 } });
  clock.advance(60_000);
  const second = await post(`/api/v1/hosts/${b.id}/jobs`, { kind: "check" });
  await finish(b.agent as TestAgent, second.body.id, "failed", { stats: { num_errors: 3 }, error: "3 errors" });

  expect((await t.json(`/api/v1/hosts/${a.id}`)).body.last_check).toEqual({
    job_id: first.body.id,
    status: "succeeded",
    finished_at: "2026-12-02T10:00:30.000Z",
    error: null,
    stats: { num_errors: 0 },
  });
  const shown = (await t.json(`/api/v1/repositories/${repo.body.id}`)).body;
  expect(shown.last_check).toEqual({
    job_id: second.body.id,
    host_id: b.id,
    host_name: "web-02",
    status: "failed",
    finished_at: clock.now().toISOString(),
    error: "3 errors",
  });
  const listed = (await t.json("/api/v1/repositories")).body.items;
  expect(listed[0].last_check.job_id).toBe(second.body.id);
  // It survives a restart of the server (nothing of it lives in an agent's memory).
  await t.restart();
  expect((await t.json(`/api/v1/repositories/${repo.body.id}`)).body.last_check.job_id).toBe(second.body.id);
});
