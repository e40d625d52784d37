import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../testing/harness.ts";

// max_offline_age (issue 19, DESIGN §8.7) through the real server: set on a host (PATCH) and on
// policies, refused by field when it is no duration or out of range, and each host's value in
// effect with its source, by the policies' own order. What reaches the agents is
// gateway/protocol-versions.int.test.ts's.

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

const host = async (id: string) => (await t.json(`/api/v1/hosts/${id}`)).body;
const patchHost = (id: string, body: unknown) => t.json(`/api/v1/hosts/${id}`, { method: "PATCH", body });

test("a host's own value, its policies' and the default, each with its source", async () => {
  const { host_id } = await t.enroll("web-01");
  await patchHost(host_id, { labels: { env: "prod" } });
  expect(await host(host_id)).toMatchObject({
    max_offline_age: null,
    effective_max_offline_age: { value: "7d", seconds: 604_800, source: "default" },
  });

  // Policies: the first that sets it among those matching, highest priority first.
  const low = await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "low", selector: { labels: { env: "prod" } }, priority: 1, max_offline_age: "3d" },
  });
  expect(low.status).toBe(201);
  expect(low.body.max_offline_age).toBe("3d");
  const high = await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "high", selector: { labels: { env: "prod" } }, priority: 5 },
  });
  await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "dev", selector: { labels: { env: "dev" } }, priority: 9, max_offline_age: "1h" },
  });
  expect((await host(host_id)).effective_max_offline_age).toEqual({
    value: "3d",
    seconds: 259_200,
    source: "policy",
    policy_id: low.body.id,
  });
  await t.json(`/api/v1/policies/${high.body.id}`, { method: "PATCH", body: { max_offline_age: "36H" } });
  expect((await host(host_id)).effective_max_offline_age).toMatchObject({
    value: "36h",
    source: "policy",
    policy_id: high.body.id,
  });

  // The host's own wins; "off" is stored as "0"; null clears it.
  const own = await patchHost(host_id, { max_offline_age: "off" });
  expect(own.status).toBe(200);
  expect(own.body).toMatchObject({
    max_offline_age: "0",
    effective_max_offline_age: { value: "0", seconds: 0, source: "host" },
  });
  // The list shows the same as one host.
  const listed = (await t.json("/api/v1/hosts")).body.items.find((h: { id: string }) => h.id === host_id);
  expect(listed.effective_max_offline_age).toEqual(own.body.effective_max_offline_age);
  const cleared = await patchHost(host_id, { max_offline_age: null });
  expect(cleared.body).toMatchObject({ max_offline_age: null, effective_max_offline_age: { source: "policy" } });

  // Each change is audited, before and after.
  const audit = (await t.json("/api/v1/audit-log?limit=50")).body.items;
  const entry = audit.find(
    (a: { action: string; detail: Record<string, unknown> | null }) =>
      a.action === "host.update" && a.detail?.max_offline_age !== undefined,
  );
  expect(entry.detail.max_offline_age).toEqual({ before: "0", after: null });
});

test("bad values and unknown fields are refused by field name", async () => {
  const { host_id } = await t.enroll("web-01");
  const refused = async (res: Promise<{ status: number; body: { error: { path?: string; message: string } } }>) => {
    const r = await res;
    expect(r.status).toBe(400);
    return r.body.error;
  };
  expect(await refused(patchHost(host_id, { max_offline_age: "a week" }))).toMatchObject({
    path: "max_offline_age",
    message: expect.stringContaining("like 90m, 36h or 7d"),
  });
  expect((await refused(patchHost(host_id, { max_offline_age: "5m" }))).message).toContain("10m to 365d");
  expect((await refused(patchHost(host_id, { max_offline_age: "400d" }))).message).toContain("10m to 365d");
  expect((await refused(patchHost(host_id, { max_offline_age: 3600 }))).path).toBe("max_offline_age");
  expect(await refused(patchHost(host_id, { max_offline_ages: "7d" }))).toMatchObject({
    path: "max_offline_ages",
    message: expect.stringContaining("unknown field"),
  });
  const policy = await refused(
    t.json("/api/v1/policies", { method: "POST", body: { name: "p", max_offline_age: "1y" } }),
  );
  expect(policy.path).toBe("max_offline_age");
  // Nothing was stored.
  expect((await host(host_id)).max_offline_age).toBeNull();
  expect((await t.json("/api/v1/policies")).body.items).toEqual([]);
});
