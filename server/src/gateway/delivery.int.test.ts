import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

test("heartbeats and fires are acked, so the agent can tell a live server and stop re-sending", async () => {
  const h = await t.enroll();
  const agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello();
  const beat = agent.send("heartbeat", { sent_at: new Date().toISOString() });
  const fire = agent.send("schedule.fire", { schedule_id: "sch_gone", scheduled_at: "2026-12-01T00:00:00Z" });
  await agent.acked(beat, fire);
  expect((await agent.next("error")).payload.code).toBe("not_found");
  agent.close();
});

test("a job delivered twice still gets its result from the outbox replay that follows hello", async () => {
  const h = await t.enroll();
  const job = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "prune" } });
  for (let i = 0; i < 2; i++) {
    const a = await TestAgent.connect(t.url, h.agent_token);
    await a.hello();
    await a.next("command.run");
    a.close();
    await a.waitClosed();
  }
  t.clock.advance(120_000);
  // Third connection: the agent had the job all along; its replay follows the hello.
  const agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello();
  const ids = [
    agent.send("command.result", { job_id: job.body.id, accepted: true }),
    agent.send("job.finished", {
      job_id: job.body.id,
      status: "succeeded",
      exit_code: 0,
      finished_at: new Date().toISOString(),
    }),
  ];
  await agent.acked(...ids);
  t.server.sweep();
  expect((await t.json(`/api/v1/jobs/${job.body.id}`)).body.status).toBe("succeeded");
  agent.close();
});

test("a cancel made while the host was offline reaches the agent on its next hello", async () => {
  const h = await t.enroll();
  const first = await TestAgent.connect(t.url, h.agent_token);
  await first.hello();
  const job = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
  await first.next("command.run"); // delivered; the agent's command.result never arrives
  first.close();
  await first.waitClosed();
  const cancelled = await t.json(`/api/v1/jobs/${job.body.id}/cancel`, { method: "POST" });
  expect(cancelled.body.status).toBe("cancelled");
  const again = await TestAgent.connect(t.url, h.agent_token);
  await again.hello();
  expect((await again.next("command.cancel")).payload.job_id).toBe(job.body.id);
  expect(again.of("command.run")).toEqual([]);
  again.close();
});

test("a repository URL's password is never shown", async () => {
  const h = await t.enroll();
  await t.json(`/api/v1/hosts/${h.host_id}/config`, {
    method: "PUT",
    body: { repo_url: "rest:https://backup:url-secret@nas:8000/repo", repo_password: "pw-123456" },
  });
  const host = await t.json(`/api/v1/hosts/${h.host_id}`);
  expect(host.body.config.repo_url).toBe("rest:https://***@nas:8000/repo");
  expect(JSON.stringify(host.body)).not.toContain("url-secret");
});
