import { describe, expect, test } from "bun:test";
import { bunPasswords, type Passwords } from "../domain/deps.ts";
import { memoryApp } from "../testing/memory-app.ts";

type App = Awaited<ReturnType<typeof memoryApp>>["app"];

/** Bun's server as the fetch's env, as Bun.serve passes it: the request comes from `address`. */
const peer = (address: string) => ({
  requestIP: () => ({ address, family: address.includes(":") ? "IPv6" : "IPv4", port: 40_000 }),
});

async function login(app: App, username: string, password: string, address: string) {
  const res = await app.request(
    "/api/v1/session",
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }) },
    peer(address),
  );
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, retryAfter: Number(res.headers.get("Retry-After")), body };
}

const ATTACKER = "203.0.113.9";
const ADMIN_DESK = "198.51.100.7";

describe("logins cannot be used to lock anyone out", () => {
  test("wrong logins as ADMIN from one address leave the right password working from another", async () => {
    const { app } = await memoryApp();
    const statuses = [];
    for (let i = 0; i < 30; i++) statuses.push((await login(app, "ADMIN", "not-the-password", ATTACKER)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    expect((await login(app, "admin", "admin-password", ADMIN_DESK)).status).toBe(201);
  });

  test("a storm under many names from one address slows that address only", async () => {
    const { app, clock } = await memoryApp();
    // 25 wrong passwords checked, under 13 names, waiting out each delay the server asks for.
    let attempts = 0;
    for (let checked = 0; checked < 25; attempts++) {
      const r = await login(app, checked % 2 ? "admin" : `user${checked}`, `guess-${checked}`, ATTACKER);
      if (r.status === 429) clock.advance(r.retryAfter * 1000);
      else checked++;
    }
    expect(attempts).toBeGreaterThan(25);
    const slowed = await login(app, "admin", "admin-password", ATTACKER);
    expect(slowed.status).toBe(429);
    expect(slowed.retryAfter).toBeGreaterThan(0);
    expect(slowed.body.error?.message).toContain(`try again in ${slowed.retryAfter} s`);
    expect((await login(app, "admin", "admin-password", ADMIN_DESK)).status).toBe(201);
  });

  test("100 guesses at once from one address: 5 are checked, the rest and the right password wait", async () => {
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let reachedFive = () => {};
    const fiveChecking = new Promise<void>((resolve) => {
      reachedFive = resolve;
    });
    let checks = 0;
    // The real argon2id check, held until the test opens the gate: the guesses stay in flight.
    const passwords: Passwords = {
      hash: bunPasswords.hash,
      async verify(password, hash) {
        if (++checks === 5) reachedFive();
        await gate;
        return bunPasswords.verify(password, hash);
      },
    };
    const { app } = await memoryApp({ passwords });
    const guesses = Array.from({ length: 100 }, (_, i) => login(app, "admin", `guess-${i}`, ATTACKER));
    await fiveChecking;
    const right = await login(app, "admin", "admin-password", ATTACKER);
    expect(right.status).toBe(429);
    expect(right.retryAfter).toBeGreaterThan(0);
    open();
    const statuses = (await Promise.all(guesses)).map((r) => r.status);
    expect(checks).toBe(5);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(95);
  });

  test("an unknown user name costs one check against a hash like a real one, and reads the same", async () => {
    const hashes: string[] = [];
    const passwords: Passwords = {
      hash: bunPasswords.hash,
      verify(password, hash) {
        hashes.push(hash);
        return bunPasswords.verify(password, hash);
      },
    };
    const { app } = await memoryApp({ passwords });
    const unknown = await login(app, "nobody", "some-password", ATTACKER);
    const known = await login(app, "admin", "some-password", ADMIN_DESK);
    expect([unknown.status, known.status]).toEqual([401, 401]);
    expect(unknown.body).toEqual(known.body);
    expect(hashes).toHaveLength(2);
    // $argon2id$v=19$m=…,t=…,p=…: the same algorithm and cost for both.
    const cost = (h: string) => h.split("$").slice(0, 4).join("$");
    expect(cost(hashes[0] as string)).toStartWith("$argon2id$");
    expect(cost(hashes[0] as string)).toBe(cost(hashes[1] as string));
  });

  test("logins and failed logins are audited with the name and address, never the password", async () => {
    const { app, call } = await memoryApp();
    await login(app, "ghost", "ghost-password-1", ATTACKER);
    await login(app, "admin", "wrong-password-2", ATTACKER);
    await login(app, "admin", "admin-password", ADMIN_DESK);
    const log = await call("GET", "/audit-log?limit=10");
    const users = await call("GET", "/users");
    const adminId = users.body.items[0].id;
    const entries = log.body.items.filter((e: { action: string }) => e.action.startsWith("session."));
    expect(entries).toEqual([
      expect.objectContaining({
        action: "session.login",
        actor_id: adminId,
        actor_name: "admin",
        target: adminId,
        detail: { username: "admin", address: ADMIN_DESK },
      }),
      expect.objectContaining({
        action: "session.login_failed",
        actor_id: null,
        actor_name: "anonymous",
        target: adminId,
        detail: { username: "admin", address: ATTACKER, reason: "wrong_password" },
      }),
      expect.objectContaining({
        action: "session.login_failed",
        actor_name: "anonymous",
        target: null,
        detail: { username: "ghost", address: ATTACKER, reason: "unknown_user" },
      }),
    ]);
    const text = JSON.stringify(log.body);
    for (const secret of ["ghost-password-1", "wrong-password-2", "admin-password"]) expect(text).not.toContain(secret);
  });

  test("X-Forwarded-For counts only from a trusted proxy, read from the right past trusted hops", async () => {
    const send = async (app: App, from: string, forwarded: string) => {
      await app.request(
        "/api/v1/session",
        {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Forwarded-For": forwarded },
          body: JSON.stringify({ username: "ghost", password: "x" }),
        },
        peer(from),
      );
    };
    const addresses = async (t: Awaited<ReturnType<typeof memoryApp>>) =>
      (await t.call("GET", "/audit-log?limit=10")).body.items.map(
        (e: { detail: { address: string } }) => e.detail.address,
      );
    const direct = await memoryApp();
    await send(direct.app, ATTACKER, "192.0.2.1");
    expect(await addresses(direct)).toEqual([ATTACKER]);

    const proxied = await memoryApp({ trustedProxies: ["10.0.0.0/8", "fd00::/8"] });
    await send(proxied.app, "10.0.0.2", "192.0.2.1, 203.0.113.50, 10.0.0.7");
    await send(proxied.app, "::ffff:10.0.0.2", ADMIN_DESK);
    await send(proxied.app, "fd00::2", "[2001:db8::5]:4711");
    await send(proxied.app, ATTACKER, "192.0.2.1");
    expect(await addresses(proxied)).toEqual([ATTACKER, "2001:db8::5", ADMIN_DESK, "203.0.113.50"]);
  });
});

describe("GET /session", () => {
  test("401 when not logged in; 200 {user: null} for the UI's probe (?optional=1); the session when logged in", async () => {
    const { app } = await memoryApp();
    expect((await app.request("/api/v1/session", {}, peer(ADMIN_DESK))).status).toBe(401);
    const probe = await app.request("/api/v1/session?optional=1", {}, peer(ADMIN_DESK));
    expect([probe.status, await probe.json()]).toEqual([200, { user: null, csrf_token: null }]);
    const res = await app.request(
      "/api/v1/session",
      {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "admin", password: "admin-password" }),
      },
      peer(ADMIN_DESK),
    );
    const cookie = (res.headers.get("Set-Cookie") ?? "").split(";")[0] ?? "";
    const me = await app.request("/api/v1/session?optional=1", { headers: { Cookie: cookie } }, peer(ADMIN_DESK));
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe("admin");
  }, 60_000);
});
