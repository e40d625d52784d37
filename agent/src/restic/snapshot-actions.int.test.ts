import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SnapshotsDiffedPayload } from "../../../protocol/index.ts";
import { liveKit } from "../live/live-test-kit.ts";
import {
  INT_TIMEOUT,
  PASSWORD,
  RESTIC,
  realSupervisor,
  restic,
  type Sandbox,
  sandbox,
} from "../testing/int-helpers.ts";
import { bunSpawn } from "./spawn.ts";

/**
 * Snapshot actions against the real restic, on 0.14 and 0.18 (RF_TEST_RESTIC): forget by id and
 * tag, scoped to the host although restic ignores --host for explicit ids, and diff. One
 * repository shared by web-a (two snapshots, the first tagged fleet-drill by the system) and web-b.
 */

let sb: Sandbox;
let site: string;

interface Snap {
  id: string;
  time: string;
  tags?: string[];
  original?: string;
}

async function snapsOf(host: string): Promise<Snap[]> {
  const out = await restic(sb, ["snapshots", "--json", "--no-lock", `--host=${host}`]);
  return (JSON.parse(out.stdout) as Snap[]).sort((x, y) => x.time.localeCompare(y.time));
}
const idsOf = async (host: string) => (await snapsOf(host)).map((s) => s.id);

beforeAll(async () => {
  sb = await sandbox({ init: true });
  site = join(sb.data, "site");
  await mkdir(site, { recursive: true });
  await writeFile(join(site, "gone.txt"), "old\n");
  await writeFile(join(site, "same.txt"), "same\n");
  await writeFile(join(site, "edit.txt"), "v1\n");
  expect((await restic(sb, ["backup", "--json", "--host=web-a", "--tag=fleet-drill", "--tag=keep", site])).code).toBe(
    0,
  );
  await rm(join(site, "gone.txt"));
  await writeFile(join(site, "edit.txt"), "version two\n");
  await mkdir(join(site, "new"));
  await writeFile(join(site, "new", "n.txt"), "new\n");
  expect((await restic(sb, ["backup", "--json", "--host=web-a", site])).code).toBe(0);
  expect((await restic(sb, ["backup", "--json", "--host=web-b", site])).code).toBe(0);
  expect((await restic(sb, ["backup", "--json", "--host=web-b", site])).code).toBe(0);
}, 60_000);
afterAll(() => sb?.cleanup());

const asHost = (name: string) => realSupervisor(sb, { resticHost: name, machineHostname: name });
let n = 0;
const jobId = (what: string) => `${what}-${++n}`;

describe(`snapshot actions with ${RESTIC}`, () => {
  test(
    "diff: the changes of two of the host's snapshots, typed, with restic's statistics",
    async () => {
      const kit = liveKit({
        resticPath: RESTIC,
        spawn: bunSpawn,
        tempDir: sb.tmp,
        cacheDir: sb.cache,
        resticHost: "web-a",
        getRepo: () => ({ repo_url: sb.repoUrl, repo_password: PASSWORD }),
      });
      const [a1, a2] = (await idsOf("web-a")) as [string, string];
      const ask = (from: string, to: string, limit?: number): Promise<SnapshotsDiffedPayload> => {
        const request_id = jobId("diff");
        kit.live.diff({ request_id, from, to, ...(limit ? { limit } : {}) });
        return kit.next("snapshots.diffed", request_id);
      };
      const d = await ask(a1.slice(0, 8), a2);
      expect(d.error).toBeUndefined();
      expect(d.from).toBe(a1);
      expect(d.to).toBe(a2);
      const marks = (d.changes ?? []).map((c) => `${c.modifier} ${c.type} ${c.path.slice(site.length)}`);
      expect(marks).toEqual(["M file /edit.txt", "- file /gone.txt", "+ dir /new", "+ file /new/n.txt"]);
      expect(d.total).toBe(4);
      expect(d.stats).toMatchObject({ changed_files: 1, added: { files: 1, dirs: 1 }, removed: { files: 1, dirs: 0 } });
      expect(d.stats?.added.bytes).toBeGreaterThan(0);

      const capped = await ask(a1, a2, 2);
      expect(capped.changes).toHaveLength(2);
      expect(capped.total).toBe(4);

      const [b1] = (await idsOf("web-b")) as [string];
      const other = await ask(a1, b1);
      expect(other.error?.code).toBe("other_host");
      expect(other.error?.message).toContain('belongs to host "web-b"');
      const missing = await ask(a1, "deadbeef");
      expect(missing.error?.code).toBe("snapshot_missing");
    },
    INT_TIMEOUT,
  );

  test(
    "tag: add, remove and set rewrite the snapshot; the new id is followed and fleet-* tags are kept",
    async () => {
      const a = asHost("web-a");
      const first = (await snapsOf("web-a"))[0] as Snap;
      const added = await a.run({ job_id: jobId("tag"), kind: "tag", spec: { snapshot_id: first.id, add: ["gold"] } });
      expect(added.status).toBe("succeeded");
      const id1 = added.stats?.snapshot_id as string;
      expect(added.stats?.previous_snapshot_id).toBe(first.id);
      expect(id1).not.toBe(first.id);
      const now1 = (await snapsOf("web-a"))[0] as Snap;
      expect(now1.id).toBe(id1);
      expect(now1.tags).toEqual(["fleet-drill", "keep", "gold"]);
      // The mirror follows: the report after the job lists the new id, not the old one.
      const mirror =
        a.rec
          .of("snapshots.report")
          .at(-1)
          ?.snapshots.map((s) => s.id) ?? [];
      expect(mirror).toContain(id1);
      expect(mirror).not.toContain(first.id);

      const removed = await a.run({ job_id: jobId("tag"), kind: "tag", spec: { snapshot_id: id1, remove: ["keep"] } });
      expect(removed.status).toBe("succeeded");
      const id2 = removed.stats?.snapshot_id as string;
      expect(removed.stats?.tags).toEqual(["fleet-drill", "gold"]);

      // set replaces the user's tags; the system's fleet-drill stays.
      const set = await a.run({ job_id: jobId("tag"), kind: "tag", spec: { snapshot_id: id2, set: ["weekly"] } });
      expect(set.status).toBe("succeeded");
      const id3 = set.stats?.snapshot_id as string;
      expect(((await snapsOf("web-a"))[0] as Snap).tags).toEqual(["fleet-drill", "weekly"]);
      const cleared = await a.run({ job_id: jobId("tag"), kind: "tag", spec: { snapshot_id: id3, set: [] } });
      expect(cleared.status).toBe("succeeded");
      expect(((await snapsOf("web-a"))[0] as Snap).tags).toEqual(["fleet-drill"]);

      const reserved = await a.run({
        job_id: jobId("tag"),
        kind: "tag",
        spec: { snapshot_id: cleared.stats?.snapshot_id as string, remove: ["fleet-drill"] },
      });
      expect(reserved.status).toBe("failed");
      expect(reserved.error).toContain('"fleet-"');
    },
    INT_TIMEOUT * 2,
  );

  test(
    "tag and forget of another host's snapshot are refused, and it survives unchanged",
    async () => {
      const a = asHost("web-a");
      const before = await snapsOf("web-b");
      const theirs = (before[0] as Snap).id;
      const tag = await a.run({ job_id: jobId("tag"), kind: "tag", spec: { snapshot_id: theirs, add: ["x"] } });
      expect(tag.status).toBe("failed");
      expect(tag.stats?.failure_reason).toBe("other_host");
      const forget = await a.run({
        job_id: jobId("forget"),
        kind: "forget",
        spec: { snapshot_ids: [theirs.slice(0, 8)] },
      });
      expect(forget.status).toBe("failed");
      expect(forget.stats?.failure_reason).toBe("other_host");
      expect(forget.error).toContain('belongs to host "web-b"');
      expect(await snapsOf("web-b")).toEqual(before);
      const unknown = await a.run({ job_id: jobId("forget"), kind: "forget", spec: { snapshot_ids: ["deadbeef"] } });
      expect(unknown.stats?.failure_reason).toBe("snapshot_missing");
    },
    INT_TIMEOUT,
  );

  test(
    "forget by id removes only that snapshot of the host, and the mirror is reported without it",
    async () => {
      const a = asHost("web-a");
      const [keep, drop] = (await idsOf("web-a")) as [string, string];
      const theirs = await idsOf("web-b");
      const done = await a.run({ job_id: jobId("forget"), kind: "forget", spec: { snapshot_ids: [drop] } });
      expect(done.status).toBe("succeeded");
      expect(done.stats).toMatchObject({ snapshots_removed: 1, forgotten_ids: [drop] });
      expect(await idsOf("web-a")).toEqual([keep]);
      expect(await idsOf("web-b")).toEqual(theirs);
      expect(
        a.rec
          .of("snapshots.report")
          .at(-1)
          ?.snapshots.map((s) => s.id),
      ).toEqual([keep]);
    },
    INT_TIMEOUT,
  );
});
