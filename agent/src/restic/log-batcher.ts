import { type LogLine, MAX_LOG_LINES_PER_FRAME } from "../../../protocol/index.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import type { Redact } from "./secrets.ts";
import type { Emit } from "./types.ts";

// Text allows 64 KiB per payload; 16 KiB keeps 500 lines well inside the 1 MiB frame.
const MAX_PAYLOAD_CHARS = 16 * 1024;

/**
 * Collects one job's log lines into job.log frames. Lines are redacted on the way in, numbered from
 * seq 1, and sent when batchMs has passed since the first unsent line, when a frame is full
 * (MAX_LOG_LINES_PER_FRAME), or on flush() (the job's end, before job.finished).
 */
export class LogBatcher {
  #seq = 0;
  #lines: LogLine[] = [];
  #timer: TimerHandle | null = null;
  readonly #jobId: string;
  readonly #clock: Clock;
  readonly #emit: Emit;
  readonly #batchMs: number;
  readonly #redact: Redact;

  constructor(opts: { jobId: string; clock: Clock; emit: Emit; batchMs: number; redact: Redact }) {
    this.#jobId = opts.jobId;
    this.#clock = opts.clock;
    this.#emit = opts.emit;
    this.#batchMs = opts.batchMs;
    this.#redact = opts.redact;
  }

  /** Lines sent or waiting so far. */
  get count(): number {
    return this.#seq;
  }

  add(stream: LogLine["stream"], text: string): void {
    let payload = this.#redact(text);
    if (payload.length > MAX_PAYLOAD_CHARS) payload = `${payload.slice(0, MAX_PAYLOAD_CHARS)} …[cut]`;
    this.#seq += 1;
    this.#lines.push({ job_id: this.#jobId, seq: this.#seq, ts: this.#clock.now().toISOString(), stream, payload });
    if (this.#lines.length >= MAX_LOG_LINES_PER_FRAME) {
      this.#sendFullFrames();
    } else if (!this.#timer) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = null;
        this.flush();
      }, this.#batchMs);
    }
  }

  /** Sends everything waiting, in frames of at most MAX_LOG_LINES_PER_FRAME lines. */
  flush(): void {
    this.#cancelTimer();
    while (this.#lines.length > 0) {
      this.#emit("job.log", { lines: this.#lines.splice(0, MAX_LOG_LINES_PER_FRAME) });
    }
  }

  #sendFullFrames(): void {
    while (this.#lines.length >= MAX_LOG_LINES_PER_FRAME) {
      this.#emit("job.log", { lines: this.#lines.splice(0, MAX_LOG_LINES_PER_FRAME) });
    }
    if (this.#lines.length === 0) this.#cancelTimer();
  }

  #cancelTimer(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
