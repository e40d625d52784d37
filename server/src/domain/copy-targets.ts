import { Cron } from "croner";
import {
  type CopyTarget,
  type JobSpecs,
  keepsSomething,
  type RetentionPolicy,
  tagProblem,
} from "../../../protocol/index.ts";
import { cronInterval, graceSeconds } from "./backup-health.ts";
import { cronPreview } from "./cron.ts";
import { DomainError } from "./errors.ts";
import { matchingPolicies } from "./policy-effect.ts";
import type { CopyTargetRow, LastCopyJobRow, PolicyRow, Store } from "./store.ts";
import type { Host, Job, ResolvedRepository } from "./types.ts";

/**
 * Copy targets (issue 18 item 6, 3-2-1): further repositories a host's snapshots are copied to,
 * with `restic copy --host`, after each successful backup or at the ticks of the target's own
 * schedule (jobs.ts copyTicks); each target keeps its own retention.
 * A host's targets are its own list, then those of every enabled policy that matches it (highest
 * priority first); a repository named twice counts once (the first one's retention wins), and the
 * host's main repository is never its own copy target.
 */

/** A copy target as the API takes it. */
export interface CopyTargetInput {
  repository_id: string;
  retention_policy?: RetentionPolicy | null | undefined;
  prune?: boolean | undefined;
  schedule?: string | null | undefined;
}

/** At most 8 targets per policy or host: 3-2-1 needs one; config.update carries at most 16. */
export const MAX_COPY_TARGETS = 8;
/** The first agent protocol with copy jobs and config.update.copy_targets. */
export const COPY_SINCE = 9;

/** Checks a list from the API: each repository exists, once, and is not `mainRepositoryId`. */
export function checkCopyTargets(
  store: Pick<Store, "repositoryById">,
  inputs: readonly CopyTargetInput[],
  mainRepositoryId: string | null = null,
): CopyTargetRow[] {
  if (inputs.length > MAX_COPY_TARGETS) {
    throw new DomainError("invalid", `copy_targets: at most ${MAX_COPY_TARGETS}`, "copy_targets");
  }
  const seen = new Set<string>();
  return inputs.map((t, i) => {
    const at = `copy_targets.${i}`;
    const fail = (field: string, problem: string): never => {
      throw new DomainError("invalid", `${at}.${field}: ${problem}`, `${at}.${field}`);
    };
    if (!store.repositoryById(t.repository_id)) {
      fail("repository_id", `no repository ${t.repository_id} (see GET /api/v1/repositories)`);
    }
    if (t.repository_id === mainRepositoryId) {
      fail("repository_id", "is the policy's own repository: a copy goes to another one");
    }
    if (seen.has(t.repository_id)) fail("repository_id", `repository ${t.repository_id} is listed twice`);
    seen.add(t.repository_id);
    const policy = t.retention_policy ?? null;
    if (policy !== null && !keepsSomething(policy)) {
      fail("retention_policy", "keeps nothing: give a rule such as keep_daily: 7, or leave it out to keep every copy");
    }
    policy?.keep_tags?.forEach((tag, j) => {
      const problem = tagProblem(tag, "keep_tags entry");
      if (problem) fail(`retention_policy.keep_tags.${j}`, problem);
    });
    const schedule = t.schedule?.trim() || null;
    if (schedule !== null) {
      try {
        cronPreview(schedule, null, new Date(), 1);
      } catch (err) {
        fail("schedule", err instanceof DomainError ? err.message : String(err));
      }
    }
    return { repository_id: t.repository_id, retention_policy: policy, prune: t.prune === true, schedule };
  });
}

/** One of a host's copy targets, and where it comes from. */
export interface EffectiveCopyTarget extends CopyTargetRow {
  source: { kind: "host" } | { kind: "policy"; policy_id: string; policy_name: string };
}

/** The host's copy targets from its own list and its policies' (see the module comment). */
export function effectiveCopyTargets(
  own: readonly CopyTargetRow[],
  policies: readonly PolicyRow[],
  host: Pick<Host, "labels" | "policy_repository_id">,
): EffectiveCopyTarget[] {
  const out: EffectiveCopyTarget[] = [];
  const seen = new Set<string>(host.policy_repository_id ? [host.policy_repository_id] : []);
  const add = (t: CopyTargetRow, source: EffectiveCopyTarget["source"]) => {
    if (seen.has(t.repository_id)) return;
    seen.add(t.repository_id);
    out.push({ ...t, schedule: t.schedule ?? null, source });
  };
  for (const t of own) add(t, { kind: "host" });
  for (const p of matchingPolicies(policies, host)) {
    for (const t of p.copy_targets) add(t, { kind: "policy", policy_id: p.id, policy_name: p.name });
  }
  return out;
}

/** The host's copy targets as stored now. */
export function copyTargetsOf(
  store: Pick<Store, "hostCopyTargets" | "listPolicies">,
  host: Pick<Host, "id" | "labels" | "policy_repository_id">,
): EffectiveCopyTarget[] {
  return effectiveCopyTargets(store.hostCopyTargets(host.id), store.listPolicies(), host);
}

/** The copy job's spec for one target: its retention goes with it. */
export function copySpec(t: CopyTargetRow): JobSpecs["copy"] {
  const spec: JobSpecs["copy"] = { target_id: t.repository_id };
  if (t.retention_policy) spec.policy = t.retention_policy;
  if (t.prune) spec.prune = true;
  return spec;
}

/**
 * config.update.copy_targets for one host: each target resolved for it (a `{host}` template gives
 * each host its own, a template without a password its generated one), secrets in clear for the
 * wire only, or left out when the link may not carry them. A target that cannot be resolved for
 * this host is left out, and named in `problems`.
 */
export function wireCopyTargets(
  targets: readonly EffectiveCopyTarget[],
  resolve: (repositoryId: string) => ResolvedRepository,
  withSecrets: boolean,
): { targets: CopyTarget[]; problems: string[] } {
  const out: CopyTarget[] = [];
  const problems: string[] = [];
  for (const t of targets) {
    let r: ResolvedRepository;
    try {
      r = resolve(t.repository_id);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      problems.push(`${t.repository_id}: ${err.message}`);
      continue;
    }
    const wire: CopyTarget = { id: t.repository_id, repo_url: r.repo_url, auto_init: r.auto_init };
    if (withSecrets) {
      wire.repo_password = r.repo_password;
      wire.repo_env = r.repo_env ?? {};
    }
    out.push(wire);
  }
  return { targets: out, problems };
}

/**
 * A copy target's state on one host, the one rule the host page shows:
 * - unsupported: the host's agent speaks a protocol before 9, so it gets no copies;
 * - failed: its last finished copy failed;
 * - ok: a copy succeeded after the host's last successful backup finished;
 * - stale: the last successful backup is older than the grace (its expected interval, at most
 *   1 h: backup-health.ts) and no copy has succeeded since: the copy lags. A target on its own
 *   schedule lags when its last copy (or, before the first, the backup waiting for it) is older
 *   than that schedule's interval plus grace;
 * - pending: nothing to copy yet, or the copy of the newest backup is still within its grace.
 */
export type CopyHealth = "ok" | "stale" | "failed" | "pending" | "unsupported";

export function copyHealth(input: {
  now: Date;
  protocolVersion: number | null;
  lastBackupSuccessAt: string | null;
  lastCopyStatus: string | null;
  lastCopySuccessAt: string | null;
  /** The host's expected backup interval (s); null: the grace is 1 h. */
  intervalS: number | null;
  /** A target on its own schedule: that schedule's interval (s); null: the copy follows each backup. */
  scheduleIntervalS?: number | null;
}): CopyHealth {
  if (input.protocolVersion !== null && input.protocolVersion < COPY_SINCE) return "unsupported";
  if (input.lastCopyStatus === "failed") return "failed";
  if (!input.lastBackupSuccessAt) return "pending";
  const backup = Date.parse(input.lastBackupSuccessAt);
  const copied = input.lastCopySuccessAt ? Date.parse(input.lastCopySuccessAt) : null;
  if (copied !== null && copied >= backup) return "ok";
  const now = input.now.getTime();
  const every = input.scheduleIntervalS ?? null;
  if (every !== null) {
    // On its own schedule a copy may trail the backups by up to one interval (plus grace).
    const limit = (every + graceSeconds(every)) * 1000;
    return now - (copied ?? backup) > limit ? "stale" : copied !== null ? "ok" : "pending";
  }
  const grace = graceSeconds(input.intervalS ?? 3600) * 1000;
  return now - backup > grace ? "stale" : "pending";
}

/** What a copy target's state needs of a finished copy job. */
export type CopyJobFact = Pick<Job, "id" | "status" | "finished_at" | "error" | "stats">;
/** Per target of one host: its newest finished copy job and its newest successful one. */
export type LastCopies = ReadonlyMap<string, { last: CopyJobFact | null; lastSuccess: CopyJobFact | null }>;

/** The store's lastCopyJobs rows, per host, then per target. */
export function lastCopiesByHost(rows: readonly LastCopyJobRow[]): Map<string, LastCopies> {
  const out = new Map<string, Map<string, { last: CopyJobFact | null; lastSuccess: CopyJobFact | null }>>();
  for (const r of rows) {
    const host = out.get(r.host_id) ?? new Map();
    out.set(r.host_id, host);
    const entry = host.get(r.target_id) ?? { last: null, lastSuccess: null };
    const job: CopyJobFact = {
      id: r.id,
      status: r.status as Job["status"],
      finished_at: r.finished_at,
      error: r.error,
      stats: r.stats as Job["stats"],
    };
    if (r.role === "last") entry.last = job;
    else entry.lastSuccess = job;
    host.set(r.target_id, entry);
  }
  return out;
}

/**
 * The host page's view of each copy target: where it comes from, its retention, the last copy
 * (job, status, error), the newest copied snapshot of this host on it and how many, and its
 * health by copyHealth. The alert sweep (copy_stale, copy_failed) reads the same views.
 */
export function copyTargetViews(
  targets: readonly EffectiveCopyTarget[],
  last: LastCopies,
  nameOf: (repositoryId: string) => string | null,
  facts: {
    now: Date;
    protocolVersion: number | null;
    lastBackupSuccessAt: string | null;
    intervalS: number | null;
    timezone: string | null;
  },
) {
  return targets.map((t) => {
    const jobs = last.get(t.repository_id);
    const copied = (jobs?.lastSuccess?.stats as { copy?: Record<string, unknown> } | null)?.copy ?? {};
    const newestAt = typeof copied.latest_snapshot_time === "string" ? copied.latest_snapshot_time : null;
    return {
      repository_id: t.repository_id,
      repository_name: nameOf(t.repository_id),
      source: t.source,
      retention_policy: t.retention_policy,
      prune: t.prune,
      schedule: t.schedule,
      last_copy: jobs?.last
        ? {
            job_id: jobs.last.id,
            status: jobs.last.status,
            finished_at: jobs.last.finished_at,
            error: jobs.last.error,
          }
        : null,
      last_successful_copy_at: jobs?.lastSuccess?.finished_at ?? null,
      latest_snapshot_id: typeof copied.latest_snapshot_id === "string" ? copied.latest_snapshot_id : null,
      latest_snapshot_time: newestAt,
      /** Seconds since the newest copied snapshot was taken (its backup's time: a copy keeps it). */
      latest_snapshot_age_s: newestAt
        ? Math.max(0, Math.round((facts.now.getTime() - Date.parse(newestAt)) / 1000))
        : null,
      snapshot_count: typeof copied.snapshot_count === "number" ? copied.snapshot_count : null,
      health: copyHealth({
        now: facts.now,
        protocolVersion: facts.protocolVersion,
        lastBackupSuccessAt: facts.lastBackupSuccessAt,
        lastCopyStatus: jobs?.last?.status ?? null,
        lastCopySuccessAt: jobs?.lastSuccess?.finished_at ?? null,
        intervalS: facts.intervalS,
        scheduleIntervalS: t.schedule ? cronInterval(t.schedule, facts.timezone, facts.now) : null,
      }),
    };
  });
}

export type CopyTargetView = ReturnType<typeof copyTargetViews>[number];

/** The latest run of a target's schedule at or before `now`, in the host's zone; null if none. */
export function latestTick(expr: string, timezone: string | null, now: Date): string | null {
  try {
    const cron = new Cron(expr, { paused: true, mode: "5-or-6-parts", ...(timezone ? { timezone } : {}) });
    // previousRuns leaves out a run exactly at its reference: look from 1 ms later.
    return cron.previousRuns(1, new Date(now.getTime() + 1))[0]?.toISOString() ?? null;
  } catch {
    return null;
  }
}

/** The facts of a host that its copy targets' state needs (the sweep's and one host's views have them). */
export type CopyHostFacts = Pick<Host, "id" | "labels" | "policy_repository_id" | "protocol_version" | "timezone"> & {
  last_successful_backup_at: string | null;
  expected_interval_s: number | null;
};

/**
 * The copy targets' views of many hosts from a few reads, whatever their number: the policies,
 * the hosts' own targets, the repositories' names, and the copy jobs (`copies`, asked once, only
 * when some host has a target: the sweep's come from copy-jobs-cache.ts). `hostId`: one host's.
 */
export function copyViewsReader(
  store: Pick<Store, "listPolicies" | "allHostCopyTargets" | "hostCopyTargets" | "listRepositories">,
  now: Date,
  copies: () => ReadonlyMap<string, LastCopies>,
  hostId?: string,
): (host: CopyHostFacts) => CopyTargetView[] {
  const policies = store.listPolicies();
  const own = hostId === undefined ? store.allHostCopyTargets() : new Map([[hostId, store.hostCopyTargets(hostId)]]);
  if (own.size === 0 && !policies.some((p) => p.enabled && p.copy_targets.length > 0)) return () => [];
  let names: Map<string, string> | null = null;
  let jobs: ReadonlyMap<string, LastCopies> | null = null;
  return (host) => {
    const targets = effectiveCopyTargets(own.get(host.id) ?? [], policies, host);
    if (targets.length === 0) return [];
    names ??= new Map(store.listRepositories().map((r) => [r.id, r.name]));
    jobs ??= copies();
    return copyTargetViews(targets, jobs.get(host.id) ?? new Map(), (id) => names?.get(id) ?? null, {
      now,
      protocolVersion: host.protocol_version,
      lastBackupSuccessAt: host.last_successful_backup_at,
      intervalS: host.expected_interval_s,
      timezone: host.timezone,
    });
  };
}
