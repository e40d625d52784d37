import * as v from "valibot";
import { envelope, Id, objectRecord, ShortText, SignedInt, TerminalJobStatus, Text, Timestamp } from "../common.ts";

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
  /**
   * Since protocol 3: why a failed job failed, classified by the agent (wrong_password,
   * repo_missing, locked, network, paths_missing, snapshot_missing, other_host, agent_restarted,
   * unknown, ...). Open text, so a newer agent's reason reaches an older server.
   */
  failure_reason: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "must be a snake_case reason"))),
  /** Since protocol 3: what went wrong in a job that still succeeded (skipped paths, unreadable files). */
  warnings: v.optional(v.pipe(v.array(ShortText), v.maxLength(100))),
});
export type JobFinishedPayload = v.InferOutput<typeof JobFinishedPayload>;
export const JobFinished = envelope("job.finished", JobFinishedPayload);
export type JobFinished = v.InferOutput<typeof JobFinished>;
