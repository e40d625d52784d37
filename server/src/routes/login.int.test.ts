import { afterEach, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../testing/harness.ts";

let t: TestServer;
afterEach(async () => {
  await t.close();
});

async function login(username: string, password: string, forwardedFor?: string) {
  const res = await t.api("/api/v1/session", {
    method: "POST",
    body: { username, password },
    token: null,
    headers: forwardedFor ? { "X-Forwarded-For": forwardedFor } : {},
  });
  const body = (await res.json()) as { error?: { message: string } };
  return { status: res.status, retryAfter: Number(res.headers.get("Retry-After")), body };
}

const failedLoginAddresses = () =>
  t.server.store
    .listAudit(100, null)
    .filter((e) => e.action === "session.login_failed")
    .map((e) => e.detail?.address);

describe("the real server, on loopback", () => {
  test("100 wrong guesses sent at once: at most 5 are checked, and then the right password waits", async () => {
    t = await startTestServer();
    const guesses = await Promise.all(Array.from({ length: 100 }, (_, i) => login("admin", `guess-${i}`)));
    const statuses = guesses.map((g) => g.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(failedLoginAddresses().length).toBeLessThanOrEqual(5);
    const right = await login("admin", "admin-password");
    expect(right.status).toBe(429);
    expect(right.retryAfter).toBeGreaterThan(0);
    expect(right.body.error?.message).toContain(`try again in ${right.retryAfter} s`);
    t.clock.advance(right.retryAfter * 1000);
    expect((await login("admin", "admin-password")).status).toBe(201);
  });

  test("without --trusted-proxy, X-Forwarded-For is ignored: forging it neither evades nor frames", async () => {
    t = await startTestServer();
    for (let i = 0; i < 5; i++) expect((await login("admin", "wrong", `192.0.2.${i}`)).status).toBe(401);
    expect((await login("admin", "admin-password", "198.51.100.7")).status).toBe(429);
    expect(new Set(failedLoginAddresses())).toEqual(new Set(["127.0.0.1"]));
  });

  test("with --trusted-proxy 127.0.0.1/32, the forwarded client is throttled, not the proxy", async () => {
    t = await startTestServer({ trustedProxies: ["127.0.0.1/32"] });
    // The lock-out of issue 13: five wrong logins as "ADMIN", behind the proxy.
    for (let i = 0; i < 5; i++) expect((await login("ADMIN", "wrong", "203.0.113.9")).status).toBe(401);
    expect((await login("admin", "admin-password", "203.0.113.9")).status).toBe(429);
    expect((await login("admin", "admin-password", "198.51.100.7")).status).toBe(201);
    // A client's own X-Forwarded-For is left of what the proxy appends, so it is not believed.
    expect((await login("ghost", "x", "10.9.9.9, 203.0.113.10")).status).toBe(401);
    expect(failedLoginAddresses()).toEqual(["203.0.113.10", ...Array(5).fill("203.0.113.9")]);
  });
});
