import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as v from "valibot";
import type { Domain } from "../domain/domain.ts";
import { DomainError } from "../domain/errors.ts";
import { type AppEnv, SESSION_COOKIE } from "../http/auth.ts";
import { jsonBody, query } from "../http/validate.ts";

export const Login = v.object({
  username: v.pipe(v.string(), v.minLength(1, "is required"), v.maxLength(64)),
  password: v.pipe(v.string(), v.minLength(1, "is required"), v.maxLength(1024)),
});
/** GET /session?optional=1: the web UI's probe (see below); any other value is the plain GET. */
export const SessionQuery = v.object({ optional: v.optional(v.string()) });

/** POST /session logs in (cookie + CSRF token), GET /session shows it, DELETE /session logs out. */
export function sessionRoutes(domain: Domain, clientAddress: (c: Context) => string, https: (c: Context) => boolean) {
  return new Hono<AppEnv>()
    .post("/", async (c) => {
      const body = await jsonBody(c, Login);
      const s = await domain.auth.login(body.username, body.password, clientAddress(c));
      setCookie(c, SESSION_COOKIE, s.token, {
        httpOnly: true,
        sameSite: "Strict",
        secure: https(c),
        path: "/",
        maxAge: s.max_age_s,
      });
      return c.json({ user: s.user, csrf_token: s.csrf_token }, 201);
    })
    .get("/", (c) => {
      const cookie = getCookie(c, SESSION_COOKIE);
      const s = cookie ? domain.auth.session(cookie) : null;
      // ?optional=1 is the web UI's probe at page load: "not logged in" is then an answer, not
      // an error (a 401 would be logged in the browser's console on every visit to the login page).
      if (!s && query(c, SessionQuery).optional === "1") return c.json({ user: null, csrf_token: null });
      if (!s) throw new DomainError("unauthorized", "not logged in");
      return c.json({ user: s.actor, csrf_token: s.csrf_token });
    })
    .delete("/", (c) => {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie) domain.auth.logout(cookie);
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.body(null, 204);
    });
}
