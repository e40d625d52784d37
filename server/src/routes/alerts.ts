import { Hono } from "hono";
import * as v from "valibot";
import { CONDITIONS } from "../domain/alert-conditions.ts";
import type { Domain } from "../domain/domain.ts";
import { parseLabelPairs } from "../domain/labels.ts";
import type { AppEnv } from "../http/auth.ts";
import { LabelMap } from "../http/label-map.ts";
import { jsonBody, query } from "../http/validate.ts";

// Shapes only: every rule (kinds and their configs, conditions, durations, mutes) is the domain's.
// Strict: a misspelt field is refused by name, never dropped.
const Name = v.pipe(v.string(), v.maxLength(1024));
const Id = v.pipe(v.string(), v.maxLength(64));
const Selector = v.strictObject({ labels: v.optional(LabelMap) });
const Duration = v.union([v.pipe(v.string(), v.maxLength(32)), v.number()]);

export const NewChannel = v.strictObject({
  name: Name,
  kind: v.pipe(v.string(), v.maxLength(32)),
  config: v.unknown(),
});
export const ChannelPatch = v.partial(NewChannel);
const ruleFields = {
  name: Name,
  selector: v.optional(Selector),
  conditions: v.pipe(v.array(v.pipe(v.string(), v.maxLength(64))), v.maxLength(20)),
  channel_ids: v.pipe(v.array(Id), v.maxLength(50)),
  offline_after: v.optional(Duration),
  repeat_after: v.optional(v.nullable(Duration)),
  enabled: v.optional(v.boolean()),
};
export const NewRule = v.strictObject(ruleFields);
export const RulePatch = v.partial(v.strictObject(ruleFields));
export const NewMute = v.strictObject({
  host_id: v.optional(Id),
  selector: v.optional(Selector),
  until: v.pipe(v.string(), v.maxLength(64)),
  reason: v.pipe(v.string(), v.maxLength(1024)),
});
export const AlertsQuery = v.object({
  state: v.optional(v.picklist(["firing", "resolved"])),
  host_id: v.optional(Id),
  condition: v.optional(v.picklist(CONDITIONS)),
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,4}$/, "must be 1-1000"), v.transform(Number))),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(4096))),
});

/** Mounted at /api/v1: alerts, notification channels, alert rules and mutes (DESIGN §8.4). */
export function alertRoutes(domain: Domain) {
  const { alerts, alertConfig, alertDelivery } = domain;
  return new Hono<AppEnv>()
    .get("/alerts", (c) => {
      const q = query(c, AlertsQuery);
      // ?label=env=prod&label=role=db, parsed as GET /hosts parses it (400 naming `label`).
      const labels = parseLabelPairs(c.req.queries("label") ?? [], "label");
      return c.json(alerts.list({ ...q, labels }));
    })
    .get("/notification-channels", (c) => c.json({ items: alertConfig.channels.list(), next_cursor: null }))
    .post("/notification-channels", async (c) => {
      const body = await jsonBody(c, NewChannel);
      return c.json(alertConfig.channels.create(c.get("actor"), body), 201);
    })
    .get("/notification-channels/:id", (c) => c.json(alertConfig.channels.show(c.req.param("id"))))
    .patch("/notification-channels/:id", async (c) => {
      const body = await jsonBody(c, ChannelPatch);
      return c.json(alertConfig.channels.update(c.get("actor"), c.req.param("id"), body));
    })
    .delete("/notification-channels/:id", (c) => {
      alertConfig.channels.remove(c.get("actor"), c.req.param("id"));
      return c.body(null, 204);
    })
    .post("/notification-channels/:id/test", async (c) =>
      c.json(await alertConfig.channels.test(c.get("actor"), c.req.param("id"))),
    )
    .get("/notification-channels/:id/deliveries", (c) => {
      alertConfig.channels.show(c.req.param("id"));
      return c.json({ items: alertDelivery.log(c.req.param("id")), next_cursor: null });
    })
    .get("/alert-rules", (c) => c.json({ items: alertConfig.rules.list(), next_cursor: null }))
    .post("/alert-rules", async (c) => {
      const body = await jsonBody(c, NewRule);
      return c.json(alertConfig.rules.create(c.get("actor"), body), 201);
    })
    .get("/alert-rules/:id", (c) => c.json(alertConfig.rules.show(c.req.param("id"))))
    .patch("/alert-rules/:id", async (c) => {
      const body = await jsonBody(c, RulePatch);
      return c.json(alertConfig.rules.update(c.get("actor"), c.req.param("id"), body));
    })
    .delete("/alert-rules/:id", (c) => {
      alertConfig.rules.remove(c.get("actor"), c.req.param("id"));
      return c.body(null, 204);
    })
    .get("/mutes", (c) => c.json({ items: alertConfig.mutes.list(), next_cursor: null }))
    .post("/mutes", async (c) => {
      const body = await jsonBody(c, NewMute);
      return c.json(alertConfig.mutes.create(c.get("actor"), body), 201);
    })
    .delete("/mutes/:id", (c) => {
      alertConfig.mutes.remove(c.get("actor"), c.req.param("id"));
      return c.body(null, 204);
    });
}
