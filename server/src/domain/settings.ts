/**
 * The server's limits and switches that an operator may change (serve reads them from the
 * environment: cli/settings-env.ts). Every rule that uses them lives in the domain.
 */
export interface Settings {
  /**
   * The log one job may store, in bytes as counted by log-quota.ts (about its size on disk).
   * 16 MiB: a backup that logs 100,000 warnings of 100 characters still fits; the typical job logs
   * a few KB.
   */
  logBytesPerJob: number;
  /**
   * The log all of one host's jobs may store together, for as long as they are kept (with the
   * host). 256 MiB: a flooding agent cannot grow the database by more than that; at 5 KB per job
   * it is 50,000 jobs, more than five years of hourly backups.
   */
  logBytesPerHost: number;
  /**
   * The JSON one API page may hold, in bytes; a longer list continues at next_cursor. 4 MiB: 1,000
   * log lines of 4 KB, or 500 jobs of 8 KB, fit one page; a page of 5,000 lines of 64 KiB (320 MB)
   * cannot be asked for.
   */
  pageBytes: number;
  /** When set, GET /metrics needs it as a bearer token; null leaves /metrics open. */
  metricsToken: string | null;
  /**
   * Alerts that fire within this many seconds for one channel go out as one message (DESIGN §8.4:
   * 30). Fewer seconds tell sooner, more make fewer messages.
   */
  alertBatchSeconds: number;
  /**
   * Days a finished job's log lines are kept (by finished_at); then they are deleted and the job
   * row says when (logs_pruned_at). 30: a month of logs to read back, at most this many days of
   * lines counting against RF_LOG_BYTES_PER_HOST. Never more than keepJobsDays (retention.ts).
   */
  keepJobLogsDays: number;
  /**
   * Days a finished job is kept (by finished_at); older ones are deleted unless each is the newest
   * of its host, kind, status and target (retention.ts). 400: a year of history and a month more.
   */
  keepJobsDays: number;
}

export const DEFAULT_SETTINGS: Settings = {
  logBytesPerJob: 16 * 1024 * 1024,
  logBytesPerHost: 256 * 1024 * 1024,
  pageBytes: 4 * 1024 * 1024,
  metricsToken: null,
  alertBatchSeconds: 30,
  keepJobLogsDays: 30,
  keepJobsDays: 400,
};
