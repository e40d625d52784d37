import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFile, cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  INT_TIMEOUT,
  RESTIC,
  type Real,
  realSupervisor,
  restic,
  type Sandbox,
  sandbox,
} from "../testing/int-helpers.ts";
import { versionAtLeast } from "./version.ts";

let base: Sandbox;
const sandboxes: Sandbox[] = [];
/** The base repository as it was after its first, second and third snapshot: copied, never used. */
const after = (snapshots: number) => join(base.root, `repo-after-${snapshots}`);

async function snapshotCount(sb: Sandbox): Promise<number> {
  const out = await restic(sb, ["snapshots", "--json", "--no-lock"]);
  return (JSON.parse(out.stdout) as unknown[]).length;
}

beforeAll(async () => {
  base = await sandbox({ init: true });
  const file = join(base.data, "log.txt");
  await writeFile(file, "first\n");
  // Three snapshots, made directly: the jobs under test are the maintenance ones.
  for (const [i, line] of ["second\n", "third\n", ""].entries()) {
    expect((await restic(base, ["backup", "-q", "--host=int-host", base.data])).code).toBe(0);
    await cp(base.repoUrl, after(i + 1), { recursive: true });
    if (line) await appendFile(file, line);
  }
}, 30_000); // restic set-up: more than bun's 5 s hook default
afterAll(() => Promise.all([base, ...sandboxes].map((s) => s?.cleanup())));

/** Each test changes a repository of its own: a copy of the base one with that many snapshots. */
async function repoWith(snapshots: 1 | 2 | 3): Promise<{ sb: Sandbox; real: Real }> {
  const sb = await sandbox({ repoFrom: after(snapshots) });
  sandboxes.push(sb);
  return { sb, real: realSupervisor(sb) };
}

describe(`maintenance jobs with ${RESTIC}`, () => {
  test(
    "forget with a policy removes snapshots and reports the new list",
    async () => {
      const { sb, real } = await repoWith(3);
      const done = await real.run({ job_id: "f1", kind: "forget", spec: { policy: { keep_last: 2 } } });
      expect(done).toMatchObject({ status: "succeeded", stats: { snapshots_kept: 2, snapshots_removed: 1 } });
      expect(real.rec.of("snapshots.report").at(-1)?.snapshots).toHaveLength(2);
      // forget without prune changes no data: no repo.stats
      expect(real.rec.of("repo.stats")).toHaveLength(0);
      expect(await snapshotCount(sb)).toBe(2);
    },
    INT_TIMEOUT,
  );

  test(
    "forget with prune runs a prune step too and reports stats",
    async () => {
      const { real } = await repoWith(2);
      const done = await real.run({ job_id: "f2", kind: "forget", spec: { policy: { keep_last: 1 }, prune: true } });
      expect(done).toMatchObject({ status: "succeeded", stats: { snapshots_kept: 1, snapshots_removed: 1 } });
      const commands = real.rec.logLines
        .filter((l) => l.job_id === "f2" && l.stream === "event" && l.payload.startsWith("$ "))
        .map((l) => l.payload.split(" ")[2]);
      expect(commands).toEqual(["forget", "prune", "snapshots", "stats", "stats", "list"]);
      expect(real.rec.of("snapshots.report").at(-1)?.snapshots).toHaveLength(1);
      expect(real.rec.of("repo.stats").at(-1)?.snapshot_count).toBe(1);
    },
    INT_TIMEOUT,
  );

  test(
    "prune on its own",
    async () => {
      const { real } = await repoWith(1);
      const done = await real.run({ job_id: "p1", kind: "prune" });
      expect(done.status).toBe("succeeded");
      expect(real.rec.of("repo.stats").at(-1)).toMatchObject({ snapshot_count: 1, lock_state: "unlocked" });
    },
    INT_TIMEOUT,
  );

  test(
    "check, also with read_data_subset, records its verdict in repo.stats",
    async () => {
      const { real } = await repoWith(1);
      const plain = await real.run({ job_id: "c1", kind: "check" });
      expect(plain.status).toBe("succeeded");
      // 0.18 prints a JSON summary for check; older versions only text
      if (versionAtLeast(real.sup.resticVersion, 0, 18)) {
        expect(plain.stats?.check).toEqual({
          num_errors: 0,
          broken_packs: [],
          suggest_repair_index: false,
          suggest_prune: false,
        });
      } else {
        expect(plain.stats?.check).toBeUndefined();
      }
      const subset = await real.run({ job_id: "c2", kind: "check", spec: { read_data_subset: "100%" } });
      expect(subset.status).toBe("succeeded");
      const stats = real.rec.of("repo.stats").at(-1);
      expect(stats?.last_check_status).toBe("ok");
      expect(Date.parse(stats?.last_check_at ?? "")).not.toBeNaN();
      const logged = real.rec.logLines.filter((l) => l.job_id === "c2").map((l) => l.payload);
      expect(logged.some((l) => l.includes("--read-data-subset=100%"))).toBe(true);
      // restic >= 0.16 waits for a lock instead of failing at once
      const minor = real.sup.resticVersion?.minor ?? 0;
      expect(logged.some((l) => l.includes("--retry-lock=1m"))).toBe(minor >= 16);
    },
    INT_TIMEOUT,
  );

  test(
    "unlock",
    async () => {
      const { real } = await repoWith(1);
      const done = await real.run({ job_id: "u1", kind: "unlock" });
      expect(done).toMatchObject({ status: "succeeded", exit_code: 0 });
    },
    INT_TIMEOUT,
  );
});
