import { beforeEach, describe, expect, test } from "bun:test";
import { actorOf } from "../domain/auth.ts";
import { memoryApp } from "../testing/memory-app.ts";

// Labels on hosts and enrollment tokens, and the token list and revoke, through `app.request`
// (no port): validation names the field, viewers are refused, and nothing is half-applied.

let t: Awaited<ReturnType<typeof memoryApp>>;
let viewerToken: string;
beforeEach(async () => {
  t = await memoryApp();
  const viewer = await t.domain.auth.createUser("watcher", "viewer-password", "viewer", null);
  viewerToken = t.domain.auth.createApiToken(actorOf(viewer), "viewer").token;
});

async function refused(method: string, path: string, body: unknown, field: string, text?: string) {
  const r = await t.call(method, path, body);
  expect({ status: r.status, path: r.body?.error?.path }).toEqual({ status: 400, path: field });
  if (text) expect(r.body.error.message).toContain(text);
  return r;
}

async function asViewer(method: string, path: string, body?: unknown) {
  const res = await t.app.request(`/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${viewerToken}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.status;
}

const auditOf = async (action: string) =>
  ((await t.call("GET", "/audit-log")).body.items as Array<{ action: string; target: string; detail: unknown }>).filter(
    (e) => e.action === action,
  );

describe("PATCH /hosts/:id {name, labels}", () => {
  const host = () => `/hosts/${t.hostId}`;

  test("bad keys, values, counts and fields are refused by name, and change nothing", async () => {
    await refused("PATCH", host(), { labels: { Env: "prod" } }, "labels.Env", "label key");
    await refused("PATCH", host(), { labels: { env: "pr od" } }, "labels.env", "label value");
    await refused("PATCH", host(), { labels: { env: "v".repeat(64) } }, "labels.env");
    await refused("PATCH", host(), { labels: { env: 1 } }, "labels.env");
    await refused("PATCH", host(), { labels: ["env=prod"] }, "labels");
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    await refused("PATCH", host(), { labels: many }, "labels", "at most 64");
    await refused("PATCH", host(), { name: "renamed", labels: { "-x": "1" } }, "labels.-x");
    await refused("PATCH", host(), { labels: { env: "prod" }, label: { env: "prod" } }, "label", "unknown field");
    await refused("PATCH", host(), {}, undefined as never, "name, labels or both");
    const h = (await t.call("GET", host())).body;
    expect({ name: h.name, labels: h.labels }).toEqual({ name: "web-01", labels: {} });
    expect(await auditOf("host.update")).toEqual([]);
  });

  test("labels replace the whole map, are shown in every host view, and are audited before and after", async () => {
    const first = await t.call("PATCH", host(), { labels: { role: "db", env: "prod" } });
    expect(first.status).toBe(200);
    expect(first.body.labels).toEqual({ env: "prod", role: "db" });
    const second = await t.call("PATCH", host(), { name: "db-01", labels: { env: "staging" } });
    expect(second.body).toMatchObject({ name: "db-01", labels: { env: "staging" } });
    expect((await t.call("GET", host())).body.labels).toEqual({ env: "staging" });
    expect((await t.call("GET", "/hosts")).body.items[0].labels).toEqual({ env: "staging" });
    // A name alone leaves the labels as they are.
    expect((await t.call("PATCH", host(), { name: "db-02" })).body.labels).toEqual({ env: "staging" });
    const entries = await auditOf("host.update");
    expect(entries.map((e) => e.detail).reverse()).toEqual([
      { labels: { before: {}, after: { env: "prod", role: "db" } } },
      {
        name: { before: "web-01", after: "db-01" },
        labels: { before: { env: "prod", role: "db" }, after: { env: "staging" } },
      },
      { name: { before: "db-01", after: "db-02" } },
    ]);
    // The same map again changes nothing, and writes no entry.
    await t.call("PATCH", host(), { labels: { env: "staging" } });
    expect(await auditOf("host.update")).toHaveLength(3);
  });

  test("a viewer may read labels but not set them", async () => {
    expect(await asViewer("PATCH", host(), { labels: { env: "prod" } })).toBe(403);
    expect(await asViewer("GET", host())).toBe(200);
    expect((await t.call("GET", host())).body.labels).toEqual({});
  });

  test("an unknown host is 404", async () => {
    expect((await t.call("PATCH", "/hosts/host_nope", { labels: { env: "prod" } })).status).toBe(404);
  });
});

describe("GET /hosts?label=", () => {
  test("every label given must match; a malformed filter is 400 naming label", async () => {
    const other = t.domain.auth.enroll(
      t.domain.auth.createEnrollmentToken(null, { uses: 1, expiresInMs: 60_000, labels: { env: "prod", role: "db" } })
        .token,
      "db-01",
    );
    await t.call("PATCH", `/hosts/${t.hostId}`, { labels: { env: "prod", role: "web" } });
    const ids = async (q: string) =>
      ((await t.call("GET", `/hosts${q}`)).body.items as { id: string }[]).map((h) => h.id);
    expect((await ids("")).sort()).toEqual([other.host_id, t.hostId].sort());
    expect((await ids("?label=env=prod")).sort()).toEqual([other.host_id, t.hostId].sort());
    expect(await ids("?label=env=prod&label=role=db")).toEqual([other.host_id]);
    expect(await ids("?label=role=web")).toEqual([t.hostId]);
    expect(await ids("?label=env=staging")).toEqual([]);
    for (const bad of ["env", "Env=prod", "env=a%20b", "env=a&label=env=b"]) {
      await refused("GET", `/hosts?label=${bad}`, undefined, "label");
    }
  });
});

describe("enrollment tokens", () => {
  test("create: labels are checked like a host's, and unknown fields refused", async () => {
    await refused("POST", "/enrollment-tokens", { uses: 2, labels: { "Bad key": "x" } }, "labels.Bad key");
    await refused("POST", "/enrollment-tokens", { labels: { env: "a/b" } }, "labels.env");
    await refused("POST", "/enrollment-tokens", { uses: 2, label: { env: "prod" } }, "label", "unknown field");
    expect((await t.call("GET", "/enrollment-tokens")).body.items).toHaveLength(1); // memoryApp's own
    const r = await t.call("POST", "/enrollment-tokens", { uses: 3, expires_in: "7d", labels: { env: "prod" } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ labels: { env: "prod" }, uses: 3, uses_left: 3, revoked_at: null });
    expect(r.body.token).toStartWith("rfe_");
    expect((await auditOf("enrollment_token.create"))[0]?.detail).toMatchObject({ uses: 3, labels: { env: "prod" } });
  });

  test("list (newest first, paged, never the secret) and revoke (204; then it enrolls no host)", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: test responses are read ad hoc
    const made: any[] = [];
    for (const env of ["a", "b", "c"]) {
      t.clock.advance(1000);
      made.push((await t.call("POST", "/enrollment-tokens", { uses: 5, labels: { env } })).body);
    }
    const page1 = await t.call("GET", "/enrollment-tokens?limit=2");
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((x: { id: string }) => x.id)).toEqual([made[2].id, made[1].id]);
    expect(Object.keys(page1.body.items[0]).sort()).toEqual(
      ["created_at", "created_by", "expires_at", "id", "labels", "revoked_at", "uses", "uses_left"].sort(),
    );
    expect(JSON.stringify(page1.body)).not.toContain(made[2].token);
    const page2 = await t.call("GET", `/enrollment-tokens?limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body.items.map((x: { id: string }) => x.id)).toEqual([made[0].id, expect.any(String)]);
    expect(page2.body.next_cursor).toBeNull();
    await refused("GET", "/enrollment-tokens?cursor=nonsense", undefined, "cursor");

    expect((await t.call("DELETE", `/enrollment-tokens/${made[1].id}`)).status).toBe(204);
    expect((await t.call("DELETE", `/enrollment-tokens/${made[1].id}`)).status).toBe(204);
    expect((await t.call("DELETE", "/enrollment-tokens/enr_nope")).status).toBe(404);
    const listed = (await t.call("GET", "/enrollment-tokens")).body.items.find(
      (x: { id: string }) => x.id === made[1].id,
    );
    expect(listed.revoked_at).toBe(t.clock.now().toISOString());
    expect(await auditOf("enrollment_token.revoke")).toHaveLength(1);
    const enroll = await t.call("POST", "/agent/enroll", { token: made[1].token, hostname: "late-01" });
    expect(enroll.status).toBe(401);
    expect(enroll.body.error.message).toContain("revoked");
    // The others still enroll, and their hosts get their labels.
    const ok = await t.call("POST", "/agent/enroll", { token: made[2].token, hostname: "c-01" });
    expect(ok.status).toBe(201);
    expect((await t.call("GET", `/hosts/${ok.body.host_id}`)).body.labels).toEqual({ env: "c" });
  });

  test("a viewer may not create, list or revoke them", async () => {
    const id = (await t.call("GET", "/enrollment-tokens")).body.items[0].id;
    expect(await asViewer("POST", "/enrollment-tokens", { uses: 1 })).toBe(403);
    expect(await asViewer("GET", "/enrollment-tokens")).toBe(403);
    expect(await asViewer("DELETE", `/enrollment-tokens/${id}`)).toBe(403);
    expect((await t.call("GET", "/enrollment-tokens")).body.items[0].revoked_at).toBeNull();
  });
});
