import { type CopyInput, copyArgv, copyInitArgv, type GlobalFlags, repoProbeArgv, snapshotsArgv } from "./argv.ts";
import { classifyFailure, repositoryPresence } from "./classify.ts";
import type { JobProcesses } from "./job-processes.ts";
import { cancelled, failed, type Outcome, resticFailed } from "./outcome.ts";
import { parseJsonLine, ResticSnapshotList } from "./restic-json.ts";
import type { StepOutput } from "./step-output.ts";

/**
 * A copy job (protocol 9, 3-2-1): this host's snapshots from its repository to one copy target,
 * then the target's own retention. The job's session has the TARGET as its repository and the
 * host's repository as the source (restic-session.ts `from`), so every step here runs against the
 * target:
 * 1. `cat config` probes the target, so a wrong target password or a missing target is named as
 *    the target's (restic copy's own error would not say which of the two repositories it was);
 *    a missing one is initialised when the target says auto_init, with the source's chunker
 *    parameters so the copies deduplicate.
 * 2. `copy --host=H`: only this host's snapshots; those the target holds already are skipped.
 * 3. `forget --host=H` with the target's policy, and `prune` when asked.
 * 4. `snapshots --host=H` on the target: the newest copy and the count go into stats.copy, which
 *    the server shows per target and judges for staleness.
 */
export interface CopyDeps {
  processes: JobProcesses;
  output: () => StepOutput;
  log: (text: string) => void;
  cancelRequested: () => boolean;
  resticPath: string;
  globals: GlobalFlags;
  /** The target's auto_init setting. */
  autoInit: boolean;
}

export async function runCopy(input: CopyInput, d: CopyDeps): Promise<Outcome> {
  const target = `copy target ${input.targetId}`;
  const notStarted = (error: string) => failed(-1, `could not start restic (${d.resticPath}): ${error}`);
  const probe = await d.processes.capture(repoProbeArgv(d.globals));
  if (d.cancelRequested()) return cancelled(probe.result.exitCode, `while opening the ${target}`);
  if (!probe.result.started) return notStarted(probe.result.error);
  if (probe.result.exitCode !== 0) {
    const presence = repositoryPresence(probe.out.stderrTail, probe.result.exitCode, probe.out.exitErrorCode);
    if (presence === "missing" && d.autoInit) {
      const out = d.output();
      const init = await d.processes.restic(copyInitArgv(d.globals), out);
      if (d.cancelRequested()) return cancelled(init.exitCode, `while restic init ran on the ${target}`);
      if (!init.started) return notStarted(init.error);
      if (init.exitCode !== 0)
        return prefixed(resticFailed(init.exitCode, out), `the ${target} could not be initialised`);
      d.log(`the ${target} did not exist: initialised it with the source's chunker parameters (auto_init)`);
    } else {
      const failure = classifyFailure(probe.out.stderrTail, probe.result.exitCode, probe.out.exitErrorCode);
      const hint =
        presence === "missing"
          ? "it does not exist: initialise it, or set auto_init on the repository"
          : failure.reason === "wrong_password"
            ? "its password is wrong (the repository's password on the server)"
            : "it could not be opened";
      return failed(
        probe.result.exitCode,
        `the ${target}: ${hint}; nothing was copied\n${failure.error}`,
        presence === "missing" ? "repo_missing" : failure.reason,
      );
    }
  }
  const steps: { args: string[]; what: string }[] = [{ args: copyArgv(d.globals), what: "copying" }];
  if (input.forget) steps.push({ args: input.forget, what: "applying the target's retention" });
  if (input.prune) steps.push({ args: ["prune", "--json"], what: "pruning the target" });
  for (const step of steps) {
    if (d.cancelRequested()) return cancelled(-1, "between steps");
    const out = d.output();
    const result = await d.processes.restic(step.args, out);
    if (d.cancelRequested()) return cancelled(result.exitCode, `while ${step.what}`);
    if (!result.started) return notStarted(result.error);
    if (result.exitCode !== 0 && !(step.args[0] === "forget" && result.exitCode === 3)) {
      const failure = resticFailed(result.exitCode, out);
      // The target opened in step 1, so a password restic copy refuses now is the source's.
      const source = step.args[0] === "copy" && failure.reason === "wrong_password";
      const headline = source
        ? `the host's own repository (the copy's source) did not open: its password is wrong; nothing was copied to the ${target}`
        : `${step.what} to the ${target} failed`;
      return prefixed(failure, headline);
    }
  }
  const listed = await d.processes.capture(snapshotsArgv(d.globals.host));
  const stats: Record<string, unknown> = { target_id: input.targetId };
  const list =
    listed.result.started && listed.result.exitCode === 0 ? parseJsonLine(listed.lines, ResticSnapshotList) : null;
  if (list) {
    const newest = list.reduce<(typeof list)[number] | null>(
      (best, s) => (best === null || Date.parse(s.time) > Date.parse(best.time) ? s : best),
      null,
    );
    stats.snapshot_count = list.length;
    stats.latest_snapshot_id = newest?.id ?? null;
    stats.latest_snapshot_time = newest ? new Date(newest.time).toISOString() : null;
  } else {
    d.log(`could not list this host's snapshots on the ${target} after the copy`);
  }
  return { status: "succeeded", exitCode: 0, stats: { copy: stats } };
}

/** A failure's error with a first line saying which step of the copy it was. */
function prefixed(outcome: Outcome, headline: string): Outcome {
  return outcome.status === "failed" ? { ...outcome, error: `${headline}\n${outcome.error ?? ""}`.trimEnd() } : outcome;
}
