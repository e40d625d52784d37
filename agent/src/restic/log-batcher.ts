import { type LogLine, MAX_LOG_LINES_PER_FRAME } from "../../../protocol/index.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import type { Redact } from "./secrets.ts";
import type { Emit } from "./types.ts";

// Text allows 64 KiB per payload; 16 KiB keeps any single line far inside the 1 MiB frame.
const MAX_PAYLOAD_CHARS = 16 * 1024;
/**
 * A frame is sent once its lines' JSON reaches 256 KiB, whatever their count: 500 long lines, or
 * escaping (a control character becomes 6 bytes), could otherwise pass the server's 1 MiB limit,
 * and a refused frame would block the outbox.
 */
export const MAX_BATCH_BYTES = 256 * 1024;

/**
 * Collects one job's log lines into job.log frames. Lines are redacted on the way in, numbered from
 * seq 1, and sent when batchMs has passed since the first unsent line, when a frame is full
 * (MAX_LOG_LINES_PER_FRAME), or on flush() (the job's end, before job.finished).
 */
export class LogBatcher {
  #seq = 0;
  #lines: LogLine[] = [];
  #bytes = 0;
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
    const line: LogLine = { job_id: this.#jobId, seq: this.#seq, ts: this.#clock.now().toISOString(), stream, payload };
    const size = JSON.stringify(line).length + 1;
    if (this.#lines.length > 0 && this.#bytes + size > MAX_BATCH_BYTES) this.#emitBatch();
    this.#lines.push(line);
    this.#bytes += size;
    if (this.#lines.length >= MAX_LOG_LINES_PER_FRAME || this.#bytes >= MAX_BATCH_BYTES) {
      this.#emitBatch();
      this.#cancelTimer();
    } else if (!this.#timer) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = null;
        this.flush();
      }, this.#batchMs);
    }
  }

  /** Sends everything waiting (each add() keeps the batch within one frame's limits). */
  flush(): void {
    this.#cancelTimer();
    if (this.#lines.length > 0) this.#emitBatch();
  }

  #emitBatch(): void {
    const lines = this.#lines;
    this.#lines = [];
    this.#bytes = 0;
    this.#emit("job.log", { lines });
  }

  #cancelTimer(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
