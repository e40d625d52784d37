import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROTOCOL_VERSION } from "../protocol/index.ts";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { enrollPair, resticDirect, type TestHost } from "./host.ts";

// `--host` scoping end to end: two compiled agents on one machine, enrolled as web-a and web-b, back up
// the same path into one repository. Each one's retention, mirror and restore stay its own.
// The hosts are shared by the tests; each test that backs up gives both a repository of its own.
let fleet: Fleet;
let work: string;
/** The repository the init job made: copied by sharedRepo, never used by a test itself. */
let template: string;
let a: TestHost;
let b: TestHost;

type Snap = { id: string; hostname: string };
const mirror = async (h: TestHost) => (await fleet.api<{ items: Snap[] }>(`/hosts/${h.hostId}/snapshots`)).body.items;

/** Snapshot count per host name, straight from the repository. */
async function countsInRepo(repo: string): Promise<Record<string, number>> {
  const out = await resticDirect(repo, ["snapshots", "--json", "--no-lock"], work);
  expect(out.code).toBe(0);
  const counts: Record<string, number> = {};
  for (const s of JSON.parse(out.stdout) as Snap[]) counts[s.hostname] = (counts[s.hostname] ?? 0) + 1;
  return counts;
}

/**
 * Points both hosts at a new, empty repository (a copy of the initialized template) and gives the
 * test its own folder to back up, the same path for both hosts.
 */
async function sharedRepo(name: string): Promise<{ repo: string; data: string }> {
  const repo = join(work, `repo-${name}`);
  cpSync(template, repo, { recursive: true });
  for (const h of [a, b]) await h.useRepo(repo);
  const data = join(work, `srv-${name}`);
  mkdirSync(data, { recursive: true });
  return { repo, data };
}

beforeAll(async () => {
  work = tempDir("rf-e2e-shared-");
  template = join(work, "shared-repo");
  fleet = await startFleet();
  [a, b] = await enrollPair(fleet, work, template);
  expect((await a.run({ kind: "init" })).status).toBe("succeeded");
});

afterAll(async () => {
  for (const h of [a, b]) {
    await h?.stop();
    h?.events?.close();
  }
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

test("the server shows each host's restic host name", async () => {
  for (const [h, name] of [
    [a, "web-a"],
    [b, "web-b"],
  ] as const) {
    const host = (
      await fleet.api<{ restic_host: string; protocol_version: number; timezone: string | null }>(`/hosts/${h.hostId}`)
    ).body;
    // The compiled agent speaks the newest protocol, and reports its zone with it.
    expect(host).toMatchObject({ restic_host: name, protocol_version: PROTOCOL_VERSION });
    expect(host.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  }
});

test("three backups each: each mirror lists only its own; forget keeps each host's own policy", async () => {
  const { repo, data } = await sharedRepo("rounds");
  for (const round of [1, 2, 3]) {
    for (const [h, name] of [
      [a, "a"],
      [b, "b"],
    ] as const) {
      writeFileSync(join(data, "app.conf"), `host ${name} round ${round}\n`);
      expect((await h.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
    }
  }
  expect(await countsInRepo(repo)).toEqual({ "web-a": 3, "web-b": 3 });
  expect((await mirror(a)).map((s) => s.hostname)).toEqual(["web-a", "web-a", "web-a"]);
  expect((await mirror(b)).map((s) => s.hostname)).toEqual(["web-b", "web-b", "web-b"]);

  const fa = await a.run({ kind: "forget", spec: { policy: { keep_last: 1 } } }, "snapshots.updated");
  expect(fa).toMatchObject({ status: "succeeded", stats: { snapshots_kept: 1, snapshots_removed: 2 } });
  expect(await countsInRepo(repo)).toEqual({ "web-a": 1, "web-b": 3 });
  const fb = await b.run({ kind: "forget", spec: { policy: { keep_last: 2 } } }, "snapshots.updated");
  expect(fb.status).toBe("succeeded");
  expect(await countsInRepo(repo)).toEqual({ "web-a": 1, "web-b": 2 });
  expect(await mirror(a)).toHaveLength(1);
  expect(await mirror(b)).toHaveLength(2);
});

test("restore latest gives web-a its own files, though web-b backed up last", async () => {
  const { data } = await sharedRepo("restore");
  // web-b backs up before and after web-a, so its snapshot is the newest in the repository.
  for (const [h, content] of [
    [b, "host b round 2"],
    [a, "host a round 3"],
    [b, "host b round 3"],
  ] as const) {
    writeFileSync(join(data, "app.conf"), `${content}\n`);
    expect((await h.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
  }
  const target = join(work, "restore-a");
  const r = await a.run({ kind: "restore", spec: { snapshot_id: "latest", target } });
  expect(r.status).toBe("succeeded");
  expect(readFileSync(join(target, data, "app.conf"), "utf8")).toBe("host a round 3\n");

  const theirs = (await mirror(b))[0] as Snap; // newest first
  const refused = await a.run({ kind: "restore", spec: { snapshot_id: theirs.id, target: join(work, "r2") } });
  expect(refused).toMatchObject({ status: "failed", stats: { failure_reason: "other_host" } });
  const asked = await a.run({
    kind: "restore",
    spec: { snapshot_id: theirs.id, target: join(work, "r3"), source_host_id: b.hostId },
  });
  expect(asked.status).toBe("succeeded");
  expect(readFileSync(join(work, "r3", data, "app.conf"), "utf8")).toBe("host b round 3\n");
});
