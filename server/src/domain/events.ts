/** Live events for the UI's stream: job progress and state, log lines, host presence. */
export type FleetEvent =
  | { type: "job.updated"; job_id: string; host_id: string; status: string }
  | { type: "job.progress"; job_id: string; host_id: string; progress: Record<string, unknown> }
  | { type: "job.log"; job_id: string; host_id: string; last_seq: number }
  | { type: "host.updated"; host_id: string; online: boolean }
  | { type: "snapshots.updated"; host_id: string; count: number }
  | { type: "repo_stats.updated"; host_id: string };

export class EventBus {
  #subscribers = new Set<(e: FleetEvent) => void>();

  subscribe(fn: (e: FleetEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  publish(e: FleetEvent): void {
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
