import type { SessionRow, UsersStore } from "../domain/store.ts";
import type { ApiToken, EnrollmentToken, Role, User } from "../domain/types.ts";
import { type Database, fromJson, params } from "./db.ts";

type EnrollmentRow = Omit<EnrollmentToken, "labels"> & { labels: string };
const enrollmentCols = "id, labels, uses, uses_left, expires_at, created_by, created_at, revoked_at";
const toEnrollment = (r: EnrollmentRow): EnrollmentToken => ({ ...r, labels: fromJson(r.labels, {}) });

export function usersStore(db: Database): UsersStore {
  const userCols = "id, username, role, created_at, disabled_at";
  return {
    countUsers: () => db.query<{ n: number }, []>("SELECT count(*) AS n FROM users").get()?.n ?? 0,
    insertUser(u: User & { password_hash: string }) {
      db.query(
        "INSERT INTO users (id, username, password_hash, role, created_at, disabled_at) VALUES ($id, $username, $password_hash, $role, $created_at, $disabled_at)",
      ).run(params(u));
    },
    userByName: (username: string) =>
      db
        .query<User & { password_hash: string }, [string]>(
          `SELECT ${userCols}, password_hash FROM users WHERE username = ?`,
        )
        .get(username),
    userById: (id: string) => db.query<User, [string]>(`SELECT ${userCols} FROM users WHERE id = ?`).get(id),
    listUsers: () => db.query<User, []>(`SELECT ${userCols} FROM users ORDER BY username`).all(),
    setPassword(id: string, password_hash: string) {
      db.query("UPDATE users SET password_hash = ? WHERE id = ?").run(password_hash, id);
      // A new password ends every session of that user.
      db.query("DELETE FROM sessions WHERE user_id = ?").run(id);
    },
    setRole: (id: string, role: Role) => db.query("UPDATE users SET role = ? WHERE id = ?").run(role, id),
    /** Disabling ends the user's sessions; their API tokens stop working while disabled. */
    setDisabled(id: string, at: string | null) {
      db.query("UPDATE users SET disabled_at = ? WHERE id = ?").run(at, id);
      if (at) db.query("DELETE FROM sessions WHERE user_id = ?").run(id);
    },
    countActiveAdmins: () =>
      db.query<{ n: number }, []>("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL").get()
        ?.n ?? 0,

    insertSession(s: {
      token_hash: string;
      user_id: string;
      csrf_token: string;
      created_at: string;
      expires_at: string;
    }) {
      db.query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($token_hash, $user_id, $csrf_token, $created_at, $expires_at)",
      ).run(s);
    },
    sessionByHash(token_hash: string): SessionRow | null {
      const row = db
        .query<User & { csrf_token: string; expires_at: string }, [string]>(
          `SELECT u.id, u.username, u.role, u.created_at, u.disabled_at, s.csrf_token, s.expires_at
           FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND u.disabled_at IS NULL`,
        )
        .get(token_hash);
      if (!row) return null;
      const { csrf_token, expires_at, ...user } = row;
      return { user, csrf_token, expires_at };
    },
    deleteSession: (token_hash: string) => db.query("DELETE FROM sessions WHERE token_hash = ?").run(token_hash),
    deleteExpiredSessions: (now: string) => db.query("DELETE FROM sessions WHERE expires_at <= ?").run(now),

    insertApiToken(t: ApiToken & { token_hash: string }) {
      db.query(
        `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at, revoked_at)
         VALUES ($id, $user_id, $name, $token_hash, $created_at, $last_used_at, $revoked_at)`,
      ).run(params(t));
    },
    userByApiToken(token_hash: string): (User & { token_id: string }) | null {
      return db
        .query<User & { token_id: string }, [string]>(
          `SELECT u.id, u.username, u.role, u.created_at, u.disabled_at, t.id AS token_id FROM api_tokens t
           JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.disabled_at IS NULL`,
        )
        .get(token_hash);
    },
    /** At most once a minute per token: each update is a durable commit on the request's path. */
    touchApiToken: (id: string, at: string) =>
      db
        .query(
          "UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-60 seconds'))",
        )
        .run(at, id),
    listApiTokens: (user_id: string | null) =>
      db
        .query<ApiToken, [string | null, string | null]>(
          `SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens
           WHERE (? IS NULL OR user_id = ?) ORDER BY created_at`,
        )
        .all(user_id, user_id),
    revokeApiToken: (id: string, at: string) =>
      db.query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at, id).changes > 0,
    apiTokenById: (id: string) =>
      db
        .query<ApiToken, [string]>(
          "SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE id = ?",
        )
        .get(id),

    insertEnrollmentToken(t: EnrollmentToken & { token_hash: string }) {
      db.query(
        `INSERT INTO enrollment_tokens (id, token_hash, labels, uses, uses_left, expires_at, created_by, created_at, revoked_at)
         VALUES ($id, $token_hash, $labels, $uses, $uses_left, $expires_at, $created_by, $created_at, $revoked_at)`,
      ).run(params({ ...t, labels: JSON.stringify(t.labels) }));
    },
    enrollmentTokenByHash(token_hash: string) {
      const r = db
        .query<EnrollmentRow, [string]>(`SELECT ${enrollmentCols} FROM enrollment_tokens WHERE token_hash = ?`)
        .get(token_hash);
      return r ? toEnrollment(r) : null;
    },
    enrollmentTokenById(id: string) {
      const r = db
        .query<EnrollmentRow, [string]>(`SELECT ${enrollmentCols} FROM enrollment_tokens WHERE id = ?`)
        .get(id);
      return r ? toEnrollment(r) : null;
    },
    listEnrollmentTokens: (limit: number, after: { created_at: string; id: string } | null) =>
      db
        .query<EnrollmentRow, [string | null, string | null, number]>(
          `SELECT ${enrollmentCols} FROM enrollment_tokens
           WHERE ?1 IS NULL OR (created_at, id) < (?1, ?2) ORDER BY created_at DESC, id DESC LIMIT ?3`,
        )
        .all(after?.created_at ?? null, after?.id ?? null, limit)
        .map(toEnrollment),
    revokeEnrollmentToken: (id: string, at: string) =>
      db.query("UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at, id).changes >
      0,
    /** Takes one use if any is left; false when the token is used up. */
    useEnrollmentToken: (id: string) =>
      db.query("UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0").run(id)
        .changes > 0,
  };
}
