import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, runAgentCli, startAgent, startFleet, tempDir } from "./fleet.ts";
import { type Job, resticDirect, TestHost } from "./host.ts";

// Backups go on when the server is down (issue 19, DESIGN §8.7): the compiled agent, the real
// server process and the real restic. The outage lasts as long as three of the schedule's
// minutely ticks take to run on the agent's own authority (about 3 min); every wait is on a
// signal (the agent's log, the API's event stream), never a sleep.

let fleet: Fleet;
const work: string[] = [];
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  await fleet.close();
  for (const d of work) rmSync(d, { recursive: true, force: true });
});

const OWN_RUN_ENDED = /backup (\S+) run on the agent's own authority ended: (\w+)/;

test("the server down for three backup ticks: they still run; back, the server lists each once, with its log, as actor_kind agent", async () => {
  const dir = tempDir("rf-e2e-offline-");
  work.push(dir);
  const host = new TestHost(fleet, dir);
  await host.enroll();
  const data = join(host.work, "data");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "a.txt"), "kept while the server is away\n");
  const agent = await host.start();
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  const schedule = await fleet.api<{ id: string }>(`/hosts/${host.hostId}/schedules`, "POST", {
    kind: "backup",
    cron_expr: "* * * * *",
    paths: [data],
  });
  expect(schedule.status).toBe(201);
  // The first tick runs the ordinary way, fired to the server and run on its command.
  const first = await events.until(
    (e) => e.type === "job.updated" && e.host_id === host.hostId && e.status === "succeeded",
    from,
  );
  expect((await host.job(first.job_id as string)).actor_kind).toBe("schedule");

  const ran: string[] = [];
  let statusWhileDown = "";
  await fleet.restart(async () => {
    let proc = agent;
    let seen = proc.log.length;
    while (ran.length < 3) {
      const line = await proc.logUntil(OWN_RUN_ENDED, seen);
      seen = proc.log.length;
      const [, jobId, status] = OWN_RUN_ENDED.exec(line) as RegExpExecArray;
      expect(status).toBe("succeeded");
      if (!ran.includes(jobId as string)) ran.push(jobId as string);
      if (ran.length === 1) {
        // The agent restarted in the middle of the outage: its ledger holds, and it goes on.
        proc.proc.kill("SIGTERM");
        await proc.proc.exited;
        proc = startAgent(host.stateDir, { RF_RESTIC: host.restic }, host.command);
        host.agent = proc;
        seen = 0;
      }
    }
    statusWhileDown = runAgentCli(["status", "--state-dir", host.stateDir]).stdout;
  });
  const back = Date.now();
  expect(statusWhileDown).toMatch(/link: +down for/);
  expect(statusWhileDown).toContain("running due backups on its own authority");
  // The restarted agent lists what ran through the whole outage, before its restart too.
  expect(statusWhileDown).toMatch(/ran meanwhile: +3 backup\(s\)/);
  // The snapshots are in the repository, each tagged with its job.
  const snaps = JSON.parse(
    (await resticDirect(join(host.work, "repo"), ["snapshots", "--json"], host.work)).stdout,
  ) as Array<{
    id: string;
    tags?: string[];
  }>;
  for (const id of ran) expect(snaps.filter((s) => s.tags?.includes(`fleet-job=${id}`))).toHaveLength(1);

  // Back: the agent reconnects and its outbox brings the jobs, each once, with its log.
  await host.watch();
  const jobs: Job[] = [];
  for (const id of ran) jobs.push(await host.finished(id));
  console.log(
    `offline e2e: the server listed the ${ran.length} jobs ${((Date.now() - back) / 1000).toFixed(1)} s after it was back`,
  );
  for (const job of jobs) {
    expect(job).toMatchObject({ status: "succeeded", actor_kind: "agent", scheduled_id: schedule.body.id });
    const logs = await fleet.api<{ items: unknown[] }>(`/jobs/${job.id}/logs`);
    expect(logs.body.items.length).toBeGreaterThan(0);
  }
  const list = await fleet.api<{ items: Array<Job & { scheduled_at: string | null }> }>(
    `/jobs?host_id=${host.hostId}&kind=backup&limit=100`,
  );
  const ticks = list.body.items.map((j) => j.scheduled_at);
  expect(new Set(ticks).size).toBe(ticks.length); // one job per tick
  for (const id of ran) expect(list.body.items.filter((j) => j.id === id)).toHaveLength(1);
  await fleet.api(`/schedules/${schedule.body.id}`, "PATCH", { enabled: false });

  // The mirror holds every snapshot of the repository once the agent's reports are in.
  const inRepo = async () =>
    (
      JSON.parse((await resticDirect(join(host.work, "repo"), ["snapshots", "--json"], host.work)).stdout) as Array<{
        id: string;
      }>
    )
      .map((s) => s.id)
      .sort();
  const watcher = host.events ?? (await host.watch());
  const mirror = async () =>
    (await fleet.api<{ items: Array<{ id: string }> }>(`/hosts/${host.hostId}/snapshots?limit=500`)).body.items
      .map((s) => s.id)
      .sort();
  let at = 0;
  while ((await mirror()).join() !== (await inRepo()).join()) {
    await watcher.until((e) => e.type === "snapshots.updated" && e.host_id === host.hostId, at);
    at = watcher.seen.length;
  }
  expect(await mirror()).toEqual(await inRepo());
  await host.stop();
}, 600_000);
