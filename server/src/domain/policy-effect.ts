import { createHash } from "node:crypto";
import { SCHEDULE_FIELDS } from "./schedule-entry.ts";
import { matches } from "./selector.ts";
import type { HostPolicyState, PolicyRow, PolicyScheduleRow } from "./store.ts";
import type { Host, PolicyConflict, Schedule } from "./types.ts";

/**
 * What the policies make of one host (DESIGN §8.3), as a pure function of what the store holds:
 * its copies of their schedules, and its repository.
 *
 * - Schedules: the host's own, plus one copy of each schedule of every enabled policy whose
 *   selector matches its labels.
 * - Repository: the host's own config if it has one; otherwise that of the matching policy with
 *   the highest priority that names one. Policies of that priority naming different repositories
 *   are a conflict, and nothing is pushed to the host until it is resolved.
 */
export interface PolicyEffect {
  write: { copy: Schedule; isNew: boolean }[];
  remove: string[];
  state: HostPolicyState;
}

/**
 * The id of a host's copy of a policy schedule: derived from both, so a recomputation finds the
 * same row again (its jobs keep their schedule, and a tick dedups as before).
 */
export function copyId(policyScheduleId: string, hostId: string): string {
  return `sch_${createHash("sha256").update(`${policyScheduleId}/${hostId}`).digest("hex").slice(0, 20)}`;
}

/** The enabled policies that select a host with these labels, highest priority first. */
export function matchingPolicies(policies: readonly PolicyRow[], host: Pick<Host, "labels">): PolicyRow[] {
  return policies.filter((p) => p.enabled && matches(p.selector, host.labels));
}

/** The host's repository through its policies (`matching` highest priority first, as listed). */
export function policyRepository(matching: readonly PolicyRow[], hasOwnRepository: boolean): HostPolicyState {
  const none: HostPolicyState = { policy_repository_id: null, repository_policy_id: null, policy_conflict: null };
  if (hasOwnRepository) return none;
  const naming = matching.filter((p) => p.repository_id !== null);
  const top = naming[0];
  if (!top?.repository_id) return none;
  const tied = naming.filter((p) => p.priority === top.priority);
  if (new Set(tied.map((p) => p.repository_id)).size > 1) {
    const conflict: PolicyConflict = {
      priority: top.priority,
      policies: tied.map((p) => ({ id: p.id, name: p.name, repository_id: p.repository_id as string })),
    };
    return { ...none, policy_conflict: conflict };
  }
  return { policy_repository_id: top.repository_id, repository_policy_id: top.id, policy_conflict: null };
}

/** The copy a host holds of a policy schedule; `previous` (the same copy as stored) keeps its times when unchanged. */
function copyOf(s: PolicyScheduleRow, host: Pick<Host, "id">, at: string, previous: Schedule | undefined): Schedule {
  return {
    id: copyId(s.id, host.id),
    host_id: host.id,
    kind: s.kind,
    cron_expr: s.cron_expr,
    timezone: s.timezone,
    jitter: s.jitter,
    paths: s.paths,
    excludes: s.excludes,
    tags: s.tags,
    retention_policy: s.retention_policy,
    options: s.options,
    pre_hook: s.pre_hook,
    post_hook: s.post_hook,
    stdin_command: s.stdin_command,
    stdin_filename: s.stdin_filename,
    enabled: s.enabled,
    policy_id: s.policy_id,
    policy_schedule_id: s.id,
    created_at: previous?.created_at ?? at,
    updated_at: at,
  };
}

/** What a copy says: the schedule's fields, and which policy it comes from. */
const DEFINITION = [...SCHEDULE_FIELDS, "policy_id"] as const;
type Definition = Pick<Schedule, (typeof DEFINITION)[number]>;

/** What a schedule says, as one string: two schedules say the same when their keys are equal. */
const definitionKey = (d: Definition) => JSON.stringify(DEFINITION.map((f) => d[f]));

/**
 * The policy schedules' keys, made once per schedule object: a recomputation compares every
 * host's copies with the same few policy schedules.
 */
const keys = new WeakMap<PolicyScheduleRow, string>();
const keyOf = (s: PolicyScheduleRow) => {
  let k = keys.get(s);
  if (k === undefined) {
    k = definitionKey(s);
    keys.set(s, k);
  }
  return k;
};

/**
 * The host's schedule copies and repository state, given `stored`, its copies as they are:
 * `write` holds the copies to insert or update (new, or saying something else now), `remove`
 * the ids of stored copies no matching policy gives any more.
 */
export function policyEffect(
  host: Pick<Host, "id" | "labels">,
  policies: readonly PolicyRow[],
  hasOwnRepository: boolean,
  stored: readonly Schedule[],
  at: string,
): PolicyEffect {
  const matching = matchingPolicies(policies, host);
  const byId = new Map(stored.map((s) => [s.id, s]));
  const wanted = new Set<string>();
  const write: PolicyEffect["write"] = [];
  for (const p of matching) {
    for (const s of p.schedules) {
      const id = copyId(s.id, host.id);
      wanted.add(id);
      const previous = byId.get(id);
      if (previous && definitionKey(previous) === keyOf(s)) continue;
      write.push({ copy: copyOf(s, host, at, previous), isNew: previous === undefined });
    }
  }
  const remove = stored.filter((s) => !wanted.has(s.id)).map((s) => s.id);
  return { write, remove, state: policyRepository(matching, hasOwnRepository) };
}
