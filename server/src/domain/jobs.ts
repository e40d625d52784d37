import type { JobSpecs, ScheduleFirePayload } from "../../../protocol/index.ts";
import { audit } from "./audit.ts";
import { queuedJob } from "./blank-rows.ts";
import { commandFor, commandProblem, jobCommand, scheduleProblem, specFromSchedule } from "./command-spec.ts";
import { COPY_SINCE, copySpec, copyTargetsOf, effectiveCopyTargets, latestTick } from "./copy-targets.ts";
import { tickProblem } from "./cron.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError, notFound } from "./errors.ts";
import { hostDelay } from "./jitter.ts";
import { type JobListItem, type JobListQuery, jobListItem } from "./job-list.ts";
import { checkJobSpec } from "./job-spec.ts";
import { itemsBudget, takePage } from "./pages.ts";
import { requireAdmin } from "./permissions.ts";
import { nextReadPart, readPartTaken } from "./read-cycles.ts";
import { repositoryWideOf } from "./repository-wide.ts";
import { matches } from "./selector.ts";
import { mergeTick } from "./tick-merge.ts";
import { newId } from "./tokens.ts";
import type { ActorKind, ApiJobCommand, ApiRestoreSpec, Job, JobCommand, JobState, Schedule } from "./types.ts";

/** 60 s for the agent to answer command.run with command.result before a re-delivery. */
export const ACCEPT_TIMEOUT_MS = 60_000;
/** One first delivery plus one retry on the next connection. */
export const MAX_DISPATCH_ATTEMPTS = 2;

export type FireResult =
  /** `skipped`: the tick was merged into `job`, its schedule's pending run (tick-merge.ts). */
  | { ok: true; job: Job; created: boolean; skipped: boolean }
  | { ok: false; code: "not_found" | "conflict"; message: string };

/** A run-now body as the API validated it: a command, or a schedule's (then its kind must match). */
export type RunNowInput = ApiJobCommand & { schedule_id?: string | undefined };

/**
 * What a run-now audit entry says: the host and kind, the command's spec as sent (a restore's
 * snapshot, target and source host, a backup's paths and hook commands; never a secret, which a
 * spec cannot hold), and the schedule it came from or the source host's id.
 */
function runDetail(hostId: string, input: RunNowInput, job: Job): Record<string, unknown> {
  const detail: Record<string, unknown> = { host_id: hostId, kind: job.kind };
  if (input.schedule_id) detail.schedule_id = input.schedule_id;
  if (job.args.length) detail.args = job.args;
  if (job.spec !== null) detail.spec = job.spec;
  if (input.kind === "restore" && input.spec?.source_host_id) detail.source_host_id = input.spec.source_host_id;
  return detail;
}

export function createJobs(deps: DomainContext) {
  const { store, tx, clock, agents, events, settings } = deps;
  const now = () => clock.now().toISOString();

  function newJob(
    hostId: string,
    actor: { kind: ActorKind; id: string | null },
    body: Partial<JobState> & JobCommand,
  ): Job {
    return queuedJob({
      id: newId("job"),
      host_id: hostId,
      actor_kind: actor.kind,
      actor_id: actor.id,
      created_at: now(),
      ...body,
    });
  }

  function changed(job: Pick<Job, "id" | "host_id">) {
    const j = store.jobById(job.id);
    if (j) events.publish({ type: "job.updated", job_id: j.id, host_id: j.host_id, status: j.status });
  }

  /** Sends command.run if the host is connected; the job stays queued otherwise. */
  function dispatch(job: Job): boolean {
    // A job that has not run has an error only when the store could not read its spec back
    // (store/jobs-store.ts): it fails with that error rather than run without its spec.
    if (job.status === "queued" && job.error !== null) {
      fail(job, job.error);
      return false;
    }
    // A kind the host's agent does not know (a drill before protocol 7) fails with the upgrade it
    // needs rather than be sent: the agent would refuse it. Known only once the agent said hello.
    if (
      job.status === "queued" &&
      (job.kind === "drill" || job.kind === "tag" || job.kind === "forget" || job.kind === "copy")
    ) {
      const host = store.hostById(job.host_id);
      const problem = host ? commandProblem(job, host) : null;
      if (problem) {
        fail(job, problem);
        return false;
      }
    }
    if (!agents.send(job.host_id, "command.run", commandFor(job))) return false;
    store.markDispatched(job.id, now());
    return true;
  }

  /**
   * A restore of another host's snapshot, from a repository both use: `source_host_id` becomes the
   * wire's `source_host`, that host's restic host name. Without it the agent restores only its own.
   */
  function restoreSource(hostId: string, spec: ApiRestoreSpec): JobSpecs["restore"] {
    const { source_host_id: sourceId, ...rest } = spec;
    if (sourceId === undefined || sourceId === hostId) return rest;
    const source = store.hostById(sourceId);
    if (!source) throw new DomainError("not_found", `source host ${sourceId} not found`, "spec.source_host_id");
    const target = store.hostById(hostId);
    if (target?.protocol_version != null && target.protocol_version < 2) {
      throw new DomainError(
        "conflict",
        `the agent on host ${hostId} is too old to restore another host's snapshot (protocol ${target.protocol_version}): upgrade it`,
        "spec.source_host_id",
      );
    }
    const repoOf = (id: string) => store.configFor(id)?.repo_url ?? null;
    if (repoOf(sourceId) !== null && repoOf(hostId) !== null && repoOf(sourceId) !== repoOf(hostId)) {
      throw new DomainError(
        "conflict",
        `host ${sourceId} backs up to another repository than host ${hostId}: a restore reads only its own repository`,
        "spec.source_host_id",
      );
    }
    return { ...rest, source_host: source.restic_host };
  }

  /** The job an API command makes: a backup's paths are also its args (their original wire meaning). */
  function fromApi(hostId: string, input: ApiJobCommand): { args: string[] } & JobCommand {
    switch (input.kind) {
      case "backup":
        return { args: input.spec?.paths ?? [], ...jobCommand(input) };
      case "restore":
        return { args: [], kind: input.kind, spec: input.spec ? restoreSource(hostId, input.spec) : null };
      case "init":
      case "forget":
      case "prune":
      case "check":
      case "unlock":
      case "drill":
      case "tag":
        return { args: [], ...jobCommand(input) };
      case "copy": {
        // A copy now, to one of the host's own targets, with that target's retention.
        const host = store.hostById(hostId);
        const targetId = input.spec?.target_id;
        const target = host && targetId ? copyTargetsOf(store, host).find((t) => t.repository_id === targetId) : null;
        if (!target) {
          throw new DomainError(
            "invalid",
            `spec.target_id: ${targetId === undefined ? "a copy names its target" : `repository ${targetId} is not a copy target of host ${hostId}`} (see the host's copy_targets)`,
            "spec.target_id",
          );
        }
        return { args: [], kind: "copy", spec: copySpec(target) };
      }
    }
  }

  /**
   * A schedule's job: its command, a rolling check's next part taken (read-cycles.ts). Inside the
   * caller's transaction, so a part is taken only with the job made for it.
   */
  function scheduleJob(
    hostId: string,
    s: Schedule,
    actor: { kind: ActorKind; id: string | null },
    extra: Partial<JobState>,
  ) {
    const part = nextReadPart(store, s, clock.now());
    const job = newJob(hostId, actor, { ...extra, ...specFromSchedule(s, part) });
    const inserted = store.insertJob(job);
    if (inserted.created && part !== null) readPartTaken(store, s, job.id, part);
    return inserted;
  }

  /**
   * Every check a run-now makes for one host (the host, its agent's protocol, the schedule, the
   * spec's values, a restore's source), whichever door asked: a single run-now or a bulk one
   * (bulk-run.ts). Throws the first problem; otherwise returns how to make the job, to be called
   * inside the caller's transaction (a rolling check takes its part only with its job).
   */
  function planRun(actor: Actor, hostId: string, input: RunNowInput): () => Job {
    const host = store.hostById(hostId);
    if (!host) throw notFound(`host ${hostId}`);
    const tooOld = commandProblem(input, host);
    if (tooOld) throw new DomainError("conflict", tooOld, "kind");
    const user = { kind: "user", id: actor.user_id } as const;
    if (input.schedule_id) {
      const s = store.scheduleById(input.schedule_id);
      if (!s || s.host_id !== hostId)
        throw new DomainError("not_found", `schedule ${input.schedule_id} not found on this host`, "schedule_id");
      if (s.kind !== input.kind) throw new DomainError("invalid", `schedule ${s.id} is a ${s.kind} schedule`, "kind");
      const unfit = scheduleProblem(s, host);
      if (unfit) throw new DomainError("conflict", unfit, "schedule_id");
      // A run of a schedule is one of its runs: a rolling check takes its next part.
      return () => scheduleJob(hostId, s, user, {}).job;
    }
    checkJobSpec(input);
    const body = fromApi(hostId, input);
    return () => store.insertJob(newJob(hostId, user, body)).job;
  }

  /** After the commit that stored it: the job is announced and sent if its host is connected. */
  function launch(job: Job): Job {
    changed(job);
    dispatch(job);
    return store.jobById(job.id) as Job;
  }

  /**
   * Why the host's agent may not fire this schedule: the server fires it for the host's shared
   * repository (repository-wide.ts); an agent still holding it has an old schedule list.
   */
  function repositoryWide(hostId: string, s: Schedule): string | null {
    const repository = repositoryWideOf(s, store, hostId);
    if (repository === null) return null;
    return (
      `schedule ${s.id}: the server fires this ${s.kind} once for the shared repository ${repository}, ` +
      "on one of its hosts; this agent's schedule list is out of date"
    );
  }

  function fail(job: Job, error: string) {
    if (store.finishJob(job.id, { status: "failed", exit_code: null, finished_at: now(), error })) changed(job);
  }

  /**
   * After a backup succeeded: one copy job per copy target of its host (copy-targets.ts), made by
   * the system and naming the backup as its actor. Call inside the transaction that finished the
   * backup; dispatch what it returns after the commit. None for an agent before protocol 9: it
   * has no copy jobs (the host page shows the target as unsupported).
   */
  function copiesAfter(backup: Job): Job[] {
    const host = store.hostById(backup.host_id);
    if (!host || (host.protocol_version ?? 0) < COPY_SINCE) return [];
    return copyTargetsOf(store, host)
      .filter((t) => t.schedule === null)
      .map(
        (t) =>
          store.insertJob(
            newJob(host.id, { kind: "system", id: backup.id }, { args: [], kind: "copy", spec: copySpec(t) }),
          ).job,
      );
  }

  /**
   * Copy targets on their own schedule (periodic, from the server's sweep): for each online host
   * of protocol 9 or later, the latest tick of each such target becomes one copy job, made once
   * (its `scheduled_at` is the tick). A host that was offline gets the latest tick it missed, once,
   * not one per tick.
   */
  function copyTicks(): Job[] {
    const policies = store.listPolicies();
    const own = store.allHostCopyTargets();
    const scheduled = (list: readonly { schedule: string | null }[]) => list.some((t) => t.schedule);
    if (!policies.some((p) => p.enabled && scheduled(p.copy_targets)) && ![...own.values()].some(scheduled)) return [];
    const now = clock.now();
    const made: Job[] = [];
    for (const host of store.listHosts()) {
      if ((host.protocol_version ?? 0) < COPY_SINCE || !agents.isConnected(host.id)) continue;
      const targets = effectiveCopyTargets(own.get(host.id) ?? [], policies, host).filter((t) => t.schedule);
      if (targets.length === 0) continue;
      const recent = [...store.listJobs({ host_id: host.id, kind: "copy", limit: 200 })];
      for (const t of targets) {
        const tick = latestTick(t.schedule as string, host.timezone, now);
        if (tick === null) continue;
        if (recent.some((j) => j.kind === "copy" && j.spec?.target_id === t.repository_id && j.scheduled_at === tick)) {
          continue;
        }
        const job = newJob(host.id, { kind: "system", id: null }, { args: [], kind: "copy", spec: copySpec(t) });
        made.push(store.insertJob({ ...job, scheduled_at: tick }).job);
      }
    }
    for (const job of made) {
      changed(job);
      dispatch(job);
    }
    return made;
  }

  return {
    dispatch,
    /**
     * A schedule's tick the server fires itself (maintenance.ts): the job of the host's schedule
     * row, as a fire of it would make (actor_kind "schedule", scheduled_id, scheduled_at, so a tick
     * is one job). Inside the caller's transaction; the caller dispatches once it committed.
     */
    scheduledJob: (hostId: string, s: Schedule, scheduled_at: string) =>
      scheduleJob(hostId, s, { kind: "schedule", id: s.id }, { scheduled_id: s.id, scheduled_at }),
    copiesAfter,
    copyTicks,
    get(id: string) {
      const j = store.jobById(id);
      if (!j) throw notFound(`job ${id}`);
      return j;
    },

    /**
     * Newest first, `limit` (1-500) per page; `cursor` is the previous page's next_cursor, a
     * (created_at, id) position, so jobs made while a client pages on never shift its pages.
     * A label filter selects hosts by the selector's own rule (selector.ts), then their jobs.
     */
    list(q: JobListQuery): { items: JobListItem[]; next_cursor: string | null } {
      const limit = Math.min(Math.max(q.limit, 1), 500);
      if (q.since !== undefined && q.until !== undefined && q.since >= q.until) {
        throw new DomainError("invalid", "until must be later than since", "until");
      }
      let hostIds: string[] | undefined;
      if (q.labels !== undefined && Object.keys(q.labels).length > 0) {
        const selector = { labels: q.labels };
        hostIds = store
          .listHosts()
          .filter((h) => matches(selector, h.labels))
          .map((h) => h.id);
        if (hostIds.length === 0) return { items: [], next_cursor: null };
      }
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      const rows = store.listJobs({
        host_id: q.host_id,
        status: q.status,
        kind: q.kind,
        actor_kind: q.actor_kind,
        host_ids: hostIds,
        since: q.since,
        until: q.until,
        limit: limit + 1,
        after,
      });
      // Cut by its bytes as sent, names included, still reading one row past the page at most.
      // A host's name is read once per page (another statement than the page's, which stays open).
      const names = new Map<string, string>();
      const nameOf = (id: string) => {
        let name = names.get(id);
        if (name === undefined) {
          name = store.hostById(id)?.name ?? id;
          names.set(id, name);
        }
        return name;
      };
      const listed = (function* () {
        for (const j of rows) yield jobListItem(j, nameOf(j.host_id));
      })();
      const { items, more } = takePage(listed, limit, itemsBudget(settings.pageBytes));
      const last = items.at(-1);
      return { items, next_cursor: more && last ? encodeCursor(last) : null };
    },

    /**
     * A job's log lines after `afterSeq`, at most `limit` (1-5,000) and at most the page budget
     * of JSON; next_cursor (the last seq) whenever more lines follow. logs_pruned_at: when
     * retention deleted the lines (retention.ts), so an empty log says why; null while kept.
     */
    logs(id: string, afterSeq: number, limit: number) {
      const job = store.jobById(id);
      if (!job) throw notFound(`job ${id}`);
      const n = Math.min(Math.max(limit, 1), 5000);
      const { items, more } = takePage(store.logsAfter(id, afterSeq, n + 1), n, itemsBudget(settings.pageBytes));
      const last = items.at(-1);
      return { items, next_cursor: more && last ? String(last.seq) : null, logs_pruned_at: job.logs_pruned_at ?? null };
    },

    /**
     * A schedule tick from the host's own agent becomes one job (idempotent per tick), unless the
     * schedule's previous run is still queued or running: then it is merged into that run and
     * recorded as skipped (tick-merge.ts).
     */
    fire(hostId: string, p: ScheduleFirePayload): FireResult {
      const s = store.scheduleById(p.schedule_id);
      if (!s || s.host_id !== hostId) {
        return { ok: false, code: "not_found", message: `schedule ${p.schedule_id} does not exist for this host` };
      }
      if (!s.enabled) return { ok: false, code: "conflict", message: `schedule ${p.schedule_id} is disabled` };
      const wide = repositoryWide(hostId, s);
      if (wide) return { ok: false, code: "conflict", message: wide };
      // Only a real run of the schedule's cron, and a recent one: an agent cannot invent ticks.
      const host = store.hostById(hostId);
      const zone = s.timezone ?? host?.timezone ?? null;
      // A jittered tick arrives up to its delay after the nominal time it names (jitter.ts).
      const { delay_seconds } = hostDelay(s, { id: hostId, protocol_version: host?.protocol_version ?? null });
      const problem = tickProblem(s.cron_expr, zone, new Date(p.scheduled_at), clock.now(), delay_seconds * 1000);
      if (problem) return { ok: false, code: "conflict", message: `schedule ${s.id}: ${problem}` };
      const scheduled_at = new Date(p.scheduled_at).toISOString();
      const { job, created, skipped, counted } = tx(() => {
        // At most one pending run per schedule: a tick behind a queued or running one is merged.
        const seen = mergeTick(store, { schedule_id: s.id, host_id: hostId, scheduled_at }, now());
        if (seen?.merged) return { job: seen.job, created: false, skipped: true, counted: seen.counted };
        if (seen) return { job: seen.job, created: false, skipped: false, counted: false };
        const made = scheduleJob(hostId, s, { kind: "schedule", id: s.id }, { scheduled_id: s.id, scheduled_at });
        return { ...made, skipped: false, counted: false };
      });
      // A repeated fire re-sends command.run only while the agent has not accepted the job; a
      // merged tick never does (the run it joined is its own tick's, delivered by that tick).
      if (!skipped && job.status === "queued" && !job.accepted_at) dispatch(job);
      if (created) changed(job);
      if (counted) events.publish({ type: "schedule.skipped", schedule_id: s.id, host_id: hostId, job_id: job.id });
      return { ok: true, job, created, skipped };
    },

    runNow(actor: Actor, hostId: string, input: RunNowInput): Job {
      requireAdmin(actor, "running a job");
      const make = planRun(actor, hostId, input);
      const job = tx(() => {
        const j = make();
        audit(deps, actor, "job.run", j.id, runDetail(hostId, input, j));
        return j;
      });
      return launch(job);
    },

    planRun,
    launch,

    /** Queued and not yet accepted: cancelled at once. Otherwise the agent is asked to stop it. */
    cancel(actor: Actor, id: string): Job {
      requireAdmin(actor, "cancelling a job");
      const job = store.jobById(id);
      if (!job) throw notFound(`job ${id}`);
      if (job.status !== "queued" && job.status !== "running") {
        throw new DomainError("conflict", `job ${id} already finished (${job.status})`);
      }
      audit(deps, actor, "job.cancel", id, { status: job.status });
      if (job.status === "queued" && !job.accepted_at) {
        store.finishJob(id, {
          status: "cancelled",
          exit_code: null,
          finished_at: now(),
          error: `cancelled by ${actor.username}`,
        });
        // It may be in flight to the agent: tell it too, so it never starts.
        if (job.dispatched_at) agents.send(job.host_id, "command.cancel", { job_id: id });
        changed(job);
      } else if (!agents.send(job.host_id, "command.cancel", { job_id: id })) {
        throw new DomainError("conflict", `host ${job.host_id} is offline: the cancel can be sent once it reconnects`);
      }
      return store.jobById(id) as Job;
    },

    /**
     * On hello: deliver queued jobs (oldest first). A job already delivered twice is not sent again,
     * but gets a fresh 60 s window: the agent's outbox replay, which follows its hello, may still
     * bring its command.result. The sweep fails it after that. Cancels that could not reach the
     * agent (it was offline) are sent now.
     */
    onHello(hostId: string) {
      for (const job of store.undeliveredJobs(hostId)) {
        if (job.dispatch_attempts >= MAX_DISPATCH_ATTEMPTS) store.renewDispatch(job.id, now());
        else dispatch(job);
      }
      const since = new Date(clock.now().getTime() - 86_400_000).toISOString();
      for (const id of store.cancelledUnaccepted(hostId, since)) agents.send(hostId, "command.cancel", { job_id: id });
    },

    /**
     * On a hello of protocol 3, with the jobs the agent holds: a job the server believes accepted
     * or running on the host that the agent does not hold can never finish, so it is failed.
     */
    reconcile(hostId: string, activeJobIds: ReadonlySet<string>) {
      // Running, or accepted and waiting in the agent's queue: both are the agent's to finish.
      const held = [
        ...store.listJobs({ host_id: hostId, status: "running", limit: 10_000 }),
        ...Array.from(store.listJobs({ host_id: hostId, status: "queued", limit: 10_000 })).filter(
          (j) => j.accepted_at,
        ),
      ];
      for (const job of held) {
        if (!activeJobIds.has(job.id)) {
          fail(
            job,
            "the agent no longer holds this job: its state was lost or reset (e.g. jobs.json removed); run the job again",
          );
        }
      }
    },

    /** Periodic: a job delivered but not accepted within 60 s fails once its retry is used up. */
    sweep() {
      const before = new Date(clock.now().getTime() - ACCEPT_TIMEOUT_MS).toISOString();
      for (const job of store.unacceptedSince(before)) {
        if (job.dispatch_attempts >= MAX_DISPATCH_ATTEMPTS) {
          fail(
            job,
            `the agent did not accept the job within ${ACCEPT_TIMEOUT_MS / 1000} s of ${MAX_DISPATCH_ATTEMPTS} deliveries`,
          );
        }
      }
    },
    changed,
  };
}

export type Jobs = ReturnType<typeof createJobs>;
