import { expect, test } from "bun:test";
import { TICK_SKEW_MS, tickProblem } from "./cron.ts";

// tickProblem (cron.ts): which scheduled_at values a schedule.fire may carry.
const at = (s: string) => new Date(s);

test("a run of the expression in its zone, from the latest before now to 10 min ahead", () => {
  const now = at("2026-12-01T12:00:00Z");
  const ok = (expr: string, zone: string | null, when: string) => tickProblem(expr, zone, at(when), now);
  expect(ok("*/5 * * * *", "UTC", "2026-12-01T12:00:00Z")).toBeNull();
  expect(ok("*/5 * * * *", "UTC", "2026-12-01T11:50:00Z")).toBeNull(); // the latest run 10 min back
  expect(ok("*/5 * * * *", "UTC", "2026-12-01T11:45:00Z")).toContain("older than");
  expect(ok("*/5 * * * *", "UTC", "2026-12-01T12:10:00Z")).toBeNull();
  expect(ok("*/5 * * * *", "UTC", "2026-12-01T12:15:00Z")).toContain(`at most ${TICK_SKEW_MS / 1000} s`);
  expect(ok("*/5 * * * *", "UTC", "2026-12-01T12:00:00.001Z")).toContain("is not a run");
  // Seconds first (6 fields), as the agent reads them.
  expect(ok("30 * * * * *", "UTC", "2026-12-01T11:59:30Z")).toBeNull();
  expect(ok("30 * * * * *", "UTC", "2026-12-01T11:59:00Z")).toContain("is not a run");
  // A monthly run missed while the host was down for weeks: its latest is still taken.
  expect(ok("0 3 2 * *", "Europe/Berlin", "2026-11-02T02:00:00Z")).toBeNull();
  expect(ok("0 3 2 * *", "Europe/Berlin", "2026-10-02T01:00:00Z")).toContain("older than");
});

test("daylight saving time: the runs the agent's croner computes are the ones taken", () => {
  // 2026-03-29 02:30 does not exist in Berlin; croner runs it at 03:00 CEST (01:00 UTC).
  const now = at("2026-03-29T06:00:00Z");
  expect(tickProblem("30 2 * * *", "Europe/Berlin", at("2026-03-29T01:00:00Z"), now)).toBeNull();
  // The autumn's repeated hour: 02:30 CEST (00:30 UTC) on 2026-10-25.
  expect(tickProblem("30 2 * * *", "Europe/Berlin", at("2026-10-25T00:30:00Z"), at("2026-10-25T03:00:00Z"))).toBeNull();
});

test("no zone known (an older agent, a schedule without one): a run in some UTC offset", () => {
  const now = at("2026-12-01T12:00:00Z");
  expect(tickProblem("0 2 * * *", null, at("2026-12-01T01:00:00Z"), now)).toBeNull(); // +01:00
  expect(tickProblem("0 2 * * *", null, at("2026-11-30T20:30:00Z"), now)).toBeNull(); // +05:30
  expect(tickProblem("0 2 * * *", null, at("2026-12-01T07:00:00Z"), now)).toBeNull(); // -05:00
  expect(tickProblem("0 2 * * *", null, at("2026-12-01T01:10:00Z"), now)).toContain("in any time zone");
  expect(tickProblem("0 2 * * *", null, at("2026-11-20T01:00:00Z"), now)).toContain("older than");
});
