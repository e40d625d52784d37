import { Hono } from "hono";
import * as v from "valibot";
import type { Domain } from "../domain/domain.ts";
import { parseDuration } from "../duration.ts";
import type { AppEnv } from "../http/auth.ts";
import { LabelMap } from "../http/label-map.ts";
import { jsonBody, query } from "../http/validate.ts";

export const NewApiToken = v.object({ name: v.pipe(v.string(), v.minLength(1, "is required"), v.maxLength(100)) });
export const NewEnrollmentToken = v.strictObject({
  uses: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(100_000)), 1),
  expires_in: v.optional(
    v.pipe(v.string(), v.regex(/^\d+[smhd]$/, "must be a duration such as 30m, 24h or 7d")),
    "24h",
  ),
  labels: v.optional(LabelMap),
});
export const ListQuery = v.object({
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/, "must be 1-500"), v.transform(Number)), "100"),
  cursor: v.optional(v.string()),
});

export function apiTokenRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .post("/", async (c) => {
      const body = await jsonBody(c, NewApiToken);
      return c.json(domain.auth.createApiToken(c.get("actor"), body.name), 201);
    })
    .get("/", (c) => c.json({ items: domain.auth.listApiTokens(c.get("actor")), next_cursor: null }))
    .delete("/:id", (c) => {
      domain.auth.revokeApiToken(c.get("actor"), c.req.param("id"));
      return c.body(null, 204);
    });
}

export function enrollmentTokenRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .post("/", async (c) => {
      const body = await jsonBody(c, NewEnrollmentToken);
      const t = domain.auth.createEnrollmentToken(c.get("actor"), {
        uses: body.uses,
        expiresInMs: parseDuration(body.expires_in),
        labels: body.labels,
      });
      return c.json(t, 201);
    })
    .get("/", (c) => {
      const q = query(c, ListQuery);
      return c.json(domain.auth.listEnrollmentTokens(c.get("actor"), { limit: Number(q.limit), cursor: q.cursor }));
    })
    .delete("/:id", (c) => {
      domain.auth.revokeEnrollmentToken(c.get("actor"), c.req.param("id"));
      return c.body(null, 204);
    });
}
