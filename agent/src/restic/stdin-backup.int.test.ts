import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CommandRunPayload } from "../../../protocol/index.ts";
import { INT_TIMEOUT, RESTIC, realSupervisor, restic, type Sandbox, sandbox } from "../testing/int-helpers.ts";
import { OPEN_POLICY } from "../testing/open-policy.ts";
import { detectResticVersion, versionAtLeast } from "./version.ts";

/**
 * Stdin backups with the real restic and a real SQLite database (the sqlite3 CLI): the dump is
 * backed up as one file, restored, and compared with a fresh dump. On restic >= 0.17 restic runs
 * the command (--stdin-from-command); on 0.14 the agent pipes it into `backup --stdin`.
 */
const sandboxes: Sandbox[] = [];
let viaRestic = false;
afterAll(() => Promise.all(sandboxes.map((s) => s.cleanup())));
beforeAll(async () => {
  viaRestic = versionAtLeast(await detectResticVersion(RESTIC), 0, 17);
});

async function fresh(): Promise<Sandbox> {
  const sb = await sandbox({ init: true });
  sandboxes.push(sb);
  return sb;
}

async function run(argv: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, {
    stdin: input === undefined ? "ignore" : new Blob([input]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** A SQLite database with two tables, a few thousand rows and text that needs quoting. */
async function makeDatabase(sb: Sandbox): Promise<string> {
  const db = join(sb.data, "app.db");
  const rows = Array.from({ length: 3000 }, (_, i) => `(${i}, 'user ${i}', 'it''s row ${i} ${"x".repeat(i % 97)}')`);
  const sql = [
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT);",
    `INSERT INTO users VALUES ${rows.join(",")};`,
    "CREATE TABLE settings (k TEXT PRIMARY KEY, v BLOB);",
    "INSERT INTO settings VALUES ('theme', x'00ff10'), ('lang', 'de');",
    "CREATE INDEX users_name ON users(name);",
  ].join("\n");
  const made = await run(["sqlite3", db], sql);
  if (made.code !== 0) throw new Error(`sqlite3 failed: ${made.stderr}`);
  return db;
}

const backup = (id: string, spec: NonNullable<Extract<CommandRunPayload, { kind: "backup" }>["spec"]>) =>
  ({ job_id: id, kind: "backup", spec }) as CommandRunPayload;

async function hostSnapshots(sb: Sandbox): Promise<Array<{ id: string; paths: string[]; tags?: string[] }>> {
  const out = await restic(sb, ["snapshots", "--json", "--no-lock", "--host=int-host"]);
  return JSON.parse(out.stdout) as Array<{ id: string; paths: string[]; tags?: string[] }>;
}

describe(`stdin backups with ${RESTIC}`, () => {
  test(
    "a SQLite dump is backed up as one file, restored, and equals a fresh dump",
    async () => {
      const sb = await fresh();
      const db = await makeDatabase(sb);
      const real = realSupervisor(sb);
      const done = await real.run(
        backup("dump1", { stdin_command: ["sqlite3", db, ".dump"], stdin_filename: "app.sql", tags: ["db"] }),
      );
      expect(done.error).toBeUndefined();
      expect(done.status).toBe("succeeded");
      expect(done.stats).toMatchObject({ message_type: "summary", total_files_processed: 1 });

      const log = real.rec.logLines.map((l) => l.payload);
      const command = log.find((l) => l.startsWith("$ ") && l.includes(" backup "));
      // The path this restic takes, and --host on it either way.
      if (viaRestic) expect(command).toContain("--stdin-from-command --stdin-filename=app.sql -- /usr/bin/env");
      else expect(command).toMatch(/^\$ sqlite3 .*app\.db \.dump \| .* backup .*--stdin --stdin-filename=app\.sql$/);
      expect(command).toContain("--host=int-host");

      const [snap] = await hostSnapshots(sb);
      expect(snap?.paths).toEqual(["/app.sql"]);
      expect(snap?.tags).toEqual(["db"]);
      expect(real.rec.of("snapshots.report")[0]?.snapshots.map((s) => s.paths)).toEqual([["/app.sql"]]);

      // A restore through the agent, as an operator would run it.
      const target = join(sb.root, "restored");
      const restored = await real.run({ job_id: "r1", kind: "restore", spec: { snapshot_id: "latest", target } });
      expect(restored.status).toBe("succeeded");
      const dumped = await readFile(join(target, "app.sql"), "utf8");
      const now = await run(["sqlite3", db, ".dump"]);
      expect(dumped).toBe(now.stdout);
      expect(dumped).toContain("it''s row 2999");

      // The dump rebuilds the database: a new one from it dumps the same again.
      const copy = join(sb.root, "copy.db");
      expect((await run(["sqlite3", copy], dumped)).code).toBe(0);
      expect((await run(["sqlite3", copy, ".dump"])).stdout).toBe(now.stdout);

      // restic dump, the other way out, gives the same bytes.
      const viaDump = await restic(sb, ["dump", "--host=int-host", "latest", "/app.sql"]);
      expect(viaDump.stdout).toBe(now.stdout);
    },
    INT_TIMEOUT,
  );

  test(
    "the command sees a hook's environment: no repository variables, the job's id",
    async () => {
      const sb = await fresh();
      const real = realSupervisor(sb);
      const done = await real.run(
        backup("env1", { stdin_command: ["/bin/sh", "-c", "env | sort"], stdin_filename: "env.txt" }),
      );
      expect(done.status).toBe("succeeded");
      const env = (await restic(sb, ["dump", "--host=int-host", "latest", "/env.txt"])).stdout;
      expect(env).toContain("RF_JOB_ID=env1\n");
      expect(env).toContain("RF_JOB_KIND=backup\n");
      expect(env).not.toMatch(/^RESTIC_/m);
      expect(env).not.toContain(sb.tmp);
    },
    INT_TIMEOUT,
  );

  test(
    "a failing command fails the job with its stderr, and leaves no snapshot",
    async () => {
      const sb = await fresh();
      const real = realSupervisor(sb);
      // Output first, then a failure: restic has a truncated stream in hand.
      const script = "head -c 3000000 /dev/urandom; echo 'pg_dump: error: connection to server failed' >&2; exit 2";
      const done = await real.run(
        backup("fail1", { stdin_command: ["/bin/sh", "-c", script], stdin_filename: "db.sql" }),
      );
      expect(done.status).toBe("failed");
      expect(done.failure_reason).toBe("command_failed");
      expect(done.error).toContain("the stdin command /bin/sh failed");
      expect(done.error).toContain("exit");
      expect(done.error).toContain("no snapshot was saved");
      expect(done.error).toContain("pg_dump: error: connection to server failed");
      expect(await hostSnapshots(sb)).toEqual([]);
      // No stale lock either: the next job can run.
      const locks = await restic(sb, ["list", "locks", "--no-lock"]);
      expect(locks.stdout.trim()).toBe("");
      const next = await real.run(backup("ok1", { stdin_command: ["echo", "fine"], stdin_filename: "ok.txt" }));
      expect(next.status).toBe("succeeded");
    },
    INT_TIMEOUT,
  );

  test(
    "a command killed by a signal fails the job; a command that cannot start fails it too",
    async () => {
      const sb = await fresh();
      const real = realSupervisor(sb);
      const killed = await real.run(
        backup("kill1", { stdin_command: ["/bin/sh", "-c", "echo some; kill -9 $$"], stdin_filename: "k.sql" }),
      );
      expect(killed.status).toBe("failed");
      expect(killed.failure_reason).toBe("command_failed");
      expect(killed.error).toMatch(/signal/);
      const missing = await real.run(
        backup("nope1", { stdin_command: ["/nonexistent/pg_dump", "mydb"], stdin_filename: "n.sql" }),
      );
      expect(missing.status).toBe("failed");
      expect(missing.failure_reason).toBe("command_failed");
      expect(missing.error).toContain("/nonexistent/pg_dump");
      expect(await hostSnapshots(sb)).toEqual([]);
    },
    INT_TIMEOUT,
  );

  test(
    "remote_hooks false (--no-remote-hooks) refuses a stdin command; nothing runs",
    async () => {
      const sb = await fresh();
      const marker = join(sb.root, "ran");
      const real = realSupervisor(sb, {
        policy: { ...OPEN_POLICY, remote_hooks: false, source: "built-in + --no-remote-hooks" },
      });
      const done = await real.run(backup("pol1", { stdin_command: ["/bin/sh", "-c", `touch ${marker}; echo x`] }));
      expect(done.status).toBe("failed");
      expect(done.failure_reason).toBe("policy");
      expect(done.error).toContain(
        "refused by this host's policy (built-in + --no-remote-hooks): remote_hooks is false, so jobs may not run a stdin command",
      );
      expect(await Bun.file(marker).exists()).toBe(false);
      expect(await hostSnapshots(sb)).toEqual([]);
    },
    INT_TIMEOUT,
  );

  test(
    "a cancel stops the command and restic; no snapshot",
    async () => {
      const sb = await fresh();
      // Resolves when the command's "ready" line reaches the job log: it runs, and has written.
      let ready = () => {};
      const running = new Promise<void>((resolve) => {
        ready = resolve;
      });
      let real: ReturnType<typeof realSupervisor> | null = null;
      real = realSupervisor(sb, {
        cancelGraceMs: 2000,
        logBatchMs: 0,
        emit: (type, payload) => {
          real?.rec.emit(type, payload);
          if (type === "job.log" && JSON.stringify(payload).includes("ready-to-cancel")) ready();
        },
      });
      // It writes, says so, then waits as a slow dump would.
      const script = "echo row; echo ready-to-cancel >&2; exec sleep 117.25";
      real.sup.enqueue(backup("c1", { stdin_command: ["/bin/sh", "-c", script], stdin_filename: "c.sql" }));
      await running;
      expect(real.sup.cancel("c1")).toBe(true);
      await real.sup.idle();
      const done = real.rec.of("job.finished")[0];
      expect(done?.status).toBe("cancelled");
      expect(await hostSnapshots(sb)).toEqual([]);
      const ps = await run(["pgrep", "-f", "sleep 117.25"]);
      expect(ps.stdout.trim()).toBe("");
    },
    INT_TIMEOUT,
  );
});
