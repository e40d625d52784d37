import type { AgentMessageType, CopyTarget, PayloadOf, ReportedHostPolicy } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import type { RepositoryPin } from "../policy/policy-check.ts";

/** The repository settings the server pushed with `config.update`. */
export interface RepoConfig {
  repo_url: string;
  repo_password: string;
  repo_username?: string;
  repo_credential?: string;
  /** Since protocol 8: the backend's restic variables by name (AWS_*, B2_*, ...); see secrets.ts resticEnv. */
  repo_env?: Record<string, string>;
  /** e.g. "/bin/bash -c"; split on whitespace, the hook script is appended as the last argument. */
  hook_shell?: string;
  /**
   * Before a backup, initialise the repository if it does not exist yet (auto-init.ts). Never
   * for a repository that exists but will not open: a wrong password fails as it always did.
   */
  auto_init?: boolean;
  /** Since protocol 9: further repositories this host's snapshots are copied to (copy jobs name one by id). */
  copy_targets?: CopyTarget[];
}

/** The supervisor's only way out: one typed agent message at a time (the outbox sits behind it). */
export type Emit = <T extends AgentMessageType>(type: T, payload: PayloadOf<T>) => void;

/** The process seam over Bun.spawn, so tests script restic's output without a binary. */
export type SpawnFn = (
  argv: string[],
  opts: {
    env: Record<string, string>;
    cwd?: string;
    /** What the child reads (a stdin backup's stream or FIFO); absent, nothing (restic must never prompt). */
    stdin?: ChildInput;
    /** Where the child's stdout goes instead of a pipe to the agent (a stdin backup's FIFO). */
    stdoutTo?: { path: string };
  },
) => ChildLike;

/** A child's stdin: a stream the agent fills, or a file (a FIFO) the child opens itself. */
export type ChildInput = ReadableStream<Uint8Array> | { path: string };

export interface ChildLike {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  /** Resolves with the exit code; 128 + signal number when a signal ended the process. */
  exited: Promise<number>;
  kill(signal?: NodeJS.Signals | number): void;
  pid: number;
}

export interface SupervisorOptions {
  resticPath: string;
  spawn?: SpawnFn;
  clock: Clock;
  emit: Emit;
  /** The host's own policy (policy/load-policy.ts): a job outside it fails, naming the setting. */
  policy: ReportedHostPolicy;
  /** Every token the agent holds (its agent token): masked in job logs like the repository's secrets. */
  heldTokens?: () => readonly string[];
  /** The repository pin under `repositories: "first"`, read at the start of every job. */
  repositoryPin?: () => RepositoryPin | null;
  /** Where the per-job password files go (mode 0600, removed after the job). */
  tempDir: string;
  /** Time between SIGINT and SIGKILL on cancel; 10 s lets restic write its last pack and drop its lock. */
  cancelGraceMs?: number;
  /** Minimum gap between two job.progress frames of a job; the protocol allows about 1 per second. */
  progressIntervalMs?: number;
  /** How long log lines wait to be batched into one job.log frame. */
  logBatchMs?: number;
  /** Read at the start of every job, so a config.update applies to the next job. */
  getRepo: () => RepoConfig | null;
  /**
   * restic >= 0.16 only: how long restic waits for a lock held by someone else (`--retry-lock`).
   * Default "1m"; null turns it off.
   */
  retryLock?: string | null;
  /** Passed to restic as RESTIC_CACHE_DIR; restic's own default (~/.cache/restic) when absent. */
  cacheDir?: string;
  /**
   * This host's restic host name, fixed at enrollment, from the agent's identity: `--host` on every
   * command that writes or selects snapshots.
   */
  resticHost: string;
  /** The machine's hostname; when it differs from resticHost, the first job says so in its log. */
  machineHostname?: string;
  /** Told when the queue starts working (true) and when it has drained (false). */
  onBusy?: (busy: boolean) => void;
}

/** Why a restic run failed, classified from its stderr (restic 0.14 exits 1 for every failure). */
export type FailureReason =
  | "wrong_password"
  | "repo_missing"
  | "locked"
  | "network"
  | "paths_missing"
  | "snapshot_missing"
  | "other_host"
  | "policy"
  /** A restore target the agent cannot write, found before restic ran (restore-target.ts). */
  | "target_unwritable"
  /** A restore drill found a file it could not restore, verify or match (drill.ts). */
  | "drill_failed"
  /** A copy job named a target this host holds no settings for, or whose settings cannot be used. */
  | "target_missing"
  /** A stdin backup's command failed (non-zero exit, killed, or could not start): no snapshot. */
  | "command_failed"
  | "unknown";

/** The restic features the argv builders switch on; from `restic version`. */
export interface ResticFeatures {
  /** `--retry-lock` exists (restic >= 0.16.0). */
  retryLock: boolean;
  /** `backup --stdin-from-command` exists (restic >= 0.17.0); absent means no. */
  stdinFromCommand?: boolean;
}
