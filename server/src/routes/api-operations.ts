import { BACKUP_HEALTH_STATES } from "../domain/backup-health.ts";
import type { Operations, Parameter } from "../http/openapi.ts";
import { Enroll } from "./agent.ts";
import { AlertsQuery, ChannelPatch, NewChannel, NewMute, NewRule, RulePatch } from "./alerts.ts";
import { EventsQuery } from "./events.ts";
import { ApplyQuery, Document, ExportQuery } from "./fleet-config.ts";
import { Config as HostConfig, HostListQuery, Patch as HostPatch, SnapshotsQuery, StatsQuery } from "./hosts.ts";
import { BulkRunNowBody, ListQuery as JobListQuery, LogsQuery, RunNowBody } from "./jobs.ts";
import { NewPolicy, PolicyPatch } from "./policies.ts";
import { NewRepository, RepositoryPatch, TestRequest } from "./repositories.ts";
import { NewSchedule, Preview, PreviewQuery, SchedulePatch } from "./schedules.ts";
import { Login, SessionQuery } from "./session.ts";
import { DiffQuery, TagBody } from "./snapshot-actions.ts";
import { BrowseQuery, DownloadQuery } from "./snapshot-files.ts";
import { ListQuery as EnrollmentTokenListQuery, NewApiToken, NewEnrollmentToken } from "./tokens.ts";
import { AuditQuery, NewUser, UserPatch } from "./users.ts";

/**
 * `?label=env=prod&label=role=db`: read apart from the query schemas (c.req.queries, repeated),
 * and checked by the domain (parseLabelPairs), so it is written out here.
 */
const LABEL: Parameter = {
  name: "label",
  in: "query",
  description: "`key=value`, repeated: every one must match (DESIGN §8.2)",
  style: "form",
  explode: true,
  schema: { type: "array", items: { type: "string", pattern: "=" } },
};
/** `?without_label=site`, repeated: read apart as `label` is, checked by the domain (checkLabelKeys). */
const WITHOUT_LABEL: Parameter = {
  name: "without_label",
  in: "query",
  description: "A label key, repeated: only hosts that carry none of these keys",
  style: "form",
  explode: true,
  schema: { type: "array", items: { type: "string" } },
};
// `health` is a comma-separated list: its schema splits it, so "input" mode can only say string.
const HEALTH = `One or more of ${BACKUP_HEALTH_STATES.join(", ")}, comma-separated (any of them)`;

/**
 * Every route under /api/v1, with the schemas it validates with. openapi.int.test.ts checks this
 * against the routes the app has: a route added without its entry here fails it.
 */
export const API_OPERATIONS: Operations = {
  // Session and tokens
  "POST /session": {
    id: "login",
    tag: "session",
    access: "public",
    summary: "Log in: sets the session cookie and answers the CSRF token",
    description: "Throttled per user name and address (429 with Retry-After); see docs/api.md.",
    body: { name: "Login", schema: Login },
    ok: { status: 201, description: "`{user, csrf_token}`; the `rf_session` cookie is set" },
  },
  "GET /session": {
    id: "showSession",
    tag: "session",
    access: "session",
    summary: "The logged-in user and the CSRF token",
    description: "401 when not logged in; with `optional=1`, `{user: null, csrf_token: null}` instead.",
    query: SessionQuery,
    ok: { status: 200, description: "`{user, csrf_token}`" },
  },
  "DELETE /session": {
    id: "logout",
    tag: "session",
    access: "public",
    summary: "Log out: ends the session and clears the cookie",
    ok: { status: 204, description: "Logged out (also without a session)" },
  },
  "POST /api-tokens": {
    id: "createApiToken",
    tag: "session",
    summary: "Create an API token (admin); the secret is shown only here",
    body: { name: "NewApiToken", schema: NewApiToken },
    ok: { status: 201, description: "The token, with `token`" },
  },
  "GET /api-tokens": {
    id: "listApiTokens",
    tag: "session",
    summary: "API tokens, without their secrets (an admin sees every user's)",
    ok: { status: 200, description: "The tokens", content: "page" },
  },
  "DELETE /api-tokens/:id": {
    id: "revokeApiToken",
    tag: "session",
    summary: "Revoke an API token",
    ok: { status: 204, description: "Revoked" },
  },
  "POST /enrollment-tokens": {
    id: "createEnrollmentToken",
    tag: "session",
    summary: "Create an enrollment token for agents (admin); the secret is shown only here",
    body: { name: "NewEnrollmentToken", schema: NewEnrollmentToken },
    ok: { status: 201, description: "The token, with `token`" },
  },
  "GET /enrollment-tokens": {
    id: "listEnrollmentTokens",
    tag: "session",
    summary: "Enrollment tokens, newest first, without their secrets (admin)",
    query: EnrollmentTokenListQuery,
    ok: { status: 200, description: "A page of tokens", content: "page" },
  },
  "DELETE /enrollment-tokens/:id": {
    id: "revokeEnrollmentToken",
    tag: "session",
    summary: "Revoke an enrollment token (admin, audited)",
    ok: { status: 204, description: "Revoked (also when it was already)" },
  },

  // Hosts
  "GET /hosts": {
    id: "listHosts",
    tag: "hosts",
    summary: "A page of hosts, sorted and filtered on the server (DESIGN §8.8)",
    description: `\`health\`: ${HEALTH}. \`q\` matches the name.`,
    query: HostListQuery,
    params: [LABEL, WITHOUT_LABEL],
    ok: { status: 200, description: "A page of hosts", content: "page" },
  },
  "GET /hosts/summary": {
    id: "hostSummary",
    tag: "hosts",
    summary: "Counters for the dashboard: totals, health, and hosts per label value",
    params: [LABEL, WITHOUT_LABEL],
    ok: { status: 200, description: "`{total, online, offline, health, labels}`" },
  },
  "GET /hosts/:id": { id: "showHost", tag: "hosts", summary: "One host", ok: { status: 200, description: "The host" } },
  "PATCH /hosts/:id": {
    id: "updateHost",
    tag: "hosts",
    summary: "Rename a host, or set its labels, copy targets or max offline age (admin)",
    body: { name: "HostPatch", schema: HostPatch },
    ok: { status: 200, description: "The host" },
  },
  "DELETE /hosts/:id": {
    id: "revokeHost",
    tag: "hosts",
    summary: "Revoke a host: its agent token stops working and its socket closes (admin)",
    ok: { status: 204, description: "Revoked" },
  },
  "PUT /hosts/:id/config": {
    id: "setHostConfig",
    tag: "hosts",
    summary: "Set a host's repository and hook settings (admin); secrets are write-only",
    body: { name: "HostConfig", schema: HostConfig },
    ok: { status: 200, description: "The config, secrets as `has_…` flags" },
  },
  "GET /hosts/:id/copy-targets": {
    id: "listHostCopyTargets",
    tag: "hosts",
    summary: "A host's copy targets (its own and its policies') and the state of each",
    ok: { status: 200, description: "The copy targets", content: "page" },
  },
  "GET /hosts/:id/snapshots": {
    id: "listSnapshots",
    tag: "snapshots",
    summary: "A host's snapshots, as its agent last reported them, newest first",
    query: SnapshotsQuery,
    ok: { status: 200, description: "The snapshots", content: "page" },
  },
  "GET /hosts/:id/snapshots/:snapshot_id/files": {
    id: "browseSnapshot",
    tag: "snapshots",
    summary: "List one directory of a snapshot, a page at a time",
    query: BrowseQuery,
    ok: { status: 200, description: "A page of entries" },
  },
  "GET /hosts/:id/snapshots/:snapshot_id/download": {
    id: "downloadFromSnapshot",
    tag: "snapshots",
    summary: "Download a file, or a directory as tar, from a snapshot (admin, audited)",
    query: DownloadQuery,
    ok: {
      status: 200,
      description: "The file's bytes, or a tar of the directory",
      content: ["application/octet-stream", "application/x-tar"],
    },
  },
  "GET /hosts/:id/snapshots/diff": {
    id: "diffSnapshots",
    tag: "snapshots",
    summary: "Compare two snapshots of a host",
    query: DiffQuery,
    ok: { status: 200, description: "What was added, removed and changed" },
  },
  "POST /hosts/:id/snapshots/:snapshot_id/forget": {
    id: "forgetSnapshot",
    tag: "snapshots",
    summary: "Forget one snapshot (admin, audited): a job",
    ok: { status: 201, description: "The job" },
  },
  "POST /hosts/:id/snapshots/:snapshot_id/tags": {
    id: "tagSnapshot",
    tag: "snapshots",
    summary: "Set, add or remove a snapshot's tags (admin, audited): a job",
    body: { name: "SnapshotTags", schema: TagBody },
    ok: { status: 201, description: "The job" },
  },
  "GET /hosts/:id/repo-stats": {
    id: "listRepoStats",
    tag: "hosts",
    summary: "A host's repository statistics over time, newest first",
    query: StatsQuery,
    ok: { status: 200, description: "The statistics", content: "page" },
  },

  // Repositories
  "GET /repositories": {
    id: "listRepositories",
    tag: "repositories",
    summary: "Repositories",
    ok: { status: 200, description: "The repositories", content: "page" },
  },
  "POST /repositories": {
    id: "createRepository",
    tag: "repositories",
    summary: "Add a repository (admin); secrets are write-only",
    body: { name: "NewRepository", schema: NewRepository },
    ok: { status: 201, description: "The repository" },
  },
  "GET /repositories/:id": {
    id: "showRepository",
    tag: "repositories",
    summary: "One repository",
    ok: { status: 200, description: "The repository" },
  },
  "PATCH /repositories/:id": {
    id: "updateRepository",
    tag: "repositories",
    summary: "Change a repository (admin)",
    body: { name: "RepositoryPatch", schema: RepositoryPatch },
    ok: { status: 200, description: "The repository" },
  },
  "DELETE /repositories/:id": {
    id: "deleteRepository",
    tag: "repositories",
    summary: "Remove a repository no policy or host uses (admin)",
    ok: { status: 204, description: "Removed" },
  },
  "GET /repositories/:id/maintenance": {
    id: "showMaintenance",
    tag: "repositories",
    summary: "Who runs the repository's prune and check, their last results and recent ticks",
    ok: { status: 200, description: "The maintenance state" },
  },
  "GET /repositories/:id/keys": {
    id: "exportRepositoryKeys",
    tag: "repositories",
    summary: "Export the repository's password and credentials (admin, audited)",
    ok: { status: 200, description: "The secrets" },
  },
  "GET /repositories/:id/hosts": {
    id: "listRepositoryHosts",
    tag: "repositories",
    summary: "The hosts a repository is given to, online first",
    ok: { status: 200, description: "The hosts", content: "page" },
  },
  "POST /repositories/:id/test": {
    id: "testRepository",
    tag: "repositories",
    summary: "Test the connection to a repository from one host (admin, audited)",
    body: { name: "RepositoryTest", schema: TestRequest },
    ok: { status: 200, description: "The result of the test" },
  },

  // Policies
  "GET /policies": {
    id: "listPolicies",
    tag: "policies",
    summary: "Policies",
    ok: { status: 200, description: "The policies", content: "page" },
  },
  "POST /policies": {
    id: "createPolicy",
    tag: "policies",
    summary: "Create a policy (admin)",
    body: { name: "NewPolicy", schema: NewPolicy },
    ok: { status: 201, description: "The policy" },
  },
  "GET /policies/:id": {
    id: "showPolicy",
    tag: "policies",
    summary: "One policy",
    ok: { status: 200, description: "The policy" },
  },
  "PATCH /policies/:id": {
    id: "updatePolicy",
    tag: "policies",
    summary: "Change a policy (admin)",
    body: { name: "PolicyPatch", schema: PolicyPatch },
    ok: { status: 200, description: "The policy" },
  },
  "DELETE /policies/:id": {
    id: "deletePolicy",
    tag: "policies",
    summary: "Remove a policy (admin)",
    ok: { status: 204, description: "Removed" },
  },
  "GET /policies/:id/hosts": {
    id: "listPolicyHosts",
    tag: "policies",
    summary: "The hosts a policy's selector matches",
    ok: { status: 200, description: "The hosts", content: "page" },
  },

  // Schedules
  "GET /hosts/:id/schedules": {
    id: "listSchedules",
    tag: "schedules",
    summary: "A host's schedules, its own and its policies'",
    ok: { status: 200, description: "The schedules", content: "page" },
  },
  "POST /hosts/:id/schedules": {
    id: "createSchedule",
    tag: "schedules",
    summary: "Add a schedule to a host (admin)",
    body: { name: "NewSchedule", schema: NewSchedule },
    ok: { status: 201, description: "The schedule" },
  },
  "GET /schedules/:id": {
    id: "showSchedule",
    tag: "schedules",
    summary: "One schedule",
    ok: { status: 200, description: "The schedule" },
  },
  "PATCH /schedules/:id": {
    id: "updateSchedule",
    tag: "schedules",
    summary: "Change a schedule (admin)",
    body: { name: "SchedulePatch", schema: SchedulePatch },
    ok: { status: 200, description: "The schedule" },
  },
  "DELETE /schedules/:id": {
    id: "deleteSchedule",
    tag: "schedules",
    summary: "Remove a schedule (admin)",
    ok: { status: 204, description: "Removed" },
  },
  "GET /cron/preview": {
    id: "previewCron",
    tag: "schedules",
    summary: "The next runs of a cron expression (viewers too)",
    query: PreviewQuery,
    ok: { status: 200, description: "`{cron_expr, next_runs}`" },
  },
  "POST /cron/preview": {
    id: "previewCronRuns",
    tag: "schedules",
    summary: "The next `count` runs of a cron expression (viewers too)",
    body: { name: "CronPreview", schema: Preview },
    ok: { status: 200, description: "`{cron_expr, next_runs}`" },
  },

  // Jobs
  "POST /hosts/:id/jobs": {
    id: "runNow",
    tag: "jobs",
    summary: "Run a job on a host now (admin)",
    description: "The spec is checked against its kind, as the agent's command.run is.",
    body: { name: "RunNow", schema: RunNowBody },
    ok: { status: 201, description: "The job" },
  },
  "POST /jobs": {
    id: "bulkRunNow",
    tag: "jobs",
    summary: "Run a job now on the hosts a selector matches, or on hosts picked by id (admin, audited)",
    body: { name: "BulkRunNow", schema: BulkRunNowBody },
    ok: { status: 201, description: "`{items, refused}`: a job per host that took it, and the hosts that cannot" },
  },
  "GET /jobs": {
    id: "listJobs",
    tag: "jobs",
    summary: "Jobs across the fleet, newest first, a page at a time",
    query: JobListQuery,
    params: [LABEL],
    ok: { status: 200, description: "A page of jobs", content: "page" },
  },
  "GET /jobs/:id": { id: "showJob", tag: "jobs", summary: "One job", ok: { status: 200, description: "The job" } },
  "POST /jobs/:id/cancel": {
    id: "cancelJob",
    tag: "jobs",
    summary: "Cancel a queued or running job (admin)",
    ok: { status: 200, description: "The job" },
  },
  "GET /jobs/:id/logs": {
    id: "jobLogs",
    tag: "jobs",
    summary: "A job's log lines after `after_seq`",
    query: LogsQuery,
    ok: { status: 200, description: "A page of log lines", content: "page" },
  },

  // Live events
  "GET /events": {
    id: "events",
    tag: "events",
    summary: "Server-Sent Events: job progress, job state, log lines and host presence",
    description: "Each event's `data` is JSON; the event names are in docs/api.md (Live events).",
    query: EventsQuery,
    ok: { status: 200, description: "The event stream", content: ["text/event-stream"] },
  },

  // Alerts and notifications
  "GET /alerts": {
    id: "listAlerts",
    tag: "alerts",
    summary: "Alerts, firing and resolved, newest first",
    query: AlertsQuery,
    params: [LABEL],
    ok: { status: 200, description: "The alerts", content: "page" },
  },
  "GET /notification-channels": {
    id: "listChannels",
    tag: "alerts",
    summary: "Notification channels",
    ok: { status: 200, description: "The channels", content: "page" },
  },
  "POST /notification-channels": {
    id: "createChannel",
    tag: "alerts",
    summary: "Add a notification channel (admin)",
    body: { name: "NewChannel", schema: NewChannel },
    ok: { status: 201, description: "The channel" },
  },
  "GET /notification-channels/:id": {
    id: "showChannel",
    tag: "alerts",
    summary: "One notification channel",
    ok: { status: 200, description: "The channel" },
  },
  "PATCH /notification-channels/:id": {
    id: "updateChannel",
    tag: "alerts",
    summary: "Change a notification channel (admin)",
    body: { name: "ChannelPatch", schema: ChannelPatch },
    ok: { status: 200, description: "The channel" },
  },
  "DELETE /notification-channels/:id": {
    id: "deleteChannel",
    tag: "alerts",
    summary: "Remove a notification channel (admin)",
    ok: { status: 204, description: "Removed" },
  },
  "POST /notification-channels/:id/test": {
    id: "testChannel",
    tag: "alerts",
    summary: "Send a test notification through a channel (admin)",
    ok: { status: 200, description: "The result of the send" },
  },
  "GET /notification-channels/:id/deliveries": {
    id: "listDeliveries",
    tag: "alerts",
    summary: "A channel's recent deliveries",
    ok: { status: 200, description: "The deliveries", content: "page" },
  },
  "GET /alert-rules": {
    id: "listRules",
    tag: "alerts",
    summary: "Alert rules",
    ok: { status: 200, description: "The rules", content: "page" },
  },
  "POST /alert-rules": {
    id: "createRule",
    tag: "alerts",
    summary: "Add an alert rule (admin)",
    body: { name: "NewRule", schema: NewRule },
    ok: { status: 201, description: "The rule" },
  },
  "GET /alert-rules/:id": {
    id: "showRule",
    tag: "alerts",
    summary: "One alert rule",
    ok: { status: 200, description: "The rule" },
  },
  "PATCH /alert-rules/:id": {
    id: "updateRule",
    tag: "alerts",
    summary: "Change an alert rule (admin)",
    body: { name: "RulePatch", schema: RulePatch },
    ok: { status: 200, description: "The rule" },
  },
  "DELETE /alert-rules/:id": {
    id: "deleteRule",
    tag: "alerts",
    summary: "Remove an alert rule (admin)",
    ok: { status: 204, description: "Removed" },
  },
  "GET /mutes": {
    id: "listMutes",
    tag: "alerts",
    summary: "Mutes",
    ok: { status: 200, description: "The mutes", content: "page" },
  },
  "POST /mutes": {
    id: "createMute",
    tag: "alerts",
    summary: "Mute alerts of a host or a selector until a time (admin)",
    body: { name: "NewMute", schema: NewMute },
    ok: { status: 201, description: "The mute" },
  },
  "DELETE /mutes/:id": {
    id: "deleteMute",
    tag: "alerts",
    summary: "Remove a mute (admin)",
    ok: { status: 204, description: "Removed" },
  },

  // Config as code
  "GET /fleet-config": {
    id: "exportFleetConfig",
    tag: "fleet-config",
    summary: "The whole fleet config as one document, JSON or YAML (docs/fleet-config.md)",
    description: "YAML with `format=yaml` or `Accept: application/yaml`.",
    query: ExportQuery,
    ok: { status: 200, description: "The document", content: ["application/json", "application/yaml"] },
  },
  "PUT /fleet-config": {
    id: "applyFleetConfig",
    tag: "fleet-config",
    summary: "Apply a whole fleet config document (admin, audited); `dry_run` shows the changes only",
    description: "A YAML body needs `Content-Type: application/yaml`.",
    query: ApplyQuery,
    body: { name: "FleetConfig", schema: Document, types: ["application/json", "application/yaml"] },
    ok: { status: 200, description: "The changes made (or, with dry_run, that would be)" },
  },

  // For agents
  "POST /agent/enroll": {
    id: "enrollAgent",
    tag: "agents",
    access: "public",
    summary: "Enroll a host with an enrollment token: answers its agent token",
    body: { name: "Enroll", schema: Enroll },
    ok: { status: 201, description: "`{host_id, agent_token}`" },
  },
  "GET /agent/ws": {
    id: "agentSocket",
    tag: "agents",
    access: "agent",
    summary: "The agent's WebSocket (an HTTP upgrade); its messages are in docs/protocol.md",
    ok: { status: 101, description: "Switching to the WebSocket" },
  },

  // Users and audit log
  "GET /users": {
    id: "listUsers",
    tag: "users",
    summary: "Users (admin)",
    ok: { status: 200, description: "The users", content: "page" },
  },
  "POST /users": {
    id: "createUser",
    tag: "users",
    summary: "Add a user (admin)",
    body: { name: "NewUser", schema: NewUser },
    ok: { status: 201, description: "The user" },
  },
  "PATCH /users/:id": {
    id: "updateUser",
    tag: "users",
    summary: "Change a user's role, password, or disable it (admin)",
    body: { name: "UserPatch", schema: UserPatch },
    ok: { status: 200, description: "The user" },
  },
  "GET /audit-log": {
    id: "auditLog",
    tag: "users",
    summary: "The audit log, newest first (admin)",
    query: AuditQuery,
    ok: { status: 200, description: "A page of entries", content: "page" },
  },

  // About the server
  "GET /server-info": {
    id: "serverInfo",
    tag: "server",
    access: "public",
    summary: "The version and the served certificate's fingerprint, for agents to pin",
    ok: { status: 200, description: "`{version, agent_deb, tls_fingerprint, tls_next_fingerprint}`" },
  },
  "GET /openapi.json": {
    id: "openApi",
    tag: "server",
    access: "public",
    summary: "This document",
    ok: { status: 200, description: "The OpenAPI 3.1 document" },
  },
};
