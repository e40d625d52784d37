import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Policies over the real server and real WebSocket clients (DESIGN §8.3): what each host is
// sent, when, and what is refused with nothing half-applied.

let t: TestServer;
const agents: TestAgent[] = [];
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await t.close();
});

async function token(labels: Record<string, string>, uses = 10): Promise<string> {
  const res = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses, labels } });
  expect(res.status).toBe(201);
  return res.body.token;
}

/** Enrolls with the token and says hello (protocol 4); returns the host id and its live agent. */
async function host(enrollment: string, hostname: string) {
  const res = await t.json("/api/v1/agent/enroll", {
    method: "POST",
    body: { token: enrollment, hostname },
    token: null,
  });
  expect(res.status).toBe(201);
  const agent = await TestAgent.connect(t.url, res.body.agent_token);
  agents.push(agent);
  await agent.hello(4, { hostname, resticHost: hostname });
  return { id: res.body.host_id as string, agent };
}

/** Everything the server sent before it answered a frame sent now: a signal, not a sleep. */
async function settle(agent: TestAgent) {
  const errors = agent.of("error").length;
  agent.sendRaw("{}");
  await agent.until(() => agent.of("error").length > errors, "the error answer");
}

const backup = { kind: "backup", cron_expr: "0 2 * * *", paths: ["/srv"] };
const forget = {
  kind: "forget",
  cron_expr: "0 4 * * *",
  retention_policy: { keep_daily: 7 },
  options: { prune: true },
};

async function repository(name: string, url: string, password?: string) {
  const res = await t.json("/api/v1/repositories", {
    method: "POST",
    body: { name, url, ...(password ? { password } : {}), auto_init: true },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

test("a policy reaches exactly the hosts it selects: their repository and schedules, pushed and acked", async () => {
  const prod = await token({ env: "prod" });
  const dev = await token({ env: "dev" });
  const a = await host(prod, "web-01");
  const b = await host(prod, "web-02");
  const other = await host(dev, "dev-01");
  const repo = await repository("per-host", "/srv/restic/{host}");

  const created = await t.json("/api/v1/policies", {
    method: "POST",
    body: {
      name: "prod nightly",
      selector: { labels: { env: "prod" } },
      repository_id: repo,
      schedules: [backup, forget],
    },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    name: "prod nightly",
    matched_hosts: 2,
    priority: 0,
    enabled: true,
    conflicts: [],
  });
  expect(created.body.schedules.map((s: { kind: string }) => s.kind)).toEqual(["backup", "forget"]);

  const passwords = new Set<string>();
  for (const [h, name] of [
    [a, "web-01"],
    [b, "web-02"],
  ] as const) {
    const config = await h.agent.until(
      () => h.agent.of("config.update").find((m) => m.payload.repo_url),
      "repo config",
    );
    expect(config.payload.repo_url).toBe(`/srv/restic/${name}`);
    passwords.add(config.payload.repo_password ?? "");
    const set = await h.agent.next("schedule.set", 1);
    expect(set.payload.schedules.map((s) => [s.kind, s.cron_expr]).sort()).toEqual([
      ["backup", "0 2 * * *"],
      ["forget", "0 4 * * *"],
    ]);
    h.agent.send("schedule.ack", { version: set.payload.version, applied_at: new Date().toISOString() });
  }
  expect(passwords.size).toBe(2); // a generated password per host
  await settle(other.agent);
  expect(other.agent.of("schedule.set")).toHaveLength(1); // its hello's, nothing since
  expect(other.agent.of("config.update").some((m) => m.payload.repo_url)).toBe(false);

  // Shown on the host with policy_id, and changed only through the policy.
  const schedules = await t.json(`/api/v1/hosts/${a.id}/schedules`);
  expect(schedules.body.items.every((s: { policy_id: string }) => s.policy_id === created.body.id)).toBe(true);
  const patch = await t.json(`/api/v1/schedules/${schedules.body.items[0].id}`, {
    method: "PATCH",
    body: { cron_expr: "0 3 * * *" },
  });
  expect(patch.status).toBe(409);
  expect(patch.body.error.message).toContain('policy "prod nightly"');
  const del = await t.json(`/api/v1/schedules/${schedules.body.items[0].id}`, { method: "DELETE" });
  expect(del.status).toBe(409);

  // In sync once acked.
  await a.agent.until(() => t.server.domain.hosts.show(a.id).schedule_in_sync, "web-01 in sync");
  await b.agent.until(() => t.server.domain.hosts.show(b.id).schedule_in_sync, "web-02 in sync");
  const shown = await t.json(`/api/v1/policies/${created.body.id}`);
  expect(shown.body.hosts_in_sync).toBe(2);
  const matched = await t.json(`/api/v1/policies/${created.body.id}/hosts`);
  expect(matched.body.items.map((h: { name: string }) => h.name)).toEqual(["web-01", "web-02"]);

  // A change of cron reaches both, with the same schedule ids (their jobs stay the same schedule).
  const before = schedules.body.items.map((s: { id: string }) => s.id);
  const changed = await t.json(`/api/v1/policies/${created.body.id}`, {
    method: "PATCH",
    body: { schedules: [{ ...backup, cron_expr: "30 1 * * *" }, forget] },
  });
  expect(changed.status).toBe(200);
  for (const h of [a, b]) {
    const set = await h.agent.next("schedule.set", 2);
    expect(set.payload.schedules.find((s) => s.kind === "backup")?.cron_expr).toBe("30 1 * * *");
  }
  const after = await t.json(`/api/v1/hosts/${a.id}/schedules`);
  expect(after.body.items.map((s: { id: string }) => s.id)).toEqual(before);
  await settle(other.agent);
  expect(other.agent.of("schedule.set")).toHaveLength(1);

  // Audited with the before and the after.
  const audit = await t.json("/api/v1/audit-log?limit=20");
  const entry = audit.body.items.find((e: { action: string }) => e.action === "policy.update");
  expect(entry.detail.before.schedules[0].cron_expr).toBe("0 2 * * *");
  expect(entry.detail.after.schedules[0].cron_expr).toBe("30 1 * * *");

  // The repository cannot go while the policy uses it.
  const gone = await t.json(`/api/v1/repositories/${repo}`, { method: "DELETE" });
  expect(gone.status).toBe(409);
  expect(gone.body.error.message).toContain("policy prod nightly");

  // Deleting the policy takes its schedules off its hosts.
  expect((await t.api(`/api/v1/policies/${created.body.id}`, { method: "DELETE" })).status).toBe(204);
  const left = await a.agent.next("schedule.set", 3);
  expect(left.payload.schedules).toEqual([]);
});

test("a higher priority takes over the repository; its own config beats every policy", async () => {
  const prod = await token({ env: "prod" });
  const web = await host(prod, "web-01");
  const db = await host(await token({ env: "prod", role: "db" }), "db-01");
  const perHost = await repository("per-host", "/srv/restic/{host}");
  const shared = await repository("db-shared", "/srv/restic/db", "db-password");
  await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "base", selector: { labels: { env: "prod" } }, repository_id: perHost, schedules: [backup] },
  });
  await db.agent.until(() => db.agent.of("config.update").find((m) => m.payload.repo_url === "/srv/restic/db-01"));

  const takeover = await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "databases", selector: { labels: { role: "db" } }, repository_id: shared, priority: 10 },
  });
  expect(takeover.body.matched_hosts).toBe(1);
  const moved = await db.agent.until(() =>
    db.agent.of("config.update").find((m) => m.payload.repo_url === "/srv/restic/db"),
  );
  expect(moved.payload.repo_password).toBe("db-password");
  expect(t.server.domain.hosts.show(db.id)).toMatchObject({ repository_policy_id: takeover.body.id });
  await settle(web.agent);
  expect(web.agent.of("config.update").map((m) => m.payload.repo_url ?? null)).toEqual([null, "/srv/restic/web-01"]);

  // A host's own repository settings win over its policies'.
  await t.json(`/api/v1/hosts/${db.id}/config`, {
    method: "PUT",
    body: { repo_url: "/srv/own", repo_password: "own-password" },
  });
  await db.agent.until(() => db.agent.of("config.update").find((m) => m.payload.repo_url === "/srv/own"));
  expect(t.server.domain.hosts.show(db.id).policy_repository_id).toBeNull();
});

test("relabelling a host and a new enrollment bring them their policies", async () => {
  const repo = await repository("per-host", "/srv/restic/{host}");
  await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "prod", selector: { labels: { env: "prod" } }, repository_id: repo, schedules: [backup] },
  });
  const late = await host(await token({ env: "prod" }), "web-09");
  const hello = late.agent.of("schedule.set")[0];
  expect(hello?.payload.schedules.map((s) => s.kind)).toEqual(["backup"]);
  expect(late.agent.of("config.update")[0]?.payload.repo_url).toBe("/srv/restic/web-09");

  const plain = await host(await token({}), "web-10");
  expect(plain.agent.of("schedule.set")[0]?.payload.schedules).toEqual([]);
  const res = await t.json(`/api/v1/hosts/${plain.id}`, { method: "PATCH", body: { labels: { env: "prod" } } });
  expect(res.status).toBe(200);
  const set = await plain.agent.next("schedule.set", 1);
  expect(set.payload.schedules.map((s) => s.kind)).toEqual(["backup"]);
  await t.json(`/api/v1/hosts/${plain.id}`, { method: "PATCH", body: { labels: {} } });
  expect((await plain.agent.next("schedule.set", 2)).payload.schedules).toEqual([]);
});

describe("bad input answers 400 or 409 naming the field, and nothing is half-applied", () => {
  const post = (body: unknown) => t.json("/api/v1/policies", { method: "POST", body });

  test("a selector that matches nothing is allowed", async () => {
    const res = await post({ name: "nobody", selector: { labels: { env: "nowhere" } }, schedules: [backup] });
    expect(res.status).toBe(201);
    expect(res.body.matched_hosts).toBe(0);
  });

  test.each([
    [{ name: "x", selector: { labels: { "Bad Key": "v" } } }, 400, "selector.labels.Bad Key"],
    [{ name: "x", schedules: [{ ...backup, cron_expr: "0 25 * * *" }] }, 400, "schedules.0.cron_expr"],
    [{ name: "x", schedules: [{ ...backup, options: { turbo: true } }] }, 400, "schedules.0.options.turbo"],
    [{ name: "x", schedules: [{ kind: "backup", cron_expr: "0 2 * * *" }] }, 400, "schedules.0.paths"],
    [{ name: "x", schedules: [{ ...backup, pathz: ["/srv"] }] }, 400, "schedules.0.pathz"],
    [{ name: "x", schedules: [{ ...backup, jitter: "soon" }] }, 400, "schedules.0.jitter"],
    [{ name: "x", schedules: [{ ...backup, jitter: "25h" }] }, 400, "schedules.0.jitter"],
    [{ name: "x", schedules: [{ ...backup, cron_expr: "0 * * * *", jitter: "2h" }] }, 400, "schedules.0.jitter"],
    [{ name: "x", repository_id: "repo_missing" }, 400, "repository_id"],
    [{ name: "x", priority: 1.5 }, 400, "priority"],
    [{ name: "" }, 400, "name"],
  ])("%j → %i at %s", async (body, status, path) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.body.error.path).toBe(path);
    expect((await t.json("/api/v1/policies")).body.items).toEqual([]);
  });

  test("two policies in conflict: the second is refused, the first is untouched", async () => {
    const h = await host(await token({ env: "prod" }), "web-01");
    const one = await repository("one", "/srv/one", "p1");
    const two = await repository("two", "/srv/two", "p2");
    const first = await post({ name: "first", selector: { labels: { env: "prod" } }, repository_id: one });
    expect(first.status).toBe(201);
    const version = t.server.domain.hosts.show(h.id).schedule_version;
    const second = await post({ name: "second", selector: {}, repository_id: two, schedules: [backup] });
    expect(second.status).toBe(409);
    expect(second.body.error.path).toBe("priority");
    expect(second.body.error.message).toContain('"first", "second"');
    expect(second.body.error.message).toContain("web-01");
    expect((await t.json("/api/v1/policies")).body.items.map((p: { name: string }) => p.name)).toEqual(["first"]);
    expect(t.server.domain.hosts.show(h.id)).toMatchObject({ schedule_version: version, policy_conflict: null });
    expect(t.server.domain.schedules.list(h.id)).toEqual([]);
    // The same repository at the same priority is no conflict.
    expect((await post({ name: "second", selector: {}, repository_id: one })).status).toBe(201);
    const dup = await post({ name: "FIRST" });
    expect(dup.status).toBe(409);
    expect(dup.body.error.path).toBe("name");
  });

  test("an enrollment into a conflict is shown on the host and the policy, and nothing is pushed to it", async () => {
    const one = await repository("one", "/srv/one", "p1");
    const two = await repository("two", "/srv/two", "p2");
    const a = await post({ name: "a", selector: { labels: { team: "x" } }, repository_id: one });
    await post({ name: "b", selector: { labels: { env: "prod" } }, repository_id: two, schedules: [backup] });
    const res = await t.json("/api/v1/agent/enroll", {
      method: "POST",
      body: { token: await token({ team: "x", env: "prod" }), hostname: "both-01" },
      token: null,
    });
    const agent = await TestAgent.connect(t.url, res.body.agent_token);
    agents.push(agent);
    agent.send("hello", {
      protocol_version: 4,
      agent_version: "0.1.0-test",
      restic_version: "0.14.0",
      hostname: "both-01",
      os: "linux",
      arch: "amd64",
      restic_host: "both-01",
    });
    await settle(agent);
    expect(agent.of("config.update")).toEqual([]);
    expect(agent.of("schedule.set")).toEqual([]);
    const shown = t.server.domain.hosts.show(res.body.host_id);
    expect(shown.policy_conflict?.policies.map((p) => p.name)).toEqual(["a", "b"]);
    expect(shown.schedule_in_sync).toBe(false);
    const policy = await t.json(`/api/v1/policies/${a.body.id}`);
    expect(policy.body.conflicts.map((c: { host_name: string }) => c.host_name)).toEqual(["both-01"]);

    // Resolved by a priority: everything is pushed at once.
    await t.json(`/api/v1/policies/${a.body.id}`, { method: "PATCH", body: { priority: 5 } });
    const config = await agent.next("config.update");
    expect(config.payload.repo_url).toBe("/srv/one");
    expect((await agent.next("schedule.set")).payload.schedules.map((s) => s.kind)).toEqual(["backup"]);
  });
});

test("auto_init travels with the repository to a protocol 5 agent, and not to an older one", async () => {
  const repo = await repository("per-host", "/srv/restic/{host}");
  await t.json("/api/v1/policies", { method: "POST", body: { name: "all", repository_id: repo, schedules: [backup] } });
  const enroll = async (hostname: string, version: number) => {
    const res = await t.json("/api/v1/agent/enroll", {
      method: "POST",
      body: { token: await token({}), hostname },
      token: null,
    });
    const agent = await TestAgent.connect(t.url, res.body.agent_token);
    agents.push(agent);
    await agent.hello(version, { hostname, resticHost: hostname });
    return { id: res.body.host_id as string, agent };
  };
  const v5 = await enroll("new-01", 5);
  const v4 = await enroll("old-01", 4);
  expect(v5.agent.of("config.update")[0]?.payload).toMatchObject({ repo_url: "/srv/restic/new-01", auto_init: true });
  expect(v4.agent.of("config.update")[0]?.payload.repo_url).toBe("/srv/restic/old-01");
  expect(v4.agent.of("config.update")[0]?.payload).not.toHaveProperty("auto_init");

  // Switched off on the repository: every host using it is told.
  await t.json(`/api/v1/repositories/${repo}`, { method: "PATCH", body: { auto_init: false } });
  expect((await v5.agent.next("config.update", 1)).payload).toMatchObject({ auto_init: false });
  // A host's own settings never initialise anything.
  await t.json(`/api/v1/hosts/${v5.id}/config`, { method: "PUT", body: { repo_url: "/srv/own", repo_password: "pw" } });
  expect((await v5.agent.next("config.update", 2)).payload).toMatchObject({ repo_url: "/srv/own", auto_init: false });
});
