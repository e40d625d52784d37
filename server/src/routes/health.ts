import { Hono } from "hono";
import { JOB_KINDS, JOB_STATUSES, PROTOCOL_VERSION } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import { bearer } from "../http/auth.ts";
import { errorBody } from "../http/errors.ts";
import type { Counters } from "../metrics.ts";

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

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
      const lines: string[] = [
        "# HELP restic_fleet_hosts Enrolled hosts by presence.",
        "# TYPE restic_fleet_hosts gauge",
        `restic_fleet_hosts{state="online"} ${m.online}`,
        `restic_fleet_hosts{state="offline"} ${m.offline}`,
        "# HELP restic_fleet_jobs Jobs by kind and status.",
        "# TYPE restic_fleet_jobs gauge",
      ];
      const counts = new Map(m.jobCounts.map((r) => [`${r.kind}/${r.status}`, r.n]));
      for (const kind of JOB_KINDS) {
        for (const status of JOB_STATUSES) {
          lines.push(`restic_fleet_jobs{kind="${kind}",status="${status}"} ${counts.get(`${kind}/${status}`) ?? 0}`);
        }
      }
      lines.push(
        "# HELP restic_fleet_last_successful_backup_timestamp_seconds Finish time of each host's last successful backup.",
        "# TYPE restic_fleet_last_successful_backup_timestamp_seconds gauge",
      );
      for (const r of m.lastSuccessfulBackups) {
        const t = Date.parse(r.finished_at) / 1000;
        lines.push(
          `restic_fleet_last_successful_backup_timestamp_seconds{host_id="${esc(r.host_id)}",host="${esc(r.host_name)}"} ${t}`,
        );
      }
      lines.push(
        "# HELP restic_fleet_gateway_messages_total Agent frames received, by type.",
        "# TYPE restic_fleet_gateway_messages_total counter",
      );
      for (const [type, n] of counters.messagesIn)
        lines.push(`restic_fleet_gateway_messages_total{type="${esc(type)}"} ${n}`);
      lines.push(
        "# HELP restic_fleet_gateway_commits_total Transactions that stored agent frames (one per event-loop turn with frames).",
        "# TYPE restic_fleet_gateway_commits_total counter",
        `restic_fleet_gateway_commits_total ${counters.gatewayCommits}`,
        "# HELP restic_fleet_gateway_committed_frames_total Agent frames stored by those transactions.",
        "# TYPE restic_fleet_gateway_committed_frames_total counter",
        `restic_fleet_gateway_committed_frames_total ${counters.gatewayCommittedFrames}`,
      );
      lines.push(
        "# HELP restic_fleet_gateway_errors_total Error frames sent to agents, by code.",
        "# TYPE restic_fleet_gateway_errors_total counter",
      );
      for (const [code, n] of counters.gatewayErrors)
        lines.push(`restic_fleet_gateway_errors_total{code="${esc(code)}"} ${n}`);
      return c.text(`${lines.join("\n")}\n`, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    });
}
