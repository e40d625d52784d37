import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { TEST_ANSWER_TIMEOUT_MS } from "../domain/repository-test.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Test connection (POST /repositories/:id/test) against the real server on a loopback port, with
// TestAgent (a real WebSocket client) answering repo.test as an agent of protocol 8 would.

const PASSWORD = "shared-password-4b1d";
const SECRET = "aws-secret-key-8c2e";
let t: TestServer;
let agents: TestAgent[];

beforeEach(async () => {
  t = await startTestServer();
  agents = [];
});
afterEach(async () => {
  for (const a of agents) a.close();
  await t.close();
});

/** An S3 repository handed to every host by a policy. */
async function repository(): Promise<string> {
  const r = await t.json("/api/v1/repositories", {
    method: "POST",
    body: {
      name: "offsite",
      url: "s3:https://s3.example.com/backups/{host}",
      password: PASSWORD,
      env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET },
    },
  });
  expect(r.status).toBe(201);
  const p = await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "all", selector: {}, repository_id: r.body.id, schedules: [], enabled: true },
  });
  expect(p.status).toBe(201);
  return r.body.id;
}

async function host(name: string, protocol = 8) {
  const h = await t.enroll(name);
  const agent = await TestAgent.connect(t.url, h.agent_token);
  agents.push(agent);
  await agent.hello(protocol, { hostname: name, resticHost: name });
  return { id: h.host_id as string, agent };
}

describe("POST /repositories/:id/test", () => {
  test("the host's agent tests the server's settings for it and the four results come back", async () => {
    const id = await repository();
    const a = await host("web-01");
    // A protocol 8 agent is sent the variables whole in config.update too.
    const config = await a.agent.next("config.update");
    expect(config.payload.repo_env).toEqual({ AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET });

    const pending = t.json(`/api/v1/repositories/${id}/test`, { method: "POST", body: { host_id: a.id } });
    const ask = await a.agent.next("repo.test");
    expect(ask.payload).toMatchObject({
      repo_url: "s3:https://s3.example.com/backups/web-01",
      repo_password: PASSWORD,
      repo_env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET },
    });
    a.agent.send("repo.tested", {
      request_id: ask.payload.request_id,
      reachable: true,
      initialised: true,
      password_ok: false,
      // An agent that forgot to redact: the server masks what it sent, too.
      error: `Fatal: wrong password or no key found (tried ${PASSWORD} with ${SECRET})`,
    });
    const r = await pending;
    expect(r).toEqual({
      status: 200,
      body: {
        host_id: a.id,
        reachable: true,
        initialised: true,
        password_ok: false,
        locks: null,
        error: "Fatal: wrong password or no key found (tried *** with ***)",
      },
    });
    const audit = await t.json("/api/v1/audit-log");
    const line = audit.body.items.find((e: { action: string }) => e.action === "repository.test");
    expect(line).toMatchObject({ target: id });
    expect(JSON.stringify(audit.body)).not.toContain(SECRET);
  });

  test("the hosts that use it are listed online first, for the picker", async () => {
    const id = await repository();
    await t.enroll("web-a"); // never connects
    await host("web-b");
    const r = await t.json(`/api/v1/repositories/${id}/hosts`);
    expect(r.status).toBe(200);
    expect(r.body.items.map((h: { name: string; online: boolean }) => [h.name, h.online])).toEqual([
      ["web-b", true],
      ["web-a", false],
    ]);
  });

  test("an unknown host is 404, an offline one or an agent before protocol 8 is 409 naming its version", async () => {
    const id = await repository();
    const unknown = await t.json(`/api/v1/repositories/${id}/test`, { method: "POST", body: { host_id: "host_nope" } });
    expect(unknown).toMatchObject({ status: 404, body: { error: { path: "host_id" } } });
    const old = await host("web-old", 7);
    // A protocol 7 agent gets the key pair the old way instead of repo_env.
    const config = await old.agent.next("config.update");
    expect(config.payload).toMatchObject({ repo_username: "AKIAEXAMPLE", repo_credential: SECRET });
    expect(config.payload.repo_env).toBeUndefined();
    const r = await t.json(`/api/v1/repositories/${id}/test`, { method: "POST", body: { host_id: old.id } });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain(
      "speaks protocol 7, too old for testing a repository (protocol 8): upgrade the agent",
    );
    const off = await t.enroll("web-off");
    const o = await t.json(`/api/v1/repositories/${id}/test`, { method: "POST", body: { host_id: off.host_id } });
    expect(o.status).toBe(409);
    expect(o.body.error.message).toContain("is offline");
    expect(old.agent.of("repo.test")).toEqual([]);
  });

  test("an agent that never answers fails the test with 504 after 60 s", async () => {
    const id = await repository();
    const a = await host("web-01");
    const pending = t.json(`/api/v1/repositories/${id}/test`, { method: "POST", body: { host_id: a.id } });
    await a.agent.next("repo.test");
    t.clock.advance(TEST_ANSWER_TIMEOUT_MS + 1);
    t.server.domain.repositoryTest.sweep();
    const r = await pending;
    expect(r.status).toBe(504);
    expect(r.body.error.message).toContain("did not answer the test within 60 s");
  });

  test("the agent going away fails the test with 502", async () => {
    const id = await repository();
    const a = await host("web-01");
    const pending = t.json(`/api/v1/repositories/${id}/test`, { method: "POST", body: { host_id: a.id } });
    await a.agent.next("repo.test");
    a.agent.close();
    const r = await pending;
    expect(r.status).toBe(502);
    expect(r.body.error.message).toContain("went away during the test");
  });
});
