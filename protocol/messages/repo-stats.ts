import * as v from "valibot";
import { Count, envelope, NonNegative, Timestamp } from "../common.ts";

export const RepoStatsPayload = v.object({
  size_bytes: Count,
  snapshot_count: Count,
  dedup_ratio: NonNegative,
  last_check_at: v.optional(Timestamp),
  last_check_status: v.optional(v.picklist(["ok", "failed"])),
  lock_state: v.picklist(["locked", "unlocked"]),
});
export type RepoStatsPayload = v.InferOutput<typeof RepoStatsPayload>;
export const RepoStats = envelope("repo.stats", RepoStatsPayload);
export type RepoStats = v.InferOutput<typeof RepoStats>;
