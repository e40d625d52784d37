import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { UpgradeWebSocket } from "hono/ws";
import type { Domain } from "./domain/domain.ts";
import type { Gateway } from "./gateway/gateway.ts";
import { type AppEnv, requireUser } from "./http/auth.ts";
import { clientAddressOf, parseTrustedProxies } from "./http/client-address.ts";
import { errorBody, onError } from "./http/errors.ts";
import { transport } from "./http/transport.ts";
import type { Logger } from "./log.ts";
import type { Counters } from "./metrics.ts";
import { agentRoutes } from "./routes/agent.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { eventRoutes } from "./routes/events.ts";
import { fleetConfigRoutes } from "./routes/fleet-config.ts";
import { healthRoutes } from "./routes/health.ts";
import { hostRoutes } from "./routes/hosts.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { policyRoutes } from "./routes/policies.ts";
import { repositoryRoutes } from "./routes/repositories.ts";
import { scheduleRoutes } from "./routes/schedules.ts";
import { serverInfoRoutes } from "./routes/server-info.ts";
import { sessionRoutes } from "./routes/session.ts";
import { apiTokenRoutes, enrollmentTokenRoutes } from "./routes/tokens.ts";
import { uiRoutes } from "./routes/ui.ts";
import { userRoutes } from "./routes/users.ts";

export interface AppParts {
  domain: Domain;
  gateway: Gateway;
  counters: Counters;
  log: Logger;
  upgradeWebSocket: UpgradeWebSocket;
  version: string;
  /**
   * Proxies whose X-Forwarded-For is believed (`serve --trusted-proxy`); none by default. The
   * client's address (for the login throttle and the audit log) is otherwise the socket's peer.
   */
  trustedProxies?: readonly string[];
  /** `--allow-insecure-agents`: repository secrets also over plain ws:// from off this machine. */
  allowInsecureAgents?: boolean;
  /** The certificate served, when the server serves TLS itself (`GET /server-info`, HSTS). */
  tls?: (() => { fingerprint: string; next: string | null } | null) | undefined;
}

/** 1 MiB of JSON is far beyond any legitimate API body. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Builds the HTTP app from its parts; main.ts wires real ones and calls Bun.serve. */
export function createApp(parts: AppParts) {
  const { domain, log } = parts;
  const trusted = parseTrustedProxies(parts.trustedProxies ?? []);
  const address = clientAddressOf(trusted, log);
  const link = transport(trusted, parts.allowInsecureAgents ?? false);
  const tls = parts.tls ?? (() => null);
  const api = new Hono<AppEnv>();
  api.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(errorBody("too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`), 413),
    }),
  );
  api.route("/session", sessionRoutes(domain, address, link.https));
  api.route("/agent", agentRoutes(domain, parts.gateway, parts.upgradeWebSocket, link.secretsAllowed));
  api.route("/server-info", serverInfoRoutes(parts.version, tls));
  api.route("/openapi.json", openApiRoutes(parts.version));
  api.use("*", requireUser(domain));
  api.route("/api-tokens", apiTokenRoutes(domain));
  api.route("/enrollment-tokens", enrollmentTokenRoutes(domain));
  api.route("/hosts", hostRoutes(domain));
  api.route("/repositories", repositoryRoutes(domain));
  api.route("/policies", policyRoutes(domain));
  api.route("/fleet-config", fleetConfigRoutes(domain));
  api.route("/", alertRoutes(domain));
  api.route("/events", eventRoutes(domain));
  api.route("/", scheduleRoutes(domain));
  api.route("/", jobRoutes(domain));
  api.route("/", userRoutes(domain));

  const app = new Hono();
  // Served over TLS itself: browsers keep to https for this host from then on.
  app.use("*", async (c, next) => {
    await next();
    if (tls() && new URL(c.req.url).protocol === "https:") {
      c.header("Strict-Transport-Security", "max-age=31536000");
    }
  });
  app.onError(onError(log));
  api.onError(onError(log));
  app.route("/", healthRoutes(domain, parts.counters, parts.version));
  app.route("/", uiRoutes());
  app.route("/api/v1", api);
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  return app;
}
