import { Hono } from "hono";
import * as v from "valibot";
import { Text } from "../../../protocol/index.ts";
import { BACKUP_HEALTH_STATES } from "../domain/backup-health.ts";
import type { Domain } from "../domain/domain.ts";
import { HOST_DRILL_FILTERS, HOST_SORTS } from "../domain/host-page-rows.ts";
import { checkLabelKeys, parseLabelPairs } from "../domain/labels.ts";
import type { AppEnv } from "../http/auth.ts";
import { LabelMap } from "../http/label-map.ts";
import { jsonBody, query } from "../http/validate.ts";
import { CopyTargets } from "./policies.ts";
import { snapshotActionRoutes } from "./snapshot-actions.ts";
import { snapshotFileRoutes } from "./snapshot-files.ts";

export const Patch = v.pipe(
  v.strictObject({
    name: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(255))),
    labels: v.optional(LabelMap),
    copy_targets: v.optional(CopyTargets),
    max_offline_age: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
  }),
  v.check(
    (p) => Object.values(p).some((x) => x !== undefined),
    "give name, labels or both, copy_targets or max_offline_age",
  ),
);
export const Config = v.object({
  repo_url: v.optional(v.pipe(Text, v.maxLength(4096))),
  repo_password: v.optional(Text),
  repo_username: v.optional(Text),
  repo_credential: v.optional(Text),
  hook_shell: v.optional(v.pipe(v.string(), v.maxLength(1024))),
});
export const StatsQuery = v.object({
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,4}$/, "must be 1-1000"), v.transform(Number)), "100"),
});

/** GET /hosts/:id/snapshots: a page, newest first (1-500, default 100; the domain checks the range). */
export const SnapshotsQuery = v.object({
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/, "must be 1-500"), v.transform(Number))),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(4096))),
});

/**
 * GET /hosts (DESIGN §8.8). `label` (repeated, every one must match) is read apart, as GET /jobs
 * reads it; `health` is one state or several, comma-separated (any of them).
 */
export const HostListQuery = v.object({
  health: v.optional(
    v.pipe(
      v.string(),
      v.transform((x) => x.split(",").map((s) => s.trim())),
      v.array(
        v.picklist(BACKUP_HEALTH_STATES, `must be one or more of ${BACKUP_HEALTH_STATES.join(", ")}, comma-separated`),
      ),
    ),
  ),
  online: v.optional(
    v.pipe(
      v.picklist(["true", "false"], "must be true or false"),
      v.transform((x) => x === "true"),
    ),
  ),
  q: v.optional(v.pipe(v.string(), v.maxLength(255))),
  drill: v.optional(v.picklist(HOST_DRILL_FILTERS, `must be one of ${HOST_DRILL_FILTERS.join(", ")}`)),
  sort: v.optional(v.picklist(HOST_SORTS, `must be one of ${HOST_SORTS.join(", ")}`)),
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/, "must be 1-500"), v.transform(Number))),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(4096))),
});

/** ?label=env=prod&label=role=db: every one must match (DESIGN §8.2); a bad pair is 400 naming `label`. */
const labelFilter = (pairs: string[] | undefined) => parseLabelPairs(pairs ?? [], "label");
/** ?without_label=site (repeated): hosts that carry none of these keys. */
const withoutFilter = (keys: string[] | undefined) => checkLabelKeys(keys ?? [], "without_label");

/** `/summary` comes before `/:id`, so "summary" is never taken for a host id. */
export function hostRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .get("/", (c) => {
      const q = query(c, HostListQuery);
      return c.json(
        domain.hosts.page({
          ...q,
          q: q.q || undefined,
          labels: labelFilter(c.req.queries("label")),
          withoutLabels: withoutFilter(c.req.queries("without_label")),
        }),
      );
    })
    .get("/summary", (c) =>
      c.json(
        domain.hosts.summary(
          { labels: labelFilter(c.req.queries("label")) },
          withoutFilter(c.req.queries("without_label")),
        ),
      ),
    )
    .get("/:id", (c) => c.json(domain.hosts.show(c.req.param("id"))))
    .patch("/:id", async (c) => {
      const body = await jsonBody(c, Patch);
      return c.json(domain.hosts.update(c.get("actor"), c.req.param("id"), body));
    })
    .delete("/:id", (c) => {
      domain.hosts.revoke(c.get("actor"), c.req.param("id"));
      return c.body(null, 204);
    })
    .put("/:id/config", async (c) => {
      const body = await jsonBody(c, Config);
      return c.json(domain.hosts.setConfig(c.get("actor"), c.req.param("id"), body));
    })
    .get("/:id/copy-targets", (c) => c.json({ items: domain.hosts.copyTargets(c.req.param("id")), next_cursor: null }))
    .get("/:id/snapshots", (c) => c.json(domain.hosts.snapshots(c.req.param("id"), query(c, SnapshotsQuery))))
    .get("/:id/repo-stats", (c) => {
      const { limit } = query(c, StatsQuery);
      return c.json({ items: domain.hosts.repoStats(c.req.param("id"), Number(limit)), next_cursor: null });
    })
    .route("/", snapshotFileRoutes(domain))
    .route("/", snapshotActionRoutes(domain));
}
