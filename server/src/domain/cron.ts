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
