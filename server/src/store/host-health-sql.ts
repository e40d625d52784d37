import { BACKUP_HEALTH_STATES, type BackupHealth } from "../domain/backup-health.ts";

/**
 * backupHealth (domain/backup-health.ts) as SQL over a hosts row `h`, so the host list can filter,
 * sort and count by health at 50,000 hosts without building every host's view. It answers the
 * state's index in BACKUP_HEALTH_STATES (the dashboard's order: failed first). `$now_ms` is the
 * domain's clock in epoch milliseconds; `h.expected_interval_s` is the domain's interval, written
 * back by syncExpectedIntervals. host-health-sql.test.ts holds it equal to backupHealth, case by
 * case: a change to the rule there must be made here too.
 */
const rank = (state: BackupHealth) => BACKUP_HEALTH_STATES.indexOf(state);
const ms = (t: string) => `CAST(round(unixepoch(${t}, 'subsec') * 1000) AS INTEGER)`;
const good = `CASE WHEN coalesce(h.last_backup_warning, '') <> '' THEN ${rank("warning")} ELSE ${rank("ok")} END`;

export const healthRankSql = `(CASE
  WHEN h.last_backup_job_id IS NOT NULL AND h.last_backup_status = 'failed' THEN ${rank("failed")}
  WHEN h.expected_interval_s IS NULL THEN
    CASE WHEN h.last_successful_backup_at IS NULL THEN ${rank("unscheduled")} ELSE ${good} END
  WHEN $now_ms - ${ms("coalesce(h.last_successful_backup_at, h.enrolled_at)")}
    > (h.expected_interval_s + min(h.expected_interval_s, 3600)) * 1000 THEN ${rank("stale")}
  WHEN h.last_successful_backup_at IS NULL THEN ${rank("pending")}
  ELSE ${good}
END)`;

/** The rank healthRankSql answers, as the state it stands for. */
export const healthOfRank = (n: number): BackupHealth => BACKUP_HEALTH_STATES[n] ?? "unscheduled";
