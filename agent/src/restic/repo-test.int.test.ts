import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { watch } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RepoTestPayload } from "../../../protocol/index.ts";
import { liveKit } from "../live/live-test-kit.ts";
import { INT_TIMEOUT, PASSWORD, RESTIC, type Sandbox, sandbox } from "../testing/int-helpers.ts";
import { bunSpawn } from "./spawn.ts";

/**
 * repo.test against the real restic, on 0.14 and 0.18 (RF_TEST_RESTIC): a good repository, a wrong
 * password, a missing repository, a lock held by a running restic and then left stale by a killed
 * one, and REST and SFTP URLs nobody answers on (0.18 retries those for minutes: the step timeout
 * ends the test).
 */

let sb: Sandbox;
beforeAll(async () => {
  sb = await sandbox({ init: true });
});
afterAll(() => sb?.cleanup());

let n = 0;
function test1(repo: Omit<RepoTestPayload, "request_id">, stepMs?: number) {
  const kit = liveKit({
    resticPath: RESTIC,
    spawn: bunSpawn,
    tempDir: sb.tmp,
    cacheDir: sb.cache,
    ...(stepMs ? { testStepTimeoutMs: stepMs } : {}),
  });
  const id = `req_${++n}`;
  kit.live.repoTest({ request_id: id, ...repo });
  return kit.next("repo.tested", id);
}

/** A loopback port nothing listens on: bound once, then closed. */
function closedPort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

describe(`repo.test on ${RESTIC}`, () => {
  test(
    "a good repository: reachable, initialised, password right, no locks",
    async () => {
      const r = await test1({ repo_url: sb.repoUrl, repo_password: PASSWORD });
      expect(r).toEqual({
        request_id: expect.any(String),
        reachable: true,
        initialised: true,
        password_ok: true,
        locks: { count: 0, stale: 0 },
      });
    },
    INT_TIMEOUT,
  );

  test(
    "a wrong password: reachable and initialised, password wrong, the password never in the error",
    async () => {
      const r = await test1({ repo_url: sb.repoUrl, repo_password: "not-the-password" });
      expect(r.reachable).toBe(true);
      expect(r.initialised).toBe(true);
      expect(r.password_ok).toBe(false);
      expect(r.error).toContain("wrong password");
      expect(r.error).not.toContain("not-the-password");
    },
    INT_TIMEOUT,
  );

  test(
    "a missing repository is not a wrong password: reachable, not initialised",
    async () => {
      const r = await test1({ repo_url: join(sb.root, "nothing-here"), repo_password: PASSWORD });
      expect(r).toMatchObject({ reachable: true, initialised: false, password_ok: false });
      expect(r.error).toMatch(/no such file or directory/);
      expect(r.locks).toBeUndefined();
    },
    INT_TIMEOUT,
  );

  test(
    "a REST server nobody answers: unreachable, its password and credentials redacted",
    async () => {
      const url = `rest:http://127.0.0.1:${closedPort()}/repo`;
      const r = await test1(
        {
          repo_url: url,
          repo_password: PASSWORD,
          repo_env: { RESTIC_REST_USERNAME: "u", RESTIC_REST_PASSWORD: "rest-secret-9" },
        },
        3000,
      );
      expect(r).toMatchObject({ reachable: false, initialised: false, password_ok: false });
      expect(r.error).toMatch(/connection refused|no answer/);
      expect(r.error).not.toContain("rest-secret-9");
    },
    INT_TIMEOUT,
  );

  test(
    "an SFTP server nobody answers: unreachable",
    async () => {
      const r = await test1(
        { repo_url: `sftp://nobody@127.0.0.1:${closedPort()}//srv/repo`, repo_password: PASSWORD },
        3000,
      );
      expect(r).toMatchObject({ reachable: false, initialised: false, password_ok: false });
      expect(r.error).toBeTruthy();
    },
    INT_TIMEOUT,
  );

  test(
    "a lock held by a running restic is counted and live; once its restic is killed it is stale",
    async () => {
      const locks = join(sb.repoUrl, "locks");
      const appeared = new Promise<void>((resolve) => {
        const w = watch(locks, () => {
          w.close();
          resolve();
        });
      });
      // backup --stdin takes its lock, then waits for stdin, which this test keeps open.
      const holder = Bun.spawn([RESTIC, "backup", "--stdin", "--stdin-filename=held.txt"], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: sb.root,
          RESTIC_REPOSITORY: sb.repoUrl,
          RESTIC_PASSWORD: PASSWORD,
          RESTIC_CACHE_DIR: sb.cache,
        },
        stdin: "pipe",
        stdout: "ignore",
        stderr: "ignore",
      });
      await appeared;
      expect((await readdir(locks)).length).toBe(1);
      const live = await test1({ repo_url: sb.repoUrl, repo_password: PASSWORD });
      expect(live).toMatchObject({
        reachable: true,
        initialised: true,
        password_ok: true,
        locks: { count: 1, stale: 0 },
      });

      holder.kill("SIGKILL");
      await holder.exited;
      const stale = await test1({ repo_url: sb.repoUrl, repo_password: PASSWORD });
      expect(stale.locks).toEqual({ count: 1, stale: 1 });
    },
    INT_TIMEOUT,
  );
});
