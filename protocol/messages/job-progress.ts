import * as v from "valibot";
import { Count, envelope, Id, NonNegative } from "../common.ts";

/** At most about one per second per job. */
export const JobProgressPayload = v.object({
  job_id: Id,
  percent_done: v.pipe(v.number(), v.minValue(0, "must be between 0 and 1"), v.maxValue(1, "must be between 0 and 1")),
  files_done: Count,
  total_files: Count,
  bytes_done: Count,
  total_bytes: Count,
  eta_seconds: NonNegative,
  throughput_bps: NonNegative,
});
export type JobProgressPayload = v.InferOutput<typeof JobProgressPayload>;
export const JobProgress = envelope("job.progress", JobProgressPayload);
export type JobProgress = v.InferOutput<typeof JobProgress>;
