import type { BackupHealth } from "./backup-health.ts";
import type { HostView } from "./host-view.ts";

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
 * Counts over host views as the list builds them, so health is the list's `backup_health` and
 * never a second rule. One pass; the dashboard groups by any key in `labels`.
 */
export function fleetSummary(hosts: Iterable<Pick<HostView, "online" | "backup_health" | "labels">>): FleetSummary {
  const health: Record<BackupHealth, number> = { ok: 0, warning: 0, failed: 0, stale: 0, pending: 0, unscheduled: 0 };
  const counts = new Map<string, Map<string, number>>();
  let total = 0;
  let online = 0;
  for (const h of hosts) {
    total++;
    if (h.online) online++;
    health[h.backup_health]++;
    for (const [key, value] of Object.entries(h.labels)) {
      const values = counts.get(key) ?? new Map<string, number>();
      counts.set(key, values.set(value, (values.get(value) ?? 0) + 1));
    }
  }
  const byName = <T>([a]: [string, T], [b]: [string, T]) => (a < b ? -1 : a > b ? 1 : 0);
  const labels: FleetSummary["labels"] = {};
  for (const [key, values] of [...counts].sort(byName)) {
    labels[key] = Object.fromEntries([...values].sort(byName));
  }
  return { total, online, offline: total - online, health, labels };
}
