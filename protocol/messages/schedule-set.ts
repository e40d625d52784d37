import * as v from "valibot";
import {
  Count,
  envelope,
  Hook,
  Id,
  JobKind,
  Options,
  RetentionPolicy,
  StdinCommand,
  StdinFilename,
  StringList,
  TimeZone,
} from "../common.ts";

export const ScheduleEntry = v.object({
  id: Id,
  kind: JobKind,
  // 5 or 6 fields; the server validated it with croner already.
  cron_expr: v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(256)),
  /**
   * Since protocol 3: the zone the cron expression is read in; absent, the host's local time.
   * (To a version 1 or 2 agent the server sends it as options.timezone instead.)
   */
  timezone: v.optional(TimeZone),
  /**
   * Since protocol 9: the host's jitter offset. The agent fires each tick this many seconds after
   * its nominal time, and still sends the nominal time as scheduled_at. The server computes it, one
   * stable offset in [0, jitter) per host and schedule (server/src/domain/jitter.ts); absent: 0.
   * At most 24 h. An older agent (1 to 8) is never sent it, and fires at the nominal times.
   */
  delay_seconds: v.optional(
    v.pipe(v.number(), v.safeInteger("must be an integer"), v.minValue(0, "must not be negative"), v.maxValue(86_399)),
  ),
  paths: v.optional(StringList),
  excludes: v.optional(StringList),
  tags: v.optional(StringList),
  retention_policy: v.optional(RetentionPolicy),
  options: v.optional(Options),
  pre_hook: v.optional(Hook),
  post_hook: v.optional(Hook),
  /** Since protocol 9: a backup of a command's output (BackupSpec.stdin_command); never sent to an older agent. */
  stdin_command: v.optional(StdinCommand),
  stdin_filename: v.optional(StdinFilename),
  enabled: v.boolean(),
});
export type ScheduleEntry = v.InferOutput<typeof ScheduleEntry>;

/** The full canonical schedule list for the host; it replaces the agent's set. */
export const ScheduleSetPayload = v.object({
  version: Count,
  schedules: v.pipe(v.array(ScheduleEntry), v.maxLength(1000)),
});
export type ScheduleSetPayload = v.InferOutput<typeof ScheduleSetPayload>;
export const ScheduleSet = envelope("schedule.set", ScheduleSetPayload);
export type ScheduleSet = v.InferOutput<typeof ScheduleSet>;
