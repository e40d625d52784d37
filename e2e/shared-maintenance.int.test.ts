import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../server/src/clock.ts";
import { startTestServer, type TestServer } from "../server/src/testing/harness.ts";
import { type Fleet, tempDir } from "./fleet.ts";
import { REPO_PASSWORD, RESTIC, resticDirect, TestHost } from "./host.ts";
import { inProcessFleet } from "./in-process-fleet.ts";

// Repository-wide maintenance with real parts (issue 18 item 2): three compiled agents on one
// machine, enrolled as web-a, web-b and web-c, get one shared repository from a policy with a
// nightly prune, and run the real restic (0.14, or RF_TEST_RESTIC). The server runs in this
// process with an injected clock: each night is the clock moved to 02:00:05 UTC and the
// server's maintenance sweep called, as its 10 s timer would (the agents keep their own clocks
// and heartbeats). Each night makes one prune, on one host, and it succeeds.
const DAY = 86_400_000;
let t: TestServer;
let fleet: Fleet;
let work: string;
let repo: string;
let repoId: string;
const hosts: TestHost[] = [];

interface Job {
  id: string;
  host_id: string;
  kind: string;
  status: string;
  actor_kind: string;
  scheduled_at: string | null;
}

/** The first 02:00:05 UTC after the clock's time. */
function nextNight(now: Date): number {
  const d = new Date(now);
  d.setUTCHours(2, 0, 5, 0);
  return d.getTime() > now.getTime() ? d.getTime() : d.getTime() + DAY;
}

const prunes = async () => (await fleet.api<{ items: Job[] }>("/jobs?kind=prune&limit=50")).body.items;

/** One night: the clock to 02:00:05, the sweep; answers the one new prune, run to its end. */
async function night(): Promise<Job> {
  const before = (await prunes()).length;
  const watcher = await fleet.events();
  const from = watcher.seen.length;
  t.clock.advance(nextNight(t.clock.now()) - t.clock.now().getTime());
  t.server.domain.maintenance.sweep();
  const made = await prunes();
  expect(made).toHaveLength(before + 1);
  const job = made[0] as Job;
  await watcher.until((e) => e.type === "job.updated" && e.job_id === job.id && e.status === "succeeded", from);
  watcher.close();
  return (await fleet.api<Job>(`/jobs/${job.id}`)).body;
}

/**
 * TestHost.enroll, without blocking this process: its spawnSync would stop the in-process
 * server from answering the enrollment it waits for.
 */
async function enroll(h: TestHost, hostname: string): Promise<void> {
  const token = (await fleet.api<{ token: string }>("/enrollment-tokens", "POST", { uses: 1 })).body.token;
  const args = ["enroll", "--server", fleet.url, "--token", token, "--state-dir", h.stateDir, "--hostname", hostname];
  const proc = Bun.spawn([...h.command, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`enroll failed (${code}): ${err}`);
  h.hostId = /host (\S+);/.exec(out)?.[1] ?? "";
}

beforeAll(async () => {
  work = tempDir("rf-e2e-maint-");
  repo = join(work, "shared-repo");
  t = await startTestServer({ clock: new ManualClock(new Date()) });
  fleet = inProcessFleet(t);
  const r = await fleet.api<{ id: string }>("/repositories", "POST", {
    name: "shared",
    url: repo,
    password: REPO_PASSWORD,
  });
  expect(r.status).toBe(201);
  repoId = r.body.id;
  const p = await fleet.api("/policies", "POST", {
    name: "nightly",
    selector: {},
    repository_id: repoId,
    schedules: [
      // A backup the agents hold (on 1 January: it never fires during the test), and the nightly prune.
      { kind: "backup", cron_expr: "0 0 1 1 *", timezone: "UTC", paths: [join(work, "srv-0")] },
      { kind: "prune", cron_expr: "0 2 * * *", timezone: "UTC" },
    ],
  });
  expect(p.status).toBe(201);
  for (const name of ["web-a", "web-b", "web-c"]) {
    const h = new TestHost(fleet, join(work, name));
    await h.watch();
    await enroll(h, name);
    await h.start();
    hosts.push(h);
  }
  const [a] = hosts as [TestHost];
  expect((await a.run({ kind: "init" })).status).toBe("succeeded");
  // Each host backs up twice and keeps its newest: the first snapshots' data waits for a prune.
  for (const [i, h] of hosts.entries()) {
    const data = join(work, `srv-${i}`);
    mkdirSync(data, { recursive: true });
    for (const round of [1, 2]) {
      writeFileSync(join(data, "blob.bin"), Buffer.alloc(256 * 1024, `${h.hostId} round ${round}`));
      expect((await h.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
    }
    const forget = await h.run({ kind: "forget", spec: { policy: { keep_last: 1 } } }, "snapshots.updated");
    expect(forget.status).toBe("succeeded");
  }
}, 240_000);

afterAll(async () => {
  for (const h of hosts) {
    await h.stop();
    h.events?.close();
  }
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

test("the agents hold no prune schedule: the server runs it for the shared repository", async () => {
  for (const h of hosts) {
    const events = h.events ?? (await h.watch());
    // Applied and acked by the agent (the ack publishes host.updated).
    for (let from = events.seen.length; ; from = events.seen.length) {
      if ((await fleet.api<{ schedule_in_sync: boolean }>(`/hosts/${h.hostId}`)).body.schedule_in_sync) break;
      await events.until((e) => e.type === "host.updated" && e.host_id === h.hostId, from);
    }
    const held = JSON.parse(readFileSync(join(h.stateDir, "schedules.json"), "utf8"));
    expect(JSON.stringify(held)).toContain('"backup"');
    expect(JSON.stringify(held)).not.toContain('"prune"');
    const listed = (
      await fleet.api<{ items: { kind: string; repository_wide: string | null }[] }>(`/hosts/${h.hostId}/schedules`)
    ).body.items;
    expect(listed).toEqual([
      expect.objectContaining({ kind: "backup", repository_wide: null }),
      expect.objectContaining({ kind: "prune", repository_wide: repoId }),
    ]);
  }
});

test(`a shared repository used by 3 real agents gets one prune per night, and it succeeds (${RESTIC})`, async () => {
  const packsBefore = await resticDirect(repo, ["list", "packs", "--no-lock"], work);
  expect(packsBefore.code).toBe(0);

  const first = await night();
  expect(first).toMatchObject({ kind: "prune", status: "succeeded", actor_kind: "schedule" });
  expect(new Date(first.scheduled_at as string).getUTCHours()).toBe(2);
  // The prune removed the forgotten snapshots' data, and the repository is sound.
  const packsAfter = await resticDirect(repo, ["list", "packs", "--no-lock"], work);
  expect(packsAfter.stdout.trim().split("\n").length).toBeLessThan(packsBefore.stdout.trim().split("\n").length);
  expect((await resticDirect(repo, ["check"], work)).code).toBe(0);

  // Two more nights: one prune each, each on the host that had run it least recently.
  const second = await night();
  const third = await night();
  expect([second.status, third.status]).toEqual(["succeeded", "succeeded"]);
  expect(new Set([first.host_id, second.host_id, third.host_id]).size).toBe(3);
  expect(await prunes()).toHaveLength(3);

  // The repository shows its last prune, on which host, and its result.
  const shown = (await fleet.api<{ last_prune: Record<string, unknown> }>(`/repositories/${repoId}`)).body;
  const name = (await fleet.api<{ name: string }>(`/hosts/${third.host_id}`)).body.name;
  expect(shown.last_prune).toMatchObject({
    job_id: third.id,
    host_id: third.host_id,
    host_name: name,
    status: "succeeded",
  });
  const m = (await fleet.api<{ ticks: { outcome: string }[] }>(`/repositories/${repoId}/maintenance`)).body;
  expect(m.ticks.map((x) => x.outcome)).toEqual(["fired", "fired", "fired"]);
}, 240_000);
