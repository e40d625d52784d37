import type { Clock } from "./clock.ts";
import type { Delivery } from "./delivery.ts";
import type { Logger } from "./log.ts";
import type { Emit, RepoConfig, Supervisor } from "./restic/index.ts";
import { clearOwnStaleLocks, type StaleLockOptions } from "./restic/stale-locks.ts";
import type { StateStore } from "./state/state-store.ts";

export const RESTARTED_ERROR = "agent restarted during the job; the repository was unlocked";

/** The agent's parts a restart recovery touches. */
export interface RecoveryContext {
  state: StateStore;
  delivery: Delivery;
  supervisor: Pick<Supervisor, "enqueue">;
  /** A report, kept until acked (Agent.emit). */
  emit: Emit;
  log: Logger;
  clock: Clock;
  /** The repository as configured now (read only when a lock may need clearing). */
  repo: () => RepoConfig | null;
  /** How the stale locks are cleared on that repository. */
  staleLocks: Omit<StaleLockOptions, "repo">;
}

/**
 * Recovers from the last run, before the first connection: a job that was running failed (and its
 * killed restic's lock is cleared); accepted ones run again, in order.
 */
export async function recoverJobs(c: RecoveryContext): Promise<void> {
  const pendingResults = c.delivery.recover();
  const jobs = [...c.state.jobs()];
  // A finished job whose result left the outbox (acked) while the state write was lost: forget it.
  for (const j of jobs) {
    if (j.state === "finished" && !pendingResults.has(j.command.job_id)) await c.state.removeJob(j.command.job_id);
  }
  const interrupted = jobs.filter((j) => j.state === "running");
  for (const j of interrupted) {
    c.log.warn("a job was running when the agent stopped; reporting it failed", { job_id: j.command.job_id });
    c.emit("job.finished", {
      job_id: j.command.job_id,
      status: "failed",
      exit_code: -1,
      finished_at: c.clock.now().toISOString(),
      error: RESTARTED_ERROR,
      failure_reason: "agent_restarted",
    });
  }
  await c.state.settled();
  // A killed restic leaves its lock behind; the next job would fail on it.
  const repo = c.repo();
  if (interrupted.length > 0 && repo) {
    await clearOwnStaleLocks({ ...c.staleLocks, repo }).catch((err) =>
      c.log.warn("could not clear stale locks", { error: String(err) }),
    );
  }
  for (const j of jobs) if (j.state === "accepted") c.supervisor.enqueue(j.command);
}
