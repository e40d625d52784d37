import type { LogLine } from "../../../protocol/index.ts";
import type { DomainContext } from "./deps.ts";
import type { LogRow } from "./types.ts";
import { utc } from "./utc.ts";

/**
 * What one stored line counts against the log limits: about its size on disk, not its length,
 * so a flood of short or mid-sized lines cannot store several times the limit. Measured
 * (job_logs, SQLite's 4 KiB pages, 20,000 rows each): a line of up to 900 bytes takes its text
 * plus 100-125 bytes; from about 920 bytes the row spills into an overflow page and takes
 * 4,681 bytes whatever its length up to 4.6 KB; longer lines take their text plus 0.5-1.6%.
 */
export function lineCost(payloadBytes: number): number {
  if (payloadBytes <= 900) return payloadBytes + 128;
  return Math.max(4736, payloadBytes + 1280 + Math.ceil(payloadBytes / 128));
}

/** The one line a job's log gets where a limit stopped it; later lines are dropped. */
function limitMarker(line: LogLine, which: "job" | "host", limit: number, at: string): LogRow {
  const what =
    which === "job"
      ? `this job's log holds ${limit} bytes (RF_LOG_BYTES_PER_JOB)`
      : `this host's jobs hold ${limit} bytes of log (RF_LOG_BYTES_PER_HOST)`;
  return {
    job_id: line.job_id,
    seq: line.seq,
    ts: at,
    stream: "event",
    payload: `log limit reached: ${what}; later lines dropped`,
  };
}

/**
 * Stores a job.log frame's lines within the log limits, per job and per host. Past a limit a job
 * gets exactly one marker line (at the seq of its first dropped line), and nothing of it is
 * stored after that. The counters are the store's (two rows updated per frame), so the hot path
 * never sums stored lines. Lines of jobs that are not this host's are not stored.
 * Returns the last seq stored per job, and the first foreign job id, if any.
 */
export function storeLogLines(
  deps: Pick<DomainContext, "store" | "clock" | "settings">,
  hostId: string,
  lines: readonly LogLine[],
): { lastSeq: Map<string, number>; foreign: string | null } {
  const { store, settings } = deps;
  const at = deps.clock.now().toISOString();
  const jobs = new Map<string, { bytes: number; capped: boolean } | null>();
  let hostBytes: number | null = null;
  let foreign: string | null = null;
  const keep: Array<LogRow & { cost: number }> = [];
  const markers: LogRow[] = [];
  const lastSeq = new Map<string, number>();
  for (const l of lines) {
    let job = jobs.get(l.job_id);
    if (job === undefined) {
      // One read per job in the frame, not per line.
      const usage = store.logUsage(l.job_id);
      job = usage && usage.host_id === hostId ? { bytes: usage.job_bytes, capped: usage.capped } : null;
      if (usage && job) hostBytes ??= usage.host_bytes;
      jobs.set(l.job_id, job);
    }
    if (job === null) {
      foreign ??= l.job_id;
      continue;
    }
    if (job.capped) continue;
    const cost = lineCost(Buffer.byteLength(l.payload));
    const over =
      job.bytes + cost > settings.logBytesPerJob
        ? ("job" as const)
        : (hostBytes ?? 0) + cost > settings.logBytesPerHost
          ? ("host" as const)
          : null;
    if (over) {
      job.capped = true;
      markers.push(limitMarker(l, over, over === "job" ? settings.logBytesPerJob : settings.logBytesPerHost, at));
    } else {
      job.bytes += cost;
      hostBytes = (hostBytes ?? 0) + cost;
      keep.push({ job_id: l.job_id, seq: l.seq, ts: utc(l.ts), stream: l.stream, payload: l.payload, cost });
    }
    lastSeq.set(l.job_id, Math.max(lastSeq.get(l.job_id) ?? 0, l.seq));
  }
  store.insertLogs(hostId, keep);
  for (const m of markers) store.capLog(m);
  return { lastSeq, foreign };
}
