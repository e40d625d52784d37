import type { MessageType, PayloadOf } from "./encode.ts";

/**
 * One full example payload per message type, every optional field filled. The docs'
 * catalogue (docs/protocol.md) is generated from these, and the round-trip test uses them.
 */
export const EXAMPLES: { [T in MessageType]: PayloadOf<T> } = {
  hello: {
    protocol_version: 5,
    agent_version: "0.1.0",
    restic_version: "0.14.0",
    hostname: "web-01",
    os: "linux",
    arch: "amd64",
    boot_time: "2026-11-29T06:12:44Z",
    restic_host: "web-01",
    active_job_ids: ["job_42"],
    timezone: "Europe/Berlin",
    policy: {
      remote_hooks: false,
      restore_targets: ["/var/lib/restic-fleet-agent/restore"],
      backup_paths: null,
      repositories: "first",
      source: "/etc/restic-fleet-agent/policy.json",
    },
  },
  heartbeat: { sent_at: "2026-11-30T12:00:30Z" },
  "schedule.ack": { version: 7, applied_at: "2026-11-30T12:00:01Z" },
  "schedule.fire": { schedule_id: "sch_01", scheduled_at: "2026-11-30T02:00:00Z" },
  "command.result": {
    job_id: "job_42",
    accepted: false,
    error: "restic is not installed: install restic 0.14 or newer",
  },
  "job.started": { job_id: "job_42", kind: "backup", started_at: "2026-11-30T02:00:01Z" },
  "job.progress": {
    job_id: "job_42",
    percent_done: 0.61,
    files_done: 3,
    total_files: 4,
    bytes_done: 3193878,
    total_bytes: 5242988,
    eta_seconds: 2,
    throughput_bps: 1048576,
  },
  "job.finished": {
    job_id: "job_42",
    status: "succeeded",
    exit_code: 3,
    finished_at: "2026-11-30T02:00:09Z",
    stats: { files_new: 4, data_added: 5245000, snapshot_id: "3f1e2d4c" },
    error: "some source files could not be read",
    failure_reason: "unknown",
    warnings: ["some source files could not be read"],
  },
  "job.log": {
    lines: [
      {
        job_id: "job_42",
        seq: 1,
        ts: "2026-11-30T02:00:02Z",
        stream: "stdout",
        payload: "using parent snapshot 3f1e2d4c",
      },
      {
        job_id: "job_42",
        seq: 2,
        ts: "2026-11-30T02:00:02Z",
        stream: "stderr",
        payload: "/x does not exist, skipping",
      },
    ],
  },
  "snapshots.report": {
    snapshots: [
      {
        id: "3f1e2d4c5b6a79880a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071",
        short_id: "3f1e2d4c",
        time: "2026-11-30T02:00:01Z",
        hostname: "web-01",
        paths: ["/srv/www"],
        tags: ["nightly"],
        size_bytes: 5242988,
        file_count: 4,
      },
    ],
  },
  "repo.stats": {
    size_bytes: 5245000,
    snapshot_count: 1,
    dedup_ratio: 1.8,
    last_check_at: "2026-11-29T03:00:00Z",
    last_check_status: "ok",
    lock_state: "unlocked",
  },
  "repo.missing": {
    job_id: "0b7e5c1e-3f9a-4d2b-8c61-5a4e2f1d9b07",
    detected_at: "2026-11-30T02:00:12Z",
    error:
      "There is no restic repository at the configured location; run an init job to create it.\nFatal: unable to open config file: stat /srv/restic/config: no such file or directory",
  },
  "config.update": {
    repo_url: "sftp:backup@nas:/srv/restic",
    repo_password: "correct horse battery staple",
    repo_username: "backup",
    repo_credential: "s3-secret-key",
    hook_shell: "/bin/sh",
    auto_init: true,
  },
  "schedule.set": {
    version: 7,
    schedules: [
      {
        id: "sch_01",
        kind: "backup",
        cron_expr: "0 2 * * *",
        timezone: "Europe/Berlin",
        paths: ["/srv/www"],
        excludes: ["*.tmp"],
        tags: ["nightly"],
        options: { one_file_system: true },
        pre_hook: "systemctl stop app",
        post_hook: "systemctl start app",
        enabled: true,
      },
      {
        id: "sch_02",
        kind: "forget",
        cron_expr: "0 4 * * 0",
        retention_policy: { keep_daily: 7, keep_weekly: 4, keep_within: "30d", keep_tags: ["keep"] },
        enabled: true,
      },
    ],
  },
  "command.run": {
    job_id: "job_43",
    kind: "forget",
    spec: { policy: { keep_last: 10, keep_daily: 7 }, prune: true },
  },
  "command.cancel": { job_id: "job_42" },
  "agent.update_available": {
    latest_version: "0.2.0",
    package_url: "https://example.com/restic-fleet/",
    changelog: "Faster log upload.",
  },
  "tls.fingerprints": {
    current: "sha256:94f2f5e71c56d4e3ae6a1d0fa42bc809ae587cf90a227813dc2d8653e869ab17",
    next: "sha256:3b7e0c1d9a54f2e6b8c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2",
  },
  ack: { ids: ["3d4e5f60-7182-493a-9c2d-3e4f5a6b7c8d"] },
  error: { code: "invalid_message", message: "payload.version: Invalid type", ref_id: "1b2c3d4e", retryable: false },
};
