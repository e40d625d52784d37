import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

async function login(username: string, password: string) {
  const res = await t.api("/api/v1/session", { method: "POST", body: { username, password }, token: null });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return {
    res,
    cookie,
    body: (await res.json()) as { csrf_token?: string; error?: { code: string; message: string } },
  };
}

describe("operators", () => {
  test("no token and a wrong token get 401 with a clear error", async () => {
    const none = await t.json("/api/v1/hosts", { token: null });
    expect(none.status).toBe(401);
    expect(none.body.error.message).toContain("log in first");
    const wrong = await t.json("/api/v1/hosts", { token: "rft_wrong" });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("unauthorized");
  });

  test("a session cookie works for reads, and unsafe methods need the CSRF token", async () => {
    const s = await login("admin", "admin-password");
    expect(s.res.status).toBe(201);
    expect(s.res.headers.get("set-cookie")).toContain("HttpOnly");
    expect(s.res.headers.get("set-cookie")).toContain("SameSite=Strict");
    const read = await t.json("/api/v1/hosts", { token: null, headers: { Cookie: s.cookie } } as never);
    expect(read.status).toBe(200);
    const noCsrf = await t.api("/api/v1/enrollment-tokens", {
      method: "POST",
      body: {},
      token: null,
      headers: { Cookie: s.cookie },
    });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: { message: string } }).error.message).toContain("X-CSRF-Token");
    const ok = await t.api("/api/v1/enrollment-tokens", {
      method: "POST",
      body: {},
      token: null,
      headers: { Cookie: s.cookie, "X-CSRF-Token": s.body.csrf_token ?? "" },
    });
    expect(ok.status).toBe(201);
    const out = await t.api("/api/v1/session", { method: "DELETE", token: null, headers: { Cookie: s.cookie } });
    expect(out.status).toBe(204);
    const after = await t.api("/api/v1/hosts", { token: null, headers: { Cookie: s.cookie } });
    expect(after.status).toBe(401);
  });

  test("a viewer can read but not act", async () => {
    const viewer = await t.server.domain.auth.createUser("watcher", "viewer-password", "viewer", null);
    const token = t.server.domain.auth.createApiToken(
      { user_id: viewer.id, username: "watcher", role: "viewer" },
      "ro",
    ).token;
    expect((await t.json("/api/v1/hosts", { token })).status).toBe(200);
    const denied = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: {}, token });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain("admin role");
  });

  test("the role rule holds at every door that changes something (it lives in the domain)", async () => {
    const host = await t.enroll();
    const sched = await t.json(`/api/v1/hosts/${host.host_id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 2 * * *", paths: ["/srv"] },
    });
    const job = await t.json(`/api/v1/hosts/${host.host_id}/jobs`, { method: "POST", body: { kind: "init" } });
    const viewer = await t.server.domain.auth.createUser("watcher", "viewer-password", "viewer", null);
    const actor = { user_id: viewer.id, username: "watcher", role: "viewer" as const };
    const token = t.server.domain.auth.createApiToken(actor, "ro").token;
    const changes: Array<[string, string, unknown]> = [
      ["POST", "/api/v1/enrollment-tokens", {}],
      ["PATCH", `/api/v1/hosts/${host.host_id}`, { name: "x" }],
      ["PUT", `/api/v1/hosts/${host.host_id}/config`, { repo_url: "/x" }],
      ["DELETE", `/api/v1/hosts/${host.host_id}`, undefined],
      ["POST", `/api/v1/hosts/${host.host_id}/schedules`, { kind: "backup", cron_expr: "0 3 * * *", paths: ["/a"] }],
      ["PATCH", `/api/v1/schedules/${sched.body.id}`, { enabled: false }],
      ["DELETE", `/api/v1/schedules/${sched.body.id}`, undefined],
      ["POST", `/api/v1/hosts/${host.host_id}/jobs`, { kind: "init" }],
      ["POST", `/api/v1/jobs/${job.body.id}/cancel`, undefined],
      ["POST", "/api/v1/users", { username: "x", password: "long-enough-pw" }],
      ["PATCH", `/api/v1/users/${viewer.id}`, { role: "admin" }],
    ];
    for (const [method, path, body] of changes) {
      const r = await t.json(path, { method, body, token });
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 403 });
    }
    // Nothing changed, and reads still work.
    expect((await t.json(`/api/v1/hosts/${host.host_id}`, { token })).body.name).toBe("web-01");
    expect((await t.json(`/api/v1/jobs/${job.body.id}`, { token })).body.status).toBe("queued");
    // A token is personal: a viewer may revoke their own.
    const own = t.server.domain.auth.createApiToken(actor, "mine");
    expect((await t.api(`/api/v1/api-tokens/${own.id}`, { method: "DELETE", token })).status).toBe(204);
  });

  test("wrong credentials are refused, and repeated failures wait longer and longer", async () => {
    for (let i = 0; i < 5; i++) {
      const bad = await login("admin", "nope");
      expect(bad.res.status).toBe(401);
      expect(bad.body.error?.message).toBe("wrong user name or password");
    }
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const throttled = await login("admin", "nope");
      expect(throttled.res.status).toBe(429);
      waits.push(Number(throttled.res.headers.get("Retry-After")));
      t.clock.advance((waits.at(-1) as number) * 1000);
      expect((await login("admin", "nope")).res.status).toBe(401);
    }
    expect(waits).toEqual([1, 2, 4]);
    expect((await login("admin", "admin-password")).res.status).toBe(429);
    t.clock.advance(8000);
    expect((await login("admin", "admin-password")).res.status).toBe(201);
  });

  test("admin actions are audited without secrets", async () => {
    const h = await t.enroll();
    await t.json(`/api/v1/hosts/${h.host_id}/config`, { method: "PUT", body: { repo_password: "hunter2-secret" } });
    const entries = t.server.store.listAudit(50, null);
    const actions = entries.map((e) => e.action);
    expect(actions).toContain("host.config");
    expect(actions).toContain("enrollment_token.create");
    expect(JSON.stringify(entries)).not.toContain("hunter2-secret");
  });

  test("bad bodies name the field", async () => {
    const h = await t.enroll();
    const bad = await t.json(`/api/v1/hosts/${h.host_id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 2 * * *", paths: ["/ok", 7] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.path).toBe("paths.1");
    const notJson = await t.json(`/api/v1/hosts/${h.host_id}/schedules`, { method: "POST", body: "{oops" });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.message).toContain("not valid JSON");
    const huge = await t.api(`/api/v1/hosts/${h.host_id}/schedules`, {
      method: "POST",
      body: "x".repeat(2 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
    const relative = await t.json(`/api/v1/hosts/${h.host_id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 2 * * *", paths: ["data"] },
    });
    expect(relative.body.error.path).toBe("paths.0");
    const tz = await t.json(`/api/v1/hosts/${h.host_id}/schedules`, {
      method: "POST",
      body: { kind: "backup", cron_expr: "0 2 * * *", paths: ["/d"], timezone: "Mars/Base" },
    });
    expect(tz.body.error.path).toBe("timezone");
    const missing = await t.json("/api/v1/hosts/host_nope");
    expect(missing.status).toBe(404);
  });
});

describe("agents", () => {
  test("the websocket needs a valid agent token: 401 and no socket otherwise", async () => {
    const noToken = await fetch(`${t.url}/api/v1/agent/ws`, {
      headers: { Upgrade: "websocket", Connection: "Upgrade" },
    });
    expect(noToken.status).toBe(401);
    const bad = new TestAgent(t.url, "rfa_wrong");
    await expect(bad.opened).rejects.toThrow();
  });

  test("enrollment tokens: one use, expiry, and unknown tokens are refused", async () => {
    const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 1, expires_in: "1h" } });
    const first = await t.json("/api/v1/agent/enroll", {
      method: "POST",
      token: null,
      body: { token: tok.body.token, hostname: "a" },
    });
    expect(first.status).toBe(201);
    expect(first.body.agent_token).toStartWith("rfa_");
    const second = await t.json("/api/v1/agent/enroll", {
      method: "POST",
      token: null,
      body: { token: tok.body.token, hostname: "b" },
    });
    expect(second.status).toBe(401);
    expect(second.body.error.message).toContain("no uses left");
    const tok2 = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { expires_in: "1h" } });
    t.clock.advance(3_601_000);
    const late = await t.json("/api/v1/agent/enroll", {
      method: "POST",
      token: null,
      body: { token: tok2.body.token, hostname: "c" },
    });
    expect(late.body.error.message).toContain("expired");
    const unknown = await t.json("/api/v1/agent/enroll", {
      method: "POST",
      token: null,
      body: { token: "rfe_x", hostname: "d" },
    });
    expect(unknown.status).toBe(401);
  });

  test("uses left is decided in the write: 12 enrollments at once on a 3-use token make 3 hosts", async () => {
    const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 3 } });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        t.json("/api/v1/agent/enroll", {
          method: "POST",
          token: null,
          body: { token: tok.body.token, hostname: `h${i}` },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([...Array(3).fill(201), ...Array(9).fill(401)]);
    expect((await t.json("/api/v1/hosts")).body.items).toHaveLength(3);
  });

  test("revoking a host closes its socket, and its token stops working", async () => {
    const h = await t.enroll();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello();
    expect((await t.json(`/api/v1/hosts/${h.host_id}`, { method: "DELETE" })).status).toBe(204);
    expect((await agent.waitClosed()).code).toBe(4001);
    const again = new TestAgent(t.url, h.agent_token);
    await expect(again.opened).rejects.toThrow();
  });
});
