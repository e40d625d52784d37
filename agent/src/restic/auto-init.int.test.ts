import { afterAll, describe, expect, test } from "bun:test";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  INT_TIMEOUT,
  PASSWORD,
  RESTIC,
  realSupervisor,
  restic,
  type Sandbox,
  sandbox,
} from "../testing/int-helpers.ts";
import { INITIALISED_LINE } from "./auto-init.ts";
import { versionAtLeast } from "./version.ts";

const sandboxes: Sandbox[] = [];
afterAll(() => Promise.all(sandboxes.map((s) => s.cleanup())));

/** A sandbox with one file to back up; with init, an existing repository. */
async function withData(opts: { init?: boolean } = {}): Promise<Sandbox> {
  const sb = await sandbox(opts);
  sandboxes.push(sb);
  await writeFile(join(sb.data, "hello.txt"), "hello restic fleet\n");
  return sb;
}

/** The "$ restic <command> ..." lines of the job log, as the command names. */
function commands(lines: Array<{ stream: string; payload: string }>): string[] {
  return lines
    .filter((l) => l.stream === "event" && l.payload.startsWith("$ "))
    .map((l) => l.payload.split(" ").slice(2, 4).join(" "));
}

async function keyCount(sb: Sandbox): Promise<number> {
  return (await readdir(join(sb.repoUrl, "keys"))).length;
}

describe(`auto_init with ${RESTIC}`, () => {
  test(
    "a missing repository is initialised before the first backup, and only the first backup probes",
    async () => {
      const sb = await withData();
      const real = realSupervisor(sb);
      real.repo.value = { repo_url: sb.repoUrl, repo_password: PASSWORD, auto_init: true };
      const done = await real.run({ job_id: "b1", kind: "backup", args: [sb.data] });
      expect(done.status).toBe("succeeded");
      const lines = real.rec.logLinesBefore("job.finished");
      expect(commands(lines)).toEqual(["cat config", "init --json", "backup --json"]);
      expect(lines.some((l) => l.stream === "event" && l.payload === INITIALISED_LINE)).toBe(true);
      // The repository opens with the host's password and holds the snapshot.
      const snaps = await restic(sb, ["snapshots", "--json", "--no-lock"]);
      expect(snaps.code).toBe(0);
      expect(JSON.parse(snaps.stdout)).toHaveLength(1);
      expect(JSON.stringify(real.rec.events)).not.toContain(PASSWORD);

      // The second backup knows the repository exists: no probe, no init.
      const seen = real.rec.events.length;
      const again = await real.run({ job_id: "b2", kind: "backup", args: [sb.data] });
      expect(again.status).toBe("succeeded");
      const later = real.rec.events
        .slice(seen)
        .filter((e) => e.type === "job.log")
        .flatMap((e) => (e.payload as { lines: Array<{ stream: string; payload: string }> }).lines);
      expect(commands(later)[0]).toBe("backup --json");
      expect(commands(later)).not.toContain("cat config");
    },
    INT_TIMEOUT,
  );

  test(
    "an existing repository is probed and left alone",
    async () => {
      const sb = await withData({ init: true });
      const config = await Bun.file(join(sb.repoUrl, "config")).bytes();
      const real = realSupervisor(sb);
      real.repo.value = { repo_url: sb.repoUrl, repo_password: PASSWORD, auto_init: true };
      const done = await real.run({ job_id: "b", kind: "backup", args: [sb.data] });
      expect(done.status).toBe("succeeded");
      expect(commands(real.rec.logLinesBefore("job.finished"))).toEqual(["cat config", "backup --json"]);
      expect(await Bun.file(join(sb.repoUrl, "config")).bytes()).toEqual(config);
      expect(await keyCount(sb)).toBe(1);
    },
    INT_TIMEOUT,
  );

  test(
    "a wrong password never initialises: the backup fails with the wrong-password error",
    async () => {
      const sb = await withData({ init: true });
      const real = realSupervisor(sb, { password: "not-the-password" });
      real.repo.value = { repo_url: sb.repoUrl, repo_password: "not-the-password", auto_init: true };
      const done = await real.run({ job_id: "wp", kind: "backup", args: [sb.data] });
      expect(done.status).toBe("failed");
      expect(done.failure_reason).toBe("wrong_password");
      expect(done.exit_code).toBe(versionAtLeast(real.sup.resticVersion, 0, 17, 1) ? 12 : 1);
      expect(done.error).toContain("password is wrong");
      const lines = real.rec.logLinesBefore("job.finished");
      expect(commands(lines)).toEqual(["cat config", "backup --json"]);
      expect(lines.some((l) => l.payload.includes("not initialising it"))).toBe(true);
      expect(await keyCount(sb)).toBe(1);
      expect(JSON.stringify(real.rec.events)).not.toContain("not-the-password");
    },
    INT_TIMEOUT,
  );

  test(
    "without auto_init a missing repository fails as before, and nothing is created",
    async () => {
      const sb = await withData();
      const real = realSupervisor(sb);
      const done = await real.run({ job_id: "off", kind: "backup", args: [sb.data] });
      expect(done.status).toBe("failed");
      expect(done.failure_reason).toBe("repo_missing");
      expect(done.exit_code).toBe(versionAtLeast(real.sup.resticVersion, 0, 17) ? 10 : 1);
      expect(done.error).toContain("run an init job");
      expect(commands(real.rec.logLinesBefore("job.finished"))).toEqual(["backup --json"]);
      expect(await Bun.file(join(sb.repoUrl, "config")).exists()).toBe(false);
    },
    INT_TIMEOUT,
  );

  test(
    "an init that fails fails the job, names restic's reason, and the backup does not run",
    async () => {
      const sb = await withData();
      // A folder restic cannot make a repository in: "data" is a file.
      await Bun.write(join(sb.repoUrl, "data"), "not a folder\n");
      const real = realSupervisor(sb);
      real.repo.value = { repo_url: sb.repoUrl, repo_password: PASSWORD, auto_init: true };
      const done = await real.run({ job_id: "bad", kind: "backup", args: [sb.data] });
      expect(done.status).toBe("failed");
      expect(done.exit_code).toBe(1);
      expect(done.error).toContain("auto_init could not initialise it");
      expect(done.error).toContain("the backup did not run");
      expect(done.error).toContain("not a directory");
      expect(commands(real.rec.logLinesBefore("job.finished"))).toEqual(["cat config", "init --json"]);
    },
    INT_TIMEOUT,
  );
});
