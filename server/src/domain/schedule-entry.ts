import type { ScheduleEntry } from "../../../protocol/index.ts";
import { scheduleProblem } from "./command-spec.ts";
import { hostDelay } from "./jitter.ts";
import { rollingParts } from "./read-cycles.ts";
import { firedByServer } from "./repository-wide.ts";
import type { Schedule } from "./types.ts";

/**
 * A schedule's definition, field by field: what the audit log records of a change, and what a
 * policy's copy on a host is compared by (policy-effect.ts).
 */
export const SCHEDULE_FIELDS = [
  "kind",
  "cron_expr",
  "timezone",
  "jitter",
  "paths",
  "excludes",
  "tags",
  "retention_policy",
  "options",
  "pre_hook",
  "post_hook",
  "stdin_command",
  "stdin_filename",
  "enabled",
] as const satisfies ReadonlyArray<keyof Schedule>;

/**
 * The wire form of a schedule, in the agent's own protocol version: its time zone is a typed
 * field since protocol 3, and travels in options.timezone to an agent of version 1 or 2.
 */
export function toEntry(s: Schedule, protocolVersion: number): ScheduleEntry {
  const typed = protocolVersion >= 3;
  const options: Schedule["options"] = { ...s.options, ...(s.timezone && !typed ? { timezone: s.timezone } : {}) };
  // A rolling subset ("k/N") is the server's to resolve per job (read-cycles.ts): the wire
  // carries only restic's forms, and the agent builds no job from a schedule's options.
  if (rollingParts(options.read_data_subset) !== null) delete options.read_data_subset;
  const entry: ScheduleEntry = { id: s.id, kind: s.kind, cron_expr: s.cron_expr, enabled: s.enabled };
  if (s.timezone && typed) entry.timezone = s.timezone;
  if (s.paths.length) entry.paths = s.paths;
  if (s.excludes.length) entry.excludes = s.excludes;
  if (s.tags.length) entry.tags = s.tags;
  if (s.retention_policy) entry.retention_policy = s.retention_policy;
  if (Object.keys(options).length) entry.options = options;
  if (s.pre_hook) entry.pre_hook = s.pre_hook;
  if (s.post_hook) entry.post_hook = s.post_hook;
  if (s.stdin_command) entry.stdin_command = s.stdin_command;
  if (s.stdin_command && s.stdin_filename) entry.stdin_filename = s.stdin_filename;
  return entry;
}

/**
 * A host's schedule.set entries, in its agent's protocol version: schedules of a kind the agent
 * does not know yet (a drill before protocol 7) are left out, since the agent would refuse the
 * whole frame, and so are stdin backups before protocol 9 (the agent would drop the command and
 * find no paths); they are sent once it is upgraded. So are the prunes and checks the server fires
 * for the host's shared repository (`shared`, repository-wide.ts), so nothing runs twice. A
 * schedule with a jitter carries this host's delay (protocol 9; jitter.ts); an older agent gets
 * none and fires at the nominal times.
 */
export function entriesFor(
  schedules: readonly Schedule[],
  host: { id: string; protocol_version: number | null; policy_repository_id?: string | null },
  shared: ReadonlyMap<string, string> = new Map(),
) {
  const version = host.protocol_version ?? 1;
  const repository = { policy_repository_id: host.policy_repository_id ?? null };
  return schedules
    .filter((s) => scheduleProblem(s, { id: host.id, protocol_version: version }) === null)
    .filter((s) => !firedByServer(s, repository, shared))
    .map((s) => {
      const entry = toEntry(s, version);
      const { delay_seconds } = hostDelay(s, { id: host.id, protocol_version: version });
      if (delay_seconds > 0) entry.delay_seconds = delay_seconds;
      return entry;
    });
}
