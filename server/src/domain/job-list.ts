import type { JobKind, JobStatus } from "../../../protocol/index.ts";
import type { Labels } from "./labels.ts";
import type { ActorKind, Job } from "./types.ts";

/** GET /jobs's filters, as the route decoded them (DESIGN §3, issue 17). */
export interface JobListQuery {
  host_id?: string | undefined;
  status?: JobStatus | undefined;
  kind?: JobKind | undefined;
  /** Who made the job; `agent`: the agent ran it on its own while the server was away. */
  actor_kind?: ActorKind | undefined;
  /** Every label must match the job's host (as GET /hosts?label=); `{}` matches every host. */
  labels?: Labels | undefined;
  /** created_at on or after (ISO time). */
  since?: string | undefined;
  /** created_at before (ISO time). */
  until?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * A job as lists show it: with its host's name (the fleet-wide page needs no second call), how
 * long it ran and what a backup added to the repository, where known.
 */
export type JobListItem = Job & {
  host_name: string;
  /** finished_at − started_at; restic's own total_duration when the times are not both known. */
  duration_seconds: number | null;
  /** restic's summary `data_added` (bytes), for a backup that reported one. */
  data_added: number | null;
};

const numberIn = (stats: unknown, key: string): number | null => {
  if (typeof stats !== "object" || stats === null) return null;
  const value = (stats as Record<string, unknown>)[key];
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
};

export function jobListItem(job: Job, hostName: string): JobListItem {
  const started = job.started_at ? Date.parse(job.started_at) : Number.NaN;
  const finished = job.finished_at ? Date.parse(job.finished_at) : Number.NaN;
  const span = finished - started;
  return {
    ...job,
    host_name: hostName,
    duration_seconds: Number.isFinite(span) && span >= 0 ? span / 1000 : numberIn(job.stats, "total_duration"),
    data_added: numberIn(job.stats, "data_added"),
  };
}
