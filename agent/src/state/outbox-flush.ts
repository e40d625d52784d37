import type { Clock, TimerHandle } from "../clock.ts";

/**
 * When the outbox writes: once a timer set by the first change since the last write goes off, or
 * at once on flush(). One write runs at a time; flushes asked for while one waits to start share it.
 */
export class FlushQueue {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #write: () => Promise<void>;
  /** A timed write failed; it is retried at the next tick. */
  readonly #failed: (err: unknown) => void;
  #timer: TimerHandle | null = null;
  #tail: Promise<void> = Promise.resolve();
  #waiting: Promise<void> | null = null;
  #stopped = false;

  constructor(clock: Clock, intervalMs: number, write: () => Promise<void>, failed: (err: unknown) => void) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#write = write;
    this.#failed = failed;
  }

  /** Sets the timer, unless it is set already or the queue is stopped. */
  arm(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.flush().catch((err) => {
        this.#failed(err);
        this.arm();
      });
    }, this.#intervalMs);
  }

  /** Writes now (after the write in progress, if any); resolves once it is done. */
  flush(): Promise<void> {
    if (this.#timer) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#waiting) return this.#waiting;
    const next = this.#tail
      .catch(() => {})
      .then(() => {
        this.#waiting = null;
        return this.#write();
      });
    this.#waiting = next;
    this.#tail = next;
    return next;
  }

  /** Resolves once the writes started so far are done, without starting one. */
  settled(): Promise<void> {
    return this.#tail.catch(() => {});
  }

  /** The timer is not set again; flush() still writes. */
  stop(): void {
    this.#stopped = true;
  }
}
