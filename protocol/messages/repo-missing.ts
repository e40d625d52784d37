import * as v from "valibot";
import { envelope, Id, Text, Timestamp } from "../common.ts";

/**
 * Since protocol 6: the reports after a job (its snapshot list, the repository stats) found no
 * restic repository at the configured location, so what the job wrote is gone with it. The
 * server turns a succeeded backup failed: its snapshot cannot be restored. `error` is restic's
 * classified text. Sent once per job; an older server refuses the unknown type as invalid and
 * the agent drops it.
 */
export const RepoMissingPayload = v.object({
  job_id: Id,
  detected_at: Timestamp,
  error: Text,
});
export type RepoMissingPayload = v.InferOutput<typeof RepoMissingPayload>;
export const RepoMissing = envelope("repo.missing", RepoMissingPayload);
export type RepoMissing = v.InferOutput<typeof RepoMissing>;
