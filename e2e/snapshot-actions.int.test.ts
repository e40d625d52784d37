import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { enrollPair, type Job, resticDirect, type TestHost } from "./host.ts";

// Snapshot actions end to end: the server process, two compiled agents (web-a, web-b) on one
// shared repository, and the real restic (0.14, or RF_TEST_RESTIC). Compare two of web-a's
// snapshots, re-tag one (its id changes and the list follows), forget one; web-b's survive.

let fleet: Fleet;
let work: string;
let data: string;
let repo: string;
let a: TestHost;
let b: TestHost;

interface Snap {
  id: string;
  time: string;
  tags: string[];
  size_bytes: number | null;
}

const snapshotsOf = async (h: TestHost) =>
  (await fleet.api<{ items: Snap[] }>(`/hosts/${h.hostId}/snapshots`)).body.items.sort((x, y) =>
    x.time.localeCompare(y.time),
  );

/** An action's job to its end, and the snapshot report after it. */
async function act(h: TestHost, path: string, body?: unknown): Promise<Job> {
  const events = h.events ?? (await h.watch());
  const from = events.seen.length;
  const res = await fleet.api<Job>(`/hosts/${h.hostId}${path}`, "POST", body);
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  const job = await h.finished(res.body.id);
  if (job.status === "succeeded") {
    await events.until((e) => e.type === "snapshots.updated" && e.host_id === h.hostId, from);
  }
  return job;
}

beforeAll(async () => {
  work = tempDir("rf-e2e-snapactions-");
  data = join(work, "data");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "keep.txt"), "keep\n");
  writeFileSync(join(data, "old.txt"), "old\n");
  fleet = await startFleet();
  repo = join(work, "repo");
  [a, b] = await enrollPair(fleet, work, repo);
  expect((await a.run({ kind: "init" })).status).toBe("succeeded");
  expect((await a.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
  rmSync(join(data, "old.txt"));
  writeFileSync(join(data, "new.txt"), "new\n");
  expect((await a.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
  expect((await b.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
}, 300_000);

afterAll(async () => {
  for (const h of [a, b]) {
    await h?.stop();
    h?.events?.close();
  }
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

test("compare: the agent's diff of two of the host's snapshots, through the server", async () => {
  const [s1, s2] = (await snapshotsOf(a)) as [Snap, Snap];
  const r = await fleet.api<{
    changes: Array<{ path: string; change: string; modifier: string; type: string }>;
    total: number;
    stats: { added: { files: number }; removed: { files: number } };
  }>(`/hosts/${a.hostId}/snapshots/diff?from=${s1.id.slice(0, 8)}&to=${s2.id}`);
  expect(r.status).toBe(200);
  expect(r.body.changes.map((c) => `${c.modifier} ${c.path}`)).toEqual([`+ ${data}/new.txt`, `- ${data}/old.txt`]);
  expect(r.body.total).toBe(2);
  expect(r.body.stats).toMatchObject({ added: { files: 1 }, removed: { files: 1 } });
  const [theirs] = (await snapshotsOf(b)) as [Snap];
  const other = await fleet.api(`/hosts/${a.hostId}/snapshots/diff?from=${s1.id}&to=${theirs.id}`);
  expect(other.status).toBe(404);
});

test("tags: the tag job rewrites the snapshot, and the list follows its new id", async () => {
  const [s1] = (await snapshotsOf(a)) as [Snap];
  const job = await act(a, `/snapshots/${s1.id}/tags`, { add: ["gold"] });
  expect(job.status).toBe("succeeded");
  const newId = job.stats?.snapshot_id as string;
  expect(newId).not.toBe(s1.id);
  const now = await snapshotsOf(a);
  expect(now.map((s) => s.id)).not.toContain(s1.id);
  expect(now.find((s) => s.id === newId)?.tags).toEqual(["gold"]);
  // The same backup under a new id: its size stays known (restic 0.14 stores none in the snapshot).
  expect(s1.size_bytes).toBeGreaterThan(0);
  expect(now.find((s) => s.id === newId)?.size_bytes).toBe(s1.size_bytes);
});

test("forget: one snapshot of the host is gone, the other host's all survive", async () => {
  const [s1, s2] = (await snapshotsOf(a)) as [Snap, Snap];
  const theirs = (await snapshotsOf(b)).map((s) => s.id);
  const refused = await fleet.api(`/hosts/${a.hostId}/snapshots/${theirs[0]}/forget`, "POST");
  expect(refused.status).toBe(404);
  const job = await act(a, `/snapshots/${s1.id}/forget`);
  expect(job.status).toBe("succeeded");
  expect((await snapshotsOf(a)).map((s) => s.id)).toEqual([s2.id]);
  const direct = await resticDirect(repo, ["snapshots", "--json", "--no-lock", "--host=web-b"], work);
  expect((JSON.parse(direct.stdout) as Snap[]).map((s) => s.id)).toEqual(theirs);
});
