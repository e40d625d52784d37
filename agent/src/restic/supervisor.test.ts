import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { OPEN_POLICY } from "../testing/open-policy.ts";
import {
  BACKUP_SUMMARY,
  bySubcommand,
  type Harness,
  happyHandler,
  harness,
  ID_A,
  ID_B,
  PASSWORD,
  SNAPSHOTS_JSON,
} from "../testing/test-harness.ts";
import { Supervisor } from "./supervisor.ts";

let h: Harness;
afterEach(() => h?.cleanup());

function finished() {
  const all = h.rec.of("job.finished");
  expect(all).toHaveLength(1);
  const only = all[0];
  if (!only) throw new Error("no job.finished");
  return only;
}

describe("Supervisor: a backup", () => {
  test("runs restic with the repo in env and the password in a 0600 file, then reports", async () => {
    let passwordSeen = "";
    let modeSeen = 0;
    h = harness((argv, env) => {
      if (argv[1] === "backup") {
        const file = env.RESTIC_PASSWORD_FILE ?? "";
        passwordSeen = require("node:fs").readFileSync(file, "utf8");
        modeSeen = statSync(file).mode & 0o777;
      }
      return happyHandler()(argv, env);
    });
    process.env.RESTIC_PASSWORD = "leaked-from-parent";
    process.env.RESTIC_REPOSITORY = "/wrong/repo";
    try {
      h.sup.enqueue({ job_id: "j1", kind: "backup", spec: { paths: [h.tempDir], tags: ["daily"] } });
      await h.sup.idle();
    } finally {
      delete process.env.RESTIC_PASSWORD;
      delete process.env.RESTIC_REPOSITORY;
    }
    const backup = h.spawn.calls.find((c) => c.argv[1] === "backup");
    expect(backup?.argv).toEqual(["restic", "backup", "--json", "--host=test-host", "--tag=daily", "--", h.tempDir]);
    expect(backup?.env.RESTIC_REPOSITORY).toBe("/srv/repo");
    expect(backup?.env.RESTIC_PASSWORD).toBeUndefined();
    expect(passwordSeen).toBe(PASSWORD);
    expect(modeSeen).toBe(0o600);
    for (const c of h.spawn.calls) expect(c.argv.join(" ")).not.toContain(PASSWORD);
    // the password file is gone afterwards
    expect(existsSync(backup?.env.RESTIC_PASSWORD_FILE ?? "")).toBe(false);

    expect(h.spawn.commands).toEqual([
      `backup --json --host=test-host --tag=daily -- ${h.tempDir}`,
      "snapshots --json --no-lock --host=test-host",
      "stats --json --no-lock --mode=raw-data",
      "stats --json --no-lock",
      "list locks --no-lock",
    ]);
    const types = h.rec.types();
    expect(types[0]).toBe("job.started");
    // job.finished as soon as restic's outcome is known, with the job's whole log before it;
    // the reports (and their own log lines) follow
    expect(h.rec.logLinesBefore("job.finished").at(-1)?.payload).toBe("job succeeded");
    expect(types.indexOf("job.finished")).toBeLessThan(types.indexOf("snapshots.report"));
    expect(types.indexOf("job.finished")).toBeLessThan(types.indexOf("repo.stats"));

    const done = finished();
    expect(done.status).toBe("succeeded");
    expect(done.exit_code).toBe(0);
    expect(done.error).toBeUndefined();
    expect(done.stats?.snapshot_id).toBe(ID_B.slice(0, 8));

    const [report] = h.rec.of("snapshots.report");
    expect(report?.snapshots.map((s) => s.id)).toEqual([ID_A, ID_B]);
    // 0.14 has no per-snapshot summary: the new snapshot's size comes from the backup summary
    expect(report?.snapshots[1]).toMatchObject({
      short_id: ID_B.slice(0, 8),
      size_bytes: 7000,
      file_count: 3,
      tags: ["daily"],
    });
    expect(report?.snapshots[0]?.size_bytes).toBeUndefined();

    expect(h.rec.of("repo.stats")).toEqual([
      { size_bytes: 1000, snapshot_count: 2, dedup_ratio: 3, lock_state: "unlocked" },
    ]);
  });

  test("the password and credential are redacted from logs and errors", async () => {
    h = harness(bySubcommand({ backup: { stderr: [`Fatal: cannot use ${PASSWORD} with key tok-123`], exitCode: 1 } }));
    h.repo.value = {
      repo_url: "s3:host/bucket",
      repo_password: PASSWORD,
      repo_username: "AK",
      repo_credential: "tok-123",
    };
    h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
    await h.sup.idle();
    const backup = h.spawn.calls.find((c) => c.argv[1] === "backup");
    expect(backup?.env.AWS_ACCESS_KEY_ID).toBe("AK");
    expect(backup?.env.AWS_SECRET_ACCESS_KEY).toBe("tok-123");
    const text = JSON.stringify(h.rec.events);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain("tok-123");
    expect(finished().error).toContain("Fatal: cannot use *** with key ***");
  });

  test("exit 3 succeeds with a warning", async () => {
    h = harness(
      happyHandler({
        backup: { stdout: [BACKUP_SUMMARY], stderr: ["open /x/secret: permission denied"], exitCode: 3 },
      }),
    );
    h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
    await h.sup.idle();
    const done = finished();
    expect(done.status).toBe("succeeded");
    expect(done.exit_code).toBe(3);
    expect(done.error).toContain("some source files could not be read");
    expect(done.error).toContain("permission denied");
    expect(done.stats?.warning).toBe("some source files could not be read");
    expect(h.rec.of("snapshots.report")).toHaveLength(1);
  });

  test("a failure is classified, and nothing is reported", async () => {
    h = harness(bySubcommand({ backup: { stderr: ["Fatal: wrong password or no key found"], exitCode: 1 } }));
    h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
    await h.sup.idle();
    const done = finished();
    expect(done.status).toBe("failed");
    expect(done.exit_code).toBe(1);
    expect(done.stats?.failure_reason).toBe("wrong_password");
    expect(done.error).toContain("password is wrong");
    expect(done.error).toContain("Fatal: wrong password or no key found");
    expect(h.rec.of("snapshots.report")).toHaveLength(0);
    expect(h.rec.of("repo.stats")).toHaveLength(0);
  });

  test("paths that do not exist: all missing fails without restic, some missing warns", async () => {
    h = harness(happyHandler());
    h.sup.enqueue({ job_id: "all", kind: "backup", args: ["/nope/a", "/nope/b"] });
    await h.sup.idle();
    expect(finished()).toMatchObject({ status: "failed", stats: { failure_reason: "paths_missing" } });
    expect(finished().error).toContain("/nope/a, /nope/b");
    expect(h.spawn.commands).toEqual([]);

    h.rec.events.length = 0;
    h.sup.enqueue({ job_id: "some", kind: "backup", args: [h.tempDir, "/nope/c"] });
    await h.sup.idle();
    expect(h.spawn.commands[0]).toBe(`backup --json --host=test-host -- ${h.tempDir}`);
    const done = finished();
    expect(done.status).toBe("succeeded");
    expect(done.error).toContain("1 of 2 backup paths do not exist");
    expect(done.stats?.missing_paths).toEqual(["/nope/c"]);
  });

  test("a path restic itself skips (gone after the check) is a warning too", async () => {
    h = harness(happyHandler({ backup: { stdout: [BACKUP_SUMMARY], stderr: ["/gone does not exist, skipping"] } }));
    h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
    await h.sup.idle();
    expect(finished().stats?.warning).toContain("/gone");
  });
});

describe("Supervisor: other kinds and failures", () => {
  test("forget with prune runs forget --json, then prune, and reports both", async () => {
    const groups = JSON.stringify([{ keep: [{ id: ID_B }], remove: [{ id: ID_A }, { id: "x" }] }]);
    h = harness(happyHandler({ forget: { stdout: [groups] }, snapshots: { stdout: [SNAPSHOTS_JSON] } }));
    h.sup.enqueue({ job_id: "j", kind: "forget", spec: { policy: { keep_last: 1 }, prune: true } });
    await h.sup.idle();
    expect(h.spawn.commands.slice(0, 2)).toEqual([
      "forget --json --host=test-host --group-by=host,paths --keep-last=1",
      "prune --json",
    ]);
    expect(finished()).toMatchObject({ status: "succeeded", stats: { snapshots_kept: 1, snapshots_removed: 2 } });
    expect(h.rec.of("snapshots.report")).toHaveLength(1);
    expect(h.rec.of("repo.stats")).toHaveLength(1);
  });

  test("check remembers its verdict in repo.stats", async () => {
    h = harness(happyHandler({ check: { stdout: ["no errors were found"] } }));
    h.sup.enqueue({ job_id: "c1", kind: "check", spec: { read_data_subset: "10%" } });
    await h.sup.idle();
    expect(h.rec.of("repo.stats")[0]).toMatchObject({
      last_check_status: "ok",
      last_check_at: "2026-11-30T12:00:00.000Z",
    });
    h.spawn.handler = happyHandler({ check: { stderr: ["Fatal: repository contains errors"], exitCode: 1 } });
    h.sup.enqueue({ job_id: "c2", kind: "check" });
    await h.sup.idle();
    expect(h.rec.of("repo.stats")[1]).toMatchObject({ last_check_status: "failed" });
    expect(h.rec.of("job.finished")[1]?.status).toBe("failed");
  });

  test("a failing report does not change the job's status", async () => {
    h = harness(happyHandler({ snapshots: { stderr: ["Fatal: boom"], exitCode: 1 } }));
    h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
    await h.sup.idle();
    expect(finished().status).toBe("succeeded");
    expect(h.rec.logLines.some((l) => l.payload.includes("could not list the snapshots"))).toBe(true);
  });

  test("a report that finds the repository gone sends repo.missing once (0.14 text, 0.18 exit 10); other failures do not", async () => {
    const gone014 = {
      stderr: ["Fatal: unable to open config file: stat /srv/repo/config: no such file or directory"],
      exitCode: 1,
    };
    const gone018 = {
      stderr: ['{"message_type":"exit_error","code":10,"message":"Fatal: repository does not exist"}'],
      exitCode: 10,
    };
    for (const gone of [gone014, gone018]) {
      h = harness(happyHandler({ snapshots: gone }));
      h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
      await h.sup.idle();
      expect(finished().status).toBe("succeeded");
      const [missing, ...more] = h.rec.of("repo.missing");
      expect(more).toEqual([]);
      expect(missing?.job_id).toBe("j");
      expect(missing?.error).toContain("There is no restic repository");
      // The stats are not attempted: they would fail the same way.
      expect(h.spawn.commands.some((c) => c.includes("stats"))).toBe(false);
      h.cleanup();
    }
    // A REST server that refuses the connection (0.14 says "unable to open config file" for it too).
    h = harness(
      happyHandler({
        snapshots: {
          stderr: ["Fatal: unable to open config file: Head: dial tcp 127.0.0.1:1: connection refused"],
          exitCode: 1,
        },
      }),
    );
    h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
    await h.sup.idle();
    expect(h.rec.of("repo.missing")).toEqual([]);
  });

  test("no repository configured fails without spawning", async () => {
    h = harness();
    h.repo.value = null;
    h.sup.enqueue({ job_id: "j", kind: "init" });
    await h.sup.idle();
    expect(finished().error).toContain("no repository is configured");
    h.repo.value = { repo_url: "", repo_password: "x" };
    h.sup.enqueue({ job_id: "k", kind: "init" });
    await h.sup.idle();
    expect(h.rec.of("job.finished")[1]?.status).toBe("failed");
    expect(h.spawn.calls).toHaveLength(0);
  });

  test("an invalid spec fails with a clear error, without spawning restic", async () => {
    h = harness();
    h.sup.enqueue({ job_id: "j", kind: "backup", spec: { paths: ["/a"], tags: ["--x"] } });
    await h.sup.idle();
    expect(finished()).toMatchObject({ status: "failed", exit_code: -1 });
    expect(finished().error).toContain("invalid backup job");
    expect(h.spawn.commands).toEqual([]);
  });

  test("a restic that cannot start fails the job; nothing throws", async () => {
    h = harness((argv) => {
      throw new Error(`ENOENT: no such file or directory, posix_spawn '${argv[0]}'`);
    });
    h.sup.enqueue({ job_id: "j", kind: "init" });
    await h.sup.idle();
    expect(finished().status).toBe("failed");
    expect(finished().error).toContain("could not start restic");
  });

  test("jobs run one at a time, in order; a duplicate id is ignored", async () => {
    h = harness((argv) => (argv[1] === "version" ? { stdout: ["restic 0.14.0"] } : "manual"));
    h.sup.enqueue({ job_id: "a", kind: "init" });
    h.sup.enqueue({ job_id: "b", kind: "unlock" });
    h.sup.enqueue({ job_id: "b", kind: "unlock" });
    expect(h.sup.running).toBe("a");
    expect(h.sup.queued).toEqual(["b"]);
    (await h.spawn.waitFor("init")).child.exit(0);
    (await h.spawn.waitFor("unlock")).child.exit(0);
    await h.sup.idle();
    expect(h.rec.of("job.finished").map((f) => f.job_id)).toEqual(["a", "b"]);
    expect(h.sup.running).toBeNull();
  });

  test("restic >= 0.16 gets --retry-lock", async () => {
    h = harness(bySubcommand({ version: { stdout: ["restic 0.18.0 compiled with go1.24.4 on linux/amd64"] } }));
    h.sup.enqueue({ job_id: "j", kind: "prune" });
    await h.sup.idle();
    expect(h.spawn.commands[0]).toBe("prune --json --retry-lock=1m");
    expect(h.sup.resticVersion?.version).toBe("0.18.0");
  });

  test("a throwing emit stalls nothing, and a missing tempDir fails the job clearly", async () => {
    h = harness(happyHandler());
    const rec = h.rec;
    let broken = true;
    const sup = new Supervisor({
      resticPath: "restic",
      resticHost: "test-host",
      spawn: h.spawn.spawn,
      clock: h.clock,
      emit: (type, payload) => {
        if (broken && type === "job.log") throw new Error("outbox full");
        rec.emit(type, payload);
      },
      policy: OPEN_POLICY,
      tempDir: `${h.tempDir}/missing`,
      getRepo: () => h.repo.value,
    });
    sup.enqueue({ job_id: "a", kind: "init" });
    await sup.idle();
    expect(rec.of("job.finished")[0]?.error).toContain("could not write the password file");
    broken = false;
    sup.enqueue({ job_id: "b", kind: "init" });
    await sup.idle();
    expect(rec.of("job.finished").map((f) => f.job_id)).toEqual(["a", "b"]);
  });
});
