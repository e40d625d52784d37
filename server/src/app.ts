import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { UpgradeWebSocket } from "hono/ws";
import type { Domain } from "./domain/domain.ts";
import type { Gateway } from "./gateway/gateway.ts";
import { type AppEnv, requireUser } from "./http/auth.ts";
import { errorBody, onError } from "./http/errors.ts";
import type { Logger } from "./log.ts";
import type { Counters } from "./metrics.ts";
import { agentRoutes } from "./routes/agent.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { hostRoutes } from "./routes/hosts.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { scheduleRoutes } from "./routes/schedules.ts";
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
  /** The client's address, for login throttling; Bun's requestIP in production. */
  clientAddress?: (req: Request) => string;
}

/** 1 MiB of JSON is far beyond any legitimate API body. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Builds the HTTP app from its parts; main.ts wires real ones and calls Bun.serve. */
export function createApp(parts: AppParts) {
  const { domain, log } = parts;
  const address = (c: { req: { raw: Request } }) => parts.clientAddress?.(c.req.raw) ?? "unknown";
  const api = new Hono<AppEnv>();
  api.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(errorBody("too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`), 413),
    }),
  );
  api.route("/session", sessionRoutes(domain, address));
  api.route("/agent", agentRoutes(domain, parts.gateway, parts.upgradeWebSocket));
  api.use("*", requireUser(domain));
  api.route("/api-tokens", apiTokenRoutes(domain));
  api.route("/enrollment-tokens", enrollmentTokenRoutes(domain));
  api.route("/hosts", hostRoutes(domain));
  api.route("/events", eventRoutes(domain));
  api.route("/", scheduleRoutes(domain));
  api.route("/", jobRoutes(domain));
  api.route("/", userRoutes(domain));

  const app = new Hono();
  app.onError(onError(log));
  api.onError(onError(log));
  app.route("/", healthRoutes(domain, parts.counters, parts.version));
  app.route("/", uiRoutes());
  app.route("/api/v1", api);
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  return app;
}
