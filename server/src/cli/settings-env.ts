import { retentionDaysProblem } from "../domain/retention.ts";
import { DEFAULT_SETTINGS, type Settings } from "../domain/settings.ts";
import { UsageError } from "./usage-error.ts";

const UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
};

/** 64 KiB: below it a single restic summary could not be logged. */
const MIN_LOG_BYTES = 64 * 1024;
/** 32 characters: what `openssl rand -hex 16` gives; a shorter token is a password to guess. */
const MIN_METRICS_TOKEN = 32;

/** A size such as 16777216, 16M or 16MiB (K, M and G are powers of 1024). */
export function parseBytes(name: string, text: string): number {
  const m = /^\s*(\d{1,15})\s*([kmg](?:ib)?)?\s*$/i.exec(text);
  const n = m ? Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? Number.NaN) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new UsageError(`${name} must be a size in bytes such as 16777216, 16M or 1G; got "${text}"`);
  if (n < MIN_LOG_BYTES) throw new UsageError(`${name} must be at least 64K; got "${text}"`);
  return n;
}

/**
 * The server's settings from its environment, the one place serve reads them: RF_LOG_BYTES_PER_JOB,
 * RF_LOG_BYTES_PER_HOST, RF_METRICS_TOKEN, RF_ALERT_BATCH_SECONDS, RF_KEEP_JOB_LOGS_DAYS, RF_KEEP_JOBS_DAYS.
 * Unset (or empty) leaves the default of domain/settings.ts.
 */
export function settingsFromEnv(env: Record<string, string | undefined>): Partial<Settings> {
  const settings: Partial<Settings> = {};
  if (env.RF_LOG_BYTES_PER_JOB) settings.logBytesPerJob = parseBytes("RF_LOG_BYTES_PER_JOB", env.RF_LOG_BYTES_PER_JOB);
  if (env.RF_LOG_BYTES_PER_HOST) {
    settings.logBytesPerHost = parseBytes("RF_LOG_BYTES_PER_HOST", env.RF_LOG_BYTES_PER_HOST);
  }
  const token = env.RF_METRICS_TOKEN;
  if (token) {
    if (token.length < MIN_METRICS_TOKEN || /\s/.test(token)) {
      throw new UsageError(
        `RF_METRICS_TOKEN must be at least ${MIN_METRICS_TOKEN} characters without spaces (e.g. openssl rand -hex 32)`,
      );
    }
    settings.metricsToken = token;
  }
  const batch = env.RF_ALERT_BATCH_SECONDS;
  if (batch) {
    const n = Number(batch);
    if (!/^\d{1,3}$/.test(batch.trim()) || n > 300) {
      throw new UsageError(`RF_ALERT_BATCH_SECONDS must be a whole number of seconds from 0 to 300; got "${batch}"`);
    }
    settings.alertBatchSeconds = n;
  }
  const logsDays = env.RF_KEEP_JOB_LOGS_DAYS ? parseDays("RF_KEEP_JOB_LOGS_DAYS", env.RF_KEEP_JOB_LOGS_DAYS) : null;
  const jobsDays = env.RF_KEEP_JOBS_DAYS ? parseDays("RF_KEEP_JOBS_DAYS", env.RF_KEEP_JOBS_DAYS) : null;
  if (logsDays !== null || jobsDays !== null) {
    // Checked together, each unset one at its default: logs kept longer than jobs is refused.
    const problem = retentionDaysProblem(
      logsDays ?? DEFAULT_SETTINGS.keepJobLogsDays,
      jobsDays ?? DEFAULT_SETTINGS.keepJobsDays,
    );
    if (problem) throw new UsageError(problem);
    if (logsDays !== null) settings.keepJobLogsDays = logsDays;
    if (jobsDays !== null) settings.keepJobsDays = jobsDays;
  }
  return settings;
}

/** A whole number of days, such as 30 (at most 100,000: 270 years). */
function parseDays(name: string, text: string): number {
  if (!/^\s*\d{1,6}\s*$/.test(text) || Number(text) > 100_000) {
    throw new UsageError(`${name} must be a whole number of days such as 30; got "${text}"`);
  }
  return Number(text);
}
