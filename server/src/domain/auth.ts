import { ANONYMOUS, audit } from "./audit.ts";
import { type Actor, bunPasswords, type DomainContext } from "./deps.ts";
import { createEnrollmentTokens } from "./enrollment-tokens.ts";
import { DomainError } from "./errors.ts";
import { LoginThrottle } from "./login-throttle.ts";
import { itemsBudget, takePage } from "./pages.ts";
import { requireAdmin } from "./permissions.ts";
import type { Recompute } from "./policy-sync.ts";
import { hashToken, newId, newToken } from "./tokens.ts";
import type { User } from "./types.ts";

const SESSION_MS = 12 * 60 * 60 * 1000; // 12 h: a working day, then log in again
const USERNAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;
const MIN_PASSWORD = 8;

export const actorOf = (u: Pick<User, "id" | "username" | "role">): Actor => ({
  user_id: u.id,
  username: u.username,
  role: u.role,
});

export function createAuth(deps: DomainContext, recompute: Recompute) {
  const { store, tx, clock } = deps;
  const passwords = deps.passwords ?? bunPasswords;
  const throttle = new LoginThrottle(clock);
  const now = () => clock.now().toISOString();
  // Unknown user names are checked against this hash, so they cost what known ones do. Made on
  // the first login, not at start: argon2id costs ~140 ms, on every start and CLI call.
  let dummyHash: Promise<string> | null = null;

  function checkPassword(password: string) {
    if (password.length < MIN_PASSWORD) {
      throw new DomainError("invalid", `password must be at least ${MIN_PASSWORD} characters`, "password");
    }
  }

  /**
   * The actor's role as stored now, inside the caller's transaction: a request that began while
   * its user was an admin must not finish as one after another admin demoted or disabled them.
   */
  function requireStillAdmin(actor: Actor | null, what: string) {
    if (!actor) return;
    const current = store.userById(actor.user_id);
    if (!current || current.disabled_at) throw new DomainError("forbidden", `${what}: your user is disabled`);
    requireAdmin(actorOf(current), what);
  }

  return {
    async createUser(username: string, password: string, role: "admin" | "viewer", actor: Actor | null): Promise<User> {
      requireAdmin(actor, "creating a user");
      if (!USERNAME.test(username)) {
        throw new DomainError("invalid", "user name must be 1-64 letters, digits, '.', '_' or '-'", "username");
      }
      checkPassword(password);
      const taken = () => {
        if (store.userByName(username))
          throw new DomainError("conflict", `user ${username} already exists`, "username");
      };
      taken();
      // Hashed before the transaction: no await may sit between a rule and the write it guards.
      const password_hash = await passwords.hash(password);
      return tx(() => {
        requireStillAdmin(actor, "creating a user");
        taken();
        const user: User = { id: newId("usr"), username, role, created_at: now(), disabled_at: null };
        store.insertUser({ ...user, password_hash });
        audit(deps, actor, "user.create", user.id, { username, role });
        return user;
      });
    },

    async setPassword(username: string, password: string, actor: Actor | null): Promise<void> {
      requireAdmin(actor, "setting a password");
      if (!store.userByName(username)) throw new DomainError("not_found", `user ${username} not found`);
      checkPassword(password);
      const password_hash = await passwords.hash(password);
      tx(() => {
        requireStillAdmin(actor, "setting a password");
        const user = store.userByName(username);
        if (!user) throw new DomainError("not_found", `user ${username} not found`);
        store.setPassword(user.id, password_hash);
        audit(deps, actor, "user.passwd", user.id, { username });
      });
    },

    /**
     * Checks credentials, throttled per (user name, address) and per address (login-throttle.ts);
     * returns a new session token and its CSRF token. Both outcomes are audited.
     */
    async login(username: string, password: string, address: string) {
      const reservation = throttle.reserve(username, address);
      if (!reservation.ok) {
        const wait = reservation.retryAfterS;
        throw Object.assign(
          new DomainError("too_many", `too many failed logins from this address: try again in ${wait} s`),
          { retryAfter: wait },
        );
      }
      let succeeded = false;
      try {
        // Awaited by every login, so the first one costs the same for a known or an unknown name.
        dummyHash ??= passwords.hash("timing-equalizer").catch((err) => {
          dummyHash = null; // a failed hash is retried by the next login, not kept
          throw err;
        });
        const dummy = await dummyHash;
        const user = store.userByName(username);
        const ok = await passwords.verify(password, user?.password_hash ?? dummy);
        const failed = (reason: string, message: string) => {
          audit(deps, ANONYMOUS, "session.login_failed", user?.id ?? null, { username, address, reason });
          return new DomainError("unauthorized", message);
        };
        if (!user) throw failed("unknown_user", "wrong user name or password");
        if (!ok) throw failed("wrong_password", "wrong user name or password");
        if (user.disabled_at) throw failed("disabled", "this user is disabled; ask an admin");
        const token = newToken("session");
        const csrf_token = newToken("session").slice(4);
        const created = clock.now();
        tx(() => {
          store.deleteExpiredSessions(created.toISOString());
          store.insertSession({
            token_hash: hashToken(token),
            user_id: user.id,
            csrf_token,
            created_at: created.toISOString(),
            expires_at: new Date(created.getTime() + SESSION_MS).toISOString(),
          });
          audit(deps, actorOf(user), "session.login", user.id, { username: user.username, address });
        });
        succeeded = true;
        const { password_hash: _, ...publicUser } = user;
        return { token, csrf_token, user: publicUser, max_age_s: SESSION_MS / 1000 };
      } finally {
        reservation.slot.release(succeeded);
      }
    },

    /**
     * Admin changes to a user: role, disabled, password. The last active admin cannot be demoted
     * or disabled: decided inside the transaction that writes the change, so two admins demoting
     * each other at once leave one admin, not none.
     */
    async updateUser(
      actor: Actor,
      id: string,
      change: { role?: "admin" | "viewer" | undefined; disabled?: boolean | undefined; password?: string | undefined },
    ): Promise<User> {
      requireAdmin(actor, "changing a user");
      if (!store.userById(id)) throw new DomainError("not_found", `user ${id} not found`);
      if (change.password !== undefined) checkPassword(change.password);
      // Hashed before the transaction: no await may sit between a rule and the write it guards.
      const password_hash = change.password === undefined ? null : await passwords.hash(change.password);
      return tx(() => {
        const user = store.userById(id);
        if (!user) throw new DomainError("not_found", `user ${id} not found`);
        const losesAdmin =
          user.role === "admin" && !user.disabled_at && (change.role === "viewer" || change.disabled === true);
        if (losesAdmin && store.countActiveAdmins() <= 1) {
          throw new DomainError("conflict", "this is the last active admin: make another user admin first");
        }
        requireStillAdmin(actor, "changing a user");
        if (password_hash !== null) store.setPassword(id, password_hash);
        if (change.role) store.setRole(id, change.role);
        if (change.disabled !== undefined) store.setDisabled(id, change.disabled ? now() : null);
        audit(deps, actor, "user.update", id, {
          username: user.username,
          ...(change.role ? { role: change.role } : {}),
          ...(change.disabled !== undefined ? { disabled: change.disabled } : {}),
          ...(change.password !== undefined ? { password: "reset" } : {}),
        });
        return store.userById(id) as User;
      });
    },

    session(token: string): { actor: Actor; csrf_token: string } | null {
      const s = store.sessionByHash(hashToken(token));
      if (!s || s.expires_at <= now()) return null;
      return { actor: actorOf(s.user), csrf_token: s.csrf_token };
    },

    logout: (token: string) => store.deleteSession(hashToken(token)),

    createApiToken(actor: Actor, name: string) {
      const token = newToken("api");
      const row = {
        id: newId("tok"),
        user_id: actor.user_id,
        name,
        created_at: now(),
        last_used_at: null,
        revoked_at: null,
      };
      store.insertApiToken({ ...row, token_hash: hashToken(token) });
      audit(deps, actor, "api_token.create", row.id, { name });
      return { ...row, token };
    },

    apiTokenActor(token: string): Actor | null {
      const u = store.userByApiToken(hashToken(token));
      if (!u) return null;
      store.touchApiToken(u.token_id, now());
      return actorOf(u);
    },

    /** Users are for admins to see; the list never holds password hashes. */
    listUsers(actor: Actor): User[] {
      requireAdmin(actor, "the user list");
      return store.listUsers();
    },

    /** Newest first, `limit` entries before the entry numbered `before` (a cursor), if given. */
    auditLog(actor: Actor, limit: number, before: number | null) {
      requireAdmin(actor, "the audit log");
      const n = Math.min(Math.max(limit, 1), 500);
      const { items, more } = takePage(store.listAudit(n + 1, before), n, itemsBudget(deps.settings.pageBytes));
      const last = items.at(-1);
      return { items, next_cursor: more && last ? String(last.seq) : null };
    },

    /** An admin sees every API token; anyone else only their own. Never the secret. */
    listApiTokens(actor: Actor) {
      return store.listApiTokens(actor.role === "admin" ? null : actor.user_id);
    },

    revokeApiToken(actor: Actor, id: string) {
      const t = store.apiTokenById(id);
      if (!t || (t.user_id !== actor.user_id && actor.role !== "admin"))
        throw new DomainError("not_found", "token not found");
      store.revokeApiToken(id, now());
      audit(deps, actor, "api_token.revoke", id);
    },

    ...createEnrollmentTokens(deps, recompute),

    /** The host an agent token belongs to, or null (unknown or revoked). */
    agentHost: (agentToken: string) => store.hostIdByTokenHash(hashToken(agentToken)),
  };
}

export type Auth = ReturnType<typeof createAuth>;
