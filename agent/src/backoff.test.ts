import { describe, expect, test } from "bun:test";
import { type ConnectOutcome, clockSleep, MAX_DELAY_MS, MIN_DELAY_MS, nextDelay, reconnectLoop } from "./backoff.ts";
import { FakeClock } from "./testing/fake-clock.ts";

describe("nextDelay", () => {
  test("doubles from 1–2 s and caps at 12–24 s", () => {
    const low = Array.from({ length: 10 }, (_, i) => nextDelay(i, () => 0));
    const high = Array.from({ length: 10 }, (_, i) => nextDelay(i, () => 1));
    expect(low).toEqual([1000, 2000, 4000, 8000, 12000, 12000, 12000, 12000, 12000, 12000]);
    expect(high).toEqual([2000, 4000, 8000, 16000, 24000, 24000, 24000, 24000, 24000, 24000]);
    expect(nextDelay(2, () => 0.5)).toBe(6000);
  });

  test("stays within 1 s .. 24 s for any attempt and any random value", () => {
    for (const attempt of [-3, 0, 1, 7, 50, 1e9, Number.POSITIVE_INFINITY, Number.NaN]) {
      for (const r of [0, 0.3, 0.999, 1, -1, 2, Number.NaN]) {
        const d = nextDelay(attempt, () => r);
        expect(d).toBeGreaterThanOrEqual(MIN_DELAY_MS);
        expect(d).toBeLessThanOrEqual(MAX_DELAY_MS);
      }
    }
  });
});

/** A scripted server: each connect() advances the clock by how long that connection stays up. */
function scripted(
  clock: FakeClock,
  script: Array<{ upMs: number; reason?: ConnectOutcome["reason"]; throws?: boolean; detail?: string }>,
) {
  let calls = 0;
  const connect = async (): Promise<ConnectOutcome> => {
    const step = script[calls++];
    if (!step) throw new Error("script exhausted");
    clock.advance(step.upMs);
    if (step.throws) throw new Error("ECONNREFUSED");
    return { reason: step.reason ?? "closed", ...(step.detail ? { detail: step.detail } : {}) };
  };
  return { connect, calls: () => calls };
}

describe("reconnectLoop", () => {
  test("backs off on repeated failures, resets after a long-lived connection, stops on unauthorized", async () => {
    const clock = new FakeClock();
    const { connect, calls } = scripted(clock, [
      { upMs: 0, throws: true },
      { upMs: 10 },
      { upMs: 500 },
      { upMs: 120_000 }, // healthy for two minutes: the next retry starts over
      { upMs: 0 },
      { upMs: 0, reason: "unauthorized" },
    ]);
    const slept: number[] = [];
    const gaveUp: ConnectOutcome[] = [];
    const result = await reconnectLoop({
      connect,
      clock,
      random: () => 0,
      sleep: async (ms) => {
        slept.push(ms);
      },
      onGiveUp: (o) => gaveUp.push(o),
    });
    expect(result).toBe("unauthorized");
    expect(calls()).toBe(6);
    expect(slept).toEqual([1000, 2000, 4000, 1000, 2000]);
    expect(gaveUp).toEqual([{ reason: "unauthorized" }]);
  });

  test("reports each retry with the attempt, the delay, the error and why the connection ended", async () => {
    const clock = new FakeClock();
    const { connect } = scripted(clock, [
      { upMs: 0, throws: true },
      { upMs: 0, detail: "closed (code 1011: overloaded)" },
      { upMs: 0, reason: "unauthorized" },
    ]);
    const retries: unknown[] = [];
    await reconnectLoop({ connect, clock, random: () => 1, sleep: async () => {}, onRetry: (i) => retries.push(i) });
    expect(retries).toMatchObject([
      { attempt: 0, delayMs: 2000, upForMs: 0, error: expect.any(Error), why: "ECONNREFUSED" },
      { attempt: 1, why: "closed (code 1011: overloaded)" },
    ]);
  });

  test("an abort during the sleep stops the loop without another connect", async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const { connect, calls } = scripted(clock, [{ upMs: 0 }, { upMs: 0 }]);
    const { promise: asleep, resolve: fellAsleep } = Promise.withResolvers<void>();
    const sleep = clockSleep(clock);
    const done = reconnectLoop({
      connect,
      clock,
      random: () => 0,
      sleep: (ms, signal) => {
        const sleeping = sleep(ms, signal);
        fellAsleep();
        return sleeping;
      },
      signal: controller.signal,
    });
    await asleep;
    expect(clock.pending).toBe(1);
    controller.abort();
    expect(await done).toBe("stopped");
    expect(calls()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  test("clockSleep wakes when the fake clock reaches the delay", async () => {
    const clock = new FakeClock();
    let woke = false;
    const sleeping = clockSleep(clock)(1500).then(() => {
      woke = true;
    });
    clock.advance(1499);
    await Promise.resolve();
    expect(woke).toBe(false);
    clock.advance(1);
    await sleeping;
    expect(woke).toBe(true);
  });
});
