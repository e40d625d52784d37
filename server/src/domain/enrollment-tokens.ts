import { audit } from "./audit.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError, notFound } from "./errors.ts";
import { checkLabels, type Labels } from "./labels.ts";
import { requireAdmin } from "./permissions.ts";
import type { Recompute } from "./policy-sync.ts";
import { hashToken, newId, newToken } from "./tokens.ts";
import type { EnrollmentToken } from "./types.ts";

const MAX_EXPIRY_MS = 366 * 24 * 3600 * 1000;

/**
 * Enrollment tokens: made, listed and revoked by admins (or the headless CLI, actor `null`), and
 * exchanged by agents for a host. A token's labels go to every host enrolled with it: the agent
 * never chooses them, since labels decide which policies, and so which secrets, a host gets.
 */
export function createEnrollmentTokens(deps: DomainContext, recompute: Recompute) {
  const { store, tx, clock } = deps;
  const now = () => clock.now().toISOString();

  return {
    createEnrollmentToken(
      actor: Actor | null,
      opts: { uses: number; expiresInMs: number; labels?: Labels | undefined },
    ) {
      requireAdmin(actor, "creating an enrollment token");
      if (!Number.isSafeInteger(opts.uses) || opts.uses < 1 || opts.uses > 100_000) {
        throw new DomainError("invalid", "uses must be an integer from 1 to 100000", "uses");
      }
      if (!(opts.expiresInMs > 0) || opts.expiresInMs > MAX_EXPIRY_MS) {
        throw new DomainError("invalid", "expiry must be between 1 second and 366 days", "expires_in");
      }
      const labels = checkLabels(opts.labels ?? {});
      const token = newToken("enroll");
      const row: EnrollmentToken = {
        id: newId("enr"),
        labels,
        uses: opts.uses,
        uses_left: opts.uses,
        expires_at: new Date(clock.now().getTime() + opts.expiresInMs).toISOString(),
        created_by: actor?.user_id ?? null,
        created_at: now(),
        revoked_at: null,
      };
      tx(() => {
        store.insertEnrollmentToken({ ...row, token_hash: hashToken(token) });
        audit(deps, actor, "enrollment_token.create", row.id, {
          uses: opts.uses,
          expires_at: row.expires_at,
          labels,
        });
      });
      return { ...row, token };
    },

    /**
     * Every token, newest first, revoked, expired and used-up ones too (so an admin sees what
     * became of each), `limit` (1-500) per page. Never the secret: only its hash is stored.
     */
    listEnrollmentTokens(actor: Actor | null, q: { limit: number; cursor?: string | undefined }) {
      requireAdmin(actor, "the enrollment token list");
      const limit = Math.min(Math.max(q.limit, 1), 500);
      const rows = store.listEnrollmentTokens(limit + 1, q.cursor ? decodeCursor(q.cursor) : null);
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return { items, next_cursor: rows.length > limit && last ? encodeCursor(last) : null };
    },

    /** A revoked token enrolls no more hosts; hosts already enrolled with it keep working. */
    revokeEnrollmentToken(actor: Actor | null, id: string) {
      requireAdmin(actor, "revoking an enrollment token");
      tx(() => {
        const t = store.enrollmentTokenById(id);
        if (!t) throw notFound(`enrollment token ${id}`);
        // Revoking twice is not an error: the token stays revoked from the first time.
        if (!store.revokeEnrollmentToken(id, now())) return;
        audit(deps, actor, "enrollment_token.revoke", id, { uses_left: t.uses_left, labels: t.labels });
      });
    },

    /** Exchanges an enrollment token for a new host, with the token's labels, and its agent token. */
    enroll(enrollmentToken: string, hostname: string): { host_id: string; agent_token: string } {
      return tx(() => {
        const t = store.enrollmentTokenByHash(hashToken(enrollmentToken));
        if (!t)
          throw new DomainError(
            "unauthorized",
            "unknown enrollment token: create one with `restic-fleet-server enrollment-token create`",
          );
        if (t.revoked_at)
          throw new DomainError("unauthorized", `enrollment token revoked at ${t.revoked_at}: create a new one`);
        if (t.expires_at <= now())
          throw new DomainError("unauthorized", `enrollment token expired at ${t.expires_at}: create a new one`);
        if (!store.useEnrollmentToken(t.id))
          throw new DomainError("unauthorized", "enrollment token has no uses left: create a new one");
        const agent_token = newToken("agent");
        const host_id = newId("host");
        store.insertHost({
          id: host_id,
          name: hostname,
          hostname,
          restic_host: hostname,
          agent_token_hash: hashToken(agent_token),
          enrolled_at: now(),
          labels: t.labels,
        });
        audit(deps, null, "host.enroll", host_id, { hostname, enrollment_token: t.id, labels: t.labels });
        // Its policies' schedules and repository, ready for its first hello (it is not online yet).
        recompute([host_id]);
        return { host_id, agent_token };
      });
    },
  };
}
