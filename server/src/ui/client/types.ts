/**
 * The API shapes the UI reads: the server's own types, imported as types only (erased from the
 * bundle), so the UI cannot drift from what the API returns.
 */
import type { FleetSummary as DomainFleetSummary } from "../../domain/fleet-summary.ts";
import type { HostView } from "../../domain/hosts.ts";
import type { PolicyView } from "../../domain/policies.ts";
import type { Repositories, RepositoryView } from "../../domain/repositories.ts";
import type { ScheduleView } from "../../domain/schedules.ts";
import type { Job as DomainJob, RepoStatsRow, StoredSnapshot } from "../../domain/types.ts";

export type Host = HostView;
export type FleetSummary = DomainFleetSummary;
export type Schedule = ScheduleView;
/** Progress values are numbers (job.progress payload fields). */
export type Job = Omit<DomainJob, "progress"> & { progress: Record<string, number> | null };
export type Snapshot = StoredSnapshot;
export type RepoStats = RepoStatsRow;
export type Policy = PolicyView;
export type PolicySchedule = Policy["schedules"][number];
export type Repository = RepositoryView;
/** GET /repositories/:id/keys: the passwords in clear, for disaster recovery. */
export type RepositoryKeys = ReturnType<Repositories["keys"]>;

export interface List<T> {
  items: T[];
  next_cursor: string | null;
}
