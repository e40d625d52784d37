import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent } from "../testing/harness.ts";

test("a restart on the same data directory keeps everything committed", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rf-restart-"));
  try {
    // Just after the 03:00 run the fire below names: a fire must be a recent run of its schedule.
    const t = await startTestServer({ dataDir, clock: new ManualClock("2026-12-01T03:00:05Z") });
    const h = await t.enroll();
    await t.json(`/api/v1/hosts/${h.host_id}/config`, {
      method: "PUT",
      body: { repo_url: "/r", repo_password: "pw-123456" },
    });
    const s = await t.json(`/api/v1/hosts/${h.host_id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 3 * * *", paths: ["/etc"] },
    });
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    agent.send("schedule.fire", { schedule_id: s.body.id, scheduled_at: "2026-12-01T03:00:00Z" });
    const run = await agent.next("command.run");
    const finishedId = agent.send("job.finished", {
      job_id: run.payload.job_id,
      status: "succeeded",
      exit_code: 0,
      finished_at: "2026-12-01T03:00:09Z",
    });
    await agent.acked(finishedId);
    const adminToken = t.adminToken;

    await t.restart();
    expect(agent.closed === null ? (await agent.waitClosed()).code : agent.closed.code).toBe(1012);

    // Same token, host, config, schedule and job after the restart; the host is offline until it says hello.
    const host = await t.json(`/api/v1/hosts/${h.host_id}`, { token: adminToken });
    expect(host.body).toMatchObject({
      online: false,
      schedule_version: 1,
      config: { repo_url: "/r", has_repo_password: true },
    });
    expect((await t.json(`/api/v1/schedules/${s.body.id}`)).body.cron_expr).toBe("0 3 * * *");
    const job = await t.json(`/api/v1/jobs/${run.payload.job_id}`);
    expect(job.body).toMatchObject({ status: "succeeded", actor_kind: "schedule", scheduled_id: s.body.id });

    // The agent token still works; the password decrypts with the key kept in the data dir.
    const again = await TestAgent.connect(t.url, h.agent_token);
    await again.hello();
    expect((await again.next("config.update")).payload.repo_password).toBe("pw-123456");
    // A re-sent envelope from before the restart is still recognised as a duplicate.
    again.send(
      "job.finished",
      { job_id: run.payload.job_id, status: "failed", exit_code: 1, finished_at: "2026-12-01T03:01:00Z" },
      finishedId,
    );
    await again.acked(finishedId);
    expect((await t.json(`/api/v1/jobs/${run.payload.job_id}`)).body.status).toBe("succeeded");
    again.close();

    expect(statSync(join(dataDir, "secret.key")).mode & 0o777).toBe(0o600);
    expect(t.server.store.integrityCheck()).toBe("ok");
    await t.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a data directory whose secret.key went missing is refused, not given a new key", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rf-nokey-"));
  try {
    const t = await startTestServer({ dataDir });
    await t.close();
    rmSync(join(dataDir, "secret.key"));
    // A new key could not open the repository passwords sealed under the old one.
    await expect(startTestServer({ dataDir })).rejects.toThrow("restore secret.key from your backup");
    expect(existsSync(join(dataDir, "secret.key"))).toBe(false);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
