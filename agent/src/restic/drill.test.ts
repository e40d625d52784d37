import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { DrillReport } from "../../../protocol/index.ts";
import { FakeClock } from "../testing/fake-clock.ts";
import { Recorder } from "../testing/fake-spawn.ts";
import type { GlobalFlags } from "./argv.ts";
import { type DrillDeps, removeLeftoverDrillFolders, runDrill } from "./drill.ts";
import { seededRandom } from "./drill-sample.ts";
import { LogBatcher } from "./log-batcher.ts";
import type { ProcessResult } from "./run-process.ts";
import { StepOutput } from "./step-output.ts";

/**
 * The drill's orchestration over a scripted restic (the seam JobRun fills with JobProcesses.restic):
 * what happens around the folder on cancel and on an exception. The real restic runs in drill.int.test.ts.
 */
let tempDir: string;
const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));
beforeEach(async () => {
  tempDir = await mkdtemp(join(tmpdir(), "rf-drill-unit-"));
  roots.push(tempDir);
});

const ID = "e".repeat(64);
const globals: GlobalFlags = { features: { retryLock: false }, retryLock: null, host: "web-a" };
const SNAPSHOTS = JSON.stringify([
  { id: ID, short_id: ID.slice(0, 8), time: "2026-12-02T05:00:00Z", hostname: "web-a" },
]);
const LS = [
  JSON.stringify({ paths: ["/srv"], id: ID, struct_type: "snapshot" }),
  JSON.stringify({ type: "file", path: "/srv/a.txt", size: 3, mtime: "2026-12-02T05:00:00Z", struct_type: "node" }),
];

type Script = (args: string[], out: StepOutput) => Promise<number> | number;

function deps(restore: Script, over: Partial<DrillDeps> = {}): DrillDeps & { calls: string[][] } {
  const rec = new Recorder();
  const redact = (s: string) => s;
  const log = new LogBatcher({ jobId: "j", clock: new FakeClock(), emit: rec.emit, batchMs: 0, redact });
  const calls: string[][] = [];
  return {
    calls,
    async restic(args, out): Promise<ProcessResult> {
      calls.push(args);
      if (args[0] === "snapshots") out.stdout(SNAPSHOTS);
      if (args[0] === "ls") for (const l of LS) out.stdout(l);
      const code = args[0] === "restore" ? await restore(args, out) : 0;
      return { started: true, exitCode: code };
    },
    output: () => new StepOutput("j", log, null, redact),
    log: () => {},
    cancelRequested: () => false,
    redact,
    resticPath: "restic",
    tempDir,
    globals,
    hosts: ["web-a"],
    random: seededRandom(1),
    ...over,
  };
}

const targetOf = (args: string[]) => (args.find((a) => a.startsWith("--target=")) ?? "").slice("--target=".length);
const leftovers = async () => (await readdir(tempDir)).filter((n) => n.startsWith("rf-drill-"));

describe("drill orchestration", () => {
  test("snapshots (scoped), ls and one restore, in that order, on the full id", async () => {
    const d = deps(async (args) => {
      const target = targetOf(args);
      expect((await stat(target)).mode & 0o777).toBe(0o700);
      expect(dirname(target)).toBe(tempDir);
      return 0;
    });
    const outcome = await runDrill({ snapshotId: "latest", sampleFiles: 5, maxBytes: 1000 }, d);
    expect(d.calls.map((c) => c[0])).toEqual(["snapshots", "ls", "restore"]);
    expect(d.calls[0]).toContain("--host=web-a");
    expect(d.calls[1]).toContain(ID);
    expect(d.calls[2]?.[1]).toBe(ID);
    // the scripted restore wrote nothing: the one file is not restored, and the drill fails
    expect(outcome).toMatchObject({ status: "failed", reason: "drill_failed" });
    expect((outcome.stats?.drill as DrillReport | undefined)?.files).toEqual([
      {
        path: "/srv/a.txt",
        size: 3,
        sha256: null,
        live: "not_restored",
        error: "restic restored no file at this path",
      },
    ]);
    expect(await leftovers()).toEqual([]);
  });

  test("a cancel during the restore ends the drill cancelled, and the folder is removed", async () => {
    let cancel = false;
    const d = deps(
      async (args) => {
        const file = join(targetOf(args), "srv", "a.txt");
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, "abc");
        cancel = true;
        return 130;
      },
      { cancelRequested: () => cancel },
    );
    const outcome = await runDrill({ snapshotId: "latest", sampleFiles: 5, maxBytes: 1000 }, d);
    expect(outcome).toMatchObject({ status: "cancelled", error: "cancelled while restic restore ran" });
    expect(await leftovers()).toEqual([]);
  });

  // As root the 0500 directory does not stop the first removal; as another user it takes the chmod path.
  test("an exception while checking still removes the folder (with a directory restored read-only)", async () => {
    const d = deps(
      async (args, out) => {
        const dir = join(targetOf(args), "srv");
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, "a.txt"), "abc");
        await chmod(dir, 0o500);
        out.stderr("ignoring error for /srv/a.txt: boom");
        return 1;
      },
      {
        redact: () => {
          throw new Error("the redactor broke");
        },
      },
    );
    await expect(runDrill({ snapshotId: "latest", sampleFiles: 5, maxBytes: 1000 }, d)).rejects.toThrow(
      "the redactor broke",
    );
    expect(await leftovers()).toEqual([]);
  });

  test("a drill interrupted by an agent crash leaves a folder that the next start removes", async () => {
    const left = join(tempDir, "rf-drill-abc123", "srv");
    await mkdir(left, { recursive: true });
    await writeFile(join(left, "secret.txt"), "x");
    await writeFile(join(tempDir, "keep-me"), "x");
    expect(await removeLeftoverDrillFolders(tempDir, () => {})).toBe(1);
    expect(await readdir(tempDir)).toEqual(["keep-me"]);
  });
});
