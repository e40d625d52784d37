import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { type Job, resticDirect, TestHost } from "./host.ts";
import { startLinkProxy } from "./link-proxy.ts";

// Backups while the link is down (DESIGN §8.7), with the compiled agent, the real server and real
// restic; the agent's link runs through a proxy that breaks it on cue while the server stays up.
// - The race: the server fires a tick, the link breaks before its command.run reaches the agent, the
//   agent runs the tick on its own after the grace period, the link comes back and the server sends
//   its command.run again. One restic backup, one job.
// - A lost outbox: the agent's reports of such a backup are lost with its state; the server rebuilds
//   the job from the snapshot's fleet-job tag in the next snapshot list.

let fleet: Fleet;
const work: string[] = [];
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  await fleet.close();
  for (const d of work) rmSync(d, { recursive: true, force: true });
});

/** A host whose agent reaches the server through a link proxy, with a repository and data to back up. */
async function hostBehindProxy(prefix: string) {
  const proxy = startLinkProxy(fleet.url);
  const dir = tempDir(prefix);
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
  return { proxy, host, agent, data };
}

const OWN_RUN_ENDED = /backup (\S+) run on the agent's own authority ended: (\w+)/;

test("a tick's command.run lost with the link: the agent runs the tick itself, and it stays one backup and one job", async () => {
  const { proxy, host, agent, data } = await hostBehindProxy("rf-e2e-race-");
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
  const line = await agent.logUntil(OWN_RUN_ENDED);
  const [, ownId, status] = OWN_RUN_ENDED.exec(line) as RegExpExecArray;
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

test("a lost outbox: the server rebuilds the job of a backup the agent ran on its own from the snapshot's tag", async () => {
  const { proxy, host, agent, data } = await hostBehindProxy("rf-e2e-lost-");
  const logFrom = agent.log.length;
  const schedule = await fleet.api<{ id: string }>(`/hosts/${host.hostId}/schedules`, "POST", {
    kind: "backup",
    cron_expr: "* * * * *",
    paths: [data],
  });
  expect(schedule.status).toBe(201);
  // Once the agent holds the schedule the link breaks: the next tick runs on the agent's own authority.
  await agent.logUntil(/schedules applied/, logFrom);
  proxy.cutNow();
  const line = await agent.logUntil(OWN_RUN_ENDED);
  const [, ownId, status] = OWN_RUN_ENDED.exec(line) as RegExpExecArray;
  expect(status).toBe("succeeded");
  // The agent's state is lost: its outbox (the reports of that backup), its jobs and its ledger.
  await host.stop();
  for (const file of ["outbox.jsonl", "jobs.json", "fire-ledger.json"])
    rmSync(join(host.stateDir, file), { force: true });
  proxy.release();
  await host.start();
  // The next tick runs the ordinary way; its snapshot list carries the lost backup's tag.
  const rebuilt = await host.finished(ownId as string);
  expect(rebuilt).toMatchObject({ id: ownId, kind: "backup", status: "succeeded", actor_kind: "agent" });
  expect(rebuilt.stats).toMatchObject({ rebuilt_from_snapshot: true });
  await fleet.api(`/schedules/${schedule.body.id}`, "PATCH", { enabled: false });
  await host.stop();
  proxy.close();
}, 300_000);
