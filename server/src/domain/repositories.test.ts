import { expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { silentLogger } from "../log.ts";
import { openDatabase } from "../store/db.ts";
import { createStore } from "../store/store.ts";
import type { AgentLink } from "./deps.ts";
import { createDomain } from "./domain.ts";
import { DomainError } from "./errors.ts";
import { EventBus } from "./events.ts";
import { createSecretBox } from "./secrets.ts";

const admin = { user_id: "u1", username: "admin", role: "admin" as const };
const agents: AgentLink = { send: () => false, isConnected: () => false, isSecure: () => true, close() {} };

/** The domain over the real SQLite store. */
function setup() {
  const store = createStore(openDatabase(":memory:"));
  const domain = createDomain({
    store,
    clock: new ManualClock("2026-12-01T12:00:00Z"),
    agents,
    events: new EventBus(),
    secrets: createSecretBox(new Uint8Array(32)),
    log: silentLogger,
  });
  return { store, repositories: domain.repositories, policies: domain.policies };
}

test("a repository in use is not deleted: 409 naming every policy, nothing removed, nothing audited", () => {
  const { store, repositories, policies } = setup();
  const r = repositories.create(admin, { name: "offsite", url: "s3:https://s3.example/{host}" });
  repositories.resolveForHost(r.id, { id: "h1", name: "web-01", restic_host: "web-01" });
  const web = policies.create(admin, { name: "web-servers", repository_id: r.id });
  const db = policies.create(admin, { name: "db-servers", selector: { labels: { role: "db" } }, repository_id: r.id });
  expect(repositories.repositoryUsers(r.id)).toEqual(["policy db-servers", "policy web-servers"]);

  let err: unknown;
  try {
    repositories.remove(admin, r.id);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe("conflict");
  expect((err as DomainError).message).toBe('repository "offsite" is in use by policy db-servers, policy web-servers');
  expect(store.repositoryById(r.id)).not.toBeNull();
  expect(store.repositoryHostSecrets(r.id)).toHaveLength(1);
  expect(store.listAudit(10, null).map((e) => e.action)).not.toContain("repository.delete");

  // Once nothing uses it, it goes.
  policies.update(admin, web.id, { repository_id: null });
  policies.remove(admin, db.id);
  repositories.remove(admin, r.id);
  expect(store.repositoryById(r.id)).toBeNull();
});

test("repositoryUsers of an unknown repository is a 404, not an empty list", () => {
  const { repositories } = setup();
  expect(() => repositories.repositoryUsers("repo_x")).toThrow("repository repo_x not found");
});

test("secrets are sealed in the store, and a host's generated password is made once", () => {
  const { store, repositories } = setup();
  const r = repositories.create(admin, {
    name: "nas",
    url: "/srv/restic/{host}",
    username: "u",
    credential: "cred-plain",
    password: "pw-plain",
  });
  const row = store.repositoryById(r.id);
  expect(row?.password_enc).toStartWith("v1:");
  expect(JSON.stringify(row)).not.toContain("pw-plain");
  expect(JSON.stringify(row)).not.toContain("cred-plain");
  repositories.update(admin, r.id, { password: "" });
  const host = { id: "h1", name: "web-01", restic_host: "web-01" };
  const first = repositories.resolveForHost(r.id, host).repo_password;
  // A later name change of the host does not change its password.
  expect(repositories.resolveForHost(r.id, { ...host, restic_host: "web-01b" })).toMatchObject({
    repo_url: "/srv/restic/web-01b",
    repo_password: first,
  });
  const secrets = store.repositoryHostSecrets(r.id);
  expect(secrets).toHaveLength(1);
  expect(secrets[0]?.password_enc).toStartWith("v1:");
  expect(secrets[0]?.password_enc).not.toContain(first);
});
