import type { TerminalJobStatus } from "../../../protocol/index.ts";
import { classifyFailure, STDERR_TAIL_LINES } from "./classify.ts";
import type { StepOutput } from "./step-output.ts";
import type { FailureReason } from "./types.ts";

/** What job.finished will say, short of the timestamps. */
export interface Outcome {
  status: TerminalJobStatus;
  exitCode: number;
  error?: string;
  stats?: Record<string, unknown>;
  /** Set on failures; job.finished carries it as failure_reason (and, for older servers, in stats). */
  reason?: FailureReason;
  /** What went wrong in a job that still succeeded; job.finished carries them as warnings. */
  warnings?: string[];
}

/** A failure before or around restic: reason "unknown" unless given. */
export function failed(exitCode: number, error: string, reason: FailureReason = "unknown"): Outcome {
  return { status: "failed", exitCode, error, reason, stats: { failure_reason: reason } };
}

export function cancelled(exitCode: number, when: string): Outcome {
  return { status: "cancelled", exitCode, error: `cancelled ${when}` };
}

/**
 * A failed restic step: classified from its exit code and stderr tail, which becomes part of the
 * error text. Exit 130 without a cancel from the server means something outside the agent
 * interrupted restic (a shutdown): the job is cancelled, not failed, since restic did not fail.
 */
export function resticFailed(exitCode: number, out: StepOutput): Outcome {
  const failure = classifyFailure(out.stderrTail, exitCode, out.exitErrorCode);
  if (exitCode === 130) return { status: "cancelled", exitCode, error: failure.error };
  return failed(exitCode, failure.error, failure.reason);
}

/**
 * A restic step that exited 0 or 3. Exit 3 ("some source files could not be read") and backup
 * paths that were skipped keep the job succeeded, with the reason in `error` and `stats.warning`.
 */
export function resticSucceeded(
  step: string,
  exitCode: number,
  out: StepOutput,
  missingPaths: string[],
  totalPaths: number,
): Outcome {
  const warnings: string[] = [];
  if (missingPaths.length > 0) {
    warnings.push(
      `${missingPaths.length} of ${totalPaths} backup paths do not exist and were skipped: ${missingPaths.join(", ")}`,
    );
  }
  // Exit 3 from forget (0.19): some snapshots could not be removed.
  if (exitCode === 3) {
    warnings.push(step === "forget" ? "some snapshots could not be removed" : "some source files could not be read");
  }
  const stats: Record<string, unknown> = out.summary ? { ...out.summary } : {};
  if (missingPaths.length > 0) stats.missing_paths = missingPaths;
  const outcome: Outcome = { status: "succeeded", exitCode };
  if (warnings.length > 0) {
    outcome.warnings = warnings;
    const warning = warnings.join("; ");
    stats.warning = warning;
    const tail = exitCode === 3 ? out.stderrTail.slice(-STDERR_TAIL_LINES) : [];
    outcome.error = [warning, ...tail].join("\n");
  }
  if (Object.keys(stats).length > 0) outcome.stats = stats;
  return outcome;
}

/**
 * The post-hook's verdict. A backup that restic completed stays succeeded when only the post-hook
 * failed: the snapshot exists and is good, so calling the job failed would hide a restorable
 * backup. The failure is still shown: in `error` and as stats.warning. A failed restic run stays
 * failed, with the hook's failure added.
 */
export function withPostHookFailure(outcome: Outcome, hookExit: number, hookTail: string[]): Outcome {
  const note = `post-hook failed with exit code ${hookExit}`;
  const detail = [note, ...hookTail.slice(-STDERR_TAIL_LINES)].join("\n");
  const stats = { ...(outcome.stats ?? {}) };
  const result: Outcome = { ...outcome, stats, error: outcome.error ? `${outcome.error}\n${detail}` : detail };
  if (outcome.status === "succeeded") {
    stats.warning = stats.warning ? `${stats.warning}; ${note}` : note;
    result.warnings = [...(outcome.warnings ?? []), note];
  } else {
    stats.post_hook_failed = true;
  }
  return result;
}
