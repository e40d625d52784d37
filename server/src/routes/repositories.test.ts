import { beforeEach, describe, expect, test } from "bun:test";
import { actorOf } from "../domain/auth.ts";
import { memoryApp } from "../testing/memory-app.ts";

// /api/v1/repositories through `app.request` (no port): shared and {host} repositories, their
// write-only secrets, the admin-only key export, and the errors that name the field.

let t: Awaited<ReturnType<typeof memoryApp>>;
beforeEach(async () => {
  t = await memoryApp();
});

const SHARED_PASSWORD = "correct-horse-battery-staple";
const CREDENTIAL = "s3-secret-access-key-0123";
const shared = { name: "nas", url: "rest:https://backup:rest-pass@nas.lan/fleet", password: SHARED_PASSWORD };
const template = {
  name: "offsite",
  url: "s3:https://s3.example/backups/{host}",
  username: "AKIAEXAMPLE",
  credential: CREDENTIAL,
  auto_init: true,
};

const audit = async () => (await t.call("GET", "/audit-log")).body.items as Array<Record<string, unknown>>;
const hostOf = (id: string) => {
  const h = t.domain.hosts.get(id);
  return { id: h.id, name: h.name, restic_host: h.restic_host };
};
const enroll = (hostname: string) => {
  const e = t.domain.auth.createEnrollmentToken(null, { uses: 1, expiresInMs: 3_600_000 });
  return t.domain.auth.enroll(e.token, hostname).host_id;
};

describe("create", () => {
  test("a shared repository answers 201 without its secrets, and is listed and read back the same", async () => {
    const r = await t.call("POST", "/repositories", { ...shared, credential: CREDENTIAL });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^repo_[0-9a-f]{20}$/),
      name: "nas",
      url: "rest:https://***@nas.lan/fleet",
      username: null,
      has_password: true,
      has_credential: true,
      env: {},
      secret_env: [],
      auto_init: false,
      templated: false,
      created_at: "2026-12-01T12:00:00.000Z",
      updated_at: "2026-12-01T12:00:00.000Z",
      last_check: null,
      last_prune: null,
    });
    const list = await t.call("GET", "/repositories");
    expect(list.body).toEqual({ items: [r.body], next_cursor: null });
    const one = await t.call("GET", `/repositories/${r.body.id}`);
    expect(one.body).toEqual(r.body);
    for (const body of [r.body, list.body, one.body, await audit()]) {
      const text = JSON.stringify(body);
      for (const secret of [SHARED_PASSWORD, CREDENTIAL, "rest-pass"]) expect(text).not.toContain(secret);
    }
    // The audit holds the definition; the last check among its hosts is a fact of the view only.
    const { last_check: _, last_prune: __, ...definition } = r.body;
    expect((await audit())[0]).toMatchObject({
      action: "repository.create",
      target: r.body.id,
      detail: { after: definition },
    });
  });

  test("a shared repository needs a password", async () => {
    for (const body of [
      { ...shared, password: undefined },
      { ...shared, password: "" },
    ]) {
      const r = await t.call("POST", "/repositories", body);
      expect({ status: r.status, path: r.body.error.path }).toEqual({ status: 400, path: "password" });
      expect(r.body.error.message).toContain("{host}");
    }
    expect((await t.call("GET", "/repositories")).body.items).toEqual([]);
  });

  test("a {host} template without a password is allowed and says templated", async () => {
    const r = await t.call("POST", "/repositories", template);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      url: template.url,
      username: "AKIAEXAMPLE",
      has_password: false,
      has_credential: true,
      auto_init: true,
      templated: true,
    });
  });

  test("a duplicate name answers 409 naming `name`, whatever its case", async () => {
    expect((await t.call("POST", "/repositories", shared)).status).toBe(201);
    const r = await t.call("POST", "/repositories", { ...template, name: "NAS" });
    expect({ status: r.status, path: r.body.error.path }).toEqual({ status: 409, path: "name" });
    expect((await t.call("GET", "/repositories")).body.items).toHaveLength(1);
  });

  test("bad input answers 400 naming the field, and stores nothing", async () => {
    const refused = async (body: unknown, path: string, text: string) => {
      const r = await t.call("POST", "/repositories", body);
      expect({ status: r.status, path: r.body?.error?.path }).toEqual({ status: 400, path });
      expect(r.body.error.message).toContain(text);
    };
    await refused({ ...shared, pasword: "x" }, "pasword", "unknown field");
    await refused({ ...shared, url: "" }, "url", "empty");
    await refused({ ...shared, url: "   " }, "url", "empty");
    await refused({ ...template, url: "s3:https://s3.example/{hostname}" }, "url", "{host}");
    await refused({ ...template, url: "s3:https://s3.example/{HOST}" }, "url", "{host}");
    await refused({ ...template, url: "s3:https://s3.example/{host" }, "url", "{host}");
    await refused({ ...shared, name: "" }, "name", "1-100");
    await refused({ ...shared, name: 7 }, "name", "");
    await refused({ ...shared, auto_init: "yes" }, "auto_init", "");
    await refused({ url: "/srv/restic", password: "x" }, "name", "");
    expect((await t.call("GET", "/repositories")).body.items).toEqual([]);
  });
});

describe("generated per-host passwords", () => {
  test("each host of a template gets its own strong password, made once and stable, never shown", async () => {
    const id = (await t.call("POST", "/repositories", template)).body.id;
    const other = enroll("db-01");
    const a1 = t.domain.repositories.resolveForHost(id, hostOf(t.hostId));
    const a2 = t.domain.repositories.resolveForHost(id, hostOf(t.hostId));
    const b = t.domain.repositories.resolveForHost(id, hostOf(other));
    expect(a1).toEqual({
      repo_url: "s3:https://s3.example/backups/web-01",
      repo_password: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), // 32 bytes, base64url
      repo_username: "AKIAEXAMPLE",
      repo_credential: CREDENTIAL,
      auto_init: true,
    });
    expect(a2).toEqual(a1);
    expect(b.repo_url).toBe("s3:https://s3.example/backups/db-01");
    expect(b.repo_password).not.toBe(a1.repo_password);
    // Not in the repository's reads, nor in the audit log.
    const seen = JSON.stringify([
      (await t.call("GET", "/repositories")).body,
      (await t.call("GET", `/repositories/${id}`)).body,
      await audit(),
    ]);
    for (const secret of [a1.repo_password, b.repo_password, CREDENTIAL]) expect(seen).not.toContain(secret);
  });

  test("a template with its own password gives every host that one; a shared repository its url as is", async () => {
    const fixed = (await t.call("POST", "/repositories", { ...template, password: "one-for-all" })).body.id;
    const other = enroll("db-01");
    expect(t.domain.repositories.resolveForHost(fixed, hostOf(other)).repo_password).toBe("one-for-all");
    const nas = (await t.call("POST", "/repositories", shared)).body.id;
    expect(t.domain.repositories.resolveForHost(nas, hostOf(other))).toEqual({
      repo_url: shared.url,
      repo_password: SHARED_PASSWORD,
      auto_init: false,
    });
  });

  test("a restic host name that could leave its {host} segment is refused, never put in the url", async () => {
    const id = (await t.call("POST", "/repositories", template)).body.id;
    for (const name of ["../db-01", "a/b", "", ".hidden", "x y"]) {
      expect(() => t.domain.repositories.resolveForHost(id, { id: "host_x", name: "x", restic_host: name })).toThrow(
        "cannot stand for {host}",
      );
    }
  });
});

describe("change and delete", () => {
  test("PATCH changes the given fields; a secret given replaces the old one, and '' clears it", async () => {
    const created = (await t.call("POST", "/repositories", { ...template, password: "first" })).body;
    t.clock.advance(60_000);
    const r = await t.call("PATCH", `/repositories/${created.id}`, { name: "offsite-2", password: "second" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "offsite-2", url: template.url, has_password: true, auto_init: true });
    expect(r.body.updated_at).toBe("2026-12-01T12:01:00.000Z");
    expect(t.domain.repositories.resolveForHost(created.id, hostOf(t.hostId)).repo_password).toBe("second");
    // "" clears: a template then generates per-host passwords.
    const cleared = await t.call("PATCH", `/repositories/${created.id}`, { password: "", username: "" });
    expect(cleared.body).toMatchObject({ has_password: false, username: null, has_credential: true });
    expect(t.domain.repositories.resolveForHost(created.id, hostOf(t.hostId)).repo_password).toHaveLength(43);
    const entry = (await audit()).find((e) => e.action === "repository.update");
    expect(entry?.detail).toMatchObject({
      fields: ["password", "username"],
      before: { has_password: true, username: "AKIAEXAMPLE" },
      after: { has_password: false, username: null },
    });
    expect(JSON.stringify(await audit())).not.toContain("second");
  });

  test("PATCH keeps the rules: a shared url needs a password, names stay unique, unknown fields are refused", async () => {
    const id = (await t.call("POST", "/repositories", template)).body.id;
    await t.call("POST", "/repositories", shared);
    const path = `/repositories/${id}`;
    const noPassword = await t.call("PATCH", path, { url: "/srv/restic" });
    expect({ status: noPassword.status, path: noPassword.body.error.path }).toEqual({ status: 400, path: "password" });
    const dup = await t.call("PATCH", path, { name: "Nas" });
    expect({ status: dup.status, path: dup.body.error.path }).toEqual({ status: 409, path: "name" });
    const unknown = await t.call("PATCH", path, { urll: "/x" });
    expect({ status: unknown.status, path: unknown.body.error.path }).toEqual({ status: 400, path: "urll" });
    expect((await t.call("GET", path)).body).toMatchObject({ name: "offsite", url: template.url });
    const ok = await t.call("PATCH", path, { url: "/srv/restic", password: "now-shared" });
    expect(ok.body).toMatchObject({ templated: false, has_password: true });
    // Renaming to its own name in another case is not a conflict with itself.
    expect((await t.call("PATCH", path, { name: "OFFSITE" })).status).toBe(200);
  });

  test("DELETE answers 204 and audits it; the repository and its generated passwords are gone", async () => {
    const id = (await t.call("POST", "/repositories", template)).body.id;
    t.domain.repositories.resolveForHost(id, hostOf(t.hostId));
    expect((await t.call("DELETE", `/repositories/${id}`)).status).toBe(204);
    expect((await t.call("GET", `/repositories/${id}`)).status).toBe(404);
    expect((await t.call("DELETE", `/repositories/${id}`)).status).toBe(404);
    expect((await t.call("GET", `/repositories/${id}/keys`)).status).toBe(404);
    expect((await audit()).find((e) => e.action === "repository.delete")).toMatchObject({
      target: id,
      detail: { before: { name: "offsite" }, generated_passwords: 1 },
    });
  });
});

describe("key export", () => {
  test("gives an admin every password in clear, per host for a template, and is audited without them", async () => {
    const id = (await t.call("POST", "/repositories", template)).body.id;
    const other = enroll("db-01");
    const web = t.domain.repositories.resolveForHost(id, hostOf(t.hostId));
    const db = t.domain.repositories.resolveForHost(id, hostOf(other));
    const r = await t.call("GET", `/repositories/${id}/keys`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      repository_id: id,
      name: "offsite",
      url: template.url,
      templated: true,
      username: "AKIAEXAMPLE",
      password: null,
      credential: CREDENTIAL,
      env: {},
      hosts: [
        { host_id: other, host_name: "db-01", restic_host: "db-01", repo_url: db.repo_url, password: db.repo_password },
        {
          host_id: t.hostId,
          host_name: "web-01",
          restic_host: "web-01",
          repo_url: web.repo_url,
          password: web.repo_password,
        },
      ],
    });
    const entry = (await audit()).find((e) => e.action === "repository.keys_export");
    expect(entry).toMatchObject({ target: id, actor_name: "admin", detail: { name: "offsite", host_passwords: 2 } });
    const log = JSON.stringify(await audit());
    for (const secret of [web.repo_password, db.repo_password, CREDENTIAL]) expect(log).not.toContain(secret);
  });

  test("a shared repository's export holds its password and full url; a revoked host's password stays", async () => {
    const nas = (await t.call("POST", "/repositories", shared)).body.id;
    expect((await t.call("GET", `/repositories/${nas}/keys`)).body).toMatchObject({
      url: shared.url,
      templated: false,
      password: SHARED_PASSWORD,
      hosts: [],
    });
    const id = (await t.call("POST", "/repositories", template)).body.id;
    const web = t.domain.repositories.resolveForHost(id, hostOf(t.hostId));
    expect((await t.call("DELETE", `/hosts/${t.hostId}`)).status).toBe(204);
    expect((await t.call("GET", `/repositories/${id}/keys`)).body.hosts).toEqual([
      {
        host_id: t.hostId,
        host_name: "web-01",
        restic_host: "web-01",
        repo_url: web.repo_url,
        password: web.repo_password,
      },
    ]);
  });
});

test("a viewer reads repositories but cannot change them or export their keys (403)", async () => {
  const id = (await t.call("POST", "/repositories", shared)).body.id;
  const viewer = await t.domain.auth.createUser("watcher", "viewer-password", "viewer", null);
  const token = t.domain.auth.createApiToken(actorOf(viewer), "ro").token;
  const as = async (method: string, path: string, body?: unknown) => {
    const res = await t.app.request(`/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, text: await res.text() };
  };
  expect((await as("GET", "/repositories")).status).toBe(200);
  expect((await as("GET", `/repositories/${id}`)).status).toBe(200);
  expect((await as("POST", "/repositories", { ...shared, name: "other" })).status).toBe(403);
  expect((await as("PATCH", `/repositories/${id}`, { name: "x" })).status).toBe(403);
  expect((await as("DELETE", `/repositories/${id}`)).status).toBe(403);
  const keys = await as("GET", `/repositories/${id}/keys`);
  expect(keys.status).toBe(403);
  expect(keys.text).not.toContain(SHARED_PASSWORD);
  expect((await t.call("GET", `/repositories/${id}`)).body.name).toBe("nas");
  expect((await audit()).map((e) => e.action)).not.toContain("repository.keys_export");
});
