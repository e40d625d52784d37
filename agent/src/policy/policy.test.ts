import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtInPolicy, loadHostPolicy, PolicyFileError } from "./load-policy.ts";
import { displayUrl, policyRefusal, within } from "./policy-check.ts";

let dir = "";
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));
const fresh = () => (dir = mkdtempSync(join(tmpdir(), "rf-policy-")));
const file = (json: unknown) => {
  const p = join(dir, "policy.json");
  writeFileSync(p, typeof json === "string" ? json : JSON.stringify(json));
  return p;
};

test("the built-in policy, and a file's keys over it one by one", async () => {
  fresh();
  expect(builtInPolicy("/var/lib/rf", "linux")).toEqual({
    remote_hooks: false,
    restore_targets: ["/var/lib/rf/restore"],
    backup_paths: null,
    repositories: "first",
  });
  expect(builtInPolicy("C:\\ProgramData\\restic-fleet-agent", "win32").restore_targets).toEqual([
    "C:\\ProgramData\\restic-fleet-agent\\restore",
  ]);
  const p = file({ remote_hooks: true, repositories: ["s3:https://s3.example.com/b/"] });
  expect(await loadHostPolicy({ stateDir: "/var/lib/rf", path: p })).toEqual({
    remote_hooks: true,
    restore_targets: ["/var/lib/rf/restore"],
    backup_paths: null,
    repositories: ["s3:https://s3.example.com/b/"],
    source: p,
  });
  const forced = await loadHostPolicy({ stateDir: "/x", path: p, noRemoteHooks: true });
  expect(forced).toMatchObject({ remote_hooks: false, source: `${p} + --no-remote-hooks` });
});

test("a named file that is missing, not JSON, has an unknown key or a relative path is an error", async () => {
  fresh();
  const cases: Array<[unknown, string]> = [
    ["{not json", "is not valid JSON"],
    [{ remote_hook: true }, '"remote_hook" is not a known key'],
    [{ restore_targets: ["srv/restore"] }, '"restore_targets" holds "srv/restore", which is not an absolute path'],
    [{ repositories: "last" }, '"repositories"'],
  ];
  for (const [json, message] of cases) {
    const p = file(json);
    const err = await loadHostPolicy({ stateDir: "/x", path: p }).catch((e) => e);
    expect(err).toBeInstanceOf(PolicyFileError);
    expect(err.message).toContain(message);
  }
  const missing = await loadHostPolicy({ stateDir: "/x", path: join(dir, "nope.json") }).catch((e) => e);
  expect(missing.message).toContain("does not exist");
});

test("within: path-aware prefixes, links resolved, Windows case-insensitive", async () => {
  fresh();
  mkdirSync(join(dir, "allowed"));
  mkdirSync(join(dir, "other"));
  symlinkSync(join(dir, "other"), join(dir, "allowed", "link"));
  const allowed = [join(dir, "allowed")];
  expect(await within(join(dir, "allowed"), allowed, "linux")).toBe(true);
  expect(await within(join(dir, "allowed", "new", "deep"), allowed, "linux")).toBe(true);
  expect(await within(join(dir, "allowed-evil"), allowed, "linux")).toBe(false);
  expect(await within(join(dir, "allowed", "..", "other"), allowed, "linux")).toBe(false);
  expect(await within(join(dir, "allowed", "link", "x"), allowed, "linux")).toBe(false);
  expect(await within("/", ["/"], "linux")).toBe(true);
  expect(await within("C:\\Restore\\Job1", ["c:\\restore"], "win32")).toBe(true);
  expect(await within("C:\\Windows", ["c:\\restore"], "win32")).toBe(false);
});

test("repositories: a prefix list, or pinned to the first; the URL's password is never shown", async () => {
  const base = { remote_hooks: true, restore_targets: null, backup_paths: null, source: "/etc/p.json" };
  const listed = { ...base, repositories: ["s3:https://s3.example.com/backups/"] };
  expect(
    await policyRefusal({ hooks: false, repoUrl: "s3:https://s3.example.com/backups/web" }, listed, null),
  ).toBeNull();
  const other = await policyRefusal({ hooks: false, repoUrl: "rest:https://u:hunter2@evil.example/" }, listed, null);
  expect(other).toContain("does not start with one of repositories");
  expect(other).not.toContain("hunter2");
  const first = { ...base, repositories: "first" as const };
  const pin = { url: "/srv/repo", pinned_at: "2026-12-01T00:00:00.000Z" };
  expect(await policyRefusal({ hooks: false, repoUrl: "/srv/repo" }, first, pin)).toBeNull();
  expect(await policyRefusal({ hooks: false, repoUrl: "/srv/other" }, first, null)).toBeNull();
  expect(await policyRefusal({ hooks: false, repoUrl: "/srv/other" }, first, pin)).toContain("pinned to");
  expect(displayUrl("rest:https://user:pw@host:8000/repo")).toBe("rest:https://user:***@host:8000/repo");
});
