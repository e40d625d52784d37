import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Labels end to end on the real server (loopback, real SQLite file): a labelled enrollment token,
// agents enrolling and saying hello with it, the host list filtered by label, tokens listed and
// revoked, and the labels still there after a restart.

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

const enrollWith = (token: string, hostname: string) =>
  t.json("/api/v1/agent/enroll", { method: "POST", body: { token, hostname }, token: null });

test("a host enrolled with a labelled token has its labels; its agent cannot change them; the list filters by them", async () => {
  const prod = await t.json("/api/v1/enrollment-tokens", {
    method: "POST",
    body: { uses: 2, expires_in: "1h", labels: { env: "prod", role: "db" } },
  });
  expect(prod.status).toBe(201);
  const a = await enrollWith(prod.body.token, "db-01");
  const b = await enrollWith(prod.body.token, "db-02");
  expect([a.status, b.status]).toEqual([201, 201]);
  const plain = await t.enroll("web-01");

  // The agent connects and says hello: the labels stay the token's.
  const agent = await TestAgent.connect(t.url, a.body.agent_token);
  await agent.hello(4, { hostname: "db-01", resticHost: "db-01" });
  const host = await t.json(`/api/v1/hosts/${a.body.host_id}`);
  expect(host.body).toMatchObject({ online: true, labels: { env: "prod", role: "db" } });
  agent.close();

  const names = async (q: string) =>
    ((await t.json(`/api/v1/hosts${q}`)).body.items as { name: string }[]).map((h) => h.name).sort();
  expect(await names("")).toEqual(["db-01", "db-02", "web-01"]);
  expect(await names("?label=env=prod")).toEqual(["db-01", "db-02"]);
  expect(await names("?label=env=prod&label=role=db")).toEqual(["db-01", "db-02"]);
  expect(await names("?label=role=web")).toEqual([]);

  // An admin relabels one; the filter follows.
  const patched = await t.json(`/api/v1/hosts/${plain.host_id}`, {
    method: "PATCH",
    body: { labels: { env: "prod", role: "web" } },
  });
  expect(patched.body.labels).toEqual({ env: "prod", role: "web" });
  expect(await names("?label=role=web")).toEqual(["web-01"]);
  expect(await names("?label=env=prod")).toEqual(["db-01", "db-02", "web-01"]);
  const bad = await t.json("/api/v1/hosts?label=role");
  expect({ status: bad.status, path: bad.body.error.path }).toEqual({ status: 400, path: "label" });

  // Durable: the same after a restart.
  await t.restart();
  expect(await names("?label=role=db")).toEqual(["db-01", "db-02"]);
  expect((await t.json(`/api/v1/hosts/${plain.host_id}`)).body.labels).toEqual({ env: "prod", role: "web" });
});

test("tokens are listed without their secret, and a revoked one enrolls no more hosts", async () => {
  const made = await t.json("/api/v1/enrollment-tokens", {
    method: "POST",
    body: { uses: 5, labels: { site: "fra-1" } },
  });
  const first = await enrollWith(made.body.token, "fra-01");
  expect(first.status).toBe(201);

  const list = await t.json("/api/v1/enrollment-tokens");
  expect(list.status).toBe(200);
  const row = list.body.items.find((x: { id: string }) => x.id === made.body.id);
  expect(row).toEqual({
    id: made.body.id,
    labels: { site: "fra-1" },
    uses: 5,
    uses_left: 4,
    expires_at: made.body.expires_at,
    created_by: expect.stringMatching(/^usr_/),
    created_at: made.body.created_at,
    revoked_at: null,
  });
  expect(JSON.stringify(list.body)).not.toContain(made.body.token);

  const revoked = await t.api(`/api/v1/enrollment-tokens/${made.body.id}`, { method: "DELETE" });
  expect(revoked.status).toBe(204);
  const again = await enrollWith(made.body.token, "fra-02");
  expect(again.status).toBe(401);
  expect(again.body.error.message).toContain("revoked");
  const after = (await t.json("/api/v1/enrollment-tokens")).body.items.find(
    (x: { id: string }) => x.id === made.body.id,
  );
  expect(after).toMatchObject({ uses_left: 4, revoked_at: expect.any(String) });
  // The host enrolled before the revoke keeps working, with its labels.
  expect((await t.json(`/api/v1/hosts/${first.body.host_id}`)).body.labels).toEqual({ site: "fra-1" });
  const audit = (await t.json("/api/v1/audit-log")).body.items.map((e: { action: string }) => e.action);
  expect(audit).toContain("enrollment_token.revoke");
  expect(audit).toContain("enrollment_token.create");
});
