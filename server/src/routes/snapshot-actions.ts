import { Hono } from "hono";
import * as v from "valibot";
import { TagSpec } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import type { AppEnv } from "../http/auth.ts";
import { jsonBody, query } from "../http/validate.ts";

const Id = v.pipe(v.string(), v.minLength(1, "give a snapshot id"), v.maxLength(64));
export const DiffQuery = v.object({ from: Id, to: Id });
const { snapshot_id: _id, ...tagEntries } = TagSpec.entries;
/** PUT /tags: `{set}` or `{add, remove}`; the rules (none reserved, not both) are the domain's. */
export const TagBody = v.strictObject(tagEntries);

/**
 * Snapshot actions: forget one (admin, audited; a job, answered 201 with it), edit its tags (the
 * same), and compare two (viewers too: it reads names, as the snapshot list does).
 */
export function snapshotActionRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .get("/:id/snapshots/diff", async (c) => {
      const q = query(c, DiffQuery);
      const pair = domain.snapshotActions.pair(c.req.param("id"), q.from, q.to);
      return c.json(await domain.snapshotFiles.diff(c.req.param("id"), pair));
    })
    .post("/:id/snapshots/:snapshot_id/forget", (c) =>
      c.json(domain.snapshotActions.forget(c.get("actor"), c.req.param("id"), c.req.param("snapshot_id")), 201),
    )
    .post("/:id/snapshots/:snapshot_id/tags", async (c) => {
      const body = await jsonBody(c, TagBody);
      return c.json(
        domain.snapshotActions.tag(c.get("actor"), c.req.param("id"), c.req.param("snapshot_id"), body),
        201,
      );
    });
}
