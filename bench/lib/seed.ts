// Writes fleets straight into a stopped server's database (schema from the server's migrations):
// hosts with agent tokens, schedules and repository settings, then jobs, logs and repo stats.
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { createSecretBox, loadOrCreateKey } from "../../server/src/domain/secrets.ts";
import { hashToken } from "../../server/src/domain/tokens.ts";
import { logPayload } from "../load/sim-protocol.ts";
import { dbPath } from "./servers.ts";

export interface SeededHost {
  id: string;
  token: string;
  scheduleId: string;
  /** scheduleId first, then the others of `schedulesPerHost`. */
  scheduleIds: string[];
  /** A running backup job, for hosts seeded with one (the log benchmark streams into it). */
  jobId?: string;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

export function openSeedDb(dataDir: string): Database {
  const db = new Database(dbPath(dataDir), { strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  // Seeding is a bulk load before the server starts: durability of each commit does not matter.
  db.exec("PRAGMA synchronous = OFF");
  db.exec("PRAGMA cache_size = -262144");
  return db;
}

/** Checkpoints the WAL into the main file, so the server starts from one file and sizes are real. */
export function checkpoint(db: Database): void {
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

/** Bytes of the database file plus its WAL. */
export function dbBytes(dataDir: string): number {
  const size = (p: string) => {
    try {
      return statSync(p).size;
    } catch {
      return 0;
    }
  };
  return size(dbPath(dataDir)) + size(`${dbPath(dataDir)}-wal`);
}

/**
 * n hosts, each with an agent token (only its sha256 is stored), one enabled backup schedule
 * (so schedule.set carries something and schedule.fire has a target), and repository settings
 * with an encrypted password (so config.update costs a decryption, as in production); `labels`
 * (the hosts.labels JSON) for policy selectors.
 */
export function seedHosts(
  dataDir: string,
  n: number,
  opts: {
    runningJob?: boolean;
    namePrefix?: string;
    cron?: string;
    /** Backup schedules per host, all on `cron` (default 1). */
    schedulesPerHost?: number;
    labels?: Record<string, string>;
    /** Each host's labels by its number in the database (instead of the same `labels` for all). */
    labelsFor?: (n: number) => Record<string, string>;
  } = {},
): SeededHost[] {
  const db = openSeedDb(dataDir);
  const box = createSecretBox(loadOrCreateKey(dataDir));
  const sealed = box.seal("bench-repo-password");
  const now = new Date().toISOString();
  const insHost = db.query(
    `INSERT INTO hosts (id, name, hostname, restic_host, agent_token_hash, enrolled_at, schedule_version,
       acked_schedule_version, labels)
     VALUES (?1, ?2, ?2, ?2, ?3, ?4, 1, 1, ?5)`,
  );
  const insConfig = db.query(
    "INSERT INTO host_config (host_id, repo_url, repo_password_enc, updated_at) VALUES (?, ?, ?, ?)",
  );
  const insSchedule = db.query(
    `INSERT INTO schedules (id, host_id, kind, cron_expr, paths, excludes, tags, options, enabled, created_at, updated_at)
     VALUES (?, ?, 'backup', ?, '["/srv/data"]', '[]', '["nightly"]', '{}', 1, ?, ?)`,
  );
  const insJob = db.query(
    `INSERT INTO jobs (id, host_id, kind, status, actor_kind, actor_id, args, spec, created_at, dispatched_at,
       dispatch_attempts, accepted_at, started_at)
     VALUES (?, ?, 'backup', 'running', 'user', NULL, '["/srv/data"]', '{"paths":["/srv/data"]}', ?, ?, 1, ?, ?)`,
  );
  const prefix = opts.namePrefix ?? "bench";
  const labels = JSON.stringify(opts.labels ?? {});
  const existing = db.query<{ n: number }, []>("SELECT count(*) AS n FROM hosts").get()?.n ?? 0;
  const hosts: SeededHost[] = [];
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const scheduleIds = Array.from({ length: opts.schedulesPerHost ?? 1 }, () => `sch_${hex(10)}`);
      const h: SeededHost = {
        id: `host_${hex(10)}`,
        token: `rfa_${randomBytes(32).toString("base64url")}`,
        scheduleId: scheduleIds[0] as string,
        scheduleIds,
      };
      const name = `${prefix}-${String(existing + i).padStart(5, "0")}`;
      insHost.run(
        h.id,
        name,
        hashToken(h.token),
        now,
        opts.labelsFor ? JSON.stringify(opts.labelsFor(existing + i)) : labels,
      );
      insConfig.run(h.id, `/srv/restic/${name}`, sealed, now);
      for (const id of scheduleIds) insSchedule.run(id, h.id, opts.cron ?? "0 3 * * *", now, now);
      if (opts.runningJob) {
        h.jobId = `job_${hex(10)}`;
        insJob.run(h.jobId, h.id, now, now, now, now);
      }
      hosts.push(h);
    }
  })();
  checkpoint(db);
  db.close();
  return hosts;
}

export interface JobsSeed {
  jobs: number;
  /** Jobs whose logs were seeded. */
  loggedJobs: number;
  logLines: number;
}

/**
 * perHost jobs per host, an hour apart going back from now (hourly backups, with a forget and
 * a check now and then), with realistic stats/progress/spec JSON; plus repo_stats history and,
 * for every `logEvery`-th job, `linesPerJob` log lines.
 */
export function seedJobs(
  dataDir: string,
  hosts: readonly SeededHost[],
  perHost: number,
  opts: { logEvery?: number; linesPerJob?: number; statsPerHost?: number } = {},
): JobsSeed {
  const db = openSeedDb(dataDir);
  const insJob = db.query(
    `INSERT INTO jobs (id, host_id, kind, status, actor_kind, actor_id, scheduled_id, scheduled_at, args, spec, progress,
       stats, exit_code, error, created_at, dispatched_at, dispatch_attempts, accepted_at, started_at, finished_at)
     VALUES (?1, ?2, ?3, ?4, 'schedule', ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?6, ?6, 1, ?6, ?6, ?13)`,
  );
  const insLog = db.query("INSERT INTO job_logs (job_id, seq, ts, stream, payload) VALUES (?, ?, ?, ?, ?)");
  const insStats = db.query(
    `INSERT INTO repo_stats (host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, lock_state)
     VALUES (?, ?, ?, ?, 1.7, 'unlocked')`,
  );
  const logEvery = opts.logEvery ?? 0;
  const linesPerJob = opts.linesPerJob ?? 0;
  const now = Date.now();
  const HOUR = 3_600_000;
  let jobs = 0;
  let loggedJobs = 0;
  let logLines = 0;
  const BATCH_HOSTS = 50;
  for (let start = 0; start < hosts.length; start += BATCH_HOSTS) {
    db.transaction(() => {
      for (const h of hosts.slice(start, start + BATCH_HOSTS)) {
        const offset = Math.floor(Math.random() * HOUR);
        for (let k = 0; k < perHost; k++) {
          const t = now - (perHost - k) * HOUR - offset;
          const at = new Date(t).toISOString();
          const end = new Date(t + 20_000 + (k % 17) * 1000).toISOString();
          const kind = k % 24 === 3 ? "forget" : k % 168 === 5 ? "check" : "backup";
          const failed = k % 50 === 7;
          const id = `job_${hex(10)}`;
          const stats =
            kind === "backup" && !failed
              ? JSON.stringify({
                  files_new: k % 13,
                  files_changed: k % 7,
                  files_unmodified: 20_000 - (k % 20),
                  dirs_new: 0,
                  dirs_changed: k % 4,
                  dirs_unmodified: 1_200,
                  data_blobs: 20 + (k % 30),
                  tree_blobs: 5,
                  data_added: 1_000_000 + k * 17,
                  total_files_processed: 20_000,
                  total_bytes_processed: 524_288_000,
                  total_duration: 12.5 + (k % 9),
                  snapshot_id: hex(4),
                })
              : null;
          const progress =
            kind === "backup"
              ? JSON.stringify({
                  percent_done: 1,
                  files_done: 20_000,
                  total_files: 20_000,
                  bytes_done: 524_288_000,
                  total_bytes: 524_288_000,
                  eta_seconds: 0,
                  throughput_bps: 41_943_040,
                })
              : null;
          const spec =
            kind === "backup"
              ? '{"paths":["/srv/data"],"tags":["nightly"]}'
              : kind === "forget"
                ? '{"policy":{"keep_daily":7,"keep_weekly":4},"prune":false}'
                : "{}";
          insJob.run(
            id,
            h.id,
            kind,
            failed ? "failed" : "succeeded",
            h.scheduleId,
            at,
            kind === "backup" ? '["/srv/data"]' : "[]",
            spec,
            progress,
            stats,
            failed ? 1 : 0,
            failed ? "Fatal: unable to open config file: stat /srv/restic/config: no such file or directory" : null,
            end,
          );
          jobs += 1;
          if (logEvery > 0 && jobs % logEvery === 0) {
            loggedJobs += 1;
            for (let s = 1; s <= linesPerJob; s++) {
              insLog.run(id, s, at, s === 1 ? "event" : "stdout", logPayload(s));
              logLines += 1;
            }
          }
        }
        for (let s = 0; s < (opts.statsPerHost ?? 5); s++) {
          insStats.run(h.id, new Date(now - s * 86_400_000).toISOString(), 10_000_000_000 + s, 30 + s);
        }
      }
    })();
  }
  checkpoint(db);
  db.close();
  return { jobs, loggedJobs, logLines };
}

/**
 * One succeeded backup job per host, finished at the given time (the triggers of migration 4 set
 * the host's last successful backup from it), for benchmarks that need each host's backup age.
 */
export function seedLastBackups(dataDir: string, backups: ReadonlyArray<{ host: SeededHost; finishedAt: Date }>): void {
  const db = openSeedDb(dataDir);
  const insJob = db.query(
    `INSERT INTO jobs (id, host_id, kind, status, actor_kind, actor_id, scheduled_id, scheduled_at, args, spec,
       exit_code, created_at, dispatched_at, dispatch_attempts, accepted_at, started_at, finished_at)
     VALUES (?1, ?2, 'backup', 'succeeded', 'schedule', ?3, ?3, ?4, '["/srv/data"]', '{"paths":["/srv/data"]}',
       0, ?4, ?4, 1, ?4, ?4, ?5)`,
  );
  db.transaction(() => {
    for (const { host, finishedAt } of backups) {
      const started = new Date(finishedAt.getTime() - 20_000).toISOString();
      insJob.run(`job_${hex(10)}`, host.id, host.scheduleId, started, finishedAt.toISOString());
    }
  })();
  checkpoint(db);
  db.close();
}
