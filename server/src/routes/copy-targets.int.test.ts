import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Copy targets (issue 18 item 6, 3-2-1) over the real server and real WebSocket clients: what a
// host is sent (config.update.copy_targets, secrets as for the main repository), the copy job a
// successful backup makes, the target's state on the host page, and older agents.

let t: TestServer;
const agents: TestAgent[] = [];
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await t.close();
});

async function host(labels: Record<string, string>, hostname: string, protocol = 9) {
  const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 1, labels } });
  const res = await t.json("/api/v1/agent/enroll", {
    method: "POST",
    body: { token: tok.body.token, hostname },
    token: null,
  });
  expect(res.status).toBe(201);
  const agent = await TestAgent.connect(t.url, res.body.agent_token);
  agents.push(agent);
  await agent.hello(protocol, { hostname, resticHost: hostname });
  return { id: res.body.host_id as string, agent };
}

async function repository(name: string, url: string, password?: string) {
  const res = await t.json("/api/v1/repositories", {
    method: "POST",
    body: { name, url, ...(password ? { password } : {}) },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Runs a backup to its end as the agent would report it; returns the job id. */
async function backup(h: { id: string; agent: TestAgent }) {
  const run = await t.json(`/api/v1/hosts/${h.id}/jobs`, {
    method: "POST",
    body: { kind: "backup", spec: { paths: ["/srv"] } },
  });
  expect(run.status).toBe(201);
  const jobId = run.body.id as string;
  await h.agent.until(
    () => h.agent.of("command.run").find((c) => c.payload.job_id === jobId),
    "the backup's command.run",
  );
  const at = t.clock.now().toISOString();
  const ids = [
    h.agent.send("command.result", { job_id: jobId, accepted: true }),
    h.agent.send("job.started", { job_id: jobId, kind: "backup", started_at: at }),
    h.agent.send("job.finished", { job_id: jobId, status: "succeeded", exit_code: 0, finished_at: at }),
  ];
  await h.agent.acked(...ids);
  return jobId;
}

const copyRuns = (a: TestAgent) => a.of("command.run").filter((c) => c.payload.kind === "copy");

test("a policy's copy target reaches its hosts (each its own {host} repository, secrets write-only), a backup makes the copy, the host page shows it", async () => {
  const main = await repository("main", "/srv/restic/main", "main-secret");
  const offsite = await repository("offsite", "/mnt/offsite/{host}");
  const web = await host({ env: "prod" }, "web-01");
  const policy = await t.json("/api/v1/policies", {
    method: "POST",
    body: {
      name: "prod",
      selector: { labels: { env: "prod" } },
      repository_id: main,
      schedules: [{ kind: "backup", cron_expr: "0 2 * * *", paths: ["/srv"] }],
      copy_targets: [{ repository_id: offsite, retention_policy: { keep_daily: 14 }, prune: true }],
    },
  });
  expect(policy.status).toBe(201);
  expect(policy.body.copy_targets).toEqual([
    { repository_id: offsite, retention_policy: { keep_daily: 14 }, prune: true, schedule: null },
  ]);

  const update = await web.agent.until(
    () => web.agent.of("config.update").find((u) => (u.payload.copy_targets?.length ?? 0) > 0),
    "config.update with the copy target",
  );
  const [target] = update.payload.copy_targets ?? [];
  expect(target?.id).toBe(offsite);
  expect(target?.repo_url).toBe("/mnt/offsite/web-01");
  // A template without a password: the host's own generated one, as for a main repository.
  expect(target?.repo_password?.length).toBeGreaterThan(30);
  const keys = await t.json(`/api/v1/repositories/${offsite}/keys`);
  expect(keys.body.hosts.map((h: { password: string }) => h.password)).toEqual([target?.repo_password]);
  // Over a link that may not carry secrets (plain ws:// from off this machine) the target goes
  // without them, and the payload says so; the agent keeps what it held for that id.
  const insecure = t.server.domain.hosts.configPayload(web.id, false);
  expect(insecure?.secrets_withheld).toBe("insecure_link");
  expect(insecure?.copy_targets).toEqual([{ id: offsite, repo_url: "/mnt/offsite/web-01", auto_init: false }]);
  // Write-only: no API answer shows it.
  const shown = JSON.stringify([
    (await t.json(`/api/v1/hosts/${web.id}/copy-targets`)).body,
    (await t.json(`/api/v1/policies/${policy.body.id}`)).body,
    (await t.json("/api/v1/repositories")).body,
  ]);
  expect(shown).not.toContain(target?.repo_password as string);

  // Before any backup: nothing to copy yet.
  const before = await t.json(`/api/v1/hosts/${web.id}/copy-targets`);
  expect(before.body.items).toMatchObject([
    {
      repository_id: offsite,
      repository_name: "offsite",
      health: "pending",
      last_copy: null,
      source: { kind: "policy" },
    },
  ]);

  const backupId = await backup(web);
  const copy = await web.agent.until(() => copyRuns(web.agent)[0], "the copy's command.run");
  expect(copy.payload).toMatchObject({
    kind: "copy",
    spec: { target_id: offsite, policy: { keep_daily: 14 }, prune: true },
  });
  const job = await t.json(`/api/v1/jobs/${copy.payload.job_id}`);
  expect(job.body).toMatchObject({ actor_kind: "system", actor_id: backupId, kind: "copy" });

  const at = t.clock.now().toISOString();
  const snapshotTime = "2026-12-02T02:00:05.000Z";
  await web.agent.acked(
    web.agent.send("job.finished", {
      job_id: copy.payload.job_id,
      status: "succeeded",
      exit_code: 0,
      finished_at: at,
      stats: {
        copy: {
          target_id: offsite,
          snapshot_count: 3,
          latest_snapshot_id: "ab".repeat(32),
          latest_snapshot_time: snapshotTime,
        },
      },
    }),
  );
  const after = await t.json(`/api/v1/hosts/${web.id}/copy-targets`);
  expect(after.body.items[0]).toMatchObject({
    health: "ok",
    last_copy: { job_id: copy.payload.job_id, status: "succeeded" },
    latest_snapshot_id: "ab".repeat(32),
    latest_snapshot_time: snapshotTime,
    snapshot_count: 3,
  });
  expect(after.body.items[0].latest_snapshot_age_s).toBe(
    Math.round((t.clock.now().getTime() - Date.parse(snapshotTime)) / 1000),
  );

  // The target is in use: it cannot be deleted, and the answer says by whom.
  const del = await t.api(`/api/v1/repositories/${offsite}`, { method: "DELETE" });
  expect(del.status).toBe(409);
  expect(await del.text()).toContain("policy prod (copy target)");
});

test("a copy that lags the backup makes the host stale for that target; a failed one is failed", async () => {
  const offsite = await repository("offsite", "/mnt/offsite", "offsite-secret");
  const web = await host({}, "web-01");
  const set = await t.json(`/api/v1/hosts/${web.id}`, {
    method: "PATCH",
    body: { copy_targets: [{ repository_id: offsite }] },
  });
  expect(set.status).toBe(200);
  expect((await t.json(`/api/v1/hosts/${web.id}/copy-targets`)).body.items).toMatchObject([
    { repository_id: offsite, source: { kind: "host" }, prune: false },
  ]);
  await web.agent.until(() =>
    web.agent.of("config.update").some((u) => u.payload.copy_targets?.[0]?.repo_password === "offsite-secret"),
  );

  await backup(web);
  const copy = await web.agent.until(() => copyRuns(web.agent)[0], "the copy's command.run");
  // The copy never ran (the agent is busy, or lost it): within the grace it is pending ...
  const state = async () => (await t.json(`/api/v1/hosts/${web.id}/copy-targets`)).body.items[0].health;
  expect(await state()).toBe("pending");
  // ... and once the backup is older than the grace (1 h without a backup schedule), stale.
  t.clock.advance(3601_000);
  expect(await state()).toBe("stale");

  await web.agent.acked(
    web.agent.send("job.finished", {
      job_id: copy.payload.job_id,
      status: "failed",
      exit_code: 1,
      finished_at: t.clock.now().toISOString(),
      error: "the copy target: its password is wrong",
    }),
  );
  const failed = (await t.json(`/api/v1/hosts/${web.id}/copy-targets`)).body.items[0];
  expect(failed.health).toBe("failed");
  expect(failed.last_copy.error).toContain("password is wrong");

  // Run now, to this host's target: the target's retention comes from the server.
  const now = await t.json(`/api/v1/hosts/${web.id}/jobs`, {
    method: "POST",
    body: { kind: "copy", spec: { target_id: offsite } },
  });
  expect(now.status).toBe(201);
  expect(now.body.spec).toEqual({ target_id: offsite });
  const other = await t.json(`/api/v1/hosts/${web.id}/jobs`, {
    method: "POST",
    body: { kind: "copy", spec: { target_id: "repo_nope" } },
  });
  expect(other.status).toBe(400);
  expect(other.body.error.path).toBe("spec.target_id");
});

test("bad copy targets are refused by field; an agent before protocol 9 gets no copy and is told why", async () => {
  const main = await repository("main", "/srv/restic/main", "main-secret");
  const bad = async (body: unknown) => {
    const res = await t.json("/api/v1/policies", {
      method: "POST",
      body: { name: `p${Math.random()}`, ...(body as object) },
    });
    expect(res.status).toBe(400);
    return res.body.error.path as string;
  };
  expect(await bad({ copy_targets: [{ repository_id: "repo_nope" }] })).toBe("copy_targets.0.repository_id");
  expect(await bad({ repository_id: main, copy_targets: [{ repository_id: main }] })).toBe(
    "copy_targets.0.repository_id",
  );
  expect(await bad({ copy_targets: [{ repository_id: main, retention_policy: {} }] })).toBe(
    "copy_targets.0.retention_policy",
  );
  expect(await bad({ copy_targets: [{ repository_id: main, keep: 1 }] })).toBe("copy_targets.0.keep");

  const offsite = await repository("offsite", "/mnt/offsite", "offsite-secret");
  const old = await host({}, "old-01", 8);
  const patched = await t.json(`/api/v1/hosts/${old.id}`, {
    method: "PATCH",
    body: { copy_targets: [{ repository_id: offsite }] },
  });
  expect(patched.status).toBe(200);
  expect((await t.json(`/api/v1/hosts/${old.id}/copy-targets`)).body.items[0].health).toBe("unsupported");
  // A version 8 agent would drop the unknown field: the server does not send it.
  expect(old.agent.of("config.update").some((u) => "copy_targets" in u.payload)).toBe(false);
  await backup(old);
  expect(copyRuns(old.agent)).toEqual([]);
  const refused = await t.json(`/api/v1/hosts/${old.id}/jobs`, {
    method: "POST",
    body: { kind: "copy", spec: { target_id: offsite } },
  });
  expect(refused.status).toBe(409);
  expect(refused.body.error.message).toContain("speaks protocol 8, and a copy needs protocol 9");
});

test("a target on its own schedule is copied at its ticks, once per tick, not after each backup; it is stale when its copies lag", async () => {
  const offsite = await repository("offsite", "/mnt/offsite", "offsite-secret");
  const web = await host({}, "web-01");
  const bad = await t.json(`/api/v1/hosts/${web.id}`, {
    method: "PATCH",
    body: { copy_targets: [{ repository_id: offsite, schedule: "every hour" }] },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.path).toBe("copy_targets.0.schedule");
  const set = await t.json(`/api/v1/hosts/${web.id}`, {
    method: "PATCH",
    body: { copy_targets: [{ repository_id: offsite, schedule: "0 * * * *" }] },
  });
  expect(set.status).toBe(200);
  await backup(web);
  // A scheduled target does not follow the backup ...
  t.server.sweep();
  await settleOn(web.agent);
  const runs = copyRuns(web.agent);
  // ... but its latest tick (the last full hour) makes one copy job, and only one.
  expect(runs).toHaveLength(1);
  const first = await t.json(`/api/v1/jobs/${runs[0]?.payload.job_id}`);
  const hour = new Date(t.clock.now());
  hour.setUTCMinutes(0, 0, 0);
  expect(first.body).toMatchObject({ kind: "copy", actor_kind: "system", scheduled_at: hour.toISOString() });
  t.server.sweep();
  await settleOn(web.agent);
  expect(copyRuns(web.agent)).toHaveLength(1);

  const at = t.clock.now().toISOString();
  await web.agent.acked(
    web.agent.send("job.finished", {
      job_id: runs[0]?.payload.job_id as string,
      status: "succeeded",
      exit_code: 0,
      finished_at: at,
    }),
  );
  const state = async () => (await t.json(`/api/v1/hosts/${web.id}/copy-targets`)).body.items[0];
  expect(await state()).toMatchObject({ health: "ok", schedule: "0 * * * *" });
  // A new backup need not wait for the next tick to count as copied: within the hour it is ok.
  t.clock.advance(600_000);
  await backup(web);
  expect((await state()).health).toBe("ok");
  // The next tick makes the next copy.
  t.clock.advance(3_600_000);
  // Still here (the sweep also marks hosts without a heartbeat for 90 s offline).
  web.agent.send("heartbeat", { sent_at: t.clock.now().toISOString() });
  await settleOn(web.agent);
  t.server.sweep();
  await web.agent.until(() => copyRuns(web.agent).length === 2, "the next tick's copy");
  // Its copies lag: more than the interval plus grace (1 h + 1 h) since the last one.
  t.clock.advance(3_600_000 * 2);
  expect((await state()).health).toBe("stale");
});

/** Everything the server sent before it answered a frame sent now: a signal, not a sleep. */
async function settleOn(agent: TestAgent) {
  const errors = agent.of("error").length;
  agent.sendRaw("{}");
  await agent.until(() => agent.of("error").length > errors, "the error answer");
}
