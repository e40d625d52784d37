import type { MaintenanceStore, MaintenanceTick, RepositoryJobFact } from "../domain/maintenance-rows.ts";
import { type Database, params } from "./db.ts";

/** Hosts that use the repository (`?1`) through a policy: the ones with no repository of their own. */
const USERS = `SELECT h.id FROM hosts h LEFT JOIN host_config c ON c.host_id = h.id
  WHERE h.policy_repository_id = ?1 AND coalesce(c.repo_url, '') = ''`;
/** A job of the repository `?1`: fired for it by the server, or on a host that uses it now. */
const OF_REPOSITORY = `(j.host_id IN (${USERS})
  OR j.id IN (SELECT t.job_id FROM maintenance_ticks t WHERE t.repository_id = ?1 AND t.job_id IS NOT NULL))`;
const FACT = `SELECT j.id AS job_id, j.host_id, coalesce(h.name, j.host_id) AS host_name, j.kind, j.status,
  j.actor_kind, j.scheduled_at, j.created_at, j.started_at, j.finished_at, j.error
  FROM jobs j LEFT JOIN hosts h ON h.id = j.host_id`;

/** Repository-wide maintenance's ticks and marks (migration 21), and its reads of jobs. */
export function maintenanceStore(db: Database): MaintenanceStore {
  return {
    maintenanceMark: (id: string) =>
      db
        .query<{ looked_through: string }, [string]>(
          "SELECT looked_through FROM maintenance_marks WHERE policy_schedule_id = ?",
        )
        .get(id)?.looked_through ?? null,
    setMaintenanceMark(id: string, at: string): void {
      db.query(
        `INSERT INTO maintenance_marks (policy_schedule_id, looked_through) VALUES (?, ?)
         ON CONFLICT (policy_schedule_id) DO UPDATE SET looked_through = excluded.looked_through`,
      ).run(id, at);
    },
    insertMaintenanceTick: (t: MaintenanceTick) =>
      db
        .query(
          `INSERT OR IGNORE INTO maintenance_ticks (policy_schedule_id, scheduled_at, repository_id, policy_id, kind,
             outcome, reason, host_id, job_id, created_at, updated_at)
           VALUES ($policy_schedule_id, $scheduled_at, $repository_id, $policy_id, $kind, $outcome, $reason,
             $host_id, $job_id, $created_at, $updated_at)`,
        )
        .run(params(t)).changes > 0,
    updateMaintenanceTick(t): void {
      db.query(
        `UPDATE maintenance_ticks SET outcome = $outcome, reason = $reason, host_id = $host_id, job_id = $job_id,
           updated_at = $updated_at WHERE policy_schedule_id = $policy_schedule_id AND scheduled_at = $scheduled_at`,
      ).run(params(t));
    },
    pendingMaintenanceTicks: () =>
      db
        .query<MaintenanceTick, []>(
          "SELECT * FROM maintenance_ticks WHERE outcome = 'pending' ORDER BY scheduled_at, policy_schedule_id",
        )
        .all(),
    maintenanceTicks: (repository_id: string, limit: number) =>
      db
        .query<MaintenanceTick, [string, number]>(
          `SELECT * FROM maintenance_ticks WHERE repository_id = ?
           ORDER BY scheduled_at DESC, policy_schedule_id LIMIT ?`,
        )
        .all(repository_id, limit),
    maintenanceCandidates: (policy_id: string, policy_schedule_id: string, repository_id: string) =>
      db
        .query(
          `SELECT s.id AS schedule_id, h.id AS host_id, h.name, h.protocol_version,
             (SELECT max(t.updated_at) FROM maintenance_ticks t
               WHERE t.repository_id = ?3 AND t.host_id = h.id AND t.outcome = 'fired') AS last_used_at
           FROM schedules s JOIN hosts h ON h.id = s.host_id LEFT JOIN host_config c ON c.host_id = h.id
           WHERE s.policy_id = ?1 AND s.policy_schedule_id = ?2 AND s.enabled = 1
             AND h.policy_repository_id = ?3 AND coalesce(c.repo_url, '') = '' AND h.policy_conflict IS NULL
           ORDER BY h.name, h.id`,
        )
        .all(policy_id, policy_schedule_id, repository_id) as ReturnType<MaintenanceStore["maintenanceCandidates"]>,
    repositoryBusyJob: (repository_id: string) =>
      db
        .query<RepositoryJobFact, [string]>(
          `${FACT} WHERE j.status IN ('queued', 'running') AND j.kind IN ('prune', 'check') AND ${OF_REPOSITORY}
           ORDER BY j.created_at, j.id LIMIT 1`,
        )
        .get(repository_id),
    repositoryLastJob: (repository_id: string, kind: "prune" | "check") =>
      db
        .query<RepositoryJobFact, [string, string]>(
          `${FACT} WHERE j.kind = ?2 AND j.status IN ('succeeded', 'failed') AND ${OF_REPOSITORY}
           ORDER BY j.created_at DESC, j.id DESC LIMIT 1`,
        )
        .get(repository_id, kind),
  };
}
