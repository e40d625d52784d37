import { Hono } from "hono";
import * as v from "valibot";
import type { Domain } from "../domain/domain.ts";
import { DEFAULT_ROLE } from "../domain/permissions.ts";
import type { AppEnv } from "../http/auth.ts";
import { jsonBody, query } from "../http/validate.ts";

const Role = v.picklist(["admin", "viewer"], "must be admin or viewer");
const Password = v.pipe(v.string(), v.minLength(8, "must be at least 8 characters"), v.maxLength(1024));
export const NewUser = v.object({
  username: v.pipe(v.string(), v.regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/, "1-64 letters, digits, '.', '_' or '-'")),
  password: Password,
  role: v.optional(Role, DEFAULT_ROLE),
});
export const UserPatch = v.object({
  role: v.optional(Role),
  disabled: v.optional(v.boolean()),
  password: v.optional(Password),
});
export const AuditQuery = v.object({
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/, "must be 1-500"), v.transform(Number)), "100"),
  cursor: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, "must be a number"), v.transform(Number))),
});

/** Users and the audit log: admin only, reads included (the domain says so). */
export function userRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .get("/users", (c) => c.json({ items: domain.auth.listUsers(c.get("actor")), next_cursor: null }))
    .post("/users", async (c) => {
      const body = await jsonBody(c, NewUser);
      return c.json(await domain.auth.createUser(body.username, body.password, body.role, c.get("actor")), 201);
    })
    .patch("/users/:id", async (c) => {
      const body = await jsonBody(c, UserPatch);
      return c.json(await domain.auth.updateUser(c.get("actor"), c.req.param("id"), body));
    })
    .get("/audit-log", (c) => {
      const q = query(c, AuditQuery);
      return c.json(
        domain.auth.auditLog(c.get("actor"), Number(q.limit), q.cursor === undefined ? null : Number(q.cursor)),
      );
    });
}
