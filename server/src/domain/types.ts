import type { JobKind, JobSpecs, JobStatus, ReportedHostPolicy, RetentionPolicy } from "../../../protocol/index.ts";
import type { Labels } from "./labels.ts";

export type Role = "admin" | "viewer";

export interface User {
  id: string;
  username: string;
  role: Role;
  created_at: string;
  disabled_at: string | null;
}

export interface Host {
  id: string;
  name: string;
  hostname: string;
  /**
   * The name this host's snapshots carry in the repository (`--host`, so hosts sharing a repository
   * touch only their own): the name it enrolled with, as its agent reports it. A rename (`name`)
   * never changes it.
   */
  restic_host: string;
  /** The host's IANA time zone from its agent (protocol 3): the zone of its schedules without one. */
  timezone: string | null;
  /**
   * The host's own policy from its agent's hello (protocol 4): what any server may ask of it.
   * The agent enforces it; null when its agent is older or has not said hello.
   */
  policy: ReportedHostPolicy | null;
  /** Set by admins or by the enrollment token it enrolled with; never by its agent (DESIGN §8.2). */
  labels: Labels;
  os: string | null;
  arch: string | null;
  agent_version: string | null;
  restic_version: string | null;
  protocol_version: number | null;
  boot_time: string | null;
  online: boolean;
  last_seen_at: string | null;
  enrolled_at: string;
  schedule_version: number;
  acked_schedule_version: number;
  /**
   * The repository the policies give this host (DESIGN §8.3) when it has none of its own: the
   * highest-priority matching policy's, and that policy. Null when no policy gives one.
   */
  policy_repository_id: string | null;
  repository_policy_id: string | null;
  /** Matching policies of one priority name different repositories: nothing is pushed to the host. */
  policy_conflict: PolicyConflict | null;
  /**
   * The host's own max_offline_age ("36h", "0"), set by an admin (DESIGN §8.7); null when not set
   * here, so its policies or the default decide (domain/offline-age.ts).
   */
  max_offline_age: string | null;
}

/** A tie between policies on a host's repository (DESIGN §8.3), as shown on the host and policy. */
export interface PolicyConflict {
  priority: number;
  policies: { id: string; name: string; repository_id: string }[];
}

/** Repository settings as stored: secrets stay encrypted until the gateway sends them. */
export interface HostConfigRow {
  host_id: string;
  repo_url: string | null;
  repo_password_enc: string | null;
  repo_username: string | null;
  repo_credential_enc: string | null;
  hook_shell: string | null;
  updated_at: string;
}

/**
 * What the host list shows beside a host, read in the same row (store/host-summary-store.ts;
 * the jobs and repo_stats facts are kept by the triggers of migration 4).
 */
export interface HostSummary {
  last_backup: { job_id: string; status: JobStatus; finished_at: string | null; error: string | null } | null;
  /**
   * What the last finished backup warned about when it succeeded (skipped paths, exit 3, 0 files,
   * a failed post-hook), kept by the triggers of migration 13; null when it had no warning.
   */
  last_backup_warning: string | null;
  last_successful_backup_at: string | null;
  /**
   * The last finished (succeeded or failed) check, kept by the triggers of migration 12: the
   * server's own record, which survives an agent's restart (repo.stats' last_check_at does not).
   * `stats` is what the agent reported with it (e.g. num_errors), null when nothing.
   */
  last_check: {
    job_id: string;
    status: JobStatus;
    finished_at: string | null;
    error: string | null;
    stats?: Record<string, unknown> | null;
  } | null;
  /** The last finished drill, kept by the triggers of migration 15 (null before the first). */
  last_drill: LastDrill | null;
  /** When the host's last rolling data check completed a full cycle (migration 15); null before. */
  last_full_read_at?: string | null;
  repo_size_bytes: number | null;
  /** Repository settings without their secrets (all null for a host without settings). */
  config: {
    repo_url: string | null;
    repo_username: string | null;
    hook_shell: string | null;
    has_repo_password: boolean;
    has_repo_credential: boolean;
  };
}

/** A host's last finished drill (DESIGN §8.5): passed only when the job succeeded and its report agrees. */
export interface LastDrill {
  job_id: string;
  finished_at: string | null;
  result: "passed" | "failed";
  snapshot_id: string | null;
  /** Why it failed (the report's reason, else the job's error); null when it passed. */
  reason: string | null;
}

/** The newest finished check among the hosts that use a repository (through their policies). */
export interface RepositoryLastCheck {
  job_id: string;
  host_id: string;
  status: JobStatus;
  finished_at: string | null;
  error: string | null;
}

/** Where a rolling data check stands (migration 15): parts_done of `parts` in this cycle. */
export interface ReadCycle {
  schedule_id: string;
  parts: number;
  next_part: number;
  cycle_started_at: string;
  last_full_read_at: string | null;
  parts_done: number;
}

/**
 * The ticks of a schedule merged into one of its runs because they came while that run was still
 * queued or running (at most one pending run per schedule): how many, their range, and the last
 * one's reason ("previous run job_… still running").
 */
export interface SkippedTicks {
  job_id: string;
  schedule_id: string;
  count: number;
  first_scheduled_at: string;
  last_scheduled_at: string;
  last_skipped_at: string;
  last_reason: string;
}

export interface Schedule {
  id: string;
  host_id: string;
  kind: JobKind;
  cron_expr: string;
  timezone: string | null;
  /** The spread of its ticks over a fleet ("30m"; null: none), domain/jitter.ts. */
  jitter: string | null;
  paths: string[];
  excludes: string[];
  tags: string[];
  retention_policy: RetentionPolicy | null;
  options: Record<string, string | number | boolean>;
  pre_hook: string | null;
  post_hook: string | null;
  /** A backup of this command's output (an argv array) instead of paths; null for paths. */
  stdin_command: string[] | null;
  /** The file name the output is stored under; null means restic's default, `stdin`. */
  stdin_filename: string | null;
  enabled: boolean;
  /** Set on a schedule a policy gives the host: it is changed through that policy only. */
  policy_id: string | null;
  /** The policy's schedule this host's row was made from. */
  policy_schedule_id: string | null;
  created_at: string;
  updated_at: string;
}

/** An enabled backup schedule, as the host list reads them for every host at once. */
export interface BackupCadence {
  host_id: string;
  cron_expr: string;
  timezone: string | null;
}

/**
 * Who made a job: a user (or API token), a schedule's tick, the server itself, or (issue 19,
 * DESIGN §8.7) the agent on its own authority while the server was away.
 */
export const ACTOR_KINDS = ["user", "schedule", "system", "agent"] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/**
 * A job's kind with that kind's spec, as command.run carries them (`null`: no spec, which the wire
 * leaves out). One member per kind, so a switch on `kind` narrows `spec`; `JobCommand<"restore">`
 * is the restore member alone.
 */
export type JobCommand<K extends JobKind = JobKind> = { [P in K]: { kind: P; spec: JobSpecs[P] | null } }[K];

/** The `{kind, spec}` of command.run itself: a job without a spec leaves it out. */
export type WireCommand<K extends JobKind = JobKind> = { [P in K]: { kind: P; spec?: JobSpecs[P] } }[K];

/**
 * A restore spec as the API takes it: another host's snapshot (from a repository both use) is named
 * by that host's id, which the domain turns into the wire's `source_host`, its restic host name.
 */
export type ApiRestoreSpec = Omit<JobSpecs["restore"], "source_host"> & { source_host_id?: string | undefined };

/** A job's kind and spec as the run-now API takes them: the wire's, with the API's restore spec. */
export type ApiJobCommand = {
  [K in JobKind]: { kind: K; spec?: (K extends "restore" ? ApiRestoreSpec : JobSpecs[K]) | undefined };
}[JobKind];

/** A job's fields besides its command. */
export interface JobState {
  id: string;
  host_id: string;
  status: JobStatus;
  actor_kind: ActorKind;
  actor_id: string | null;
  scheduled_id: string | null;
  scheduled_at: string | null;
  args: string[];
  progress: Record<string, unknown> | null;
  stats: Record<string, unknown> | null;
  exit_code: number | null;
  error: string | null;
  created_at: string;
  dispatched_at: string | null;
  dispatch_attempts: number;
  accepted_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  /**
   * When retention deleted this finished job's log lines (RF_KEEP_JOB_LOGS_DAYS after it
   * finished); null while they are kept. Only stored rows carry it.
   */
  logs_pruned_at?: string | null;
}

export type Job = JobState & JobCommand;

export interface StoredSnapshot {
  host_id: string;
  id: string;
  short_id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
  size_bytes: number | null;
  file_count: number | null;
}

export interface RepoStatsRow {
  host_id: string;
  reported_at: string;
  size_bytes: number;
  snapshot_count: number;
  dedup_ratio: number;
  last_check_at: string | null;
  last_check_status: string | null;
  lock_state: string;
}

export interface LogRow {
  job_id: string;
  seq: number;
  ts: string;
  stream: string;
  payload: string;
}

export interface ApiToken {
  id: string;
  user_id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface EnrollmentToken {
  id: string;
  /** What every host enrolled with it gets. */
  labels: Labels;
  /** How many hosts it could enroll when made; null for tokens made before migration 16. */
  uses: number | null;
  uses_left: number;
  expires_at: string;
  created_by: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
}

/** An authenticated operator, for ownership and audit. */
export interface Actor {
  user_id: string;
  username: string;
  role: "admin" | "viewer";
}

/** What a host is sent for a repository (config.update), secrets decrypted for the wire only. */
export interface ResolvedRepository {
  repo_url: string;
  repo_password: string;
  repo_username?: string;
  repo_credential?: string;
  /** restic's variables for the backend, secret ones in clear (protocol 8 config.update.repo_env). */
  repo_env?: Record<string, string>;
  /** Initialise the repository before the first backup if it does not exist yet (DESIGN §8.3). */
  auto_init: boolean;
}
