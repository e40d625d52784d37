import type { Logger } from "../log.ts";
import { REBUILD_WINDOW_DAYS } from "./agent-jobs.ts";
import type { DomainContext } from "./deps.ts";
import type { FinishedJobMark } from "./retention-rows.ts";
import type { Store } from "./store.ts";

/**
 * Retention of the server's own history (issue 20 item 5), so the database does not grow forever:
 *
 * - Log lines of a job that finished more than keepJobLogsDays ago are deleted, a few hundred
 *   at a time (a job may have 160,000 lines), and the job row is marked (logs_pruned_at); its
 *   host's log usage loses the job's bytes, or a host would stay at RF_LOG_BYTES_PER_HOST forever.
 * - A job that finished more than keepJobsDays ago is deleted once its lines are gone, but only
 *   when another job of the same host, kind, status and target (spec.target_id) is newer in both
 *   created_at and finished_at. So the newest of each stays, and with it every fact read from the
 *   newest job: a host's last backup and last successful backup, last check and drill (the
 *   triggers of migrations 13, 12 and 15), lastJobOfKind, the copy targets' last and last
 *   successful copy (lastCopyJobs), a repository's last prune and check. Two more keep a job:
 *   a backup whose snapshot the host still lists (its size comes from the job, backupSizes), and
 *   the job of a repository's newest fired maintenance tick of each kind.
 * - A job not finished (queued or running) is never touched.
 *
 * It runs from the server's sweep at most once an hour, in batches with a turn of the event loop
 * between them, then gives the freed pages back to the file system (incremental vacuum) in steps.
 */

/** Log lines per batch of the log pass: each batch is one short transaction. */
export const RETENTION_BATCH = 500;
/**
 * Jobs per batch of the log pass. Marking a job costs more than deleting a line (its row, the host's
 * log usage, an index entry): on the bench's 50,000-host database, 500 jobs without lines took
 * 36-100 ms a batch (a stall the dashboard's calls felt), 50 about 6 ms.
 */
export const LOG_JOBS_BATCH = 50;
/**
 * Jobs looked at per batch of the jobs pass. Fewer than lines: a job's delete runs its host's
 * facts triggers and updates a dozen indexes. At 17,520 jobs of one host (in memory, on the
 * shared 2-core machine) 500 took about 40 ms a batch, 100 about 6.
 */
export const JOBS_BATCH = 100;
/** Free pages given back per step of incremental vacuum (1 MiB of 4 KiB pages): 1,024 took 75-125 ms a step (bench/retention.ts). */
export const VACUUM_STEP_PAGES = 256;
/** How often a pass runs, by the domain's clock. */
export const RETENTION_EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;
const JOBS_MARK = "jobs";

/** Why these days cannot be the settings, or null when they can. */
export function retentionDaysProblem(keepJobLogsDays: number, keepJobsDays: number): string | null {
  // A deleted job whose snapshot is within the rebuild window would be made again from the
  // snapshot's tag the next time the agent lists its snapshots (agent-jobs.ts).
  if (keepJobsDays < REBUILD_WINDOW_DAYS) {
    return `RF_KEEP_JOBS_DAYS must be at least ${REBUILD_WINDOW_DAYS} (the days in which a lost agent job is rebuilt from its snapshot); got ${keepJobsDays}`;
  }
  if (keepJobLogsDays < 1) return `RF_KEEP_JOB_LOGS_DAYS must be at least 1; got ${keepJobLogsDays}`;
  // A job is deleted only once its lines are gone: logs kept longer than jobs would keep jobs too.
  if (keepJobLogsDays > keepJobsDays) {
    return `RF_KEEP_JOB_LOGS_DAYS (${keepJobLogsDays}) must not be more than RF_KEEP_JOBS_DAYS (${keepJobsDays})`;
  }
  return null;
}

export interface RetentionPass {
  log_jobs: number;
  log_lines: number;
  jobs_deleted: number;
  jobs_scanned: number;
  pages_freed: number;
}

/** Gives the event loop a turn: the gateway's frames and the API run between two batches. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

class Stopped extends Error {}

export function createRetention(deps: Pick<DomainContext, "store" | "clock" | "settings" | "log" | "tx">) {
  const { store, clock, settings, log } = deps;
  let lastStart: number | null = null;
  let running: Promise<RetentionPass | null> | null = null;
  /** Set by stop(): each loop ends after its current batch, before the store closes. */
  let stopping = false;
  const turn = async () => {
    await nextTurn();
    if (stopping) throw new Stopped();
  };

  async function pruneLogs(cut: string, at: string, out: RetentionPass) {
    for (;;) {
      // One transaction of at most RETENTION_BATCH lines (and jobs): one commit for many short
      // logs, a long one over several. Each job's lines go from its lowest seq, and the mark is
      // set only with the last of them, so a pass stopped midway resumes at its next line.
      const more = deps.tx(() => {
        let lines = 0;
        for (let jobs = 0; lines < RETENTION_BATCH && jobs < LOG_JOBS_BATCH; jobs++) {
          const job = store.nextJobToPruneLogs(cut);
          if (!job) return false;
          const n = store.deleteLogLines(job.id, RETENTION_BATCH - lines);
          lines += n;
          out.log_lines += n;
          if (lines < RETENTION_BATCH) {
            store.markLogsPruned(job.id, at);
            out.log_jobs += 1;
          }
        }
        return true;
      });
      if (!more) return;
      await turn();
    }
  }

  async function pruneJobs(cut: string, out: RetentionPass) {
    const saved = store.retentionMark(JOBS_MARK);
    let after: FinishedJobMark | null = saved ? (JSON.parse(saved) as FinishedJobMark) : null;
    for (;;) {
      const r = deps.tx(() => store.deleteOldJobs(cut, after, JOBS_BATCH));
      out.jobs_scanned += r.scanned;
      out.jobs_deleted += r.deleted;
      // The walk's position is kept, so a pass stopped midway resumes there; at the cut it starts
      // from the first again next time (a kept job may have a newer one by then).
      after = r.scanned < JOBS_BATCH ? null : r.last;
      store.setRetentionMark(JOBS_MARK, after ? JSON.stringify(after) : null);
      if (after === null) return;
      await turn();
    }
  }

  async function reclaim(out: RetentionPass) {
    if (store.autoVacuum() !== "incremental") return;
    let free = store.pageCounts().free;
    while (free > 0) {
      const left = store.incrementalVacuum(VACUUM_STEP_PAGES);
      out.pages_freed += free - left;
      if (left >= free) return;
      free = left;
      await turn();
    }
  }

  /** One whole pass now: logs, then jobs, then vacuum. */
  async function run(): Promise<RetentionPass> {
    const now = clock.now();
    const at = now.toISOString();
    const out: RetentionPass = { log_jobs: 0, log_lines: 0, jobs_deleted: 0, jobs_scanned: 0, pages_freed: 0 };
    await pruneLogs(new Date(now.getTime() - settings.keepJobLogsDays * DAY_MS).toISOString(), at, out);
    await pruneJobs(new Date(now.getTime() - settings.keepJobsDays * DAY_MS).toISOString(), out);
    await reclaim(out);
    if (out.log_jobs || out.jobs_deleted || out.pages_freed) log.info("retention pass", { ...out });
    return out;
  }

  return {
    /**
     * Starts a pass when none is running and none started within the hour (by the clock); the
     * server's sweep calls it every 10 s. Failures are logged, never thrown into the sweep.
     */
    sweep(): void {
      const now = clock.now().getTime();
      if (stopping || running || (lastStart !== null && now - lastStart < RETENTION_EVERY_MS && now >= lastStart)) {
        return;
      }
      lastStart = now;
      running = run()
        .catch((err): null => {
          if (!(err instanceof Stopped)) {
            log.error("retention pass failed", { error: String(err instanceof Error ? err.message : err) });
          }
          return null;
        })
        .finally(() => {
          running = null;
        });
    },
    /** Ends the running pass after its current batch (the server stops); no pass starts after. */
    async stop(): Promise<void> {
      stopping = true;
      await running;
    },
    /** The running pass (tests await it after sweep()); resolves at once when none runs. */
    idle: (): Promise<RetentionPass | null> => running ?? Promise.resolve(null),
    run,
  };
}

export type Retention = ReturnType<typeof createRetention>;

/**
 * A database made before migration 28 has no auto_vacuum, so retention's deletes would leave its
 * file as large as ever: it is rewritten once (VACUUM) with incremental vacuum on. VACUUM needs
 * about the file's size free on its disk; when it fails the server goes on without it.
 */
export function convertToIncrementalVacuum(
  store: Pick<Store, "autoVacuum" | "pageCounts" | "enableIncrementalVacuum">,
  log: Logger,
  file: string,
): void {
  if (store.autoVacuum() !== "none") return;
  const before = store.pageCounts();
  log.info("turning on incremental vacuum: rewriting the database once (VACUUM)", {
    file,
    bytes: before.pages * before.page_size,
  });
  try {
    store.enableIncrementalVacuum();
    const after = store.pageCounts();
    log.info("incremental vacuum is on", { file, bytes: after.pages * after.page_size });
  } catch (err) {
    log.warn(
      "could not turn on incremental vacuum; the server runs on, and deleted history's space is reused but not given back to the disk",
      {
        file,
        error: String(err instanceof Error ? err.message : err),
        hint: "VACUUM needs about the database's size free on its disk: free space there and restart the server",
      },
    );
  }
}
