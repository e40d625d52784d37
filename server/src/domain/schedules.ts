import * as v from "valibot";
import {
  absolutePathProblem,
  DrillSpec,
  type JobKind,
  keepsSomething,
  READ_DATA_SUBSET,
  type RetentionPolicy,
  stdinCommandProblem,
  stdinFilenameProblem,
  tagProblem,
} from "../../../protocol/index.ts";
import { audit } from "./audit.ts";
import { blankSchedule } from "./blank-rows.ts";
import { cronPreview } from "./cron.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError, notFound } from "./errors.ts";
import type { HostPush } from "./host-push.ts";
import { checkJitter, hostDelay } from "./jitter.ts";
import { requireAdmin } from "./permissions.ts";
import { readCycleView, rollingParts, rollingProblem } from "./read-cycles.ts";
import { repositoryWideOf, SERVER_ZONE } from "./repository-wide.ts";
import { SCHEDULE_FIELDS } from "./schedule-entry.ts";
import { newId } from "./tokens.ts";
import type { Host, Schedule } from "./types.ts";

export interface ScheduleInput {
  kind: JobKind;
  cron_expr: string;
  timezone?: string | null | undefined;
  /** "30m": each host delays each tick by its own stable offset in [0, jitter) (jitter.ts). */
  jitter?: string | null | undefined;
  paths?: string[] | undefined;
  excludes?: string[] | undefined;
  tags?: string[] | undefined;
  retention_policy?: RetentionPolicy | null | undefined;
  options?: Record<string, string | number | boolean> | undefined;
  pre_hook?: string | null | undefined;
  post_hook?: string | null | undefined;
  stdin_command?: string[] | null | undefined;
  stdin_filename?: string | null | undefined;
  enabled?: boolean | undefined;
}

/**
 * The values of these fields as stored: the hook commands included, so the audit log says what a
 * host was told to run. A schedule holds no secrets (those are the host's repository settings).
 */
function definition(s: Schedule, fields: ReadonlyArray<(typeof SCHEDULE_FIELDS)[number]>): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, s[f]]));
}

/**
 * Rules a schedule must meet whatever door it came in by (a host's own, a policy's): a cron that
 * fires, in a zone that exists, a jitter within its interval, and the kind's fields and options.
 * Returns the schedule with its jitter as stored.
 */
export function checkDefinition<S extends Schedule>(s: S, now: Date): S {
  cronPreview(s.cron_expr, s.timezone, now);
  checkSchedule(s);
  return { ...s, jitter: checkJitter(s, now) };
}

function checkSchedule(s: Schedule): void {
  if (s.kind === "restore" || s.kind === "tag") {
    throw new DomainError("invalid", `${s.kind} cannot be scheduled: run it from the host's snapshots`, "kind");
  }
  if (s.kind === "copy") {
    throw new DomainError(
      "invalid",
      "copy is not a schedule kind: name the repository in copy_targets (a policy's or the host's), with a schedule of its own if it should not follow each backup",
      "kind",
    );
  }
  checkStdin(s);
  if (s.kind === "backup" && s.paths.length === 0 && !s.stdin_command) {
    throw new DomainError("invalid", "a backup schedule needs at least one path", "paths");
  }
  for (const [i, p] of s.paths.entries()) {
    const problem = absolutePathProblem(p, "path");
    if (problem) throw new DomainError("invalid", problem, `paths.${i}`);
  }
  for (const [i, t] of s.tags.entries()) {
    const problem = tagProblem(t);
    if (problem) throw new DomainError("invalid", problem, `tags.${i}`);
  }
  if (s.kind === "forget" && !keepsSomething(s.retention_policy)) {
    throw new DomainError(
      "invalid",
      "a forget schedule needs a retention policy that keeps something (e.g. keep_daily: 7)",
      "retention_policy",
    );
  }
  if (s.kind !== "forget" && s.retention_policy) {
    throw new DomainError("invalid", "a retention policy is only for forget schedules", "retention_policy");
  }
  if (s.kind !== "backup") {
    for (const field of ["paths", "excludes", "tags"] as const) {
      if (s[field].length > 0) throw new DomainError("invalid", `${field} are only for backup schedules`, field);
    }
  }
  // Each kind's options; anything else would be dropped on the way to the agent without a word.
  const allowed: Record<string, string[]> = {
    forget: ["prune"],
    check: ["read_data_subset"],
    drill: ["snapshot_id", "sample_files", "max_bytes"],
  };
  for (const [key, value] of Object.entries(s.options)) {
    if (!(allowed[s.kind] ?? []).includes(key)) {
      const hint = key === "timezone" ? ": set the schedule's timezone field instead" : "";
      throw new DomainError("invalid", `option ${key} is not known for ${s.kind} schedules${hint}`, `options.${key}`);
    }
    if (key === "prune" && typeof value !== "boolean") {
      throw new DomainError("invalid", "options.prune must be true or false", "options.prune");
    }
    if (key === "read_data_subset") {
      const rolling = rollingProblem(value);
      if (rolling) throw new DomainError("invalid", rolling, "options.read_data_subset");
      if (typeof value !== "string" || (!READ_DATA_SUBSET.test(value) && rollingParts(value) === null)) {
        throw new DomainError(
          "invalid",
          "options.read_data_subset must be like 10%, 1/5 or 500M, or k/N to check part 1, 2, ... N in turn",
          "options.read_data_subset",
        );
      }
    }
  }
  if (s.kind === "drill") checkDrillOptions(s.options);
  if ((s.pre_hook || s.post_hook) && s.kind !== "backup") {
    throw new DomainError(
      "invalid",
      "hooks are only supported on backup schedules",
      s.pre_hook ? "pre_hook" : "post_hook",
    );
  }
}

/**
 * A stdin backup (its command's output as one file): backups only, instead of paths and
 * excludes, with a plain file name. The agent checks the same (protocol stdin*Problem).
 */
function checkStdin(s: Schedule): void {
  if (s.stdin_command === null) {
    if (s.stdin_filename !== null) {
      throw new DomainError(
        "invalid",
        "stdin_filename needs a stdin_command (the command whose output it names)",
        "stdin_filename",
      );
    }
    return;
  }
  if (s.kind !== "backup") {
    throw new DomainError("invalid", "stdin_command is only for backup schedules", "stdin_command");
  }
  const problem = stdinCommandProblem(s.stdin_command);
  if (problem) throw new DomainError("invalid", `stdin_command: ${problem}`, "stdin_command");
  if (s.paths.length > 0) {
    throw new DomainError("invalid", "a backup reads paths or a command's output (stdin_command), not both", "paths");
  }
  if (s.excludes.length > 0) {
    throw new DomainError("invalid", "excludes are for paths: a backup of a command's output has none", "excludes");
  }
  const name = s.stdin_filename === null ? null : stdinFilenameProblem(s.stdin_filename);
  if (name) throw new DomainError("invalid", `stdin_filename ${name}`, "stdin_filename");
}

/** A drill schedule's options, by the protocol's own DrillSpec rules (each field's message). */
function checkDrillOptions(options: Schedule["options"]): void {
  const type = { snapshot_id: "string", max_bytes: "string", sample_files: "number" } as const;
  for (const [key, want] of Object.entries(type)) {
    if (key in options && typeof options[key] !== want) {
      throw new DomainError("invalid", `options.${key} must be a ${want}`, `options.${key}`);
    }
  }
  const parsed = v.safeParse(DrillSpec, options);
  if (parsed.success) return;
  const issue = parsed.issues[0];
  const field = v.getDotPath(issue) ?? "options";
  throw new DomainError("invalid", `options.${field} ${issue.message}`, `options.${field}`);
}

export { toEntry } from "./schedule-entry.ts";

export function createSchedules(deps: DomainContext, push: HostPush) {
  const { store, tx, clock } = deps;

  /**
   * A schedule without a zone of its own runs in its host's (as the host's agent reported it).
   * `next_runs` are the nominal ticks (what a fire's scheduled_at says); `next_real_runs` the
   * times this host's agent starts them, `delay_seconds` later (its jitter offset, jitter.ts).
   */
  const view = (s: Schedule, host: Host | null = store.hostById(s.host_id)) => {
    const hostZone = host?.timezone ?? null;
    // A prune or check the server fires for the host's shared repository (repository-wide.ts): its
    // runs are the server's, in the server's zone when it has none, on one host of the repository,
    // and without a jitter delay (the server fires them at the nominal tick).
    const repository_wide = repositoryWideOf(s, store, s.host_id);
    const delay = hostDelay(repository_wide ? { id: s.id, jitter: null } : s, {
      id: s.host_id,
      protocol_version: host?.protocol_version ?? null,
    });
    // Past the real start of a nominal tick that already fell, the next real run is the next tick's.
    const from = new Date(clock.now().getTime() - delay.delay_seconds * 1000);
    let next_runs: string[] = [];
    try {
      const zone = s.timezone ?? (repository_wide ? SERVER_ZONE : hostZone);
      next_runs = s.enabled ? cronPreview(s.cron_expr, zone, from) : [];
    } catch {
      // Stored schedules were validated on write; a croner upgrade could still disagree.
    }
    const next_real_runs = next_runs.map((t) => new Date(Date.parse(t) + delay.delay_seconds * 1000).toISOString());
    // The name of the policy it comes from, so a host's page can say so without reading every policy.
    const policy_name = s.policy_id === null ? null : (store.policyById(s.policy_id)?.name ?? null);
    // The newest ticks merged into a pending run (tick-merge.ts): null while none was.
    const skipped = store.lastSkippedTicks(s.id);
    const skipped_ticks = skipped && {
      job_id: skipped.job_id,
      count: skipped.count,
      first_scheduled_at: skipped.first_scheduled_at,
      last_scheduled_at: skipped.last_scheduled_at,
      last_skipped_at: skipped.last_skipped_at,
      last_reason: skipped.last_reason,
    };
    // A rolling check's place in its cycle (read-cycles.ts); null for every other schedule.
    return {
      ...s,
      policy_name,
      next_runs,
      next_real_runs,
      ...delay,
      read_cycle: readCycleView(store, s),
      skipped_ticks,
      repository_wide,
    };
  };

  /** Writes a change and bumps the host's version in one transaction, then pushes the full set. */
  function commit(hostId: string, write: () => void): void {
    tx(() => {
      write();
      store.bumpScheduleVersion(hostId);
    });
    push.pushSet(hostId);
  }

  /** A schedule of the host's own: a policy's copy is changed through its policy (409). */
  function ownSchedule(id: string, verb: string): Schedule {
    const s = store.scheduleById(id);
    if (!s) throw notFound(`schedule ${id}`);
    if (s.policy_id !== null) {
      const policy = store.policyById(s.policy_id);
      throw new DomainError(
        "conflict",
        `schedule ${id} comes from policy ${JSON.stringify(policy?.name ?? s.policy_id)}: it can only be ${verb} ` +
          `through the policy (PATCH /api/v1/policies/${s.policy_id})`,
        "policy_id",
      );
    }
    return s;
  }

  function build(base: Schedule, input: Partial<ScheduleInput>): Schedule {
    const s: Schedule = {
      ...base,
      ...(input.kind !== undefined && { kind: input.kind }),
      ...(input.cron_expr !== undefined && { cron_expr: input.cron_expr.trim() }),
      ...(input.timezone !== undefined && { timezone: input.timezone || null }),
      ...(input.jitter !== undefined && { jitter: input.jitter || null }),
      ...(input.paths !== undefined && { paths: input.paths }),
      ...(input.excludes !== undefined && { excludes: input.excludes }),
      ...(input.tags !== undefined && { tags: input.tags }),
      ...(input.retention_policy !== undefined && { retention_policy: input.retention_policy }),
      ...(input.options !== undefined && { options: input.options }),
      ...(input.pre_hook !== undefined && { pre_hook: input.pre_hook || null }),
      ...(input.post_hook !== undefined && { post_hook: input.post_hook || null }),
      ...(input.stdin_command !== undefined && { stdin_command: input.stdin_command }),
      ...(input.stdin_filename !== undefined && { stdin_filename: input.stdin_filename || null }),
      ...(input.enabled !== undefined && { enabled: input.enabled }),
      updated_at: clock.now().toISOString(),
    };
    return checkDefinition(s, clock.now());
  }

  return {
    view,
    /** Sends the host its full schedule list (not while its policies are in conflict). */
    pushSet: push.pushSet,
    list(hostId: string) {
      if (!store.hostById(hostId)) throw notFound(`host ${hostId}`);
      const host = store.hostById(hostId);
      // Its own first, as made; then its policies' copies, in the policies' order and their own.
      const order = new Map(
        store
          .listPolicies()
          .flatMap((p) => p.schedules.map((s) => s.id))
          .map((id, i) => [id, i]),
      );
      const rank = (s: Schedule) => (s.policy_schedule_id === null ? -1 : (order.get(s.policy_schedule_id) ?? 0));
      const all = store.schedulesForHost(hostId);
      return all
        .map((s, i) => ({ s, i }))
        .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i)
        .map(({ s }) => view(s, host));
    },
    get(id: string) {
      const s = store.scheduleById(id);
      if (!s) throw notFound(`schedule ${id}`);
      return view(s);
    },
    /** The next `count` runs of an expression, without saving anything; throws a clear 400 when invalid. */
    preview(cronExpr: string, timezone: string | null, count = 5) {
      return cronPreview(cronExpr, timezone, clock.now(), count);
    },
    create(actor: Actor, hostId: string, input: ScheduleInput) {
      requireAdmin(actor, "creating a schedule");
      if (!store.hostById(hostId)) throw notFound(`host ${hostId}`);
      const at = clock.now().toISOString();
      const blank = blankSchedule({
        id: newId("sch"),
        host_id: hostId,
        kind: input.kind,
        cron_expr: input.cron_expr,
        created_at: at,
      });
      const s = build(blank, input);
      commit(hostId, () => {
        store.insertSchedule(s);
        audit(deps, actor, "schedule.create", s.id, { host_id: hostId, ...definition(s, SCHEDULE_FIELDS) });
      });
      return view(s);
    },
    update(actor: Actor, id: string, input: Partial<ScheduleInput>) {
      requireAdmin(actor, "changing a schedule");
      const old = ownSchedule(id, "changed");
      const s = build(old, input);
      commit(s.host_id, () => {
        store.updateSchedule(s);
        const fields = SCHEDULE_FIELDS.filter((f) => input[f] !== undefined);
        audit(deps, actor, "schedule.update", id, {
          host_id: s.host_id,
          fields,
          ...definition(s, fields),
          before: definition(old, fields),
        });
      });
      return view(s);
    },
    remove(actor: Actor, id: string) {
      requireAdmin(actor, "deleting a schedule");
      const old = ownSchedule(id, "deleted");
      commit(old.host_id, () => {
        store.deleteSchedule(id);
        audit(deps, actor, "schedule.delete", id, { host_id: old.host_id });
      });
    },
  };
}

export type Schedules = ReturnType<typeof createSchedules>;
/** A schedule as the API shows it, with its next runs. */
export type ScheduleView = ReturnType<Schedules["view"]>;
