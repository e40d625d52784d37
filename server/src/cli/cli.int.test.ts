import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "..", "main.ts");
const dataDir = mkdtempSync(join(tmpdir(), "rf-cli-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

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
  const badFlag = await run(["serve", "--nope"]);
  expect(badFlag.code).toBe(2);
});

test("user, api-token and enrollment-token print their secrets on stdout only", async () => {
  const add = await run(["user", "add", "ops", "--role", "viewer"], {}, "ops-password-1\n");
  expect(add.code).toBe(0);
  expect(add.stdout).toBe("");
  expect(add.stderr).toContain("created user ops (viewer)");
  const gen = await run(["user", "add", "alice"]);
  expect(gen.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  const dup = await run(["user", "add", "ops"], { RF_PASSWORD: "another-pass" });
  expect(dup.code).toBe(1);
  expect(dup.stderr).toContain("already exists");
  const list = await run(["user", "list"]);
  expect(list.stdout).toContain("ops\tviewer");
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
});

test("serve on an empty data dir creates admin from RF_ADMIN_PASSWORD, serves, and stops on SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rf-serve-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const p = Bun.spawn([process.execPath, MAIN, "serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dir], {
    env: { ...process.env, RF_ADMIN_PASSWORD: "first-admin-pw" },
    stdout: "pipe",
    stderr: "pipe",
  });
  // Wait for the published signal: the "listening" log line.
  const reader = p.stderr.getReader();
  let err = "";
  while (!err.includes("listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${err}`);
    err += new TextDecoder().decode(value);
  }
  const login = await fetch(`http://127.0.0.1:${port}/api/v1/session`, {
    method: "POST",
    body: JSON.stringify({ username: "admin", password: "first-admin-pw" }),
  });
  expect(login.status).toBe(201);
  p.kill("SIGTERM");
  expect(await p.exited).toBe(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    err += new TextDecoder().decode(value);
  }
  expect(err).toContain("stopped");
  expect(err).not.toContain("first-admin-pw");
  rmSync(dir, { recursive: true, force: true });
});
