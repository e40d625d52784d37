import { type ConversionConfig, toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { CSRF_HEADER, SESSION_COOKIE } from "./auth.ts";

export type JsonSchema = ReturnType<typeof toJsonSchema>;

/**
 * Who may call an operation, as the routes check it (app.ts, http/auth.ts): `operator` is an API
 * token or the session cookie (with X-CSRF-Token on unsafe methods), the `requireUser` part of the
 * API; `session` is the cookie alone (GET /session); `agent` an agent token (GET /agent/ws).
 * What each role may do is the domain's (domain/permissions.ts), so it is told in the summary.
 */
export type Access = "public" | "operator" | "session" | "agent";

export interface Answer {
  status: 101 | 200 | 201 | 204;
  description: string;
  /**
   * `json` (the default for 200 and 201): a JSON object; `page`: a list as docs/api.md gives it,
   * `{items, next_cursor}`; or the media types of something else (a stream, a file).
   */
  content?: "json" | "page" | readonly string[];
}

/** One query parameter the schema cannot say, such as the repeated `label`: written out as OpenAPI's own. */
export interface Parameter {
  name: string;
  in: "query";
  description: string;
  required?: boolean;
  style?: "form";
  explode?: boolean;
  schema: JsonSchema;
}

/**
 * One route's document. `body` and `query` are the very schemas the route validates with
 * (jsonBody, query in http/validate.ts), so the document changes when they do.
 */
export interface Operation {
  /** The operationId: unique, camelCase. */
  id: string;
  summary: string;
  tag: string;
  /** `operator` when not given. */
  access?: Access;
  description?: string;
  /** A JSON body; its schema goes to components.schemas under `name`. */
  body?: { name: string; schema: v.GenericSchema; types?: readonly string[] };
  /** An object schema over the query string (v.object or v.strictObject). */
  query?: { readonly entries: v.ObjectEntries };
  /** Query parameters read apart from `query`. */
  params?: readonly Parameter[];
  ok: Answer;
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/** Keyed by `METHOD /path` as the route is mounted under /api/v1, in Hono's `:param` form. */
export type Operations = Readonly<Record<`${Method} /${string}`, Operation>>;

// Bodies are documented as the shape they must reach: a body pipe that starts with unknown() and
// checks before its real schema (LabelMap, Options, the run-now bodies) is documented by that
// schema ("output"). No body schema changes a value's type, so that is also what is sent.
const BODY: ConversionConfig = { target: "draft-2020-12", typeMode: "output", errorMode: "ignore" };
// Query values are strings on the wire: each is documented up to its first transform ("input").
// `check` actions and transforms have no JSON Schema form; valibot still enforces them.
const QUERY: ConversionConfig = { target: "draft-2020-12", typeMode: "input", errorMode: "ignore" };
const OPTIONAL = new Set(["optional", "exact_optional", "nullish", "undefinedable"]);
const SAFE = new Set<Method>(["GET"]);

function convert(schema: v.GenericSchema, config: ConversionConfig): JsonSchema {
  const { $schema: _dialect, ...json } = toJsonSchema(schema, config);
  // Definitions come only from v.lazy (recursive schemas); their "#/$defs" refs would point into
  // the OpenAPI document's root, so they would have to be lifted into components first.
  if ("$defs" in json) throw new Error("a recursive (v.lazy) request schema: lift its $defs into components");
  return json;
}

const ERROR: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", description: "`invalid`, `unauthorized`, `not_found`, …: the table in docs/api.md" },
        message: { type: "string", description: "What is wrong and what to do, for a person" },
        path: { type: "string", description: "The offending field, such as `paths.1`" },
      },
    },
  },
};
const PAGE: JsonSchema = {
  type: "object",
  required: ["items", "next_cursor"],
  properties: {
    items: { type: "array", items: { type: "object" } },
    next_cursor: { type: ["string", "null"], description: "Pass as `cursor` for the next page; null at the end" },
  },
};

const SECURITY_SCHEMES = {
  apiToken: {
    type: "http",
    scheme: "bearer",
    description:
      "An API token (`rft_…`): `POST /api-tokens` or `restic-fleet-server api-token create`. No CSRF header.",
  },
  session: {
    type: "apiKey",
    in: "cookie",
    name: SESSION_COOKIE,
    description: "The web UI's session cookie, set by `POST /session`.",
  },
  csrf: {
    type: "apiKey",
    in: "header",
    name: CSRF_HEADER,
    description:
      "The session's `csrf_token` (from `POST /session` or `GET /session`): sent with the cookie on POST, PUT, PATCH and DELETE.",
  },
  agentToken: { type: "http", scheme: "bearer", description: "An agent token, from `POST /agent/enroll`." },
} as const;

function security(access: Access, method: Method): Record<string, string[]>[] {
  switch (access) {
    case "public":
      return [];
    case "session":
      return [{ session: [] }];
    case "agent":
      return [{ agentToken: [] }];
    case "operator":
      return [{ apiToken: [] }, SAFE.has(method) ? { session: [] } : { session: [], csrf: [] }];
  }
}

function content(answer: Answer): Record<string, { schema: JsonSchema }> | undefined {
  const kind = answer.content ?? (answer.status === 200 || answer.status === 201 ? "json" : undefined);
  if (kind === undefined) return undefined;
  if (kind === "json") return { "application/json": { schema: { type: "object" } } };
  if (kind === "page") return { "application/json": { schema: { $ref: "#/components/schemas/Page" } } };
  return Object.fromEntries(kind.map((type) => [type, { schema: { type: "string" } }]));
}

/** `/hosts/:id/snapshots/:snapshot_id` → `/hosts/{id}/snapshots/{snapshot_id}`, and its parameters. */
export function openApiPath(path: string): { path: string; names: string[] } {
  const names: string[] = [];
  const templated = path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    names.push(name);
    return `{${name}}`;
  });
  return { path: templated, names };
}

/** The OpenAPI 3.1 document of the API under /api/v1 (GET /api/v1/openapi.json). */
export function openApiDocument(operations: Operations, version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, JsonSchema> = { Error: ERROR, Page: PAGE };
  const bodies = new Map<string, v.GenericSchema>();
  const tags = new Set<string>();
  for (const [key, op] of Object.entries(operations)) {
    const [method, route] = key.split(" ") as [Method, string];
    const { path, names } = openApiPath(route);
    const parameters: unknown[] = names.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    for (const [name, entry] of Object.entries(op.query?.entries ?? {})) {
      parameters.push({ name, in: "query", required: !OPTIONAL.has(entry.type), schema: convert(entry, QUERY) });
    }
    parameters.push(...(op.params ?? []));
    let requestBody: unknown;
    if (op.body) {
      const { name, schema, types = ["application/json"] } = op.body;
      const seen = bodies.get(name);
      if (seen && seen !== schema) throw new Error(`two request schemas are named ${name}`);
      bodies.set(name, schema);
      schemas[name] = convert(schema, BODY);
      const ref = { schema: { $ref: `#/components/schemas/${name}` } };
      requestBody = { required: true, content: Object.fromEntries(types.map((type) => [type, ref])) };
    }
    const ok = content(op.ok);
    tags.add(op.tag);
    const item = paths[path] ?? {};
    paths[path] = item;
    item[method.toLowerCase()] = {
      operationId: op.id,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      security: security(op.access ?? "operator", method),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: {
        [String(op.ok.status)]: { description: op.ok.description, ...(ok ? { content: ok } : {}) },
        default: { $ref: "#/components/responses/Error" },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Restic Fleet API",
      version,
      description:
        "The HTTP API of a Restic Fleet server. The request schemas are the ones the server validates with; " +
        "docs/api.md tells each route's rules and answers in full.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "/api/v1" }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      responses: {
        Error: {
          description: "An error: `error.code` says which kind (docs/api.md lists them with their statuses)",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}
