import type { Job, Schedule } from "./types.ts";

// New rows with every optional column empty: the domain fills in ids and times, tests fixed values.

/** A job as it is created: queued, not yet dispatched, accepted or run. */
export const queuedJob = (
  row: Partial<Job> & Pick<Job, "id" | "host_id" | "kind" | "actor_kind" | "created_at">,
): Job => ({
  status: "queued",
  actor_id: null,
  scheduled_id: null,
  scheduled_at: null,
  args: [],
  spec: null,
  progress: null,
  stats: null,
  exit_code: null,
  error: null,
  dispatched_at: null,
  dispatch_attempts: 0,
  accepted_at: null,
  started_at: null,
  finished_at: null,
  logs_pruned_at: null,
  ...row,
});

/** An enabled schedule without paths, excludes, tags, retention, options or hooks. */
export const blankSchedule = (
  row: Partial<Schedule> & Pick<Schedule, "id" | "host_id" | "kind" | "cron_expr" | "created_at">,
): Schedule => ({
  timezone: null,
  jitter: null,
  paths: [],
  excludes: [],
  tags: [],
  retention_policy: null,
  options: {},
  pre_hook: null,
  post_hook: null,
  stdin_command: null,
  stdin_filename: null,
  enabled: true,
  policy_id: null,
  policy_schedule_id: null,
  updated_at: row.created_at,
  ...row,
});
