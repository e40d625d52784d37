import { afterEach, beforeEach, expect, test } from "bun:test";
import { PROTOCOL_VERSION } from "../../../protocol/index.ts";
import { ManualClock } from "../clock.ts";
import type { FleetEvent } from "../domain/events.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Repository-wide maintenance (issue 18 item 2, DESIGN §8.3), over the real server and real agent
// sockets with an injected clock: the prune and check of a policy whose repository is shared are
// fired by the server once per repository per tick, on one online host using it, never two at
// once; the agents are not given them. The clock moves to each tick and the sweep runs, as the
// server's 10 s timer would.

let t: TestServer;
let clock: ManualClock;
const agents: TestAgent[] = [];
/** Agents a test closed on purpose. */
const closing = new Set<TestAgent>();
const DAY = 86_400_000;

beforeEach(async () => {
  clock = new ManualClock("2026-12-02T01:59:00Z");
  t = await startTestServer({ clock });
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await t.close();
});

const post = (path: string, body: unknown) => t.json(path, { method: "POST", body });

interface Host {
  id: string;
  token: string;
  name: string;
  agent: TestAgent;
}

/** Enrolled, and its agent said hello in the current protocol. */
async function host(name: string): Promise<Host> {
  const h = await t.enroll(name);
  return { id: h.host_id, token: h.agent_token, name, agent: await connect(h.agent_token, name) };
}

async function connect(token: string, name: string): Promise<TestAgent> {
  const agent = await TestAgent.connect(t.url, token);
  agents.push(agent);
  await agent.hello(PROTOCOL_VERSION, { hostname: name, resticHost: name });
  return agent;
}

/** The server has taken the host offline (its socket closed). */
async function offline(h: Host) {
  const gone = new Promise<void>((resolve) => {
    const off = t.server.domain.subscribe((e: FleetEvent) => {
      if (e.type === "host.updated" && e.host_id === h.id && !e.online) {
        off();
        resolve();
      }
    });
  });
  closing.add(h.agent);
  h.agent.close();
  if (t.server.registry.isConnected(h.id)) await gone;
}

/** A shared repository, a policy for every host with a nightly prune and check, and three hosts. */
async function fleet(url = "/srv/restic/shared", check = false) {
  const repo = await post("/api/v1/repositories", { name: "shared", url, password: "repo-password" });
  expect(repo.status).toBe(201);
  const schedules = [
    { kind: "backup", cron_expr: "0 1 * * *", timezone: "UTC", paths: ["/srv"] },
    { kind: "prune", cron_expr: "0 2 * * *", timezone: "UTC" },
    ...(check ? [{ kind: "check", cron_expr: "0 2 * * *", timezone: "UTC" }] : []),
  ];
  const policy = await post("/api/v1/policies", {
    name: "nightly",
    selector: {},
    repository_id: repo.body.id,
    schedules,
  });
  expect(policy.status).toBe(201);
  const hosts = [await host("web-c"), await host("web-a"), await host("web-b")];
  return { repo: repo.body.id as string, policy: policy.body, hosts };
}

/** The command.runs the agents got, kind and host. */
const runs = (hosts: Host[]) =>
  hosts.flatMap((h) =>
    h.agent.of("command.run").map((m) => ({ host: h.name, kind: m.payload.kind, job: m.payload.job_id })),
  );

/**
 * Moves the clock to `iso` and runs the periodic sweep, as the server's timer would; the open
 * agents' heartbeats at that time come first, or the sweep would find them 90 s silent.
 */
async function at(iso: string) {
  clock.advance(Date.parse(iso) - clock.now().getTime());
  for (const a of agents.filter((x) => !x.closed && !closing.has(x)))
    await a.acked(a.send("heartbeat", { sent_at: iso }));
  t.server.sweep();
}

async function finish(h: Host, jobId: string, status: "succeeded" | "failed", error?: string) {
  const ids = [
    h.agent.send("command.result", { job_id: jobId, accepted: true }),
    h.agent.send("job.started", { job_id: jobId, kind: "prune", started_at: clock.now().toISOString() }),
    h.agent.send("job.finished", {
      job_id: jobId,
      status,
      exit_code: status === "succeeded" ? 0 : 1,
      finished_at: clock.now().toISOString(),
      ...(error ? { error } : {}),
    }),
  ];
  await h.agent.acked(...ids);
}

const maintenance = async (repo: string) => (await t.json(`/api/v1/repositories/${repo}/maintenance`)).body;

test("the agents are not given the shared repository's prune; an old agent's fire of it is refused", async () => {
  const { repo, hosts } = await fleet();
  for (const h of hosts) {
    const set = h.agent.of("schedule.set").at(-1);
    expect(set?.payload.schedules.map((s) => s.kind).sort()).toEqual(["backup"]);
  }
  // The host's copy still exists (the host page lists it), with the policy.
  const [h] = hosts as [Host];
  const listed = (await t.json(`/api/v1/hosts/${h.id}/schedules`)).body.items as {
    id: string;
    kind: string;
    repository_wide: string | null;
  }[];
  const prune = listed.find((s) => s.kind === "prune");
  // It says the server runs it, for which repository; the backup stays the host's.
  expect(listed.map((s) => [s.kind, s.repository_wide])).toEqual([
    ["backup", null],
    ["prune", repo],
  ]);
  const id = h.agent.send("schedule.fire", {
    schedule_id: prune?.id as string,
    scheduled_at: "2026-12-02T02:00:00.000Z",
  });
  clock.advance(61_000);
  const refused = await h.agent.until(() => h.agent.of("error").find((e) => e.payload.ref_id === id));
  expect(refused.payload.code).toBe("conflict");
  expect(refused.payload.message).toContain("the server fires this prune once for the shared repository");
  expect((await t.json(`/api/v1/jobs?kind=prune`)).body.items).toEqual([]);
});

test("one prune per tick for 3 hosts, on the least recently used; never two at once; the page's facts", async () => {
  const { repo, hosts } = await fleet();
  const [c, a, b] = hosts as [Host, Host, Host];

  // Before the tick nothing runs; at it, exactly one job, on web-a (none has run one: by name).
  await at("2026-12-02T01:59:59Z");
  expect(runs(hosts)).toEqual([]);
  await at("2026-12-02T02:00:05Z");
  await a.agent.next("command.run");
  expect(runs(hosts).map((r) => [r.host, r.kind])).toEqual([["web-a", "prune"]]);
  const first = runs(hosts)[0]?.job as string;
  const job = (await t.json(`/api/v1/jobs/${first}`)).body;
  expect(job).toMatchObject({
    host_id: a.id,
    kind: "prune",
    status: "queued",
    actor_kind: "schedule",
    scheduled_at: "2026-12-02T02:00:00.000Z",
  });
  const aPrune = (await t.json(`/api/v1/hosts/${a.id}/schedules`)).body.items.find(
    (s: { kind: string }) => s.kind === "prune",
  );
  expect(job.scheduled_id).toBe(aPrune.id);
  // The same tick looked at again makes nothing more.
  await at("2026-12-02T02:00:15Z");
  t.server.sweep();
  expect(runs(hosts)).toHaveLength(1);

  // The next night web-a's prune is still running: the tick is skipped, with the reason.
  const started = a.agent.send("job.started", { job_id: first, kind: "prune", started_at: clock.now().toISOString() });
  await a.agent.acked(a.agent.send("command.result", { job_id: first, accepted: true }), started);
  await at("2026-12-03T02:00:05Z");
  expect(runs(hosts)).toHaveLength(1);
  let m = await maintenance(repo);
  expect(m.running).toMatchObject({ job_id: first, host_name: "web-a", status: "running" });
  expect(m.ticks[0]).toMatchObject({
    scheduled_at: "2026-12-03T02:00:00.000Z",
    outcome: "skipped",
    kind: "prune",
  });
  expect(m.ticks[0].reason).toContain("a prune of the repository is already running on host web-a");
  expect(m.ticks[1]).toMatchObject({ outcome: "fired", host_name: "web-a", job_id: first });

  // It ends; the night after, web-b runs it (web-a ran one, web-b and web-c never: by name).
  await finish(a, first, "succeeded");
  await at("2026-12-04T02:00:05Z");
  await b.agent.next("command.run");
  expect(
    runs(hosts)
      .map((r) => r.host)
      .sort(),
  ).toEqual(["web-a", "web-b"]);
  const second = runs([b])[0]?.job as string;
  await finish(b, second, "failed", "Fatal: unable to create lock in backend");
  await at("2026-12-05T02:00:05Z");
  await c.agent.next("command.run");
  expect(
    runs(hosts)
      .map((r) => r.host)
      .sort(),
  ).toEqual(["web-a", "web-b", "web-c"]);

  // The repository shows its last finished prune, on which host, and how it ended.
  const shown = (await t.json(`/api/v1/repositories/${repo}`)).body;
  expect(shown.last_prune).toEqual({
    job_id: second,
    host_id: b.id,
    host_name: "web-b",
    status: "failed",
    finished_at: "2026-12-04T02:00:05.000Z",
    error: "Fatal: unable to create lock in backend",
  });
  m = await maintenance(repo);
  expect(m).toMatchObject({
    repository_id: repo,
    shared: true,
    last_prune: { job_id: second, host_name: "web-b", status: "failed" },
    last_check: null,
    running: { host_name: "web-c", status: "queued" },
    schedules: [
      {
        kind: "prune",
        cron_expr: "0 2 * * *",
        timezone: "UTC",
        policy_name: "nightly",
        next_run_at: "2026-12-06T02:00:00.000Z",
        hosts: 3,
        online_hosts: 3,
      },
    ],
  });
  expect(m.ticks.map((x: { outcome: string }) => x.outcome)).toEqual(["fired", "fired", "skipped", "fired"]);
});

test("a prune and a check of one repository at the same tick: one runs, the other is skipped", async () => {
  const { repo, hosts } = await fleet("/srv/restic/both", true);
  await at("2026-12-02T02:00:05Z");
  await hosts[1]?.agent.next("command.run");
  expect(runs(hosts)).toHaveLength(1);
  const m = await maintenance(repo);
  const outcomes = m.ticks.map((x: { kind: string; outcome: string }) => `${x.kind} ${x.outcome}`).sort();
  expect(outcomes).toEqual(["check skipped", "prune fired"]);
  // A user's check run now on another host counts too: the next tick is skipped for it.
  const [, a, b] = hosts as [Host, Host, Host];
  await finish(a, runs(hosts)[0]?.job as string, "succeeded");
  const manual = await post(`/api/v1/hosts/${b.id}/jobs`, { kind: "check" });
  expect(manual.status).toBe(201);
  await at("2026-12-03T02:00:05Z");
  const next = await maintenance(repo);
  expect(next.ticks.slice(0, 2).map((x: { outcome: string }) => x.outcome)).toEqual(["skipped", "skipped"]);
  expect(next.ticks[0].reason).toContain(
    `a check of the repository is already queued on host web-b (job ${manual.body.id})`,
  );
});

test("no host online at the tick: pending, then run on the first host that comes online; a later tick supersedes it", async () => {
  const { repo, hosts } = await fleet("/srv/restic/offline");
  for (const h of hosts) await offline(h);
  await at("2026-12-02T02:00:05Z");
  let m = await maintenance(repo);
  expect(m.ticks[0]).toMatchObject({ outcome: "pending", scheduled_at: "2026-12-02T02:00:00.000Z" });
  expect(m.ticks[0].reason).toBe(
    "none of the 3 hosts using the repository is online: it runs on the first that comes online",
  );
  expect(m.schedules[0]).toMatchObject({ hosts: 3, online_hosts: 0 });

  // Still nobody the next night: the new tick replaces the old one (one run, not a backlog).
  await at("2026-12-03T02:00:05Z");
  m = await maintenance(repo);
  expect(m.ticks.map((x: { outcome: string }) => x.outcome)).toEqual(["pending", "skipped"]);
  expect(m.ticks[1].reason).toContain("superseded by the tick at 2026-12-03T02:00:00.000Z");

  // web-b comes back: the next sweep runs it there, for the newest tick.
  const b = hosts[2] as Host;
  const agent = await connect(b.token, b.name);
  clock.advance(10_000);
  t.server.sweep();
  const cmd = await agent.next("command.run");
  expect(cmd.payload.kind).toBe("prune");
  const job = (await t.json(`/api/v1/jobs/${cmd.payload.job_id}`)).body;
  expect(job).toMatchObject({ host_id: b.id, scheduled_at: "2026-12-03T02:00:00.000Z" });
  m = await maintenance(repo);
  expect(m.ticks[0]).toMatchObject({ outcome: "fired", host_name: "web-b", job_id: job.id });
  // Another sweep does not fire it again.
  t.server.sweep();
  expect(agent.of("command.run")).toHaveLength(1);
});

test("a {host} template keeps its prune on each host, fired by each agent", async () => {
  const { hosts } = await fleet("/srv/restic/{host}");
  for (const h of hosts) {
    expect(
      h.agent
        .of("schedule.set")
        .at(-1)
        ?.payload.schedules.map((s) => s.kind)
        .sort(),
    ).toEqual(["backup", "prune"]);
  }
  await at("2026-12-02T02:00:05Z");
  expect(runs(hosts)).toEqual([]);
  // Each agent's own fire makes its own job.
  for (const h of hosts) {
    const listed = (await t.json(`/api/v1/hosts/${h.id}/schedules`)).body.items as {
      id: string;
      kind: string;
      repository_wide: string | null;
    }[];
    expect(listed.map((s) => s.repository_wide)).toEqual([null, null]);
    const prune = listed.find((s) => s.kind === "prune")?.id as string;
    h.agent.send("schedule.fire", { schedule_id: prune, scheduled_at: "2026-12-02T02:00:00.000Z" });
    await h.agent.next("command.run");
  }
  expect(runs(hosts)).toHaveLength(3);
});

test("a schedule made after its tick does not fire for it; a restarted server catches up the latest missed tick once", async () => {
  clock.advance(2 * 60_000); // 02:01, past tonight's tick
  const { repo, hosts } = await fleet("/srv/restic/late");
  t.server.sweep();
  expect(runs(hosts)).toEqual([]);
  // The server is down over two nights; on start it runs the latest missed tick, once.
  for (const a of agents.splice(0)) a.close();
  await t.restart();
  clock.advance(2 * DAY);
  const back = [] as Host[];
  for (const h of hosts) back.push({ ...h, agent: await connect(h.token, h.name) });
  t.server.sweep();
  await (back[1] as Host).agent.next("command.run");
  expect(runs(back)).toHaveLength(1);
  const m = await maintenance(repo);
  expect(m.ticks).toHaveLength(1);
  expect(m.ticks[0]).toMatchObject({ outcome: "fired", scheduled_at: "2026-12-04T02:00:00.000Z", host_name: "web-a" });
});

test("a shared repository's last check is each of its hosts': check_failed fires on all, and one host's sound check clears all", async () => {
  const repo = await post("/api/v1/repositories", { name: "shared", url: "/srv/restic/alerts", password: "pw-123" });
  const policy = await post("/api/v1/policies", {
    name: "checks",
    selector: {},
    repository_id: repo.body.id,
    schedules: [{ kind: "check", cron_expr: "0 3 * * *", timezone: "UTC" }],
  });
  expect(policy.status).toBe(201);
  const a = await host("web-a");
  const b = await host("web-b");
  const firing = async () =>
    ((await t.json("/api/v1/alerts?state=firing")).body.items as { condition: string; host_name: string }[])
      .filter((x) => x.condition === "check_failed")
      .map((x) => x.host_name);

  await at("2026-12-02T03:00:05Z");
  const first = (await a.agent.next("command.run")).payload.job_id;
  await finish(a, first, "failed", "Fatal: pack 1f2e3d4c is damaged");
  await at("2026-12-02T03:01:00Z");
  // The repository is damaged: every host backing up into it is told, not only the one that checked.
  expect((await firing()).sort()).toEqual(["web-a", "web-b"]);

  // The next night web-b checks the same repository, and it is sound: both alerts resolve.
  await at("2026-12-03T03:00:05Z");
  const second = (await b.agent.next("command.run")).payload.job_id;
  await finish(b, second, "succeeded");
  await at("2026-12-03T03:01:00Z");
  expect(await firing()).toEqual([]);
});

test("a prune's cron edited to a time already past today fires at the new time from the next day, not at once", async () => {
  const { repo, policy, hosts } = await fleet("/srv/restic/edited");
  await at("2026-12-02T02:00:05Z");
  await hosts[1]?.agent.next("command.run");
  expect(runs(hosts)).toHaveLength(1);
  await at("2026-12-02T23:30:00Z");
  const schedules = policy.schedules.map((s: { id: string; kind: string; cron_expr: string }) =>
    s.kind === "prune" ? { id: s.id, kind: "prune", cron_expr: "0 23 * * *", timezone: "UTC" } : s,
  );
  const patched = await t.json(`/api/v1/policies/${policy.id}`, {
    method: "PATCH",
    body: {
      schedules: schedules.map(({ id, kind, cron_expr, timezone, paths }: Record<string, unknown>) => ({
        id,
        kind,
        cron_expr,
        timezone,
        ...(paths && (paths as string[]).length ? { paths } : {}),
      })),
    },
  });
  expect(patched.status).toBe(200);
  // 23:00 today is a run of the new expression after the last tick, but it fell before the edit: nothing now.
  await at("2026-12-02T23:30:10Z");
  expect((await maintenance(repo)).ticks).toHaveLength(1);
  await at("2026-12-03T23:00:05Z");
  const m = await maintenance(repo);
  expect(m.ticks.map((x: { scheduled_at: string }) => x.scheduled_at)).toEqual([
    "2026-12-03T23:00:00.000Z",
    "2026-12-02T02:00:00.000Z",
  ]);
});
