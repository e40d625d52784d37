import { describe, expect, test } from "bun:test";
import { backupArgv, buildPlan, type GlobalFlags } from "./argv.ts";
import {
  commandFailedError,
  resticCommandFailure,
  resticRunsCommand,
  stdinCommandArgv,
  stdinInput,
} from "./stdin-source.ts";

const g: GlobalFlags = { features: { retryLock: false }, retryLock: null, host: "db-1" };
const input = {
  paths: [],
  excludes: [],
  tags: ["db"],
  stdin: { command: ["pg_dump", "--", "my db"], filename: "mydb.sql" },
};

describe("stdin backups: argv", () => {
  test("restic >= 0.17 runs the command after --; older restic reads stdin; --host on both", () => {
    expect(backupArgv(input, g, ["/usr/bin/env", "--", "pg_dump", "--", "my db"])).toEqual([
      "backup",
      "--json",
      "--host=db-1",
      "--tag=db",
      "--stdin-from-command",
      "--stdin-filename=mydb.sql",
      "--",
      "/usr/bin/env",
      "--",
      "pg_dump",
      "--",
      "my db",
    ]);
    expect(backupArgv(input, g)).toEqual([
      "backup",
      "--json",
      "--host=db-1",
      "--tag=db",
      "--stdin",
      "--stdin-filename=mydb.sql",
    ]);
  });

  test("the command's wrapper unsets every variable the agent gave restic, by name only", () => {
    const resticEnv = {
      PATH: "/bin",
      RESTIC_REPOSITORY: "s3:x",
      RESTIC_PASSWORD_FILE: "/t/pw",
      AWS_SECRET_ACCESS_KEY: "s3cr3t",
    };
    const argv = stdinCommandArgv(["pg_dump", "mydb"], resticEnv, "job-1", { PATH: "/bin", HOME: "/root" });
    expect(argv).toEqual([
      "/usr/bin/env",
      "-u",
      "AWS_SECRET_ACCESS_KEY",
      "-u",
      "RESTIC_PASSWORD_FILE",
      "-u",
      "RESTIC_REPOSITORY",
      "--",
      "RF_JOB_ID=job-1",
      "RF_JOB_KIND=backup",
      "pg_dump",
      "mydb",
    ]);
    expect(argv.join(" ")).not.toContain("s3cr3t");
  });

  test("who runs the command: restic from 0.17, never on Windows", () => {
    expect(resticRunsCommand({ retryLock: true, stdinFromCommand: true }, "linux")).toBe(true);
    expect(resticRunsCommand({ retryLock: true, stdinFromCommand: true }, "win32")).toBe(false);
    expect(resticRunsCommand({ retryLock: false }, "linux")).toBe(false);
  });
});

describe("stdin backups: what the spec may say", () => {
  test("refusals name the field", () => {
    expect(stdinInput({ stdin_command: ["pg_dump"], paths: ["/srv"] })).toMatchObject({
      ok: false,
      error: expect.stringContaining("not both"),
    });
    expect(stdinInput({ stdin_command: ["pg_dump"], excludes: ["*.tmp"] })).toMatchObject({ ok: false });
    expect(stdinInput({ stdin_command: [""] })).toMatchObject({
      ok: false,
      error: expect.stringContaining("stdin_command"),
    });
    expect(stdinInput({ stdin_command: ["A=b"] })).toMatchObject({ ok: false, error: expect.stringContaining("'='") });
    expect(stdinInput({ stdin_command: ["pg_dump"], stdin_filename: "../x" })).toMatchObject({
      ok: false,
      error: expect.stringContaining("stdin_filename"),
    });
    expect(stdinInput({ stdin_filename: "x.sql", paths: ["/srv"] })).toMatchObject({
      ok: false,
      error: expect.stringContaining("only for"),
    });
    expect(stdinInput({ stdin_command: ["pg_dump"] })).toEqual({
      ok: true,
      value: { command: ["pg_dump"], filename: "stdin" },
    });
  });

  test("a plan for a stdin backup has no paths, and args beside it are refused", () => {
    const plan = buildPlan({ job_id: "j", kind: "backup", spec: { stdin_command: ["sqlite3", "/a.db", ".dump"] } }, g);
    expect(plan.ok && plan.value.backup?.stdin?.command).toEqual(["sqlite3", "/a.db", ".dump"]);
    const both = buildPlan({ job_id: "j", kind: "backup", args: ["/srv"], spec: { stdin_command: ["x"] } }, g);
    expect(both).toMatchObject({ ok: false });
  });

  test("restic 0.18's words for a failed command become the job's error, with the command's stderr", () => {
    const tail = [
      "subprocess /usr/bin/env: pg_dump: error: connection refused",
      "failed to save /db.sql: Fatal: command failed: exit status 1",
      "Fatal: unable to save snapshot: failed to save /db.sql: Fatal: command failed: exit status 1",
    ];
    const failure = resticCommandFailure(tail, "subprocess /usr/bin/env: ");
    expect(failure).toEqual({ verdict: "exit status 1", lines: ["pg_dump: error: connection refused"] });
    expect(resticCommandFailure(["Fatal: wrong password or no key found"], "subprocess x: ")).toBeNull();
    expect(commandFailedError(["pg_dump"], "exit status 1", failure?.lines ?? [])).toBe(
      "the stdin command pg_dump failed (exit status 1); no snapshot was saved\npg_dump: error: connection refused",
    );
  });
});
