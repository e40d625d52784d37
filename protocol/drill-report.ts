/**
 * What a drill job's `job.finished` carries in `stats.drill` (DESIGN §8.5), plus the files it names
 * and restic's error. Types only: job stats travel as an untyped record, so this is no schema (and
 * no part of the schema hash); the agent writes it, the server stores it as sent, the UI and the
 * benchmarks read it.
 */

/** How a sampled file's live copy compared: `mismatch` (same size and mtime, other bytes) fails. */
export type DrillLiveState = "matched" | "changed" | "missing" | "mismatch" | "not_restored";

export interface DrillFile {
  path: string;
  size: number;
  /** Of the restored copy; null when it was not restored. */
  sha256: string | null;
  live: DrillLiveState;
  /** Why it was not restored (restic's error for it, or what the agent found), or not compared. */
  error?: string;
}

export interface DrillReport {
  snapshot_id: string;
  files_requested: number;
  files_verified: number;
  live_matched: number;
  /** Files whose live copy has the snapshot's size and mtime but other bytes. */
  mismatched: string[];
  /** Bytes of the files restored and verified. */
  bytes: number;
  result: "passed" | "failed";
  reason?: string;
  files: DrillFile[];
  /** restic's own words when the restore failed (redacted), e.g. "ciphertext verification failed". */
  restic_error?: string;
}
