import { describe, expect, test } from "bun:test";
import { backupHealth, cronInterval, expectedIntervals } from "./backup-health.ts";

const HOUR = 3600;
const base = {
  now: new Date("2026-12-02T12:00:00Z"),
  enrolledAt: "2026-11-01T00:00:00Z",
  intervalS: HOUR,
  lastStatus: "succeeded",
  lastSuccessAt: "2026-12-02T11:30:00Z",
};

describe("backupHealth", () => {
  test("a recent success without warnings is ok; with a warning it is warning", () => {
    expect(backupHealth(base)).toBe("ok");
    expect(backupHealth({ ...base, lastWarning: null })).toBe("ok");
    expect(backupHealth({ ...base, lastWarning: "the backup saved 0 files" })).toBe("warning");
  });

  test("failed wins over everything; stale wins over a warning", () => {
    expect(backupHealth({ ...base, lastStatus: "failed", lastWarning: "x" })).toBe("failed");
    expect(backupHealth({ ...base, lastSuccessAt: "2026-12-02T09:00:00Z", lastWarning: "x" })).toBe("stale");
  });

  test("without a schedule: a warning still shows, nothing expected otherwise", () => {
    expect(backupHealth({ ...base, intervalS: null, lastWarning: "x" })).toBe("warning");
    expect(backupHealth({ ...base, intervalS: null })).toBe("ok");
    expect(backupHealth({ ...base, intervalS: null, lastStatus: null, lastSuccessAt: null })).toBe("unscheduled");
  });

  test("never backed up: pending until due, then stale", () => {
    const never = { ...base, lastStatus: null, lastSuccessAt: null };
    expect(backupHealth({ ...never, enrolledAt: "2026-12-02T11:00:00Z" })).toBe("pending");
    expect(backupHealth(never)).toBe("stale");
  });
});

describe("cronInterval across a DST change (Europe/Berlin: 2026-03-29 and 2026-10-25)", () => {
  const at = (iso: string) => new Date(iso);

  test("a daily run is 24 h apart on ordinary days and 25 h on the autumn day", () => {
    // The cache is per day: each call below is on another day, so each is measured afresh. On
    // the spring day the gaps are 23 h (into it) and 24 h (out of it): the longest, 24 h, counts.
    expect(cronInterval("0 3 * * *", "Europe/Berlin", at("2026-03-20T12:00:00Z"))).toBe(24 * HOUR);
    expect(cronInterval("0 3 * * *", "Europe/Berlin", at("2026-03-29T12:00:00Z"))).toBe(24 * HOUR);
    expect(cronInterval("0 3 * * *", "Europe/Berlin", at("2026-03-30T12:00:00Z"))).toBe(24 * HOUR);
    expect(cronInterval("0 3 * * *", "Europe/Berlin", at("2026-10-25T12:00:00Z"))).toBe(25 * HOUR);
    expect(cronInterval("0 3 * * *", "Europe/Berlin", at("2026-10-26T12:00:00Z"))).toBe(24 * HOUR);
  });

  test("the value measured on the day of the change is not kept into the next day (the old cache kept it forever)", () => {
    const expr = "30 2 * * *"; // 02:30 does not exist on 2026-03-29 in Berlin
    const spring = cronInterval(expr, "Europe/Berlin", at("2026-03-29T00:30:00Z"));
    expect(spring).not.toBe(24 * HOUR);
    // Same day, later: the cached value.
    expect(cronInterval(expr, "Europe/Berlin", at("2026-03-29T23:59:00Z"))).toBe(spring);
    expect(cronInterval(expr, "Europe/Berlin", at("2026-03-31T10:00:00Z"))).toBe(24 * HOUR);
  });

  test("a host's daily backup on the autumn day is not stale at 25 h, as it would be under a 24 h interval", () => {
    // Measured the day before first: the old cache (per expression and zone, forever) kept 24 h.
    expect(cronInterval("0 3 * * *", "Europe/Berlin", at("2026-10-20T12:00:00Z"))).toBe(24 * HOUR);
    const now = at("2026-10-25T02:05:00Z"); // 03:05 CET, five minutes after the run, backup still going
    const lastSuccessAt = "2026-10-24T01:04:00Z"; // 03:04 CEST the day before: 25 h 1 min ago
    const intervalS = cronInterval("0 3 * * *", "Europe/Berlin", now);
    expect(intervalS).toBe(25 * HOUR);
    expect(backupHealth({ ...base, now, intervalS, lastSuccessAt })).toBe("ok");
  });

  test("hourly stays 1 h in UTC and an uneven expression takes its longest gap", () => {
    expect(cronInterval("0 * * * *", "Europe/Berlin", at("2026-06-01T12:00:00Z"))).toBe(HOUR);
    expect(cronInterval("0 9,17 * * *", null, at("2026-06-01T12:00:00Z"))).toBe(16 * HOUR);
    expect(cronInterval("not cron", null, at("2026-06-01T12:00:00Z"))).toBeNull();
  });

  test("expectedIntervals takes each host's shortest schedule, in its zone", () => {
    const now = at("2026-10-25T12:00:00Z");
    const out = expectedIntervals(
      [
        { host_id: "h1", cron_expr: "0 3 * * *", timezone: "Europe/Berlin" },
        { host_id: "h1", cron_expr: "0 */6 * * *", timezone: "Europe/Berlin" },
        { host_id: "h2", cron_expr: "0 3 * * *", timezone: "Europe/Berlin" },
        { host_id: "h3", cron_expr: "bad", timezone: null },
      ],
      now,
    );
    // Every 6 h, but 00:00 CEST → 06:00 CET is 7 h that day: shorter than the daily run still.
    expect(out.get("h1")).toBe(7 * HOUR);
    expect(out.get("h2")).toBe(25 * HOUR);
    expect(out.has("h3")).toBe(false);
  });
});
