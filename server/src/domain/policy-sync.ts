import type { DomainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import { ensureHostPassword } from "./host-passwords.ts";
import { policyEffect } from "./policy-effect.ts";
import type { RepositoryRow } from "./store.ts";
import type { PolicyConflict } from "./types.ts";

/** Hosts whose schedules or repository changed in one transaction: what to push once it commits. */
export interface SyncPlan {
  hosts: { id: string; config: boolean }[];
}

/** Hosts recomputed per read of their rows. */
const CHUNK = 250;

export interface RecomputeOptions {
  /**
   * Refuse (409) a change that puts a host into a conflict it was not in: an admin's change to
   * a policy or a host's labels is refused rather than left to block the host. An enrollment
   * cannot be refused: its conflict is recorded, shown and blocks the host's pushes.
   */
  refuseNewConflicts?: boolean;
  /** The hosts' repository settings changed (a repository's URL or secrets, a host's own config). */
  configChanged?: boolean;
}

/**
 * Propagation (DESIGN §8.3): brings the given hosts' copies of policy schedules and their
 * policy repository up to date with the policies as stored. Call inside the change's own
 * transaction; only a host whose schedules or repository changed gets its version bumped, and
 * the plan lists those, for host-push.ts to send once the transaction has committed.
 */
export function createPolicySync(deps: DomainContext) {
  const { store, clock } = deps;

  return function recompute(hostIds: Iterable<string>, options: RecomputeOptions = {}): SyncPlan {
    const policies = store.listPolicies();
    const at = clock.now().toISOString();
    const ids = [...new Set(hostIds)];
    const plan: SyncPlan = { hosts: [] };
    const known = new Map<string, RepositoryRow | null>();
    const repositories = (id: string) => {
      if (!known.has(id)) known.set(id, store.repositoryById(id));
      return known.get(id) ?? null;
    };
    const fresh: { host: string; conflict: PolicyConflict }[] = [];
    // Three reads per chunk of hosts: 5,000 hosts read one by one cost more than all the writes,
    // and all at once would hold every row in memory together (bench/benchmarks/policies.ts).
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const own = new Set(store.hostsWithOwnRepository(chunk));
      const copies = Map.groupBy(store.schedulesForHosts(chunk, true), (s) => s.host_id);
      for (const host of store.hostsByIds(chunk)) {
        const effect = policyEffect(host, policies, own.has(host.id), copies.get(host.id) ?? [], at);
        for (const id of effect.remove) store.deleteSchedule(id);
        for (const { copy, isNew } of effect.write) {
          if (isNew) store.insertSchedule(copy);
          else store.updateSchedule(copy);
        }
        const schedulesChanged = effect.remove.length > 0 || effect.write.length > 0;

        const before = {
          policy_repository_id: host.policy_repository_id,
          repository_policy_id: host.repository_policy_id,
          policy_conflict: host.policy_conflict,
        };
        const stateChanged = JSON.stringify(before) !== JSON.stringify(effect.state);
        if (stateChanged) store.setHostPolicyState(host.id, effect.state);
        // A template without a password of its own: the host's generated one, made in this transaction.
        const repo =
          stateChanged && effect.state.policy_repository_id ? repositories(effect.state.policy_repository_id) : null;
        if (repo && repo.password_enc === null) ensureHostPassword(deps, repo, host);
        if (effect.state.policy_conflict && !host.policy_conflict) {
          fresh.push({ host: host.name, conflict: effect.state.policy_conflict });
        }
        const config = stateChanged || options.configChanged === true;
        if (schedulesChanged || config) plan.hosts.push({ id: host.id, config });
      }
    }
    if (options.refuseNewConflicts && fresh.length > 0) throw conflictError(fresh);
    store.bumpScheduleVersions(plan.hosts.map((h) => h.id));
    return plan;
  };
}

export type Recompute = ReturnType<typeof createPolicySync>;

/** Names the policies in conflict and some of the hosts, so the admin knows what to change. */
function conflictError(fresh: { host: string; conflict: PolicyConflict }[]): DomainError {
  const first = fresh[0] as { host: string; conflict: PolicyConflict };
  const names = first.conflict.policies.map((p) => JSON.stringify(p.name)).join(", ");
  const hosts = fresh.slice(0, 5).map((f) => f.host);
  const more = fresh.length > hosts.length ? ` and ${fresh.length - hosts.length} more` : "";
  return new DomainError(
    "conflict",
    `policies ${names} have priority ${first.conflict.priority} and different repositories for host ` +
      `${hosts.join(", ")}${more}: give one a higher priority, the same repository, or selectors that do not overlap`,
    "priority",
  );
}
