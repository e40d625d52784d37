import * as v from "valibot";
import { Count, envelope, Id, Text, Timestamp } from "../common.ts";

/** Cap on lines per `job.log` frame; the agent batches below it. */
export const MAX_LOG_LINES_PER_FRAME = 500;

export const LogLine = v.object({
  job_id: Id,
  seq: Count,
  ts: Timestamp,
  stream: v.picklist(["stdout", "stderr", "event"]),
  payload: Text,
});
export type LogLine = v.InferOutput<typeof LogLine>;

export const JobLogPayload = v.object({
  lines: v.pipe(
    v.array(LogLine),
    v.minLength(1, "must hold at least one line"),
    v.maxLength(MAX_LOG_LINES_PER_FRAME, `must hold at most ${MAX_LOG_LINES_PER_FRAME} lines`),
  ),
});
export type JobLogPayload = v.InferOutput<typeof JobLogPayload>;
export const JobLog = envelope("job.log", JobLogPayload);
export type JobLog = v.InferOutput<typeof JobLog>;
