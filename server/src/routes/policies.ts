import { Hono } from "hono";
import * as v from "valibot";
import { RetentionPolicy } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import type { AppEnv } from "../http/auth.ts";
import { LabelMap } from "../http/label-map.ts";
import { jsonBody } from "../http/validate.ts";
import { scheduleFields } from "./schedules.ts";

// Shapes only; every rule (names, priorities, each kind's fields and options, conflicts) is the
// domain's. Strict throughout: a misspelt field is refused by name, never dropped.
const PolicySchedule = v.strictObject({
  ...scheduleFields,
  id: v.optional(v.pipe(v.string(), v.maxLength(64))),
});
/** One copy target (issue 18 item 6); policies and hosts take the same list. */
export const CopyTargets = v.pipe(
  v.array(
    v.strictObject({
      repository_id: v.pipe(v.string(), v.maxLength(64)),
      retention_policy: v.optional(v.nullable(v.strictObject(RetentionPolicy.entries))),
      prune: v.optional(v.boolean()),
      schedule: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
    }),
  ),
  v.maxLength(100),
);
const fields = {
  name: v.pipe(v.string(), v.maxLength(1024)),
  selector: v.optional(v.strictObject({ labels: v.optional(LabelMap) })),
  repository_id: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
  priority: v.optional(v.number()),
  enabled: v.optional(v.boolean()),
  schedules: v.optional(v.pipe(v.array(PolicySchedule), v.maxLength(1000))),
  copy_targets: v.optional(CopyTargets),
  /** A duration ("36h", "7d") or "0"/"off"; null clears it. Its rule is the domain's (offline-age.ts). */
  max_offline_age: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
};
export const NewPolicy = v.strictObject(fields);
export const PolicyPatch = v.partial(v.strictObject(fields));

/** Mounted at /api/v1/policies (DESIGN §8.3). */
export function policyRoutes(domain: Domain) {
  const policies = domain.policies;
  return new Hono<AppEnv>()
    .get("/", (c) => c.json({ items: policies.list(), next_cursor: null }))
    .post("/", async (c) => {
      const body = await jsonBody(c, NewPolicy);
      return c.json(policies.create(c.get("actor"), body), 201);
    })
    .get("/:id", (c) => c.json(policies.show(c.req.param("id"))))
    .patch("/:id", async (c) => {
      const body = await jsonBody(c, PolicyPatch);
      return c.json(policies.update(c.get("actor"), c.req.param("id"), body));
    })
    .delete("/:id", (c) => {
      policies.remove(c.get("actor"), c.req.param("id"));
      return c.body(null, 204);
    })
    .get("/:id/hosts", (c) => c.json({ items: policies.hosts(c.req.param("id")), next_cursor: null }));
}
