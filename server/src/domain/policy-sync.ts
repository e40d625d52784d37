import type { DomainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import { policyEffect, sameDefinition } from "./policy-effect.ts";
import type { PolicyConflict } from "./types.ts";

/** Hosts whose schedules or repository changed in one transaction: what to push once it commits. */
export interface SyncPlan {
  hosts: { id: string; config: boolean }[];
}

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
    const plan: SyncPlan = { hosts: [] };
    const fresh: { host: string; conflict: PolicyConflict }[] = [];
    for (const id of new Set(hostIds)) {
      const host = store.hostById(id);
      if (!host) continue;
      const stored = store.schedulesForHost(id).filter((s) => s.policy_id !== null);
      const own = Boolean(store.configFor(id)?.repo_url);
      const effect = policyEffect(host, policies, own, stored, at);

      const wanted = new Set(effect.schedules.map((s) => s.id));
      const storedById = new Map(stored.map((s) => [s.id, s]));
      let schedulesChanged = false;
      for (const s of stored) {
        if (wanted.has(s.id)) continue;
        store.deleteSchedule(s.id);
        schedulesChanged = true;
      }
      for (const s of effect.schedules) {
        const old = storedById.get(s.id);
        if (!old) store.insertSchedule(s);
        else if (!sameDefinition(old, s)) store.updateSchedule(s);
        else continue;
        schedulesChanged = true;
      }

      const before = {
        policy_repository_id: host.policy_repository_id,
        repository_policy_id: host.repository_policy_id,
        policy_conflict: host.policy_conflict,
      };
      const stateChanged = JSON.stringify(before) !== JSON.stringify(effect.state);
      if (stateChanged) store.setHostPolicyState(id, effect.state);
      if (effect.state.policy_conflict && !host.policy_conflict) {
        fresh.push({ host: host.name, conflict: effect.state.policy_conflict });
      }
      const config = stateChanged || options.configChanged === true;
      if (schedulesChanged || config) {
        store.bumpScheduleVersion(id);
        plan.hosts.push({ id, config });
      }
    }
    if (options.refuseNewConflicts && fresh.length > 0) throw conflictError(fresh);
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
