import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentMessage, ScheduleEntry, ScheduleSetPayload } from "../../protocol/index.ts";
import type { Clock } from "./clock.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";
import type { LastFireState, Send } from "./scheduler-fires.ts";
import { StateStore } from "./state/state-store.ts";
import { FakeClock } from "./testing/fake-clock.ts";

const entry = (id: string, cron_expr: string, enabled = true): ScheduleEntry => ({
  id,
  kind: "backup",
  cron_expr,
  paths: ["/etc"],
  enabled,
});
const set = (version: number, ...schedules: ScheduleEntry[]): ScheduleSetPayload => ({ version, schedules });

function harness(
  options: { start?: string; timezone?: string; lastFires?: Record<string, string>; connected?: boolean } = {},
) {
  const clock = new FakeClock(options.start ?? "2026-11-30T12:00:00Z");
  const sent: AgentMessage[] = [];
  const warnings: string[] = [];
  const lastFires: Record<string, string> = { ...options.lastFires };
  const state: LastFireState = {
    getLastFire: (id) => lastFires[id],
    setLastFire: (id, at) => {
      lastFires[id] = at;
    },
  };
  const send: Send = (msg) => {
    sent.push(msg);
    return true;
  };
  const schedulerOptions: SchedulerOptions = {
    clock,
    send: options.connected === false ? null : send,
    state,
    log: { warn: (m) => warnings.push(m) },
    timezone: options.timezone ?? "UTC",
  };
  const scheduler = new Scheduler(schedulerOptions);
  /** [schedule_id, scheduled_at] of every schedule.fire sent so far. */
  const fires = () =>
    sent.map((m) => {
      if (m.type !== "schedule.fire") throw new Error(`unexpected ${m.type}`);
      return [m.payload.schedule_id, m.payload.scheduled_at];
    });
  return { clock, sent, warnings, lastFires, send, scheduler, fires };
}

/** A scheduler on a clock whose wall time can be stepped (shift) apart from its timers (fake). */
function steppedClockScheduler() {
  const fake = new FakeClock("2026-11-30T12:00:00Z");
  let offset = 0;
  const clock: Clock = {
    now: () => new Date(fake.now().getTime() + offset),
    setTimeout: (fn, ms) => fake.setTimeout(fn, ms),
    clearTimeout: (handle) => fake.clearTimeout(handle),
  };
  const sent: AgentMessage[] = [];
  const scheduler = new Scheduler({
    clock,
    send: (m) => sent.push(m) > 0,
    state: { getLastFire: () => undefined, setLastFire: () => {} },
    log: { warn: () => {} },
    timezone: "UTC",
  });
  return { fake, sent, scheduler, shift: (ms: number) => (offset = ms) };
}

describe("Scheduler: the original four cases", () => {
  test("apply resolves with the set's version (for schedule.ack)", async () => {
    const { scheduler } = harness();
    expect(scheduler.version).toBeNull();
    expect(await scheduler.apply(set(42, entry("s1", "0 3 * * *")))).toBe(42);
    expect(scheduler.version).toBe(42);
    expect(await scheduler.apply(set(43))).toBe(43);
  });

  test("a tick sends schedule.fire with the schedule id and its scheduled time", async () => {
    const { scheduler, clock, sent, lastFires } = harness();
    await scheduler.apply(set(1, entry("s1", "*/5 * * * *")));
    clock.advance(4 * 60_000 + 59_000);
    expect(sent).toEqual([]);
    clock.advance(1000);
    expect(sent).toHaveLength(1);
    const msg = sent[0];
    if (msg?.type !== "schedule.fire") throw new Error("expected schedule.fire");
    expect(msg.payload).toEqual({ schedule_id: "s1", scheduled_at: "2026-11-30T12:05:00Z" });
    expect(msg.ts).toBe("2026-11-30T12:05:00.000Z");
    expect(msg.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lastFires.s1).toBe("2026-11-30T12:05:00Z");
  });

  test("disabled entries never fire", async () => {
    const { scheduler, clock, fires } = harness();
    await scheduler.apply(set(1, entry("on", "0 * * * *"), entry("off", "* * * * *", false)));
    clock.advance(3 * 3_600_000);
    expect(fires().map(([id]) => id)).toEqual(["on", "on", "on"]);
    expect(scheduler.nextRuns("off", 3)).toEqual([]);
  });

  test("a replaced set stops the old cron: the old schedule never fires again", async () => {
    const { scheduler, clock, fires } = harness();
    await scheduler.apply(set(1, entry("old", "* * * * *")));
    clock.advance(60_000);
    await scheduler.apply(set(2, entry("new", "0 * * * *")));
    expect(clock.pending).toBe(1);
    clock.advance(24 * 3_600_000);
    const ids = fires().map(([id]) => id);
    expect(ids[0]).toBe("old");
    expect(ids.slice(1)).toEqual(Array(24).fill("new"));
  });
});

describe("Scheduler", () => {
  test("a bad cron expression is skipped with a warning naming the schedule and croner's reason", async () => {
    const { scheduler, clock, fires, warnings } = harness();
    expect(await scheduler.apply(set(5, entry("bad", "61 * * * *"), entry("good", "0 * * * *")))).toBe(5);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("bad");
    expect(warnings[0]).toContain("Invalid value for minute: 61");
    clock.advance(3_600_000);
    expect(fires()).toEqual([["good", "2026-11-30T13:00:00Z"]]);
  });

  test("7-field expressions are refused (5 or 6 fields only)", async () => {
    const { scheduler, warnings } = harness();
    await scheduler.apply(set(1, entry("y", "0 0 0 1 1 * 2027")));
    expect(warnings[0]).toContain("schedule y");
  });

  test("a 6-field expression with seconds fires every second", async () => {
    const { scheduler, clock, fires } = harness();
    await scheduler.apply(set(1, entry("s", "* * * * * *")));
    for (let i = 0; i < 5; i++) clock.advance(1000);
    expect(fires()).toEqual([
      ["s", "2026-11-30T12:00:01Z"],
      ["s", "2026-11-30T12:00:02Z"],
      ["s", "2026-11-30T12:00:03Z"],
      ["s", "2026-11-30T12:00:04Z"],
      ["s", "2026-11-30T12:00:05Z"],
    ]);
  });

  test("ticks missed while disconnected fire once on reconnect, the latest only", async () => {
    const h = harness();
    await h.scheduler.apply(set(1, entry("m", "* * * * *"), entry("h", "0 * * * *")));
    let up = false;
    h.scheduler.setSend((msg) => (up ? h.send(msg) : false)); // a connection that is going down
    h.clock.advance(60_000);
    h.scheduler.setSend(null);
    h.clock.advance(3 * 3_600_000); // 180 minute ticks and 3 hourly ticks missed
    expect(h.sent).toEqual([]);
    expect(h.lastFires).toEqual({});
    up = true;
    h.scheduler.setSend(h.send);
    expect(h.fires()).toEqual([
      ["m", "2026-11-30T15:01:00Z"],
      ["h", "2026-11-30T15:00:00Z"],
    ]);
    expect(h.lastFires).toEqual({ m: "2026-11-30T15:01:00Z", h: "2026-11-30T15:00:00Z" });
    // Nothing is remembered twice.
    h.scheduler.setSend(h.send);
    expect(h.sent).toHaveLength(2);
  });

  test("a send that throws counts as not sent", async () => {
    const h = harness();
    await h.scheduler.apply(set(1, entry("m", "* * * * *")));
    h.scheduler.setSend(() => {
      throw new Error("socket closing");
    });
    h.clock.advance(60_000);
    expect(h.warnings[0]).toContain("socket closing");
    h.scheduler.setSend(h.send);
    expect(h.fires()).toEqual([["m", "2026-11-30T12:01:00Z"]]);
  });

  test("a tick missed while the agent was down fires once at start, the latest one", async () => {
    const h = harness({
      start: "2026-11-30T12:30:00Z",
      lastFires: { hourly: "2026-11-30T08:00:00Z", current: "2026-11-30T12:00:00Z" },
    });
    h.scheduler.start();
    expect(h.sent).toEqual([]);
    await h.scheduler.apply(
      set(1, entry("hourly", "0 * * * *"), entry("current", "0 * * * *"), entry("new", "0 * * * *")),
    );
    // hourly: 09..12 were missed, only 12:00 fires; current: up to date; new: never fired, no back-fire.
    expect(h.fires()).toEqual([["hourly", "2026-11-30T12:00:00Z"]]);
    // Only the first apply catches up; a later one does not.
    h.lastFires.current = "2026-11-30T10:00:00Z";
    await h.scheduler.apply(set(2, entry("current", "0 * * * *")));
    expect(h.sent).toHaveLength(1);
  });

  test("a tick missed while down, and no connection yet at start, fires when the connection comes", async () => {
    const h = harness({ start: "2026-11-30T12:30:00Z", lastFires: { d: "2026-11-28T03:00:00Z" }, connected: false });
    await h.scheduler.apply(set(1, entry("d", "0 3 * * *")));
    expect(h.sent).toEqual([]);
    h.scheduler.setSend(h.send);
    expect(h.fires()).toEqual([["d", "2026-11-30T03:00:00Z"]]);
  });

  test("stop() is idempotent and a stopped scheduler fires nothing", async () => {
    const h = harness();
    await h.scheduler.apply(set(1, entry("s", "* * * * * *")));
    h.scheduler.setSend(null);
    h.clock.advance(1000); // one missed tick remembered
    await h.scheduler.stop();
    await h.scheduler.stop();
    expect(h.clock.pending).toBe(0);
    h.clock.advance(60_000);
    h.scheduler.setSend(h.send);
    h.scheduler.start();
    await h.scheduler.apply(set(2, entry("s", "* * * * * *")));
    h.clock.advance(60_000);
    expect(h.sent).toEqual([]);
    expect(h.clock.pending).toBe(0);
  });

  test("apply waits for an in-flight tick's last-fire write", async () => {
    const clock = new FakeClock();
    const events: string[] = [];
    const { promise: written, resolve: finishWrite } = Promise.withResolvers<void>();
    const scheduler = new Scheduler({
      clock,
      send: () => true,
      state: { getLastFire: () => undefined, setLastFire: () => written.then(() => void events.push("persisted")) },
      log: { warn: () => {} },
      timezone: "UTC",
    });
    await scheduler.apply(set(1, entry("s", "* * * * *")));
    clock.advance(60_000);
    const applied = scheduler.apply(set(2)).then(() => void events.push("applied"));
    finishWrite();
    await applied;
    expect(events).toEqual(["persisted", "applied"]);
  });

  test("a failed last-fire write is logged, not thrown", async () => {
    const h = harness();
    const scheduler = new Scheduler({
      clock: h.clock,
      send: h.send,
      state: { getLastFire: () => undefined, setLastFire: () => Promise.reject(new Error("disk full")) },
      log: { warn: (m) => h.warnings.push(m) },
      timezone: "UTC",
    });
    await scheduler.apply(set(1, entry("s", "* * * * *")));
    h.clock.advance(60_000);
    await scheduler.stop();
    expect(h.sent).toHaveLength(1);
    expect(h.warnings[0]).toContain("disk full");
  });

  test("a run 32 days ahead (past setTimeout's 24.8-day limit) fires on time: timers hop at most 5 minutes", async () => {
    const h = harness();
    await h.scheduler.apply(set(1, entry("y", "0 0 1 1 *")));
    h.clock.advanceTo("2027-01-01T00:00:00Z");
    expect(h.fires()).toEqual([["y", "2027-01-01T00:00:00Z"]]);
    expect(h.clock.pending).toBe(1);
  });

  test("when the wall clock steps back, an earlier run is not skipped", async () => {
    // FakeClock only moves forward, so this test drives a clock whose time it sets by hand.
    const { fake, sent, scheduler, shift } = steppedClockScheduler();
    await scheduler.apply(set(1, entry("h", "0 * * * *")));
    shift(-2 * 3_600_000); // NTP steps the clock back to 10:00; the 11:00 run is ahead again
    fake.advance(5 * 60_000);
    fake.advance(55 * 60_000);
    const at = sent.map((m) => (m.type === "schedule.fire" ? m.payload.scheduled_at : m.type));
    expect(at[0]).toBe("2026-11-30T11:00:00Z");
  });

  test("one timer for all schedules: 50 daily schedules wake the agent once per 5-min hop, not 50 times", async () => {
    const h = harness();
    const daily = Array.from({ length: 50 }, (_, i) => entry(`d${i}`, `${i} 3 * * *`));
    await h.scheduler.apply(set(1, ...daily));
    expect(h.clock.pending).toBe(1);
    h.clock.advance(60 * 60_000); // an idle hour: 12 hops, each re-arms the one timer
    expect(h.clock.pending).toBe(1);
    expect(h.sent).toEqual([]);
    h.clock.advanceTo("2026-12-01T03:02:00Z");
    expect(h.fires()).toEqual([
      ["d0", "2026-12-01T03:00:00Z"],
      ["d1", "2026-12-01T03:01:00Z"],
      ["d2", "2026-12-01T03:02:00Z"],
    ]);
    expect(h.clock.pending).toBe(1);
  });

  test("schedules due at the same time, or sharing an expression, each fire once", async () => {
    const h = harness();
    await h.scheduler.apply(set(1, entry("a", "0 * * * *"), entry("b", "0 * * * *"), entry("c", "*/30 * * * *")));
    h.clock.advance(3_600_000);
    expect(h.fires()).toEqual([
      ["c", "2026-11-30T12:30:00Z"],
      ["a", "2026-11-30T13:00:00Z"],
      ["b", "2026-11-30T13:00:00Z"],
      ["c", "2026-11-30T13:00:00Z"],
    ]);
    // Applying the same set again (as on every reconnect) neither fires again nor loses a run.
    await h.scheduler.apply(set(2, entry("a", "0 * * * *"), entry("b", "0 * * * *"), entry("c", "*/30 * * * *")));
    expect(h.sent).toHaveLength(4);
    h.clock.advance(30 * 60_000);
    expect(h.fires().slice(4)).toEqual([["c", "2026-11-30T13:30:00Z"]]);
  });

  test("a wake long after its time (suspend) fires each schedule once, with its latest run", async () => {
    // A timer that fires 3 h late, as after a suspended VM resumes: the clock jumps, then it fires.
    const { fake, sent, scheduler, shift } = steppedClockScheduler();
    await scheduler.apply(set(1, entry("m", "* * * * *"), entry("h", "0 * * * *")));
    shift(3 * 3_600_000);
    fake.advance(60_000);
    expect(
      sent.map((m) => (m.type === "schedule.fire" ? [m.payload.schedule_id, m.payload.scheduled_at] : [])),
    ).toEqual([
      ["m", "2026-11-30T15:01:00Z"],
      ["h", "2026-11-30T15:00:00Z"],
    ]);
    await scheduler.stop();
  });

  test("nextRuns lists the coming run times", async () => {
    const h = harness();
    await h.scheduler.apply(set(1, entry("d", "15 3 * * *")));
    expect(h.scheduler.nextRuns("d", 2).map((d) => d.toISOString())).toEqual([
      "2026-12-01T03:15:00.000Z",
      "2026-12-02T03:15:00.000Z",
    ]);
    expect(h.scheduler.nextRuns("nope", 2)).toEqual([]);
  });

  test("an unknown time zone is refused at construction", () => {
    expect(() => harness({ timezone: "Mars/Olympus_Mons" })).toThrow("invalid time zone");
  });
});

describe("Scheduler time zones (Europe/Berlin, DST in 2026: Mar 29 02:00→03:00, Oct 25 03:00→02:00)", () => {
  test("spring forward: 03:00 local moves from 02:00Z to 01:00Z; 02:30 (which does not exist) runs at 03:00", async () => {
    const h = harness({ start: "2026-03-27T12:00:00Z", timezone: "Europe/Berlin" });
    await h.scheduler.apply(set(1, entry("three", "0 3 * * *"), entry("gap", "30 2 * * *")));
    h.clock.advanceTo("2026-03-30T12:00:00Z");
    const byId = (id: string) =>
      h
        .fires()
        .filter(([s]) => s === id)
        .map(([, at]) => at);
    expect(byId("three")).toEqual(["2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"]);
    expect(byId("gap")).toEqual(["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]);
  });

  test("fall back: a daily 02:30 runs once on the day 02:30 happens twice; hourly runs on both 02:00s", async () => {
    const h = harness({ start: "2026-10-24T12:00:00Z", timezone: "Europe/Berlin" });
    await h.scheduler.apply(set(1, entry("daily", "30 2 * * *"), entry("hourly", "0 * * * *")));
    h.clock.advanceTo("2026-10-26T12:00:00Z");
    const byId = (id: string) =>
      h
        .fires()
        .filter(([s]) => s === id)
        .map(([, at]) => at);
    expect(byId("daily")).toEqual(["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]);
    const hourly = byId("hourly");
    expect(hourly).toContain("2026-10-25T00:00:00Z"); // 02:00 CEST
    expect(hourly).toContain("2026-10-25T01:00:00Z"); // 02:00 CET
    expect(hourly).toHaveLength(48);
  });
});

describe("Scheduler with the StateStore", () => {
  const root = mkdtemp(join(tmpdir(), "rf-scheduler-"));
  afterAll(async () => rm(await root, { recursive: true, force: true }));

  test("across a restart, the tick that fell while the agent was down fires once", async () => {
    const dir = join(await root, "state");
    const log = { warn: () => {} };
    const daily = set(3, entry("d", "0 3 * * *"));
    const clock1 = new FakeClock("2026-11-30T02:00:00Z");
    const store1 = await StateStore.open(dir, { log });
    const first = new Scheduler({ clock: clock1, send: () => true, state: store1, log, timezone: "UTC" });
    await store1.setScheduleSet(daily);
    await first.apply(daily);
    clock1.advanceTo("2026-11-30T04:00:00Z");
    await first.stop(); // waits for the last-fire write

    // Down for two days; the new process starts from the stored set.
    const clock2 = new FakeClock("2026-12-02T12:00:00Z");
    const store2 = await StateStore.open(dir, { log });
    expect(store2.getLastFire("d")).toBe("2026-11-30T03:00:00Z");
    const sent: AgentMessage[] = [];
    const second = new Scheduler({ clock: clock2, send: null, state: store2, log, timezone: "UTC" });
    const stored = store2.scheduleSet();
    if (!stored) throw new Error("schedule set not stored");
    expect(await second.apply(stored)).toBe(3);
    second.setSend((m) => sent.push(m) > 0);
    expect(sent.map((m) => m.type === "schedule.fire" && m.payload)).toEqual([
      { schedule_id: "d", scheduled_at: "2026-12-02T03:00:00Z" },
    ]);
    await second.stop();
    expect((await StateStore.open(dir, { log })).getLastFire("d")).toBe("2026-12-02T03:00:00Z");
  });
});

describe("a schedule's own time zone", () => {
  test("typed (protocol 3) or in options.timezone (older servers): both win over the agent's zone", async () => {
    const h = harness({ start: "2026-11-30T12:00:00Z", timezone: "UTC" });
    await h.scheduler.apply(
      set(
        1,
        { ...entry("typed", "0 2 * * *"), timezone: "Asia/Tokyo" },
        { ...entry("legacy", "0 2 * * *"), options: { timezone: "Asia/Tokyo" } },
        entry("local", "0 2 * * *"),
      ),
    );
    h.clock.advanceTo("2026-12-01T03:00:00Z");
    const at = (id: string) => h.fires().find(([s]) => s === id)?.[1];
    // 02:00 in Tokyo is 17:00 UTC the day before; the plain one runs at 02:00 in the agent's zone.
    expect(at("typed")).toBe("2026-11-30T17:00:00Z");
    expect(at("legacy")).toBe("2026-11-30T17:00:00Z");
    expect(at("local")).toBe("2026-12-01T02:00:00Z");
  });
});
