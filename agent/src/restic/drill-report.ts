import type { DrillFile, DrillReport } from "../../../protocol/index.ts";

export interface DrillFacts {
  snapshotId: string;
  files: DrillFile[];
  /** Why there is nothing to restore (no regular file, none under the cap), when that is so. */
  emptyReason?: string;
  restore?: { exitCode: number; error?: string };
}

const MAX_NAMED = 5;

function names(paths: string[]): string {
  const shown = paths.slice(0, MAX_NAMED).join(", ");
  return paths.length > MAX_NAMED ? `${shown} and ${paths.length - MAX_NAMED} more` : shown;
}

/**
 * The drill's verdict. It passes only when restic restored and verified every sampled file and no
 * unchanged live file differs; "passed with 0 files" is never a verdict.
 */
export function drillReport(f: DrillFacts): DrillReport {
  const verified = f.files.filter((x) => x.sha256 !== null);
  const mismatched = f.files.filter((x) => x.live === "mismatch").map((x) => x.path);
  const notRestored = f.files.filter((x) => x.live === "not_restored").map((x) => x.path);
  const report: DrillReport = {
    snapshot_id: f.snapshotId,
    files_requested: f.files.length,
    files_verified: verified.length,
    live_matched: f.files.filter((x) => x.live === "matched").length,
    mismatched,
    bytes: verified.reduce((sum, x) => sum + x.size, 0),
    result: "passed",
    files: f.files,
  };
  if (f.restore?.error) report.restic_error = f.restore.error;
  const reason = failureReason(f, notRestored, mismatched);
  if (reason) {
    report.result = "failed";
    report.reason = reason;
  }
  return report;
}

function failureReason(f: DrillFacts, notRestored: string[], mismatched: string[]): string | null {
  if (f.files.length === 0) return f.emptyReason ?? "the drill sampled no file, so it proves nothing";
  const parts: string[] = [];
  if (f.restore && f.restore.exitCode !== 0) {
    parts.push(`restic restore --verify failed with exit code ${f.restore.exitCode}`);
  }
  if (notRestored.length > 0) {
    parts.push(`${notRestored.length} of ${f.files.length} sampled files were not restored: ${names(notRestored)}`);
  }
  if (mismatched.length > 0) {
    parts.push(
      `${mismatched.length} restored files differ from the live file although its size and mtime are unchanged: ${names(mismatched)}`,
    );
  }
  return parts.length > 0 ? parts.join("; ") : null;
}
