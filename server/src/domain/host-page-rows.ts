import type { Labels } from "./labels.ts";
import type { Host, HostSummary } from "./types.ts";

/** The sorts GET /hosts offers (DESIGN §8.8); name is the default. */
export const HOST_SORTS = ["name", "health", "last_backup", "last_seen"] as const;
export type HostSort = (typeof HOST_SORTS)[number];

/** GET /hosts?drill=: the host's last restore drill (DESIGN §8.3), or none. */
export const HOST_DRILL_FILTERS = ["failed", "passed", "never"] as const;
export type HostDrillFilter = (typeof HOST_DRILL_FILTERS)[number];

/** One page's read of the host list, as the domain hands it to the store. */
export interface HostPageFilter {
  /** Every label must match, as `matches` (selector.ts) would. */
  labels?: Labels | undefined;
  /** Label keys the host must not carry (the dashboard's "(none)" group). */
  withoutLabels?: readonly string[] | undefined;
  /** The last restore drill's result: failed, passed, or never (none yet). */
  drill?: HostDrillFilter | undefined;
  /** Backup health as ranks (indexes in BACKUP_HEALTH_STATES), any of them. */
  healthRanks?: readonly number[] | undefined;
  online?: boolean | undefined;
  /** Part of the name, any case (ASCII). */
  nameContains?: string | undefined;
  sort: HostSort;
  /** The last row's sort keys from the page before (HostPageRow.keys); absent: the first page. */
  after?: ReadonlyArray<string | number> | undefined;
  limit: number;
  /** The domain's clock, for the health rank. */
  nowMs: number;
}

export interface HostPageRow {
  host: Host;
  summary: HostSummary;
  /** The row's sort keys, for the cursor of the page after it. */
  keys: Array<string | number>;
}

/** The dashboard's counters, as the store aggregates them. */
export interface HostCounts {
  byRank: Array<{ rank: number; hosts: number; online: number }>;
  /** Per label key and value, ordered by key then value. */
  labels: Array<{ key: string; value: string; n: number }>;
}

/** The host list at fleet scale: paged, sorted and counted in SQL (migration 26). */
export interface HostPageStore {
  hostPage(f: HostPageFilter): HostPageRow[];
  hostCounts(f: Pick<HostPageFilter, "labels" | "withoutLabels" | "nowMs">): HostCounts;
  /**
   * Stores the domain's expected intervals where they changed (from `previous`, the map the last
   * call stored, when given; else from the rows); answers how many rows it wrote.
   */
  syncExpectedIntervals(intervals: ReadonlyMap<string, number>, previous?: ReadonlyMap<string, number>): number;
}
