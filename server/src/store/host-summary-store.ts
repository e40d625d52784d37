import type { JobStatus } from "../../../protocol/index.ts";
import type { Labels } from "../domain/labels.ts";
import type { HostFacts, HostSummaryStore } from "../domain/store.ts";
import type { Host, HostSummary } from "../domain/types.ts";
import { type Database, fromJson } from "./db.ts";
import { type HostRow, hostCols, toHost } from "./hosts-store.ts";

export type Row = HostRow & {
  last_backup_job_id: string | null;
  last_backup_status: JobStatus | null;
  last_backup_finished_at: string | null;
  last_backup_error: string | null;
  last_backup_warning: string | null;
  last_successful_backup_at: string | null;
  last_check_job_id: string | null;
  last_check_status: JobStatus | null;
  last_check_finished_at: string | null;
  last_check_error: string | null;
  last_check_stats: string | null;
  last_drill_job_id: string | null;
  last_drill_at: string | null;
  last_drill_result: "passed" | "failed" | null;
  last_drill_snapshot_id: string | null;
  last_drill_reason: string | null;
  last_full_read_at: string | null;
  repo_size_bytes: number | null;
  repo_url: string | null;
  repo_username: string | null;
  hook_shell: string | null;
  has_repo_password: number;
  has_repo_credential: number;
};

/** The drill facts' columns (migration 15), for every read of a host's facts. */
const drillCols = `last_drill_job_id, last_drill_at, last_drill_result, last_drill_snapshot_id, last_drill_reason`;

// The facts columns are kept by triggers (migrations 4, 12, 13, 15); the secrets never leave SQLite.
// The last check's stats are read from its job (one seek by primary key per host).
export const summaryColumns = `${hostCols}, last_backup_job_id, last_backup_status, last_backup_finished_at,
    last_backup_error, last_backup_warning, last_successful_backup_at, last_check_job_id, last_check_status, last_check_finished_at,
    last_check_error, (SELECT j.stats FROM jobs j WHERE j.id = h.last_check_job_id) AS last_check_stats,
    ${drillCols}, last_full_read_at, repo_size_bytes, c.repo_url, c.repo_username, c.hook_shell,
    coalesce(c.repo_password_enc, '') <> '' AS has_repo_password,
    coalesce(c.repo_credential_enc, '') <> '' AS has_repo_credential`;
/** The hosts with their settings: what summaryColumns reads from. */
export const summaryFrom = "FROM hosts h LEFT JOIN host_config c ON c.host_id = h.id";
const select = `SELECT ${summaryColumns} ${summaryFrom}`;

/** The facts columns every read of a host's summary takes (the list, one host, the alert sweep). */
type FactsCols = Pick<
  Row,
  | "last_backup_job_id"
  | "last_backup_status"
  | "last_backup_finished_at"
  | "last_backup_error"
  | "last_backup_warning"
  | "last_successful_backup_at"
  | "last_check_job_id"
  | "last_check_status"
  | "last_check_finished_at"
  | "last_check_error"
  | "last_drill_job_id"
  | "last_drill_at"
  | "last_drill_result"
  | "last_drill_snapshot_id"
  | "last_drill_reason"
>;
// The host's columns are the ones HostFacts names (domain/store.ts), as stored.
type FactsRow = FactsCols & Pick<HostRow, keyof HostFacts["host"]>;

const lastBackup = (r: FactsCols): HostSummary["last_backup"] =>
  r.last_backup_job_id !== null && r.last_backup_status !== null
    ? {
        job_id: r.last_backup_job_id,
        status: r.last_backup_status,
        finished_at: r.last_backup_finished_at,
        error: r.last_backup_error,
      }
    : null;
const lastCheck = (r: FactsCols): HostSummary["last_check"] =>
  r.last_check_job_id !== null && r.last_check_status !== null
    ? {
        job_id: r.last_check_job_id,
        status: r.last_check_status,
        finished_at: r.last_check_finished_at,
        error: r.last_check_error,
      }
    : null;

const lastDrill = (r: FactsCols): HostSummary["last_drill"] =>
  r.last_drill_job_id !== null && r.last_drill_result !== null
    ? {
        job_id: r.last_drill_job_id,
        finished_at: r.last_drill_at,
        result: r.last_drill_result,
        snapshot_id: r.last_drill_snapshot_id,
        reason: r.last_drill_reason,
      }
    : null;

/** The stats of a check job as stored: an object, else null (a stats text that is not one). */
const checkStats = (text: string | null): Record<string, unknown> | null => {
  const v = fromJson<unknown>(text, null);
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
};

const withStats = (c: HostSummary["last_check"], stats: string | null): HostSummary["last_check"] =>
  c === null ? null : { ...c, stats: checkStats(stats) };

// Field by field (no rest/spread copies): at 10,000 hosts this runs 10,000 times per request.
export const split = (r: Row): { host: Host; summary: HostSummary } => ({
  host: toHost(r),
  summary: {
    last_backup: lastBackup(r),
    last_backup_warning: r.last_backup_warning,
    last_successful_backup_at: r.last_successful_backup_at,
    last_check: withStats(lastCheck(r), r.last_check_stats),
    last_drill: lastDrill(r),
    last_full_read_at: r.last_full_read_at,
    repo_size_bytes: r.repo_size_bytes,
    config: {
      repo_url: r.repo_url,
      repo_username: r.repo_username,
      hook_shell: r.hook_shell,
      has_repo_password: r.has_repo_password === 1,
      has_repo_credential: r.has_repo_credential === 1,
    },
  },
});

/** The host list in one statement: each host with its last backup, size and settings. */
export function hostSummaryStore(db: Database): HostSummaryStore {
  return {
    /** Every host with its summary, ordered by name, id. */
    hostSummaries: () => db.query<Row, []>(`${select} ORDER BY h.name, h.id`).all().map(split),
    hostSummary(id: string): { host: Host; summary: HostSummary } | null {
      const r = db.query<Row, [string]>(`${select} WHERE h.id = ?`).get(id);
      return r ? split(r) : null;
    },
    hostFacts: (): HostFacts[] =>
      db
        .query<FactsRow, []>(
          `SELECT id, name, labels, online, last_seen_at, enrolled_at, last_backup_job_id, last_backup_status,
             last_backup_finished_at, last_backup_error, last_backup_warning, last_successful_backup_at,
             last_check_job_id, last_check_status, last_check_finished_at, last_check_error, ${drillCols},
             policy_repository_id, protocol_version, timezone
           FROM hosts ORDER BY id`,
        )
        .all()
        .map((r) => ({
          host: {
            id: r.id,
            name: r.name,
            labels: fromJson<Labels>(r.labels, {}),
            online: r.online === 1,
            last_seen_at: r.last_seen_at,
            enrolled_at: r.enrolled_at,
            policy_repository_id: r.policy_repository_id,
            protocol_version: r.protocol_version,
            timezone: r.timezone,
          },
          summary: {
            last_backup: lastBackup(r),
            last_backup_warning: r.last_backup_warning,
            last_successful_backup_at: r.last_successful_backup_at,
            last_check: lastCheck(r),
            last_drill: lastDrill(r),
          },
        })),
    /** For /metrics: each host's last successful backup, from the same columns. */
    lastSuccessfulBackups: () =>
      db
        .query<{ host_id: string; finished_at: string }, []>(
          `SELECT id AS host_id, last_successful_backup_at AS finished_at FROM hosts
           WHERE last_successful_backup_at IS NOT NULL ORDER BY id`,
        )
        .all(),
  };
}
