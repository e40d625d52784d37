import { backupHealth } from "./backup-health.ts";
import type { EffectiveMaxOfflineAge } from "./offline-age.ts";
import type { Host, HostSummary } from "./types.ts";

/** restic URLs may carry a password (rest:https://user:pass@host/): never show it. */
export function withoutUserinfo(url: string): string {
  return url.replace(/^((?:[a-z0-9]+:)?[a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1***@");
}

/**
 * A host's backup health from its facts: the one rule the host list, one host, the metrics and the
 * alert sweep all use. The store keeps the last FINISHED backup (migration 13): a queued or running
 * one never hides the result before it.
 */
export function healthOf(
  h: Pick<Host, "enrolled_at">,
  s: Pick<HostSummary, "last_backup" | "last_successful_backup_at" | "last_backup_warning">,
  interval: number | null,
  now: Date,
) {
  const last = s.last_backup;
  return backupHealth({
    now,
    enrolledAt: h.enrolled_at,
    intervalS: interval,
    lastStatus: last?.status === "succeeded" || last?.status === "failed" ? last.status : null,
    lastSuccessAt: s.last_successful_backup_at,
    lastWarning: s.last_backup_warning,
  });
}

/**
 * A host as the API shows it: presence, sync state, last backup, repository size; never secrets.
 * A pure function of what the store read, so the list and a single host build it the same way.
 */
export function hostView(
  h: Host,
  s: HostSummary,
  interval: number | null,
  link: { connected: boolean; secure: boolean },
  now: Date,
  offlineAge: EffectiveMaxOfflineAge,
) {
  const lastBackup = s.last_backup;
  const config = s.config;
  const { connected } = link;
  return {
    ...h,
    connected,
    /**
     * Connected over a link that may not carry secrets (plain ws:// from off this machine): the
     * server keeps the repository password back, and the host waits for a secure connection.
     */
    secrets_withheld: connected && !link.secure && (config.has_repo_password || config.has_repo_credential),
    schedule_in_sync: h.acked_schedule_version === h.schedule_version,
    /** The last finished (succeeded or failed) backup: a queued or running one is in the jobs list. */
    last_backup: lastBackup,
    /** What that backup warned about, when it succeeded with warnings (then backup_health is `warning`). */
    last_backup_warning: s.last_backup_warning,
    last_successful_backup_at: s.last_successful_backup_at,
    /** The server's record of the last finished check (with its stats), not the agent's memory. */
    last_check: s.last_check,
    /** The last finished drill (DESIGN §8.5): when, passed or failed, which job; null before the first. */
    last_drill_at: s.last_drill?.finished_at ?? null,
    last_drill_result: s.last_drill?.result ?? null,
    last_drill_job_id: s.last_drill?.job_id ?? null,
    /** The same drill with its snapshot and, when it failed, the reason (what drill_failed says). */
    last_drill: s.last_drill,
    /** When the host's rolling data check last completed a full cycle (every part read); null before. */
    last_full_read_at: s.last_full_read_at ?? null,
    expected_interval_s: interval,
    backup_health: healthOf(h, s, interval, now),
    repo_size_bytes: s.repo_size_bytes,
    /**
     * How long its agent may back up on its own while the server is away (DESIGN §8.7), and where
     * that comes from (`max_offline_age` is the host's own setting, null when not set).
     */
    effective_max_offline_age: offlineAge,
    config: {
      repo_url: config.repo_url ? withoutUserinfo(config.repo_url) : null,
      repo_username: config.repo_username,
      hook_shell: config.hook_shell,
      has_repo_password: config.has_repo_password,
      has_repo_credential: config.has_repo_credential,
    },
  };
}

export type HostView = ReturnType<typeof hostView>;
