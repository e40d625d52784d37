import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmod, mkdir, open, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DrillFile, DrillReport, JobFinishedPayload } from "../../../protocol/index.ts";
import { realClock } from "../clock.ts";
import { Recorder } from "../testing/fake-spawn.ts";
import {
  INT_TIMEOUT,
  PASSWORD,
  RESTIC,
  randomTree,
  realSupervisor,
  restic,
  type Sandbox,
  sandbox,
} from "../testing/int-helpers.ts";
import type { DrillInput, GlobalFlags } from "./argv.ts";
import { runDrill } from "./drill.ts";
import { seededRandom } from "./drill-sample.ts";
import { LogBatcher } from "./log-batcher.ts";
import { openResticSession } from "./restic-session.ts";
import { bunSpawn } from "./spawn.ts";
import { StepOutput } from "./step-output.ts";
import type { SpawnFn } from "./types.ts";

const sandboxes: Sandbox[] = [];
afterAll(() => Promise.all(sandboxes.map((s) => s.cleanup())));

/** A drill is three restic runs after the test's own init and backup (~5 s here); room for a busy machine. */
const DRILL_TIMEOUT = 2 * INT_TIMEOUT;

/** Whole seconds, so a test can put a file's mtime back exactly (utimes takes no nanoseconds). */
const MTIME = 1_700_000_000;

/**
 * A sandbox with two top-level backup paths, a/ and b/, and a snapshot of both by int-host made
 * directly with restic. Every file's mtime is MTIME.
 */
async function withSnapshot(): Promise<{ sb: Sandbox; a: string; b: string }> {
  const sb = await sandbox({ init: true });
  sandboxes.push(sb);
  const a = join(sb.data, "a");
  const b = join(sb.data, "b");
  await mkdir(join(a, "sub"), { recursive: true });
  await mkdir(b);
  const files: Array<[string, string | Buffer]> = [
    [join(a, "hello.txt"), "hello restic fleet\n"],
    [join(a, "weird[1].txt"), "brackets are glob characters\n"],
    [join(a, "sub", "notes.md"), "# notes\n".repeat(100)],
    [join(b, "x.bin"), Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256))],
    [join(b, "y.txt"), "why not\n"],
  ];
  for (const [path, data] of files) {
    await writeFile(path, data);
    await utimes(path, MTIME, MTIME);
  }
  await backup(sb, [a, b]);
  return { sb, a, b };
}

async function backup(sb: Sandbox, paths: string[], host = "int-host"): Promise<void> {
  const out = await restic(sb, ["backup", "--json", `--host=${host}`, ...paths]);
  if (out.code !== 0) throw new Error(`restic backup failed: ${out.stderr}`);
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const drillOf = (done: JobFinishedPayload) => done.stats?.drill as DrillReport;
const fileOf = (report: DrillReport, path: string) => report.files.find((f) => f.path === path) as DrillFile;

/** The drill's private folders left in the agent's temp dir: none, after every job. */
async function drillFolders(sb: Sandbox): Promise<string[]> {
  return (await readdir(sb.tmp)).filter((n) => n.startsWith("rf-drill-"));
}

/** Overwrites bytes inside every pack that holds file data (tree packs stay intact, so ls works). */
async function corruptDataPacks(sb: Sandbox): Promise<number> {
  const ids = (await restic(sb, ["list", "index", "--no-lock"])).stdout.split("\n").filter((l) => l.trim());
  let n = 0;
  for (const id of ids) {
    const index = JSON.parse((await restic(sb, ["cat", "index", id, "--no-lock"])).stdout) as {
      packs: Array<{ id: string; blobs: Array<{ type: string; offset: number }> }>;
    };
    for (const pack of index.packs) {
      const blob = pack.blobs.find((x) => x.type === "data");
      if (!blob) continue;
      const file = join(sb.repoUrl, "data", pack.id.slice(0, 2), pack.id);
      await chmod(file, 0o600);
      const fh = await open(file, "r+");
      await fh.write(Buffer.alloc(16, 0x58), 0, 16, blob.offset + 20);
      await fh.close();
      n += 1;
    }
  }
  return n;
}

describe(`restore drills with ${RESTIC}`, () => {
  test(
    "a drill of a healthy repository passes and names every file, across both top-level paths",
    async () => {
      const { sb, a, b } = await withSnapshot();
      const real = realSupervisor(sb);
      const done = await real.run({ job_id: "d1", kind: "drill", spec: {} });
      expect(done.status).toBe("succeeded");
      expect(done.error).toBeUndefined();
      const report = drillOf(done);
      expect(report).toMatchObject({
        files_requested: 5,
        files_verified: 5,
        live_matched: 5,
        mismatched: [],
        result: "passed",
      });
      expect(report.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
      expect(report.reason).toBeUndefined();
      expect(report.files.some((f) => f.path.startsWith(`${a}/`))).toBe(true);
      expect(report.files.some((f) => f.path.startsWith(`${b}/`))).toBe(true);
      const weird = fileOf(report, join(a, "weird[1].txt"));
      expect(weird).toMatchObject({ live: "matched", size: 29 });
      expect(weird.sha256).toBe(sha256("brackets are glob characters\n"));
      expect(report.bytes).toBe(report.files.reduce((s, f) => s + f.size, 0));
      // the restore was one restic run with an escaped include per file
      const restore = real.rec.logLines.find((l) => l.payload.includes(" restore "))?.payload ?? "";
      expect(restore).toContain("--verify");
      // (the log line quotes the argument, doubling its backslashes)
      expect(restore).toMatch(/weird\\+\[1\\+\]\.txt/);
      expect(real.rec.logLines.some((l) => l.payload.startsWith("drill passed: 5 of 5 files restored"))).toBe(true);
      expect(await drillFolders(sb)).toEqual([]);
    },
    DRILL_TIMEOUT,
  );

  test(
    "the sample respects sample_files and max_bytes; an explicit id is used in full",
    async () => {
      const { sb } = await withSnapshot();
      const real = realSupervisor(sb);
      const list = JSON.parse((await restic(sb, ["snapshots", "--json"])).stdout) as Array<{ id: string }>;
      const id = list[0]?.id ?? "";
      const done = await real.run({
        job_id: "d2",
        kind: "drill",
        spec: { snapshot_id: id.slice(0, 8), sample_files: 2, max_bytes: "1K" },
      });
      expect(done.status).toBe("succeeded");
      const report = drillOf(done);
      expect(report.snapshot_id).toBe(id);
      expect(report.files_requested).toBe(2);
      expect(report.bytes).toBeLessThanOrEqual(1024);
      // x.bin (4 KiB) is over the cap and never sampled
      expect(report.files.every((f) => !f.path.endsWith("x.bin"))).toBe(true);
      expect(await drillFolders(sb)).toEqual([]);
    },
    DRILL_TIMEOUT,
  );

  test(
    "another host's snapshot is refused, and a host without snapshots fails clearly",
    async () => {
      const { sb, a } = await withSnapshot();
      await backup(sb, [a], "other-host");
      const list = JSON.parse((await restic(sb, ["snapshots", "--json"])).stdout) as Array<{
        id: string;
        hostname: string;
      }>;
      const theirs = list.find((s) => s.hostname === "other-host")?.id ?? "";
      const real = realSupervisor(sb);
      const other = await real.run({ job_id: "d3", kind: "drill", spec: { snapshot_id: theirs } });
      expect(other).toMatchObject({ status: "failed", failure_reason: "other_host" });
      expect(other.error).toContain('belongs to host "other-host"');

      const lonely = realSupervisor(sb, { resticHost: "no-snapshots-here" });
      const none = await lonely.run({ job_id: "d4", kind: "drill" });
      expect(none).toMatchObject({ status: "failed", failure_reason: "snapshot_missing" });
      expect(none.error).toContain("no snapshot");
    },
    DRILL_TIMEOUT,
  );

  test(
    "after a data pack is corrupted the drill fails, naming the files and restic's error",
    async () => {
      const { sb } = await withSnapshot();
      expect(await corruptDataPacks(sb)).toBeGreaterThan(0);
      const real = realSupervisor(sb);
      const done = await real.run({ job_id: "d5", kind: "drill" });
      expect(done.status).toBe("failed");
      expect(done.failure_reason).toBe("drill_failed");
      expect(done.exit_code).toBe(1);
      const report = drillOf(done);
      expect(report.result).toBe("failed");
      expect(report.reason).toContain("not restored");
      // 0.14: "ignoring error for /p: ciphertext verification failed"; 0.18: "decrypting blob ... failed: ciphertext verification failed"
      expect(report.restic_error).toContain("ciphertext verification failed");
      expect(done.error).toContain("ciphertext verification failed");
      const broken = report.files.filter((f) => f.live === "not_restored");
      expect(broken.length).toBeGreaterThan(0);
      expect(broken.every((f) => f.sha256 === null)).toBe(true);
      expect(broken.some((f) => f.error?.includes("ciphertext verification failed"))).toBe(true);
      expect(report.files_verified).toBe(report.files_requested - broken.length);
      expect(await drillFolders(sb)).toEqual([]);
    },
    DRILL_TIMEOUT,
  );

  test(
    "a snapshot with no regular file fails: never passed with 0 files",
    async () => {
      const sb = await sandbox({ init: true });
      sandboxes.push(sb);
      await mkdir(join(sb.data, "empty", "deeper"), { recursive: true });
      await backup(sb, [join(sb.data, "empty")]);
      const real = realSupervisor(sb);
      const done = await real.run({ job_id: "d6", kind: "drill" });
      expect(done).toMatchObject({ status: "failed", failure_reason: "drill_failed" });
      const report = drillOf(done);
      expect(report).toMatchObject({ files_requested: 0, files_verified: 0, result: "failed", files: [] });
      expect(report.reason).toContain("no regular file");
      expect(await drillFolders(sb)).toEqual([]);
    },
    DRILL_TIMEOUT,
  );

  test(
    "a live file with the snapshot's size and mtime but other bytes fails the drill; a changed one does not",
    async () => {
      const { sb, a } = await withSnapshot();
      const real = realSupervisor(sb);
      // A normal change (new size, new mtime): not compared, the drill passes.
      await writeFile(join(a, "hello.txt"), "hello again, restic fleet\n");
      const changed = await real.run({ job_id: "d7", kind: "drill" });
      expect(changed.status).toBe("succeeded");
      expect(fileOf(drillOf(changed), join(a, "hello.txt")).live).toBe("changed");
      expect(drillOf(changed).live_matched).toBe(4);

      // Same size, same mtime, other bytes: silent corruption of the live file (or of the backup).
      const notes = join(a, "sub", "notes.md");
      await writeFile(notes, "# NOTES\n".repeat(100));
      await utimes(notes, MTIME, MTIME);
      const bad = await real.run({ job_id: "d8", kind: "drill" });
      expect(bad).toMatchObject({ status: "failed", failure_reason: "drill_failed" });
      const report = drillOf(bad);
      expect(report.mismatched).toEqual([notes]);
      expect(fileOf(report, notes)).toMatchObject({ live: "mismatch", sha256: sha256("# notes\n".repeat(100)) });
      expect(report.reason).toContain("differ from the live file");
      expect(bad.error).toContain(notes);
      expect(await drillFolders(sb)).toEqual([]);
    },
    DRILL_TIMEOUT,
  );

  test(
    "a cancel interrupts the restore, and the drill's folder is removed",
    async () => {
      const sb = await sandbox({ init: true });
      sandboxes.push(sb);
      await randomTree(join(sb.data, "big"), 64 * 1024 * 1024, 2);
      await backup(sb, [join(sb.data, "big")]);
      let restoreStarted: () => void = () => {};
      const started = new Promise<void>((resolve) => {
        restoreStarted = resolve;
      });
      const spawn: SpawnFn = (argv, opts) => {
        const child = bunSpawn(argv, opts);
        if (argv.includes("restore")) restoreStarted();
        return child;
      };
      const real = realSupervisor(sb, { spawn, cancelGraceMs: 5_000 });
      real.sup.enqueue({ job_id: "d9", kind: "drill", spec: { max_bytes: "1G" } });
      await started;
      // the folder exists while restic restores into it
      expect(await drillFolders(sb)).toHaveLength(1);
      expect(real.sup.cancel("d9")).toBe(true);
      await real.sup.idle();
      const done = real.rec.of("job.finished").find((f) => f.job_id === "d9");
      expect(done?.status).toBe("cancelled");
      expect(await drillFolders(sb)).toEqual([]);
    },
    DRILL_TIMEOUT,
  );

  test(
    "an include that restores nothing fails the drill (a broken escape, through the seam)",
    async () => {
      const sb = await sandbox({ init: true });
      sandboxes.push(sb);
      const weird = join(sb.data, "weird[1].txt");
      await writeFile(weird, "brackets\n");
      await backup(sb, [sb.data]);
      const rec = new Recorder();
      const redact = (s: string) => s;
      const log = new LogBatcher({ jobId: "d10", clock: realClock, emit: rec.emit, batchMs: 0, redact });
      const session = await openResticSession({
        resticPath: RESTIC,
        repo: { repo_url: sb.repoUrl, repo_password: PASSWORD },
        spawn: bunSpawn,
        tempDir: sb.tmp,
        cacheDir: sb.cache,
      });
      try {
        const globals: GlobalFlags = { features: { retryLock: false }, retryLock: null, host: "int-host" };
        const input: DrillInput = { snapshotId: "latest", sampleFiles: 5, maxBytes: 1024 };
        const outcome = await runDrill(input, {
          restic: (args, out) => session.run(args, { onStdout: out.stdout, onStderr: out.stderr }),
          output: () => new StepOutput("d10", log, null, redact),
          log: () => {},
          cancelRequested: () => false,
          redact,
          resticPath: RESTIC,
          tempDir: sb.tmp,
          globals,
          hosts: ["int-host"],
          random: seededRandom(1),
          // unescaped, `[1]` is a character class: restic matches nothing and still exits 0
          escapeInclude: (p) => p,
        });
        expect(outcome).toMatchObject({ status: "failed", reason: "drill_failed", exitCode: -1 });
        const report = outcome.stats?.drill as DrillReport;
        expect(report).toMatchObject({ files_requested: 1, files_verified: 0, result: "failed" });
        expect(report.files[0]).toMatchObject({ path: weird, live: "not_restored", sha256: null });
        expect(report.reason).toContain("1 of 1 sampled files were not restored");
        expect(await drillFolders(sb)).toEqual([]);
        expect(await readFile(weird, "utf8")).toBe("brackets\n");
      } finally {
        await session.close();
      }
    },
    DRILL_TIMEOUT,
  );
});
