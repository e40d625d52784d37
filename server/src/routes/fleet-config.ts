import type { Context } from "hono";
import { Hono } from "hono";
import * as v from "valibot";
import { RetentionPolicy } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import { DomainError } from "../domain/errors.ts";
import type { FleetDocument } from "../domain/fleet-document.ts";
import type { AppEnv } from "../http/auth.ts";
import { LabelMap } from "../http/label-map.ts";
import { parse, query } from "../http/validate.ts";
import { scheduleFields } from "./schedules.ts";

// Shapes only: names, references, secrets and every object's own rules are the domain's
// (domain/fleet-config.ts and the services it calls). Strict throughout: an unknown field is
// refused by its path, never dropped.
const Name = v.pipe(v.string(), v.maxLength(1024));
const Secret = v.strictObject({ env: v.pipe(v.string(), v.maxLength(200)) });
const Selector = v.strictObject({ labels: v.optional(LabelMap) });
const Duration = v.union([v.pipe(v.string(), v.maxLength(32)), v.number()]);
const list = <S extends v.GenericSchema>(item: S, max: number) =>
  v.pipe(v.array(item, "must be a list (give [] for none)"), v.maxLength(max));

const Repository = v.strictObject({
  name: Name,
  url: v.pipe(v.string(), v.maxLength(4096)),
  username: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(1024)))),
  password: v.optional(v.nullable(Secret)),
  credential: v.optional(v.nullable(Secret)),
  auto_init: v.optional(v.boolean()),
  env: v.optional(
    v.pipe(
      v.unknown(),
      v.check((x) => typeof x === "object" && x !== null && !Array.isArray(x), "must be an object of variables"),
      v.record(
        v.pipe(v.string(), v.maxLength(128)),
        v.nullable(v.union([v.pipe(v.string(), v.maxLength(4096)), Secret])),
      ),
    ),
  ),
});
const Policy = v.strictObject({
  name: Name,
  selector: v.optional(Selector),
  repository: v.optional(v.nullable(Name)),
  priority: v.optional(v.number()),
  enabled: v.optional(v.boolean()),
  schedules: v.optional(list(v.strictObject(scheduleFields), 1000)),
  copy_targets: v.optional(
    list(
      v.strictObject({
        repository: Name,
        retention_policy: v.optional(v.nullable(v.strictObject(RetentionPolicy.entries))),
        prune: v.optional(v.boolean()),
        schedule: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
      }),
      100,
    ),
  ),
  max_offline_age: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
});
const Channel = v.strictObject({
  name: Name,
  kind: v.pipe(v.string(), v.maxLength(32)),
  config: v.pipe(
    v.unknown(),
    v.check((x) => typeof x === "object" && x !== null && !Array.isArray(x), "must be an object"),
    v.record(v.string(), v.unknown()),
  ),
});
const Rule = v.strictObject({
  name: Name,
  selector: v.optional(Selector),
  conditions: v.pipe(v.array(v.pipe(v.string(), v.maxLength(64))), v.maxLength(20)),
  channels: v.pipe(v.array(Name), v.maxLength(50)),
  offline_after: v.optional(Duration),
  repeat_after: v.optional(v.nullable(Duration)),
  enabled: v.optional(v.boolean()),
});
const SECTIONS = ["repositories", "policies", "notification_channels", "alert_rules"] as const;
export const Document = v.strictObject({
  version: v.number(),
  repositories: list(Repository, 1000),
  policies: list(Policy, 1000),
  notification_channels: list(Channel, 1000),
  alert_rules: list(Rule, 1000),
});

export const ExportQuery = v.object({ format: v.optional(v.picklist(["json", "yaml"], "must be json or yaml")) });
/** `?dry_run` alone, 1 or true: check and show the changes, store nothing. */
export const ApplyQuery = v.object({
  dry_run: v.optional(v.picklist(["", "0", "1", "true", "false"], "must be 1 or 0")),
});

/**
 * 100,000 values: far more than a fleet's config; a YAML alias bomb (`&a` used by `*a` used by
 * ...) expands past it in a few lines, and is refused before anything walks the whole of it.
 */
const MAX_VALUES = 100_000;
function withinBudget(root: unknown): boolean {
  let left = MAX_VALUES;
  const stack = [root];
  while (stack.length > 0) {
    const x = stack.pop();
    if (--left < 0) return false;
    if (typeof x === "object" && x !== null) stack.push(...Object.values(x));
  }
  return true;
}

const isYaml = (type: string | undefined) => /\b(application|text)\/(x-)?yaml\b/i.test(type ?? "");

/** The body as JSON or, with a YAML content type, YAML; then its shape. */
async function documentBody(c: Context): Promise<FleetDocument> {
  const text = await c.req.text();
  const yaml = isYaml(c.req.header("content-type"));
  let raw: unknown;
  try {
    raw = yaml ? Bun.YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    const why = yaml && err instanceof Error ? `: ${err.message}` : "";
    throw new DomainError("invalid", `request body is not valid ${yaml ? "YAML" : "JSON"}${why}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new DomainError("invalid", "the document must be one object (one YAML document) with version and its lists");
  }
  if (!withinBudget(raw)) throw new DomainError("invalid", `the document holds more than ${MAX_VALUES} values`);
  const missing = [...SECTIONS, "version"].find((k) => !(k in raw));
  if (missing) {
    const hint = missing === "version" ? "version: 1" : `${missing}: [] for none`;
    throw new DomainError("invalid", `${missing}: is required (${hint}): the document is the whole config`, missing);
  }
  return parse(Document, raw) as FleetDocument;
}

/** Mounted at /api/v1/fleet-config (DESIGN §8.3, docs/fleet-config.md). */
export function fleetConfigRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .get("/", (c) => {
      const { format } = query(c, ExportQuery);
      const doc = domain.fleetConfig.export();
      if (format === "yaml" || (format === undefined && isYaml(c.req.header("accept")))) {
        return c.body(`${Bun.YAML.stringify(doc, null, 2)}\n`, 200, {
          "Content-Type": "application/yaml; charset=utf-8",
        });
      }
      return c.json(doc);
    })
    .put("/", async (c) => {
      const { dry_run: dry } = query(c, ApplyQuery);
      const doc = await documentBody(c);
      return c.json(domain.fleetConfig.apply(c.get("actor"), doc, dry === "" || dry === "1" || dry === "true"));
    });
}
