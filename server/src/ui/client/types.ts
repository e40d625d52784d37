/**
 * The API shapes the UI reads: the server's own types, imported as types only (erased from the
 * bundle), so the UI cannot drift from what the API returns.
 */
import type { Condition } from "../../domain/alert-conditions.ts";
import type { AlertConfig, channelView } from "../../domain/alert-config.ts";
import type { AlertDelivery } from "../../domain/alert-delivery.ts";
import type { MuteRow } from "../../domain/alert-rows.ts";
import type { AlertItem, ChannelKind, DeliveryResult } from "../../domain/channels.ts";
import type { CopyTargetView } from "../../domain/copy-targets.ts";
import type { FleetSummary as DomainFleetSummary } from "../../domain/fleet-summary.ts";
import type { HostView } from "../../domain/hosts.ts";
import type { JobListItem } from "../../domain/job-list.ts";
import type { Maintenance } from "../../domain/maintenance.ts";
import type { PolicyView } from "../../domain/policies.ts";
import type { Repositories, ShownRepository } from "../../domain/repositories.ts";
import type { ScheduleView } from "../../domain/schedules.ts";
import type { SnapshotDiff as DomainSnapshotDiff, Listing } from "../../domain/snapshot-files.ts";
import type {
  ApiToken as DomainApiToken,
  EnrollmentToken as DomainEnrollmentToken,
  Job as DomainJob,
  RepoStatsRow,
  StoredSnapshot,
} from "../../domain/types.ts";

export type Host = HostView;
/** One of a host's copy targets with its state (GET /hosts/:id/copy-targets). */
export type CopyTarget = CopyTargetView;
export type FleetSummary = DomainFleetSummary;
export type Schedule = ScheduleView;
/** Progress values are numbers (job.progress payload fields). */
export type Job = Omit<DomainJob, "progress"> & { progress: Record<string, number> | null };
/** GET /jobs lists each job with its host's name, duration and data added. */
export type JobItem = Omit<JobListItem, "progress"> & { progress: Record<string, number> | null };
export type Snapshot = StoredSnapshot;
/** GET /hosts/:id/snapshots/diff. */
export type SnapshotDiff = DomainSnapshotDiff;
export type RepoStats = RepoStatsRow;
export type Policy = PolicyView;
export type PolicySchedule = Policy["schedules"][number];
export type Repository = ShownRepository;
/** GET /repositories/:id/keys: the passwords in clear, for disaster recovery. */
export type RepositoryKeys = ReturnType<Repositories["keys"]>;
/** GET /repositories/:id/maintenance: who runs its prune and check, their last results, its ticks. */
export type RepositoryMaintenance = ReturnType<Maintenance["show"]>;

export interface List<T> {
  items: T[];
  next_cursor: string | null;
}

// Alerts, notification channels, alert rules and mutes (DESIGN §8.4).

export type AlertCondition = Condition;
/** GET /alerts lists each alert with its state. */
export type Alert = AlertItem & { state: "firing" | "resolved" };
export type Channel = ReturnType<typeof channelView>;
export type { ChannelKind, DeliveryResult };
export type AlertRule = ReturnType<AlertConfig["rules"]["show"]>;
export type Mute = MuteRow;
export type Delivery = ReturnType<AlertDelivery["log"]>[number];

// Restore confidence (DESIGN §8.5): a host's last drill and full read are in Host, a rolling
// check schedule's cycle in Schedule (read_cycle), a repository's last check in Repository.

/** GET /hosts/:id/snapshots/:snapshot_id/files: one page of one directory. */
export type FileList = Listing;
/** One entry of a snapshot's directory, as the agent lists it. */
export type SnapshotEntry = Listing["items"][number];

/** A drill job's `stats.drill`, as the agent wrote it (protocol/drill-report.ts). */
export type { DrillFile, DrillReport } from "../../../../protocol/index.ts";

/** GET /enrollment-tokens and GET /api-tokens: never the secret (POST answers it once, as `token`). */
export type EnrollmentToken = DomainEnrollmentToken;
export type ApiToken = DomainApiToken;
