// The wire protocol between restic-fleet-agent and restic-fleet-server: JSON envelopes over one WebSocket.
// Depends on valibot only; agent/ and server/ import it, never each other.

export * from "./agent-message.ts";
export * from "./checks.ts";
export * from "./chunk-frame.ts";
export * from "./common.ts";
export * from "./decode.ts";
export * from "./drill-report.ts";
export * from "./encode.ts";
export * from "./host-policy.ts";
export * from "./limits.ts";
export * from "./messages/ack.ts";
export * from "./messages/agent-update-available.ts";
export * from "./messages/command-cancel.ts";
export * from "./messages/command-result.ts";
export * from "./messages/command-run.ts";
export * from "./messages/config-update.ts";
export * from "./messages/download.ts";
export * from "./messages/error.ts";
export * from "./messages/files-list.ts";
export * from "./messages/heartbeat.ts";
export * from "./messages/hello.ts";
export * from "./messages/job-finished.ts";
export * from "./messages/job-log.ts";
export * from "./messages/job-progress.ts";
export * from "./messages/job-started.ts";
export * from "./messages/repo-missing.ts";
export * from "./messages/repo-stats.ts";
export * from "./messages/repo-test.ts";
export * from "./messages/schedule-ack.ts";
export * from "./messages/schedule-fire.ts";
export * from "./messages/schedule-set.ts";
export * from "./messages/snapshots-report.ts";
export * from "./messages/tls-fingerprints.ts";
export * from "./repository-backends.ts";
export * from "./server-message.ts";
export * from "./version.ts";
