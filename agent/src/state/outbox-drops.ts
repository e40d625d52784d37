import { type JobLogEnvelope, makeEntry, type OutboxEntry } from "./outbox-records.ts";

export interface Caps {
  maxEntries: number;
  maxBytes: number;
}

/** Builds the one marker line for a job: `[restic-fleet] N log lines dropped: outbox full`. */
export type MakeMarker = (jobId: string, seq: number, ts: string, count: number) => JobLogEnvelope;

export interface DropPlan {
  /** Entries to remove, including the old markers that the new ones replace. */
  remove: OutboxEntry[];
  /** New markers to insert (unflushed); each takes the place (n) of the first line it stands for. */
  markers: OutboxEntry[];
  droppedLogLines: number;
  droppedOther: number;
  /** Still over the low-water mark: only never-dropped messages are left. */
  stillOver: boolean;
}

/** Shrink to 90% of a cap when over it, so a full outbox drops in batches, not on every push. */
export const LOW_WATER = 0.9;
/** Room a new marker takes in the byte count (a marker record is about 300 bytes). */
const MARKER_BYTES = 512;

export const MARKER_TEXT = (count: number) => `[restic-fleet] ${count} log lines dropped: outbox full`;

const isMarker = (e: OutboxEntry) => e.marker !== undefined;
const markerJob = (e: OutboxEntry) => (e.env.type === "job.log" ? (e.env.payload.lines[0]?.job_id ?? "") : "");

/**
 * What to drop so the outbox fits under 90% of its caps. In this order, oldest first in each step:
 * 1. superseded `job.progress` and `snapshots.report` (a newer one, or the job's end, is queued);
 * 2. `job.log` envelopes, with ONE marker line per job saying how many lines went (an earlier
 *    marker for the job is folded into the new one, so the count is the total);
 * 3. the remaining `job.progress`, then all but the newest `repo.stats`.
 * `job.started`, `job.finished`, `command.result` and the markers are never dropped.
 * Returns null when nothing is over a cap.
 */
export function planDrops(
  entries: readonly OutboxEntry[],
  bytes: number,
  caps: Caps,
  makeMarker: MakeMarker,
): DropPlan | null {
  if (entries.length <= caps.maxEntries && bytes <= caps.maxBytes) return null;
  const targetEntries = Math.floor(caps.maxEntries * LOW_WATER);
  const targetBytes = Math.floor(caps.maxBytes * LOW_WATER);
  let count = entries.length;
  let size = bytes;
  const over = () => count > targetEntries || size > targetBytes;
  const oldMarkers = new Map<string, OutboxEntry>();
  for (const e of entries) if (isMarker(e)) oldMarkers.set(markerJob(e), e);

  const dropped: OutboxEntry[] = [];
  const jobsWithDrops = new Set<string>();
  for (const e of dropCandidates(entries)) {
    if (!over()) break;
    dropped.push(e);
    count -= 1;
    size -= e.bytes;
    if (e.env.type !== "job.log") continue;
    for (const line of e.env.payload.lines) {
      if (jobsWithDrops.has(line.job_id)) continue;
      jobsWithDrops.add(line.job_id);
      // A marker for a new job takes an entry back; one for a job with a marker replaces it.
      if (!oldMarkers.has(line.job_id)) {
        count += 1;
        size += MARKER_BYTES;
      }
    }
  }
  if (dropped.length === 0) return { remove: [], markers: [], droppedLogLines: 0, droppedOther: 0, stillOver: true };

  // Per job: how many lines went, and where the first of them was.
  const perJob = new Map<string, { count: number; n: number; seq: number; ts: string }>();
  let droppedOther = 0;
  let droppedLogLines = 0;
  for (const e of dropped) {
    if (e.env.type !== "job.log") {
      droppedOther += 1;
      continue;
    }
    for (const line of e.env.payload.lines) {
      droppedLogLines += 1;
      const seen = perJob.get(line.job_id);
      if (seen) seen.count += 1;
      else perJob.set(line.job_id, { count: 1, n: e.n, seq: line.seq, ts: line.ts });
    }
  }
  const remove = [...dropped];
  const markers: OutboxEntry[] = [];
  for (const [jobId, drop] of perJob) {
    const old = oldMarkers.get(jobId);
    if (old && old.env.type === "job.log" && old.marker !== undefined) {
      const oldLine = old.env.payload.lines[0];
      drop.count += old.marker;
      drop.n = Math.min(drop.n, old.n);
      if (oldLine && oldLine.seq < drop.seq) {
        drop.seq = oldLine.seq;
        drop.ts = oldLine.ts;
      }
      remove.push(old);
    }
    markers.push(makeEntry(drop.n, makeMarker(jobId, drop.seq, drop.ts, drop.count), drop.count));
  }
  return { remove, markers, droppedLogLines, droppedOther, stillOver: over() };
}

function* dropCandidates(entries: readonly OutboxEntry[]): Generator<OutboxEntry> {
  const newestProgress = new Map<string, OutboxEntry>();
  const finished = new Set<string>();
  let newestReport: OutboxEntry | undefined;
  let newestStats: OutboxEntry | undefined;
  for (const e of entries) {
    if (e.env.type === "job.progress") newestProgress.set(e.env.payload.job_id, e);
    else if (e.env.type === "job.finished") finished.add(e.env.payload.job_id);
    else if (e.env.type === "snapshots.report") newestReport = e;
    else if (e.env.type === "repo.stats") newestStats = e;
  }
  for (const e of entries) {
    if (e.env.type === "job.progress") {
      const jobId = e.env.payload.job_id;
      if (finished.has(jobId) || newestProgress.get(jobId) !== e) yield e;
    } else if (e.env.type === "snapshots.report" && e !== newestReport) yield e;
  }
  for (const e of entries) if (e.env.type === "job.log" && !isMarker(e)) yield e;
  for (const e of entries) if (e.env.type === "job.progress") yield e;
  for (const e of entries) if (e.env.type === "repo.stats" && e !== newestStats) yield e;
}
