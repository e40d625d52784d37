import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
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
import { versionAtLeast } from "./version.ts";

/** The test data, made once and only read; each test has a repository of its own (repoFor). */
let sb: Sandbox;
const repos: Sandbox[] = [];
let big: string;
let small: string;

// 200 MiB of random data: restic 0.14 needs about 1.5 s for it here, ample time to interrupt it.
const BIG_BYTES = 200 * 1024 * 1024;

beforeAll(async () => {
  sb = await sandbox();
  big = join(sb.data, "big");
  small = join(sb.data, "small");
  await randomTree(big, BIG_BYTES);
  await randomTree(small, 64 * 1024, 2);
  await writeFile(join(small, "note.txt"), "small\n");
}, 30_000); // 200 MiB of test data: more than bun's 5 s hook default
afterAll(() => Promise.all([sb, ...repos].map((s) => s?.cleanup())));

/** A fresh initialized repository for one test (its locks and snapshots are that test's alone). */
async function repoFor(): Promise<Sandbox> {
  const repo = await sandbox({ init: true });
  repos.push(repo);
  return repo;
}

async function locks(repo: Sandbox): Promise<string[]> {
  const out = await restic(repo, ["list", "locks", "--no-lock"]);
  return out.stdout.split("\n").filter((l) => /^[0-9a-f]{64}$/.test(l));
}

async function snapshots(repo: Sandbox): Promise<unknown[]> {
  return JSON.parse((await restic(repo, ["snapshots", "--json", "--no-lock"])).stdout) as unknown[];
}

/** Starts a backup directly and SIGKILLs it at its first output line: restic leaves its lock behind. */
async function leaveStaleLock(repo: Sandbox): Promise<void> {
  const pw = join(repo.tmp, "stale-pw");
  await writeFile(pw, PASSWORD, { mode: 0o600 });
  const proc = Bun.spawn([RESTIC, "backup", "--json", big], {
    env: {
      PATH: process.env.PATH ?? "",
      RESTIC_REPOSITORY: repo.repoUrl,
      RESTIC_PASSWORD_FILE: pw,
      RESTIC_CACHE_DIR: repo.cache,
    },
    stdout: "pipe",
    stderr: "ignore",
  });
  const reader = proc.stdout.getReader();
  await reader.read(); // the lock is taken before restic prints anything
  proc.kill("SIGKILL");
  await proc.exited;
}

describe(`cancel and locks with ${RESTIC}`, () => {
  test(
    "a stale lock fails a check as locked; an unlock job clears it",
    async () => {
      const repo = await repoFor();
      await leaveStaleLock(repo);
      expect(await locks(repo)).toHaveLength(1);
      // no --retry-lock here: on restic >= 0.16 it would wait a minute for a lock nobody will release
      const real = realSupervisor(repo, { retryLock: null });
      const check = await real.run({ job_id: "c-locked", kind: "check" });
      expect(check.status).toBe("failed");
      expect(check.stats?.failure_reason).toBe("locked");
      // 0.17+ exits 11 for a lock it could not take; 0.14 exits 1 and the stderr text decides
      expect(check.exit_code).toBe(versionAtLeast(real.sup.resticVersion, 0, 17) ? 11 : 1);
      expect(check.error).toContain("locked");
      // the read-only stats still run, and see the lock
      expect(real.rec.of("repo.stats").at(-1)?.lock_state).toBe("locked");

      const unlock = await real.run({ job_id: "u", kind: "unlock" });
      expect(unlock.status).toBe("succeeded");
      expect(await locks(repo)).toHaveLength(0);
    },
    INT_TIMEOUT,
  );

  test(
    "cancel interrupts a running backup, unlocks, and the next backup succeeds",
    async () => {
      const repo = await repoFor();
      const real = realSupervisor(repo, { cancelGraceMs: 5_000 });
      const before = (await snapshots(repo)).length;
      real.sup.enqueue({ job_id: "big", kind: "backup", args: [big] });
      // restic is running once it reports progress
      await real.rec.waitFor("job.progress");
      expect(real.sup.running).toBe("big");
      expect(real.sup.cancel("big")).toBe(true);
      await real.sup.idle();

      const done = real.rec.of("job.finished").find((f) => f.job_id === "big");
      expect(done?.status).toBe("cancelled");
      // 0.14 exits 130 on SIGINT, 0.18 exits 1 ("context canceled"), 137 if it had to be killed
      expect(done?.exit_code).not.toBe(0);
      expect(real.rec.of("snapshots.report")).toHaveLength(0);
      const events = real.rec.logLines.filter((l) => l.stream === "event").map((l) => l.payload);
      expect(events.some((e) => e.includes("SIGINT"))).toBe(true);
      expect(events.some((e) => e.includes("restic unlock"))).toBe(true);
      // restic really stopped: no snapshot was written, and no lock is left
      expect(await snapshots(repo)).toHaveLength(before);
      expect(await locks(repo)).toHaveLength(0);

      const next = await real.run({ job_id: "after", kind: "backup", args: [small] });
      expect(next.status).toBe("succeeded");
      expect(real.rec.of("snapshots.report").at(-1)?.snapshots).toHaveLength(before + 1);
    },
    INT_TIMEOUT,
  );
});
