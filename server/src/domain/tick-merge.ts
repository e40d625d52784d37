import type { Store } from "./store.ts";
import type { Job } from "./types.ts";

/**
 * At most one pending run per schedule (issue 18, item 7). A tick that comes while the previous
 * run of the same schedule, on the same host, is still queued or running makes no job: it is
 * merged into that run and counted as skipped, with the reason, so a slow host never builds a
 * queue (a `*\/2 * * * * *` schedule behind a 10 min backup would otherwise queue 300 jobs).
 *
 * The answer for a tick, in order:
 * - the job it made already (a re-sent fire: UNIQUE (scheduled_id, scheduled_at));
 * - the run it was merged into already (a re-sent skipped fire: counted once, even after that run
 *   ended, so a lost ack cannot turn a skipped tick into a job later);
 * - the pending run it is merged into now;
 * - null: the tick makes a new job.
 *
 * Whoever fires a schedule (the host's agent today; the server, for repository-wide maintenance)
 * asks here first, so the rule holds whichever door a tick came in by.
 */
export type TickOutcome = { job: Job; merged: false } | { job: Job; merged: true; counted: boolean } | null;

export function mergeTick(
  store: Pick<Store, "jobOfTick" | "skipOfTick" | "pendingTickJob" | "addSkippedTick" | "jobById">,
  tick: { schedule_id: string; host_id: string; scheduled_at: string },
  now: string,
): TickOutcome {
  const made = store.jobOfTick(tick.schedule_id, tick.scheduled_at);
  if (made) return { job: made, merged: false };
  const seen = store.skipOfTick(tick.schedule_id, tick.scheduled_at);
  const into = seen ? store.jobById(seen.job_id) : null;
  if (into) return { job: into, merged: true, counted: false };
  const pending = store.pendingTickJob(tick.schedule_id, tick.host_id);
  if (!pending) return null;
  store.addSkippedTick({
    job_id: pending.id,
    schedule_id: tick.schedule_id,
    scheduled_at: tick.scheduled_at,
    at: now,
    reason: skipReason(pending),
  });
  return { job: pending, merged: true, counted: true };
}

/** What an operator reads beside the schedule: which run the tick was merged into, and why. */
export function skipReason(pending: Job): string {
  const since = pending.status === "running" && pending.started_at ? ` (since ${pending.started_at})` : "";
  return `previous run ${pending.id} still ${pending.status}${since}`;
}
