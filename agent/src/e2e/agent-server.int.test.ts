import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AgentProc,
  type EventWatcher,
  type Fleet,
  runAgentCli,
  startAgent,
  startFleet,
  tempDir,
} from "./fleet.ts";

// The real server process, the real agent process and the real restic (RF_TEST_RESTIC or restic on PATH).
const RESTIC = process.env.RF_TEST_RESTIC ?? "restic";

let fleet: Fleet;
let events: EventWatcher;
let work: string;
let agent: AgentProc | null = null;
let hostId = "";
const stateDir = () => join(work, "state");

beforeAll(async () => {
  work = tempDir("rf-e2e-");
  fleet = await startFleet();
  events = await fleet.events();
});

afterAll(async () => {
  if (agent) {
    agent.proc.kill("SIGTERM");
    await agent.proc.exited;
  }
  events.close();
  await fleet.close();
  rmSync(work, { recursive: true, force: true });
});

type Job = { id: string; status: string; actor_kind: string; scheduled_id: string | null; error: string | null };

async function runNow(body: Record<string, unknown>): Promise<Job> {
  const res = await fleet.api<Job>(`/hosts/${hostId}/jobs`, "POST", body);
  expect(res.status).toBe(201);
  return res.body;
}

async function finished(jobId: string): Promise<Job> {
  await events.until(
    (e) =>
      e.type === "job.updated" && e.job_id === jobId && ["succeeded", "failed", "cancelled"].includes(e.status ?? ""),
  );
  return (await fleet.api<Job>(`/jobs/${jobId}`)).body;
}

async function startAgentAndWaitOnline(): Promise<AgentProc> {
  const from = events.seen.length;
  const a = startAgent(stateDir(), { RF_RESTIC: RESTIC });
  await events.until((e) => e.type === "host.updated" && e.host_id === hostId && e.online === true, from);
  return a;
}

test("enroll → hello → schedule.set → a * * * * * * schedule fires → backup succeeds → snapshot listed", async () => {
  const token = await fleet.api<{ token: string }>("/enrollment-tokens", "POST", { uses: 1 });
  const enrolled = runAgentCli([
    "enroll",
    "--server",
    fleet.url,
    "--token",
    token.body.token,
    "--state-dir",
    stateDir(),
  ]);
  expect(enrolled.stderr).toBe("");
  expect(enrolled.code).toBe(0);
  expect(enrolled.stdout).toContain("enrolled as host");
  hostId = /host (\S+);/.exec(enrolled.stdout)?.[1] ?? "";
  // A second enroll without --force is refused.
  expect(runAgentCli(["enroll", "--server", fleet.url, "--token", "x", "--state-dir", stateDir()]).code).toBe(1);

  const data = join(work, "data");
  mkdirSync(join(data, "sub"), { recursive: true });
  writeFileSync(join(data, "a.txt"), "hello fleet\n");
  writeFileSync(join(data, "sub", "b.bin"), randomBytes(100_000));
  const config = await fleet.api(`/hosts/${hostId}/config`, "PUT", {
    repo_url: join(work, "repo"),
    repo_password: "e2e-repo-password",
  });
  expect(config.status).toBe(200);

  agent = await startAgentAndWaitOnline();
  const init = await finished((await runNow({ kind: "init" })).id);
  expect(init.status).toBe("succeeded");

  const schedule = await fleet.api<{ id: string }>(`/hosts/${hostId}/schedules`, "POST", {
    kind: "backup",
    cron_expr: "* * * * * *",
    paths: [data],
  });
  expect(schedule.status).toBe(201);
  const fired = await events.until((e) => e.type === "job.updated" && e.job_id !== init.id && e.status === "queued");
  // One tick is enough; stop the schedule so jobs do not pile up.
  await fleet.api(`/schedules/${schedule.body.id}`, "PATCH", { enabled: false });
  const job = await finished(fired.job_id as string);
  expect(job.status).toBe("succeeded");
  expect(job.actor_kind).toBe("schedule");
  expect(job.scheduled_id).toBe(schedule.body.id);

  await events.until(
    (e) => e.type === "snapshots.updated" && e.host_id === hostId && ((e as { count?: number }).count ?? 0) > 0,
  );
  const snaps = await fleet.api<{ items: Array<{ paths: string[]; short_id: string }> }>(`/hosts/${hostId}/snapshots`);
  expect(snaps.body.items.length).toBeGreaterThan(0);
  expect(snaps.body.items[0]?.paths).toEqual([data]);

  const host = await fleet.api<{ online: boolean; schedule_in_sync: boolean; restic_version: string }>(
    `/hosts/${hostId}`,
  );
  expect(host.body.online).toBe(true);
  expect(host.body.restic_version).toMatch(/^\d+\.\d+/);

  // The password never reaches the agent's log.
  expect(agent.log.join("")).not.toContain("e2e-repo-password");
  const status = runAgentCli(["status", "--state-dir", stateDir()]);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain("running, connected");
});

test("kill -9 mid-backup: the job ends failed with the restart reason, the repository is unlocked, the next backup succeeds", async () => {
  expect(agent).not.toBeNull();
  const big = join(work, "big");
  mkdirSync(big, { recursive: true });
  // 240 MiB of incompressible data keeps restic busy for a second or more on this machine.
  for (let i = 0; i < 12; i++) writeFileSync(join(big, `f${i}.bin`), randomBytes(20 * 1024 * 1024));

  const job = await runNow({ kind: "backup", spec: { paths: [big] } });
  // Progress from restic proves it is running and holds its lock.
  await events.until((e) => e.type === "job.progress" && e.job_id === job.id);
  const a = agent as AgentProc;
  process.kill(-(a.proc.pid as number), "SIGKILL"); // the whole group: agent and its restic
  await a.proc.exited;
  expect((await fleet.api<Job>(`/jobs/${job.id}`)).body.status).toBe("running");

  agent = await startAgentAndWaitOnline();
  const failed = await finished(job.id);
  expect(failed.status).toBe("failed");
  expect(failed.error).toContain("agent restarted during the job");

  // A check takes an exclusive lock: it would fail on the stale lock the killed restic left.
  const check = await finished((await runNow({ kind: "check" })).id);
  expect(check.error ?? "").toBe("");
  expect(check.status).toBe("succeeded");
  const again = await finished((await runNow({ kind: "backup", spec: { paths: [big] } })).id);
  expect(again.status).toBe("succeeded");
});

test("a revoked host's agent stops with exit code 4 and a clear log line", async () => {
  const a = agent as AgentProc;
  expect((await fleet.api(`/hosts/${hostId}`, "DELETE")).status).toBe(204);
  expect(await a.proc.exited).toBe(4);
  expect(a.log.join("")).toContain("refused this agent's token");
  agent = null;
});
