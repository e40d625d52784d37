import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentMessage, CommandRunPayload, ScheduleEntry } from "../../protocol/index.ts";
import { Autonomy, graceMs } from "./autonomy.ts";
import type { Logger } from "./log.ts";
import { Scheduler } from "./scheduler.ts";
import { StateStore } from "./state/state-store.ts";
import { FakeClock } from "./testing/fake-clock.ts";

// The ledger of fires and backups on the agent's own authority (DESIGN §8.7), on a real state dir
// and the real scheduler, with an injected clock; the job queue is the seam (enqueue).

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const everyMinute: ScheduleEntry = {
  id: "s_min",
  kind: "backup",
  cron_expr: "* * * * *",
  paths: ["/srv"],
  tags: ["daily"],
  enabled: true,
};
const forget: ScheduleEntry = { id: "s_forget", kind: "forget", cron_expr: "* * * * *", enabled: true };

async function harness(o: { dir?: string; start?: string; maxAge?: number | null; connected?: boolean } = {}) {
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), "rf-autonomy-")));
  if (!o.dir) dirs.push(dir);
  const clock = new FakeClock(o.start ?? "2026-12-03T10:00:30Z");
  const lines: string[] = [];
  const keep = (m: string) => lines.push(m);
  const log: Logger = { debug: keep, info: keep, warn: keep, error: keep };
  const state = await StateStore.open(dir, { log, clock });
  if (!o.dir) {
    await state.setConfig({
      repo_url: "/srv/repo",
      repo_password: "pw",
      ...(o.maxAge === null ? {} : { max_offline_age_seconds: o.maxAge ?? 7 * 86_400 }),
    });
    await state.setScheduleSet({ version: 1, schedules: [everyMinute, forget] });
    await state.setLastFire(everyMinute.id, "2026-12-03T10:00:00Z");
    await state.setLastFire(forget.id, "2026-12-03T10:00:00Z");
  }
  const queued: CommandRunPayload[] = [];
  const sent: AgentMessage[] = [];
  let link = o.connected !== false;
  // biome-ignore lint/style/useConst: assigned once the scheduler exists (the hooks call it)
  let autonomy: Autonomy;
  const scheduler = new Scheduler({
    clock,
    send: null,
    state: { getLastFire: (id) => state.getLastFire(id), setLastFire: (id, at) => state.setLastFire(id, at) },
    log,
    timezone: "UTC",
    hooks: {
      delivered: (id, at, fireId) => autonomy.delivered(id, at, fireId),
      unsent: () => autonomy.check(),
    },
  });
  autonomy = new Autonomy({
    clock,
    state,
    scheduler,
    log,
    enqueue: (cmd) => {
      queued.push(cmd);
      // The job is the agent's until it finishes (state.jobs() says so).
      void state.setJobState(cmd.job_id, "running");
    },
  });
  const send = (msg: AgentMessage) => {
    if (!link) return false;
    sent.push(msg);
    return true;
  };
  await scheduler.apply(state.scheduleSet() ?? { version: 0, schedules: [] });
  scheduler.start();
  const up = () => {
    link = true;
    autonomy.linkUp();
    scheduler.setSend(send);
  };
  const down = () => {
    link = false;
    scheduler.setSend(null);
    autonomy.linkDown();
  };
  if (o.connected !== false) up();
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await autonomy.settled();
      await state.settled();
      await Promise.resolve();
    }
  };
  const finish = async (jobId: string) => state.removeJob(jobId);
  return { dir, clock, state, scheduler, autonomy, queued, sent, lines, up, down, settle, finish };
}

test("the grace period: max(2 heartbeats, 2 min), capped at 10% of the interval", () => {
  const now = new Date("2026-12-03T10:00:00Z");
  expect(graceMs(everyMinute, "UTC", now)).toBe(6_000);
  expect(graceMs({ ...everyMinute, cron_expr: "0 * * * *" }, "UTC", now)).toBe(120_000);
  expect(graceMs({ ...everyMinute, cron_expr: "0 2 * * *" }, "UTC", now)).toBe(120_000);
  expect(graceMs({ ...everyMinute, cron_expr: "*/10 * * * *" }, "UTC", now)).toBe(60_000);
});

test("link down past the grace: the due backup tick runs here, once, with a UUIDv7 id and a fleet-job tag", async () => {
  const h = await harness();
  h.down();
  h.clock.advanceTo("2026-12-03T10:01:00Z"); // the tick: down 30 s, past the 6 s grace
  await h.settle();
  expect(h.queued).toHaveLength(1);
  const cmd = h.queued[0] as CommandRunPayload & { kind: "backup" };
  expect(cmd.job_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(cmd).toMatchObject({ kind: "backup", schedule_id: "s_min", scheduled_at: "2026-12-03T10:01:00Z" });
  expect(cmd.spec?.tags).toEqual(["daily", `fleet-job=${cmd.job_id}`]);
  expect(h.state.getJob(cmd.job_id)?.autonomous).toMatchObject({
    schedule_id: "s_min",
    scheduled_at: "2026-12-03T10:01:00Z",
  });
  expect(h.state.ledger.get("s_min", "2026-12-03T10:01:00Z")).toMatchObject({ state: "agent", job_id: cmd.job_id });
  // The forget schedule waits for the server: its tick stays a missed fire.
  expect(h.scheduler.missedOf("s_forget")).toBe("2026-12-03T10:01:00Z");
  expect(h.scheduler.missedOf("s_min")).toBeUndefined();
  expect(h.autonomy.status()).toMatchObject({ state: "active", ran: [{ job_id: cmd.job_id }] });
  // The server is back and sends a job for that tick (it fired it before): refused, not run twice.
  h.up();
  const refusal = await h.autonomy.claim({ ...cmd, job_id: "job_server" });
  expect(refusal).toContain(`already ran as job ${cmd.job_id}`);
  // Only the forget's missed fire went to the server; the backup's tick is the agent's.
  expect(h.sent.map((m) => m.type === "schedule.fire" && m.payload.schedule_id)).toEqual(["s_forget"]);
});

test("within the grace the tick waits; a link back in time sends it as an ordinary fire", async () => {
  const h = await harness({ start: "2026-12-03T10:00:58Z" });
  h.down();
  h.clock.advanceTo("2026-12-03T10:01:00Z"); // down 2 s: within 6 s
  await h.settle();
  expect(h.queued).toEqual([]);
  expect(h.autonomy.status().state).toBe("waiting");
  h.up();
  await h.settle();
  expect(h.sent.map((m) => m.type === "schedule.fire" && m.payload.scheduled_at)).toContain("2026-12-03T10:01:00Z");
  expect(h.queued).toEqual([]);
});

test("a tick still waiting when the grace ends runs then", async () => {
  const h = await harness({ start: "2026-12-03T10:00:58Z" });
  h.down();
  h.clock.advanceTo("2026-12-03T10:01:00Z");
  await h.settle();
  expect(h.queued).toEqual([]);
  h.clock.advanceTo("2026-12-03T10:01:04Z"); // 6 s after the link broke
  await h.settle();
  expect(h.queued.map((c) => c.scheduled_at)).toEqual(["2026-12-03T10:01:00Z"]);
});

test("the race: a fire the server never answered before the link broke runs here after the grace", async () => {
  const h = await harness({ start: "2026-12-03T10:00:59Z" });
  h.clock.advanceTo("2026-12-03T10:01:00Z"); // delivered; no command.run and no ack come back
  await h.settle();
  expect(h.state.ledger.get("s_min", "2026-12-03T10:01:00Z")?.state).toBe("sent");
  h.down();
  h.clock.advance(6_000);
  await h.settle();
  expect(h.queued.map((c) => c.scheduled_at)).toEqual(["2026-12-03T10:01:00Z"]);
  // The server's job for it, re-sent after the link is back: refused.
  const own = h.queued[0] as CommandRunPayload;
  h.up();
  expect(await h.autonomy.claim({ ...own, job_id: "job_srv" })).toContain(own.job_id);
});

test("a fire the server acked without a job (merged, refused) is never run here", async () => {
  const h = await harness({ start: "2026-12-03T10:00:59Z" });
  h.clock.advanceTo("2026-12-03T10:01:00Z");
  await h.settle();
  const fire = h.sent.find((m) => m.type === "schedule.fire") as AgentMessage;
  h.autonomy.acked([fire.id]);
  await h.settle();
  expect(h.state.ledger.get("s_min", "2026-12-03T10:01:00Z")?.state).toBe("declined");
  h.down();
  h.clock.advance(10_000);
  await h.settle();
  expect(h.queued).toEqual([]);
});

test("a command.run for a tick is claimed in the ledger: the same job again is fine, another is refused", async () => {
  const h = await harness();
  const cmd: CommandRunPayload = {
    job_id: "job_1",
    kind: "backup",
    schedule_id: "s_min",
    scheduled_at: "2026-12-03T10:00:00Z",
  };
  expect(await h.autonomy.claim(cmd)).toBeNull();
  expect(await h.autonomy.claim(cmd)).toBeNull();
  expect(await h.autonomy.claim({ ...cmd, job_id: "job_2" })).toContain("already ran as job job_1");
  // A run-now (no tick) is never the ledger's business.
  expect(await h.autonomy.claim({ job_id: "job_3", kind: "backup" })).toBeNull();
});

test("a long outage: one catch-up per schedule, the ticks before it counted as missed", async () => {
  const h = await harness();
  h.down();
  h.clock.advanceTo("2026-12-03T10:01:00Z");
  await h.settle();
  expect(h.queued).toHaveLength(1);
  // That backup is still running for an hour: every tick meanwhile is let go by, not queued.
  h.clock.advanceTo("2026-12-03T11:00:30Z");
  await h.settle();
  expect(h.queued).toHaveLength(1);
  await h.finish((h.queued[0] as CommandRunPayload).job_id);
  h.clock.advanceTo("2026-12-03T11:01:00Z");
  await h.settle();
  expect(h.queued).toHaveLength(2);
  const status = h.autonomy.status();
  expect(status.ran).toHaveLength(2);
  expect(status.missed_ticks).toBeGreaterThan(50);
});

test("the agent was stopped through an outage: at start one catch-up, with the ticks it slept through as missed", async () => {
  const first = await harness();
  first.down();
  await first.settle();
  first.autonomy.stop();
  await first.scheduler.stop();
  // Three hours later the agent starts again, the server still down.
  const h = await harness({ dir: first.dir, start: "2026-12-03T13:00:30Z", connected: false });
  await h.settle();
  expect(h.queued).toEqual([]); // a restarted agent waits one grace period for the server
  h.clock.advance(6_000);
  await h.settle();
  expect(h.queued.map((c) => c.scheduled_at)).toEqual(["2026-12-03T13:00:00Z"]);
  const started = h.state.getJob((h.queued[0] as CommandRunPayload).job_id)?.autonomous;
  expect(started?.missed).toEqual({
    count: 179,
    first_scheduled_at: "2026-12-03T10:01:00Z",
    last_scheduled_at: "2026-12-03T12:59:00Z",
  });
});

test("restarted during an outage: the ledger holds, and no tick runs twice", async () => {
  const first = await harness();
  first.down();
  first.clock.advanceTo("2026-12-03T10:01:00Z");
  await first.settle();
  const ran = first.queued[0] as CommandRunPayload;
  first.autonomy.stop();
  await first.scheduler.stop();
  await first.state.settled();
  const h = await harness({ dir: first.dir, start: "2026-12-03T10:01:20Z", connected: false });
  h.clock.advance(10_000);
  await h.settle();
  expect(h.queued).toEqual([]); // 10:01 ran already; 10:02 is not due yet
  expect(h.state.ledger.get("s_min", "2026-12-03T10:01:00Z")).toMatchObject({ state: "agent", job_id: ran.job_id });
  h.up();
  expect(await h.autonomy.claim({ ...ran, job_id: "job_srv" })).toContain(ran.job_id);
});

test("past max_offline_age autonomy ends, and says so in the log and the status", async () => {
  const h = await harness({ maxAge: 3600 });
  h.down();
  h.clock.advanceTo("2026-12-03T10:01:00Z");
  await h.settle();
  expect(h.queued).toHaveLength(1);
  await h.finish((h.queued[0] as CommandRunPayload).job_id);
  h.clock.advanceTo("2026-12-03T11:01:00Z"); // an hour and 30 s without a link
  await h.settle();
  expect(h.queued).toHaveLength(1);
  expect(h.autonomy.status()).toMatchObject({ state: "expired", max_offline_age_seconds: 3600 });
  expect(h.lines.filter((l) => l.includes("longer than max_offline_age"))).toHaveLength(1);
});

test("no max_offline_age from the server (older than protocol 10) or 0: nothing runs on the agent's own", async () => {
  for (const maxAge of [null, 0]) {
    const h = await harness({ maxAge });
    h.down();
    h.clock.advanceTo("2026-12-03T10:05:00Z");
    await h.settle();
    expect(h.queued).toEqual([]);
    expect(h.autonomy.status().state).toBe(maxAge === null ? "unavailable" : "off");
    h.autonomy.stop();
    await h.scheduler.stop();
  }
});
