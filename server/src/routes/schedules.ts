import { Hono } from "hono";
import * as v from "valibot";
import {
  Hook,
  JobKind,
  Options,
  RetentionPolicy,
  StdinCommand,
  StdinFilename,
  StringList,
} from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import type { AppEnv } from "../http/auth.ts";
import { jsonBody, query } from "../http/validate.ts";

export const scheduleFields = {
  kind: JobKind,
  cron_expr: v.pipe(v.string(), v.minLength(1, "is required"), v.maxLength(256)),
  timezone: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
  jitter: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(32)))),
  paths: v.optional(StringList),
  excludes: v.optional(StringList),
  tags: v.optional(StringList),
  retention_policy: v.optional(v.nullable(RetentionPolicy)),
  options: v.optional(Options),
  pre_hook: v.optional(v.nullable(Hook)),
  post_hook: v.optional(v.nullable(Hook)),
  stdin_command: v.optional(v.nullable(StdinCommand)),
  stdin_filename: v.optional(v.nullable(StdinFilename)),
  enabled: v.optional(v.boolean()),
};
// Strict: a misspelt field (`pathz`) is refused by name instead of being dropped without a word.
export const NewSchedule = v.strictObject(scheduleFields);
export const SchedulePatch = v.partial(v.strictObject(scheduleFields));
/** GET /cron/preview: an absent expression is the domain's to refuse, naming cron_expr. */
export const PreviewQuery = v.object({
  cron_expr: v.optional(v.string(), ""),
  timezone: v.optional(v.string()),
});
export const Preview = v.object({
  cron_expr: scheduleFields.cron_expr,
  timezone: scheduleFields.timezone,
  count: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(50)), 5),
});

/** Mounted at /api/v1: /hosts/:id/schedules, /schedules/:id and /cron/preview. */
export function scheduleRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .get("/hosts/:id/schedules", (c) => c.json({ items: domain.schedules.list(c.req.param("id")), next_cursor: null }))
    .post("/hosts/:id/schedules", async (c) => {
      const body = await jsonBody(c, NewSchedule);
      return c.json(domain.schedules.create(c.get("actor"), c.req.param("id"), body), 201);
    })
    .get("/schedules/:id", (c) => c.json(domain.schedules.get(c.req.param("id"))))
    .patch("/schedules/:id", async (c) => {
      const body = await jsonBody(c, SchedulePatch);
      return c.json(domain.schedules.update(c.get("actor"), c.req.param("id"), body));
    })
    .delete("/schedules/:id", (c) => {
      domain.schedules.remove(c.get("actor"), c.req.param("id"));
      return c.body(null, 204);
    })
    .get("/cron/preview", (c) => {
      const q = query(c, PreviewQuery);
      return c.json({ cron_expr: q.cron_expr, next_runs: domain.schedules.preview(q.cron_expr, q.timezone || null) });
    })
    .post("/cron/preview", async (c) => {
      const body = await jsonBody(c, Preview);
      return c.json({
        cron_expr: body.cron_expr,
        next_runs: domain.schedules.preview(body.cron_expr, body.timezone ?? null, body.count),
      });
    });
}
