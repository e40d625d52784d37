import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeSpawn } from "../testing/fake-spawn.ts";
import { openResticSession, withResticSession } from "./restic-session.ts";

const PASSWORD = "s3cr3t-pa55";
const repo = { repo_url: "/srv/repo", repo_password: PASSWORD, repo_username: "id", repo_credential: "key" };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rf-session-test-"));
  dirs.push(dir);
  return dir;
}

test("run starts restic with the repository's env; the password is only in a 0600 file, which close() removes", async () => {
  let seen = { password: "", mode: 0 };
  const spawn = new FakeSpawn((argv, env) => {
    const file = env.RESTIC_PASSWORD_FILE ?? "";
    seen = { password: readFileSync(file, "utf8"), mode: statSync(file).mode & 0o777 };
    return argv[1] === "snapshots" ? { stdout: ["[]"], stderr: ["a warning"], exitCode: 3 } : {};
  });
  const tmp = tempDir();
  const session = await openResticSession({
    resticPath: "/usr/bin/restic",
    repo,
    spawn: spawn.spawn,
    tempDir: tmp,
    cacheDir: "/cache",
  });
  const out: string[] = [];
  const err: string[] = [];
  const children: number[] = [];
  const result = await session.run(["snapshots", "--json"], {
    onStdout: (l) => out.push(l),
    onStderr: (l) => err.push(l),
    onSpawn: (child) => children.push(child.pid),
  });
  expect(result).toEqual({ started: true, exitCode: 3 });
  expect([out, err, children.length]).toEqual([["[]"], ["a warning"], 1]);
  expect(session.argv(["unlock"])).toEqual(["/usr/bin/restic", "unlock"]);

  const call = spawn.calls[0];
  expect(call?.argv).toEqual(["/usr/bin/restic", "snapshots", "--json"]);
  expect(call?.argv.join(" ")).not.toContain(PASSWORD);
  expect(call?.env).toMatchObject({ RESTIC_REPOSITORY: "/srv/repo", RESTIC_CACHE_DIR: "/cache" });
  expect(Object.values(call?.env ?? {})).not.toContain(PASSWORD);
  expect(seen).toEqual({ password: PASSWORD, mode: 0o600 });

  const file = session.env.RESTIC_PASSWORD_FILE ?? "";
  expect(file.startsWith(tmp)).toBe(true);
  await session.close();
  expect(existsSync(file)).toBe(false);
  await session.close(); // twice is harmless
});

test("withResticSession removes the password file when its function throws", async () => {
  const tmp = tempDir();
  let file = "";
  const failing = withResticSession(
    { resticPath: "restic", repo, spawn: new FakeSpawn().spawn, tempDir: tmp },
    async (session) => {
      file = session.env.RESTIC_PASSWORD_FILE ?? "";
      expect(existsSync(file)).toBe(true);
      throw new Error("boom");
    },
  );
  await expect(failing).rejects.toThrow("boom");
  expect(file).not.toBe("");
  expect(existsSync(file)).toBe(false);
});

test("opening fails when the password file cannot be written, and a spawn failure is a result", async () => {
  const missing = join(tempDir(), "missing");
  await expect(
    openResticSession({ resticPath: "restic", repo, spawn: new FakeSpawn().spawn, tempDir: missing }),
  ).rejects.toThrow();

  const session = await openResticSession({
    resticPath: "restic",
    repo,
    spawn: () => {
      throw new Error("ENOENT: no restic");
    },
    tempDir: tempDir(),
  });
  const result = await session.run(["unlock"], { onStdout() {}, onStderr() {} });
  expect(result).toEqual({ started: false, exitCode: -1, error: "ENOENT: no restic" });
  await session.close();
});
