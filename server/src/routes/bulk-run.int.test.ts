import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Bulk run-now (issue 18, item 3; DESIGN §8.3): POST /api/v1/jobs {selector | host_ids, kind, spec?}
// makes one job per selected host through the single run-now's checks. A real server on loopback,
// real SQLite, real WebSocket agent clients.

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

type Job = { id: string; host_id: string; kind: string; status: string; actor_kind: string; spec: unknown };

/** web-01 and web-02 (env=prod), dev-01 (env=dev); web-01 connected, the others offline. */
async function fleet() {
  const enrolled: Record<string, { host_id: string; agent_token: string }> = {};
  for (const [name, env] of [
    ["web-01", "prod"],
    ["web-02", "prod"],
    ["dev-01", "dev"],
  ] as const) {
    enrolled[name] = await t.enroll(name);
    const id = enrolled[name].host_id;
    expect((await t.json(`/api/v1/hosts/${id}`, { method: "PATCH", body: { labels: { env } } })).status).toBe(200);
  }
  const web1 = enrolled["web-01"] as { host_id: string; agent_token: string };
  const web2 = enrolled["web-02"] as { host_id: string; agent_token: string };
  const dev1 = enrolled["dev-01"] as { host_id: string; agent_token: string };
  const agent = await TestAgent.connect(t.url, web1.agent_token);
  await agent.hello(8, { hostname: "web-01", resticHost: "web-01" });
  return { web1, web2, dev1, agent };
}

const bulk = (body: unknown) => t.json("/api/v1/jobs", { method: "POST", body });
const audits = async () =>
  (await t.json("/api/v1/audit-log")).body.items as Array<{ action: string; target: string | null; detail: unknown }>;

test("a label selector makes one job per matching host: sent to the connected one, queued for the offline one until its hello", async () => {
  const f = await fleet();
  const res = await bulk({ selector: { labels: { env: "prod" } }, kind: "backup", spec: { paths: ["/srv"] } });
  expect(res.status).toBe(201);
  const items = res.body.items as Job[];
  expect(items.map((j) => j.host_id)).toEqual([f.web1.host_id, f.web2.host_id]);
  expect(items.every((j) => j.kind === "backup" && j.actor_kind === "user" && j.status === "queued")).toBe(true);
  expect(items[0]?.spec).toEqual({ paths: ["/srv"] });
  expect(res.body.refused).toEqual([]);
  // The connected host got its command.run; the offline one gets it when it says hello.
  const run = await f.agent.next("command.run");
  expect(run.payload).toMatchObject({ job_id: items[0]?.id, kind: "backup", spec: { paths: ["/srv"] } });
  const late = await TestAgent.connect(t.url, f.web2.agent_token);
  await late.hello(8, { hostname: "web-02", resticHost: "web-02" });
  expect((await late.next("command.run")).payload.job_id).toBe(items[1]?.id as string);

  // One audit entry naming the selector and the count, not one per job.
  const entries = (await audits()).filter((e) => e.action.startsWith("job.run"));
  expect(entries).toEqual([
    expect.objectContaining({
      action: "job.run_bulk",
      target: null,
      detail: {
        selector: { labels: { env: "prod" } },
        kind: "backup",
        count: 2,
        job_ids: items.map((j) => j.id),
        spec: { paths: ["/srv"] },
      },
    }),
  ]);
  // {} selects every host.
  const all = await bulk({ selector: {}, kind: "check" });
  expect(all.status).toBe(201);
  expect(all.body.items).toHaveLength(3);
  f.agent.close();
  late.close();
});

test("host_ids picks hosts one by one; an unknown id is a 404 naming its place, and nothing is made", async () => {
  const f = await fleet();
  const res = await bulk({ host_ids: [f.dev1.host_id, f.web1.host_id, f.dev1.host_id], kind: "check" });
  expect(res.status).toBe(201);
  // Once per host, in the hosts' order (by name).
  expect((res.body.items as Job[]).map((j) => j.host_id)).toEqual([f.dev1.host_id, f.web1.host_id]);
  expect((await audits()).find((e) => e.action === "job.run_bulk")?.detail).toMatchObject({
    host_ids: [f.dev1.host_id, f.web1.host_id],
    count: 2,
  });

  const before = (await t.json("/api/v1/jobs")).body.items.length;
  const unknown = await bulk({ host_ids: [f.web1.host_id, "host_nope"], kind: "check" });
  expect(unknown.status).toBe(404);
  expect(unknown.body.error).toMatchObject({ code: "not_found", path: "host_ids.1" });
  expect(unknown.body.error.message).toContain("host_nope");
  expect((await t.json("/api/v1/jobs")).body.items.length).toBe(before);
  f.agent.close();
});

test("bad requests: no match (409), both or neither selection, an empty list, bad specs and fields (400), a viewer (403)", async () => {
  const f = await fleet();
  const none = await bulk({ selector: { labels: { env: "prdo" } }, kind: "check" });
  expect(none.status).toBe(409);
  expect(none.body.error.message).toContain("no host has all the labels {env=prdo}: nothing was run");

  const both = await bulk({ selector: {}, host_ids: [f.web1.host_id], kind: "check" });
  expect(both.status).toBe(400);
  expect(both.body.error.message).toContain("either selector or host_ids");
  expect((await bulk({ kind: "check" })).status).toBe(400);
  expect((await bulk({ host_ids: [], kind: "check" })).body.error).toMatchObject({ path: "host_ids" });

  // The single run-now's checks, by the same paths.
  const noPaths = await bulk({ selector: {}, kind: "backup", spec: { paths: [] } });
  expect(noPaths.status).toBe(400);
  expect(noPaths.body.error.path).toBe("spec.paths");
  const relative = await bulk({ selector: {}, kind: "backup", spec: { paths: ["srv"] } });
  expect(relative.body.error.path).toBe("spec.paths.0");
  const misspelt = await bulk({ selector: {}, kind: "backup", spec: { pathz: ["/srv"] } });
  expect(misspelt.status).toBe(400);
  expect(misspelt.body.error.path).toBe("spec.pathz");
  const schedule = await bulk({ selector: {}, kind: "check", schedule_id: "sch_x" });
  expect(schedule.body.error.path).toBe("schedule_id");
  const rolling = await bulk({ selector: {}, kind: "check", spec: { read_data_subset: "k/7" } });
  expect(rolling.status).toBe(400);
  expect(rolling.body.error.path).toBe("spec.read_data_subset");
  const badLabel = await bulk({ selector: { labels: { "Bad Key": "x" } }, kind: "check" });
  expect(badLabel.status).toBe(400);
  expect(badLabel.body.error.path).toContain("selector.labels");

  const viewer = await t.server.domain.auth.createUser("watcher", "viewer-password", "viewer", null);
  const token = t.server.domain.auth.createApiToken(
    { user_id: viewer.id, username: "watcher", role: "viewer" },
    "viewer",
  ).token;
  const denied = await t.json("/api/v1/jobs", { method: "POST", body: { selector: {}, kind: "check" }, token });
  expect(denied.status).toBe(403);
  expect((await t.json("/api/v1/jobs")).body.items).toEqual([]);
  f.agent.close();
});

test("a host whose agent cannot run the kind is left out, with the reason; when none can, 409 and nothing is made", async () => {
  const f = await fleet();
  // web-02's agent speaks protocol 6: no drills (protocol 7).
  const old = await TestAgent.connect(t.url, f.web2.agent_token);
  await old.hello(6, { hostname: "web-02", resticHost: "web-02" });
  const res = await bulk({ selector: { labels: { env: "prod" } }, kind: "drill" });
  expect(res.status).toBe(201);
  expect((res.body.items as Job[]).map((j) => j.host_id)).toEqual([f.web1.host_id]);
  expect(res.body.refused).toEqual([
    {
      host_id: f.web2.host_id,
      host_name: "web-02",
      message: expect.stringContaining("speaks protocol 6, and a drill needs protocol 7"),
    },
  ]);
  expect((await audits()).find((e) => e.action === "job.run_bulk")?.detail).toMatchObject({
    count: 1,
    refused: [{ host_id: f.web2.host_id }],
  });

  const only = await bulk({ host_ids: [f.web2.host_id], kind: "drill" });
  expect(only.status).toBe(409);
  expect(only.body.error.message).toContain("none of the 1 selected hosts can run this drill: web-02:");
  expect((await t.json(`/api/v1/jobs?host_id=${f.web2.host_id}`)).body.items).toEqual([]);
  f.agent.close();
  old.close();
});
