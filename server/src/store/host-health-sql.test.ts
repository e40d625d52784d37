import { expect, test } from "bun:test";
import { type BackupHealth, backupHealth } from "../domain/backup-health.ts";
import { openDatabase } from "./db.ts";
import { healthOfRank, healthRankSql } from "./host-health-sql.ts";
import { createStore } from "./store.ts";

// The SQL twin of backupHealth must answer what the rule answers, for every combination of the
// facts it reads, at the boundaries (exactly at the limit, a millisecond past it) and away from them.
test("healthRankSql answers backupHealth's state for every combination of facts", () => {
  const db = openDatabase(":memory:");
  const store = createStore(db);
  const now = Date.parse("2026-12-03T12:00:00.000Z");
  const iso = (msAgo: number) => new Date(now - msAgo).toISOString();
  store.insertHost({ id: "h", name: "h", hostname: "h", restic_host: "h", agent_token_hash: "t", enrolled_at: iso(0) });
  const set = db.query(
    `UPDATE hosts SET enrolled_at = $enrolled, expected_interval_s = $interval, last_backup_job_id = $job,
       last_backup_status = $status, last_successful_backup_at = $success, last_backup_warning = $warning WHERE id = 'h'`,
  );
  const read = db.query<{ rank: number }, { now_ms: number }>(`SELECT ${healthRankSql} AS rank FROM hosts h`);
  const intervals = [null, 60, 3600, 86_400];
  const statuses = [null, "succeeded", "failed"];
  const warnings = [null, "", "3 paths skipped"];
  let cases = 0;
  const seen = new Set<BackupHealth>();
  for (const interval of intervals) {
    const limit = interval === null ? 3_600_000 : (interval + Math.min(interval, 3600)) * 1000;
    const ages = [0, 1, limit - 1, limit, limit + 1, 10 * limit];
    for (const status of statuses) {
      for (const warning of warnings) {
        for (const successAge of [null, ...ages]) {
          for (const enrolledAge of ages) {
            const success = successAge === null ? null : iso(successAge);
            set.run({
              enrolled: iso(enrolledAge),
              interval,
              job: status === null ? null : "j1",
              status,
              success,
              warning,
            });
            const want = backupHealth({
              now: new Date(now),
              enrolledAt: iso(enrolledAge),
              intervalS: interval,
              lastStatus: status,
              lastSuccessAt: success,
              lastWarning: warning,
            });
            const got = healthOfRank(read.get({ now_ms: now })?.rank ?? -1);
            if (got !== want) {
              throw new Error(
                `${JSON.stringify({ interval, status, warning, successAge, enrolledAge })}: ${got} ≠ ${want}`,
              );
            }
            seen.add(want);
            cases++;
          }
        }
      }
    }
  }
  expect(cases).toBeGreaterThan(1000);
  expect([...seen].sort()).toEqual(["failed", "ok", "pending", "stale", "unscheduled", "warning"]);
});
