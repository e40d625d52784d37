import type { ReadCyclesStore } from "./store.ts";
import type { Schedule } from "./types.ts";

/**
 * Rolling data checks: a check schedule's `read_data_subset` of "k/N" (a literal k, N from 2 to
 * 10,000) checks one part of N per job, part 1, 2, ... N and around again, so every N runs read
 * all the data. The server picks the part when it makes the job, so the wire carries only
 * restic's own "3/N". A cycle is complete when each of parts 1..N has succeeded since it began;
 * a part that fails (or is cancelled) is retried on the next run rather than skipped, so a cycle
 * never completes past data that was not read (the check_failed alert says why meanwhile). The
 * bookkeeping of finished parts is done by the triggers of migration 15, whatever path
 * finishes a job.
 */
export const ROLLING_READ = /^k\/(\d{1,5})$/;
export const MIN_PARTS = 2;
export const MAX_PARTS = 10_000;

/** N of a rolling subset "k/N"; null for anything else (restic's own forms among them). */
export function rollingParts(value: unknown): number | null {
  const m = typeof value === "string" ? ROLLING_READ.exec(value) : null;
  return m ? Number(m[1]) : null;
}

/** What is wrong with a rolling subset on a schedule, or null (also for a value that is not rolling). */
export function rollingProblem(value: unknown): string | null {
  if (typeof value !== "string" || !value.startsWith("k/")) return null;
  const n = rollingParts(value);
  if (n === null || n < MIN_PARTS || n > MAX_PARTS) {
    return `options.read_data_subset ${JSON.stringify(value)}: the rolling form is k/N with N from ${MIN_PARTS} to ${MAX_PARTS} (e.g. k/7)`;
  }
  return null;
}

/** The answer to a run-now check with a rolling subset: one job has no next part to take. */
export const rollingRunNowProblem = (value: string) =>
  `read_data_subset ${JSON.stringify(value)} rolls through the data one part per run, which only a check ` +
  "schedule can do (set it in the schedule's options); a single check takes a part such as 1/7, or 10%";

/** The schedule's rolling check, if it has one: its part count. */
export const rollingOf = (s: Schedule): number | null =>
  s.kind === "check" ? rollingParts(s.options.read_data_subset) : null;

/**
 * The part the schedule's next job checks, or null when it does not roll. A schedule without a
 * cycle, or whose N changed, starts one at part 1 (the last full read is kept). Call inside the
 * transaction that makes the job, then `taken` once the job was made.
 */
export function nextReadPart(store: ReadCyclesStore, s: Schedule, now: Date): number | null {
  const parts = rollingOf(s);
  if (parts === null) return null;
  const cycle = store.readCycle(s.id);
  if (cycle && cycle.parts === parts) return Math.min(Math.max(cycle.next_part, 1), parts);
  store.startReadCycle(s.id, parts, now.toISOString());
  return 1;
}

/** A job for `part` was made: noted for the triggers of migration 15, and the part after it is next. */
export function readPartTaken(store: ReadCyclesStore, s: Schedule, jobId: string, part: number): void {
  store.takeReadPart(s.id, jobId, part);
}

/** Where a rolling schedule stands, for its view: null for one that does not roll. */
export function readCycleView(store: ReadCyclesStore, s: Schedule) {
  const parts = rollingOf(s);
  if (parts === null) return null;
  const cycle = store.readCycle(s.id);
  const current = cycle !== null && cycle.parts === parts;
  return {
    next_part: current ? cycle.next_part : 1,
    parts,
    /** Parts that succeeded in the cycle under way. */
    parts_done: current ? cycle.parts_done : 0,
    cycle_started_at: current ? cycle.cycle_started_at : null,
    last_full_read_at: cycle?.last_full_read_at ?? null,
  };
}
