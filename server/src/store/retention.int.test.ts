import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_LOG_LINES_PER_FRAME } from "../../../protocol/messages/job-log.ts";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";
import { DATABASE_FILE } from "./db.ts";

const DAY = 86_400_000;

/** A backup run now through the real gateway, with `lines` log lines, finished a second later. */
async function backupWithLog(t: TestServer, agent: TestAgent, hostId: string, lines: number) {
  const seen = agent.of("command.run").length;
  const made = await t.json(`/api/v1/hosts/${hostId}/jobs`, {
    method: "POST",
    body: { kind: "backup", spec: { paths: ["/srv"] } },
  });
  const run = await agent.next("command.run", seen);
  const jobId = run.payload.job_id;
  expect(jobId).toBe(made.body.id);
  const now = t.clock.now();
  const ids = [
    agent.send("command.result", { job_id: jobId, accepted: true }),
    agent.send("job.started", { job_id: jobId, kind: "backup", started_at: now.toISOString() }),
    // Frames of at most MAX_LOG_LINES_PER_FRAME lines, as the agent sends them.
    ...Array.from({ length: Math.ceil(lines / MAX_LOG_LINES_PER_FRAME) }, (_, f) =>
      agent.send("job.log", {
        lines: Array.from(
          { length: Math.min(MAX_LOG_LINES_PER_FRAME, lines - f * MAX_LOG_LINES_PER_FRAME) },
          (_, i) => {
            const seq = f * MAX_LOG_LINES_PER_FRAME + i + 1;
            return {
              job_id: jobId,
              seq,
              ts: now.toISOString(),
              stream: "stdout",
              payload: `line ${seq} of a backup's output`,
            };
          },
        ),
      }),
    ),
    agent.send("job.finished", {
      job_id: jobId,
      status: "succeeded",
      exit_code: 0,
      finished_at: new Date(now.getTime() + 1000).toISOString(),
    }),
  ];
  await agent.acked(...ids);
  return jobId as string;
}

test("the sweep deletes the log of a job finished 30 days ago, gives its bytes back to the host, and the API says so", async () => {
  const t = await startTestServer({ clock: new ManualClock("2026-12-01T00:00:00Z") });
  try {
    const h = await t.enroll();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    const old = await backupWithLog(t, agent, h.host_id, 1200);
    const oldBytes = t.server.store.logUsage(old)?.job_bytes ?? 0;
    t.clock.advance(2 * DAY);
    const recent = await backupWithLog(t, agent, h.host_id, 5);
    const recentBytes = t.server.store.logUsage(recent)?.job_bytes ?? 0;
    expect(t.server.store.logUsage(old)?.host_bytes).toBe(oldBytes + recentBytes);

    // 29 days after the recent one: the old one finished 31 days ago.
    t.clock.advance(29 * DAY);
    t.server.sweep();
    const pass = await t.server.domain.retention.idle();
    expect(pass).toMatchObject({ log_jobs: 1, log_lines: 1200, jobs_deleted: 0 });

    const logs = await t.json(`/api/v1/jobs/${old}/logs`);
    expect(logs.body).toEqual({ items: [], next_cursor: null, logs_pruned_at: t.clock.now().toISOString() });
    const job = await t.json(`/api/v1/jobs/${old}`);
    expect(job.body).toMatchObject({ status: "succeeded", logs_pruned_at: t.clock.now().toISOString() });
    const kept = await t.json(`/api/v1/jobs/${recent}/logs`);
    expect(kept.body.items).toHaveLength(5);
    expect(kept.body.logs_pruned_at).toBeNull();
    expect(t.server.store.logUsage(recent)?.host_bytes).toBe(recentBytes);
    // The host's last backup is the job it was.
    expect((await t.json(`/api/v1/hosts/${h.host_id}`)).body.last_backup).toMatchObject({ job_id: recent });

    // Within the hour, no second pass.
    t.clock.advance(30 * 60_000);
    t.server.sweep();
    expect(await t.server.domain.retention.idle()).toBeNull();
    agent.close();
  } finally {
    await t.close();
    rmSync(t.dataDir, { recursive: true, force: true });
  }
});

test("a database made without auto_vacuum is converted at start-up, its data kept", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rf-vacuum-"));
  try {
    const first = await startTestServer({ dataDir });
    const h = await first.enroll();
    const token = first.adminToken;
    await first.close();
    // As a server before migration 28 made it.
    const raw = new Database(join(dataDir, DATABASE_FILE));
    raw.exec("PRAGMA auto_vacuum = NONE");
    raw.exec("VACUUM");
    expect(raw.query<{ auto_vacuum: number }, []>("PRAGMA auto_vacuum").get()?.auto_vacuum).toBe(0);
    raw.close();

    const t = await startTestServer({ dataDir });
    try {
      expect(t.server.store.autoVacuum()).toBe("incremental");
      expect((await t.json(`/api/v1/hosts/${h.host_id}`, { token })).status).toBe(200);
      expect(t.server.store.integrityCheck()).toBe("ok");
    } finally {
      await t.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
