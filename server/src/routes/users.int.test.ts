import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../testing/harness.ts";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

const login = (username: string, password: string) =>
  t.api("/api/v1/session", { method: "POST", body: { username, password }, token: null });

test("admins add users, change roles, reset passwords and disable them; all audited", async () => {
  const created = await t.json("/api/v1/users", {
    method: "POST",
    body: { username: "ops", password: "ops-password", role: "viewer" },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ username: "ops", role: "viewer", disabled_at: null });
  expect(JSON.stringify(created.body)).not.toContain("password");
  const dup = await t.json("/api/v1/users", { method: "POST", body: { username: "ops", password: "ops-password" } });
  expect(dup.status).toBe(409);
  const short = await t.json("/api/v1/users", { method: "POST", body: { username: "x", password: "short" } });
  expect(short.body.error.path).toBe("password");

  expect(
    (await t.json(`/api/v1/users/${created.body.id}`, { method: "PATCH", body: { role: "admin" } })).body.role,
  ).toBe("admin");
  expect((await login("ops", "ops-password")).status).toBe(201);
  await t.json(`/api/v1/users/${created.body.id}`, { method: "PATCH", body: { password: "new-password-1" } });
  expect((await login("ops", "ops-password")).status).toBe(401);
  expect((await login("ops", "new-password-1")).status).toBe(201);

  const disabled = await t.json(`/api/v1/users/${created.body.id}`, { method: "PATCH", body: { disabled: true } });
  expect(disabled.body.disabled_at).not.toBeNull();
  const refused = await login("ops", "new-password-1");
  expect(refused.status).toBe(401);
  expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("disabled");

  const audit = await t.json("/api/v1/audit-log");
  expect(audit.body.items.map((e: { action: string }) => e.action)).toContain("user.update");
  expect(JSON.stringify(audit.body)).not.toContain("new-password-1");
});

test("the last active admin cannot be demoted or disabled", async () => {
  const users = await t.json("/api/v1/users");
  const admin = users.body.items.find((u: { username: string }) => u.username === "admin");
  const res = await t.json(`/api/v1/users/${admin.id}`, { method: "PATCH", body: { disabled: true } });
  expect(res.status).toBe(409);
  expect(res.body.error.message).toContain("last active admin");
});

test("two admins demoting each other at once leave exactly one admin (the rule is decided in the write)", async () => {
  for (const change of [{ role: "viewer" }, { disabled: true }]) {
    const a = await t.server.domain.auth.createUser(`a-${Object.keys(change)[0]}`, "a-password", "admin", null);
    const b = await t.server.domain.auth.createUser(`b-${Object.keys(change)[0]}`, "b-password", "admin", null);
    const tokenOf = (u: typeof a) =>
      t.server.domain.auth.createApiToken({ user_id: u.id, username: u.username, role: "admin" }, "t").token;
    // The original admin steps down first, so a and b are the last two.
    const admin = (await t.json("/api/v1/users")).body.items.find((u: { username: string }) => u.username === "admin");
    await t.json(`/api/v1/users/${admin.id}`, { method: "PATCH", body: { role: "viewer" }, token: tokenOf(a) });
    // Each also resets the other's password: the hash takes ~50 ms, the window the race needed.
    const [ab, ba] = await Promise.all([
      t.json(`/api/v1/users/${b.id}`, {
        method: "PATCH",
        body: { ...change, password: "new-b-pass" },
        token: tokenOf(a),
      }),
      t.json(`/api/v1/users/${a.id}`, {
        method: "PATCH",
        body: { ...change, password: "new-a-pass" },
        token: tokenOf(b),
      }),
    ]);
    expect([ab.status, ba.status].sort()).toEqual([200, 409]);
    expect((ab.status === 409 ? ab : ba).body.error.message).toContain("last active admin");
    const active = t.server.store.listUsers().filter((u) => u.role === "admin" && !u.disabled_at);
    expect(active.map((u) => u.id)).toEqual([ab.status === 200 ? a.id : b.id]);
    // Make the next round's pair the only admins again.
    t.server.store.setRole(admin.id, "admin");
    for (const u of [a, b]) t.server.store.setRole(u.id, "viewer");
  }
});

test("an admin demoted while their request was in flight cannot finish it as an admin", async () => {
  const a = await t.server.domain.auth.createUser("a", "a-password", "admin", null);
  const actor = { user_id: a.id, username: "a", role: "admin" as const };
  // a's request has passed the role check and is hashing the new user's password...
  const pending = t.server.domain.auth.createUser("c", "c-password", "admin", actor);
  // ...when the other admin demotes a (no password in it, so it is written before that hash ends).
  const admin = t.server.store.userByName("admin");
  await t.server.domain.auth.updateUser({ user_id: admin?.id ?? "", username: "admin", role: "admin" }, a.id, {
    role: "viewer",
  });
  await expect(pending).rejects.toThrow("needs the admin role; your role is viewer");
  expect(t.server.store.userByName("c")).toBeNull();
});

test("viewers cannot list users or read the audit log", async () => {
  const viewer = await t.server.domain.auth.createUser("watcher", "viewer-password", "viewer", null);
  const token = t.server.domain.auth.createApiToken(
    { user_id: viewer.id, username: "watcher", role: "viewer" },
    "ro",
  ).token;
  expect((await t.json("/api/v1/users", { token })).status).toBe(403);
  expect((await t.json("/api/v1/audit-log", { token })).status).toBe(403);
  // Other reads still work for viewers.
  expect((await t.json("/api/v1/hosts", { token })).status).toBe(200);
});

test("the web UI is served with a strict CSP and revalidation", async () => {
  const res = await t.api("/", { token: null });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/html");
  expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
  const etag = res.headers.get("etag") ?? "";
  const again = await t.api("/", { token: null, headers: { "If-None-Match": etag } });
  expect(again.status).toBe(304);
  const js = await t.api("/assets/app.js", { token: null });
  expect(js.headers.get("content-type")).toContain("javascript");
});
