/** Live events for the UI's stream: job progress and state, log lines, host presence. */
export type FleetEvent =
  | { type: "job.updated"; job_id: string; host_id: string; status: string }
  | { type: "job.progress"; job_id: string; host_id: string; progress: Record<string, unknown> }
  | { type: "job.log"; job_id: string; host_id: string; last_seq: number }
  | { type: "host.updated"; host_id: string; online: boolean }
  | { type: "snapshots.updated"; host_id: string; count: number }
  | { type: "repo_stats.updated"; host_id: string }
  /** A tick of the schedule was merged into its pending run, `job_id` (domain/tick-merge.ts). */
  | { type: "schedule.skipped"; schedule_id: string; host_id: string; job_id: string };

export class EventBus {
  #subscribers = new Set<(e: FleetEvent) => void>();
  /** Events published inside open transactions, waiting for the outermost commit. */
  #held: FleetEvent[] = [];
  #depth = 0;

  subscribe(fn: (e: FleetEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  publish(e: FleetEvent): void {
    if (this.#depth > 0) this.#held.push(e);
    else this.#deliver(e);
  }

  /** A transaction begins: events wait from now on. Returns the mark to release with. */
  hold(): number {
    this.#depth += 1;
    return this.#held.length;
  }

  /**
   * A transaction ended. Rolled back: its events are dropped. The outermost one committed: the
   * waiting events leave, in order.
   */
  release(mark: number, committed: boolean): void {
    if (!committed) this.#held.length = mark;
    this.#depth -= 1;
    if (this.#depth > 0) return;
    const out = this.#held;
    this.#held = [];
    for (const e of out) this.#deliver(e);
  }

  #deliver(e: FleetEvent): void {
    for (const fn of this.#subscribers) {
      try {
        fn(e);
      } catch {
        // A broken subscriber must not stop the others (or the publisher).
      }
    }
  }

  get size(): number {
    return this.#subscribers.size;
  }
}
