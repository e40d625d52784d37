import { FLEET_JOB_TAG, type JobStartedPayload, type SnapshotsReportPayload } from "../../../protocol/index.ts";
import { queuedJob } from "./blank-rows.ts";
import type { Store } from "./store.ts";
import type { Job } from "./types.ts";
import { utc } from "./utc.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Snapshots older than this are not turned back into jobs: a lost outbox is a recent loss. */
export const REBUILD_WINDOW_DAYS = 35;

type AgentJobsStore = Pick<
  Store,
  "jobById" | "jobOfTick" | "scheduleById" | "insertJob" | "replaceTickJob" | "addSkippedTicks" | "markRunning"
>;

export type Adopted =
  /** The job row the agent's report now stands for; `replaced`, the server's row it took the place of. */
  { ok: true; job: Job; replaced: string | null; note: string | null } | { ok: false; message: string };

/**
 * A backup the agent started on its own authority while it had no link (protocol 10
 * job.started.autonomous): stored as an ordinary job row, actor_kind "agent" (the acting agent is
 * its host's), with the schedule tick it ran. If the server had made a row for the same tick that
 * never reached the agent (it fired the tick just before the link broke), the agent's job takes
 * that row's place: one tick, one job, under the id the snapshot carries (`fleet-job=<id>`).
 * Inside the caller's transaction.
 */
export function adoptAgentJob(store: AgentJobsStore, hostId: string, p: JobStartedPayload, now: string): Adopted {
  const auto = p.autonomous;
  if (!auto) return { ok: false, message: `job ${p.job_id} does not exist for this host` };
  if (p.kind !== "backup") {
    return { ok: false, message: `job ${p.job_id}: only backups run on the agent's own authority, not a ${p.kind}` };
  }
  const known = store.jobById(p.job_id);
  if (known) {
    if (known.host_id !== hostId) return { ok: false, message: `job ${p.job_id} does not exist for this host` };
    store.markRunning(p.job_id, utc(p.started_at));
    return { ok: true, job: known, replaced: null, note: null };
  }
  const scheduled_at = utc(auto.scheduled_at);
  const schedule = store.scheduleById(auto.schedule_id);
  const ownSchedule = schedule?.host_id === hostId ? schedule : null;
  const started_at = utc(p.started_at);
  const job = queuedJob({
    id: p.job_id,
    host_id: hostId,
    kind: "backup",
    actor_kind: "agent",
    actor_id: hostId,
    // A schedule deleted meanwhile keeps the tick's time but no link to it.
    scheduled_id: ownSchedule?.id ?? null,
    scheduled_at,
    args: auto.spec?.paths ?? [],
    spec: auto.spec ?? null,
    created_at: started_at < now ? started_at : now,
    status: "running",
    accepted_at: started_at,
    started_at,
  });
  let replaced: string | null = null;
  let note: string | null = null;
  const other = ownSchedule ? store.jobOfTick(ownSchedule.id, scheduled_at) : null;
  if (other && other.status === "queued" && other.accepted_at === null) {
    // The server's row for this tick never reached the agent: the agent's run is that tick's run.
    store.replaceTickJob(other.id, {
      ...job,
      created_at: other.created_at < job.created_at ? other.created_at : job.created_at,
    });
    replaced = other.id;
  } else if (other) {
    // Both ran (the agent had lost its ledger): both are kept, the second without the tick's key.
    store.insertJob({ ...job, scheduled_id: null });
    note = `tick ${scheduled_at} of schedule ${ownSchedule?.id} also ran as job ${other.id}`;
  } else {
    store.insertJob(job);
  }
  if (ownSchedule && auto.missed && auto.missed.count > 0) {
    store.addSkippedTicks({
      job_id: job.id,
      schedule_id: ownSchedule.id,
      count: auto.missed.count,
      first_scheduled_at: utc(auto.missed.first_scheduled_at),
      last_scheduled_at: utc(auto.missed.last_scheduled_at),
      at: now,
      reason: "the server was unreachable: the agent ran one catch-up instead of every tick",
    });
  }
  return { ok: true, job: store.jobById(job.id) ?? job, replaced, note };
}

/**
 * Rebuilds the record of backups the agent ran on its own whose reports were lost with its state
 * (an outbox deleted or a disk replaced): each of the host's snapshots tagged `fleet-job=<id>` with
 * no job row becomes a succeeded backup job at the snapshot's time, actor_kind "agent". Snapshots
 * older than REBUILD_WINDOW_DAYS are left alone. Returns the jobs made; inside the caller's
 * transaction.
 */
export function rebuildAgentJobs(
  store: Pick<Store, "jobById" | "insertJob">,
  hostId: string,
  snapshots: SnapshotsReportPayload["snapshots"],
  now: Date,
): Job[] {
  const since = new Date(now.getTime() - REBUILD_WINDOW_DAYS * 86_400_000).toISOString();
  const made: Job[] = [];
  for (const s of snapshots) {
    const tag = s.tags?.find((t) => t.startsWith(FLEET_JOB_TAG));
    const id = tag?.slice(FLEET_JOB_TAG.length);
    const time = utc(s.time);
    // Only an id an agent mints (a UUID): a hand-made tag cannot name another kind of row.
    if (!id || !UUID.test(id) || time < since || store.jobById(id)) continue;
    const job = queuedJob({
      id,
      host_id: hostId,
      kind: "backup",
      actor_kind: "agent",
      actor_id: hostId,
      args: s.paths,
      spec: { paths: s.paths, tags: (s.tags ?? []).filter((t) => t !== tag) },
      created_at: time,
      status: "succeeded",
      exit_code: 0,
      accepted_at: time,
      started_at: time,
      finished_at: time,
      // Its log and restic's summary went with the lost reports; the snapshot is what is known.
      stats: { snapshot_id: s.id, rebuilt_from_snapshot: true },
    });
    store.insertJob(job);
    made.push(job);
  }
  return made;
}
