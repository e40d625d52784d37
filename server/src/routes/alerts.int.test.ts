import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Alerts over the real server, with a real HTTP receiver on loopback and an injected clock:
// conditions from time (stale, offline), the lifecycle, batching, durable delivery, bad input.

interface Received {
  headers: Headers;
  body: string;
}
/** A webhook receiver that records what arrives; `failNext` answers 500 that many times first. */
function receiver() {
  const got: Received[] = [];
  const state = { failNext: 0, refused: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.text();
      if (state.failNext > 0) {
        state.failNext -= 1;
        state.refused += 1;
        return new Response("receiver is down for maintenance", { status: 500 });
      }
      got.push({ headers: req.headers, body });
      return new Response("ok");
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, got, state, stop: () => server.stop(true) };
}

let t: TestServer;
let clock: ManualClock;
let hook: ReturnType<typeof receiver>;
const agents: TestAgent[] = [];
const HOUR = 3_600_000;

beforeEach(async () => {
  clock = new ManualClock("2026-12-02T10:00:00Z");
  t = await startTestServer({ clock });
  hook = receiver();
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  hook.stop();
  await t.close();
});

async function channel(secret?: string) {
  const res = await t.json("/api/v1/notification-channels", {
    method: "POST",
    body: { name: "ops hook", kind: "webhook", config: { url: hook.url, ...(secret ? { secret } : {}) } },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
async function rule(channelId: string, extra: Record<string, unknown> = {}) {
  const res = await t.json("/api/v1/alert-rules", {
    method: "POST",
    body: {
      name: "everything",
      conditions: ["backup_failed", "backup_stale", "host_offline", "check_failed"],
      channel_ids: [channelId],
      ...extra,
    },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
/** An enrolled host, online, with a backup schedule. */
async function host(name: string, cron: string) {
  const h = await t.enroll(name);
  const agent = await TestAgent.connect(t.url, h.agent_token);
  agents.push(agent);
  await agent.hello(5, { hostname: name, resticHost: name });
  const s = await t.json(`/api/v1/hosts/${h.host_id}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: cron, paths: ["/srv"] },
  });
  expect(s.status).toBe(201);
  return { id: h.host_id, token: h.agent_token, agent };
}
const firing = async () =>
  (await t.json("/api/v1/alerts?state=firing")).body.items as Array<{ condition: string; host_name: string }>;
/** One sweep, then the batch window passes and delivery runs: what a minute of the server does. */
async function minute() {
  t.server.sweep();
  clock.advance(31_000);
  await t.server.domain.alertDelivery.deliver();
}
const bodies = () => hook.got.map((g) => JSON.parse(g.body));
/** A heartbeat at the clock's time, stored: the answer to a frame sent after it is the signal. */
async function alive(agent: TestAgent) {
  agent.send("heartbeat", { sent_at: clock.now().toISOString() });
  const errors = agent.of("error").length;
  agent.sendRaw("{}");
  await agent.until(() => agent.of("error").length > errors, "the answer after the heartbeat");
}

test("stale by time: one notification naming the host, signed, and nothing more while it keeps firing", async () => {
  const ch = await channel("hook-secret-123");
  await rule(ch);
  const h = await host("web-01", "0 * * * *");
  clock.advance(2 * HOUR + 60_000);
  // Still connected: a heartbeat keeps it online while time moves.
  await alive(h.agent);
  await minute();
  expect((await firing()).map((a) => [a.condition, a.host_name])).toEqual([["backup_stale", "web-01"]]);
  expect(hook.got).toHaveLength(1);
  const [sent] = hook.got;
  const expected = createHmac("sha256", "hook-secret-123")
    .update(sent?.body ?? "")
    .digest("hex");
  expect(sent?.headers.get("x-restic-fleet-signature")).toBe(`sha256=${expected}`);
  const body = bodies()[0];
  expect(body.event).toBe("alert.firing");
  expect(body.alerts).toEqual([
    expect.objectContaining({ condition: "backup_stale", host_id: h.id, host_name: "web-01", resolved_at: null }),
  ]);
  expect(body.sent_at).toBeString();

  // Sweeps while it keeps firing tell nothing more.
  await minute();
  await minute();
  expect(hook.got).toHaveLength(1);
});

test("offline is not failed: a host whose backups are not due yet is only host_offline", async () => {
  const ch = await channel();
  await rule(ch, { offline_after: "1h" });
  const h = await host("laptop-01", "0 3 * * *");
  h.agent.close();
  await h.agent.waitClosed();
  await t.server.domain.presence.sweep();
  clock.advance(91_000);
  t.server.sweep();
  clock.advance(HOUR);
  await minute();
  expect((await firing()).map((a) => a.condition)).toEqual(["host_offline"]);
  expect(bodies().map((b) => [b.event, b.alerts.map((a: { condition: string }) => a.condition)])).toEqual([
    ["alert.firing", ["host_offline"]],
  ]);

  // Back, then gone again within minutes (a flapping laptop, with a rule that wants to know
  // after 2 min): the same alert reopens, and no second message goes out.
  const again = await TestAgent.connect(t.url, h.token);
  agents.push(again);
  await again.hello(5, { hostname: "laptop-01", resticHost: "laptop-01" });
  await minute();
  expect(await firing()).toEqual([]);
  const rules = (await t.json("/api/v1/alert-rules")).body.items;
  await t.json(`/api/v1/alert-rules/${rules[0].id}`, { method: "PATCH", body: { offline_after: "2m" } });
  again.close();
  await again.waitClosed();
  clock.advance(3 * 60_000);
  await minute();
  expect((await firing()).map((a) => a.condition)).toEqual(["host_offline"]);
  expect((await t.json("/api/v1/alerts")).body.items).toHaveLength(1);
  expect(hook.got).toHaveLength(1);

  // Back for good: resolved, and told once the flap window has passed.
  const back = await TestAgent.connect(t.url, h.token);
  agents.push(back);
  await back.hello(5, { hostname: "laptop-01", resticHost: "laptop-01" });
  await minute();
  expect(hook.got).toHaveLength(1);
  clock.advance(11 * 60_000);
  await alive(back);
  await minute();
  expect(bodies().map((b) => b.event)).toEqual(["alert.firing", "alert.resolved"]);
  expect(bodies()[1].alerts[0].resolved_at).toBeString();
});

test("alerts that fire together go out as one message per channel, naming every host", async () => {
  const ch = await channel();
  await rule(ch);
  const hosts = [];
  for (const name of ["a-01", "a-02", "a-03"]) hosts.push(await host(name, "*/30 * * * *"));
  clock.advance(2 * HOUR + 60_000);
  for (const h of hosts) {
    await alive(h.agent);
  }
  await minute();
  expect(hook.got).toHaveLength(1);
  expect(
    bodies()[0]
      .alerts.map((a: { host_name: string }) => a.host_name)
      .sort(),
  ).toEqual(["a-01", "a-02", "a-03"]);
});

test("a receiver down for three attempts, then up: delivered once; queued across a restart: delivered once", async () => {
  const ch = await channel();
  await rule(ch);
  const h = await host("web-01", "0 * * * *");
  clock.advance(2 * HOUR + 60_000);
  await alive(h.agent);
  hook.state.failNext = 3;
  await minute();
  for (let i = 0; i < 3; i++) {
    clock.advance(5 * 60_000);
    await t.server.domain.alertDelivery.deliver();
  }
  expect(hook.state.refused).toBe(3);
  expect(hook.got).toHaveLength(1);
  const shown = await t.json(`/api/v1/notification-channels/${ch}`);
  expect(shown.body.last_error).toContain("HTTP 500");
  expect(shown.body.last_delivery_at).toBeString();
  const log = await t.json(`/api/v1/notification-channels/${ch}/deliveries`);
  expect(log.body.items[0]).toMatchObject({ state: "sent", attempts: 4, hosts: ["web-01"] });

  // A restart with a message queued: it goes once, after the restart.
  h.agent.close();
  hook.state.failNext = 1;
  clock.advance(HOUR);
  t.server.sweep();
  clock.advance(31_000);
  await t.server.domain.alertDelivery.deliver(); // refused once: still queued
  expect(hook.got).toHaveLength(1);
  await t.restart();
  clock.advance(10 * 60_000);
  await t.server.domain.alertDelivery.deliver();
  await t.server.domain.alertDelivery.deliver();
  expect(hook.got).toHaveLength(2);
  expect(bodies()[1].alerts.map((a: { condition: string }) => a.condition)).toEqual(["host_offline"]);
});

test("a mute keeps notifications back until it ends; the alert is still listed", async () => {
  const ch = await channel();
  await rule(ch);
  const h = await host("web-01", "0 * * * *");
  const mute = await t.json("/api/v1/mutes", {
    method: "POST",
    body: { host_id: h.id, until: "3h", reason: "disk swap" },
  });
  expect(mute.status).toBe(201);
  clock.advance(2 * HOUR + 60_000);
  await alive(h.agent);
  await minute();
  expect((await firing()).map((a) => a.condition)).toEqual(["backup_stale"]);
  expect(hook.got).toHaveLength(0);
  const listed = await t.json("/api/v1/alerts?condition=backup_stale");
  expect(listed.body.items.map((a: { muted: boolean }) => a.muted)).toEqual([true]);
  expect((await t.json("/api/v1/alerts?condition=host_offline")).body.items).toEqual([]);
  expect((await t.json("/api/v1/mutes")).body.items.map((m: { active: boolean }) => m.active)).toEqual([true]);
  clock.advance(HOUR);
  await alive(h.agent);
  await minute();
  expect(bodies().map((b) => b.event)).toEqual(["alert.firing"]);
});

test("send test answers what the receiver said", async () => {
  const ch = await channel("s3cret-value");
  const ok = await t.json(`/api/v1/notification-channels/${ch}/test`, { method: "POST" });
  expect(ok.body).toMatchObject({ ok: true, status: 200 });
  expect(bodies()[0]).toMatchObject({ event: "test", alerts: [] });
  hook.state.failNext = 1;
  const bad = await t.json(`/api/v1/notification-channels/${ch}/test`, { method: "POST" });
  expect(bad.body).toMatchObject({ ok: false, status: 500 });
  expect(bad.body.detail).toContain("receiver is down");
  // The secret never comes back.
  const shown = await t.json(`/api/v1/notification-channels/${ch}`);
  expect(JSON.stringify(shown.body)).not.toContain("s3cret-value");
});

describe("bad input answers 400 naming the field", () => {
  test.each([
    ["/api/v1/notification-channels", { name: "x", kind: "webhook", config: { url: "not a url" } }, "config.url"],
    [
      "/api/v1/notification-channels",
      { name: "x", kind: "email", config: { smtp_url: "smtp://", from: "a@b.example", to: ["c@d.example"] } },
      "config.smtp_url",
    ],
    ["/api/v1/notification-channels", { name: "x", kind: "pager", config: {} }, "kind"],
    ["/api/v1/alert-rules", { name: "x", conditions: ["disk_full"], channel_ids: [] }, "conditions.0"],
    [
      "/api/v1/alert-rules",
      { name: "x", conditions: ["backup_failed"], channel_ids: ["chan_missing"] },
      "channel_ids.0",
    ],
    [
      "/api/v1/alert-rules",
      { name: "x", conditions: ["backup_failed"], channel_ids: ["c"], offline_after: "soon" },
      "offline_after",
    ],
    ["/api/v1/mutes", { until: "2h", reason: "x" }, "host_id"],
  ])("%s %j → %s", async (path, body, field) => {
    const res = await t.json(path, { method: "POST", body });
    expect(res.status).toBe(400);
    expect(res.body.error.path).toBe(field);
  });

  test("a channel in use by a rule cannot be deleted", async () => {
    const ch = await channel();
    await rule(ch);
    const res = await t.json(`/api/v1/notification-channels/${ch}`, { method: "DELETE" });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain("everything");
  });
});
