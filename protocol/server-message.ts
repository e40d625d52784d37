import * as v from "valibot";
import { Ack } from "./messages/ack.ts";
import { AgentUpdateAvailable } from "./messages/agent-update-available.ts";
import { CommandCancel } from "./messages/command-cancel.ts";
import { CommandRun } from "./messages/command-run.ts";
import { ConfigUpdate } from "./messages/config-update.ts";
import { DownloadCancel, DownloadCredit, DownloadStart } from "./messages/download.ts";
import { ErrorMessage } from "./messages/error.ts";
import { FilesList } from "./messages/files-list.ts";
import { RepoTest } from "./messages/repo-test.ts";
import { ScheduleSet } from "./messages/schedule-set.ts";
import { SnapshotsDiff } from "./messages/snapshots-diff.ts";
import { TlsFingerprints } from "./messages/tls-fingerprints.ts";

/** Every frame the server may send to an agent. */
export const ServerMessage = v.variant("type", [
  ConfigUpdate,
  ScheduleSet,
  CommandRun,
  CommandCancel,
  AgentUpdateAvailable,
  TlsFingerprints,
  FilesList,
  DownloadStart,
  DownloadCredit,
  DownloadCancel,
  SnapshotsDiff,
  RepoTest,
  Ack,
  ErrorMessage,
]);
export type ServerMessage = v.InferOutput<typeof ServerMessage>;
export type ServerMessageType = ServerMessage["type"];
