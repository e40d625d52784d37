import { BACKUP_HEALTH_STATES, type BackupHealth } from "../domain/backup-health.ts";

/**
 * backupHealth (domain/backup-health.ts) in SQL over a hosts row `h`, so the host list can filter,
 * sort and count by health at 50,000 hosts without building every host's view: the state's index
 * in BACKUP_HEALTH_STATES (the dashboard's order: failed first). Migration 27 computes each host's
 * `health_base` (its state while on time) and `stale_after_ms` (when it turns stale; null: never)
 * from its facts and `expected_interval_s` (the domain's interval, written back by
 * syncExpectedIntervals); `$now_ms` is the domain's clock in epoch milliseconds.
 * host-health-sql.test.ts holds it equal to backupHealth, case by case: a change to the rule there
 * must be made in a migration too.
 */
export const rankOf = (state: BackupHealth) => BACKUP_HEALTH_STATES.indexOf(state);
export const STALE = rankOf("stale");

/** A host is stale at `$now_ms` (the rule's "late": more than interval + grace since). */
export const staleSql = "h.stale_after_ms < $now_ms";

export const healthRankSql = `(CASE WHEN ${staleSql} THEN ${STALE} ELSE h.health_base END)`;

/** The rank healthRankSql answers, as the state it stands for. */
export const healthOfRank = (n: number): BackupHealth => BACKUP_HEALTH_STATES[n] ?? "unscheduled";
