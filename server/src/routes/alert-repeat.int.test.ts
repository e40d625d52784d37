import { afterEach, beforeEach, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";
import { type RecordingReceiver, recordingReceiver } from "../testing/recording-receiver.ts";

// repeat_after over the real server, a real receiver and an injected clock: a reminder every
// repeat_after while an alert keeps firing, none without it, and none once it resolved.
let t: TestServer;
let clock: ManualClock;
let hook: RecordingReceiver;
const HOUR = 3_600_000;

beforeEach(async () => {
  clock = new ManualClock("2026-12-02T10:00:00Z");
  t = await startTestServer({ clock });
  hook = recordingReceiver();
});
afterEach(async () => {
  await hook.stop();
  await t.close();
});

/** A sweep, the batch window, a delivery pass: what half a minute of the server does. */
async function tick() {
  t.server.sweep();
  clock.advance(31_000);
  await t.server.domain.alertDelivery.deliver();
}

test("a reminder every repeat_after while it fires; the resolution once, then nothing", async () => {
  const ch = await t.json("/api/v1/notification-channels", {
    method: "POST",
    body: { name: "hook", kind: "webhook", config: { url: `${hook.url}/hook` } },
  });
  const quiet = await t.json("/api/v1/notification-channels", {
    method: "POST",
    body: { name: "quiet", kind: "webhook", config: { url: `${hook.url}/quiet` } },
  });
  await t.json("/api/v1/alert-rules", {
    method: "POST",
    body: {
      name: "remind",
      conditions: ["host_offline"],
      channel_ids: [ch.body.id],
      offline_after: "5m",
      repeat_after: "1h",
    },
  });
  await t.json("/api/v1/alert-rules", {
    method: "POST",
    body: { name: "once", conditions: ["host_offline"], channel_ids: [quiet.body.id], offline_after: "5m" },
  });
  const h = await t.enroll("laptop-01");
  const agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello(5, { hostname: "laptop-01", resticHost: "laptop-01" });
  agent.close();
  await agent.waitClosed();

  clock.advance(10 * 60_000);
  await tick();
  const paths = () => hook.requests.map((r) => `${r.path} ${JSON.parse(r.text).event}`);
  expect(paths().sort()).toEqual(["/hook alert.firing", "/quiet alert.firing"]);

  // Within the hour: nothing. After it: a reminder on the channel whose rule asks for one only.
  clock.advance(30 * 60_000);
  await tick();
  expect(hook.requests).toHaveLength(2);
  clock.advance(31 * 60_000);
  await tick();
  expect(paths().slice(2)).toEqual(["/hook alert.firing"]);
  clock.advance(61 * 60_000);
  await tick();
  expect(paths().slice(3)).toEqual(["/hook alert.firing"]);

  // Back: resolved (told after the flap window), then no more reminders.
  const back = await TestAgent.connect(t.url, h.agent_token);
  await back.hello(5, { hostname: "laptop-01", resticHost: "laptop-01" });
  await tick();
  clock.advance(11 * 60_000);
  const errors = back.of("error").length;
  back.send("heartbeat", { sent_at: clock.now().toISOString() });
  back.sendRaw("{}");
  await back.until(() => back.of("error").length > errors, "the heartbeat stored");
  await tick();
  expect(paths().slice(4).sort()).toEqual(["/hook alert.resolved", "/quiet alert.resolved"]);
  clock.advance(2 * HOUR);
  back.send("heartbeat", { sent_at: clock.now().toISOString() });
  back.sendRaw("{}");
  await back.until(() => back.of("error").length > errors + 1, "the heartbeat stored");
  await tick();
  expect(hook.requests).toHaveLength(6);
  back.close();
});
