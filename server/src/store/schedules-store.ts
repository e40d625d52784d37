import type { SchedulesStore } from "../domain/store.ts";
import type { BackupCadence, Schedule } from "../domain/types.ts";
import { type Database, fromJson, toJson } from "./db.ts";

type Row = Omit<
  Schedule,
  "paths" | "excludes" | "tags" | "retention_policy" | "options" | "stdin_command" | "enabled"
> & {
  paths: string | null;
  stdin_command: string | null;
  excludes: string | null;
  tags: string | null;
  retention_policy: string | null;
  options: string | null;
  enabled: number;
};

/** A schedule's JSON and flag columns as stored: host schedules and policy schedules alike. */
export type DefinitionColumns = {
  paths: string | null;
  excludes: string | null;
  tags: string | null;
  retention_policy: string | null;
  options: string | null;
  stdin_command: string | null;
  enabled: number;
};
type Definition = Pick<
  Schedule,
  "paths" | "excludes" | "tags" | "retention_policy" | "options" | "stdin_command" | "enabled"
>;

/** Those columns read back (policies-store.ts reads policy schedules with it too). */
export const fromColumns = <R extends DefinitionColumns>(r: R): Omit<R, keyof DefinitionColumns> & Definition => ({
  ...r,
  paths: fromJson(r.paths, []),
  excludes: fromJson(r.excludes, []),
  tags: fromJson(r.tags, []),
  retention_policy: fromJson(r.retention_policy, null),
  options: fromJson(r.options, {}),
  stdin_command: fromJson(r.stdin_command, null),
  enabled: r.enabled === 1,
});

/** Those columns written. */
export const toColumns = <S extends Definition>(s: S): Omit<S, keyof Definition> & DefinitionColumns => ({
  ...s,
  paths: toJson(s.paths),
  excludes: toJson(s.excludes),
  tags: toJson(s.tags),
  retention_policy: toJson(s.retention_policy),
  options: toJson(s.options),
  stdin_command: toJson(s.stdin_command),
  enabled: s.enabled ? 1 : 0,
});

const toSchedule = (r: Row): Schedule => fromColumns(r);
const toRow = (s: Schedule) => toColumns(s);

export function schedulesStore(db: Database): SchedulesStore {
  return {
    insertSchedule(s: Schedule) {
      db.query(
        `INSERT INTO schedules (id, host_id, kind, cron_expr, timezone, jitter, paths, excludes, tags, retention_policy, options,
           pre_hook, post_hook, stdin_command, stdin_filename, enabled, policy_id, policy_schedule_id, created_at,
           updated_at)
         VALUES ($id, $host_id, $kind, $cron_expr, $timezone, $jitter, $paths, $excludes, $tags, $retention_policy, $options,
           $pre_hook, $post_hook, $stdin_command, $stdin_filename, $enabled, $policy_id, $policy_schedule_id,
           $created_at, $updated_at)`,
      ).run(toRow(s));
    },
    updateSchedule(s: Schedule) {
      db.query(
        `UPDATE schedules SET kind = $kind, cron_expr = $cron_expr, timezone = $timezone, jitter = $jitter, paths = $paths,
           excludes = $excludes, tags = $tags, retention_policy = $retention_policy, options = $options,
           pre_hook = $pre_hook, post_hook = $post_hook, stdin_command = $stdin_command,
           stdin_filename = $stdin_filename, enabled = $enabled, updated_at = $updated_at
         WHERE id = $id`,
      ).run(toRow(s));
    },
    scheduleById(id: string): Schedule | null {
      const r = db.query<Row, [string]>("SELECT * FROM schedules WHERE id = ?").get(id);
      return r ? toSchedule(r) : null;
    },
    schedulesForHost: (host_id: string): Schedule[] =>
      db
        .query<Row, [string]>("SELECT * FROM schedules WHERE host_id = ? ORDER BY created_at, id")
        .all(host_id)
        .map(toSchedule),
    schedulesForHosts: (host_ids: readonly string[], policyCopies = false): Schedule[] =>
      db
        .query<Row, [string]>(
          `SELECT * FROM schedules WHERE host_id IN (SELECT value FROM json_each(?))
           ${policyCopies ? "AND policy_id IS NOT NULL" : ""} ORDER BY host_id, created_at, id`,
        )
        .all(JSON.stringify(host_ids))
        .map(toSchedule),
    /** Every host's enabled backup schedules: what the host list needs for expected intervals. */
    backupCadences: () =>
      db
        .query<BackupCadence, []>(
          `SELECT s.host_id, s.cron_expr, coalesce(s.timezone, h.timezone) AS timezone
           FROM schedules s JOIN hosts h ON h.id = s.host_id WHERE s.kind = 'backup' AND s.enabled = 1`,
        )
        .all(),
    cadenceGeneration: () =>
      db.query<{ n: number }, []>("SELECT n FROM change_counters WHERE name = 'cadences'").get()?.n ?? 0,
    deleteSchedule: (id: string) => db.query("DELETE FROM schedules WHERE id = ?").run(id).changes > 0,
  };
}
