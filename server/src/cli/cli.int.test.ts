import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { LOCK_FILE, lockDataDir, PID_FILE } from "./data-dir-lock.ts";

const MAIN = join(import.meta.dir, "..", "main.ts");
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
const running = new Set<Subprocess>();
afterAll(async () => {
  // Only after a failed test: no server outlives the file.
  for (const p of running) p.kill("SIGKILL");
  await Promise.all([...running].map((p) => p.exited));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// The fleet the admin-command tests act on, made by `serve` in beforeAll.
const dataDir = tempDir("rf-cli-");

async function run(args: string[], env: Record<string, string> = {}, stdin?: string) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], {
    env: { ...process.env, RF_DATA_DIR: dataDir, ...env },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

/** `serve` on a free port, its stderr collected; waits only on its log lines and its exit. */
function serve(dir: string, env: Record<string, string> = {}, args: string[] = []) {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, ...args], {
    env: { ...process.env, RF_ADMIN_PASSWORD: "first-admin-pw", ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  let log = "";
  let ended = false;
  let changed = Promise.withResolvers<void>();
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      log += decoder.decode(chunk, { stream: true });
      changed.resolve();
      changed = Promise.withResolvers<void>();
    }
    ended = true;
    changed.resolve();
  })();
  async function line(pattern: RegExp): Promise<string> {
    for (;;) {
      const found = log.split("\n").find((l, i, all) => i < all.length - 1 && pattern.test(l));
      if (found) return found;
      if (ended) throw new Error(`serve exited (${await proc.exited}) without a line matching ${pattern}:\n${log}`);
      await changed.promise;
    }
  }
  return {
    proc,
    /** The URL from the "listening" line. */
    listening: async () => (JSON.parse(await line(/listening/)) as { url: string }).url,
    /** All of stderr, once the process has exited. */
    output: async () => {
      await done;
      return log;
    },
    async stop() {
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    },
  };
}

beforeAll(async () => {
  const s = serve(dataDir);
  await s.listening();
  await s.stop();
});

test("--help on every command, and usage errors exit 2", async () => {
  const main = await run(["--help"]);
  expect(main.code).toBe(0);
  expect(main.stdout).toContain("enrollment-token create");
  for (const cmd of ["serve", "user", "api-token", "enrollment-token"]) {
    const r = await run([cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage`);
  }
  const bad = await run(["frobnicate"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('unknown command "frobnicate"');
  const user = await run(["user", "--help"]);
  expect(user.stdout).toContain("role viewer by default");
});

test("an unknown option, or one the command does not take, is a usage error in our words (exit 2)", async () => {
  for (const [args, message, help] of [
    [["serve", "--nope"], 'unknown option --nope for "serve"', "restic-fleet-server serve --help"],
    [["user", "add", "x", "--uses", "3"], 'unknown option --uses for "user"', "restic-fleet-server user --help"],
    [["--nope"], "unknown option --nope", "restic-fleet-server --help"],
    [["api-token", "create", "--user"], '--user needs a value for "api-token"', "restic-fleet-server api-token --help"],
    [
      ["tls", "rotate", "--switch=yes"],
      '--switch takes no value for "tls"; got "yes"',
      "restic-fleet-server tls --help",
    ],
    [
      ["api-token", "create", "--user", "--name", "x"],
      `--user needs a value for "api-token", not "--name" (for a value that starts with '-', write --user=--name)`,
      "restic-fleet-server api-token --help",
    ],
  ] as const) {
    const r = await run([...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`restic-fleet-server: ${message}\nRun '${help}' for usage.\n`);
  }
});

test("serve refuses a bad RF_KEEP_JOB_LOGS_DAYS or RF_KEEP_JOBS_DAYS at start, naming it and what it takes", async () => {
  for (const [env, message] of [
    [{ RF_KEEP_JOBS_DAYS: "7" }, "RF_KEEP_JOBS_DAYS must be at least 35"],
    [{ RF_KEEP_JOB_LOGS_DAYS: "30d" }, 'RF_KEEP_JOB_LOGS_DAYS must be a whole number of days such as 30; got "30d"'],
    [
      { RF_KEEP_JOB_LOGS_DAYS: "90", RF_KEEP_JOBS_DAYS: "60" },
      "RF_KEEP_JOB_LOGS_DAYS (90) must not be more than RF_KEEP_JOBS_DAYS (60)",
    ],
  ] as const) {
    const dir = tempDir("rf-keep-");
    const r = await run(["serve", "--listen", "127.0.0.1:0", "--data-dir", dir], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`restic-fleet-server: ${message}`);
    // Refused before anything was made.
    expect(readdirSync(dir)).toEqual([]);
  }
});

test("serve --trusted-proxy (repeatable, or RF_TRUSTED_PROXY): X-Forwarded-For is believed from there only", async () => {
  for (const [args, env, bad] of [
    [["--trusted-proxy", "10.0.0.0/33"], {}, "10.0.0.0/33"],
    [["--trusted-proxy", "::1", "--trusted-proxy", "proxy.local"], {}, "proxy.local"],
    [[], { RF_TRUSTED_PROXY: "127.0.0.1/32,nonsense" }, "nonsense"],
  ] as const) {
    const r = await run(["serve", "--listen", "127.0.0.1:0", ...args], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `--trusted-proxy must be an IPv4 or IPv6 address or CIDR, e.g. 10.0.0.0/8 or ::1; got "${bad}"`,
    );
  }
  const dir = tempDir("rf-proxy-");
  const s = serve(dir, {}, ["--trusted-proxy", "::1", "--trusted-proxy", "127.0.0.1/32"]);
  const url = await s.listening();
  const login = (password: string, client: string) =>
    fetch(`${url}/api/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Forwarded-For": client },
      body: JSON.stringify({ username: "admin", password }),
    }).then((r) => r.status);
  for (let i = 0; i < 5; i++) expect(await login("wrong-password", "203.0.113.9")).toBe(401);
  expect(await login("first-admin-pw", "203.0.113.9")).toBe(429);
  expect(await login("first-admin-pw", "198.51.100.7")).toBe(201);
  await s.stop();
  expect(await s.output()).toContain('"trusted_proxies":["::1","127.0.0.1/32"]');
});

test("user, api-token and enrollment-token print their secrets on stdout only", async () => {
  const add = await run(["user", "add", "ops", "--role", "viewer"], {}, "ops-password-1\n");
  expect(add.code).toBe(0);
  expect(add.stdout).toBe("");
  expect(add.stderr).toContain("created user ops with role viewer");
  const gen = await run(["user", "add", "alice"]);
  expect(gen.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  // No --role: viewer, as the API and the UI default to; admin only when asked for.
  expect(gen.stderr).toContain("created user alice with role viewer");
  const boss = await run(["user", "add", "boss", "--role", "admin"], { RF_PASSWORD: "boss-password-1" });
  expect(boss.stderr).toContain("created user boss with role admin");
  const dup = await run(["user", "add", "ops"], { RF_PASSWORD: "another-pass" });
  expect(dup.code).toBe(1);
  expect(dup.stderr).toContain("already exists");
  const list = await run(["user", "list"]);
  expect(list.stdout).toContain("ops\tviewer");
  expect(list.stdout).toContain("alice\tviewer");
  expect(list.stdout).toContain("boss\tadmin");
  const tok = await run(["api-token", "create", "--user", "ops"]);
  expect(tok.stdout.trim()).toStartWith("rft_");
  const noUser = await run(["api-token", "create", "--user", "ghost"]);
  expect(noUser.code).toBe(1);
  expect(noUser.stderr).toContain("user ghost not found");
  const enr = await run(["enrollment-token", "create", "--uses", "3", "--expires", "2h"]);
  expect(enr.stdout.trim()).toStartWith("rfe_");
  expect(enr.stderr).toContain("3 use(s)");
  const badExp = await run(["enrollment-token", "create", "--expires", "soon"]);
  expect(badExp.code).toBe(2);
  const passwd = await run(["user", "passwd", "ops"], { RF_PASSWORD: "new-password-2" });
  expect(passwd.code).toBe(0);
  const badSub = await run(["user", "frob"]);
  expect(badSub.code).toBe(2);
  expect(badSub.stderr).toContain('unknown user command "frob"');
});

test("enrollment-token create --label, list and revoke; the host enrolled with it gets the labels", async () => {
  const made = await run(["enrollment-token", "create", "--uses", "2", "--label", "env=prod", "--label", "role=db"]);
  expect(made.code).toBe(0);
  const token = made.stdout.trim();
  expect(token).toStartWith("rfe_");
  expect(made.stderr).toContain("labels env=prod,role=db");
  const id = /enrollment token (enr_\S+):/.exec(made.stderr)?.[1] ?? "";
  for (const bad of [
    ["--label", "env"],
    ["--label", "Env=prod"],
    ["--label", "env=a", "--label", "env=b"],
  ]) {
    const r = await run(["enrollment-token", "create", ...bad]);
    expect(r.code, bad.join(" ")).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("--label");
  }

  const list = await run(["enrollment-token", "list"]);
  expect(list.code).toBe(0);
  const lines = list.stdout.trim().split("\n");
  expect(lines[0]).toBe("ID\tLABELS\tUSES_LEFT\tEXPIRES_AT\tCREATED_BY\tCREATED_AT\tREVOKED_AT\tUSES");
  const row = lines.find((l) => l.startsWith(id))?.split("\t");
  expect(row?.slice(1, 3)).toEqual(["env=prod,role=db", "2"]);
  expect(row?.slice(-2)).toEqual(["-", "2"]);
  expect(list.stdout).not.toContain(token);

  // The real server: the host enrolled with it has its labels.
  const s = serve(dataDir);
  const url = await s.listening();
  const enroll = (hostname: string) =>
    fetch(`${url}/api/v1/agent/enroll`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, hostname }),
    });
  const enrolled = await enroll("db-01");
  expect(enrolled.status).toBe(201);
  const login = await fetch(`${url}/api/v1/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: "admin", password: "first-admin-pw" }),
  });
  const cookie = login.headers.get("set-cookie")?.split(";")[0] ?? "";
  const { host_id } = (await enrolled.json()) as { host_id: string };
  const host = (await (await fetch(`${url}/api/v1/hosts/${host_id}`, { headers: { cookie } })).json()) as {
    labels: unknown;
  };
  expect(host.labels).toEqual({ env: "prod", role: "db" });

  // Revoked while the server runs: it enrolls no more hosts.
  const revoke = await run(["enrollment-token", "revoke", id]);
  expect(revoke.code).toBe(0);
  expect(revoke.stderr).toContain(`enrollment token ${id} revoked`);
  expect((await enroll("db-02")).status).toBe(401);
  await s.stop();
  const after = (await run(["enrollment-token", "list"])).stdout.split("\n").find((l) => l.startsWith(id));
  expect(after?.split("\t").at(-2)).toMatch(/^\d{4}-/);
  expect(after?.split("\t")[2]).toBe("1");
  const unknown = await run(["enrollment-token", "revoke", "enr_nope"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("enr_nope not found");
  expect((await run(["enrollment-token", "revoke"])).code).toBe(2);
});

const ADMIN_COMMANDS = [
  ["user", "add", "ops"],
  ["user", "passwd", "admin"],
  ["user", "list"],
  ["api-token", "create", "--user", "admin"],
  ["enrollment-token", "create"],
  ["enrollment-token", "list"],
  ["enrollment-token", "revoke", "enr_x"],
];

test("admin commands on a data dir without a database refuse, exit 1 and create nothing", async () => {
  const parent = tempDir("rf-nodb-");
  const missing = join(parent, "typo");
  const empty = join(parent, "empty");
  mkdirSync(empty);
  for (const [dir, why] of [
    [missing, "the directory does not exist"],
    [empty, "it has no restic-fleet.db"],
  ] as const) {
    for (const cmd of ADMIN_COMMANDS) {
      const r = await run([...cmd, "--data-dir", dir], { RF_PASSWORD: "some-password-1" });
      expect(r.code, `${cmd.join(" ")} on ${dir}`).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(
        `restic-fleet-server: no Restic Fleet database in ${dir} (${why}): start the server once with ` +
          `'restic-fleet-server serve --data-dir ${dir}', or pass the right --data-dir (or RF_DATA_DIR)`,
      );
    }
  }
  // RF_DATA_DIR is checked the same way.
  const viaEnv = await run(["enrollment-token", "create"], { RF_DATA_DIR: missing });
  expect(viaEnv.code).toBe(1);
  expect(viaEnv.stdout).toBe("");
  expect(viaEnv.stderr).toContain(`no Restic Fleet database in ${missing}`);
  // Usage errors still come first, with their own exit code.
  expect((await run(["api-token", "create", "--data-dir", missing])).code).toBe(2);
  // Nothing was made: no directory, no database, no secret.key.
  expect(readdirSync(parent)).toEqual(["empty"]);
  expect(readdirSync(empty)).toEqual([]);
});

test.skipIf(process.getuid?.() !== 0 || !Bun.which("setpriv"))(
  "an unreadable data dir is a permission error, not a missing database",
  async () => {
    const dir = tempDir("rf-perm-");
    chmodSync(dir, 0o700);
    const p = Bun.spawn(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, MAIN, "user", "list"],
      { env: { ...process.env, HOME: tmpdir(), RF_DATA_DIR: dir }, stdout: "pipe", stderr: "pipe" },
    );
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot read ${join(dir, "restic-fleet.db")}: permission denied`);
    expect(readdirSync(dir)).toEqual([]);
  },
);

test("serve on an empty data dir creates admin from RF_ADMIN_PASSWORD, serves, and stops on SIGTERM", async () => {
  const dir = tempDir("rf-serve-");
  const s = serve(dir);
  const url = await s.listening();
  const login = await fetch(`${url}/api/v1/session`, {
    method: "POST",
    body: JSON.stringify({ username: "admin", password: "first-admin-pw" }),
  });
  expect(login.status).toBe(201);
  await s.stop();
  const err = await s.output();
  expect(err).toContain("stopped");
  expect(err).not.toContain("first-admin-pw");
});

test("one serve per data dir: a second one refuses while the first runs, and starts once it stopped", async () => {
  const dir = tempDir("rf-lock-");
  const first = serve(dir);
  await first.listening();
  expect(readFileSync(join(dir, PID_FILE), "utf8").trim()).toBe(String(first.proc.pid));

  const second = serve(dir);
  expect(await second.proc.exited).toBe(1);
  const refused = await second.output();
  expect(refused).toContain(
    `restic-fleet-server: the data directory ${dir} is in use by another restic-fleet-server ` +
      `(pid ${first.proc.pid}): stop that server first, or give this one its own --data-dir`,
  );
  expect(refused).not.toContain("listening");

  // The admin commands do not take the lock: they work while the server runs.
  const list = await run(["user", "list", "--data-dir", dir]);
  expect(list.code).toBe(0);
  expect(list.stdout).toContain("admin\tadmin");
  const tok = await run(["enrollment-token", "create", "--data-dir", dir]);
  expect(tok.stdout.trim()).toStartWith("rfe_");

  await first.stop();
  expect(existsSync(join(dir, PID_FILE))).toBe(false);
  const third = serve(dir);
  await third.listening();
  await third.stop();
});

test("a server killed with SIGKILL leaves no lock that blocks the next start", async () => {
  const dir = tempDir("rf-stale-");
  const killed = serve(dir);
  await killed.listening();
  killed.proc.kill("SIGKILL");
  await killed.proc.exited;
  // Its lock and pid files are still there; only the kernel's lock on the first one is gone.
  expect(readFileSync(join(dir, PID_FILE), "utf8").trim()).toBe(String(killed.proc.pid));
  expect(existsSync(join(dir, LOCK_FILE))).toBe(true);

  const next = serve(dir);
  const url = await next.listening();
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect(readFileSync(join(dir, PID_FILE), "utf8").trim()).toBe(String(next.proc.pid));
  await next.stop();
});

test("the lock survives garbage collection, and release() lets the next server in", async () => {
  const dir = tempDir("rf-gc-");
  const lock = lockDataDir(dir);
  // Bun closes unreferenced databases on GC, which would drop the lock.
  Bun.gc(true);
  const refused = serve(dir);
  expect(await refused.proc.exited).toBe(1);
  expect(await refused.output()).toContain(`is in use by another restic-fleet-server (pid ${process.pid})`);
  // A second lock in the same process is refused too (no pid: it is this process's own).
  expect(() => lockDataDir(dir)).toThrow(`(it holds ${join(dir, LOCK_FILE)})`);
  lock.release();
  lock.release();
  expect(existsSync(join(dir, PID_FILE))).toBe(false);
  const next = serve(dir);
  await next.listening();
  await next.stop();
});
