import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { type Job, resticDirect, TestHost } from "./host.ts";
import { startLinkProxy } from "./link-proxy.ts";

// The race of DESIGN §8.7, with the compiled agent, the real server and real restic: the server
// fires a tick, the link breaks before its command.run reaches the agent, the agent runs the tick on
// its own after the grace period, the link comes back and the server sends its command.run again.
// One restic backup, one job. The link runs through a proxy that breaks it on the command.run.

let fleet: Fleet;
const work: string[] = [];
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  await fleet.close();
  for (const d of work) rmSync(d, { recursive: true, force: true });
});

test("a tick's command.run lost with the link: the agent runs the tick itself, and it stays one backup and one job", async () => {
  const proxy = startLinkProxy(fleet.url);
  const dir = tempDir("rf-e2e-race-");
  work.push(dir);
  const host = new TestHost(fleet, dir);
  await host.enroll();
  // Enrolled directly (the CLI runs synchronously, and the proxy lives in this process); the agent
  // then talks to the server through the proxy.
  const identityFile = join(host.stateDir, "identity.json");
  const identity = JSON.parse(readFileSync(identityFile, "utf8")) as { server_url: string };
  writeFileSync(identityFile, JSON.stringify({ ...identity, server_url: proxy.url }), { mode: 0o600 });
  const data = join(host.work, "data");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "a.txt"), "one tick, one backup\n");
  const agent = await host.start();
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  // The link breaks on the schedule's first command.run: the server made its job, the agent never hears of it.
  const cut = proxy.cutAt('"type":"command.run"');
  const schedule = await fleet.api<{ id: string }>(`/hosts/${host.hostId}/schedules`, "POST", {
    kind: "backup",
    cron_expr: "* * * * *",
    paths: [data],
  });
  const made = await events.until((e) => e.type === "job.updated" && e.host_id === host.hostId, from);
  await cut;
  const serverJob = await host.job(made.job_id as string);
  expect(serverJob.actor_kind).toBe("schedule");
  // The grace period (6 s for a backup every minute) passes; the agent runs the tick on its own.
  const line = await agent.logUntil(/backup (\S+) run on the agent's own authority ended: (\w+)/);
  const [, ownId, status] = /backup (\S+) run on the agent's own authority ended: (\w+)/.exec(line) as RegExpExecArray;
  expect(status).toBe("succeeded");
  // No more ticks for this test; then the link comes back.
  await fleet.api(`/schedules/${schedule.body.id}`, "PATCH", { enabled: false });
  proxy.release();
  const own = await host.finished(ownId as string);
  expect(own).toMatchObject({ status: "succeeded", actor_kind: "agent", scheduled_id: schedule.body.id });
  // The server's row for the tick became the agent's job; its command.run, sent again on the
  // agent's hello, was refused by the agent's ledger of fires.
  await agent.logUntil(/refused a job for a schedule tick that ran here already/);
  expect((await fleet.api(`/jobs/${serverJob.id}`)).status).toBe(404);
  const list = await fleet.api<{ items: Array<Job & { scheduled_at: string | null }> }>(
    `/jobs?host_id=${host.hostId}&kind=backup&limit=100`,
  );
  const ofTick = list.body.items.filter(
    (j) => j.scheduled_at === (serverJob as Job & { scheduled_at: string }).scheduled_at,
  );
  expect(ofTick.map((j) => j.id)).toEqual([ownId as string]);
  // One restic backup per succeeded job, and the tick's snapshot carries the agent's job id.
  const snaps = JSON.parse(
    (await resticDirect(join(host.work, "repo"), ["snapshots", "--json"], host.work)).stdout,
  ) as Array<{ tags?: string[] }>;
  expect(snaps).toHaveLength(list.body.items.filter((j) => j.status === "succeeded").length);
  expect(snaps.filter((s) => s.tags?.includes(`fleet-job=${ownId}`))).toHaveLength(1);
  await host.stop();
  proxy.close();
}, 300_000);
