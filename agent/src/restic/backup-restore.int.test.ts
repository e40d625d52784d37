import { afterAll, describe, expect, test } from "bun:test";
import { chmod, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  INT_TIMEOUT,
  listFiles,
  RESTIC,
  type Real,
  realSupervisor,
  restic,
  type Sandbox,
  sameBytes,
  sandbox,
} from "../testing/int-helpers.ts";
import { bunSpawn } from "./spawn.ts";
import type { SpawnFn } from "./types.ts";

const sandboxes: Sandbox[] = [];
afterAll(() => Promise.all(sandboxes.map((s) => s.cleanup())));

/**
 * Each test has its own sandbox: data/ holds the four test files; with init, the repository is a
 * fresh initialized one (a copy of the suite's template, so cheap).
 */
async function withData(opts: { init?: boolean } = {}): Promise<Sandbox> {
  const sb = await sandbox(opts);
  sandboxes.push(sb);
  await mkdir(join(sb.data, "sub", "deeper"), { recursive: true });
  await writeFile(join(sb.data, "hello.txt"), "hello restic fleet\n");
  await writeFile(join(sb.data, "weird[1].txt"), "brackets are glob characters\n");
  await writeFile(join(sb.data, "sub", "notes.md"), "# notes\n".repeat(100));
  await writeFile(
    join(sb.data, "sub", "deeper", "bytes.bin"),
    Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256)),
  );
  return sb;
}

/**
 * A sandbox whose repository holds one snapshot of data/ by this supervisor's restic host, made
 * directly with restic (the restore tests are not about the backup job), and its short id.
 */
async function withSnapshot(): Promise<{ sb: Sandbox; real: Real; shortId: string }> {
  const sb = await withData({ init: true });
  const out = await restic(sb, ["backup", "--json", "--host=int-host", "--tag=int-test", sb.data]);
  if (out.code !== 0) throw new Error(`restic backup failed: ${out.stderr}`);
  const summary = out.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { message_type: string; snapshot_id?: string })
    .find((m) => m.message_type === "summary");
  // 0.14 prints the short id here, 0.18 the full one
  const shortId = summary?.snapshot_id?.slice(0, 8) ?? "";
  if (!/^[0-9a-f]{8}$/.test(shortId)) throw new Error(`no snapshot id in restic's summary: ${out.stdout}`);
  return { sb, real: realSupervisor(sb), shortId };
}

describe(`backup and restore with ${RESTIC}`, () => {
  test(
    "init creates the repository",
    async () => {
      const sb = await sandbox();
      sandboxes.push(sb);
      const real = realSupervisor(sb);
      const done = await real.run({ job_id: "init", kind: "init" });
      expect(done).toMatchObject({ status: "succeeded", exit_code: 0 });
      expect((await restic(sb, ["cat", "config"])).code).toBe(0);
      // init reports nothing
      expect(real.rec.of("snapshots.report")).toHaveLength(0);
    },
    INT_TIMEOUT,
  );

  test(
    "a backup succeeds and reports the snapshot list and the repository stats",
    async () => {
      const sb = await withData({ init: true });
      const real = realSupervisor(sb);
      const done = await real.run({ job_id: "b1", kind: "backup", spec: { paths: [sb.data], tags: ["int-test"] } });
      expect(done.status).toBe("succeeded");
      expect(done.error).toBeUndefined();
      expect(done.stats).toMatchObject({ message_type: "summary", total_files_processed: 4 });
      expect(real.rec.of("job.started").find((s) => s.job_id === "b1")?.kind).toBe("backup");

      const reports = real.rec.of("snapshots.report");
      expect(reports).toHaveLength(1);
      const snaps = reports[0]?.snapshots ?? [];
      expect(snaps).toHaveLength(1);
      const snap = snaps[0];
      expect(snap?.paths).toEqual([sb.data]);
      expect(snap?.tags).toEqual(["int-test"]);
      expect(snap?.id).toMatch(/^[0-9a-f]{64}$/);
      expect(snap?.id.startsWith(snap?.short_id ?? "?")).toBe(true);
      expect(snap?.file_count).toBe(4);
      expect(snap?.size_bytes).toBe(done.stats?.total_bytes_processed as number);

      const [stats] = real.rec.of("repo.stats");
      expect(stats?.snapshot_count).toBe(1);
      expect(stats?.size_bytes).toBeGreaterThan(0);
      expect(stats?.dedup_ratio).toBeGreaterThan(0);
      expect(stats?.lock_state).toBe("unlocked");

      // log lines numbered from 1; the job's own lines went out before job.finished, the reports' after
      const lines = real.rec.logLines.filter((l) => l.job_id === "b1");
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      expect(real.rec.logLinesBefore("job.finished").at(-1)?.payload).toBe("job succeeded");
      const types = real.rec.types();
      expect(types.indexOf("job.finished")).toBeLessThan(types.indexOf("snapshots.report"));
    },
    INT_TIMEOUT,
  );

  test(
    "a full restore gives back every byte",
    async () => {
      const { sb, real } = await withSnapshot();
      const target = join(sb.root, "restore-full");
      const done = await real.run({ job_id: "r1", kind: "restore", spec: { snapshot_id: "latest", target } });
      expect(done.status).toBe("succeeded");
      const restoredRoot = join(target, sb.data);
      const want = await listFiles(sb.data);
      expect(await listFiles(restoredRoot)).toEqual(want);
      for (const f of want) expect(await sameBytes(join(sb.data, f), join(restoredRoot, f))).toBe(true);
    },
    INT_TIMEOUT,
  );

  test(
    "a restore that includes weird[1].txt restores exactly that file",
    async () => {
      const { sb, real, shortId: snapshotId } = await withSnapshot();
      const target = join(sb.root, "restore-one");
      const done = await real.run({
        job_id: "r2",
        kind: "restore",
        spec: { snapshot_id: snapshotId, target, include: [join(sb.data, "weird[1].txt")] },
      });
      expect(done.status).toBe("succeeded");
      expect(await listFiles(join(target, sb.data))).toEqual(["weird[1].txt"]);
      expect(await sameBytes(join(sb.data, "weird[1].txt"), join(target, sb.data, "weird[1].txt"))).toBe(true);
    },
    INT_TIMEOUT,
  );

  test(
    "a restore into a target the agent cannot write fails naming the folder, and runs no restic restore",
    async () => {
      const { sb } = await withSnapshot();
      const argvs: string[][] = [];
      const spawn: SpawnFn = (argv, opts) => {
        argvs.push(argv);
        return bunSpawn(argv, opts);
      };
      const staging = join(sb.root, "staging");
      const real = realSupervisor(sb, {
        spawn,
        policy: {
          remote_hooks: false,
          restore_targets: [staging],
          backup_paths: null,
          repositories: null,
          source: "test",
        },
      });
      // A regular file where the target's parent folder should be: no one can write there, root included.
      await mkdir(staging);
      await writeFile(join(staging, "in-the-way"), "a file, not a folder\n");
      const under = join(staging, "in-the-way", "r");
      const fileParent = await real.run({
        job_id: "rw1",
        kind: "restore",
        spec: { snapshot_id: "latest", target: under },
      });
      expect(fileParent.status).toBe("failed");
      expect(fileParent.failure_reason).toBe("target_unwritable");
      expect(fileParent.error).toBe(
        `cannot restore into ${under}: ${join(staging, "in-the-way")} is a file, so no folder can be made in it; ` +
          "restic did not run. Pick a target folder the agent can write",
      );
      const file = await real.run({
        job_id: "rw2",
        kind: "restore",
        spec: { snapshot_id: "latest", target: join(staging, "in-the-way") },
      });
      expect(file.error).toStartWith(`cannot restore into ${join(staging, "in-the-way")}: it is a file, not a folder;`);
      if (process.getuid?.() !== 0) {
        // A read-only folder stops only a non-root agent (root writes through mode 0555).
        const locked = join(sb.root, "locked");
        await mkdir(locked);
        await chmod(locked, 0o555);
        const outside = await realSupervisor(sb, { spawn }).run({
          job_id: "rw3",
          kind: "restore",
          spec: { snapshot_id: "latest", target: join(locked, "r") },
        });
        expect(outside.error).toContain(`the agent cannot write in ${locked} (permission denied)`);
        expect(outside.failure_reason).toBe("target_unwritable");
      }
      expect(argvs.filter((a) => a.includes("restore"))).toEqual([]);
      // The probe leaves nothing behind, and a writable target still restores.
      const ok = await real.run({ job_id: "rw4", kind: "restore", spec: { snapshot_id: "latest", target: staging } });
      expect(ok.status).toBe("succeeded");
      expect((await readdir(staging)).sort()).toEqual([sb.data.split("/")[1] ?? "", "in-the-way"].sort());
    },
    INT_TIMEOUT,
  );

  test(
    "a backup whose paths do not exist fails clearly; some missing is a warning",
    async () => {
      const sb = await withData({ init: true });
      const real = realSupervisor(sb);
      const none = await real.run({
        job_id: "b-none",
        kind: "backup",
        args: [join(sb.root, "nope"), "/does/not/exist"],
      });
      expect(none.status).toBe("failed");
      expect(none.error).toContain("none of the backup paths exist");
      expect(none.stats?.failure_reason).toBe("paths_missing");

      const some = await real.run({
        job_id: "b-some",
        kind: "backup",
        // real hooks through /bin/sh, riding along on this job
        spec: {
          paths: [sb.data, join(sb.root, "nope")],
          pre_hook: "echo pre-hook ran for $RF_JOB_ID",
          post_hook: "echo post: $RF_RESTIC_STATUS >&2",
        },
      });
      expect(some.status).toBe("succeeded");
      expect(some.error).toContain("1 of 2 backup paths do not exist");
      expect(some.stats?.warning).toContain(join(sb.root, "nope"));
      const logged = real.rec.logLines.filter((l) => l.job_id === "b-some").map((l) => `${l.stream}:${l.payload}`);
      expect(logged).toContain("stdout:pre-hook ran for b-some");
      expect(logged).toContain("stderr:post: succeeded");
    },
    INT_TIMEOUT,
  );
});
