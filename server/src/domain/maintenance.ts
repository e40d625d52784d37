import { Cron } from "croner";
import { kindProblem } from "./command-spec.ts";
import type { DomainContext } from "./deps.ts";
import { notFound } from "./errors.ts";
import type { Jobs } from "./jobs.ts";
import type { MaintenanceCandidate, MaintenanceTick } from "./maintenance-rows.ts";
import { isTemplate } from "./repository-url.ts";
import { type RepositoryWideSchedule, repositoryWideSchedules, SERVER_ZONE } from "./repository-wide.ts";
import type { Job } from "./types.ts";

const cronOf = (s: RepositoryWideSchedule["schedule"]) =>
  new Cron(s.cron_expr, { paused: true, mode: "5-or-6-parts", timezone: s.timezone ?? SERVER_ZONE });

/** The latest run of the schedule in (after, now], or null; only the latest is caught up, as agents do. */
function latestTick(s: RepositoryWideSchedule["schedule"], after: string, now: Date): string | null {
  try {
    // previousRuns() leaves out a run exactly at its reference: ask from 1 ms later.
    const last = cronOf(s).previousRuns(1, new Date(now.getTime() + 1))[0];
    return last && last.getTime() > Date.parse(after) ? last.toISOString() : null;
  } catch {
    return null; // validated on write; a croner upgrade could still disagree
  }
}

function nextRun(s: RepositoryWideSchedule["schedule"], now: Date): string | null {
  try {
    return cronOf(s).nextRun(now)?.toISOString() ?? null;
  } catch {
    return null;
  }
}

/** The one to run it: the online host that ran this repository's maintenance least recently, then by name. */
function pick(online: MaintenanceCandidate[]): MaintenanceCandidate | undefined {
  return online.toSorted(
    (a, b) =>
      (a.last_used_at ?? "").localeCompare(b.last_used_at ?? "") ||
      a.name.localeCompare(b.name) ||
      a.host_id.localeCompare(b.host_id),
  )[0];
}

type Decision = Pick<MaintenanceTick, "outcome" | "reason" | "host_id" | "job_id"> & { job?: Job };

/**
 * Repository-wide maintenance (DESIGN §8.3): the prune and check schedules of a policy whose
 * repository is shared, fired by the server once per repository per tick on one online host
 * that uses it, from the periodic sweep (every 10 s; tests move the clock and call sweep()).
 *
 * - Never two at once: while a prune or check of the repository is queued or running on any
 *   host, a tick is skipped with that reason, not queued behind it.
 * - No host online: the tick stays pending and fires on the first host that comes online
 *   (within a sweep). A later tick of the same schedule supersedes it, so a long outage makes
 *   one run, not a backlog, as an agent catches up only its latest missed tick.
 * - The job is an ordinary job of the chosen host's copy of the schedule: actor_kind
 *   "schedule", scheduled_id = that copy, scheduled_at = the nominal tick. The tick's own row
 *   (maintenance_ticks, keyed by policy schedule and tick) makes it one job across all hosts.
 */
export function createMaintenance(deps: DomainContext, jobs: Jobs) {
  const { store, tx, clock, agents, log } = deps;

  /** What to do with a tick now: fire it on a host, skip it, or leave it pending. Inside a transaction. */
  function decide(unit: RepositoryWideSchedule, scheduled_at: string): Decision {
    const { policy, schedule, repository_id } = unit;
    const busy = store.repositoryBusyJob(repository_id);
    if (busy) {
      return {
        outcome: "skipped",
        reason:
          `a ${busy.kind} of the repository is already ${busy.status} on host ${busy.host_name} (job ${busy.job_id}): ` +
          "a tick is skipped, not queued behind it, so two never run at once",
        host_id: null,
        job_id: null,
      };
    }
    const all = store.maintenanceCandidates(policy.id, schedule.id, repository_id);
    if (all.length === 0) {
      return {
        outcome: "skipped",
        reason: `no host uses the repository through policy ${JSON.stringify(policy.name)}`,
        host_id: null,
        job_id: null,
      };
    }
    const able = all.filter(
      (c) => kindProblem(schedule.kind, { id: c.host_id, protocol_version: c.protocol_version }) === null,
    );
    const online = able.filter((c) => agents.isConnected(c.host_id));
    const chosen = pick(online);
    const copy = chosen ? store.scheduleById(chosen.schedule_id) : null;
    if (!chosen || !copy) {
      return {
        outcome: "pending",
        reason:
          `none of the ${able.length} host${able.length === 1 ? "" : "s"} using the repository is online: ` +
          "it runs on the first that comes online",
        host_id: null,
        job_id: null,
      };
    }
    const { job } = jobs.scheduledJob(chosen.host_id, copy, scheduled_at);
    return {
      outcome: "fired",
      reason:
        `${chosen.name}: of the ${online.length} online host${online.length === 1 ? "" : "s"} using the repository, ` +
        (chosen.last_used_at ? "the one that ran its maintenance least recently" : "one that had not run it yet"),
      host_id: chosen.host_id,
      job_id: job.id,
      job,
    };
  }

  /** Records the decision on the tick's row; the job, if one was made, to dispatch after the commit. */
  function settle(tick: Pick<MaintenanceTick, "policy_schedule_id" | "scheduled_at">, d: Decision, at: string) {
    store.updateMaintenanceTick({
      ...tick,
      outcome: d.outcome,
      reason: d.reason,
      host_id: d.host_id,
      job_id: d.job_id,
      updated_at: at,
    });
    if (d.outcome === "skipped") log.info("repository-wide tick skipped", { ...tick, reason: d.reason });
    return d.job ?? null;
  }

  /** A new tick: its row, the older pending one it supersedes, and what becomes of it. */
  function tickNow(unit: RepositoryWideSchedule, scheduled_at: string, at: string): Job | null {
    const { policy, schedule, repository_id } = unit;
    const key = { policy_schedule_id: schedule.id, scheduled_at };
    const fresh = store.insertMaintenanceTick({
      ...key,
      repository_id,
      policy_id: policy.id,
      kind: schedule.kind,
      outcome: "pending",
      reason: null,
      host_id: null,
      job_id: null,
      created_at: at,
      updated_at: at,
    });
    store.setMaintenanceMark(schedule.id, at);
    if (!fresh) return null; // looked at before: one tick, one decision
    for (const old of store.pendingMaintenanceTicks()) {
      if (old.policy_schedule_id !== schedule.id || old.scheduled_at >= scheduled_at) continue;
      settle(
        old,
        {
          outcome: "skipped",
          reason: `superseded by the tick at ${scheduled_at}: no host using the repository came online in between`,
          host_id: null,
          job_id: null,
        },
        at,
      );
    }
    return settle(key, decide(unit, scheduled_at), at);
  }

  function dispatch(made: Job[]) {
    for (const job of made) {
      jobs.changed(job);
      if (job.status === "queued" && !job.accepted_at) jobs.dispatch(job);
    }
  }

  return {
    /** Fires what is due and what waits for a host; called by the periodic sweep. */
    sweep(): void {
      const now = clock.now();
      const at = now.toISOString();
      const units = repositoryWideSchedules(store);
      const byId = new Map(units.map((u) => [u.schedule.id, u]));
      const made: Job[] = [];
      for (const t of store.pendingMaintenanceTicks()) {
        const unit = byId.get(t.policy_schedule_id);
        const job = tx(() => {
          if (!unit || unit.repository_id !== t.repository_id) {
            const reason = "the policy no longer gives this schedule to the repository's hosts from the server";
            return settle(t, { outcome: "skipped", reason, host_id: null, job_id: null }, at);
          }
          const d = decide(unit, t.scheduled_at);
          return d.outcome === "pending" ? null : settle(t, d, at);
        });
        if (job) made.push(job);
      }
      for (const unit of units) {
        // Ticks after the last look, and after the policy's last change: a cron just edited (or a
        // schedule just added) does not fire a tick of the new expression from before the edit.
        const mark = store.maintenanceMark(unit.schedule.id);
        const after = mark !== null && mark > unit.policy.updated_at ? mark : unit.policy.updated_at;
        const tick = latestTick(unit.schedule, after, now);
        if (tick === null) continue;
        const job = tx(() => tickNow(unit, tick, at));
        if (job) made.push(job);
      }
      dispatch(made);
    },

    /**
     * GET /repositories/:id/maintenance: who runs the repository's prune and check, what its last
     * ones did, what runs now, and its recent ticks with their outcome and reason.
     */
    show(id: string) {
      const r = store.repositoryById(id);
      if (!r) throw notFound(`repository ${id}`);
      const now = clock.now();
      const name = (hostId: string | null) => (hostId ? (store.hostById(hostId)?.name ?? hostId) : null);
      const schedules = repositoryWideSchedules(store)
        .filter((u) => u.repository_id === id)
        .map(({ policy, schedule }) => {
          const hosts = store.maintenanceCandidates(policy.id, schedule.id, id);
          return {
            policy_id: policy.id,
            policy_name: policy.name,
            policy_schedule_id: schedule.id,
            kind: schedule.kind,
            cron_expr: schedule.cron_expr,
            timezone: schedule.timezone ?? SERVER_ZONE,
            next_run_at: nextRun(schedule, now),
            hosts: hosts.length,
            online_hosts: hosts.filter((c) => agents.isConnected(c.host_id)).length,
          };
        });
      const ticks = store.maintenanceTicks(id, 20).map((t) => ({
        ...t,
        host_name: name(t.host_id),
        job_status: t.job_id ? (store.jobById(t.job_id)?.status ?? null) : null,
      }));
      return {
        repository_id: id,
        /** Shared: its prunes and checks from policies run once per repository, by the server. */
        shared: !isTemplate(r.url),
        last_prune: store.repositoryLastJob(id, "prune"),
        last_check: store.repositoryLastJob(id, "check"),
        running: store.repositoryBusyJob(id),
        schedules,
        ticks,
      };
    },
  };
}

export type Maintenance = ReturnType<typeof createMaintenance>;
