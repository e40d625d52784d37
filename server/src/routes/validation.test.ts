import { beforeEach, describe, expect, test } from "bun:test";
import { memoryApp } from "../testing/memory-app.ts";

// HTTP validation of the routes that take bodies, through `app.request` (no port): every bad
// input answers 400 with the offending field in `path`, and changes nothing.

let t: Awaited<ReturnType<typeof memoryApp>>;
beforeEach(async () => {
  t = await memoryApp();
});

async function refused(method: string, path: string, body: unknown, field: string, text?: string) {
  const r = await t.call(method, path, body);
  expect({ status: r.status, path: r.body?.error?.path }).toEqual({ status: 400, path: field });
  if (text) expect(r.body.error.message).toContain(text);
  return r;
}

describe("POST /hosts/:id/jobs (run now)", () => {
  const jobs = () => `/hosts/${t.hostId}/jobs`;

  test("the spec is checked by the same rules as a schedule's, whatever the door", async () => {
    await refused("POST", jobs(), { kind: "backup", spec: { paths: ["relative/dir"] } }, "spec.paths.0", "absolute");
    await refused("POST", jobs(), { kind: "backup", spec: { paths: ["/a"], tags: ["-x"] } }, "spec.tags.0", "'-'");
    await refused("POST", jobs(), { kind: "backup", spec: {} }, "spec.paths", "at least one path");
    await refused(
      "POST",
      jobs(),
      { kind: "restore", spec: { snapshot_id: "latest", target: "relative" } },
      "spec.target",
    );
    await refused("POST", jobs(), { kind: "restore", spec: { snapshot_id: "--x", target: "/r" } }, "spec.snapshot_id");
    await refused("POST", jobs(), { kind: "forget", spec: { policy: { keep_last: 0 } } }, "spec.policy", "keeps");
    await refused("POST", jobs(), { kind: "check", spec: { read_data_subset: "lots" } }, "spec.read_data_subset");
    expect((await t.call("GET", `/jobs?host_id=${t.hostId}`)).body.items).toEqual([]);
  });

  test("unknown fields and kinds are refused by name, not dropped", async () => {
    await refused("POST", jobs(), { kind: "backup", spec: { pathz: ["/a"] } }, "spec.pathz", "unknown field");
    await refused("POST", jobs(), { kind: "backup", spec: { paths: ["/a"] }, extra: 1 }, "extra", "unknown field");
    await refused("POST", jobs(), { kind: "defrag" }, "kind");
    const r = await t.call("POST", jobs(), "{not json");
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("not valid JSON");
  });

  test("a good spec makes a job", async () => {
    const r = await t.call("POST", jobs(), { kind: "backup", spec: { paths: ["/srv", "C:\\Data"], tags: ["daily"] } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: "backup", status: "queued", args: ["/srv", "C:\\Data"] });
  });
});

describe("schedules", () => {
  const schedules = () => `/hosts/${t.hostId}/schedules`;
  const backup = { kind: "backup", cron_expr: "0 2 * * *", paths: ["/srv"] };

  test("cron, time zone, paths and fields", async () => {
    await refused("POST", schedules(), { ...backup, cron_expr: "0 25 * * *" }, "cron_expr");
    await refused("POST", schedules(), { ...backup, timezone: "Mars/X" }, "timezone", "unknown time zone");
    await refused(
      "POST",
      schedules(),
      { ...backup, options: { timezone: "Mars/X" } },
      "options.timezone",
      "timezone field",
    );
    await refused("POST", schedules(), { ...backup, paths: ["relative"] }, "paths.0", "absolute");
    await refused("POST", schedules(), { ...backup, pathz: ["/srv"] }, "pathz", "unknown field");
    await refused(
      "POST",
      schedules(),
      { ...backup, retention_policy: { keep_last: 3 } },
      "retention_policy",
      "only for forget",
    );
    await refused(
      "POST",
      schedules(),
      { kind: "forget", cron_expr: "0 3 * * *", retention_policy: {} },
      "retention_policy",
    );
    await refused(
      "POST",
      schedules(),
      { kind: "check", cron_expr: "0 3 * * *", options: { read_data_subset: "x" } },
      "options.read_data_subset",
    );
    await refused("POST", schedules(), { kind: "restore", cron_expr: "0 3 * * *" }, "kind");
    expect((await t.call("GET", schedules())).body.items).toEqual([]);
    const ok = await t.call("POST", schedules(), { ...backup, timezone: "Europe/Berlin" });
    expect(ok.status).toBe(201);
    await refused("PATCH", `/schedules/${ok.body.id}`, { enabled: "yes" }, "enabled");
    await refused("PATCH", `/schedules/${ok.body.id}`, { cron_expr: "" }, "cron_expr");
  });
});

describe("hosts and tokens", () => {
  test("host rename and repository settings", async () => {
    await refused("PATCH", `/hosts/${t.hostId}`, { name: "" }, "name");
    await refused("PATCH", `/hosts/${t.hostId}`, { name: 7 }, "name");
    await refused("PUT", `/hosts/${t.hostId}/config`, { repo_url: "x".repeat(5000) }, "repo_url");
    await refused("PUT", `/hosts/${t.hostId}/config`, { hook_shell: 3 }, "hook_shell");
    expect((await t.call("GET", `/hosts/${t.hostId}`)).body.name).toBe("web-01");
  });

  test("enrollment and API tokens", async () => {
    await refused("POST", "/enrollment-tokens", { uses: 0 }, "uses");
    await refused("POST", "/enrollment-tokens", { expires_in: "7x" }, "expires_in", "duration");
    await refused("POST", "/api-tokens", { name: "" }, "name");
    await refused("POST", "/api-tokens", {}, "name");
  });
});
