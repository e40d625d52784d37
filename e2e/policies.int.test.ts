import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resticOn } from "../agent/src/testing/int-helpers.ts";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { REPO_PASSWORD, resticDirect, TestHost } from "./host.ts";

// Issue 14 end to end, with the compiled agent and real restic: three hosts enroll with one
// labelled token, and a policy alone gives each its own repository (initialised by the agent,
// auto_init) and schedules; its first scheduled backup succeeds. A policy change reaches all three
// (acked), a host that does not match is untouched, and a higher priority takes over a repository.
let fleet: Fleet;
let work: string;
let data: string;
const hosts: TestHost[] = [];
let other: TestHost;

interface HostView {
  schedule_version: number;
  acked_schedule_version: number;
  schedule_in_sync: boolean;
  policy_repository_id: string | null;
  repository_policy_id: string | null;
}
const hostView = async (h: TestHost) => (await fleet.api<HostView>(`/hosts/${h.hostId}`)).body;

/** Waits (on the event stream, never a timer) until the host's agent has acked its current version. */
async function inSync(h: TestHost, atLeast: number): Promise<HostView> {
  const events = h.events ?? (await h.watch());
  for (;;) {
    // The mark is taken before the read: an update landing between the two is still seen, so the
    // wait cannot miss the host's last update (after which nothing else may come).
    const from = events.seen.length;
    const view = await hostView(h);
    if (view.schedule_in_sync && view.acked_schedule_version >= atLeast) return view;
    await events.until((e) => e.type === "host.updated" && e.host_id === h.hostId, from);
  }
}

beforeAll(async () => {
  work = tempDir("rf-e2e-policies-");
  data = join(work, "srv");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "index.html"), "hello from a policy\n");
  fleet = await startFleet();
});

afterAll(async () => {
  for (const h of [...hosts, other]) {
    await h?.stop();
    h?.events?.close();
  }
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

test("one labelled token and one policy: three hosts get their own repository, initialised, and back up", async () => {
  const repo = await fleet.api<{ id: string }>("/repositories", "POST", {
    name: "per-host",
    url: join(work, "repos", "{host}"),
    auto_init: true,
  });
  expect(repo.status).toBe(201);
  const policy = await fleet.api<{ id: string; schedules: { id: string }[] }>("/policies", "POST", {
    name: "e2e",
    selector: { labels: { env: "e2e" } },
    repository_id: repo.body.id,
    schedules: [{ kind: "backup", cron_expr: "*/2 * * * * *", paths: [data] }],
  });
  expect(policy.status).toBe(201);
  const token = await fleet.api<{ token: string }>("/enrollment-tokens", "POST", { uses: 3, labels: { env: "e2e" } });

  for (const name of ["web-01", "web-02", "web-03"]) {
    const h = new TestHost(fleet, join(work, name));
    hosts.push(h);
    await h.watch();
    await h.enroll({ hostname: name, token: token.body.token, repoUrl: null });
  }
  // A host the policy does not select, with a repository of its own.
  other = new TestHost(fleet, join(work, "other"));
  await other.watch();
  await other.enroll({ hostname: "other-01" });

  for (const h of [...hosts, other]) await h.start();

  // Each host's first scheduled backup succeeds, into a repository its agent initialised.
  for (const h of hosts) {
    const events = h.events ?? (await h.watch());
    const done = await events.until(
      (e) => e.type === "job.updated" && e.host_id === h.hostId && e.status === "succeeded",
    );
    const job = await h.job(done.job_id ?? "");
    expect(job).toMatchObject({ kind: "backup", actor_kind: "schedule" });
  }
  const keys = await fleet.api<{ hosts: { restic_host: string; repo_url: string; password: string }[] }>(
    `/repositories/${repo.body.id}/keys`,
  );
  expect(keys.body.hosts.map((k) => k.restic_host)).toEqual(["web-01", "web-02", "web-03"]);
  for (const k of keys.body.hosts) {
    expect(k.repo_url).toBe(join(work, "repos", k.restic_host));
    const out = await resticOn({ repo: k.repo_url, password: k.password, scratch: work }, [
      "snapshots",
      "--json",
      "--no-lock",
    ]);
    const snaps = JSON.parse(out.stdout) as { hostname: string; paths: string[] }[];
    expect(snaps.length).toBeGreaterThan(0);
    expect(snaps.every((s) => s.hostname === k.restic_host && s.paths.includes(data))).toBe(true);
  }
  expect(existsSync(join(work, "repos", "other-01"))).toBe(false);

  // A change of the policy's schedule reaches all three; the host it does not select is untouched.
  const otherBefore = await hostView(other);
  const versions = await Promise.all(hosts.map(hostView));
  const changed = await fleet.api(`/policies/${policy.body.id}`, "PATCH", {
    schedules: [{ id: policy.body.schedules[0]?.id, kind: "backup", cron_expr: "0 3 * * *", paths: [data] }],
  });
  expect(changed.status).toBe(200);
  for (const [i, h] of hosts.entries()) {
    const view = await inSync(h, (versions[i]?.schedule_version ?? 0) + 1);
    expect(view.acked_schedule_version).toBe((versions[i]?.schedule_version ?? 0) + 1);
    const schedules = (
      await fleet.api<{ items: { cron_expr: string; policy_id: string }[] }>(`/hosts/${h.hostId}/schedules`)
    ).body.items;
    expect(schedules).toEqual([expect.objectContaining({ cron_expr: "0 3 * * *", policy_id: policy.body.id })]);
  }
  const otherAfter = await hostView(other);
  expect(otherAfter.schedule_version).toBe(otherBefore.schedule_version);

  // A second policy with a higher priority takes over the repository of the host it selects.
  const web1 = hosts[0] as TestHost;
  const shared = join(work, "db-repo");
  const db = await fleet.api<{ id: string }>("/repositories", "POST", {
    name: "db",
    url: shared,
    password: REPO_PASSWORD,
    auto_init: true,
  });
  const relabel = await fleet.api(`/hosts/${web1.hostId}`, "PATCH", { labels: { env: "e2e", role: "db" } });
  expect(relabel.status).toBe(200);
  const before = await hostView(web1);
  const takeover = await fleet.api<{ id: string; matched_hosts: number }>("/policies", "POST", {
    name: "databases",
    selector: { labels: { role: "db" } },
    repository_id: db.body.id,
    priority: 10,
  });
  expect(takeover.body.matched_hosts).toBe(1);
  const after = await inSync(web1, before.schedule_version + 1);
  expect(after).toMatchObject({ policy_repository_id: db.body.id, repository_policy_id: takeover.body.id });
  const backup = await web1.run({ kind: "backup", spec: { paths: [data] } });
  expect(backup.status).toBe("succeeded");
  const snaps = JSON.parse((await resticDirect(shared, ["snapshots", "--json", "--no-lock"], work)).stdout) as {
    hostname: string;
  }[];
  // Only web-01's (a tick of the old every-2-seconds schedule still queued may have run here too).
  expect([...new Set(snaps.map((s) => s.hostname))]).toEqual(["web-01"]);
  // The other two keep their own.
  for (const h of hosts.slice(1)) expect((await hostView(h)).policy_repository_id).toBe(repo.body.id);
});
