import { BACKUP_HEALTH_STATES, type BackupHealth } from "./backup-health.ts";
import type { HostCounts } from "./host-page-rows.ts";

/** The dashboard's counters for a set of hosts (DESIGN §8.8, GET /hosts/summary). */
export interface FleetSummary {
  total: number;
  online: number;
  offline: number;
  health: Record<BackupHealth, number>;
  /** key → value → how many of these hosts carry it; keys and values sorted. */
  labels: Record<string, Record<string, number>>;
}

/**
 * The counters from the store's aggregates (hostCounts): per health rank (the SQL twin of the
 * list's backup_health, host-health-sql.ts) and per label value, already ordered by key and value.
 */
export function fleetSummary(counts: HostCounts): FleetSummary {
  const health: Record<BackupHealth, number> = { ok: 0, warning: 0, failed: 0, stale: 0, pending: 0, unscheduled: 0 };
  let total = 0;
  let online = 0;
  for (const r of counts.byRank) {
    const state = BACKUP_HEALTH_STATES[r.rank];
    if (state) health[state] += r.hosts;
    total += r.hosts;
    online += r.online;
  }
  const labels: FleetSummary["labels"] = {};
  for (const { key, value, n } of counts.labels) {
    labels[key] ??= {};
    (labels[key] as Record<string, number>)[value] = n;
  }
  return { total, online, offline: total - online, health, labels };
}
