import type { JobProgressPayload } from "../../../protocol/index.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import type { StatusMessage } from "./restic-json.ts";
import type { Emit } from "./types.ts";

/** Maps a restic status line (backup or restore) to the job.progress payload. */
export function progressOf(jobId: string, s: StatusMessage): JobProgressPayload {
  const bytesDone = count(s.bytes_done ?? s.bytes_restored);
  const elapsed = s.seconds_elapsed ?? 0;
  const throughput = elapsed > 0 ? bytesDone / elapsed : 0;
  let eta = s.seconds_remaining;
  const totalBytes = count(s.total_bytes);
  if (eta === undefined) eta = throughput > 0 && totalBytes > bytesDone ? (totalBytes - bytesDone) / throughput : 0;
  return {
    job_id: jobId,
    percent_done: clamp(s.percent_done ?? (totalBytes > 0 ? bytesDone / totalBytes : 0), 0, 1),
    files_done: count(s.files_done ?? s.files_restored),
    total_files: count(s.total_files),
    bytes_done: bytesDone,
    total_bytes: totalBytes,
    eta_seconds: clamp(eta, 0, Number.MAX_SAFE_INTEGER),
    throughput_bps: clamp(throughput, 0, Number.MAX_SAFE_INTEGER),
  };
}

function count(n: number | undefined): number {
  return n === undefined ? 0 : clamp(Math.floor(n), 0, Number.MAX_SAFE_INTEGER);
}

function clamp(n: number, lo: number, hi: number): number {
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : lo;
}

/**
 * Emits job.progress at most once per intervalMs of the injected clock. The first status goes out
 * at once; a later one waits for the interval, and only the newest waiting status is sent.
 */
export class ProgressThrottle {
  #lastAt = Number.NEGATIVE_INFINITY;
  #pending: JobProgressPayload | null = null;
  #timer: TimerHandle | null = null;
  readonly #clock: Clock;
  readonly #emit: Emit;
  readonly #intervalMs: number;

  constructor(opts: { clock: Clock; emit: Emit; intervalMs: number }) {
    this.#clock = opts.clock;
    this.#emit = opts.emit;
    this.#intervalMs = opts.intervalMs;
  }

  update(p: JobProgressPayload): void {
    const now = this.#clock.now().getTime();
    if (now - this.#lastAt >= this.#intervalMs) {
      this.#send(p, now);
      return;
    }
    this.#pending = p;
    this.#timer ??= this.#clock.setTimeout(
      () => {
        this.#timer = null;
        const next = this.#pending;
        if (next) this.#send(next, this.#clock.now().getTime());
      },
      this.#lastAt + this.#intervalMs - now,
    );
  }

  /** The job ended: a waiting status is dropped, job.finished carries the final numbers. */
  stop(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending = null;
  }

  #send(p: JobProgressPayload, now: number): void {
    this.#pending = null;
    this.#lastAt = now;
    this.#emit("job.progress", p);
  }
}
