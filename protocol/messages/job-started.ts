import * as v from "valibot";
import { Count, envelope, Id, JobKind, Timestamp } from "../common.ts";
import { BackupSpec } from "./command-run.ts";

/**
 * Since protocol 10: a job the agent started on its own authority, while it had no link to the
 * server for longer than the grace period (DESIGN §8.7): the schedule tick it runs, the backup spec
 * it ran with (the last config the agent held), and how many of the schedule's ticks it let go by
 * during the outage (one catch-up runs, not one per tick). The server stores it as a job row with
 * actor_kind "agent", merged with a row it had made for the same tick.
 */
export const AutonomousRun = v.object({
  schedule_id: Id,
  scheduled_at: Timestamp,
  spec: v.optional(BackupSpec),
  /** The schedule's ticks before this one that fell during the outage and were not run. */
  missed: v.optional(v.object({ count: Count, first_scheduled_at: Timestamp, last_scheduled_at: Timestamp })),
});
export type AutonomousRun = v.InferOutput<typeof AutonomousRun>;

export const JobStartedPayload = v.object({
  job_id: Id,
  kind: JobKind,
  started_at: Timestamp,
  autonomous: v.optional(AutonomousRun),
});
export type JobStartedPayload = v.InferOutput<typeof JobStartedPayload>;
export const JobStarted = envelope("job.started", JobStartedPayload);
export type JobStarted = v.InferOutput<typeof JobStarted>;
