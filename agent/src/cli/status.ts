import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { Cron } from "croner";
import type * as v from "valibot";
import type { AutonomyStatus } from "../autonomy.ts";
import { readJsonFile } from "../state/atomic-file.ts";
import { OUTBOX_FILE } from "../state/outbox.ts";
import {
  AcceptedJobs,
  Identity,
  STATE_FILES,
  type StateFileKey,
  StoredConfig,
  StoredScheduleSet,
} from "../state/state-files.ts";
import { type RuntimeStatus, STATUS_FILE } from "../status.ts";
import { agentCommandLine } from "./hint.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

async function outboxDepth(stateDir: string): Promise<number> {
  const text = await readFile(join(stateDir, OUTBOX_FILE), "utf8").catch(() => "");
  const live = new Set<string>();
  for (const line of text.split("\n")) {
    try {
      const r = JSON.parse(line) as { e?: { id: string }; rm?: string[] };
      if (r.e) live.add(r.e.id);
      for (const id of r.rm ?? []) live.delete(id);
    } catch {
      // A torn line: the agent repairs it on its next start.
    }
  }
  return live.size;
}

/** Everything `status` prints, read from the state dir without touching it. */
export async function collectStatus(stateDir: string, now = new Date()) {
  const problems: string[] = [];
  // Read-only: unlike the agent, status never moves a corrupt file aside.
  const read = async <S extends v.GenericSchema>(
    key: StateFileKey,
    schema: S,
  ): Promise<v.InferOutput<S> | undefined> => {
    const spec = STATE_FILES[key];
    const r = await readJsonFile(join(stateDir, spec.name), schema);
    if (r.ok) return r.value as v.InferOutput<S>;
    if (r.reason !== "missing") problems.push(`${spec.name}: ${r.message}; ${spec.ifLost}`);
    return undefined;
  };
  const identity = await read("identity", Identity);
  const set = await read("schedules", StoredScheduleSet);
  const jobs = (await read("jobs", AcceptedJobs))?.jobs ?? [];
  const config = await read("config", StoredConfig);
  const runtime = (await readFile(join(stateDir, STATUS_FILE), "utf8")
    .then((t) => JSON.parse(t) as RuntimeStatus)
    .catch(() => null)) as RuntimeStatus | null;
  const running = runtime ? alive(runtime.pid) : false;
  const schedules = (set?.schedules ?? []).map((s) => {
    let next: string | null = null;
    if (s.enabled) {
      try {
        const tz = s.timezone ?? (typeof s.options?.timezone === "string" ? s.options.timezone : undefined);
        next =
          new Cron(s.cron_expr, { paused: true, mode: "5-or-6-parts", ...(tz ? { timezone: tz } : {}) })
            .nextRun(now)
            ?.toISOString() ?? null;
      } catch {
        next = null;
      }
    }
    return { id: s.id, kind: s.kind, cron_expr: s.cron_expr, enabled: s.enabled, next_fire: next };
  });
  return {
    state_dir: stateDir,
    enrolled: !!identity,
    host_id: identity?.host_id ?? null,
    // An identity from before restic_host existed: the agent adopts the machine's hostname at start.
    restic_host: identity ? (identity.restic_host ?? hostname()) : null,
    server: identity?.server_url ?? null,
    agent_running: running,
    connected: running && !!runtime?.connected,
    restic_version: runtime?.restic_version ?? null,
    schedule_version: set?.version ?? null,
    schedules,
    jobs: jobs.map((j) => ({ job_id: j.command.job_id, kind: j.command.kind, state: j.state })),
    outbox_depth: await outboxDepth(stateDir),
    // The link and the agent's own authority while it is down (autonomy.ts), as the running agent sees them.
    link: running && runtime?.autonomy ? runtime.autonomy : null,
    max_offline_age_seconds: config?.max_offline_age_seconds ?? null,
    repository_configured: !!config?.repo_url,
    problems: [...problems],
  };
}

/** "3 h 12 min": how long, in the two largest units. */
function span(ms: number): string {
  const m = Math.max(0, Math.floor(ms / 60_000));
  if (m < 1) return `${Math.max(0, Math.floor(ms / 1000))} s`;
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const AUTONOMY_WORDS: Record<AutonomyStatus["state"], string> = {
  connected: "the server runs the jobs",
  waiting: "waiting out the grace period before running backups on its own",
  active: "running due backups on its own authority (only backups; forget, prune, check and drills wait)",
  expired: "no longer running backups on its own: down longer than max_offline_age; they wait for the server",
  off: "off for this host (max_offline_age 0): backups wait for the server",
  unavailable: "not available: the server is older than protocol 10 (it never sent max_offline_age)",
};

/** The link's state, how long it has been down, and what ran meanwhile. */
function linkLines(a: AutonomyStatus | null, maxAge: number | null, now: Date): string[] {
  const age = maxAge === null ? "not set by the server" : maxAge === 0 ? "0 (off)" : span(maxAge * 1000);
  if (!a) return [`link:             - (agent not running)`, `max offline age:  ${age}`];
  const down = a.link_down_since ? now.getTime() - Date.parse(a.link_down_since) : 0;
  const lines = [
    `link:             ${a.link_down_since ? `down for ${span(down)} (since ${a.link_down_since})` : "up"}`,
    `autonomy:         ${AUTONOMY_WORDS[a.state]}`,
    `max offline age:  ${age}${a.autonomy_until && a.link_down_since ? `, until ${a.autonomy_until}` : ""}`,
  ];
  if (a.link_down_since) {
    lines.push(`ran meanwhile:    ${a.ran.length === 0 ? "nothing" : `${a.ran.length} backup(s)`}`);
    for (const r of a.ran) lines.push(`  ${r.job_id}  schedule ${r.schedule_id}  tick ${r.scheduled_at}`);
    if (a.missed_ticks > 0) lines.push(`missed ticks:     ${a.missed_ticks} (let go by; one catch-up ran instead)`);
  }
  return lines;
}

export function formatStatus(s: Awaited<ReturnType<typeof collectStatus>>, now = new Date()): string {
  const lines = [
    `state dir:        ${s.state_dir}`,
    `enrolled:         ${s.enrolled ? `yes, host ${s.host_id}` : `no: run '${agentCommandLine("enroll --server URL --token T", s.state_dir)}'`}`,
    `server:           ${s.server ?? "-"}`,
    `restic host:      ${s.restic_host ?? "-"}`,
    `agent:            ${s.agent_running ? (s.connected ? "running, connected" : "running, not connected") : "not running"}`,
    `restic:           ${s.restic_version ?? "-"}`,
    `repository:       ${s.repository_configured ? "configured" : "not configured yet (set it on the server)"}`,
    `schedule version: ${s.schedule_version ?? "-"}`,
    `schedules:        ${s.schedules.length === 0 ? "none" : ""}`,
    ...s.schedules.map(
      (x) =>
        `  ${x.id}  ${x.kind.padEnd(7)} ${x.cron_expr.padEnd(16)} ${x.enabled ? `next ${x.next_fire ?? "?"}` : "disabled"}`,
    ),
    `jobs:             ${s.jobs.length === 0 ? "none" : ""}`,
    ...s.jobs.map(
      (j) =>
        `  ${j.job_id}  ${j.kind.padEnd(7)} ${j.state === "running" ? "running" : j.state === "finished" ? "finished, result not yet acknowledged" : "queued"}`,
    ),
    `outbox:           ${s.outbox_depth} message(s) waiting for the server's ack`,
    ...linkLines(s.link, s.max_offline_age_seconds, now),
  ];
  if (s.problems.length) lines.push("problems:", ...s.problems.map((p) => `  ${p}`));
  return lines.join("\n");
}
