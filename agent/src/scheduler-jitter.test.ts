import { describe, expect, test } from "bun:test";
import type { AgentMessage, ScheduleEntry } from "../../protocol/index.ts";
import { Scheduler } from "./scheduler.ts";
import type { LastFireState } from "./scheduler-fires.ts";
import { FakeClock } from "./testing/fake-clock.ts";

// Jitter (protocol 9): a schedule.set entry's delay_seconds makes each run fire that much after
// its nominal time, and the fire still names the nominal time. Injected clock; nothing sleeps.

const nightly = (delay_seconds?: number): ScheduleEntry => ({
  id: "s1",
  kind: "backup",
  cron_expr: "0 2 * * *",
  paths: ["/srv"],
  enabled: true,
  ...(delay_seconds === undefined ? {} : { delay_seconds }),
});

function harness(start: string, o: { lastFire?: string; connected?: boolean } = {}) {
  const clock = new FakeClock(start);
  /** [scheduled_at, the clock's time when it was sent] of every schedule.fire. */
  const fires: [string, string][] = [];
  const lastFires: Record<string, string> = o.lastFire ? { s1: o.lastFire } : {};
  const state: LastFireState = {
    getLastFire: (id) => lastFires[id],
    setLastFire: (id, at) => {
      lastFires[id] = at;
    },
  };
  const send = (m: AgentMessage) => {
    if (m.type !== "schedule.fire") throw new Error(`unexpected ${m.type}`);
    fires.push([m.payload.scheduled_at, clock.now().toISOString()]);
    return true;
  };
  const scheduler = new Scheduler({
    clock,
    send: o.connected === false ? null : send,
    state,
    log: { warn: (m) => console.error(m) },
    timezone: "UTC",
  });
  return { clock, fires, scheduler, send, lastFires };
}

describe("Scheduler with a jitter delay", () => {
  test("fires at nominal + delay, says the nominal tick, and at the same offset every day", async () => {
    const h = harness("2026-12-01T01:00:00Z");
    await h.scheduler.apply({ version: 1, schedules: [nightly(754)] }); // 12 min 34 s
    h.clock.advanceTo("2026-12-01T02:12:33Z");
    expect(h.fires).toEqual([]);
    h.clock.advanceTo("2026-12-03T03:00:00Z");
    expect(h.fires).toEqual([
      ["2026-12-01T02:00:00Z", "2026-12-01T02:12:34.000Z"],
      ["2026-12-02T02:00:00Z", "2026-12-02T02:12:34.000Z"],
      ["2026-12-03T02:00:00Z", "2026-12-03T02:12:34.000Z"],
    ]);
    expect(h.lastFires.s1).toBe("2026-12-03T02:00:00Z");
    // status shows the real times.
    expect(h.scheduler.nextRuns("s1", 1).map((d) => d.toISOString())).toEqual(["2026-12-04T02:12:34.000Z"]);
  });

  test("without delay_seconds (an older server) it fires at the nominal time", async () => {
    const h = harness("2026-12-01T01:00:00Z");
    await h.scheduler.apply({ version: 1, schedules: [nightly()] });
    h.clock.advanceTo("2026-12-01T02:00:00Z");
    expect(h.fires).toEqual([["2026-12-01T02:00:00Z", "2026-12-01T02:00:00.000Z"]]);
  });

  test("a run whose delayed time fell while disconnected fires once on reconnect, with its nominal time", async () => {
    const h = harness("2026-12-01T01:00:00Z", { connected: false });
    await h.scheduler.apply({ version: 1, schedules: [nightly(1800)] });
    h.clock.advanceTo("2026-12-02T03:00:00Z"); // both 02:30s passed with no connection
    expect(h.fires).toEqual([]);
    h.scheduler.setSend(h.send);
    expect(h.fires).toEqual([["2026-12-02T02:00:00Z", "2026-12-02T03:00:00.000Z"]]);
    h.clock.advanceTo("2026-12-03T02:30:00Z");
    expect(h.fires.at(-1)).toEqual(["2026-12-03T02:00:00Z", "2026-12-03T02:30:00.000Z"]);
  });

  test("an agent down at the delayed time fires that run once at start, with its nominal time", async () => {
    const h = harness("2026-12-01T02:45:00Z", { lastFire: "2026-11-30T02:00:00Z" });
    await h.scheduler.apply({ version: 1, schedules: [nightly(1800)] });
    expect(h.fires).toEqual([["2026-12-01T02:00:00Z", "2026-12-01T02:45:00.000Z"]]);
    h.clock.advanceTo("2026-12-02T02:29:59Z");
    expect(h.fires).toHaveLength(1);
  });

  test("an agent that starts after the nominal time but before the delayed one waits for it: no catch-up", async () => {
    const h = harness("2026-12-01T02:05:00Z", { lastFire: "2026-11-30T02:00:00Z" });
    await h.scheduler.apply({ version: 1, schedules: [nightly(1800)] });
    expect(h.fires).toEqual([]);
    h.clock.advanceTo("2026-12-01T02:30:00Z");
    expect(h.fires).toEqual([["2026-12-01T02:00:00Z", "2026-12-01T02:30:00.000Z"]]);
  });

  test("a new delay (a changed jitter) takes effect at the next run, and no run fires twice", async () => {
    const h = harness("2026-12-01T01:00:00Z");
    await h.scheduler.apply({ version: 1, schedules: [nightly(600)] });
    h.clock.advanceTo("2026-12-01T02:10:00Z");
    // The same run with a longer delay must not fire again at 02:20: its last fire is recorded.
    await h.scheduler.apply({ version: 2, schedules: [nightly(1200)] });
    h.clock.advanceTo("2026-12-02T03:00:00Z");
    expect(h.fires).toEqual([
      ["2026-12-01T02:00:00Z", "2026-12-01T02:10:00.000Z"],
      ["2026-12-02T02:00:00Z", "2026-12-02T02:20:00.000Z"],
    ]);
  });
});
