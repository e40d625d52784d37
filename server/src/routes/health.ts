import { Hono } from "hono";
import { PROTOCOL_VERSION } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import { bearer } from "../http/auth.ts";
import { errorBody } from "../http/errors.ts";
import { type Counters, renderMetrics } from "../metrics.ts";

/** GET /healthz and GET /metrics (Prometheus text format 0.0.4). */
export function healthRoutes(domain: Domain, counters: Counters, version: string) {
  return new Hono()
    .get("/healthz", (c) => {
      const health = domain.fleet.health();
      const body = { ...health, version, protocol_version: PROTOCOL_VERSION };
      // 503 lets a load balancer or monitor see the failure without parsing the body.
      return c.json(body, health.ok ? 200 : 503);
    })
    .get("/metrics", (c) => {
      if (!domain.fleet.metricsAllowed(bearer(c))) {
        return c.json(
          errorBody(
            "unauthorized",
            "GET /metrics needs the token set in RF_METRICS_TOKEN: Authorization: Bearer <token>",
          ),
          401,
          { "WWW-Authenticate": 'Bearer realm="metrics"' },
        );
      }
      const m = domain.fleet.metrics();
      return c.text(renderMetrics(m, counters), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    });
}
