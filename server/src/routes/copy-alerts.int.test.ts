import { afterEach, beforeEach, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";
import { type RecordingReceiver, recordingReceiver } from "../testing/recording-receiver.ts";

// copy_stale and copy_failed (issue 18 item 6) over the real server, a real WebSocket client, a
// real webhook receiver on loopback and an injected clock: a copy that lags its backup fires
// copy_stale naming the target, a successful copy resolves it, a failed copy fires copy_failed.

let t: TestServer;
let hook: RecordingReceiver;
const agents: TestAgent[] = [];
const DAY = 86_400_000;

beforeEach(async () => {
  t = await startTestServer({ clock: new ManualClock("2026-12-02T10:00:00Z") });
  hook = recordingReceiver();
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await hook.stop();
  await t.close();
});

async function host(name: string) {
  const h = await t.enroll(name);
  const agent = await TestAgent.connect(t.url, h.agent_token);
  agents.push(agent);
  await agent.hello(9, { hostname: name, resticHost: name });
  return { id: h.host_id, agent };
}

/** Runs a backup to its end as the agent reports it; returns the copy job it makes. */
async function backupThenCopyJob(h: { id: string; agent: TestAgent }): Promise<string> {
  const copiesBefore = h.agent.of("command.run").filter((c) => c.payload.kind === "copy").length;
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
  await h.agent.acked(
    h.agent.send("command.result", { job_id: jobId, accepted: true }),
    h.agent.send("job.started", { job_id: jobId, kind: "backup", started_at: at }),
    h.agent.send("job.finished", { job_id: jobId, status: "succeeded", exit_code: 0, finished_at: at }),
  );
  const copy = await h.agent.until(
    () => h.agent.of("command.run").filter((c) => c.payload.kind === "copy")[copiesBefore],
    "the copy's command.run",
  );
  return copy.payload.job_id as string;
}

async function finishCopy(h: { agent: TestAgent }, jobId: string, ok: boolean, targetId: string) {
  const at = t.clock.now().toISOString();
  await h.agent.acked(
    h.agent.send(
      "job.finished",
      ok
        ? {
            job_id: jobId,
            status: "succeeded",
            exit_code: 0,
            finished_at: at,
            stats: {
              copy: {
                target_id: targetId,
                snapshot_count: 1,
                latest_snapshot_id: "ab".repeat(32),
                latest_snapshot_time: at,
              },
            },
          }
        : {
            job_id: jobId,
            status: "failed",
            exit_code: 1,
            finished_at: at,
            error: "Fatal: wrong password or no key found\n",
          },
    ),
  );
}

/** A heartbeat at the clock's time, stored: the answer to a frame sent after it is the signal. */
async function alive(agent: TestAgent) {
  agent.send("heartbeat", { sent_at: t.clock.now().toISOString() });
  const errors = agent.of("error").length;
  agent.sendRaw("{}");
  await agent.until(() => agent.of("error").length > errors, "the answer after the heartbeat");
}

/** One sweep, then the batch window passes and delivery runs. */
async function minute() {
  t.server.sweep();
  t.clock.advance(31_000);
  await t.server.domain.alertDelivery.deliver();
}

const copyAlerts = async () =>
  ((await t.json("/api/v1/alerts?state=firing")).body.items as Array<{ condition: string; summary: string }>)
    .filter((a) => a.condition.startsWith("copy_"))
    .map((a) => [a.condition, a.summary]);

test("a copy lagging its backup fires copy_stale naming the target; a successful copy resolves it; a failed one fires copy_failed", async () => {
  const ch = await t.json("/api/v1/notification-channels", {
    method: "POST",
    body: { name: "ops hook", kind: "webhook", config: { url: `${hook.url}/hook` } },
  });
  expect(ch.status).toBe(201);
  const rule = await t.json("/api/v1/alert-rules", {
    method: "POST",
    body: { name: "copies", conditions: ["copy_stale", "copy_failed"], channel_ids: [ch.body.id] },
  });
  expect(rule.status).toBe(201);
  expect(rule.body.conditions).toEqual(["copy_stale", "copy_failed"]);

  const repo = await t.json("/api/v1/repositories", {
    method: "POST",
    body: { name: "offsite", url: "/mnt/offsite", password: "offsite-secret" },
  });
  const offsite = repo.body.id as string;
  const web = await host("web-01");
  const set = await t.json(`/api/v1/hosts/${web.id}`, {
    method: "PATCH",
    body: { copy_targets: [{ repository_id: offsite }] },
  });
  expect(set.status).toBe(200);

  // A first backup and its copy, in time: nothing fires.
  await finishCopy(web, await backupThenCopyJob(web), true, offsite);
  await minute();
  expect(await copyAlerts()).toEqual([]);

  // The next backup's copy never comes: once it lags past the grace, copy_stale, naming the target
  // and the age of the newest snapshot it holds.
  const lagging = await backupThenCopyJob(web);
  t.clock.advance(2 * DAY);
  await alive(web.agent);
  await minute();
  expect(await copyAlerts()).toEqual([["copy_stale", "copy to offsite is stale: newest copied snapshot 2 d old"]]);
  const fired = JSON.parse((await hook.next()).text);
  expect(fired.event).toBe("alert.firing");
  expect(fired.alerts).toEqual([
    expect.objectContaining({
      condition: "copy_stale",
      host_name: "web-01",
      summary: "copy to offsite is stale: newest copied snapshot 2 d old",
    }),
  ]);
  await minute();
  expect(hook.requests).toHaveLength(1);

  // The copy succeeds: resolved at its end (the job's event), and told.
  await finishCopy(web, lagging, true, offsite);
  // The job's end is evaluated in a microtask of the batch that acked it: done before the ack arrives.
  expect(await copyAlerts()).toEqual([]);
  await minute();
  const resolved = JSON.parse((await hook.next()).text);
  expect(resolved.event).toBe("alert.resolved");
  expect(resolved.alerts).toEqual([
    expect.objectContaining({ condition: "copy_stale", resolved_at: expect.any(String) }),
  ]);

  // A failed copy: copy_failed at once, with restic's first line.
  await finishCopy(web, await backupThenCopyJob(web), false, offsite);
  expect(await copyAlerts()).toEqual([
    ["copy_failed", "copy to offsite failed: Fatal: wrong password or no key found"],
  ]);
  await minute();
  expect(JSON.parse((await hook.next()).text).alerts).toEqual([expect.objectContaining({ condition: "copy_failed" })]);
});

test("an unknown condition is refused naming the list, which has copy_stale and copy_failed", async () => {
  const res = await t.json("/api/v1/alert-rules", {
    method: "POST",
    body: { name: "bad", conditions: ["copy_late"], channel_ids: [] },
  });
  expect(res.status).toBe(400);
  expect(res.body.error.path).toBe("conditions.0");
  expect(res.body.error.message).toContain("copy_stale, copy_failed");
});
