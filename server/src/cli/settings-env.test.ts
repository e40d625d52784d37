import { expect, test } from "bun:test";
import { parseBytes, settingsFromEnv } from "./settings-env.ts";

test("sizes take bytes or K, M, G (powers of 1024), at least 64K", () => {
  expect(parseBytes("X", "16777216")).toBe(16 * 1024 * 1024);
  expect(parseBytes("X", "16M")).toBe(16 * 1024 * 1024);
  expect(parseBytes("X", "256MiB")).toBe(256 * 1024 * 1024);
  expect(parseBytes("X", "1g")).toBe(1024 ** 3);
  expect(parseBytes("X", "64K")).toBe(65536);
  expect(() => parseBytes("RF_LOG_BYTES_PER_JOB", "16 MB")).toThrow("RF_LOG_BYTES_PER_JOB must be a size in bytes");
  expect(() => parseBytes("X", "-1")).toThrow("must be a size");
  expect(() => parseBytes("X", "1000")).toThrow("at least 64K");
});

test("the environment sets the log limits and the metrics token; unset or empty keeps the defaults", () => {
  expect(settingsFromEnv({})).toEqual({});
  expect(settingsFromEnv({ RF_LOG_BYTES_PER_JOB: "", RF_METRICS_TOKEN: "" })).toEqual({});
  const token = "a".repeat(32);
  expect(settingsFromEnv({ RF_LOG_BYTES_PER_JOB: "8M", RF_LOG_BYTES_PER_HOST: "1G", RF_METRICS_TOKEN: token })).toEqual(
    { logBytesPerJob: 8 * 1024 * 1024, logBytesPerHost: 1024 ** 3, metricsToken: token },
  );
  expect(() => settingsFromEnv({ RF_METRICS_TOKEN: "secret" })).toThrow("at least 32 characters");
});

test("RF_ALERT_BATCH_SECONDS: whole seconds from 0 to 300", () => {
  expect(settingsFromEnv({ RF_ALERT_BATCH_SECONDS: "5" })).toEqual({ alertBatchSeconds: 5 });
  expect(settingsFromEnv({ RF_ALERT_BATCH_SECONDS: "0" })).toEqual({ alertBatchSeconds: 0 });
  for (const bad of ["301", "-1", "1.5", "30s"]) {
    expect(() => settingsFromEnv({ RF_ALERT_BATCH_SECONDS: bad })).toThrow("RF_ALERT_BATCH_SECONDS must be");
  }
});

test("RF_KEEP_JOB_LOGS_DAYS and RF_KEEP_JOBS_DAYS: whole days, jobs at least 35, logs not longer than jobs", () => {
  expect(settingsFromEnv({ RF_KEEP_JOB_LOGS_DAYS: "7", RF_KEEP_JOBS_DAYS: "35" })).toEqual({
    keepJobLogsDays: 7,
    keepJobsDays: 35,
  });
  expect(settingsFromEnv({ RF_KEEP_JOBS_DAYS: "3650" })).toEqual({ keepJobsDays: 3650 });
  expect(settingsFromEnv({ RF_KEEP_JOB_LOGS_DAYS: "400" })).toEqual({ keepJobLogsDays: 400 });
  for (const bad of ["30d", "1.5", "-1", "thirty", "1000000"]) {
    expect(() => settingsFromEnv({ RF_KEEP_JOB_LOGS_DAYS: bad })).toThrow(
      `RF_KEEP_JOB_LOGS_DAYS must be a whole number of days such as 30; got "${bad}"`,
    );
    expect(() => settingsFromEnv({ RF_KEEP_JOBS_DAYS: bad })).toThrow("RF_KEEP_JOBS_DAYS must be a whole number");
  }
  // The rebuild window of agent jobs (agent-jobs.ts): a job deleted sooner would come back.
  expect(() => settingsFromEnv({ RF_KEEP_JOBS_DAYS: "34", RF_KEEP_JOB_LOGS_DAYS: "7" })).toThrow(
    "RF_KEEP_JOBS_DAYS must be at least 35",
  );
  expect(() => settingsFromEnv({ RF_KEEP_JOB_LOGS_DAYS: "0" })).toThrow("RF_KEEP_JOB_LOGS_DAYS must be at least 1");
  // Against the other's default too: 401 days of logs with 400 days of jobs.
  expect(() => settingsFromEnv({ RF_KEEP_JOB_LOGS_DAYS: "401" })).toThrow(
    "RF_KEEP_JOB_LOGS_DAYS (401) must not be more than RF_KEEP_JOBS_DAYS (400)",
  );
  expect(() => settingsFromEnv({ RF_KEEP_JOBS_DAYS: "35" })).not.toThrow();
  expect(() => settingsFromEnv({ RF_KEEP_JOBS_DAYS: "40", RF_KEEP_JOB_LOGS_DAYS: "41" })).toThrow(
    "must not be more than RF_KEEP_JOBS_DAYS (40)",
  );
});
