import type {
  JobKind,
  JobStatus,
  ReportedHostPolicy,
  RetentionPolicy,
  TerminalJobStatus,
} from "../../../protocol/index.ts";
import type { AlertsStore } from "./alert-rows.ts";
import type { HostPageStore } from "./host-page-rows.ts";
import type { Labels } from "./labels.ts";
import type { MaintenanceStore } from "./maintenance-rows.ts";
import type { RetentionStore } from "./retention-rows.ts";
import type { Selector } from "./selector.ts";
import type {
  ActorKind,
  ApiToken,
  AuditEntry,
  BackupCadence,
  EnrollmentToken,
  Host,
  HostConfigRow,
  HostSummary,
  Job,
  LogRow,
  PolicyConflict,
  ReadCycle,
  RepoStatsRow,
  RepositoryLastCheck,
  Role,
  Schedule,
  SkippedTicks,
  StoredSnapshot,
  User,
} from "./types.ts";

/**
 * The persistence the domain needs, defined here so the dependency runs one way: the store
 * (server/src/store/, SQLite) implements this interface, and nothing in the domain knows how.
 * Another implementation must pass the same contract suite (store/store-contract.ts).
 */

export interface SessionRow {
  user: User;
  csrf_token: string;
  expires_at: string;
}
export interface HelloInfo {
  hostname: string;
  restic_host: string;
  /** The host's zone (protocol 3); null keeps the stored one. */
  timezone: string | null;
  /** The host's own policy (protocol 4); null for an older agent. */
  policy: ReportedHostPolicy | null;
  os: string;
  arch: string;
  agent_version: string;
  restic_version: string;
  protocol_version: number;
  boot_time: string | null;
  at: string;
}
/** What the log limits count (domain/log-quota.ts), read in one statement per job and frame. */
export interface LogUsage {
  host_id: string;
  /** The cost of the job's stored lines. */
  job_bytes: number;
  /** The job's log reached a limit: its marker is stored, and nothing after it. */
  capped: boolean;
  /** The cost of all the host's stored lines. */
  host_bytes: number;
}
export interface JobFilter {
  host_id?: string | undefined;
  status?: JobStatus | undefined;
  kind?: JobKind | undefined;
  actor_kind?: ActorKind | undefined;
  /** Only jobs of these hosts (a label filter, resolved by the domain). */
  host_ids?: readonly string[] | undefined;
  /** created_at on or after this ISO time. */
  since?: string | undefined;
  /** created_at before this ISO time. */
  until?: string | undefined;
  limit: number;
  /** Exclusive lower bound in (created_at DESC, id DESC) order. */
  after?:
    | {
        created_at: string;
        id: string;
      }
    | undefined;
}

/** Users, sessions, API and enrollment tokens. */
export interface UsersStore {
  countUsers: () => number;
  insertUser(
    u: User & {
      password_hash: string;
    },
  ): void;
  userByName: (username: string) =>
    | (User & {
        password_hash: string;
      })
    | null;
  userById: (id: string) => User | null;
  listUsers: () => User[];
  setPassword(id: string, password_hash: string): void;
  setRole: (id: string, role: Role) => void;
  /** Disabling ends the user's sessions; their API tokens stop working while disabled. */
  setDisabled(id: string, at: string | null): void;
  countActiveAdmins: () => number;
  insertSession(s: {
    token_hash: string;
    user_id: string;
    csrf_token: string;
    created_at: string;
    expires_at: string;
  }): void;
  sessionByHash(token_hash: string): SessionRow | null;
  deleteSession: (token_hash: string) => void;
  deleteExpiredSessions: (now: string) => void;
  insertApiToken(
    t: ApiToken & {
      token_hash: string;
    },
  ): void;
  userByApiToken(token_hash: string):
    | (User & {
        token_id: string;
      })
    | null;
  /** At most once a minute per token: each update is a durable commit on the request's path. */
  touchApiToken: (id: string, at: string) => void;
  listApiTokens: (user_id: string | null) => ApiToken[];
  revokeApiToken: (id: string, at: string) => boolean;
  apiTokenById: (id: string) => ApiToken | null;
  insertEnrollmentToken(
    t: EnrollmentToken & {
      token_hash: string;
    },
  ): void;
  enrollmentTokenByHash: (token_hash: string) => EnrollmentToken | null;
  enrollmentTokenById: (id: string) => EnrollmentToken | null;
  /**
   * Newest first (created_at DESC, id DESC), at most `limit`, strictly after `after` in that
   * order when given; revoked, expired and used-up ones included. Never the hash.
   */
  listEnrollmentTokens: (limit: number, after: { created_at: string; id: string } | null) => EnrollmentToken[];
  /** Stamps revoked_at; false when there is no such token or it was revoked already. */
  revokeEnrollmentToken: (id: string, at: string) => boolean;
  /** Takes one use if any is left; false when the token is used up. */
  useEnrollmentToken: (id: string) => boolean;
}

/** Hosts, presence, schedule versions and repository settings. */
export interface HostsStore {
  /** The host's own copy targets (beside its policies'). */
  hostCopyTargets: (host_id: string) => CopyTargetRow[];
  /** Every host's own copy targets, for the hosts that have any. */
  allHostCopyTargets: () => Map<string, CopyTargetRow[]>;
  setHostCopyTargets(host_id: string, targets: CopyTargetRow[]): void;
  /** The host's own max_offline_age (domain/offline-age.ts); null clears it. */
  setHostMaxOfflineAge(host_id: string, value: string | null): void;
  insertHost(h: {
    id: string;
    name: string;
    hostname: string;
    restic_host: string;
    agent_token_hash: string;
    enrolled_at: string;
    /** Its enrollment token's labels; none when left out. */
    labels?: Labels | undefined;
  }): void;
  hostById(id: string): Host | null;
  hostIdByTokenHash: (hash: string) => string | null;
  listHosts: () => Host[];
  recordHello(id: string, h: HelloInfo): void;
  touchHost: (id: string, at: string) => void;
  setOffline: (id: string) => void;
  /** Hosts marked online whose last sign of life is older than `before`. */
  staleOnlineHosts: (before: string) => string[];
  markAllOffline: () => void;
  renameHost: (id: string, name: string) => void;
  /** Replaces the host's whole label map; false when there is no such host. */
  setHostLabels: (id: string, labels: Labels) => boolean;
  deleteHost: (id: string) => boolean;
  bumpScheduleVersion(id: string): number;
  /** One statement for many hosts (a policy's propagation); unknown ids are skipped. */
  bumpScheduleVersions(ids: readonly string[]): void;
  /** The hosts of these ids that exist, in one read, ordered by id. */
  hostsByIds(ids: readonly string[]): Host[];
  /** Of these hosts, those whose own repository settings have a URL (which beats their policies'). */
  hostsWithOwnRepository(ids: readonly string[]): string[];
  /** Records the acked version; an ack for a version newer than the current one is ignored. */
  ackScheduleVersion: (id: string, version: number) => boolean;
  configFor: (host_id: string) => HostConfigRow | null;
  upsertConfig(c: HostConfigRow): void;
}

/** The host list with its per-host facts, in one read. */
export interface HostSummaryStore {
  /** Every host with its summary, ordered by name, id. */
  hostSummaries: () => {
    host: Host;
    summary: HostSummary;
  }[];
  hostSummary(id: string): {
    host: Host;
    summary: HostSummary;
  } | null;
  /**
   * What the alert sweep reads of every host, ordered by id: the same columns as the list, without
   * the repository settings and the rest of the host row.
   */
  hostFacts: () => HostFacts[];
  /** For /metrics: each host's last successful backup, from the same columns. */
  lastSuccessfulBackups: () => {
    host_id: string;
    finished_at: string;
  }[];
}

/** A host's alert-relevant facts, as hostFacts reads them. */
export interface HostFacts {
  host: Pick<
    Host,
    | "id"
    | "name"
    | "labels"
    | "online"
    | "last_seen_at"
    | "enrolled_at"
    | "policy_repository_id"
    | "protocol_version"
    | "timezone"
  >;
  summary: Pick<
    HostSummary,
    "last_backup" | "last_backup_warning" | "last_successful_backup_at" | "last_check" | "last_drill"
  >;
}

/** Schedules. */
export interface SchedulesStore {
  insertSchedule(s: Schedule): void;
  updateSchedule(s: Schedule): void;
  scheduleById(id: string): Schedule | null;
  schedulesForHost: (host_id: string) => Schedule[];
  /**
   * The schedules of many hosts in one read, ordered by host, then as schedulesForHost orders
   * them; with `policyCopies`, only the copies of policy schedules.
   */
  schedulesForHosts(host_ids: readonly string[], policyCopies?: boolean): Schedule[];
  /** Every host's enabled backup schedules: what the host list needs for expected intervals. */
  /** Enabled backup schedules, each with its zone: its own, else its host's (else null). */
  backupCadences: () => BackupCadence[];
  /**
   * A number that changes whenever what backupCadences returns may have (a schedule or a host's
   * zone written): equal numbers, equal cadences.
   */
  cadenceGeneration: () => number;
  deleteSchedule: (id: string) => boolean;
}

/** One row of lastCopyJobs. */
export interface LastCopyJobRow {
  host_id: string;
  target_id: string;
  role: "last" | "success";
  id: string;
  status: string;
  finished_at: string | null;
  error: string | null;
  stats: unknown;
}

/** Jobs: creation (idempotent per tick), delivery and state transitions. */
export interface JobsStore {
  /** Inserts a job; for a schedule tick already seen, returns the existing job and created=false. */
  insertJob(j: Job): {
    job: Job;
    created: boolean;
  };
  jobById(id: string): Job | null;
  /** Read lazily, like logsAfter: take what you need before the next store call. */
  listJobs(f: JobFilter): Iterable<Job>;
  /** Queued jobs of a host, oldest first, that the agent has not accepted yet. */
  undeliveredJobs: (host_id: string) => Job[];
  /** Dispatched but never accepted before `before`, across hosts. */
  unacceptedSince: (before: string) => Job[];
  markDispatched: (id: string, at: string) => void;
  /** A last acceptance window without a new delivery (see domain/jobs.ts onHello). */
  renewDispatch: (id: string, at: string) => void;
  /** Jobs cancelled after delivery but before the agent accepted them: the agent may have them. */
  cancelledUnaccepted: (host_id: string, since: string) => string[];
  markAccepted: (id: string, at: string) => boolean;
  markRunning: (id: string, started_at: string) => boolean;
  setProgress: (id: string, progress: Record<string, unknown>) => boolean;
  /** Moves a job to a terminal state; a job already finished never changes again. */
  finishJob(
    id: string,
    f: {
      status: TerminalJobStatus;
      exit_code: number | null;
      finished_at: string;
      stats?: unknown;
      error: string | null;
    },
  ): boolean;
  /**
   * The one change to a finished job: a succeeded job turns failed when what came after it
   * proved it worthless (its follow-up found the repository gone, protocol 6 `repo.missing`).
   * Keeps finished_at and exit_code; adds the reason to stats. false unless it had succeeded.
   */
  failSucceededJob(id: string, f: { error: string; failure_reason: string }): boolean;
  lastJobOfKind(host_id: string, kind: string): Job | null;
  /**
   * Per host and copy target (the spec's target_id): its newest finished copy job (`last`) and
   * its newest succeeded one (`success`), by (created_at, id); one statement over the copy jobs,
   * of one host or of all (the alert sweep reads it once per sweep).
   */
  lastCopyJobs(host_id?: string): LastCopyJobRow[];
  /** The job a schedule tick made, if any (the key of UNIQUE (scheduled_id, scheduled_at)). */
  jobOfTick(scheduled_id: string, scheduled_at: string): Job | null;
  /**
   * The two jobs of one tick become one (agent-jobs.ts): `job` (the agent's, same scheduled_id and
   * scheduled_at) takes the place of the server's row `replaced`, which never ran, and the ticks
   * merged into it. One statement group, inside the caller's transaction.
   */
  replaceTickJob(replaced: string, job: Job): void;
  /** The newest of the schedule's tick jobs on this host that is still queued or running. */
  pendingTickJob(scheduled_id: string, host_id: string): Job | null;
  lastSuccessfulBackupAt: (host_id: string) => string | null;
  /**
   * What the host's succeeded backups said they saved (restic's summary in their stats), by the
   * snapshot's short id: the size of a snapshot that restic < 0.17 does not keep in the snapshot.
   */
  backupSizes: (host_id: string) => Array<{ short_id: string; size_bytes: number; file_count: number | null }>;
  jobCounts: () => {
    kind: string;
    status: string;
    n: number;
  }[];
}

/** What agents report: envelope ids (idempotency), logs, snapshots, repository stats. */
export interface AgentDataStore {
  /** True when this envelope id is new for the host (and records it); false for a re-send. */
  rememberEnvelope: (host_id: string, id: string, at: string) => boolean;
  forgetEnvelopesBefore: (at: string) => void;
  /** A job's log counters and its host's (domain/log-quota.ts); null when there is no such job. */
  logUsage(job_id: string): LogUsage | null;
  /**
   * Batched: call inside a transaction. Stores lines of the host's jobs; a seq already stored
   * keeps its first line. Each line stored adds its `cost` to its job's and the host's counters.
   */
  insertLogs(host_id: string, lines: Array<LogRow & { cost: number }>): void;
  /**
   * Stores a job's limit marker, in place of any line of its seq, and marks the job's log capped.
   * The marker counts against no limit.
   */
  capLog(marker: LogRow): void;
  /**
   * A job's lines after `after_seq`, by seq, at most `limit`. Read lazily, row by row, so a
   * caller that stops early never loads the rest; take what you need before the next store call.
   */
  logsAfter: (job_id: string, after_seq: number, limit: number) => Iterable<LogRow>;
  /** Replaces the host's snapshot list; call inside a transaction so readers never see half. */
  replaceSnapshots(host_id: string, list: Omit<StoredSnapshot, "host_id">[]): void;
  snapshotsForHost: (host_id: string) => StoredSnapshot[];
  /** At most `limit` of the host's snapshots, newest first (time, id descending), after `after`. */
  snapshotPage(host_id: string, limit: number, after?: { time: string; id: string }): StoredSnapshot[];
  insertRepoStats(s: RepoStatsRow): void;
  repoStatsForHost: (host_id: string, limit: number) => RepoStatsRow[];
}

/** A repository as stored (domain/repositories.ts): its secrets stay sealed (domain/secrets.ts). */
export interface RepositoryRow {
  id: string;
  /** Unique, whatever the case. */
  name: string;
  /** May hold `{host}`: then each host gets its own repository (a template). */
  url: string;
  password_enc: string | null;
  username: string | null;
  credential_enc: string | null;
  /** restic variables of the URL's backend that are not secret (AWS_DEFAULT_REGION, ...); migration 16. */
  env: Record<string, string>;
  /** The secret ones (AWS_SECRET_ACCESS_KEY, ...), sealed as one JSON object. */
  secret_env_enc: string | null;
  auto_init: boolean;
  created_at: string;
  updated_at: string;
}
/** A password the server generated for one host of a templated repository, made once. */
export interface RepositoryHostSecretRow {
  repository_id: string;
  /** Not a reference: the password outlives a revoked host, as its backups do (the key export). */
  host_id: string;
  /** The host's name and restic host name when the password was made. */
  host_name: string;
  restic_host: string;
  password_enc: string;
  created_at: string;
}

/** Repositories, and the passwords generated per host for templated ones. */
export interface RepositoriesStore {
  insertRepository(r: RepositoryRow): void;
  /** Replaces every field but id and created_at. */
  updateRepository(r: RepositoryRow): void;
  repositoryById: (id: string) => RepositoryRow | null;
  /** By name, whatever its case. */
  repositoryByName: (name: string) => RepositoryRow | null;
  /** Every repository, ordered by name whatever its case. */
  listRepositories: () => RepositoryRow[];
  /** Deletes the repository with its generated passwords; false for an unknown id. */
  deleteRepository: (id: string) => boolean;
  /** The names of what uses the repository (`policy NAME`), sorted: nothing may delete it while one does. */
  repositoryUsers: (id: string) => string[];
  /**
   * Stores a generated password for (repository, host) unless one is stored, and returns the
   * stored one: the first is kept for good, so a host always gets the same password.
   */
  ensureRepositoryHostSecret(s: RepositoryHostSecretRow): RepositoryHostSecretRow;
  /** The generated passwords of a repository, ordered by restic host name, then host id. */
  repositoryHostSecrets: (repository_id: string) => RepositoryHostSecretRow[];
  /**
   * The newest finished check among the hosts whose repository this one is (through a policy),
   * per repository: the map holds only repositories with one.
   */
  repositoryLastChecks: () => Map<string, RepositoryLastCheck>;
}

/** Rolling data checks (migration 15): one cycle per check schedule whose subset is "k/N". */
export interface ReadCyclesStore {
  readCycle: (schedule_id: string) => ReadCycle | null;
  /** A new cycle of `parts` from part 1: the parts done are forgotten, the last full read kept. */
  startReadCycle(schedule_id: string, parts: number, at: string): void;
  /** The job checks `part` of the cycle (the triggers record its outcome); the one after it is next. */
  takeReadPart(schedule_id: string, job_id: string, part: number): void;
  deleteReadCycle: (schedule_id: string) => void;
}

/** Ticks merged into a pending run of their schedule (migration 20, domain/tick-merge.ts). */
export interface SkippedTicksStore {
  /** The merge whose range of ticks holds `scheduled_at`: that tick was merged already. */
  skipOfTick(schedule_id: string, scheduled_at: string): SkippedTicks | null;
  /** Counts one more tick merged into the job (a first one makes its row). */
  addSkippedTick(t: { job_id: string; schedule_id: string; scheduled_at: string; at: string; reason: string }): void;
  /** Counts `count` ticks in one range, all merged into the job (the ticks an agent let go by). */
  addSkippedTicks(t: {
    job_id: string;
    schedule_id: string;
    count: number;
    first_scheduled_at: string;
    last_scheduled_at: string;
    at: string;
    reason: string;
  }): void;
  /** The schedule's newest merge (by its last tick), for its view. */
  lastSkippedTicks(schedule_id: string): SkippedTicks | null;
}

/** One schedule of a policy, as stored: what each matching host gets a copy of. */
export interface PolicyScheduleRow {
  id: string;
  policy_id: string;
  kind: JobKind;
  cron_expr: string;
  timezone: string | null;
  /** DESIGN §8.3's jitter ("30m"; null: none), copied to every host's copy (domain/jitter.ts). */
  jitter: string | null;
  paths: string[];
  excludes: string[];
  tags: string[];
  retention_policy: RetentionPolicy | null;
  options: Record<string, string | number | boolean>;
  pre_hook: string | null;
  post_hook: string | null;
  stdin_command: string[] | null;
  stdin_filename: string | null;
  enabled: boolean;
}
/** A policy as stored, its schedules in their order. */
/** One copy target (issue 18 item 6): a further repository, with its own retention. */
export interface CopyTargetRow {
  repository_id: string;
  /** `forget --host` on the target after each copy; null keeps every copy. */
  retention_policy: RetentionPolicy | null;
  /** prune the target after its forget. */
  prune: boolean;
  /**
   * A cron expression (the host's time zone): the target is copied on its own schedule instead of
   * after each backup. null: after each successful backup.
   */
  schedule: string | null;
}
export interface PolicyRow {
  id: string;
  /** Unique, whatever the case. */
  name: string;
  selector: Selector;
  repository_id: string | null;
  priority: number;
  enabled: boolean;
  schedules: PolicyScheduleRow[];
  /** Where the snapshots of the hosts it matches are copied to (in order). */
  copy_targets: CopyTargetRow[];
  /** How long its hosts' agents may back up on their own while the server is away; null: not set here. */
  max_offline_age: string | null;
  created_at: string;
  updated_at: string;
}
/** What the policies resolve a host's repository to (domain/policy-effect.ts). */
export interface HostPolicyState {
  policy_repository_id: string | null;
  repository_policy_id: string | null;
  policy_conflict: PolicyConflict | null;
}

/** Policies, and what they resolve to on each host. */
export interface PoliciesStore {
  /** Inserts the policy with its schedules. */
  insertPolicy(p: PolicyRow): void;
  /** Replaces every field but id and created_at, and the whole list of schedules. */
  updatePolicy(p: PolicyRow): void;
  policyById: (id: string) => PolicyRow | null;
  /** By name, whatever its case. */
  policyByName: (name: string) => PolicyRow | null;
  /** Every policy with its schedules, highest priority first, then by name. */
  listPolicies: () => PolicyRow[];
  /** Deletes the policy and its schedules (not the hosts' copies: the domain removes those first). */
  deletePolicy: (id: string) => boolean;
  setHostPolicyState(host_id: string, s: HostPolicyState): void;
  /** Hosts whose repository comes from this repository through a policy. */
  hostsWithPolicyRepository: (repository_id: string) => string[];
  /** Hosts holding a copy of one of this policy's schedules, or whose repository it gives or contests. */
  hostsOfPolicy: (policy_id: string) => string[];
}

/** The audit log. */
export interface AuditStore {
  insertAudit(e: Omit<AuditEntry, "seq">): void;
  listAudit: (limit: number, before_seq: number | null) => AuditEntry[];
}

export interface Store
  extends UsersStore,
    HostsStore,
    HostSummaryStore,
    HostPageStore,
    SchedulesStore,
    JobsStore,
    AgentDataStore,
    AuditStore,
    RepositoriesStore,
    PoliciesStore,
    ReadCyclesStore,
    SkippedTicksStore,
    MaintenanceStore,
    AlertsStore,
    RetentionStore {
  /**
   * Runs fn in one transaction; a nested call runs in a savepoint inside the outer one, so its
   * failure undoes only its own writes. The domain calls it through its own transaction wrapper,
   * which holds the live events until the outermost commit (domain/transaction.ts).
   */
  tx<T>(fn: () => T): T;
  /** Whether a transaction is open: a storage failure can end it under a savepoint (SQLITE_FULL). */
  inTransaction(): boolean;
  /** "ok" when the database answers (a small read) and its disk has room, else what is wrong. */
  check(): string;
  /** SQLite's full integrity check ("ok" or its findings): reads every page, for tests and repairs. */
  integrityCheck(): string;
  close(): void;
}
