import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, runAgentCli, startFleet, tempDir } from "./fleet.ts";
import { TestHost } from "./host.ts";

// The real server process, the compiled agent and the real restic (RF_TEST_RESTIC or restic on PATH).
// One server for the file; each test enrolls a host of its own, with its own agent and repository.
let fleet: Fleet;
let work: string;
const hosts: TestHost[] = [];

beforeAll(async () => {
  work = tempDir("rf-e2e-");
  fleet = await startFleet();
});

afterAll(async () => {
  for (const h of hosts) {
    await h.stop();
    h.events?.close();
  }
  await fleet.close();
  rmSync(work, { recursive: true, force: true });
});

/** A host of the test's own under work/<name>, watching the event stream; not enrolled yet. */
async function newHost(name: string): Promise<TestHost> {
  const host = new TestHost(fleet, join(work, name));
  mkdirSync(host.work, { recursive: true });
  hosts.push(host);
  await host.watch();
  return host;
}

/** A new host, enrolled (with its own repository, not initialized) and its agent online. */
async function runningHost(name: string): Promise<TestHost> {
  const host = await newHost(name);
  await host.enroll();
  await host.start();
  return host;
}

test("enroll → hello → schedule.set → a * * * * * * schedule fires → backup succeeds → snapshot listed", async () => {
  const host = await newHost("scheduled");
  await host.enroll();
  expect(host.hostId).toStartWith("host_");
  // A second enroll without --force is refused.
  const again = runAgentCli(["enroll", "--server", fleet.url, "--token", "x", "--state-dir", host.stateDir]);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain("already enrolled");

  const data = join(host.work, "data");
  mkdirSync(join(data, "sub"), { recursive: true });
  writeFileSync(join(data, "a.txt"), "hello fleet\n");
  writeFileSync(join(data, "sub", "b.bin"), randomBytes(100_000));

  const agent = await host.start();
  const init = await host.run({ kind: "init" });
  expect(init.status).toBe("succeeded");

  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  const schedule = await fleet.api<{ id: string }>(`/hosts/${host.hostId}/schedules`, "POST", {
    kind: "backup",
    cron_expr: "* * * * * *",
    paths: [data],
  });
  expect(schedule.status).toBe(201);
  const fired = await events.until((e) => e.type === "job.updated" && e.status === "queued", from);
  // One tick is enough; stop the schedule so jobs do not pile up.
  await fleet.api(`/schedules/${schedule.body.id}`, "PATCH", { enabled: false });
  const job = await host.finished(fired.job_id as string);
  expect(job.status).toBe("succeeded");
  expect(job.actor_kind).toBe("schedule");
  expect(job.scheduled_id).toBe(schedule.body.id);

  await events.until((e) => e.type === "snapshots.updated" && e.host_id === host.hostId, from);
  const snaps = await fleet.api<{ items: Array<{ paths: string[] }> }>(`/hosts/${host.hostId}/snapshots`);
  expect(snaps.body.items.length).toBeGreaterThan(0);
  expect(snaps.body.items[0]?.paths).toEqual([data]);

  const h = await fleet.api<{ online: boolean; restic_version: string }>(`/hosts/${host.hostId}`);
  expect(h.body.online).toBe(true);
  expect(h.body.restic_version).toMatch(/^\d+\.\d+/);

  // The password never reaches the agent's log.
  expect(agent.log.join("")).not.toContain("e2e-repo-password");
  const status = runAgentCli(["status", "--state-dir", host.stateDir]);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain("running, connected");
});

test("kill -9 mid-backup: the job ends failed with the restart reason, the repository is unlocked, the next backup succeeds", async () => {
  const host = await runningHost("killed");
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
  const big = join(host.work, "big");
  mkdirSync(big, { recursive: true });
  // 240 MiB of incompressible data keeps restic busy for a second or more on this machine.
  for (let i = 0; i < 12; i++) writeFileSync(join(big, `f${i}.bin`), randomBytes(20 * 1024 * 1024));

  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  const job = await host.runNow({ kind: "backup", spec: { paths: [big] } });
  // Progress from restic proves it is running and holds its lock.
  await events.until((e) => e.type === "job.progress" && e.job_id === job.id, from);
  const a = host.agent;
  if (!a) throw new Error("agent not running");
  // The whole process group, agent and its restic, as a crash or `systemctl kill -s KILL` would.
  process.kill(-(a.proc.pid as number), "SIGKILL");
  await a.proc.exited;
  host.agent = null;
  expect((await host.job(job.id)).status).toBe("running");

  await host.start();
  const failed = await host.finished(job.id);
  expect(failed.status).toBe("failed");
  expect(failed.error).toContain("agent restarted during the job");

  // A check takes an exclusive lock: it would fail on the stale lock the killed restic left.
  const check = await host.run({ kind: "check" });
  expect(check.error ?? "").toBe("");
  expect(check.status).toBe("succeeded");
  expect((await host.run({ kind: "backup", spec: { paths: [big] } })).status).toBe("succeeded");
});

test("a revoked host's agent stops with exit code 4 and a clear log line", async () => {
  const host = await runningHost("revoked");
  const a = host.agent;
  if (!a) throw new Error("agent not running");
  expect((await fleet.api(`/hosts/${host.hostId}`, "DELETE")).status).toBe(204);
  expect(await a.proc.exited).toBe(4);
  expect(a.log.join("")).toContain("refused this agent's token");
  host.agent = null;
});
