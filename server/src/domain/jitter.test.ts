import { expect, test } from "bun:test";
import { DomainError } from "./errors.ts";
import { checkJitter, durationText, hostDelay, jitterOffset, jitterSeconds } from "./jitter.ts";

const now = new Date("2026-12-01T12:00:00Z");
const refusal = (jitter: string, cron_expr = "0 2 * * *") => {
  try {
    checkJitter({ cron_expr, timezone: null, jitter }, now);
  } catch (err) {
    if (err instanceof DomainError) return { path: err.path, message: err.message };
    throw err;
  }
  return null;
};

test("durations: 90s, 30m, 1h, 1h30m and 1d; anything else is not one", () => {
  expect(["90s", "30m", "1h", "1h30m", "1d", " 2H "].map(jitterSeconds)).toEqual([90, 1800, 3600, 5400, 86_400, 7200]);
  for (const bad of ["", "soon", "30", "-5m", "1.5h", "m", "30m1h"]) expect(jitterSeconds(bad)).toBeNaN();
  expect([5400, 3600, 90, 0, 86_400].map(durationText)).toEqual(["1h30m", "1h", "1m30s", "0s", "24h"]);
});

test("a jitter is stored trimmed, none for empty or zero, and refused with a clear 400 naming the field", () => {
  expect(checkJitter({ cron_expr: "0 2 * * *", timezone: null, jitter: " 1H " }, now)).toBe("1h");
  expect(checkJitter({ cron_expr: "0 2 * * *", timezone: null, jitter: "0s" }, now)).toBeNull();
  expect(checkJitter({ cron_expr: "0 2 * * *", timezone: null, jitter: "" }, now)).toBeNull();
  expect(checkJitter({ cron_expr: "0 2 * * *", timezone: null, jitter: null }, now)).toBeNull();
  expect(refusal("soon")).toEqual({
    path: "jitter",
    message: 'jitter "soon" must be a duration like 90s, 30m, 1h or 1h30m (at most 24h)',
  });
  expect(refusal("25h")?.message).toBe("jitter 25h is longer than 24h: use at most 24h");
  expect(refusal("2h", "0 * * * *")?.message).toContain(
    "longer than the schedule's shortest interval between runs (1h)",
  );
  // A weekday cron's shortest gap is a day, not the weekend's three.
  expect(refusal("24h", "0 2 * * 1-5")).toBeNull();
  expect(refusal("25h", "0 2 * * 1-5")?.path).toBe("jitter");
  expect(refusal("1s", "*/2 * * * * *")).toBeNull();
  expect(refusal("3s", "*/2 * * * * *")?.message).toContain("(2s)");
});

test("the offset is stable, in [0, jitter), differs by host and schedule, and spreads a fleet over the jitter", () => {
  expect(jitterOffset("host_a", "sch_1", 3600)).toBe(jitterOffset("host_a", "sch_1", 3600));
  expect(jitterOffset("host_a", "sch_1", 0)).toBe(0);
  const offsets = Array.from({ length: 1000 }, (_, i) => jitterOffset(`host_${i}`, "sch_1", 3600));
  for (const o of offsets) {
    expect(Number.isInteger(o)).toBe(true);
    expect(o).toBeGreaterThanOrEqual(0);
    expect(o).toBeLessThan(3600);
  }
  // Every 6-minute tenth of the hour gets some of the 1,000 hosts, none more than twice its share.
  const tenths = Map.groupBy(offsets, (o) => Math.floor(o / 360));
  expect(tenths.size).toBe(10);
  for (const list of tenths.values()) expect(list.length).toBeLessThan(200);
  const other = Array.from({ length: 1000 }, (_, i) => jitterOffset(`host_${i}`, "sch_2", 3600));
  expect(other.filter((o, i) => o === offsets[i]).length).toBeLessThan(10);
});

test("an agent before protocol 9 gets no delay, and the schedule says why", () => {
  const s = { id: "sch_1", jitter: "1h" };
  expect(hostDelay(s, { id: "h1", protocol_version: 9 })).toEqual({
    delay_seconds: jitterOffset("h1", "sch_1", 3600),
    jitter_problem: null,
  });
  expect(hostDelay(s, { id: "h1", protocol_version: null }).delay_seconds).toBe(jitterOffset("h1", "sch_1", 3600));
  const old = hostDelay(s, { id: "h1", protocol_version: 8 });
  expect(old.delay_seconds).toBe(0);
  expect(old.jitter_problem).toBe(
    "the agent on host h1 speaks protocol 8, and jitter needs protocol 9: it runs this schedule at its nominal times until it is upgraded",
  );
  expect(hostDelay({ id: "sch_1", jitter: null }, { id: "h1", protocol_version: 8 })).toEqual({
    delay_seconds: 0,
    jitter_problem: null,
  });
});
