import { Cron } from "croner";
import type { ScheduleEntry } from "../../protocol/index.ts";

/** RFC 3339 at second precision, the form croner's run times have: `2026-11-30T12:00:00Z`. */
export function toRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The latest run at or before `at`; croner's previousRuns() excludes a run exactly at its reference. */
export function latestRunAtOrBefore(cron: Cron, at: Date): Date | undefined {
  return cron.previousRuns(1, new Date(at.getTime() + 1))[0];
}

/**
 * The zone a schedule's expression is read in. A schedule's own time zone wins over the agent's:
 * typed since protocol 3, in options.timezone from an older server.
 */
export function scheduleZone(entry: ScheduleEntry, agentZone: string | undefined): string | undefined {
  const legacy = typeof entry.options?.timezone === "string" ? entry.options.timezone : undefined;
  return entry.timezone ?? legacy ?? agentZone;
}

/**
 * A Cron to compute a schedule's run times with, built when needed and not kept: each holds a
 * 10,000-entry year table (80 KB), which for 50 schedules was 4 MB of an idle agent's heap.
 * Building one takes microseconds, and happens per run, per apply and per clock step.
 */
export function cronFor(entry: ScheduleEntry, zone: string | undefined): Cron {
  return new Cron(entry.cron_expr, { paused: true, timezone: zone, mode: "5-or-6-parts" });
}
