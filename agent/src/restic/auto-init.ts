import { type GlobalFlags, initArgv, repoProbeArgv } from "./argv.ts";
import { classifyFailure, repositoryPresence } from "./classify.ts";
import type { JobProcesses } from "./job-processes.ts";
import { cancelled, failed, type Outcome } from "./outcome.ts";
import type { StepOutput } from "./step-output.ts";

export interface AutoInitDeps {
  processes: JobProcesses;
  /** A fresh reader for one restic step's output (logged like any step's). */
  output: () => StepOutput;
  /** An event line in the job's log. */
  log: (text: string) => void;
  /** Repository URLs seen to exist in this agent run: those are not probed again. */
  known: Set<string>;
  cancelRequested: () => boolean;
  resticPath: string;
}

export const INITIALISED_LINE = "repository did not exist: initialised it (auto_init)";

/**
 * auto_init, before a backup: probe the repository (`restic cat config`) and run `restic init`
 * only when restic said it does not exist. Anything else (a wrong password, a lock, the network)
 * is left to the backup, which fails with its own clear error: init never runs on a repository
 * that might be there. Returns null to go on with the backup, or the job's outcome.
 */
export async function ensureRepository(repoUrl: string, g: GlobalFlags, d: AutoInitDeps): Promise<Outcome | null> {
  if (d.known.has(repoUrl)) return null;
  const probe = await d.processes.capture(repoProbeArgv(g));
  if (d.cancelRequested()) return cancelled(probe.result.exitCode, "while checking that the repository exists");
  if (!probe.result.started) return failed(-1, `could not start restic (${d.resticPath}): ${probe.result.error}`);
  const presence = repositoryPresence(probe.out.stderrTail, probe.result.exitCode, probe.out.exitErrorCode);
  if (presence === "exists") {
    d.known.add(repoUrl);
    return null;
  }
  if (presence === "unknown") {
    d.log(
      `auto_init: restic could not tell whether the repository exists (exit code ${probe.result.exitCode}); ` +
        "not initialising it",
    );
    return null;
  }
  const out = d.output();
  const init = await d.processes.restic(initArgv(g), out);
  if (d.cancelRequested()) return cancelled(init.exitCode, "while restic init ran (auto_init)");
  if (!init.started) return failed(-1, `could not start restic (${d.resticPath}): ${init.error}`);
  if (init.exitCode !== 0) {
    const failure = classifyFailure(out.stderrTail, init.exitCode, out.exitErrorCode);
    // An unclassified failure's summary only repeats the exit code: restic's own lines say more.
    const detail = failure.reason === "unknown" ? failure.error.split("\n").slice(1) : [failure.error];
    const headline =
      "the repository does not exist and auto_init could not initialise it: " +
      `restic init failed with exit code ${init.exitCode}; the backup did not run`;
    return failed(init.exitCode, [headline, ...detail].join("\n"), failure.reason);
  }
  d.known.add(repoUrl);
  d.log(INITIALISED_LINE);
  return null;
}
