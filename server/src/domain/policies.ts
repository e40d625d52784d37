import { audit } from "./audit.ts";
import { blankSchedule } from "./blank-rows.ts";
import { type CopyTargetInput, checkCopyTargets } from "./copy-targets.ts";
import { cronPreview } from "./cron.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError, notFound, within } from "./errors.ts";
import type { HostPush } from "./host-push.ts";
import type { Hosts } from "./hosts.ts";
import { checkName } from "./names.ts";
import { checkMaxOfflineAge } from "./offline-age.ts";
import { requireAdmin } from "./permissions.ts";
import type { Recompute } from "./policy-sync.ts";
import { checkDefinition, type ScheduleInput } from "./schedules.ts";
import { checkSelector, matches, type Selector } from "./selector.ts";
import type { PolicyRow, PolicyScheduleRow } from "./store.ts";
import { newId } from "./tokens.ts";
import type { Host } from "./types.ts";

/** One schedule of a policy as the API takes it; `id` keeps an existing one (and its hosts' history). */
export interface PolicyScheduleInput extends ScheduleInput {
  id?: string | undefined;
}
export interface PolicyInput {
  name: string;
  selector?: Selector | undefined;
  repository_id?: string | null | undefined;
  priority?: number | undefined;
  enabled?: boolean | undefined;
  schedules?: PolicyScheduleInput[] | undefined;
  /** Further repositories its hosts' snapshots are copied to (copy-targets.ts). */
  copy_targets?: CopyTargetInput[] | undefined;
  /** How long its hosts' agents may back up on their own while the server is away (offline-age.ts); null: not set. */
  max_offline_age?: string | null | undefined;
}
/** PATCH: an absent field is left as is; `schedules` replaces the whole list. */
export type PolicyPatch = Partial<PolicyInput>;

const MAX_PRIORITY = 1_000_000;
const MAX_SCHEDULES = 50;

function checkPriority(priority: number): number {
  if (!Number.isInteger(priority) || Math.abs(priority) > MAX_PRIORITY) {
    throw new DomainError(
      "invalid",
      `priority: must be a whole number from -${MAX_PRIORITY} to ${MAX_PRIORITY}`,
      "priority",
    );
  }
  return priority;
}

/** The policy schedules as given, checked by the same rules as a host's own (schedules.ts). */
function checkSchedules(
  inputs: PolicyScheduleInput[],
  policyId: string,
  previous: readonly PolicyScheduleRow[],
  now: Date,
): PolicyScheduleRow[] {
  if (inputs.length > MAX_SCHEDULES) {
    throw new DomainError("invalid", `schedules: at most ${MAX_SCHEDULES} per policy`, "schedules");
  }
  const known = new Map(previous.map((s) => [s.id, s]));
  const taken = new Set<string>();
  return inputs.map((input, i) =>
    within(`schedules.${i}`, () => {
      // Keep a schedule's id (so its hosts' copies and their jobs stay the same schedule): the
      // one named, else the one at the same place of the same kind.
      let id: string;
      if (input.id !== undefined) {
        if (!known.has(input.id)) throw new DomainError("invalid", `no schedule ${input.id} in this policy`, "id");
        id = input.id;
      } else {
        const same = previous[i];
        id = same && same.kind === input.kind && !inputs.some((o) => o.id === same.id) ? same.id : newId("psch");
      }
      if (taken.has(id)) throw new DomainError("invalid", `schedule ${id} is listed twice`, "id");
      taken.add(id);
      const s = blankSchedule({
        id,
        host_id: "",
        kind: input.kind,
        cron_expr: input.cron_expr.trim(),
        created_at: now.toISOString(),
        timezone: input.timezone || null,
        jitter: input.jitter || null,
        paths: input.paths ?? [],
        excludes: input.excludes ?? [],
        tags: input.tags ?? [],
        retention_policy: input.retention_policy ?? null,
        options: input.options ?? {},
        pre_hook: input.pre_hook || null,
        post_hook: input.post_hook || null,
        stdin_command: input.stdin_command ?? null,
        stdin_filename: input.stdin_filename || null,
        enabled: input.enabled ?? true,
      });
      const checked = checkDefinition(s, now);
      return {
        id,
        policy_id: policyId,
        kind: s.kind,
        cron_expr: s.cron_expr,
        timezone: s.timezone,
        jitter: checked.jitter,
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
      };
    }),
  );
}

/** A policy's definition: what its audit entries record before and after (it holds no secrets). */
const definition = ({ created_at: _c, updated_at: _u, ...p }: PolicyRow) => p;

export function createPolicies(deps: DomainContext, recompute: Recompute, push: HostPush, hosts: Hosts) {
  const { store, tx, clock } = deps;

  function get(id: string): PolicyRow {
    const p = store.policyById(id);
    if (!p) throw notFound(`policy ${id}`);
    return p;
  }

  /** Call inside the write's transaction, so two creates of one name cannot both pass. */
  function uniqueName(name: string, self: string | null): void {
    const other = store.policyByName(name);
    if (other && other.id !== self) {
      throw new DomainError("conflict", `name: policy ${other.id} is named ${JSON.stringify(other.name)}`, "name");
    }
  }

  function checkRepository(id: string | null): string | null {
    if (id !== null && !store.repositoryById(id)) {
      throw new DomainError(
        "invalid",
        `repository_id: no repository ${id} (see GET /api/v1/repositories)`,
        "repository_id",
      );
    }
    return id;
  }

  const selected = (selector: Selector, all: readonly Host[]) => all.filter((h) => matches(selector, h.labels));

  /** A policy as the API shows it: its schedules with their next runs, the hosts it matches, its conflicts. */
  function view(p: PolicyRow, all: readonly Host[] = store.listHosts()) {
    const now = clock.now();
    const matched = selected(p.selector, all);
    const conflicts = all
      .filter((h) => h.policy_conflict?.policies.some((c) => c.id === p.id))
      .map((h) => ({
        host_id: h.id,
        host_name: h.name,
        ...(h.policy_conflict as NonNullable<Host["policy_conflict"]>),
      }));
    return {
      id: p.id,
      name: p.name,
      selector: p.selector,
      repository_id: p.repository_id,
      priority: p.priority,
      enabled: p.enabled,
      copy_targets: p.copy_targets,
      max_offline_age: p.max_offline_age,
      schedules: p.schedules.map(({ policy_id: _, ...s }) => {
        let next_runs: string[] = [];
        try {
          next_runs = s.enabled && p.enabled ? cronPreview(s.cron_expr, s.timezone, now) : [];
        } catch {
          // Validated on write; see schedules.ts view.
        }
        return { ...s, next_runs };
      }),
      matched_hosts: matched.length,
      /** Of the matched hosts, those that have acked their latest schedules and are not in conflict. */
      hosts_in_sync: matched.filter((h) => h.acked_schedule_version === h.schedule_version && !h.policy_conflict)
        .length,
      conflicts,
      created_at: p.created_at,
      updated_at: p.updated_at,
    };
  }

  /** Writes the policy and recomputes the hosts it affects, in one transaction; pushes after commit. */
  function commit(write: () => { row: PolicyRow; affected: Iterable<string>; copies?: boolean }) {
    const { row, plan, copies, affected } = tx(() => {
      const { row, affected, copies } = write();
      const ids = [...affected];
      return { row, plan: recompute(ids, { refuseNewConflicts: true }), copies, affected: ids };
    });
    push.push(plan);
    // Copy targets and max_offline_age travel in config.update: the hosts whose may have changed
    // get it again.
    if (copies) {
      const sent = new Set(plan.hosts.filter((h) => h.config).map((h) => h.id));
      push.pushConfigs(affected.filter((id) => !sent.has(id)));
    }
    return view(get(row.id));
  }

  return {
    list() {
      const all = store.listHosts();
      return store.listPolicies().map((p) => view(p, all));
    },
    show: (id: string) => view(get(id)),
    /** The hosts the policy's selector matches (enabled or not), as the host list shows them. */
    hosts(id: string) {
      return hosts.list(get(id).selector);
    },

    create(actor: Actor, input: PolicyInput) {
      requireAdmin(actor, "creating a policy");
      const at = clock.now().toISOString();
      const id = newId("pol");
      const row: PolicyRow = {
        id,
        name: checkName(input.name),
        selector: checkSelector(input.selector ?? {}),
        repository_id: checkRepository(input.repository_id ?? null),
        priority: checkPriority(input.priority ?? 0),
        enabled: input.enabled ?? true,
        schedules: checkSchedules(input.schedules ?? [], id, [], clock.now()),
        copy_targets: [],
        max_offline_age: checkMaxOfflineAge(input.max_offline_age ?? null),
        created_at: at,
        updated_at: at,
      };
      row.copy_targets = checkCopyTargets(store, input.copy_targets ?? [], row.repository_id);
      return commit(() => {
        uniqueName(row.name, null);
        store.insertPolicy(row);
        audit(deps, actor, "policy.create", id, { after: definition(row) });
        const affected = selected(row.selector, store.listHosts()).map((h) => h.id);
        return { row, affected, copies: row.copy_targets.length > 0 || row.max_offline_age !== null };
      });
    },

    update(actor: Actor, id: string, patch: PolicyPatch) {
      requireAdmin(actor, "changing a policy");
      return commit(() => {
        const old = get(id);
        const row: PolicyRow = {
          ...old,
          name: patch.name === undefined ? old.name : checkName(patch.name),
          selector: patch.selector === undefined ? old.selector : checkSelector(patch.selector),
          repository_id: patch.repository_id === undefined ? old.repository_id : checkRepository(patch.repository_id),
          priority: patch.priority === undefined ? old.priority : checkPriority(patch.priority),
          enabled: patch.enabled ?? old.enabled,
          schedules:
            patch.schedules === undefined
              ? old.schedules
              : checkSchedules(patch.schedules, id, old.schedules, clock.now()),
          copy_targets: old.copy_targets,
          max_offline_age:
            patch.max_offline_age === undefined ? old.max_offline_age : checkMaxOfflineAge(patch.max_offline_age),
          updated_at: clock.now().toISOString(),
        };
        if (patch.copy_targets !== undefined || patch.repository_id !== undefined) {
          row.copy_targets = checkCopyTargets(store, patch.copy_targets ?? old.copy_targets, row.repository_id);
        }
        uniqueName(row.name, id);
        store.updatePolicy(row);
        const fields = (Object.keys(patch) as Array<keyof PolicyPatch>).filter((k) => patch[k] !== undefined);
        audit(deps, actor, "policy.update", id, { fields, before: definition(old), after: definition(row) });
        const all = store.listHosts();
        const affected = new Set([
          ...selected(old.selector, all).map((h) => h.id),
          ...selected(row.selector, all).map((h) => h.id),
          ...store.hostsOfPolicy(id),
        ]);
        // A policy that sets either may change them on the hosts it matched or matches now.
        const copies =
          old.copy_targets.length > 0 ||
          row.copy_targets.length > 0 ||
          old.max_offline_age !== null ||
          row.max_offline_age !== null;
        return { row, affected, copies };
      });
    },

    /** Its hosts lose its schedules (and its repository, unless another policy gives one). */
    remove(actor: Actor, id: string) {
      requireAdmin(actor, "deleting a policy");
      const plan = tx(() => {
        const old = get(id);
        const affected = new Set<string>([
          ...selected(old.selector, store.listHosts()).map((h) => h.id),
          ...store.hostsOfPolicy(id),
        ]);
        store.deletePolicy(id);
        audit(deps, actor, "policy.delete", id, { before: definition(old) });
        const plan = recompute(affected, { refuseNewConflicts: true });
        const configured = old.copy_targets.length > 0 || old.max_offline_age !== null;
        return { plan, copiedTo: configured ? [...affected] : [] };
      });
      push.push(plan.plan);
      push.pushConfigs(plan.copiedTo);
    },
  };
}

export type Policies = ReturnType<typeof createPolicies>;
/** A policy as the API shows it. */
export type PolicyView = ReturnType<Policies["show"]>;
