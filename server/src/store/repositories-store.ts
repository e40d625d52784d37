import type { RepositoriesStore, RepositoryHostSecretRow, RepositoryRow } from "../domain/store.ts";
import type { RepositoryLastCheck } from "../domain/types.ts";
import { type Database, params } from "./db.ts";

type Row = Omit<RepositoryRow, "auto_init" | "env"> & { auto_init: number; env: string };
const toRepository = (r: Row): RepositoryRow => ({
  ...r,
  env: JSON.parse(r.env) as Record<string, string>,
  auto_init: r.auto_init === 1,
});
const cols =
  "id, name, url, password_enc, username, credential_enc, env, secret_env_enc, auto_init, created_at, updated_at";
const secretCols = "repository_id, host_id, host_name, restic_host, password_enc, created_at";

export function repositoriesStore(db: Database): RepositoriesStore {
  const row = (r: RepositoryRow) => params({ ...r, env: JSON.stringify(r.env), auto_init: r.auto_init ? 1 : 0 });
  const secret = (repository_id: string, host_id: string) =>
    db
      .query<RepositoryHostSecretRow, [string, string]>(
        `SELECT ${secretCols} FROM repository_host_secrets WHERE repository_id = ? AND host_id = ?`,
      )
      .get(repository_id, host_id);
  return {
    insertRepository(r: RepositoryRow) {
      db.query(
        `INSERT INTO repositories (${cols})
         VALUES ($id, $name, $url, $password_enc, $username, $credential_enc, $env, $secret_env_enc, $auto_init,
           $created_at, $updated_at)`,
      ).run(row(r));
    },
    updateRepository(r: RepositoryRow) {
      db.query(
        `UPDATE repositories SET name = $name, url = $url, password_enc = $password_enc, username = $username,
           credential_enc = $credential_enc, env = $env, secret_env_enc = $secret_env_enc, auto_init = $auto_init,
           updated_at = $updated_at WHERE id = $id`,
      ).run(
        params({
          id: r.id,
          name: r.name,
          url: r.url,
          password_enc: r.password_enc,
          username: r.username,
          credential_enc: r.credential_enc,
          env: JSON.stringify(r.env),
          secret_env_enc: r.secret_env_enc,
          auto_init: r.auto_init ? 1 : 0,
          updated_at: r.updated_at,
        }),
      );
    },
    repositoryById(id: string) {
      const r = db.query<Row, [string]>(`SELECT ${cols} FROM repositories WHERE id = ?`).get(id);
      return r ? toRepository(r) : null;
    },
    repositoryByName(name: string) {
      // The column's NOCASE collation makes this comparison case-insensitive.
      const r = db.query<Row, [string]>(`SELECT ${cols} FROM repositories WHERE name = ?`).get(name);
      return r ? toRepository(r) : null;
    },
    listRepositories: () =>
      db.query<Row, []>(`SELECT ${cols} FROM repositories ORDER BY name, id`).all().map(toRepository),
    deleteRepository: (id: string) => db.query("DELETE FROM repositories WHERE id = ?").run(id).changes > 0,
    // The policies' foreign key RESTRICTs the delete as a second line of defence.
    repositoryUsers: (id: string) =>
      db
        .query<{ user: string }, [string]>(
          `SELECT 'policy ' || name AS user FROM policies WHERE repository_id = ?1
           UNION ALL SELECT 'policy ' || name || ' (copy target)' FROM policies
             WHERE EXISTS (SELECT 1 FROM json_each(policies.copy_targets) t WHERE t.value ->> 'repository_id' = ?1)
           UNION ALL SELECT 'host ' || name || ' (copy target)' FROM hosts
             WHERE EXISTS (SELECT 1 FROM json_each(hosts.copy_targets) t WHERE t.value ->> 'repository_id' = ?1)
           ORDER BY 1`,
        )
        .all(id)
        .map((r) => r.user),
    ensureRepositoryHostSecret(s: RepositoryHostSecretRow) {
      db.query(
        `INSERT INTO repository_host_secrets (${secretCols})
         VALUES ($repository_id, $host_id, $host_name, $restic_host, $password_enc, $created_at)
         ON CONFLICT (repository_id, host_id) DO NOTHING`,
      ).run(params(s));
      return secret(s.repository_id, s.host_id) ?? s;
    },
    repositoryHostSecrets: (repository_id: string) =>
      db
        .query<RepositoryHostSecretRow, [string]>(
          `SELECT ${secretCols} FROM repository_host_secrets WHERE repository_id = ? ORDER BY restic_host, host_id`,
        )
        .all(repository_id),
    /** Newest first over the hosts the repository is given to (a host's own settings beat it). */
    repositoryLastChecks() {
      const rows = db
        .query<RepositoryLastCheck & { repository_id: string }, []>(
          `SELECT h.policy_repository_id AS repository_id, h.last_check_job_id AS job_id, h.id AS host_id,
             h.last_check_status AS status, h.last_check_finished_at AS finished_at, h.last_check_error AS error
           FROM hosts h LEFT JOIN host_config c ON c.host_id = h.id
           WHERE h.policy_repository_id IS NOT NULL AND coalesce(c.repo_url, '') = '' AND h.last_check_job_id IS NOT NULL
           ORDER BY h.last_check_finished_at DESC, h.last_check_job_id DESC`,
        )
        .all();
      const last = new Map<string, RepositoryLastCheck>();
      for (const { repository_id, ...check } of rows) if (!last.has(repository_id)) last.set(repository_id, check);
      return last;
    },
  };
}
