// Database size per host-year of hourly backups, before and after retention (issue 20 item 5).
// Seeds HOSTS hosts (default 1) x YEARS years (default 1) of hourly backups through the store
// (8,760 jobs per host-year), each with a typical log (below) and restic's summary as its stats,
// then runs retention passes with the default settings (30 days of logs, 400 days of jobs) on a
// clock at the end of the seeded time. Prints the file's size (pages x page size, after a WAL
// checkpoint) before and after, per host-year, and the longest stretch the event loop was held
// between two batches. `bun bench/retention.ts` (HOSTS=10 YEARS=2 bun bench/retention.ts)
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../server/src/clock.ts";
import { blankSchedule, queuedJob } from "../server/src/domain/blank-rows.ts";
import { lineCost } from "../server/src/domain/log-quota.ts";
import { createRetention } from "../server/src/domain/retention.ts";
import { DEFAULT_SETTINGS } from "../server/src/domain/settings.ts";
import { silentLogger } from "../server/src/log.ts";
import { openDatabase } from "../server/src/store/db.ts";
import { createStore } from "../server/src/store/store.ts";

const HOSTS = Number(process.env.HOSTS ?? 1);
const YEARS = Number(process.env.YEARS ?? 1);
const PER_YEAR = 8760;
const END = new Date("2027-12-01T00:00:00Z").getTime();

// What the agent logs for an ordinary backup with restic --json (agent/src/restic/step-output.ts:
// status lines become progress, not log lines): its event lines, restic's stderr notes, the summary
// line, and the follow-up forget's and snapshot listing's events. 12 lines, 1,563 bytes.
const summary = JSON.stringify({
  message_type: "summary",
  files_new: 12,
  files_changed: 85,
  files_unmodified: 48211,
  dirs_new: 0,
  dirs_changed: 14,
  dirs_unmodified: 5302,
  data_blobs: 97,
  tree_blobs: 15,
  data_added: 18_834_121,
  data_added_packed: 6_120_334,
  total_files_processed: 48308,
  total_bytes_processed: 9_412_883_211,
  total_duration: 41.2,
  backup_start: "2027-11-30T23:00:03.120Z",
  backup_end: "2027-11-30T23:00:44.320Z",
  snapshot_id: "4f2c9d1b7a3e5c8f0b6d2a9e1c7f3b5d8a0e4c6f2b9d1a7e3c5f8b0d6a2e9c1f",
});
const LINES: Array<["stdout" | "stderr" | "event", string]> = [
  ["event", "running restic 0.17.3: backup of /etc, /home, /srv (3 paths, 2 excludes)"],
  ["stderr", "using parent snapshot 9a1c3e5f"],
  ["stderr", "open repository"],
  ["stderr", "lock repository"],
  ["stderr", "load index files"],
  ["stderr", "start scan on [/etc /home /srv]"],
  ["stderr", "start backup on [/etc /home /srv]"],
  ["stdout", summary],
  ["event", "forget: keep hourly 24, daily 7, weekly 4, monthly 12: removed 1 snapshot"],
  ["event", "snapshots: listed 47 snapshots of this host"],
  ["event", "repository stats: 183.2 GiB, 47 snapshots, dedup 3.41x"],
  ["event", "job succeeded"],
];

function sizeOf(store: ReturnType<typeof createStore>, file: string) {
  const p = store.pageCounts();
  return { pages: p.pages, free: p.free, bytes: p.pages * p.page_size, file: statSync(file).size };
}
const mb = (b: number) => (b / 1e6).toFixed(1);

const dir = mkdtempSync(join(tmpdir(), "rf-bench-retention-"));
const file = join(dir, "restic-fleet.db");
const db = openDatabase(file);
const store = createStore(db);
const checkpoint = () => db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
try {
  const t0 = performance.now();
  for (let h = 0; h < HOSTS; h++) {
    const host = `h${h}`;
    store.insertHost({
      id: host,
      name: host,
      hostname: `${host}.lan`,
      restic_host: `${host}.lan`,
      agent_token_hash: `agent-${host}`,
      enrolled_at: new Date(END - YEARS * 366 * 86_400_000).toISOString(),
    });
    store.insertSchedule(
      blankSchedule({
        id: `s${h}`,
        host_id: host,
        kind: "backup",
        cron_expr: "0 * * * *",
        created_at: "2020-01-01T00:00:00.000Z",
      }),
    );
    const jobs = PER_YEAR * YEARS;
    for (let start = 0; start < jobs; start += 500) {
      store.tx(() => {
        for (let i = start; i < Math.min(jobs, start + 500); i++) {
          const at = END - (jobs - i) * 3_600_000;
          const id = `job_${h}_${i}`;
          store.insertJob(
            queuedJob({
              id,
              host_id: host,
              kind: "backup",
              actor_kind: "schedule",
              scheduled_id: `s${h}`,
              scheduled_at: new Date(at).toISOString(),
              created_at: new Date(at).toISOString(),
              args: ["/etc", "/home", "/srv"],
              spec: { paths: ["/etc", "/home", "/srv"], excludes: ["*.tmp", "/srv/cache"], tags: ["hourly"] },
              status: "succeeded",
              exit_code: 0,
              accepted_at: new Date(at + 1000).toISOString(),
              started_at: new Date(at + 2000).toISOString(),
              finished_at: new Date(at + 45_000).toISOString(),
              stats: { ...JSON.parse(summary), message_type: undefined },
            }),
          );
          store.insertLogs(
            host,
            LINES.map(([stream, payload], n) => ({
              job_id: id,
              seq: n + 1,
              ts: new Date(at + n * 3000).toISOString(),
              stream,
              payload,
              cost: lineCost(Buffer.byteLength(payload)),
            })),
          );
        }
      });
    }
  }
  checkpoint();
  const before = sizeOf(store, file);
  const hostYears = HOSTS * YEARS;
  console.log(
    `seeded ${HOSTS} host(s) x ${YEARS} year(s): ${PER_YEAR * hostYears} jobs, ${PER_YEAR * hostYears * LINES.length} log lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(
    `before: ${mb(before.bytes)} MB (${before.pages} pages, ${before.free} free), ${mb(before.bytes / hostYears)} MB per host-year, log usage of h0 ${mb(store.logUsage("job_0_0")?.host_bytes ?? 0)} MB`,
  );

  // The event loop's longest wait while a pass runs: a setImmediate loop beside it.
  let longest = 0;
  let probing = true;
  let last = performance.now();
  const probe = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (probing) setImmediate(probe);
  };
  setImmediate(probe);
  // Each batch's time (one transaction) and each vacuum step's, to tell which holds the loop.
  const batches: number[] = [];
  const jobBatches: number[] = [];
  const steps: number[] = [];
  const timed = <T>(into: number[], fn: () => T): T => {
    const t = performance.now();
    try {
      return fn();
    } finally {
      into.push(performance.now() - t);
    }
  };
  const vacuum = store.incrementalVacuum;
  const deleteOldJobs = store.deleteOldJobs;
  const retention = createRetention({
    store: {
      ...store,
      incrementalVacuum: (pages: number) => timed(steps, () => vacuum(pages)),
      deleteOldJobs: (...args: Parameters<typeof deleteOldJobs>) => timed(jobBatches, () => deleteOldJobs(...args)),
    },
    clock: new ManualClock(new Date(END)),
    settings: DEFAULT_SETTINGS,
    log: silentLogger,
    tx: (fn) => timed(batches, () => store.tx(fn)),
  });
  const t1 = performance.now();
  const pass = await retention.run();
  const took = performance.now() - t1;
  probing = false;
  checkpoint();
  const after = sizeOf(store, file);
  const spread = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1);
    return `${xs.length}, median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
  };
  console.log(
    `transactions: ${spread(batches)}; of them the jobs pass's: ${spread(jobBatches)}; vacuum steps: ${spread(steps)}`,
  );
  const left = store.jobCounts().reduce((a, c) => a + c.n, 0);
  console.log(
    `pass: ${pass.log_lines} lines of ${pass.log_jobs} jobs, ${pass.jobs_deleted} of ${pass.jobs_scanned} old jobs deleted, ${pass.pages_freed} pages freed in ${(took / 1000).toFixed(2)} s; longest hold of the event loop ${longest.toFixed(1)} ms`,
  );
  console.log(
    `after: ${mb(after.bytes)} MB (${after.pages} pages, ${after.free} free; file ${mb(after.file)} MB), ${mb(after.bytes / hostYears)} MB per host-year, ${left} jobs kept, log usage of h0 ${mb(store.logUsage(`job_0_${PER_YEAR * YEARS - 1}`)?.host_bytes ?? 0)} MB`,
  );
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
