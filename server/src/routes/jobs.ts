import { Hono } from "hono";
import * as v from "valibot";
import { Id, JobStatus, RestoreSpec, specByKind } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import { DomainError } from "../domain/errors.ts";
import type { AppEnv } from "../http/auth.ts";
import { jsonBody, query } from "../http/validate.ts";

/**
 * A restore as the API takes it: another host's snapshot is named by that host's id
 * (DESIGN.md §8.5); the domain turns it into the wire's restic host name.
 */
const ApiRestoreSpec = v.object({ ...v.omit(RestoreSpec, ["source_host"]).entries, source_host_id: v.optional(Id) });

/** Run-now bodies: the spec is checked against its own kind, like command.run on the wire. */
export const RunNow = specByKind({ schedule_id: v.optional(Id) }, ApiRestoreSpec);

const ListQuery = v.object({
  host_id: v.optional(v.string()),
  status: v.optional(JobStatus),
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/, "must be 1-500"), v.transform(Number)), "50"),
  cursor: v.optional(v.string()),
});
const LogsQuery = v.object({
  after_seq: v.optional(v.pipe(v.string(), v.regex(/^\d{1,15}$/, "must be a number"), v.transform(Number)), "0"),
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,4}$/, "must be 1-5000"), v.transform(Number)), "1000"),
});

const encodeCursor = (j: { created_at: string; id: string }) =>
  Buffer.from(JSON.stringify([j.created_at, j.id])).toString("base64url");

function decodeCursor(cursor: string): { created_at: string; id: string } {
  try {
    const [created_at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof created_at === "string" && typeof id === "string") return { created_at, id };
  } catch {
    // Fall through.
  }
  throw new DomainError("invalid", "cursor is not valid: pass next_cursor from the previous page", "cursor");
}

export function jobRoutes(domain: Domain) {
  const { store } = domain.deps;
  return new Hono<AppEnv>()
    .post("/hosts/:id/jobs", async (c) => {
      const body = await jsonBody(c, RunNow);
      return c.json(domain.jobs.runNow(c.get("actor"), c.req.param("id"), body as never), 201);
    })
    .get("/jobs", (c) => {
      const q = query(c, ListQuery);
      const limit = Math.min(Math.max(Number(q.limit), 1), 500);
      const items = store.listJobs({
        host_id: q.host_id,
        status: q.status,
        limit: limit + 1,
        after: q.cursor ? decodeCursor(q.cursor) : undefined,
      });
      const page = items.slice(0, limit);
      const last = page.at(-1);
      return c.json({ items: page, next_cursor: items.length > limit && last ? encodeCursor(last) : null });
    })
    .get("/jobs/:id", (c) => c.json(domain.jobs.get(c.req.param("id"))))
    .post("/jobs/:id/cancel", (c) => c.json(domain.jobs.cancel(c.get("actor"), c.req.param("id"))))
    .get("/jobs/:id/logs", (c) => {
      domain.jobs.get(c.req.param("id"));
      const q = query(c, LogsQuery);
      const limit = Math.min(Math.max(Number(q.limit), 1), 5000);
      const items = store.logsAfter(c.req.param("id"), Number(q.after_seq), limit);
      const last = items.at(-1);
      return c.json({ items, next_cursor: items.length === limit && last ? String(last.seq) : null });
    });
}
