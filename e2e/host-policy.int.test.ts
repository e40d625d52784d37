import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, runAgentCli, startFleet, tempDir } from "./fleet.ts";
import { TestHost } from "./host.ts";

// The host has the last word: a server (or anyone with an admin token) cannot make a host restore
// over its system, read paths outside its allow-list, run hooks, or use another repository,
// when the host's policy file says no. The compiled agent against the real server and restic.
let fleet: Fleet;
let work: string;
let host: TestHost;
let data: string;
let staging: string;
let policyFile: string;

beforeAll(async () => {
  work = tempDir("rf-e2e-policy-");
  data = join(work, "srv");
  staging = join(work, "staging");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "a.txt"), "precious\n");
  policyFile = join(work, "policy.json");
  writeFileSync(
    policyFile,
    JSON.stringify({ remote_hooks: false, restore_targets: [staging], backup_paths: [data], repositories: "first" }),
  );
  fleet = await startFleet();
  host = new TestHost(fleet, join(work, "host"));
  await host.watch();
  await host.enroll({ hostname: "web-p", repoUrl: join(work, "repo") });
  await host.start({ RF_POLICY: policyFile });
  // The host's first repository is its own (the agent pins it), and it has one snapshot of `data`.
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
  expect((await host.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
});

afterAll(async () => {
  await host?.stop();
  host?.events?.close();
  await fleet?.close();
});

const refused = (job: { status: string; error: string | null; stats: Record<string, unknown> | null }) => {
  expect(job.status).toBe("failed");
  expect(job.stats?.failure_reason).toBe("policy");
  expect(job.error).toContain(`refused by this host's policy (${policyFile})`);
  return job.error ?? "";
};

test("the server shows the host's policy, as the agent reports it", async () => {
  const h = (await fleet.api<{ policy: unknown }>(`/hosts/${host.hostId}`)).body;
  expect(h.policy).toEqual({
    remote_hooks: false,
    restore_targets: [staging],
    backup_paths: [data],
    repositories: "first",
    source: policyFile,
  });
});

test("a restore in place (target /) is refused before restic runs; into the staging folder it works", async () => {
  const inPlace = await host.run({ kind: "restore", spec: { snapshot_id: "latest", target: "/" } });
  expect(refused(inPlace)).toContain('restore target "/" is not inside restore_targets');
  const ok = await host.run({ kind: "restore", spec: { snapshot_id: "latest", target: join(staging, "r1") } });
  expect(ok.status).toBe("succeeded");
  expect(readFileSync(join(staging, "r1", data, "a.txt"), "utf8")).toBe("precious\n");
});

test("a link inside the staging folder does not lead a restore out of it", async () => {
  mkdirSync(staging, { recursive: true });
  const outside = join(work, "outside");
  mkdirSync(outside);
  symlinkSync(outside, join(staging, "escape"));
  const job = await host.run({
    kind: "restore",
    spec: { snapshot_id: "latest", target: join(staging, "escape", "x") },
  });
  refused(job);
  expect(existsSync(join(outside, "x"))).toBe(false);
});

test("hooks and backup paths outside the allow-list are refused, naming the setting", async () => {
  const hooked = await host.run({ kind: "backup", spec: { paths: [data], pre_hook: "touch /tmp/rf-pwned" } });
  expect(refused(hooked)).toContain("remote_hooks is false");
  const etc = await host.run({ kind: "backup", spec: { paths: ["/etc"] } });
  expect(refused(etc)).toContain('backup path "/etc" is not inside backup_paths');
});

test("pinned to its first repository: a switch to another one is refused and nothing is written there", async () => {
  const evil = join(work, "attacker-repo");
  await host.useRepo(evil);
  const init = await host.run({ kind: "init" });
  expect(refused(init)).toContain("is not the one this host is pinned to");
  expect(existsSync(evil)).toBe(false);
  // Back on its own repository, the host works again.
  await host.useRepo(join(work, "repo"));
  expect((await host.run({ kind: "backup", spec: { paths: [data] } })).status).toBe("succeeded");
  // The pin is the host's to change: `policy` shows it, `policy --reset-pin` clears it.
  const shown = runAgentCli(["policy", "--policy", policyFile, "--state-dir", host.stateDir]);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain(`pinned to ${join(work, "repo")}`);
});

test("a policy file that does not parse stops the agent with an error naming the key", () => {
  const bad = join(work, "bad-policy.json");
  writeFileSync(bad, JSON.stringify({ remote_hook: true }));
  const r = runAgentCli(["policy", "--policy", bad, "--state-dir", host.stateDir]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`policy file ${bad}`);
  expect(r.stderr).toContain("remote_hook");
});
