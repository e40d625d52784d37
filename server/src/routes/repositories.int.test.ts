import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DATABASE_FILE } from "../store/db.ts";
import { startTestServer, type TestServer } from "../testing/harness.ts";

// The real server over a data directory: repository secrets are sealed on disk, and a host's
// generated password is the same after a restart (the key export reads it back).

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

/** Every byte of the database, its WAL included (a fresh write may sit only there). */
function databaseBytes(): string {
  const file = join(t.dataDir, DATABASE_FILE);
  return [file, `${file}-wal`]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString("latin1"))
    .join("");
}

test("secrets never reach the disk in clear, and generated passwords survive a restart", async () => {
  const host = await t.enroll("web-01");
  const created = await t.json("/api/v1/repositories", {
    method: "POST",
    body: {
      name: "offsite",
      url: "s3:https://s3.example/backups/{host}",
      username: "AKIAEXAMPLE",
      credential: "credential-in-clear-7f3a",
      auto_init: true,
    },
  });
  expect(created.status).toBe(201);
  const shared = await t.json("/api/v1/repositories", {
    method: "POST",
    body: { name: "nas", url: "/srv/restic", password: "password-in-clear-91c2" },
  });
  expect(shared.status).toBe(201);
  const h = t.server.domain.hosts.get(host.host_id);
  const generated = t.server.domain.repositories.resolveForHost(created.body.id, h).repo_password;

  const disk = databaseBytes();
  for (const secret of ["credential-in-clear-7f3a", "password-in-clear-91c2", generated]) {
    expect(disk).not.toContain(secret);
  }

  await t.restart();
  expect(t.server.domain.repositories.resolveForHost(created.body.id, h).repo_password).toBe(generated);
  const keys = await t.json(`/api/v1/repositories/${created.body.id}/keys`);
  expect(keys.body.hosts).toEqual([
    {
      host_id: host.host_id,
      host_name: "web-01",
      restic_host: "web-01",
      repo_url: "s3:https://s3.example/backups/web-01",
      password: generated,
    },
  ]);
  expect((await t.json(`/api/v1/repositories/${shared.body.id}/keys`)).body.password).toBe("password-in-clear-91c2");
});
