import { afterAll, beforeAll, expect, test } from "bun:test";
import { openApiPath } from "../http/openapi.ts";
import { startTestServer, type TestServer } from "../testing/harness.ts";
import { memoryApp } from "../testing/memory-app.ts";

// GET /api/v1/openapi.json from a real server, against the routes the app has and what they do.

// biome-ignore lint/suspicious/noExplicitAny: the document is walked as plain JSON
type Json = any;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const PROBE = "openapi-probe";

let t: TestServer;
let doc: Json;
let contentType: string | null;
beforeAll(async () => {
  t = await startTestServer();
  const res = await t.api("/api/v1/openapi.json", { token: null });
  expect(res.status).toBe(200);
  contentType = res.headers.get("content-type");
  doc = await res.json();
});
afterAll(async () => {
  await t.close();
});

interface Op {
  method: string;
  path: string;
  op: Json;
}
const operations = (): Op[] =>
  Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((k) => METHODS.includes(k))
      .map((method) => ({ method: method.toUpperCase(), path, op: item[method] })),
  );
/** A documented path with every `{param}` filled, under /api/v1. */
const url = (path: string, query = "") => `/api/v1${path.replace(/\{[^}]+\}/g, "x")}${query ? `?${query}` : ""}`;

function resolve(ref: string): Json {
  expect(ref.startsWith("#/")).toBe(true);
  let at: Json = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    expect(at !== null && typeof at === "object" && key in at, `${ref} resolves`).toBe(true);
    at = at[key];
  }
  return at;
}
const deref = (x: Json): Json => (x && typeof x.$ref === "string" ? resolve(x.$ref) : x);

test("served without login, as JSON, and the same to an operator", async () => {
  expect(contentType).toContain("application/json");
  const again = await t.json("/api/v1/openapi.json");
  expect(again.status).toBe(200);
  expect(again.body).toEqual(doc);
});

test("documents every route the app has under /api/v1, and no other", async () => {
  // The same createApp as the server's; its routes are what Hono matches requests against.
  // Middleware (`use`, method ALL) is not a route. The agent's WebSocket is documented as the
  // HTTP upgrade it starts with; its frames are the wire protocol's (docs/protocol.md).
  const { app } = await memoryApp();
  const served = new Set(
    app.routes
      .filter((r) => r.method !== "ALL" && r.path.startsWith("/api/v1/"))
      .map((r) => `${r.method} ${openApiPath(r.path.slice("/api/v1".length)).path}`),
  );
  const documented = operations().map((o) => `${o.method} ${o.path}`);
  expect(new Set(documented).size).toBe(documented.length);
  // A route missing from the document: give it an entry in API_OPERATIONS (routes/api-operations.ts).
  expect(documented.sort(), "documented vs served routes").toEqual([...served].sort());
});

test("a well-formed OpenAPI 3.1 document: required fields, parameters, unique ids, and every $ref resolves", () => {
  expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
  expect(typeof doc.info.title).toBe("string");
  expect(typeof doc.info.version).toBe("string");
  expect(doc.servers).toEqual([{ url: "/api/v1" }]);
  const schemes = doc.components.securitySchemes as Record<string, Json>;
  for (const s of Object.values(schemes)) {
    expect(["http", "apiKey"]).toContain(s.type);
    if (s.type === "http") expect(s.scheme).toBe("bearer");
    else {
      expect(["header", "cookie", "query"]).toContain(s.in);
      expect(typeof s.name).toBe("string");
    }
  }
  const tags = new Set((doc.tags as Json[]).map((x) => x.name));
  const ids = new Set<string>();
  for (const { method, path, op } of operations()) {
    const where = `${method} ${path}`;
    expect(path.startsWith("/"), where).toBe(true);
    expect(typeof op.operationId, where).toBe("string");
    expect(ids.has(op.operationId), `${where}: operationId ${op.operationId} is unique`).toBe(false);
    ids.add(op.operationId);
    expect(op.summary, where).toBeTruthy();
    for (const tag of op.tags) expect(tags.has(tag), `${where}: tag ${tag}`).toBe(true);
    for (const req of op.security) for (const name of Object.keys(req)) expect(schemes[name], name).toBeDefined();

    const params = (op.parameters ?? []) as Json[];
    for (const p of params) {
      expect(["query", "path", "header", "cookie"], where).toContain(p.in);
      expect(typeof p.name, where).toBe("string");
      expect(p.schema, `${where}: ${p.name} has a schema`).toBeDefined();
    }
    const keys = params.map((p) => `${p.in}:${p.name}`);
    expect(new Set(keys).size, `${where}: parameters are unique`).toBe(keys.length);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const inPath = params.filter((p) => p.in === "path");
    expect(inPath.map((p) => p.name).sort(), where).toEqual(templated.sort());
    for (const p of inPath) expect(p.required, where).toBe(true);

    if (op.requestBody) expect(Object.keys(op.requestBody.content).length, where).toBeGreaterThan(0);
    const responses = Object.entries(op.responses as Record<string, Json>);
    expect(responses.length, where).toBeGreaterThan(0);
    for (const [status, r] of responses) {
      expect(status, where).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
      expect(typeof deref(r).description, `${where} ${status}`).toBe("string");
    }
  }
  // Every $ref anywhere (schemas, responses) points at something in this document.
  let refs = 0;
  const walk = (x: Json): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === "object") {
      if (typeof x.$ref === "string") {
        resolve(x.$ref);
        refs++;
      }
      Object.values(x).forEach(walk);
    }
  };
  walk(doc);
  expect(refs).toBeGreaterThan(operations().length);
});

test("who may call each operation is what the server enforces", async () => {
  for (const { method, path, op } of operations()) {
    const res = await t.api(url(path), { method, token: null, ...(op.requestBody ? { body: {} } : {}) });
    await res.body?.cancel();
    // No credentials: 401 where the document asks for some, never where it asks for none.
    if (op.security.length > 0) expect(res.status, `${method} ${path}`).toBe(401);
    else expect(res.status, `${method} ${path}`).not.toBe(401);
  }
  const ws = doc.paths["/agent/ws"].get.security;
  expect(ws).toEqual([{ agentToken: [] }]);
  // Cookie sessions need the CSRF header on unsafe methods only.
  expect(doc.paths["/hosts"].get.security).toEqual([{ apiToken: [] }, { session: [] }]);
  expect(doc.paths["/hosts/{id}"].patch.security).toEqual([{ apiToken: [] }, { session: [], csrf: [] }]);
});

/** The keys a body must have: its own, or (a union by kind) those every alternative needs. */
function requiredKeys(schema: Json): string[] {
  if (schema.required) return schema.required;
  const options = (schema.oneOf ?? schema.anyOf ?? []) as Json[];
  if (options.length === 0) return [];
  return requiredKeys(options[0]).filter((k) => options.every((o) => requiredKeys(o).includes(k)));
}

/** JSON Schema's name for a value's type. */
const typeOf = (x: unknown) => (x === null ? "null" : Array.isArray(x) ? "array" : typeof x);
/** A value a property's schema refuses by its type, or undefined when it takes any. */
function wrongValue(schema: Json): unknown {
  const types = new Set<string>(
    [schema.type, ...((schema.anyOf ?? []) as Json[]).map((o) => o.type)].flat().filter(Boolean),
  );
  if (types.has("integer")) types.add("number");
  if (types.size === 0) return undefined;
  return [1, "x", true, [], null].find((x) => !types.has(typeOf(x)));
}

test("the documented bodies are the ones the routes validate: each refuses what its schema refuses", async () => {
  const bodies = operations().filter((o) => o.op.requestBody);
  for (const { method, path, op } of bodies) {
    const schema = deref(op.requestBody.content["application/json"].schema);
    const required = requiredKeys(schema);
    const [first, firstSchema] = Object.entries((schema.properties ?? {}) as Record<string, Json>)[0] ?? [];
    const wrong = firstSchema ? wrongValue(firstSchema) : undefined;
    let body: Record<string, unknown>;
    let named: string[];
    // A missing required field; else the first field with a value of the wrong type; else an unknown field.
    if (required.length > 0) [body, named] = [{}, required];
    else if (first && wrong !== undefined) [body, named] = [{ [first]: wrong }, [first]];
    else if (schema.additionalProperties === false) [body, named] = [{ [PROBE]: 1 }, [PROBE]];
    else throw new Error(`${method} ${path}: no probe fits this body's schema; add one here`);
    const res = await t.json(url(path), { method, body });
    expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
    expect(named, `${method} ${path}: ${res.body.error.message}`).toContain(res.body.error.path);
  }
  expect(bodies.length).toBeGreaterThan(20);
});

test("the documented query parameters are the ones the routes validate: an enum or pattern is enforced by name", async () => {
  let probed = 0;
  for (const { method, path, op } of operations()) {
    const query = ((op.parameters ?? []) as Json[]).filter((p) => p.in === "query");
    // Required ones get a value, so that the probed one is the first wrong one.
    const base = query.filter((p) => p.required).map((p) => `${p.name}=x`);
    for (const p of query) {
      const refuses = p.schema.enum
        ? !p.schema.enum.includes(PROBE)
        : p.schema.pattern && !new RegExp(p.schema.pattern, "u").test(PROBE);
      if (!refuses) continue;
      const qs = [...base.filter((b) => !b.startsWith(`${p.name}=`)), `${p.name}=${PROBE}`].join("&");
      const res = await t.json(url(path, qs), { method });
      expect(res.status, `${method} ${path}?${qs}`).toBe(400);
      expect(res.body.error.path, `${method} ${path}?${qs}: ${res.body.error.message}`).toBe(p.name);
      probed++;
    }
  }
  expect(probed).toBeGreaterThan(15);
});

test("a GET that documents no limit or cursor takes none: a paging schema added to a route shows up here", async () => {
  // Same answer with and without the parameter: the route ignores it. A route that starts to
  // validate one (a new query schema not yet in API_OPERATIONS) refuses the probe with 400.
  let probed = 0;
  for (const { method, path, op } of operations()) {
    if (method !== "GET") continue;
    const query = ((op.parameters ?? []) as Json[]).filter((p) => p.in === "query");
    const base = query.filter((p) => p.required).map((p) => `${p.name}=x`);
    for (const name of ["limit", "cursor"]) {
      if (query.some((p) => p.name === name)) continue;
      const status = async (qs: string[]) => {
        const res = await t.api(url(path, qs.join("&")));
        await res.body?.cancel();
        return res.status;
      };
      const plain = await status(base);
      expect(await status([...base, `${name}=${PROBE}`]), `${method} ${path}?${name}: document its query schema`).toBe(
        plain,
      );
      probed++;
    }
  }
  expect(probed).toBeGreaterThan(40);
});
