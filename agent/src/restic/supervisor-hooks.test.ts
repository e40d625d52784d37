import { afterEach, describe, expect, test } from "bun:test";
import { OPEN_POLICY } from "../testing/open-policy.ts";
import { type Harness, happyHandler, harness } from "../testing/test-harness.ts";
import { hookArgv } from "./hooks.ts";

let h: Harness;
afterEach(() => h?.cleanup());

const hooked = (paths: string[]) => ({
  job_id: "j",
  kind: "backup" as const,
  spec: { paths, pre_hook: "pg_dump db > /tmp/db.sql", post_hook: "rm /tmp/db.sql" },
});

describe("hooks", () => {
  test("refused with a clear error when remote hooks are off; nothing runs", async () => {
    h = harness(happyHandler(), { policy: { ...OPEN_POLICY, remote_hooks: false, source: "/etc/p.json" } });
    h.sup.enqueue(hooked([h.tempDir]));
    await h.sup.idle();
    expect(h.rec.of("job.finished")[0]).toMatchObject({
      status: "failed",
      failure_reason: "policy",
    });
    expect(h.rec.of("job.finished")[0]?.error).toContain(
      "refused by this host's policy (/etc/p.json): remote_hooks is false",
    );
    expect(h.spawn.commands).toEqual([]);
  });

  test("pre-hook, restic, post-hook in order, with output in the job log and no secrets in the env", async () => {
    h = harness((argv, env) => {
      if (argv[0] === "/bin/sh") return { stdout: [`hook says ${env.RF_HOOK}`], stderr: ["hook warns"] };
      return happyHandler()(argv, env);
    });
    process.env.RF_AGENT_TOKEN = "agent-token";
    try {
      h.sup.enqueue(hooked([h.tempDir]));
      await h.sup.idle();
    } finally {
      delete process.env.RF_AGENT_TOKEN;
    }
    const calls = h.spawn.calls.filter((c) => c.argv[1] !== "version");
    expect(calls[0]?.argv).toEqual(["/bin/sh", "-c", "pg_dump db > /tmp/db.sql"]);
    expect(calls[1]?.argv[1]).toBe("backup");
    expect(calls[2]?.argv).toEqual(["/bin/sh", "-c", "rm /tmp/db.sql"]);
    expect(calls[2]?.env.RF_RESTIC_STATUS).toBe("succeeded");
    for (const hook of [calls[0], calls[2]]) {
      expect(Object.keys(hook?.env ?? {}).filter((k) => k.startsWith("RESTIC_"))).toEqual([]);
      expect(hook?.env.RF_AGENT_TOKEN).toBeUndefined();
      expect(hook?.env.RF_JOB_ID).toBe("j");
    }
    const out = h.rec.logLines.filter((l) => l.stream !== "event").map((l) => l.payload);
    expect(out).toContain("hook says pre");
    expect(out).toContain("hook says post");
    expect(out).toContain("hook warns");
    expect(h.rec.of("job.finished")[0]?.status).toBe("succeeded");
  });

  test("a hook that prints the agent token or the URL's password shows *** in the job log", async () => {
    h = harness(
      (argv, env) => {
        if (argv[0] === "/bin/sh") return { stdout: ['{"agent_token":"rfa_0123456789abcdef"} url-pw=s3cr3tUrl'] };
        return happyHandler()(argv, env);
      },
      { heldTokens: () => ["rfa_0123456789abcdef"] },
    );
    h.repo.value = { repo_url: "rest:https://u:s3cr3tUrl@backup.example/r", repo_password: "pw-1234" };
    h.sup.enqueue(hooked([h.tempDir]));
    await h.sup.idle();
    const lines = h.rec.logLines.map((l) => l.payload).join("\n");
    expect(lines).toContain('{"agent_token":"***"} url-pw=***');
    expect(lines).not.toContain("rfa_0123456789abcdef");
    expect(lines).not.toContain("s3cr3tUrl");
  });

  test("a failing pre-hook fails the job and restic does not run", async () => {
    h = harness((argv, env) =>
      argv[0] === "/bin/sh" ? { stderr: ["pg_dump: connection refused"], exitCode: 2 } : happyHandler()(argv, env),
    );
    h.sup.enqueue(hooked([h.tempDir]));
    await h.sup.idle();
    const done = h.rec.of("job.finished")[0];
    expect(done).toMatchObject({ status: "failed", exit_code: 2 });
    expect(done?.error).toContain("pre-hook failed with exit code 2; restic did not run");
    expect(done?.error).toContain("pg_dump: connection refused");
    expect(h.spawn.commands.some((c) => c.startsWith("backup"))).toBe(false);
  });

  test("a failing post-hook keeps a good backup succeeded but says so", async () => {
    h = harness((argv, env) => {
      if (argv[0] === "/bin/sh") return argv[2]?.startsWith("rm") ? { stderr: ["rm: no such file"], exitCode: 1 } : {};
      return happyHandler()(argv, env);
    });
    h.sup.enqueue(hooked([h.tempDir]));
    await h.sup.idle();
    const done = h.rec.of("job.finished")[0];
    expect(done?.status).toBe("succeeded");
    expect(done?.error).toContain("post-hook failed with exit code 1");
    expect(done?.stats?.warning).toBe("post-hook failed with exit code 1");
    expect(h.rec.of("snapshots.report")).toHaveLength(1);
  });

  test("the post-hook runs after a failed restic too, and the job stays failed", async () => {
    h = harness((argv, env) => {
      if (argv[0] === "/bin/sh") return argv[2]?.startsWith("rm") ? { exitCode: 1 } : {};
      if (argv[1] === "backup") return { stderr: ["Fatal: wrong password or no key found"], exitCode: 1 };
      return happyHandler()(argv, env);
    });
    h.sup.enqueue(hooked([h.tempDir]));
    await h.sup.idle();
    const post = h.spawn.calls.at(-1);
    expect(post?.env.RF_RESTIC_STATUS).toBe("failed");
    const done = h.rec.of("job.finished")[0];
    expect(done).toMatchObject({
      status: "failed",
      stats: { failure_reason: "wrong_password", post_hook_failed: true },
    });
  });

  test("hook_shell is honoured, with platform defaults", () => {
    expect(hookArgv(undefined, "echo hi", "linux")).toEqual(["/bin/sh", "-c", "echo hi"]);
    expect(hookArgv("", "echo hi", "win32")).toEqual(["powershell", "-NoProfile", "-Command", "echo hi"]);
    expect(hookArgv(" /bin/bash  -eu -c ", "echo hi", "linux")).toEqual(["/bin/bash", "-eu", "-c", "echo hi"]);
  });
});
