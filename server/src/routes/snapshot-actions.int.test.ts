import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Snapshot actions against the real server on a loopback port, with TestAgent (a real WebSocket
// client) as the agent: forget one snapshot and edit its tags (jobs, admin, audited, checked
// against the host's own mirror), and compare two (snapshots.diff answered live).

const A1 = "a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4e5e5e5e5f6f6f6f6a7a7a7a7b8b8b8b8";
const A2 = "a2a2a2a2b2b2b2b2c3c3c3c3d4d4d4d4e5e5e5e5f6f6f6f6a7a7a7a7b8b8b8b8";
const B1 = "b1b1b1b1b2b2b2b2c3c3c3c3d4d4d4d4e5e5e5e5f6f6f6f6a7a7a7a7b8b8b8b8";

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

const snap = (id: string, host: string, tags: string[] = []) => ({
  id,
  short_id: id.slice(0, 8),
  time: `2026-12-0${id[1]}T10:00:00Z`,
  hostname: host,
  paths: ["/srv"],
  tags,
});

/** Two hosts of one repository, online; each reported its own snapshots (its mirror). */
async function twoHosts(protocol = 8) {
  const out: Array<{ id: string; agent: TestAgent }> = [];
  for (const [name, list] of [
    ["web-a", [snap(A1, "web-a", ["fleet-drill"]), snap(A2, "web-a")]],
    ["web-b", [snap(B1, "web-b")]],
  ] as const) {
    const h = await t.enroll(name);
    await t.json(`/api/v1/hosts/${h.host_id}/config`, {
      method: "PUT",
      body: { repo_url: "/srv/repo", repo_password: "pw" },
    });
    const agent = await TestAgent.connect(t.url, h.agent_token);
    agents.push(agent);
    await agent.hello(protocol, { hostname: name, resticHost: name });
    await agent.acked(agent.send("snapshots.report", { snapshots: [...list] }));
    out.push({ id: h.host_id as string, agent });
  }
  return out as [{ id: string; agent: TestAgent }, { id: string; agent: TestAgent }];
}

async function viewerToken(): Promise<string> {
  const user = await t.server.domain.auth.createUser("vera", "viewer-password", "viewer", null);
  return t.server.domain.auth.createApiToken({ user_id: user.id, username: "vera", role: "viewer" }, "tests").token;
}

const lastAudit = async (action: string) =>
  ((await t.json("/api/v1/audit-log")).body.items as Array<{ action: string; target: string; detail: unknown }>).find(
    (e) => e.action === action,
  );

describe("forget one snapshot", () => {
  test("a forget job of the host's own snapshot by id, with no policy, audited; the report updates the list", async () => {
    const [a] = await twoHosts();
    const r = await t.json(`/api/v1/hosts/${a.id}/snapshots/${A2.slice(0, 8)}/forget`, { method: "POST" });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: "forget", spec: { snapshot_ids: [A2] }, host_id: a.id });
    const cmd = await a.agent.next("command.run");
    expect(cmd.payload).toEqual({ job_id: r.body.id, kind: "forget", args: [], spec: { snapshot_ids: [A2] } });
    expect(await lastAudit("snapshot.forget")).toMatchObject({
      target: a.id,
      detail: { snapshot_id: A2, job_id: r.body.id },
    });
    await a.agent.acked(a.agent.send("snapshots.report", { snapshots: [snap(A1, "web-a", ["fleet-drill"])] }));
    const list = (await t.json(`/api/v1/hosts/${a.id}/snapshots`)).body.items.map((s: { id: string }) => s.id);
    expect(list).toEqual([A1]);
  });

  test("another host's snapshot (a shared repository) is refused by the server; nothing is sent", async () => {
    const [a] = await twoHosts();
    const r = await t.json(`/api/v1/hosts/${a.id}/snapshots/${B1}/forget`, { method: "POST" });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toContain("not in the host's snapshot list");
    const bad = await t.json(`/api/v1/hosts/${a.id}/snapshots/latest/forget`, { method: "POST" });
    expect(bad).toMatchObject({ status: 400, body: { error: { path: "snapshot_id" } } });
    expect(a.agent.of("command.run")).toEqual([]);
  });

  test("a viewer may not forget or tag (403); an agent before protocol 8 gets a clear 409", async () => {
    const [a] = await twoHosts(7);
    const token = await viewerToken();
    const v = await t.json(`/api/v1/hosts/${a.id}/snapshots/${A2}/forget`, { method: "POST", token });
    expect(v.status).toBe(403);
    const old = await t.json(`/api/v1/hosts/${a.id}/snapshots/${A2}/forget`, { method: "POST" });
    expect(old.status).toBe(409);
    expect(old.body.error.message).toContain("speaks protocol 7");
    expect(old.body.error.message).toContain("upgrade the agent");
    const oldTag = await t.json(`/api/v1/hosts/${a.id}/snapshots/${A2}/tags`, { method: "POST", body: { add: ["x"] } });
    expect(oldTag.status).toBe(409);
    expect(oldTag.body.error.message).toContain("a tag needs protocol 8");
    const diff = await t.json(`/api/v1/hosts/${a.id}/snapshots/diff?from=${A1}&to=${A2}`);
    expect(diff.status).toBe(409);
    expect(diff.body.error.message).toContain("protocol 7, too old for comparing snapshots (protocol 8)");
    expect(a.agent.of("command.run")).toEqual([]);
  });
});

describe("edit tags", () => {
  test("a tag job with the change, audited; reserved fleet-* tags and mixed set/add are refused by name", async () => {
    const [a] = await twoHosts();
    const r = await t.json(`/api/v1/hosts/${a.id}/snapshots/${A1}/tags`, { method: "POST", body: { set: ["gold"] } });
    expect(r.status).toBe(201);
    const cmd = await a.agent.next("command.run");
    expect(cmd.payload).toEqual({ job_id: r.body.id, kind: "tag", args: [], spec: { snapshot_id: A1, set: ["gold"] } });
    expect((await lastAudit("snapshot.tag"))?.detail).toEqual({ snapshot_id: A1, job_id: r.body.id, set: ["gold"] });
    for (const [body, path, words] of [
      [{ remove: ["fleet-drill"] }, "remove.0", '"fleet-"'],
      [{ set: ["a"], add: ["b"] }, "set", "not both"],
      [{}, "set", "needs set, add or remove"],
      [{ add: ["-x"] }, "add.0", "must not start with '-'"],
      [{ tagz: ["x"] }, "tagz", "unknown field"],
    ] as const) {
      const bad = await t.json(`/api/v1/hosts/${a.id}/snapshots/${A1}/tags`, { method: "POST", body });
      expect(bad.status).toBe(400);
      expect(bad.body.error.path).toBe(path);
      expect(bad.body.error.message).toContain(words);
    }
    // A tag job cannot be scheduled.
    const s = await t.json(`/api/v1/hosts/${a.id}/schedules`, {
      method: "POST",
      body: { kind: "tag", cron_expr: "0 3 * * *" },
    });
    expect(s.status).toBe(400);
    expect(s.body.error.message).toContain("tag cannot be scheduled");
  });
});

describe("compare two snapshots", () => {
  test("a viewer gets the agent's diff of two of the host's snapshots; refusals and a gone agent are clear", async () => {
    const [a] = await twoHosts();
    const token = await viewerToken();
    const pending = t.json(`/api/v1/hosts/${a.id}/snapshots/diff?from=${A1.slice(0, 8)}&to=${A2}`, { token });
    const ask = await a.agent.next("snapshots.diff");
    expect(ask.payload).toMatchObject({ from: A1, to: A2, limit: 1000 });
    const stats = {
      changed_files: 1,
      added: { files: 1, dirs: 1, others: 0, bytes: 200 },
      removed: { files: 1, dirs: 0, others: 0, bytes: 100 },
    };
    a.agent.send("snapshots.diffed", {
      request_id: ask.payload.request_id,
      from: A1,
      to: A2,
      changes: [{ path: "/srv/new", type: "dir", change: "added", modifier: "+" }],
      total: 3,
      stats,
    });
    expect(await pending).toEqual({
      status: 200,
      body: {
        from: A1,
        to: A2,
        changes: [{ path: "/srv/new", type: "dir", change: "added", modifier: "+" }],
        total: 3,
        stats,
      },
    });

    const other = await t.json(`/api/v1/hosts/${a.id}/snapshots/diff?from=${A1}&to=${B1}`);
    expect(other.status).toBe(404);
    const same = await t.json(`/api/v1/hosts/${a.id}/snapshots/diff?from=${A1}&to=${A1.slice(0, 8)}`);
    expect(same).toMatchObject({ status: 400, body: { error: { path: "to" } } });
    const none = await t.json(`/api/v1/hosts/${a.id}/snapshots/diff?from=${A1}`);
    expect(none).toMatchObject({ status: 400, body: { error: { path: "to" } } });

    // The agent's refusal is the API's error; a closed link fails the wait at once.
    const refused = t.json(`/api/v1/hosts/${a.id}/snapshots/diff?from=${A1}&to=${A2}`);
    const ask2 = await a.agent.next("snapshots.diff", 1);
    a.agent.send("snapshots.diffed", {
      request_id: ask2.payload.request_id,
      error: { code: "other_host", message: 'snapshot a2a2a2a2 belongs to host "web-b"' },
    });
    expect((await refused).status).toBe(409);
    const gone = t.json(`/api/v1/hosts/${a.id}/snapshots/diff?from=${A1}&to=${A2}`);
    await a.agent.next("snapshots.diff", 2);
    a.agent.close();
    const g = await gone;
    expect(g.status).toBe(502);
    expect(g.body.error.message).toContain("went away during the compare");
  });
});
