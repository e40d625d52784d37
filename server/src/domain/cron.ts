import { Cron } from "croner";
import { DomainError } from "./errors.ts";

/** Whether the runtime knows this IANA zone. */
export function isKnownZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
  } catch {
    throw new DomainError(
      "invalid",
      `unknown time zone "${timezone}": use an IANA name such as Europe/Berlin`,
      "timezone",
    );
  }
}

/**
 * Validates a 5- or 6-field (seconds first) cron expression and returns its next runs.
 * Throws DomainError("invalid") with croner's own explanation.
 */
export function cronPreview(expr: string, timezone: string | null, from: Date, count = 5): string[] {
  if (timezone) checkTimezone(timezone);
  const fields = expr.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new DomainError(
      "invalid",
      `cron expression must have 5 fields (minute hour day month weekday) or 6 (seconds first); got ${fields}`,
      "cron_expr",
    );
  }
  try {
    const cron = new Cron(expr, { paused: true, mode: "5-or-6-parts", ...(timezone ? { timezone } : {}) });
    const runs = cron.nextRuns(count, from).map((d) => d.toISOString());
    if (runs.length === 0) throw new DomainError("invalid", "cron expression never fires", "cron_expr");
    return runs;
  } catch (err) {
    if (err instanceof DomainError) throw err;
    const message = err instanceof Error ? err.message.replace(/^CronPattern: /, "") : String(err);
    throw new DomainError("invalid", `invalid cron expression: ${message}`, "cron_expr");
  }
}

/**
 * 10 min: how far a fire's scheduled_at may be ahead of the server's clock (the host's clock runs
 * ahead), and how late a run may arrive (the host's clock runs behind, or the fire waited in a
 * busy connection) and still count as the latest.
 */
export const TICK_SKEW_MS = 10 * 60_000;

/** croner's options as the agent uses them (agent/src/scheduler-times.ts). */
const cronFor = (expr: string, zone: { timezone: string } | { utcOffset: number }) =>
  new Cron(expr, { paused: true, mode: "5-or-6-parts", ...zone });

/** The latest run at or before `at`; croner's previousRuns() leaves out a run exactly at its reference. */
const latestRunAtOrBefore = (cron: Cron, at: number): number | undefined =>
  cron.previousRuns(1, new Date(at + 1))[0]?.getTime();

/**
 * Every UTC offset in use, -12:00 to +14:00 in steps of 15 min: the zone of an older agent's
 * schedules when neither the schedule nor the host's hello names one (it reads them in its
 * process's local zone).
 */
const OFFSETS_MIN = Array.from({ length: (14 * 60 + 12 * 60) / 15 + 1 }, (_, i) => -12 * 60 + i * 15);

/**
 * Why `at` cannot be a schedule.fire of this expression, or null when it can. It must be a run of
 * the expression in the schedule's zone (with no zone known: in some UTC offset), at most
 * TICK_SKEW_MS ahead of `now`, and no older than the latest run at or before `now` less the skew
 * and less `delayMs`, the host's jitter offset (its agent fires each run that much later).
 * The agent fires each run when it falls, and after a disconnection or a stop only the latest
 * run it missed (agent/src/scheduler.ts), so that is the only old run it has to send. An agent
 * that sends runs it invented makes no jobs: at most the few real runs inside the window, each
 * one job (idempotent per tick).
 */
export function tickProblem(expr: string, zone: string | null, at: Date, now: Date, delayMs = 0): string | null {
  try {
    return tickProblemOf(expr, zone, at, now, delayMs);
  } catch (err) {
    // Stored expressions were validated on write; a croner upgrade could still disagree.
    return `cannot compute the runs of "${expr}": ${err instanceof Error ? err.message : String(err)}`;
  }
}

function tickProblemOf(expr: string, zone: string | null, at: Date, now: Date, delayMs: number): string | null {
  const t = at.getTime();
  const iso = at.toISOString();
  if (t > now.getTime() + TICK_SKEW_MS) {
    return (
      `scheduled_at ${iso} is ${Math.round((t - now.getTime()) / 1000)} s ahead of the server's clock ` +
      `(at most ${TICK_SKEW_MS / 1000} s are allowed): check the host's clock (NTP)`
    );
  }
  const horizon = now.getTime() - TICK_SKEW_MS - delayMs;
  // Each candidate zone: the run's time in it, and the latest run in it before the horizon.
  const zones: Array<{ shift: number; cron: Cron }> = [];
  if (zone) zones.push({ shift: 0, cron: cronFor(expr, { timezone: zone }) });
  else {
    // One UTC cron, read at shifted instants: a run at offset o is a UTC run of t + o.
    const utc = cronFor(expr, { utcOffset: 0 });
    for (const o of OFFSETS_MIN) zones.push({ shift: o * 60_000, cron: utc });
  }
  let latest: number | undefined;
  // Runs fall on whole seconds (croner's match() would ignore the milliseconds).
  const whole = t % 1000 === 0;
  for (const { shift, cron } of zones) {
    const isRun =
      whole && (zone ? latestRunAtOrBefore(cron, t) === t || cron.match(at) : cron.match(new Date(t + shift)));
    if (!isRun) continue;
    const last = latestRunAtOrBefore(cron, horizon + shift);
    if (last === undefined || t >= last - shift) return null;
    latest = Math.max(latest ?? Number.NEGATIVE_INFINITY, last - shift);
  }
  if (latest === undefined) {
    return `scheduled_at ${iso} is not a run of "${expr}" ${zone ? `in ${zone}` : "in any time zone"}`;
  }
  return (
    `scheduled_at ${iso} is older than the schedule's latest run before now (${new Date(latest).toISOString()}): ` +
    "only the latest missed run is caught up"
  );
}
