import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

test("the event stream carries host presence, job state and progress", async () => {
  const h = await t.enroll();
  const res = await t.api("/api/v1/events");
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const until = async (needle: string) => {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      text += new TextDecoder().decode(value);
    }
  };
  await until("event: ready");
  const agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello();
  await until("event: host.updated");
  const job = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
  await until("event: job.updated");
  agent.send("job.progress", {
    job_id: job.body.id,
    percent_done: 0.25,
    files_done: 1,
    total_files: 4,
    bytes_done: 1,
    total_bytes: 4,
    eta_seconds: 3,
    throughput_bps: 1,
  });
  await until("event: job.progress");
  expect(text).toContain('"percent_done":0.25');
  await reader.cancel();
  agent.close();
});

test("/metrics speaks Prometheus text with hosts, jobs and gateway counters", async () => {
  const h = await t.enroll();
  const agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello();
  agent.sendRaw("garbage");
  await agent.next("error");
  const res = await t.api("/metrics", { token: null });
  const body = await res.text();
  expect(res.headers.get("content-type")).toContain("text/plain");
  expect(body).toContain('restic_fleet_hosts{state="online"} 1');
  expect(body).toContain('restic_fleet_jobs{kind="backup",status="succeeded"} 0');
  expect(body).toContain('restic_fleet_gateway_messages_total{type="hello"} 1');
  expect(body).toContain('restic_fleet_gateway_errors_total{code="invalid_message"} 1');
  agent.close();
});

test("with RF_METRICS_TOKEN set, /metrics needs it as a bearer token", async () => {
  const token = "metrics-token-0123456789abcdef0123456789";
  const guarded = await startTestServer({ settings: { metricsToken: token } });
  try {
    await guarded.enroll();
    const none = await guarded.api("/metrics", { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    const body = await none.text();
    expect(JSON.parse(body).error.message).toContain("RF_METRICS_TOKEN");
    expect(body).not.toContain("web-01");
    // A wrong token, one of another length, and an operator's API token are all refused.
    for (const wrong of [`${token.slice(0, -1)}x`, "short", guarded.adminToken]) {
      expect((await guarded.api("/metrics", { token: wrong })).status).toBe(401);
    }
    const ok = await guarded.api("/metrics", { token });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('restic_fleet_hosts{state="offline"} 1');
  } finally {
    await guarded.close();
  }
});

test("without RF_METRICS_TOKEN, /metrics stays open (as before)", async () => {
  const res = await t.api("/metrics", { token: null });
  expect(res.status).toBe(200);
});

test("/metrics names every host: one that never backed up, a failed one, and the firing alerts", async () => {
  const HOUR = 3_600_000;
  const schedule = (id: string) =>
    t.json(`/api/v1/hosts/${id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] },
    });
  // Never backed up, never connected.
  const never = await t.enroll("never-01");
  expect((await schedule(never.host_id)).status).toBe(201);
  // Its last backup failed; renamed to a name the text format must escape.
  const failed = await t.enroll("fail-01");
  expect((await schedule(failed.host_id)).status).toBe(201);
  const odd = 'db "main"\\eu\nwest';
  expect((await t.json(`/api/v1/hosts/${failed.host_id}`, { method: "PATCH", body: { name: odd } })).status).toBe(200);
  const agent = await TestAgent.connect(t.url, failed.agent_token);
  await agent.hello();
  const job = await t.json(`/api/v1/hosts/${failed.host_id}/jobs`, {
    method: "POST",
    body: { kind: "backup", spec: { paths: ["/srv"] } },
  });
  expect(job.status).toBe(201);
  await agent.next("command.run");
  const at = t.clock.now().toISOString();
  await agent.acked(
    agent.send("command.result", { job_id: job.body.id, accepted: true }),
    agent.send("job.started", { job_id: job.body.id, kind: "backup", started_at: at }),
    agent.send("job.finished", {
      job_id: job.body.id,
      status: "failed",
      exit_code: 1,
      finished_at: at,
      error: "Fatal: unable to open repository",
    }),
  );
  const metrics = async () => (await t.api("/metrics", { token: null })).text();

  // Just enrolled: pending, not yet stale; the other is failed at once.
  const n = `host_id="${never.host_id}",host="never-01"`;
  const f = `host_id="${failed.host_id}",host="db \\"main\\"\\\\eu\\nwest"`;
  let body = await metrics();
  expect(body).toContain(`restic_fleet_host_backup_health{${n},health="pending"} 1`);
  expect(body).toContain(`restic_fleet_host_backup_health{${f},health="failed"} 1`);
  expect(body).toContain(`restic_fleet_host_online{${n}} 0`);
  expect(body).toContain(`restic_fleet_host_online{${f}} 1`);
  expect(body).toContain(`restic_fleet_host_enrolled_timestamp_seconds{${n}} `);
  // The contract metric stays absent for hosts without a success.
  expect(body).not.toContain("restic_fleet_last_successful_backup_timestamp_seconds{");
  expect(body).toContain('restic_fleet_hosts_by_backup_health{health="pending"} 1');
  expect(body).toContain('restic_fleet_hosts_by_backup_health{health="failed"} 1');
  expect(body).toContain('restic_fleet_hosts_by_backup_health{health="ok"} 0');
  // The failed backup's alert fired when the job ended (evaluated per event, not only by the sweep).
  expect(body).toContain(`restic_fleet_alerts_firing{${f},condition="backup_failed"} 1`);
  expect(body).toContain('restic_fleet_alerts_firing_by_condition{condition="backup_stale"} 0');

  // Three hours on (interval 1 h + 1 h grace), a sweep: the never-backed-up host is stale, and
  // the alerts fire.
  t.clock.advance(3 * HOUR);
  t.server.sweep();
  body = await metrics();
  expect(body).toContain(`restic_fleet_host_backup_health{${n},health="stale"} 1`);
  expect(body).not.toContain(`restic_fleet_host_backup_health{${n},health="pending"}`);
  expect(body).toContain(`restic_fleet_alerts_firing{${n},condition="backup_stale"} 1`);
  expect(body).toContain(`restic_fleet_alerts_firing{${n},condition="host_offline"} 1`);
  expect(body).toContain(`restic_fleet_alerts_firing{${f},condition="backup_failed"} 1`);
  expect(body).toContain('restic_fleet_alerts_firing_by_condition{condition="backup_failed"} 1');
  expect(body).toContain('restic_fleet_alerts_firing_by_condition{condition="backup_stale"} 1');
  // Every sample line is `name{labels} value`, and each family's lines stand together.
  const families = new Set<string>();
  let last = "";
  for (const line of body.trimEnd().split("\n")) {
    if (line.startsWith("#")) continue;
    expect(line).toMatch(/^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\["\\n])*",?)+\})? -?[0-9.e+]+$/);
    const name = line.replace(/[{ ].*$/, "");
    if (name !== last) {
      expect(families.has(name)).toBe(false);
      families.add(name);
      last = name;
    }
  }
  agent.close();
});
