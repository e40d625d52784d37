import { Hono } from "hono";
import * as v from "valibot";
import { Id, JobKind, JobStatus, RestoreSpec, strictSpecByKind } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import { parseLabelPairs } from "../domain/labels.ts";
import { rollingParts, rollingRunNowProblem } from "../domain/read-cycles.ts";
import { ACTOR_KINDS } from "../domain/types.ts";
import type { AppEnv } from "../http/auth.ts";
import { LabelMap } from "../http/label-map.ts";
import { jsonBody, query } from "../http/validate.ts";

/**
 * A restore as the API takes it: another host's snapshot (from a repository both use) is named by
 * that host's id; the domain turns it into the wire's restic host name.
 */
const ApiRestoreSpec = { ...v.omit(RestoreSpec, ["source_host"]).entries, source_host_id: v.optional(Id) };

/** Run-now bodies: the spec is checked against its own kind, like command.run on the wire. */
export const RunNow = strictSpecByKind({ schedule_id: v.optional(Id) }, ApiRestoreSpec);

/**
 * The rolling form "k/N" is a schedule's (domain/read-cycles.ts): a run-now check with it is told
 * so by name, before the spec's own pattern would answer with restic's forms only.
 */
const NotRolling = v.rawCheck<unknown>(({ dataset, addIssue }) => {
  const body = dataset.value as { kind?: unknown; spec?: { read_data_subset?: unknown } } | null;
  const spec = typeof body === "object" && body !== null && body.kind === "check" ? body.spec : undefined;
  const subset = typeof spec === "object" && spec !== null ? spec.read_data_subset : undefined;
  if (typeof subset !== "string" || rollingParts(subset) === null) return;
  const at = (input: unknown, key: string, value: unknown) => ({ type: "object", origin: "value", input, key, value });
  addIssue({
    message: rollingRunNowProblem(subset),
    path: [at(body, "spec", spec), at(spec, "read_data_subset", subset)] as never,
  });
});
export const RunNowBody = v.pipe(v.unknown(), NotRolling, RunNow);

/**
 * Bulk run-now (POST /jobs): the same per-kind command, for the hosts a selector (DESIGN §8.2)
 * matches or the hosts picked by id. Which of the two, and every rule, is the domain's.
 */
const BulkRunNow = strictSpecByKind(
  {
    selector: v.optional(v.strictObject({ labels: v.optional(LabelMap) })),
    host_ids: v.optional(v.pipe(v.array(Id), v.maxLength(10_000))),
  },
  ApiRestoreSpec,
);
export const BulkRunNowBody = v.pipe(v.unknown(), NotRolling, BulkRunNow);

/**
 * `since`/`until`: an RFC 3339 time (or a date, read as UTC midnight), normalised to the stored
 * form (toISOString), so the store compares like with like. A time without its offset is refused:
 * it would be read in the server's zone, which the client cannot know.
 */
const Time = v.pipe(
  v.string(),
  v.check(
    (x) =>
      /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(x) &&
      !Number.isNaN(Date.parse(x)),
    "must be an ISO time with its offset, such as 2026-12-01T00:00:00Z, or a date",
  ),
  v.transform((x) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(x) ? `${x}T00:00:00Z` : x).toISOString()),
);

export const ListQuery = v.object({
  host_id: v.optional(v.string()),
  status: v.optional(JobStatus),
  kind: v.optional(JobKind),
  actor_kind: v.optional(v.picklist(ACTOR_KINDS, `must be one of ${ACTOR_KINDS.join(", ")}`)),
  since: v.optional(Time),
  until: v.optional(Time),
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/, "must be 1-500"), v.transform(Number)), "50"),
  cursor: v.optional(v.string()),
});
export const LogsQuery = v.object({
  after_seq: v.optional(v.pipe(v.string(), v.regex(/^\d{1,15}$/, "must be a number"), v.transform(Number)), "0"),
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,4}$/, "must be 1-5000"), v.transform(Number)), "1000"),
});

export function jobRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .post("/hosts/:id/jobs", async (c) => {
      const body = await jsonBody(c, RunNowBody);
      return c.json(domain.jobs.runNow(c.get("actor"), c.req.param("id"), body), 201);
    })
    .post("/jobs", async (c) => {
      const { selector, host_ids, ...command } = await jsonBody(c, BulkRunNowBody);
      return c.json(domain.bulkRun.run(c.get("actor"), { selector, host_ids }, command), 201);
    })
    .get("/jobs", (c) => {
      const q = query(c, ListQuery);
      return c.json(
        domain.jobs.list({
          host_id: q.host_id,
          status: q.status,
          kind: q.kind,
          actor_kind: q.actor_kind,
          // ?label=env=prod&label=role=db, parsed as GET /hosts parses it (400 naming `label`).
          labels: parseLabelPairs(c.req.queries("label") ?? [], "label"),
          since: q.since,
          until: q.until,
          limit: Number(q.limit),
          cursor: q.cursor,
        }),
      );
    })
    .get("/jobs/:id", (c) => c.json(domain.jobs.get(c.req.param("id"))))
    .post("/jobs/:id/cancel", (c) => c.json(domain.jobs.cancel(c.get("actor"), c.req.param("id"))))
    .get("/jobs/:id/logs", (c) => {
      const q = query(c, LogsQuery);
      return c.json(domain.jobs.logs(c.req.param("id"), Number(q.after_seq), Number(q.limit)));
    });
}
