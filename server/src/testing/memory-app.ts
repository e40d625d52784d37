import { upgradeWebSocket } from "hono/bun";
import { createApp } from "../app.ts";
import { ManualClock } from "../clock.ts";
import { actorOf } from "../domain/auth.ts";
import type { Passwords } from "../domain/deps.ts";
import { createDomain } from "../domain/domain.ts";
import { EventBus } from "../domain/events.ts";
import { createSecretBox } from "../domain/secrets.ts";
import { createGateway } from "../gateway/gateway.ts";
import { AgentRegistry } from "../gateway/registry.ts";
import { silentLogger } from "../log.ts";
import { Counters } from "../metrics.ts";
import { openDatabase } from "../store/db.ts";
import { createStore } from "../store/store.ts";

/**
 * The HTTP app over an in-memory database, for `app.request` tests of the routes (no port, no
 * socket), with an admin API token and one enrolled host. A request has no peer address unless
 * the test passes one as Bun's server would: `app.request(path, init, { requestIP: () => ({ address }) })`.
 */
export async function memoryApp(opts: { passwords?: Passwords; trustedProxies?: string[] } = {}) {
  const clock = new ManualClock("2026-12-01T12:00:00Z");
  const registry = new AgentRegistry(clock, silentLogger);
  const domain = createDomain({
    store: createStore(openDatabase(":memory:")),
    clock,
    agents: registry,
    events: new EventBus(),
    secrets: createSecretBox(new Uint8Array(32)),
    log: silentLogger,
    ...(opts.passwords ? { passwords: opts.passwords } : {}),
  });
  const counters = new Counters();
  const gateway = createGateway(domain, registry, counters, silentLogger, null);
  const app = createApp({
    domain,
    gateway,
    counters,
    log: silentLogger,
    upgradeWebSocket,
    version: "test",
    trustedProxies: opts.trustedProxies ?? [],
  });
  const admin = await domain.auth.createUser("admin", "admin-password", "admin", null);
  const token = domain.auth.createApiToken(actorOf(admin), "tests").token;
  const enrollment = domain.auth.createEnrollmentToken(null, { uses: 1, expiresInMs: 3_600_000 });
  const host = domain.auth.enroll(enrollment.token, "web-01");
  /** One request as the admin; the body as JSON. */
  async function call(method: string, path: string, body?: unknown) {
    const res = await app.request(`/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test responses are read ad hoc
    return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
  }
  return { app, domain, clock, hostId: host.host_id, call };
}
