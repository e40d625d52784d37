import { type Migration, rebuildTable } from "./table-rebuild.ts";

// Used by migration 4: once shipped, a change here needs a new migration that recreates the triggers.
/** Recomputes the last backup job and the last successful backup of the hosts matching `where`. */
const backupFacts = (where: string) => `
    UPDATE hosts SET
      (last_backup_job_id, last_backup_status, last_backup_finished_at, last_backup_error) = (
        SELECT j.id, j.status, j.finished_at, j.error FROM jobs j
        WHERE j.host_id = hosts.id AND j.kind = 'backup' ORDER BY j.created_at DESC, j.id DESC LIMIT 1),
      last_successful_backup_at = (
        SELECT max(j.finished_at) FROM jobs j WHERE j.host_id = hosts.id AND j.kind = 'backup' AND j.status = 'succeeded')
    WHERE ${where};`;
// Used by migration 12, under the same rule.
/** Recomputes the last finished (succeeded or failed) check job of the hosts matching `where`. */
const checkFacts = (where: string) => `
    UPDATE hosts SET (last_check_job_id, last_check_status, last_check_finished_at, last_check_error) = (
      SELECT j.id, j.status, j.finished_at, j.error FROM jobs j
      WHERE j.host_id = hosts.id AND j.kind = 'check' AND j.status IN ('succeeded', 'failed')
      ORDER BY j.finished_at DESC, j.id DESC LIMIT 1)
    WHERE ${where};`;
// Used by migration 13, under the same rule. A backup's warning as SQL, from what every agent
// already sends: the agent's warnings (protocol 3 as typed fields, which the server keeps in
// stats.warning; older agents put stats.warning there themselves), paths skipped as missing,
// restic's exit 3 (some source files could not be read) and a summary that saved 0 files.
// json_valid first: a stats text that is not JSON must not fail the job's write.
const backupWarning = (j: string) => `CASE WHEN ${j}.status = 'succeeded' THEN coalesce(
        CASE WHEN json_valid(${j}.stats) THEN nullif(json_extract(${j}.stats, '$.warning'), '') END,
        CASE WHEN json_valid(${j}.stats) AND json_extract(${j}.stats, '$.missing_paths') IS NOT NULL
          THEN 'some backup paths do not exist and were skipped' END,
        CASE WHEN ${j}.exit_code = 3 THEN 'some source files could not be read (restic exit code 3)' END,
        CASE WHEN json_valid(${j}.stats) AND json_extract(${j}.stats, '$.total_files_processed') = 0
          THEN 'the backup saved 0 files' END) END`;
/**
 * Recomputes the last FINISHED (succeeded or failed) backup of the hosts matching `where`, its
 * warning, and the last successful backup. A queued, running or cancelled backup says nothing
 * about the host's data, so it never hides the result before it (migration 4 took the newest
 * backup job whatever its status).
 */
const finishedBackupFacts = (where: string) => `
    UPDATE hosts SET
      (last_backup_job_id, last_backup_status, last_backup_finished_at, last_backup_error, last_backup_warning) = (
        SELECT j.id, j.status, j.finished_at, j.error, ${backupWarning("j")} FROM jobs j
        WHERE j.host_id = hosts.id AND j.kind = 'backup' AND j.status IN ('succeeded', 'failed')
        ORDER BY j.finished_at DESC, j.id DESC LIMIT 1),
      last_successful_backup_at = (
        SELECT max(j.finished_at) FROM jobs j WHERE j.host_id = hosts.id AND j.kind = 'backup' AND j.status = 'succeeded')
    WHERE ${where};`;
// Used by migration 15, under the same rule. A drill fails when its job failed or its own report
// (stats.drill.result, DESIGN §8.5) says so; it passes when the job succeeded and the report does
// not say otherwise. The snapshot is the report's, else the spec's; the reason the report's, else
// the job's error. json_valid first: a stats text that is not JSON must not fail the job's write.
const drillReport = (j: string, path: string) =>
  `CASE WHEN json_valid(${j}.stats) THEN json_extract(${j}.stats, '$.drill.${path}') END`;
const drillFailed = (j: string) => `(${j}.status = 'failed' OR ${drillReport(j, "result")} = 'failed')`;
/** Recomputes the last finished (succeeded or failed) drill job of the hosts matching `where`. */
const drillFacts = (where: string) => `
    UPDATE hosts SET
      (last_drill_job_id, last_drill_at, last_drill_result, last_drill_snapshot_id, last_drill_reason) = (
        SELECT j.id, j.finished_at, CASE WHEN ${drillFailed("j")} THEN 'failed' ELSE 'passed' END,
          coalesce(${drillReport("j", "snapshot_id")},
            CASE WHEN json_valid(j.spec) THEN json_extract(j.spec, '$.snapshot_id') END),
          CASE WHEN ${drillFailed("j")} THEN coalesce(nullif(${drillReport("j", "reason")}, ''), j.error) END
        FROM jobs j
        WHERE j.host_id = hosts.id AND j.kind = 'drill' AND j.status IN ('succeeded', 'failed')
        ORDER BY j.finished_at DESC, j.id DESC LIMIT 1)
    WHERE ${where};`;
// Used by migration 15: the cycle of NEW's part (read_cycle_jobs), when it is of the cycle's own N.
const cycleOfNew = `schedule_id = (SELECT m.schedule_id FROM read_cycle_jobs m WHERE m.job_id = NEW.id)
      AND parts = (SELECT m.parts FROM read_cycle_jobs m WHERE m.job_id = NEW.id)`;
const cycleDone = `(SELECT count(*) FROM read_cycle_parts p WHERE p.schedule_id = c.schedule_id) >= c.parts`;
/** Recomputes the size from the newest repo_stats row of the hosts matching `where`. */
const repoFacts = (where: string) => `
    UPDATE hosts SET repo_size_bytes = (
      SELECT r.size_bytes FROM repo_stats r WHERE r.host_id = hosts.id ORDER BY r.seq DESC LIMIT 1)
    WHERE ${where};`;

/**
 * Schema migrations, applied in order and keyed by `PRAGMA user_version`. Never edit a
 * shipped migration: append a new one.
 */
export const MIGRATIONS: readonly Migration[] = [
  // 1 (2026-11-30): the first schema.
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at TEXT NOT NULL
  );
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
  );
  CREATE TABLE enrollment_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    uses_left INTEGER NOT NULL,
    expires_at TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hostname TEXT NOT NULL,
    agent_token_hash TEXT NOT NULL UNIQUE,
    os TEXT,
    arch TEXT,
    agent_version TEXT,
    restic_version TEXT,
    protocol_version INTEGER,
    boot_time TEXT,
    online INTEGER NOT NULL DEFAULT 0,
    last_seen_at TEXT,
    enrolled_at TEXT NOT NULL,
    schedule_version INTEGER NOT NULL DEFAULT 0,
    acked_schedule_version INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE host_config (
    host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    repo_url TEXT,
    repo_password_enc TEXT,
    repo_username TEXT,
    repo_credential_enc TEXT,
    hook_shell TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    cron_expr TEXT NOT NULL,
    timezone TEXT,
    paths TEXT,
    excludes TEXT,
    tags TEXT,
    retention_policy TEXT,
    options TEXT,
    pre_hook TEXT,
    post_hook TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX schedules_by_host ON schedules(host_id);
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'schedule', 'system')),
    actor_id TEXT,
    scheduled_id TEXT REFERENCES schedules(id) ON DELETE SET NULL,
    scheduled_at TEXT,
    args TEXT,
    spec TEXT,
    progress TEXT,
    stats TEXT,
    exit_code INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    dispatched_at TEXT,
    dispatch_attempts INTEGER NOT NULL DEFAULT 0,
    accepted_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    UNIQUE (scheduled_id, scheduled_at)
  );
  CREATE INDEX jobs_by_host_time ON jobs(host_id, created_at DESC, id DESC);
  CREATE INDEX jobs_by_time ON jobs(created_at DESC, id DESC);
  CREATE INDEX jobs_by_status ON jobs(status, created_at DESC);
  CREATE TABLE job_logs (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    ts TEXT NOT NULL,
    stream TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE snapshots (
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    short_id TEXT NOT NULL,
    time TEXT NOT NULL,
    hostname TEXT NOT NULL,
    paths TEXT NOT NULL,
    tags TEXT,
    size_bytes INTEGER,
    file_count INTEGER,
    PRIMARY KEY (host_id, id)
  );
  CREATE INDEX snapshots_by_host_time ON snapshots(host_id, time DESC);
  CREATE TABLE repo_stats (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    reported_at TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    snapshot_count INTEGER NOT NULL,
    dedup_ratio REAL NOT NULL,
    last_check_at TEXT,
    last_check_status TEXT,
    lock_state TEXT NOT NULL
  );
  CREATE INDEX repo_stats_by_host ON repo_stats(host_id, seq DESC);
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
  );
  -- Envelope ids already stored, per host: the agent's re-sends are acked and ignored.
  CREATE TABLE received_envelopes (
    host_id TEXT NOT NULL,
    id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (host_id, id)
  ) WITHOUT ROWID;
  CREATE INDEX received_envelopes_by_time ON received_envelopes(received_at);
  `,
  // 2 (2026-11-30): users can be disabled.
  `
  ALTER TABLE users ADD COLUMN disabled_at TEXT;
  `,
  // 3 (2026-11-30): indexes for the host list (last backup, last success) at a million jobs.
  `
  CREATE INDEX jobs_by_host_kind_time ON jobs(host_id, kind, created_at DESC, id DESC);
  CREATE INDEX jobs_by_host_kind_status_finished ON jobs(host_id, kind, status, finished_at);
  `,
  // 4 (2026-11-30): the host list's per-host facts as columns on hosts, kept by triggers.
  //
  // Why, measured at 10,000 hosts and 1.9M jobs (2 shared cores): one SELECT over hosts with
  // the facts as correlated subqueries (one index seek each, through migration 3's indexes)
  // takes 150-200 ms, ~80 ms of it for the last backup job alone (its status and error live in
  // the wide job row). The same SELECT over stored columns takes ~15 ms, most of it turning
  // 10,000 rows into JS strings. Triggers rather than the store's write methods keep the
  // columns, so no code path that changes a job or a repo_stats row can leave them stale; each
  // one recomputes the facts from the indexes instead of patching them, which is right for any
  // insert, update or delete in any order. The price: ~30-40 µs of CPU per backup job insert
  // or status change (bulk-measured); 10,000 hourly backups make ~8 such changes a second.
  `
  ALTER TABLE hosts ADD COLUMN last_backup_job_id TEXT;
  ALTER TABLE hosts ADD COLUMN last_backup_status TEXT;
  ALTER TABLE hosts ADD COLUMN last_backup_finished_at TEXT;
  ALTER TABLE hosts ADD COLUMN last_backup_error TEXT;
  ALTER TABLE hosts ADD COLUMN last_successful_backup_at TEXT;
  ALTER TABLE hosts ADD COLUMN repo_size_bytes INTEGER;
  -- The list's order, without a sort of every host per request.
  CREATE INDEX hosts_by_name ON hosts(name, id);

  CREATE TRIGGER jobs_insert_host_facts AFTER INSERT ON jobs WHEN NEW.kind = 'backup' BEGIN
    ${backupFacts("id = NEW.host_id")}
  END;
  -- Only the columns the facts read: progress and dispatch updates do not fire it.
  CREATE TRIGGER jobs_update_host_facts
    AFTER UPDATE OF id, host_id, kind, status, created_at, finished_at, error ON jobs
    WHEN NEW.kind = 'backup' OR OLD.kind = 'backup' BEGIN
    ${backupFacts("id IN (OLD.host_id, NEW.host_id)")}
  END;
  CREATE TRIGGER jobs_delete_host_facts AFTER DELETE ON jobs WHEN OLD.kind = 'backup' BEGIN
    ${backupFacts("id = OLD.host_id")}
  END;
  CREATE TRIGGER repo_stats_insert_host_facts AFTER INSERT ON repo_stats BEGIN
    ${repoFacts("id = NEW.host_id")}
  END;
  CREATE TRIGGER repo_stats_update_host_facts AFTER UPDATE ON repo_stats BEGIN
    ${repoFacts("id IN (OLD.host_id, NEW.host_id)")}
  END;
  CREATE TRIGGER repo_stats_delete_host_facts AFTER DELETE ON repo_stats BEGIN
    ${repoFacts("id = OLD.host_id")}
  END;

  -- Backfill: ~0.5 s at 10,000 hosts and 1.9M jobs.
  ${backupFacts("1")}
  ${repoFacts("1")}
  `,
  // 5 (2026-12-01): the restic host name (`--host` on every command that writes or selects
  // snapshots), fixed at enrollment. Hosts enrolled before it get the hostname of their last
  // hello: an agent before protocol 2 let restic write the machine's hostname into every
  // snapshot, so that is the name their snapshots carry.
  `
  ALTER TABLE hosts ADD COLUMN restic_host TEXT NOT NULL DEFAULT '';
  UPDATE hosts SET restic_host = hostname;
  `,
  // 6 (2026-12-01): the host's IANA time zone from its hello (protocol 3), the zone of every one
  // of its schedules without its own; null until such an agent says hello.
  `
  ALTER TABLE hosts ADD COLUMN timezone TEXT;
  `,
  // 7 (2026-12-01): the host's own policy from its hello (protocol 4), as JSON; null for an
  // older agent.
  `
  ALTER TABLE hosts ADD COLUMN policy TEXT;
  `,
  // 8 (2026-12-02): counters for the log limits per job and per host (domain/log-quota.ts). One
  // narrow row each, added to once per job.log frame, so the hot path never sums stored lines (and
  // never rewrites a wide jobs row). Counting starts here: lines stored before do not count, or a
  // host with a long history could be over its limit on its first start after the upgrade.
  `
  CREATE TABLE job_log_usage (
    job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    bytes INTEGER NOT NULL DEFAULT 0,
    capped INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE TABLE host_log_usage (
    host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    bytes INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  `,
  // 9 (2026-12-02): labels (DESIGN §8.2), a JSON object of key → value, on hosts (set by admins,
  // or copied at enrollment from the token) and on enrollment tokens. Selectors match them in the
  // domain (domain/selector.ts) over the host list it reads anyway, so no index here.
  `
  ALTER TABLE hosts ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE enrollment_tokens ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
  `,
  // 10 (2026-12-02): repositories as their own resource (DESIGN §8.3). Secrets are sealed by the
  // domain (domain/secrets.ts). A url with `{host}` is a template, and a template without a
  // password gets one generated per host, made once and kept: repository_host_secrets. Its host_id
  // is deliberately not a reference to hosts: revoking a host must not destroy the only copy of
  // the password its backups were written with (the key export still lists it).
  `
  CREATE TABLE repositories (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    url TEXT NOT NULL,
    password_enc TEXT,
    username TEXT,
    credential_enc TEXT,
    auto_init INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE repository_host_secrets (
    repository_id TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    host_id TEXT NOT NULL,
    host_name TEXT NOT NULL,
    restic_host TEXT NOT NULL,
    password_enc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repository_id, host_id)
  ) WITHOUT ROWID;
  `,
  // 11 (2026-12-02): policies (DESIGN §8.3): a selector, a repository, a priority and schedules.
  // A policy's schedules are materialised per matching host as ordinary schedule rows with
  // policy_id set (ids derived from the policy schedule's and the host's, so they stay the same
  // across recomputations and a tick dedups as before). What the policies resolve to for a host's
  // repository is kept on the host: the repository and the policy it came from, or the conflict
  // (JSON) that keeps anything from being pushed to it. A policy's repository RESTRICTs its delete.
  `
  CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    selector TEXT NOT NULL DEFAULT '{}',
    repository_id TEXT REFERENCES repositories(id) ON DELETE RESTRICT,
    priority INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX policies_by_repository ON policies(repository_id);
  CREATE TABLE policy_schedules (
    id TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    cron_expr TEXT NOT NULL,
    timezone TEXT,
    jitter TEXT,
    paths TEXT,
    excludes TEXT,
    tags TEXT,
    retention_policy TEXT,
    options TEXT,
    pre_hook TEXT,
    post_hook TEXT,
    enabled INTEGER NOT NULL DEFAULT 1
  );
  CREATE INDEX policy_schedules_by_policy ON policy_schedules(policy_id, position);
  ALTER TABLE schedules ADD COLUMN policy_id TEXT;
  ALTER TABLE schedules ADD COLUMN policy_schedule_id TEXT;
  CREATE INDEX schedules_by_policy ON schedules(policy_id) WHERE policy_id IS NOT NULL;
  ALTER TABLE hosts ADD COLUMN policy_repository_id TEXT;
  ALTER TABLE hosts ADD COLUMN repository_policy_id TEXT;
  ALTER TABLE hosts ADD COLUMN policy_conflict TEXT;
  CREATE INDEX hosts_by_policy_repository ON hosts(policy_repository_id) WHERE policy_repository_id IS NOT NULL;
  `,
  // 12 (2026-12-02): alerts (DESIGN §8.4). An alert is a condition that held for a host, firing
  // until it stops holding; at most one firing per host and condition. Rules route conditions of
  // the hosts a selector matches to channels; mutes keep notifications back until a time. The
  // durable queue: an alert's event waits as an item until its channel's batch window closes,
  // then the items become one message (a notification) that waits until the receiver accepts
  // it. An item's key makes an event queued twice one item. Each host's last finished check is
  // kept beside its backup facts by triggers, so the sweep reads it with the host list.
  `
  CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    condition TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
    started_at TEXT NOT NULL,
    resolved_at TEXT,
    summary TEXT NOT NULL,
    notified_at TEXT,
    resolve_notified_at TEXT
  );
  CREATE UNIQUE INDEX alerts_one_firing ON alerts(host_id, condition) WHERE state = 'firing';
  CREATE INDEX alerts_by_start ON alerts(started_at DESC, id DESC);
  CREATE INDEX alerts_by_host ON alerts(host_id, condition, resolved_at);
  CREATE INDEX alerts_untold_resolutions ON alerts(resolved_at) WHERE state = 'resolved' AND resolve_notified_at IS NULL;
  CREATE TABLE notification_channels (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL,
    config_public TEXT NOT NULL,
    config_enc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_delivery_at TEXT,
    last_error TEXT,
    last_error_at TEXT
  );
  CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    selector TEXT NOT NULL DEFAULT '{}',
    conditions TEXT NOT NULL,
    channel_ids TEXT NOT NULL,
    offline_after_s INTEGER NOT NULL,
    repeat_after_s INTEGER,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE mutes (
    id TEXT PRIMARY KEY,
    host_id TEXT REFERENCES hosts(id) ON DELETE CASCADE,
    selector TEXT,
    until TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX mutes_by_until ON mutes(until);
  CREATE TABLE notification_items (
    channel_id TEXT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    occurrence INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    notification_id TEXT,
    PRIMARY KEY (channel_id, alert_id, event, occurrence)
  ) WITHOUT ROWID;
  CREATE INDEX notification_items_waiting ON notification_items(channel_id, event, created_at) WHERE notification_id IS NULL;
  CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    last_error TEXT
  );
  CREATE INDEX notifications_due ON notifications(next_attempt_at) WHERE state = 'pending';
  CREATE INDEX notifications_by_channel ON notifications(channel_id, created_at DESC);

  ALTER TABLE hosts ADD COLUMN last_check_job_id TEXT;
  ALTER TABLE hosts ADD COLUMN last_check_status TEXT;
  ALTER TABLE hosts ADD COLUMN last_check_finished_at TEXT;
  ALTER TABLE hosts ADD COLUMN last_check_error TEXT;
  CREATE TRIGGER jobs_insert_check_facts AFTER INSERT ON jobs WHEN NEW.kind = 'check' BEGIN
    ${checkFacts("id = NEW.host_id")}
  END;
  CREATE TRIGGER jobs_update_check_facts
    AFTER UPDATE OF id, host_id, kind, status, finished_at, error ON jobs
    WHEN NEW.kind = 'check' OR OLD.kind = 'check' BEGIN
    ${checkFacts("id IN (OLD.host_id, NEW.host_id)")}
  END;
  CREATE TRIGGER jobs_delete_check_facts AFTER DELETE ON jobs WHEN OLD.kind = 'check' BEGIN
    ${checkFacts("id = OLD.host_id")}
  END;
  ${checkFacts("1")}
  `,
  // 13 (2026-12-02): health from the last FINISHED backup, and its warning (issue 15, item 0).
  // Migration 4's facts took the newest backup job by created_at, so a backup queued behind
  // another job hid the failure before it and the host showed "ok". Now the last backup is the
  // newest succeeded or failed one by finished_at (cancelled ones are skipped: they neither
  // prove nor disprove a backup), with the warning it ended with (null when none). The
  // partial index keeps that one seek per host: at 10,000 hosts and 1M jobs (2 shared cores) the
  // backfill took 130 ms, a backup status change ~80 µs with the trigger (bulk-measured, this
  // machine; not compared with migration 4's on the same one), the host list SELECT 13 ms. The
  // update trigger also watches exit_code and stats, which the warning reads.
  `
  ALTER TABLE hosts ADD COLUMN last_backup_warning TEXT;
  CREATE INDEX jobs_finished_backups ON jobs(host_id, finished_at DESC, id DESC)
    WHERE kind = 'backup' AND status IN ('succeeded', 'failed');
  DROP TRIGGER jobs_insert_host_facts;
  DROP TRIGGER jobs_update_host_facts;
  DROP TRIGGER jobs_delete_host_facts;
  CREATE TRIGGER jobs_insert_host_facts AFTER INSERT ON jobs WHEN NEW.kind = 'backup' BEGIN
    ${finishedBackupFacts("id = NEW.host_id")}
  END;
  -- Only the columns the facts read: progress and dispatch updates do not fire it.
  CREATE TRIGGER jobs_update_host_facts
    AFTER UPDATE OF id, host_id, kind, status, finished_at, error, exit_code, stats ON jobs
    WHEN NEW.kind = 'backup' OR OLD.kind = 'backup' BEGIN
    ${finishedBackupFacts("id IN (OLD.host_id, NEW.host_id)")}
  END;
  CREATE TRIGGER jobs_delete_host_facts AFTER DELETE ON jobs WHEN OLD.kind = 'backup' BEGIN
    ${finishedBackupFacts("id = OLD.host_id")}
  END;
  ${finishedBackupFacts("1")}
  `,
  // 14 (2026-12-02): a counter of what the hosts' expected backup intervals are computed from (backup
  // schedules and hosts' zones), bumped by triggers, so the host list and the alert sweep keep
  // the intervals between changes instead of parsing every cron expression on every read.
  `
  CREATE TABLE change_counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO change_counters (name, n) VALUES ('cadences', 0);
  CREATE TRIGGER schedules_insert_cadences AFTER INSERT ON schedules BEGIN
    UPDATE change_counters SET n = n + 1 WHERE name = 'cadences';
  END;
  CREATE TRIGGER schedules_update_cadences AFTER UPDATE OF host_id, kind, cron_expr, timezone, enabled ON schedules BEGIN
    UPDATE change_counters SET n = n + 1 WHERE name = 'cadences';
  END;
  CREATE TRIGGER schedules_delete_cadences AFTER DELETE ON schedules BEGIN
    UPDATE change_counters SET n = n + 1 WHERE name = 'cadences';
  END;
  CREATE TRIGGER hosts_timezone_cadences AFTER UPDATE OF timezone ON hosts
    WHEN OLD.timezone IS NOT NEW.timezone BEGIN
    UPDATE change_counters SET n = n + 1 WHERE name = 'cadences';
  END;
  `,
  // 15 (2026-12-02): restore confidence (issue 16, DESIGN §8.5). Each host's last finished drill
  // (when, passed or failed, the snapshot and the reason) beside its check facts, kept by triggers
  // like migration 12's. Rolling data checks: a check schedule whose read_data_subset is "k/N"
  // checks part k of N per job, k advancing 1..N and wrapping (domain/read-cycles.ts). The server
  // picks k when it makes the job (next_part) and notes the job's part (read_cycle_jobs), whoever
  // asked for it (a tick or a run-now of the schedule); the triggers below record each part that succeeded
  // in the current cycle, complete the cycle when all N have (last_full_read_at, on the schedule
  // and on its host), and point next_part back at a part that failed or was cancelled, so it is
  // retried next rather than skipped. A cycle row goes with its schedule.
  `
  ALTER TABLE hosts ADD COLUMN last_drill_job_id TEXT;
  ALTER TABLE hosts ADD COLUMN last_drill_at TEXT;
  ALTER TABLE hosts ADD COLUMN last_drill_result TEXT;
  ALTER TABLE hosts ADD COLUMN last_drill_snapshot_id TEXT;
  ALTER TABLE hosts ADD COLUMN last_drill_reason TEXT;
  ALTER TABLE hosts ADD COLUMN last_full_read_at TEXT;
  CREATE INDEX jobs_finished_drills ON jobs(host_id, finished_at DESC, id DESC)
    WHERE kind = 'drill' AND status IN ('succeeded', 'failed');
  CREATE TRIGGER jobs_insert_drill_facts AFTER INSERT ON jobs WHEN NEW.kind = 'drill' BEGIN
    ${drillFacts("id = NEW.host_id")}
  END;
  CREATE TRIGGER jobs_update_drill_facts
    AFTER UPDATE OF id, host_id, kind, status, finished_at, error, stats ON jobs
    WHEN NEW.kind = 'drill' OR OLD.kind = 'drill' BEGIN
    ${drillFacts("id IN (OLD.host_id, NEW.host_id)")}
  END;
  CREATE TRIGGER jobs_delete_drill_facts AFTER DELETE ON jobs WHEN OLD.kind = 'drill' BEGIN
    ${drillFacts("id = OLD.host_id")}
  END;
  ${drillFacts("1")}

  CREATE TABLE read_cycles (
    schedule_id TEXT PRIMARY KEY REFERENCES schedules(id) ON DELETE CASCADE,
    parts INTEGER NOT NULL CHECK (parts BETWEEN 2 AND 10000),
    next_part INTEGER NOT NULL,
    cycle_started_at TEXT NOT NULL,
    last_full_read_at TEXT
  );
  CREATE TABLE read_cycle_parts (
    schedule_id TEXT NOT NULL REFERENCES read_cycles(schedule_id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (schedule_id, part)
  ) WITHOUT ROWID;
  -- The part each unfinished rolling job checks, and of how many; a row goes when its job ends.
  CREATE TABLE read_cycle_jobs (
    job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    schedule_id TEXT NOT NULL REFERENCES read_cycles(schedule_id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TRIGGER jobs_read_cycle_part AFTER UPDATE OF status ON jobs
    WHEN NEW.kind = 'check' AND OLD.status IN ('queued', 'running')
      AND NEW.status IN ('succeeded', 'failed', 'cancelled') BEGIN
    INSERT OR IGNORE INTO read_cycle_parts (schedule_id, part, job_id)
      SELECT m.schedule_id, m.part, NEW.id FROM read_cycle_jobs m
      JOIN read_cycles c ON c.schedule_id = m.schedule_id AND c.parts = m.parts
      WHERE m.job_id = NEW.id AND NEW.status = 'succeeded';
    UPDATE read_cycles SET next_part = (SELECT m.part FROM read_cycle_jobs m WHERE m.job_id = NEW.id)
      WHERE NEW.status <> 'succeeded' AND ${cycleOfNew};
    UPDATE hosts SET last_full_read_at = NEW.finished_at
      WHERE id = NEW.host_id AND EXISTS (SELECT 1 FROM read_cycles c WHERE ${cycleOfNew} AND ${cycleDone});
    UPDATE read_cycles AS c SET last_full_read_at = NEW.finished_at, cycle_started_at = NEW.finished_at
      WHERE ${cycleOfNew} AND ${cycleDone};
    DELETE FROM read_cycle_parts WHERE schedule_id = (SELECT c.schedule_id FROM read_cycles c
      WHERE ${cycleOfNew} AND c.cycle_started_at = NEW.finished_at AND ${cycleDone});
    DELETE FROM read_cycle_jobs WHERE job_id = NEW.id;
  END;
  `,
  // 16 (2026-12-02): an enrollment token's number of uses as made (issue 17, item 12), so the
  // tokens page says "1 of 3 left"; NULL for tokens made before, whose first number is lost.
  `
  ALTER TABLE enrollment_tokens ADD COLUMN uses INTEGER;
  `,
  // 17 (2026-12-02): repository forms per backend (issue 17). A repository's restic environment
  // variables (protocol/repository-backends.ts): the plain ones as a JSON object, the secret ones
  // sealed together as one, write-only like the password.
  `
  ALTER TABLE repositories ADD COLUMN env TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE repositories ADD COLUMN secret_env_enc TEXT;
  `,
  // 18 (2026-12-02): the fleet-wide jobs list (issue 17) filters by kind or status, newest first,
  // in pages. Without these, a rare kind (drill, check) scanned the time index from the top for
  // every page, and a status page sorted each created_at tie by id in a temporary B-tree
  // (EXPLAIN QUERY PLAN, store/jobs-list-store.test.ts). The status index gains id to seek the
  // (created_at, id) cursor.
  `
  CREATE INDEX jobs_by_kind_time ON jobs(kind, created_at DESC, id DESC);
  DROP INDEX jobs_by_status;
  CREATE INDEX jobs_by_status_time ON jobs(status, created_at DESC, id DESC);
  `,
  // 19 (2026-12-02): jitter (issue 18, DESIGN §8.3). A host's schedule keeps its `jitter` ("30m")
  // like a policy's schedule has since migration 11; a policy's copies carry the policy's. NULL:
  // none, which every schedule made before has.
  `
  ALTER TABLE schedules ADD COLUMN jitter TEXT;
  `,
  // 20 (2026-12-02): at most one pending run per schedule (issue 18, item 7). A tick that comes
  // while the previous run of its schedule is still queued or running makes no job: it is merged
  // into that run, and counted here, one row per run that absorbed ticks (so a */2 s schedule
  // behind a 10 min backup writes one row, not 300). The range [first, last] of merged ticks makes
  // a re-sent skipped fire a duplicate, as the jobs' UNIQUE (scheduled_id, scheduled_at) does for a
  // fire that made a job. The partial index finds a schedule's pending run in one seek, however
  // many finished runs the schedule has (a */2 s schedule makes 43,200 a day).
  `
  CREATE TABLE skipped_ticks (
    job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    count INTEGER NOT NULL CHECK (count > 0),
    first_scheduled_at TEXT NOT NULL,
    last_scheduled_at TEXT NOT NULL,
    last_skipped_at TEXT NOT NULL,
    last_reason TEXT NOT NULL
  );
  CREATE INDEX skipped_ticks_by_schedule ON skipped_ticks(schedule_id, last_scheduled_at DESC);
  CREATE INDEX jobs_pending_by_schedule ON jobs(scheduled_id, host_id) WHERE status IN ('queued', 'running');
  `,
  // 21 (2026-12-02): repository-wide maintenance (issue 18 item 2, DESIGN §8.3). The server fires
  // the prune and check schedules of a policy whose repository is shared, once per repository per
  // tick, on one online host using it (domain/maintenance.ts). Each tick it considered is a row:
  // fired (with the host and job), skipped (with the reason), or pending (no host using the
  // repository was online: it fires when one is). The key makes a tick one row however often it
  // is looked at. A mark per policy schedule is how far its ticks have been looked at, so a
  // restarted server catches up the latest tick it missed, once, and a new schedule none before it.
  // No foreign key to policy_schedules: a policy's update rewrites its schedule rows (same ids),
  // and a tick is the repository's history, kept after its schedule is gone.
  `
  CREATE TABLE maintenance_ticks (
    policy_schedule_id TEXT NOT NULL,
    scheduled_at TEXT NOT NULL,
    repository_id TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('fired', 'skipped', 'pending')),
    reason TEXT,
    host_id TEXT,
    job_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (policy_schedule_id, scheduled_at)
  ) WITHOUT ROWID;
  CREATE INDEX maintenance_ticks_by_repository ON maintenance_ticks(repository_id, scheduled_at DESC);
  CREATE INDEX maintenance_ticks_pending ON maintenance_ticks(outcome) WHERE outcome = 'pending';
  CREATE INDEX maintenance_ticks_by_job ON maintenance_ticks(job_id) WHERE job_id IS NOT NULL;
  CREATE TABLE maintenance_marks (
    policy_schedule_id TEXT PRIMARY KEY,
    looked_through TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 22 (2026-12-02): copy targets (issue 18 item 6, 3-2-1): further repositories a policy's or a
  // host's snapshots are copied to, as a JSON list of {repository_id, retention_policy, prune}.
  // A list, not a table: it is read whole with its owner, and never queried by its parts but for
  // "who uses this repository" (a json_each scan of the policies and hosts, on a delete).
  `
  ALTER TABLE policies ADD COLUMN copy_targets TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE hosts ADD COLUMN copy_targets TEXT NOT NULL DEFAULT '[]';
  `,
  // 23 (2026-12-02): stdin backups (issue 18, item 5): a backup schedule may read a command's
  // output instead of paths. The command is a JSON array (argv), NULL for a backup of paths.
  `
  ALTER TABLE schedules ADD COLUMN stdin_command TEXT;
  ALTER TABLE schedules ADD COLUMN stdin_filename TEXT;
  ALTER TABLE policy_schedules ADD COLUMN stdin_command TEXT;
  ALTER TABLE policy_schedules ADD COLUMN stdin_filename TEXT;
  `,
  // 24 (2026-12-03): backups the agent ran on its own while the server was down (issue 19, DESIGN
  // §8.7) are job rows with actor_kind 'agent'. SQLite cannot widen a CHECK constraint in place, so
  // the jobs table is rebuilt (table-rebuild.ts), rows, indexes and triggers as they were.
  {
    foreignKeysOff: true,
    run: (db) =>
      rebuildTable(db, "jobs", (sql) =>
        sql.replace(
          "CHECK (actor_kind IN ('user', 'schedule', 'system'))",
          "CHECK (actor_kind IN ('user', 'schedule', 'system', 'agent'))",
        ),
      ),
  },
  // 25 (2026-12-02): max_offline_age (issue 19, DESIGN §8.7): how long an agent may go on running
  // its backups on its own while the server is away, as a duration ("36h", "7d", "0" for never),
  // on a host and on a policy (domain/offline-age.ts resolves a host's). NULL: not set there, so
  // the host's policies or the default of 7 days decide. The index serves GET /jobs?actor_kind=,
  // as jobs_by_kind_time serves ?kind= (a page of the rare agent jobs must not scan all jobs).
  `
  ALTER TABLE hosts ADD COLUMN max_offline_age TEXT;
  ALTER TABLE policies ADD COLUMN max_offline_age TEXT;
  CREATE INDEX jobs_by_actor_time ON jobs(actor_kind, created_at DESC, id DESC);
  `,
  // 26 (2026-12-03): the host list at 50,000 hosts (issue 20, DESIGN §8.8) is paged, sorted and
  // filtered in SQL. host_labels holds each host's labels as rows (kept from hosts.labels by
  // triggers), so a label filter seeks an index and the summary counts label values from it alone.
  // expected_interval_s is the domain's expected backup interval (backup-health.ts, computed from
  // the crons in JS), written back when it changes, so SQL can tell a stale host from a pending one.
  // The two expression indexes give the newest-first sorts a seek from any cursor.
  `
  ALTER TABLE hosts ADD COLUMN expected_interval_s INTEGER;
  CREATE TABLE host_labels (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    PRIMARY KEY (key, value, host_id)
  ) WITHOUT ROWID;
  CREATE INDEX host_labels_by_host ON host_labels(host_id);
  INSERT INTO host_labels (key, value, host_id)
    SELECT l.key, l.value, h.id FROM hosts h, json_each(h.labels) l WHERE l.type = 'text';
  CREATE TRIGGER hosts_labels_insert AFTER INSERT ON hosts BEGIN
    INSERT INTO host_labels (key, value, host_id)
      SELECT l.key, l.value, NEW.id FROM json_each(NEW.labels) l WHERE l.type = 'text';
  END;
  CREATE TRIGGER hosts_labels_update AFTER UPDATE OF labels ON hosts BEGIN
    DELETE FROM host_labels WHERE host_id = NEW.id;
    INSERT INTO host_labels (key, value, host_id)
      SELECT l.key, l.value, NEW.id FROM json_each(NEW.labels) l WHERE l.type = 'text';
  END;
  CREATE INDEX hosts_by_last_backup ON hosts(coalesce(last_backup_finished_at, ''), id);
  CREATE INDEX hosts_by_last_seen ON hosts(coalesce(last_seen_at, ''), id);
  `,
  // 27 (2026-12-03): the dashboard's counters and its worst-first page at 50,000 hosts (issue 20).
  // A host's health is its health_base (the state that holds while it is on time: the ranks of
  // BACKUP_HEALTH_STATES, failed 0 .. unscheduled 5) unless the clock has passed its stale_after_ms,
  // when it is stale (1): so SQL compares one integer per host with the time instead of parsing two
  // times per host, and the states are index ranges. Both are computed columns (VIRTUAL: nothing to
  // keep in step); store/host-health-sql.test.ts holds them equal to backupHealth. They are never
  // inserted: rebuildTable copies only stored columns. hosts_health_counts lets the fleet's counters
  // count ranges (a state and presence, then those past their time) instead of grouping rows.
  // host_label_counts holds how many hosts carry
  // each label value, kept by triggers on host_labels (a host's delete cascades into them), so the
  // summary's label counts read a few hundred rows, not every host's labels.
  `
  ALTER TABLE hosts ADD COLUMN health_base INTEGER GENERATED ALWAYS AS (CASE
    WHEN last_backup_job_id IS NOT NULL AND last_backup_status = 'failed' THEN 0
    WHEN last_successful_backup_at IS NULL THEN CASE WHEN expected_interval_s IS NULL THEN 5 ELSE 3 END
    WHEN coalesce(last_backup_warning, '') <> '' THEN 2
    ELSE 4
  END) VIRTUAL;
  ALTER TABLE hosts ADD COLUMN stale_after_ms INTEGER GENERATED ALWAYS AS (CASE
    WHEN expected_interval_s IS NULL OR (last_backup_job_id IS NOT NULL AND last_backup_status = 'failed') THEN NULL
    ELSE CAST(round(unixepoch(coalesce(last_successful_backup_at, enrolled_at), 'subsec') * 1000) AS INTEGER)
      + (expected_interval_s + min(expected_interval_s, 3600)) * 1000
  END) VIRTUAL;
  CREATE INDEX hosts_by_health ON hosts(health_base, name, id, stale_after_ms, online);
  CREATE INDEX hosts_by_stale_after ON hosts(stale_after_ms, name, id, health_base, online)
    WHERE stale_after_ms IS NOT NULL;
  CREATE INDEX hosts_health_counts ON hosts(health_base, online, stale_after_ms);
  CREATE TABLE host_label_counts (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    hosts INTEGER NOT NULL,
    PRIMARY KEY (key, value)
  ) WITHOUT ROWID;
  INSERT INTO host_label_counts (key, value, hosts)
    SELECT key, value, count(*) FROM host_labels GROUP BY key, value;
  CREATE TRIGGER host_labels_count_insert AFTER INSERT ON host_labels BEGIN
    INSERT INTO host_label_counts (key, value, hosts) VALUES (NEW.key, NEW.value, 1)
      ON CONFLICT (key, value) DO UPDATE SET hosts = hosts + 1;
  END;
  CREATE TRIGGER host_labels_count_delete AFTER DELETE ON host_labels BEGIN
    UPDATE host_label_counts SET hosts = hosts - 1 WHERE key = OLD.key AND value = OLD.value;
    DELETE FROM host_label_counts WHERE key = OLD.key AND value = OLD.value AND hosts <= 0;
  END;
  `,
  // 28 (2026-12-03): retention of the server's own history (issue 20 item 5, domain/retention.ts).
  // logs_pruned_at marks a finished job whose log lines were deleted (its row stays); the partial
  // index holds only the jobs whose lines are still to go, so the log pass seeks its next job
  // without walking the pruned ones. jobs_by_finished is the jobs pass's walk by finished_at from
  // its saved position (retention_marks). jobs_keep_newest answers the keep rule in one seek: is
  // there a job of the same host, kind, status and target that finished later (and was made later)?
  // The target is read as in lastCopyJobs, but guarded: a spec that is not JSON must not fail a write.
  `
  ALTER TABLE jobs ADD COLUMN logs_pruned_at TEXT;
  CREATE INDEX jobs_logs_unpruned ON jobs(finished_at, id) WHERE finished_at IS NOT NULL AND logs_pruned_at IS NULL;
  CREATE INDEX jobs_by_finished ON jobs(finished_at, id) WHERE finished_at IS NOT NULL;
  CREATE INDEX jobs_keep_newest ON jobs(host_id, kind, status,
    (CASE WHEN json_valid(spec) THEN json_extract(spec, '$.target_id') END), finished_at, created_at)
    WHERE finished_at IS NOT NULL;
  CREATE TABLE retention_marks (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  `,
  // 29 (2026-12-03): GET /alerts and GET /hosts/:id/snapshots are keyset-paged (issue 20 item 7).
  // Each alerts filter shape has an index in the page's (started_at DESC, id DESC) order, so a page
  // seeks its cursor and stops (alerts_by_start serves none; a host's, or a label's few hosts', with
  // their state too). A host's snapshots page by (time DESC, id DESC): the new index gives the id
  // tie-break the old one lacked, and replaces it.
  `
  CREATE INDEX alerts_by_state_time ON alerts(state, started_at DESC, id DESC);
  CREATE INDEX alerts_by_condition_time ON alerts(condition, started_at DESC, id DESC);
  CREATE INDEX alerts_by_state_condition_time ON alerts(state, condition, started_at DESC, id DESC);
  CREATE INDEX alerts_by_host_time ON alerts(host_id, started_at DESC, id DESC);
  CREATE INDEX alerts_by_host_state_time ON alerts(host_id, state, started_at DESC, id DESC);
  CREATE INDEX snapshots_by_host_time_id ON snapshots(host_id, time DESC, id DESC);
  DROP INDEX snapshots_by_host_time;
  `,
  // 30 (2026-12-03): the dashboard's counters under a label filter (a group's section) at 50,000
  // hosts. Reading health_base from the hosts table computes it row by row; this index holds it,
  // with presence and stale_after_ms, by host id, so the selected hosts are counted by seeking
  // their ids (10,000 of 50,000 under env=prod: 40 -> 17 ms for the state counts).
  `
  CREATE INDEX hosts_health_by_id ON hosts(id, health_base, online, stale_after_ms);
  `,
];
