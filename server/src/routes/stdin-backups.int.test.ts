import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Stdin backups (a command's output as the backup source) through the API, to real agents'
// sockets: a schedule and a run-now reach a protocol 9 agent as typed fields, and an older agent
// is refused with its version named, never sent what it would drop.

let t: TestServer;
const agents: TestAgent[] = [];
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await t.close();
});

const DUMP = { stdin_command: ["pg_dump", "--format=plain", "mydb"], stdin_filename: "mydb.sql" };

async function host(protocol: number) {
  const h = await t.enroll(`db-${protocol}`);
  await t.json(`/api/v1/hosts/${h.host_id}/config`, {
    method: "PUT",
    body: { repo_url: "/srv/repo", repo_password: "pw" },
  });
  const agent = await TestAgent.connect(t.url, h.agent_token);
  agents.push(agent);
  await agent.hello(protocol, { hostname: `db-${protocol}`, resticHost: `db-${protocol}` });
  return { id: h.host_id as string, agent };
}

describe("stdin backups", () => {
  test("a schedule stores the command, and schedule.set and its job's command.run carry it", async () => {
    const h = await host(9);
    const s = await t.json(`/api/v1/hosts/${h.id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 2 * * *", tags: ["db"], ...DUMP },
    });
    expect(s.status).toBe(201);
    expect(s.body).toMatchObject({ ...DUMP, paths: [] });
    const set = await h.agent.next("schedule.set", 1);
    expect(set.payload.schedules[0]).toMatchObject({ id: s.body.id, ...DUMP });
    expect(set.payload.schedules[0]?.paths).toBeUndefined();

    const run = await t.json(`/api/v1/hosts/${h.id}/jobs`, {
      method: "POST",
      body: { kind: "backup", schedule_id: s.body.id },
    });
    expect(run.status).toBe(201);
    const cmd = await h.agent.next("command.run");
    expect(cmd.payload).toMatchObject({ kind: "backup", args: [], spec: { ...DUMP, tags: ["db"] } });
    expect((cmd.payload.spec as { paths?: unknown }).paths).toBeUndefined();

    const direct = await t.json(`/api/v1/hosts/${h.id}/jobs`, {
      method: "POST",
      body: {
        kind: "backup",
        spec: { stdin_command: ["sqlite3", "/var/lib/app.db", ".dump"], stdin_filename: "app.sql" },
      },
    });
    expect(direct.status).toBe(201);
    const cmd2 = await h.agent.next("command.run", 1);
    expect(cmd2.payload.spec).toEqual({
      stdin_command: ["sqlite3", "/var/lib/app.db", ".dump"],
      stdin_filename: "app.sql",
    });
  });

  test("bad input names the field and what to do", async () => {
    const h = await host(9);
    const post = (body: Record<string, unknown>) =>
      t.json(`/api/v1/hosts/${h.id}/schedules`, {
        method: "POST",
        body: { kind: "backup", cron_expr: "0 2 * * *", ...body },
      });
    const both = await post({ ...DUMP, paths: ["/srv"] });
    expect(both).toMatchObject({ status: 400, body: { error: { path: "paths" } } });
    expect(both.body.error.message).toContain("not both");
    expect(await post({ stdin_command: [], stdin_filename: "x.sql" })).toMatchObject({
      status: 400,
      body: { error: { path: "stdin_command" } },
    });
    expect(await post({ ...DUMP, stdin_filename: "dumps/mydb.sql" })).toMatchObject({
      status: 400,
      body: { error: { path: "stdin_filename" } },
    });
    expect(await post({ paths: ["/srv"], stdin_filename: "x.sql" })).toMatchObject({
      status: 400,
      body: { error: { path: "stdin_filename" } },
    });
    const forget = await t.json(`/api/v1/hosts/${h.id}/schedules`, {
      method: "POST",
      body: { kind: "check", cron_expr: "0 2 * * *", ...DUMP },
    });
    expect(forget).toMatchObject({ status: 400, body: { error: { path: "stdin_command" } } });
    const run = await t.json(`/api/v1/hosts/${h.id}/jobs`, {
      method: "POST",
      body: { kind: "backup", spec: { ...DUMP, excludes: ["*.tmp"] } },
    });
    expect(run).toMatchObject({ status: 400, body: { error: { path: "spec.excludes" } } });
  });

  test("an agent before protocol 9 is refused with its version named, and never sent the schedule", async () => {
    const h = await host(8);
    const s = await t.json(`/api/v1/hosts/${h.id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 2 * * *", ...DUMP },
    });
    expect(s.status).toBe(201);
    const paths = await t.json(`/api/v1/hosts/${h.id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 3 * * *", paths: ["/srv"] },
    });
    const set = await h.agent.next("schedule.set", 2);
    expect(set.payload.schedules.map((e) => e.id)).toEqual([paths.body.id]);
    const run = await t.json(`/api/v1/hosts/${h.id}/jobs`, { method: "POST", body: { kind: "backup", spec: DUMP } });
    expect(run.status).toBe(409);
    expect(run.body.error.message).toContain("speaks protocol 8");
    expect(run.body.error.message).toContain("needs protocol 9: upgrade the agent");
    const bySchedule = await t.json(`/api/v1/hosts/${h.id}/jobs`, {
      method: "POST",
      body: { kind: "backup", schedule_id: s.body.id },
    });
    expect(bySchedule.status).toBe(409);
    expect(bySchedule.body.error.message).toContain("speaks protocol 8");
    expect(h.agent.of("command.run")).toEqual([]);
  });

  test("a policy's stdin schedule reaches each matching host", async () => {
    const h = await host(9);
    await t.json(`/api/v1/hosts/${h.id}`, { method: "PATCH", body: { labels: { role: "db" } } });
    const p = await t.json("/api/v1/policies", {
      method: "POST",
      body: {
        name: "databases",
        selector: { labels: { role: "db" } },
        schedules: [{ kind: "backup", cron_expr: "0 1 * * *", ...DUMP }],
      },
    });
    expect(p.status).toBe(201);
    expect(p.body.schedules[0]).toMatchObject(DUMP);
    const list = await t.json(`/api/v1/hosts/${h.id}/schedules`);
    expect(list.body.items[0]).toMatchObject({ ...DUMP, policy_id: p.body.id });
  });
});
