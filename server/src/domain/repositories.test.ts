import { expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { silentLogger } from "../log.ts";
import { openDatabase } from "../store/db.ts";
import { createStore } from "../store/store.ts";
import { type AgentLink, domainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import { EventBus } from "./events.ts";
import { createRepositories } from "./repositories.ts";
import { createSecretBox } from "./secrets.ts";
import type { Store } from "./store.ts";

const admin = { user_id: "u1", username: "admin", role: "admin" as const };
const agents: AgentLink = { send: () => false, isConnected: () => false, isSecure: () => true, close() {} };

/**
 * The domain over the real SQLite store, but whose `repositoryUsers` names what `users` holds:
 * no resource can use a repository yet (policies will), so the test stands in for them there,
 * the one seam they will plug into.
 */
function setup(users: Map<string, string[]>) {
  const real = createStore(openDatabase(":memory:"));
  const store: Store = { ...real, repositoryUsers: (id) => users.get(id) ?? [] };
  const repositories = createRepositories(
    domainContext({
      store,
      clock: new ManualClock("2026-12-01T12:00:00Z"),
      agents,
      events: new EventBus(),
      secrets: createSecretBox(new Uint8Array(32)),
      log: silentLogger,
    }),
  );
  return { store, repositories };
}

test("a repository in use is not deleted: 409 naming every user, nothing removed, nothing audited", () => {
  const users = new Map<string, string[]>();
  const { store, repositories } = setup(users);
  const r = repositories.create(admin, { name: "offsite", url: "s3:https://s3.example/{host}" });
  repositories.resolveForHost(r.id, { id: "h1", name: "web-01", restic_host: "web-01" });
  users.set(r.id, ["policy db-servers", "policy web-servers"]);
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
  expect(store.listAudit(10, null).map((e) => e.action)).toEqual(["repository.create"]);

  // Once nothing uses it, it goes.
  users.delete(r.id);
  repositories.remove(admin, r.id);
  expect(store.repositoryById(r.id)).toBeNull();
});

test("repositoryUsers of an unknown repository is a 404, not an empty list", () => {
  const { repositories } = setup(new Map());
  expect(() => repositories.repositoryUsers("repo_x")).toThrow("repository repo_x not found");
});

test("secrets are sealed in the store, and a host's generated password is made once", () => {
  const { store, repositories } = setup(new Map());
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
