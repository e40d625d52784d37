import * as v from "valibot";
import { CommandResult } from "./messages/command-result.ts";
import { DownloadBegin, DownloadEnd } from "./messages/download.ts";
import { FilesListed } from "./messages/files-list.ts";
import { Heartbeat } from "./messages/heartbeat.ts";
import { Hello } from "./messages/hello.ts";
import { JobFinished } from "./messages/job-finished.ts";
import { JobLog } from "./messages/job-log.ts";
import { JobProgress } from "./messages/job-progress.ts";
import { JobStarted } from "./messages/job-started.ts";
import { RepoMissing } from "./messages/repo-missing.ts";
import { RepoStats } from "./messages/repo-stats.ts";
import { RepoTested } from "./messages/repo-test.ts";
import { ScheduleAck } from "./messages/schedule-ack.ts";
import { ScheduleFire } from "./messages/schedule-fire.ts";
import { SnapshotsDiffed } from "./messages/snapshots-diff.ts";
import { SnapshotsReport } from "./messages/snapshots-report.ts";

/** Every frame an agent may send to the server. */
export const AgentMessage = v.variant("type", [
  Hello,
  Heartbeat,
  ScheduleAck,
  ScheduleFire,
  CommandResult,
  JobStarted,
  JobProgress,
  JobFinished,
  JobLog,
  SnapshotsReport,
  RepoStats,
  RepoMissing,
  FilesListed,
  DownloadBegin,
  DownloadEnd,
  SnapshotsDiffed,
  RepoTested,
]);
export type AgentMessage = v.InferOutput<typeof AgentMessage>;
export type AgentMessageType = AgentMessage["type"];
