import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Domain } from "../domain/domain.ts";
import { DomainError } from "../domain/errors.ts";
import { safeEqual } from "../domain/tokens.ts";
import type { Actor } from "../domain/types.ts";

export const SESSION_COOKIE = "rf_session";
export const CSRF_HEADER = "X-CSRF-Token";

export type AppEnv = { Variables: { actor: Actor; via: "session" | "token" } };

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function bearer(c: Context): string | null {
  const h = c.req.header("Authorization");
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m?.[1] ?? null;
}

/**
 * Operators: an API token (Bearer, no CSRF needed) or a session cookie, which needs the
 * session's CSRF token in X-CSRF-Token on unsafe methods. What each role may do is the domain's
 * rule (domain/permissions.ts), the same for every door.
 */
export function requireUser(domain: Domain): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearer(c);
    if (token) {
      const actor = domain.auth.apiTokenActor(token);
      if (!actor) throw new DomainError("unauthorized", "invalid or revoked API token");
      c.set("actor", actor);
      c.set("via", "token");
    } else {
      const cookie = getCookie(c, SESSION_COOKIE);
      const session = cookie ? domain.auth.session(cookie) : null;
      if (!session) throw new DomainError("unauthorized", "log in first (POST /api/v1/session) or send an API token");
      if (!SAFE.has(c.req.method)) {
        const sent = c.req.header(CSRF_HEADER) ?? "";
        if (!safeEqual(sent, session.csrf_token)) {
          throw new DomainError("forbidden", `missing or wrong ${CSRF_HEADER} header (GET /api/v1/session gives it)`);
        }
      }
      c.set("actor", session.actor);
      c.set("via", "session");
    }
    await next();
  };
}
