import { Hono } from "hono";
import { JOB_KINDS, JOB_STATUSES, PROTOCOL_VERSION } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import type { Counters } from "../metrics.ts";

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** GET /healthz and GET /metrics (Prometheus text format 0.0.4). */
export function healthRoutes(domain: Domain, counters: Counters, version: string) {
  const { store } = domain.deps;
  return new Hono()
    .get("/healthz", (c) => {
      const ok = store.integrityCheck !== undefined && store.countUsers() >= 0;
      return c.json({ ok, version, protocol_version: PROTOCOL_VERSION });
    })
    .get("/metrics", (c) => {
      const hosts = store.listHosts();
      const online = hosts.filter((h) => h.online).length;
      const lines: string[] = [
        "# HELP restic_fleet_hosts Enrolled hosts by presence.",
        "# TYPE restic_fleet_hosts gauge",
        `restic_fleet_hosts{state="online"} ${online}`,
        `restic_fleet_hosts{state="offline"} ${hosts.length - online}`,
        "# HELP restic_fleet_jobs Jobs by kind and status.",
        "# TYPE restic_fleet_jobs gauge",
      ];
      const counts = new Map(store.jobCounts().map((r) => [`${r.kind}/${r.status}`, r.n]));
      for (const kind of JOB_KINDS) {
        for (const status of JOB_STATUSES) {
          lines.push(`restic_fleet_jobs{kind="${kind}",status="${status}"} ${counts.get(`${kind}/${status}`) ?? 0}`);
        }
      }
      const names = new Map(hosts.map((h) => [h.id, h.name]));
      lines.push(
        "# HELP restic_fleet_last_successful_backup_timestamp_seconds Finish time of each host's last successful backup.",
        "# TYPE restic_fleet_last_successful_backup_timestamp_seconds gauge",
      );
      for (const r of store.lastSuccessfulBackups()) {
        const t = Date.parse(r.finished_at) / 1000;
        lines.push(
          `restic_fleet_last_successful_backup_timestamp_seconds{host_id="${esc(r.host_id)}",host="${esc(names.get(r.host_id) ?? "")}"} ${t}`,
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
