import type { AgentMessage } from "../../../protocol/index.ts";
import { adoptAgentJob, rebuildAgentJobs } from "./agent-jobs.ts";
import type { DomainContext } from "./deps.ts";
import type { Jobs } from "./jobs.ts";
import { storeLogLines } from "./log-quota.ts";
import type { Job } from "./types.ts";
import { utc, utcOrNull } from "./utc.ts";

/** The messages the agent keeps in its durable outbox until acked, and sends again after a reconnect. */
export type Report = Extract<
  AgentMessage,
  {
    type:
      | "command.result"
      | "job.started"
      | "job.progress"
      | "job.finished"
      | "job.log"
      | "snapshots.report"
      | "repo.stats"
      | "repo.missing";
  }
>;

export type ReportResult = { ok: true; duplicate: boolean } | { ok: false; code: "not_found"; message: string };

/**
 * Stores one agent report idempotently: the envelope id and the change commit together, so a
 * re-send after a lost ack changes nothing. Reports about another host's jobs are refused.
 */
/**
 * The job's stats as the API shows them: restic's summary, plus the agent's classified failure
 * reason and warnings. Protocol 3 sends those as typed fields; older agents inside stats.
 */
function withTypedFacts(p: Extract<Report, { type: "job.finished" }>["payload"]): Record<string, unknown> | undefined {
  if (!p.failure_reason && !p.warnings?.length) return p.stats;
  const stats: Record<string, unknown> = { ...(p.stats ?? {}) };
  if (p.failure_reason) stats.failure_reason = p.failure_reason;
  if (p.warnings?.length) {
    stats.warnings = p.warnings;
    stats.warning = p.warnings.join("; ");
  }
  return stats;
}

export function createReports(deps: DomainContext, jobs: Jobs) {
  const { store, tx, clock, events } = deps;

  function ownJob(hostId: string, jobId: string): boolean {
    return store.jobById(jobId)?.host_id === hostId;
  }

  function apply(hostId: string, msg: Report, at: string): ReportResult & { touched: string[]; made: Job[] } {
    const touched: string[] = [];
    const made: Job[] = [];
    const missing = (jobId: string) => ({
      ok: false as const,
      code: "not_found" as const,
      message: `job ${jobId} does not exist for this host`,
      touched,
      made,
    });
    switch (msg.type) {
      case "command.result": {
        const p = msg.payload;
        if (!ownJob(hostId, p.job_id)) return missing(p.job_id);
        if (p.accepted) store.markAccepted(p.job_id, at);
        else {
          store.finishJob(p.job_id, {
            status: "failed",
            exit_code: null,
            finished_at: at,
            error: `the agent refused the job: ${p.error ?? "no reason given"}`,
          });
        }
        touched.push(p.job_id);
        break;
      }
      case "job.started": {
        if (msg.payload.autonomous) {
          // A backup the agent ran on its own while the link was down (agent-jobs.ts).
          const adopted = adoptAgentJob(store, hostId, msg.payload, at);
          if (!adopted.ok) return { ok: false, code: "not_found", message: adopted.message, touched, made };
          if (adopted.replaced) {
            deps.log.info("a tick's job became the one the agent ran on its own while the link was down", {
              host_id: hostId,
              job_id: msg.payload.job_id,
              replaced_job_id: adopted.replaced,
            });
          }
          if (adopted.note) deps.log.warn(adopted.note, { host_id: hostId, job_id: msg.payload.job_id });
          touched.push(msg.payload.job_id);
          break;
        }
        if (!ownJob(hostId, msg.payload.job_id)) return missing(msg.payload.job_id);
        store.markRunning(msg.payload.job_id, utc(msg.payload.started_at));
        touched.push(msg.payload.job_id);
        break;
      }
      case "job.progress": {
        const { job_id, ...progress } = msg.payload;
        if (!ownJob(hostId, job_id)) return missing(job_id);
        if (store.setProgress(job_id, progress)) {
          events.publish({ type: "job.progress", job_id, host_id: hostId, progress });
        }
        break;
      }
      case "job.finished": {
        const p = msg.payload;
        if (!ownJob(hostId, p.job_id)) return missing(p.job_id);
        const finished = store.finishJob(p.job_id, {
          status: p.status,
          exit_code: p.exit_code,
          finished_at: utc(p.finished_at),
          stats: withTypedFacts(p),
          error: p.error ?? null,
        });
        touched.push(p.job_id);
        // 3-2-1: a backup that succeeded is copied to the host's copy targets (copy-targets.ts).
        const job = finished && p.status === "succeeded" ? store.jobById(p.job_id) : null;
        if (job?.kind === "backup") made.push(...jobs.copiesAfter(job));
        break;
      }
      case "job.log": {
        // Within the log limits per job and per host (log-quota.ts).
        const { lastSeq, foreign } = storeLogLines(deps, hostId, msg.payload.lines);
        for (const [job_id, last_seq] of lastSeq)
          events.publish({ type: "job.log", job_id, host_id: hostId, last_seq });
        if (foreign !== null) return missing(foreign);
        break;
      }
      case "snapshots.report": {
        // The host's own snapshots only (its restic_host). An agent of protocol 2 lists only those;
        // one of protocol 1 lists every host's snapshots of a shared repository.
        const own = store.hostById(hostId)?.restic_host;
        const snapshots = own ? msg.payload.snapshots.filter((s) => s.hostname === own) : msg.payload.snapshots;
        // restic < 0.17 keeps no size in a snapshot, and the agent knows only those it made since
        // it started: the backup job that made one says what it saved.
        const fromJobs = snapshots.some((s) => s.size_bytes === undefined)
          ? new Map(store.backupSizes(hostId).map((b) => [b.short_id, b]))
          : new Map();
        store.replaceSnapshots(
          hostId,
          snapshots.map((s) => {
            const job = s.size_bytes === undefined ? fromJobs.get(s.short_id) : undefined;
            return {
              id: s.id,
              short_id: s.short_id,
              time: utc(s.time),
              hostname: s.hostname,
              paths: s.paths,
              tags: s.tags ?? [],
              size_bytes: s.size_bytes ?? job?.size_bytes ?? null,
              file_count: s.file_count ?? job?.file_count ?? null,
            };
          }),
        );
        events.publish({ type: "snapshots.updated", host_id: hostId, count: snapshots.length });
        // The backups the agent ran on its own whose reports were lost come back from their tags.
        for (const job of rebuildAgentJobs(store, hostId, snapshots, clock.now())) touched.push(job.id);
        break;
      }
      case "repo.stats":
        store.insertRepoStats({
          host_id: hostId,
          reported_at: utc(msg.ts),
          size_bytes: msg.payload.size_bytes,
          snapshot_count: msg.payload.snapshot_count,
          dedup_ratio: msg.payload.dedup_ratio,
          last_check_at: utcOrNull(msg.payload.last_check_at),
          last_check_status: msg.payload.last_check_status ?? null,
          lock_state: msg.payload.lock_state,
        });
        events.publish({ type: "repo_stats.updated", host_id: hostId });
        break;
      case "repo.missing": {
        // Issue 15 (c): a backup is only as good as the repository holding its snapshot. The
        // reports after it found none, so a succeeded backup turns failed (the host's health and
        // backup_failed follow from the job, through the facts' triggers). Any other job, or one
        // already failed, is left as it is: its own status is still what happened.
        const p = msg.payload;
        const job = store.jobById(p.job_id);
        if (job?.host_id !== hostId) return missing(p.job_id);
        const error = `The backup finished, but the repository was gone right after it (${utc(p.detected_at)}): its snapshot cannot be restored.\n${p.error}`;
        if (job.kind === "backup" && store.failSucceededJob(p.job_id, { error, failure_reason: "repo_missing" })) {
          touched.push(p.job_id);
        }
        break;
      }
    }
    return { ok: true, duplicate: false, touched, made };
  }

  return {
    record(hostId: string, msg: Report): ReportResult {
      const at = clock.now().toISOString();
      const result = tx(() => {
        if (!store.rememberEnvelope(hostId, msg.id, at)) {
          return { ok: true as const, duplicate: true, touched: [], made: [] as Job[] };
        }
        return apply(hostId, msg, at);
      });
      for (const id of result.touched) jobs.changed({ id, host_id: hostId });
      for (const job of result.made) {
        jobs.changed(job);
        jobs.dispatch(job);
      }
      const { touched: _, made: __, ...rest } = result;
      return rest;
    },
  };
}

export type Reports = ReturnType<typeof createReports>;
