import { JOB_KINDS, JOB_STATUSES } from "../../protocol/index.ts";
import type { FleetMetrics } from "./domain/fleet.ts";

/** In-process counters for /metrics (gauges are read from the store at scrape time). */
export class Counters {
  messagesIn = new Map<string, number>();
  gatewayErrors = new Map<string, number>();
  /** Group commits of agent frames (one transaction each), and the frames they held. */
  gatewayCommits = 0;
  gatewayCommittedFrames = 0;

  inc(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }
}

/**
 * A label value in the text format (0.0.4): backslash, double quote and line feed are the only
 * characters it escapes; host names are free text (PATCH /hosts/:id {name}), so all three occur.
 */
export const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

const seconds = (iso: string) => Date.parse(iso) / 1000;

function family(lines: string[], name: string, type: "gauge" | "counter", help: string, samples: Iterable<string>) {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const s of samples) lines.push(s);
}

/**
 * The Prometheus text of GET /metrics. The names before the per-host families are a contract
 * (docs/operate.md, users' rules); the per-host families name EVERY enrolled host, so a host that
 * never backed up is still visible to a rule (docs/prometheus-alerts.yml).
 */
export function renderMetrics(m: FleetMetrics, counters: Counters): string {
  const lines: string[] = [];
  family(lines, "restic_fleet_hosts", "gauge", "Enrolled hosts by presence.", [
    `restic_fleet_hosts{state="online"} ${m.online}`,
    `restic_fleet_hosts{state="offline"} ${m.offline}`,
  ]);
  const counts = new Map(m.jobCounts.map((r) => [`${r.kind}/${r.status}`, r.n]));
  const jobs: string[] = [];
  for (const kind of JOB_KINDS) {
    for (const status of JOB_STATUSES) {
      jobs.push(`restic_fleet_jobs{kind="${kind}",status="${status}"} ${counts.get(`${kind}/${status}`) ?? 0}`);
    }
  }
  family(lines, "restic_fleet_jobs", "gauge", "Jobs by kind and status.", jobs);

  // One pass over the hosts fills every per-host family.
  const lastSuccess: string[] = [];
  const online: string[] = [];
  const enrolled: string[] = [];
  const health: string[] = [];
  const drills: string[] = [];
  const fullReads: string[] = [];
  for (const h of m.hosts) {
    const l = `host_id="${escapeLabel(h.id)}",host="${escapeLabel(h.name)}"`;
    if (h.lastSuccessAt !== null) {
      lastSuccess.push(`restic_fleet_last_successful_backup_timestamp_seconds{${l}} ${seconds(h.lastSuccessAt)}`);
    }
    online.push(`restic_fleet_host_online{${l}} ${h.online ? 1 : 0}`);
    enrolled.push(`restic_fleet_host_enrolled_timestamp_seconds{${l}} ${seconds(h.enrolledAt)}`);
    health.push(`restic_fleet_host_backup_health{${l},health="${h.health}"} 1`);
    if (h.lastDrill)
      drills.push(
        `restic_fleet_last_drill_timestamp_seconds{${l},result="${h.lastDrill.result}"} ${seconds(h.lastDrill.at)}`,
      );
    if (h.lastFullReadAt)
      fullReads.push(`restic_fleet_last_full_read_timestamp_seconds{${l}} ${seconds(h.lastFullReadAt)}`);
  }
  family(
    lines,
    "restic_fleet_last_successful_backup_timestamp_seconds",
    "gauge",
    "Finish time of each host's last successful backup (absent for a host that never had one).",
    lastSuccess,
  );
  family(
    lines,
    "restic_fleet_host_online",
    "gauge",
    "Whether the host's agent is online (1) or not (0); one series for every enrolled host.",
    online,
  );
  family(
    lines,
    "restic_fleet_host_enrolled_timestamp_seconds",
    "gauge",
    "When the host enrolled; every enrolled host. (last success or enrolled) is what a backup's age counts from.",
    enrolled,
  );
  family(
    lines,
    "restic_fleet_host_backup_health",
    "gauge",
    "The host's backup health as the dashboard shows it, in the label (ok, warning, failed, stale, pending, unscheduled); one series of value 1 for every enrolled host.",
    health,
  );
  family(
    lines,
    "restic_fleet_last_drill_timestamp_seconds",
    "gauge",
    "Finish time of each host's last restore drill, its result (passed, failed) in the label; absent before the first.",
    drills,
  );
  family(
    lines,
    "restic_fleet_last_full_read_timestamp_seconds",
    "gauge",
    "When each host's rolling data check last read every part of the data; absent before the first full cycle.",
    fullReads,
  );
  family(
    lines,
    "restic_fleet_hosts_by_backup_health",
    "gauge",
    "Enrolled hosts by backup health (every state, 0 included).",
    Object.entries(m.health).map(([s, n]) => `restic_fleet_hosts_by_backup_health{health="${s}"} ${n}`),
  );
  family(
    lines,
    "restic_fleet_alerts_firing",
    "gauge",
    "Each firing alert (value 1), by host and condition; muted ones included.",
    m.firing.map(
      (a) =>
        `restic_fleet_alerts_firing{host_id="${escapeLabel(a.host_id)}",host="${escapeLabel(a.host_name)}",condition="${a.condition}"} 1`,
    ),
  );
  family(
    lines,
    "restic_fleet_alerts_firing_by_condition",
    "gauge",
    "Firing alerts by condition (every condition, 0 included).",
    Object.entries(m.firingByCondition).map(
      ([c, n]) => `restic_fleet_alerts_firing_by_condition{condition="${c}"} ${n}`,
    ),
  );

  family(
    lines,
    "restic_fleet_gateway_messages_total",
    "counter",
    "Agent frames received, by type.",
    [...counters.messagesIn].map(
      ([type, n]) => `restic_fleet_gateway_messages_total{type="${escapeLabel(type)}"} ${n}`,
    ),
  );
  family(
    lines,
    "restic_fleet_gateway_commits_total",
    "counter",
    "Transactions that stored agent frames (one per event-loop turn with frames).",
    [`restic_fleet_gateway_commits_total ${counters.gatewayCommits}`],
  );
  family(
    lines,
    "restic_fleet_gateway_committed_frames_total",
    "counter",
    "Agent frames stored by those transactions.",
    [`restic_fleet_gateway_committed_frames_total ${counters.gatewayCommittedFrames}`],
  );
  family(
    lines,
    "restic_fleet_gateway_errors_total",
    "counter",
    "Error frames sent to agents, by code.",
    [...counters.gatewayErrors].map(
      ([code, n]) => `restic_fleet_gateway_errors_total{code="${escapeLabel(code)}"} ${n}`,
    ),
  );
  return `${lines.join("\n")}\n`;
}
