import type { CommandRunPayload } from "../../../protocol/index.ts";
import { type Capture, collectRepoStats, collectSnapshots, type LastCheck, type SnapshotSizes } from "./follow-up.ts";
import type { Outcome } from "./outcome.ts";
import type { Emit, FailureReason } from "./types.ts";

export interface ReportDeps {
  /** The job the reports follow: a repo.missing names it. */
  jobId: string;
  capture: Capture;
  emit: Emit;
  /** Writes an event line to the job's log. */
  log: (text: string) => void;
  /** The host's restic host name: the snapshot report lists only its snapshots. */
  host: string;
  sizes: SnapshotSizes;
  lastCheck: { value: LastCheck | null };
  now: () => string;
}

// These failures say nothing about the repository's data: the check never got to look at it.
const CHECK_DID_NOT_RUN: ReadonlySet<FailureReason> = new Set(["locked", "network", "wrong_password", "repo_missing"]);
// With these, the stats commands would fail the same way: spare the repository the attempt.
const STATS_WOULD_FAIL: ReadonlySet<FailureReason> = new Set(["network", "wrong_password", "repo_missing"]);

/**
 * Sends snapshots.report after a backup, forget, prune or tag (a tag changes the snapshot's id); repo.stats after a backup,
 * prune or check (and a forget that pruned). Only a successful run changed the repository, so
 * only that is reported, except check, whose verdict is the point even when it failed.
 * The reports never change the job's outcome here: their failures go to the job log. One failure
 * is more than a log line: a report that finds the repository gone (deleted during or right after
 * the job) means what the job wrote is gone too, so the server hears it as repo.missing (once) and
 * turns a succeeded backup failed. job.finished has gone out by then (it does not wait for the
 * reports, docs/performance.md 1), so this is its own message rather than the job's status.
 */
export async function reportAfter(cmd: CommandRunPayload, outcome: Outcome, deps: ReportDeps): Promise<void> {
  let missing: string | null = null;
  const capture: Capture = async (args) => {
    const out = await deps.capture(args);
    if (!out.ok && out.repoMissing && missing === null) missing = out.error;
    return out;
  };
  await runReports(cmd, outcome, { ...deps, capture }, () => missing !== null);
  if (missing !== null) {
    deps.log("the repository is gone: the reports after the job found no restic repository");
    deps.emit("repo.missing", { job_id: deps.jobId, detected_at: deps.now(), error: missing });
  }
}

async function runReports(
  cmd: CommandRunPayload,
  outcome: Outcome,
  deps: ReportDeps,
  repoGone: () => boolean,
): Promise<void> {
  const ok = outcome.status === "succeeded";
  const pruned = cmd.kind === "prune" || (cmd.kind === "forget" && cmd.spec?.prune === true);
  if (cmd.kind === "check" && outcome.status !== "cancelled") {
    if (ok) deps.lastCheck.value = { at: deps.now(), status: "ok" };
    else if (!outcome.reason || !CHECK_DID_NOT_RUN.has(outcome.reason)) {
      deps.lastCheck.value = { at: deps.now(), status: "failed" };
    }
  }
  if (ok && (cmd.kind === "backup" || cmd.kind === "forget" || cmd.kind === "prune" || cmd.kind === "tag")) {
    const snaps = await collectSnapshots(deps.capture, deps.sizes, deps.host);
    if (snaps.ok) {
      if (snaps.skipped > 0) deps.log(`${snaps.skipped} snapshots were left out of the report: invalid fields`);
      const { snapshots, dropped } = fitSnapshots(snaps.snapshots);
      if (dropped > 0) {
        deps.log(`the ${dropped} oldest snapshots were left out of the report: it must fit one frame`);
      }
      deps.emit("snapshots.report", { snapshots });
    } else {
      deps.log(`could not list the snapshots for the report: ${snaps.error}`);
    }
  }
  const checkRan = cmd.kind === "check" && outcome.status !== "cancelled";
  // With the repository gone, the stats would only fail the same way.
  if (repoGone()) return;
  if (
    (ok && (cmd.kind === "backup" || pruned)) ||
    (checkRan && !(outcome.reason && STATS_WOULD_FAIL.has(outcome.reason)))
  ) {
    const stats = await collectRepoStats(deps.capture, deps.lastCheck.value);
    if (stats.ok) deps.emit("repo.stats", stats.stats);
    else deps.log(`could not read the repository stats: ${stats.error}`);
  }
}

/** 768 KiB of snapshot JSON leaves room for the envelope under the server's 1 MiB frame limit. */
export const MAX_REPORT_BYTES = 768 * 1024;

/**
 * Keeps the newest snapshots whose JSON fits one frame (a repository shared by many hosts can hold
 * thousands); a report the server refuses would block every later report in the outbox.
 */
export function fitSnapshots<T extends { time: string }>(list: T[]): { snapshots: T[]; dropped: number } {
  const newest = [...list].sort((a, b) => b.time.localeCompare(a.time));
  const kept = new Set<T>();
  let bytes = 0;
  for (const s of newest) {
    bytes += JSON.stringify(s).length + 1;
    if (bytes > MAX_REPORT_BYTES) break;
    kept.add(s);
  }
  // restic's own order (oldest first) is kept.
  return { snapshots: list.filter((s) => kept.has(s)), dropped: list.length - kept.size };
}
