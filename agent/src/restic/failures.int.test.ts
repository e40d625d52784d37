import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { INT_TIMEOUT, RESTIC, realSupervisor, type Sandbox, sandbox } from "../testing/int-helpers.ts";
import { versionAtLeast } from "./version.ts";

let sb: Sandbox;

beforeAll(async () => {
  sb = await sandbox({ init: true });
}, 30_000); // restic set-up: more than bun's 5 s hook default
afterAll(() => sb?.cleanup());

describe(`failures with ${RESTIC}`, () => {
  test(
    "a wrong password fails as wrong_password, and the password never shows",
    async () => {
      const real = realSupervisor(sb, { password: "not-the-password" });
      const done = await real.run({ job_id: "wp", kind: "check" });
      expect(done.status).toBe("failed");
      expect(done.stats?.failure_reason).toBe("wrong_password");
      // protocol 3: the reason travels typed too
      expect(done.failure_reason).toBe("wrong_password");
      // 0.17.1+ says so in its exit code (12); 0.14 exits 1 and the stderr text decides
      expect(done.exit_code).toBe(versionAtLeast(real.sup.resticVersion, 0, 17, 1) ? 12 : 1);
      expect(done.error).toContain("password is wrong");
      expect(done.error).toContain("wrong password or no key found");
      expect(JSON.stringify(real.rec.events)).not.toContain("not-the-password");
      // nothing to report from a repository we cannot open
      expect(real.rec.of("repo.stats")).toHaveLength(0);
    },
    INT_TIMEOUT,
  );

  test(
    "a missing repository fails as repo_missing and suggests an init job",
    async () => {
      const real = realSupervisor(sb);
      real.repo.value = { repo_url: join(sb.root, "no-repo-here"), repo_password: "x" };
      const done = await real.run({ job_id: "rm", kind: "check" });
      expect(done.status).toBe("failed");
      expect(done.stats?.failure_reason).toBe("repo_missing");
      expect(done.exit_code).toBe(versionAtLeast(real.sup.resticVersion, 0, 17) ? 10 : 1);
      expect(done.error).toContain("run an init job");
      expect(done.error).toContain("no-repo-here");
    },
    INT_TIMEOUT,
  );

  test(
    "a backup with no repository configured fails without running restic",
    async () => {
      const real = realSupervisor(sb);
      real.repo.value = null;
      const done = await real.run({ job_id: "nr", kind: "backup", args: [sb.data] });
      expect(done).toMatchObject({ status: "failed", exit_code: -1 });
      expect(real.rec.of("job.started")).toHaveLength(0);
    },
    INT_TIMEOUT,
  );
});
