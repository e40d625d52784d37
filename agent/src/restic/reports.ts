import type { CommandRunPayload } from "../../../protocol/index.ts";
import { type Capture, collectRepoStats, collectSnapshots, type LastCheck, type SnapshotSizes } from "./follow-up.ts";
import type { Outcome } from "./outcome.ts";
import type { Emit, FailureReason } from "./types.ts";

export interface ReportDeps {
  capture: Capture;
  emit: Emit;
  /** Writes an event line to the job's log. */
  log: (text: string) => void;
  sizes: SnapshotSizes;
  lastCheck: { value: LastCheck | null };
  now: () => string;
}

// These failures say nothing about the repository's data: the check never got to look at it.
const CHECK_DID_NOT_RUN: ReadonlySet<FailureReason> = new Set(["locked", "network", "wrong_password", "repo_missing"]);
// With these, the stats commands would fail the same way: spare the repository the attempt.
const STATS_WOULD_FAIL: ReadonlySet<FailureReason> = new Set(["network", "wrong_password", "repo_missing"]);

/**
 * DESIGN.md §4: snapshots.report after a backup, forget or prune; repo.stats after a backup,
 * prune or check (and a forget that pruned). Only a successful run changed the repository, so
 * only that is reported, except check, whose verdict is the point even when it failed.
 * The reports never change the job's outcome: their failures go to the job log.
 */
export async function reportAfter(cmd: CommandRunPayload, outcome: Outcome, deps: ReportDeps): Promise<void> {
  const ok = outcome.status === "succeeded";
  const pruned = cmd.kind === "prune" || (cmd.kind === "forget" && cmd.spec?.prune === true);
  if (cmd.kind === "check" && outcome.status !== "cancelled") {
    if (ok) deps.lastCheck.value = { at: deps.now(), status: "ok" };
    else if (!outcome.reason || !CHECK_DID_NOT_RUN.has(outcome.reason)) {
      deps.lastCheck.value = { at: deps.now(), status: "failed" };
    }
  }
  if (ok && (cmd.kind === "backup" || cmd.kind === "forget" || cmd.kind === "prune")) {
    const snaps = await collectSnapshots(deps.capture, deps.sizes);
    if (snaps.ok) {
      if (snaps.skipped > 0) deps.log(`${snaps.skipped} snapshots were left out of the report: invalid fields`);
      deps.emit("snapshots.report", { snapshots: snaps.snapshots });
    } else {
      deps.log(`could not list the snapshots for the report: ${snaps.error}`);
    }
  }
  const checkRan = cmd.kind === "check" && outcome.status !== "cancelled";
  if (
    (ok && (cmd.kind === "backup" || pruned)) ||
    (checkRan && !(outcome.reason && STATS_WOULD_FAIL.has(outcome.reason)))
  ) {
    const stats = await collectRepoStats(deps.capture, deps.lastCheck.value);
    if (stats.ok) deps.emit("repo.stats", stats.stats);
    else deps.log(`could not read the repository stats: ${stats.error}`);
  }
}
