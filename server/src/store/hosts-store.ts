import type { Labels } from "../domain/labels.ts";
import type { CopyTargetRow, HelloInfo, HostsStore } from "../domain/store.ts";
import type { Host, HostConfigRow } from "../domain/types.ts";
import { type Database, fromJson, params } from "./db.ts";

export type HostRow = Omit<Host, "online" | "policy" | "labels" | "policy_conflict"> & {
  online: number;
  policy: string | null;
  labels: string;
  policy_conflict: string | null;
};
/** Field by field, not a spread: the host list's rows carry more columns (host-summary-store.ts). */
export const toHost = (r: HostRow): Host => ({
  id: r.id,
  name: r.name,
  hostname: r.hostname,
  restic_host: r.restic_host,
  timezone: r.timezone,
  policy: fromJson(r.policy, null),
  labels: fromJson<Labels>(r.labels, {}),
  os: r.os,
  arch: r.arch,
  agent_version: r.agent_version,
  restic_version: r.restic_version,
  protocol_version: r.protocol_version,
  boot_time: r.boot_time,
  online: r.online === 1,
  last_seen_at: r.last_seen_at,
  enrolled_at: r.enrolled_at,
  schedule_version: r.schedule_version,
  acked_schedule_version: r.acked_schedule_version,
  policy_repository_id: r.policy_repository_id,
  repository_policy_id: r.repository_policy_id,
  policy_conflict: fromJson(r.policy_conflict, null),
  max_offline_age: r.max_offline_age,
});

/** The columns of a Host (hosts also holds the host list's facts, see host-summary-store.ts). */
export const hostCols = `id, name, hostname, restic_host, timezone, policy, labels, os, arch, agent_version, restic_version, protocol_version, boot_time, online,
  last_seen_at, enrolled_at, schedule_version, acked_schedule_version, policy_repository_id, repository_policy_id, policy_conflict, max_offline_age`;

export function hostsStore(db: Database): HostsStore {
  return {
    hostCopyTargets: (host_id: string) =>
      fromJson<CopyTargetRow[]>(
        db.query<{ t: string }, [string]>("SELECT copy_targets AS t FROM hosts WHERE id = ?").get(host_id)?.t ?? null,
        [],
      ),
    allHostCopyTargets: () =>
      new Map(
        db
          .query<{ id: string; t: string }, []>("SELECT id, copy_targets AS t FROM hosts WHERE copy_targets <> '[]'")
          .all()
          .map((r) => [r.id, fromJson<CopyTargetRow[]>(r.t, [])]),
      ),
    setHostCopyTargets(host_id: string, targets: CopyTargetRow[]) {
      db.query("UPDATE hosts SET copy_targets = ? WHERE id = ?").run(JSON.stringify(targets), host_id);
    },
    setHostMaxOfflineAge(host_id: string, value: string | null) {
      db.query("UPDATE hosts SET max_offline_age = ? WHERE id = ?").run(value, host_id);
    },
    insertHost(h: {
      id: string;
      name: string;
      hostname: string;
      restic_host: string;
      agent_token_hash: string;
      enrolled_at: string;
      labels?: Labels | undefined;
    }) {
      db.query(
        `INSERT INTO hosts (id, name, hostname, restic_host, agent_token_hash, enrolled_at, labels)
         VALUES ($id, $name, $hostname, $restic_host, $agent_token_hash, $enrolled_at, $labels)`,
      ).run({
        id: h.id,
        name: h.name,
        hostname: h.hostname,
        restic_host: h.restic_host,
        agent_token_hash: h.agent_token_hash,
        enrolled_at: h.enrolled_at,
        labels: JSON.stringify(h.labels ?? {}),
      });
    },
    hostById(id: string): Host | null {
      const r = db.query<HostRow, [string]>(`SELECT ${hostCols} FROM hosts WHERE id = ?`).get(id);
      return r ? toHost(r) : null;
    },
    hostIdByTokenHash: (hash: string) =>
      db.query<{ id: string }, [string]>("SELECT id FROM hosts WHERE agent_token_hash = ?").get(hash)?.id ?? null,
    listHosts: (): Host[] => db.query<HostRow, []>(`SELECT ${hostCols} FROM hosts ORDER BY name, id`).all().map(toHost),
    recordHello(id: string, h: HelloInfo) {
      db.query(
        `UPDATE hosts SET hostname = $hostname, restic_host = $restic_host, timezone = coalesce($timezone, timezone), policy = $policy, os = $os, arch = $arch, agent_version = $agent_version,
           restic_version = $restic_version, protocol_version = $protocol_version, boot_time = $boot_time,
           online = 1, last_seen_at = $at WHERE id = $id`,
      ).run({ id, ...h, policy: h.policy ? JSON.stringify(h.policy) : null });
    },
    touchHost: (id: string, at: string) =>
      db.query("UPDATE hosts SET last_seen_at = ?, online = 1 WHERE id = ?").run(at, id),
    setOffline: (id: string) => db.query("UPDATE hosts SET online = 0 WHERE id = ?").run(id),
    /** Hosts marked online whose last sign of life is older than `before`. */
    staleOnlineHosts: (before: string) =>
      db
        .query<{ id: string }, [string]>(
          "SELECT id FROM hosts WHERE online = 1 AND (last_seen_at IS NULL OR last_seen_at < ?)",
        )
        .all(before)
        .map((r) => r.id),
    markAllOffline: () => db.query("UPDATE hosts SET online = 0 WHERE online = 1").run(),
    renameHost: (id: string, name: string) => db.query("UPDATE hosts SET name = ? WHERE id = ?").run(name, id),
    setHostLabels: (id: string, labels: Labels) =>
      db.query("UPDATE hosts SET labels = ? WHERE id = ?").run(JSON.stringify(labels), id).changes > 0,
    deleteHost: (id: string) => db.query("DELETE FROM hosts WHERE id = ?").run(id).changes > 0,
    bumpScheduleVersions(ids: readonly string[]) {
      db.query(
        "UPDATE hosts SET schedule_version = schedule_version + 1 WHERE id IN (SELECT value FROM json_each(?))",
      ).run(JSON.stringify(ids));
    },
    hostsByIds: (ids: readonly string[]): Host[] =>
      db
        .query<HostRow, [string]>(
          `SELECT ${hostCols} FROM hosts WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`,
        )
        .all(JSON.stringify(ids))
        .map(toHost),
    hostsWithOwnRepository: (ids: readonly string[]): string[] =>
      db
        .query<{ host_id: string }, [string]>(
          `SELECT host_id FROM host_config WHERE host_id IN (SELECT value FROM json_each(?))
             AND repo_url IS NOT NULL AND repo_url <> '' ORDER BY host_id`,
        )
        .all(JSON.stringify(ids))
        .map((r) => r.host_id),
    bumpScheduleVersion(id: string): number {
      return (
        db
          .query<{ schedule_version: number }, [string]>(
            "UPDATE hosts SET schedule_version = schedule_version + 1 WHERE id = ? RETURNING schedule_version",
          )
          .get(id)?.schedule_version ?? 0
      );
    },
    /** Records the acked version; an ack for a version newer than the current one is ignored. */
    ackScheduleVersion: (id: string, version: number) =>
      db
        .query(
          "UPDATE hosts SET acked_schedule_version = ? WHERE id = ? AND ? <= schedule_version AND ? >= acked_schedule_version",
        )
        .run(version, id, version, version).changes > 0,

    configFor: (host_id: string) =>
      db.query<HostConfigRow, [string]>("SELECT * FROM host_config WHERE host_id = ?").get(host_id),
    upsertConfig(c: HostConfigRow) {
      db.query(
        `INSERT INTO host_config (host_id, repo_url, repo_password_enc, repo_username, repo_credential_enc, hook_shell, updated_at)
         VALUES ($host_id, $repo_url, $repo_password_enc, $repo_username, $repo_credential_enc, $hook_shell, $updated_at)
         ON CONFLICT (host_id) DO UPDATE SET repo_url = excluded.repo_url, repo_password_enc = excluded.repo_password_enc,
           repo_username = excluded.repo_username, repo_credential_enc = excluded.repo_credential_enc,
           hook_shell = excluded.hook_shell, updated_at = excluded.updated_at`,
      ).run(params(c));
    },
  };
}
