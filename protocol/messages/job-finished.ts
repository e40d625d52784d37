import * as v from "valibot";
import { envelope, Id, objectRecord, SignedInt, TerminalJobStatus, Text, Timestamp } from "../common.ts";

/**
 * A job's terminal state. `stats` is restic's summary JSON, passed through as an object;
 * its keys vary by restic version, so only its shape (an object) is checked.
 */
export const JobFinishedPayload = v.object({
  job_id: Id,
  status: TerminalJobStatus,
  exit_code: SignedInt,
  finished_at: Timestamp,
  stats: v.optional(objectRecord(v.string(), v.unknown())),
  error: v.optional(Text),
});
export type JobFinishedPayload = v.InferOutput<typeof JobFinishedPayload>;
export const JobFinished = envelope("job.finished", JobFinishedPayload);
export type JobFinished = v.InferOutput<typeof JobFinished>;
