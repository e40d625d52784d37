/** The server's live event stream (SSE); one shared connection, many listeners. */
export interface LiveEvent {
  type: string;
  job_id?: string;
  host_id?: string;
  status?: string;
  online?: boolean;
  progress?: Record<string, number>;
  last_seq?: number;
}

type Listener = (e: LiveEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;
/** "ready" opens every (re)connection: a view may fetch again what it missed while the stream was down. */
const TYPES = [
  "ready",
  "job.updated",
  "job.progress",
  "job.log",
  "host.updated",
  "snapshots.updated",
  "repo_stats.updated",
  "schedule.skipped",
];

export function connectEvents(): void {
  if (source) return;
  source = new EventSource("/api/v1/events", { withCredentials: true });
  for (const t of TYPES) {
    source.addEventListener(t, (msg) => {
      const e = { ...(JSON.parse((msg as MessageEvent).data) as LiveEvent), type: t };
      for (const fn of listeners) fn(e);
    });
  }
  // EventSource reconnects by itself after a drop.
}

export function disconnectEvents(): void {
  source?.close();
  source = null;
}

/** Subscribes until the returned function is called (views call it when they are left). */
export function onEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
