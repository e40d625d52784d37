import { isTemplate } from "./repository-url.ts";
import type { PolicyRow, PolicyScheduleRow, Store } from "./store.ts";
import type { Host, RepositoryLastCheck, Schedule } from "./types.ts";

/**
 * The one rule of repository-wide maintenance (DESIGN §8.1, §8.3): a `prune` or `check` schedule
 * of an enabled policy whose repository is shared (its URL has no `{host}`) is fired by the server,
 * once per repository per tick, on one host using it (maintenance.ts). A host's copy of such a
 * schedule, on a host whose repository is that one, is therefore not the agent's to fire: it is
 * left out of schedule.set and a fire of it is refused. Everything else (a template's per-host
 * repositories, a host's own schedules, a host with a repository of its own) stays per host.
 */
export const REPOSITORY_WIDE_KINDS: ReadonlySet<string> = new Set(["prune", "check"]);

/** The zone of a repository-wide schedule without one: the server's own, as cron on that machine would. */
export const SERVER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Enabled policies whose repository is shared: policy id → repository id. Read once per push or sweep. */
export function sharedPolicyRepositories(store: Pick<Store, "listPolicies" | "listRepositories">): Map<string, string> {
  const shared = new Set(store.listRepositories().flatMap((r) => (isTemplate(r.url) ? [] : [r.id])));
  const out = new Map<string, string>();
  for (const p of store.listPolicies()) {
    if (p.enabled && p.repository_id !== null && shared.has(p.repository_id)) out.set(p.id, p.repository_id);
  }
  return out;
}

/** Whether the server, not the host's agent, fires this copy of a policy schedule. */
export function firedByServer(
  s: Pick<Schedule, "kind" | "policy_id">,
  host: Pick<Host, "policy_repository_id">,
  shared: ReadonlyMap<string, string>,
): boolean {
  if (!REPOSITORY_WIDE_KINDS.has(s.kind) || s.policy_id === null || host.policy_repository_id === null) return false;
  return shared.get(s.policy_id) === host.policy_repository_id;
}

/** The repository whose server fires this host's copy (it is not the agent's to fire), or null. */
export function repositoryWideOf(
  s: Pick<Schedule, "kind" | "policy_id">,
  store: Pick<Store, "listPolicies" | "listRepositories"> & { hostById(id: string): Host | null },
  hostId: string,
): string | null {
  if (!REPOSITORY_WIDE_KINDS.has(s.kind) || s.policy_id === null) return null;
  const host = store.hostById(hostId);
  return host && firedByServer(s, host, sharedPolicyRepositories(store)) ? host.policy_repository_id : null;
}

/** A policy schedule the server fires for a repository: the sweep's unit. */
export interface RepositoryWideSchedule {
  policy: PolicyRow;
  schedule: PolicyScheduleRow;
  repository_id: string;
}

/** Every schedule the server fires, from the policies as stored. */
export function repositoryWideSchedules(
  store: Pick<Store, "listPolicies" | "listRepositories">,
): RepositoryWideSchedule[] {
  const shared = sharedPolicyRepositories(store);
  return store.listPolicies().flatMap((policy) => {
    const repository_id = shared.get(policy.id);
    if (repository_id === undefined) return [];
    return policy.schedules
      .filter((s) => s.enabled && REPOSITORY_WIDE_KINDS.has(s.kind))
      .map((schedule) => ({ policy, schedule, repository_id }));
  });
}

/**
 * Each shared repository's newest finished check, by whichever of its hosts ran it: a check reads
 * the whole repository, so on a shared one it is every host's last check (the check_failed alert).
 * Without it, a check the server ran on web-b would never clear web-a's failed one.
 */
export function sharedRepositoryChecks(
  store: Pick<Store, "listRepositories" | "repositoryLastChecks">,
): Map<string, RepositoryLastCheck> {
  const shared = new Set(store.listRepositories().flatMap((r) => (isTemplate(r.url) ? [] : [r.id])));
  return new Map([...store.repositoryLastChecks()].filter(([id]) => shared.has(id)));
}

/** A host's facts with its shared repository's last check, when that is newer than its own. */
export function withRepositoryCheck<
  F extends {
    policy_repository_id: string | null;
    last_check: { job_id: string; status: string; finished_at: string | null; error: string | null } | null;
  },
>(facts: F, checks: ReadonlyMap<string, RepositoryLastCheck>): F {
  const repo = facts.policy_repository_id === null ? undefined : checks.get(facts.policy_repository_id);
  if (!repo || repo.job_id === facts.last_check?.job_id) return facts;
  if (facts.last_check && (facts.last_check.finished_at ?? "") >= (repo.finished_at ?? "")) return facts;
  const { host_id: _, ...check } = repo;
  return { ...facts, last_check: { ...check, stats: null } };
}
