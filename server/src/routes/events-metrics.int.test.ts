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
