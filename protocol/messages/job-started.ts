import * as v from "valibot";
import { envelope, Id, JobKind, Timestamp } from "../common.ts";

export const JobStartedPayload = v.object({ job_id: Id, kind: JobKind, started_at: Timestamp });
export type JobStartedPayload = v.InferOutput<typeof JobStartedPayload>;
export const JobStarted = envelope("job.started", JobStartedPayload);
export type JobStarted = v.InferOutput<typeof JobStarted>;
