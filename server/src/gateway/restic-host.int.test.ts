import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

/** On the server, restic_host is fixed at enrollment and scopes the mirror and restores in a shared repository. */

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

const ID = (c: string) => c.repeat(64);
const snap = (id: string, hostname: string) => ({
  id,
  short_id: id.slice(0, 8),
  time: "2026-12-01T02:00:00Z",
  hostname,
  paths: ["/srv"],
});

async function withRepo(hostId: string, repo_url = "/srv/shared-repo") {
  const r = await t.json(`/api/v1/hosts/${hostId}/config`, { method: "PUT", body: { repo_url, repo_password: "pw" } });
  expect(r.status).toBe(200);
}

describe("restic_host", () => {
  test("is the name the host enrolled with, and a rename does not change it", async () => {
    const h = await t.enroll("web-a");
    expect((await t.json(`/api/v1/hosts/${h.host_id}`)).body).toMatchObject({ name: "web-a", restic_host: "web-a" });
    const renamed = await t.json(`/api/v1/hosts/${h.host_id}`, { method: "PATCH", body: { name: "Web A (prod)" } });
    expect(renamed.body).toMatchObject({ name: "Web A (prod)", restic_host: "web-a" });
    const list = await t.json("/api/v1/hosts");
    expect(list.body.items[0].restic_host).toBe("web-a");
  });

  test("an enrollment name restic would misread as a flag or list is refused, naming the field", async () => {
    const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 3 } });
    for (const hostname of ["-rf", "a,b"]) {
      const r = await t.json("/api/v1/agent/enroll", {
        method: "POST",
        body: { token: tok.body.token, hostname },
        token: null,
      });
      expect(r.status).toBe(400);
      expect(r.body.error.path).toBe("hostname");
    }
  });

  test("a protocol 2 agent reports its own; the machine's hostname is kept beside it", async () => {
    const h = await t.enroll("web-a");
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(2, { hostname: "box", resticHost: "web-a" });
    const host = await t.json(`/api/v1/hosts/${h.host_id}`);
    expect(host.body).toMatchObject({ hostname: "box", restic_host: "web-a", protocol_version: 2 });
    agent.close();
  });

  test("a protocol 1 agent is still served, and its restic_host is the machine's hostname its restic writes", async () => {
    const h = await t.enroll("web-a");
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(1, { hostname: "box" });
    expect(agent.of("config.update")).toHaveLength(1);
    const host = await t.json(`/api/v1/hosts/${h.host_id}`);
    expect(host.body).toMatchObject({ hostname: "box", restic_host: "box", protocol_version: 1 });

    // Its snapshot report lists every host of the shared repository: the mirror keeps its own.
    const id = agent.send("snapshots.report", { snapshots: [snap(ID("a"), "box"), snap(ID("b"), "web-b")] });
    await agent.acked(id);
    const snaps = await t.json(`/api/v1/hosts/${h.host_id}/snapshots`);
    expect(snaps.body.items.map((s: { hostname: string }) => s.hostname)).toEqual(["box"]);
    agent.close();
  });

  test("a restore of another host's snapshot: source_host_id becomes that host's restic host name", async () => {
    const a = await t.enroll("web-a");
    const b = await t.enroll("web-b");
    await withRepo(a.host_id);
    await withRepo(b.host_id);
    const agent = await TestAgent.connect(t.url, a.agent_token);
    await agent.hello(2, { resticHost: "web-a" });
    const spec = { snapshot_id: "latest", target: "/srv/restore" };

    const r = await t.json(`/api/v1/hosts/${a.host_id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { ...spec, source_host_id: b.host_id } },
    });
    expect(r.status).toBe(201);
    const run = await agent.next("command.run");
    expect(run.payload.spec).toEqual({ ...spec, source_host: "web-b" });

    // Its own snapshots: no source host on the wire.
    await t.json(`/api/v1/hosts/${a.host_id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { ...spec, source_host_id: a.host_id } },
    });
    expect((await agent.next("command.run", 1)).payload.spec).toEqual(spec);

    const unknown = await t.json(`/api/v1/hosts/${a.host_id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { ...spec, source_host_id: "host_nope" } },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.path).toBe("spec.source_host_id");

    // The wire's own field is not an API field: refused by name, never trusted.
    const wire = await t.json(`/api/v1/hosts/${a.host_id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { ...spec, source_host: "web-z" } },
    });
    expect(wire.status).toBe(400);
    expect(wire.body.error.path).toBe("spec.source_host");
    agent.close();
  });

  test("another repository, or an agent too old to honour it, is a conflict", async () => {
    const a = await t.enroll("web-a");
    const b = await t.enroll("web-b");
    const c = await t.enroll("web-c");
    await withRepo(a.host_id);
    await withRepo(b.host_id, "/srv/other-repo");
    const spec = { snapshot_id: "latest", target: "/srv/restore" };
    const other = await t.json(`/api/v1/hosts/${a.host_id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { ...spec, source_host_id: b.host_id } },
    });
    expect(other.status).toBe(409);
    expect(other.body.error.message).toContain("another repository");

    const old = await TestAgent.connect(t.url, c.agent_token);
    await old.hello(1);
    const tooOld = await t.json(`/api/v1/hosts/${c.host_id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { ...spec, source_host_id: a.host_id } },
    });
    expect(tooOld.status).toBe(409);
    expect(tooOld.body.error.message).toContain("upgrade it");
    old.close();
  });
});
