import type { JobKind, JobStatus } from "../../../protocol/index.ts";

/**
 * What became of one tick of a repository-wide schedule (migration 21): `fired` on a host (the
 * job), `skipped` (why), or `pending`: no host using the repository was online, and it fires on
 * the first that is.
 */
export type MaintenanceOutcome = "fired" | "skipped" | "pending";

export interface MaintenanceTick {
  policy_schedule_id: string;
  /** The nominal tick (the cron's run), as a job's scheduled_at. */
  scheduled_at: string;
  repository_id: string;
  policy_id: string;
  kind: JobKind;
  outcome: MaintenanceOutcome;
  reason: string | null;
  host_id: string | null;
  job_id: string | null;
  created_at: string;
  updated_at: string;
}

/** A host that can run a repository's maintenance: it uses the repository and holds the policy's schedule. */
export interface MaintenanceCandidate {
  /** The host's copy of the policy schedule: the job's scheduled_id. */
  schedule_id: string;
  host_id: string;
  name: string;
  protocol_version: number | null;
  /** When it last ran a repository-wide tick of this repository; null: never. */
  last_used_at: string | null;
}

/** A prune or check job of a repository, with the host that ran it. */
export interface RepositoryJobFact {
  job_id: string;
  host_id: string;
  host_name: string;
  kind: JobKind;
  status: JobStatus;
  actor_kind: string;
  scheduled_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

/** Repository-wide maintenance (domain/maintenance.ts). */
export interface MaintenanceStore {
  /** How far this policy schedule's ticks have been looked at; null before the first look. */
  maintenanceMark: (policy_schedule_id: string) => string | null;
  setMaintenanceMark(policy_schedule_id: string, at: string): void;
  /** false when the tick already has its row (it was looked at before). */
  insertMaintenanceTick(t: MaintenanceTick): boolean;
  updateMaintenanceTick(
    t: Pick<
      MaintenanceTick,
      "policy_schedule_id" | "scheduled_at" | "outcome" | "reason" | "host_id" | "job_id" | "updated_at"
    >,
  ): void;
  /** Ticks waiting for a host to come online, oldest first. */
  pendingMaintenanceTicks: () => MaintenanceTick[];
  /** A repository's ticks, newest first. */
  maintenanceTicks: (repository_id: string, limit: number) => MaintenanceTick[];
  /**
   * The hosts that use the repository through their policies (no repository of their own) and
   * hold an enabled copy of the policy schedule, by name.
   */
  maintenanceCandidates: (
    policy_id: string,
    policy_schedule_id: string,
    repository_id: string,
  ) => MaintenanceCandidate[];
  /**
   * A prune or check of the repository that is queued or running: one the server fired for it,
   * or any on a host that uses it now. Null when none is.
   */
  repositoryBusyJob: (repository_id: string) => RepositoryJobFact | null;
  /** The newest finished (succeeded or failed) job of this kind on the repository, counted as above. */
  repositoryLastJob: (repository_id: string, kind: "prune" | "check") => RepositoryJobFact | null;
}
