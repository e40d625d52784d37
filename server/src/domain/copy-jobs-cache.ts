import { type LastCopies, lastCopiesByHost } from "./copy-targets.ts";
import type { DomainContext } from "./deps.ts";

/** How often the cache is read whole again anyway (a change no event told of: a hand-edited row). */
export const COPY_JOBS_REFRESH_MS = 3_600_000;

/**
 * Every host's newest copy jobs per target (store.lastCopyJobs) for the alert sweep, which runs
 * every 10 s: read whole once (1.1 s at 300,000 copy jobs: bench/copy-jobs-read.ts), then only the
 * hosts a job of which ended since (job.updated), at 0.1 ms a host, and whole again each hour.
 */
export function createCopyJobsCache(deps: Pick<DomainContext, "store" | "events" | "clock">) {
  const { store, events, clock } = deps;
  let all: Map<string, LastCopies> | null = null;
  let readAt = 0;
  const dirty = new Set<string>();
  events.subscribe((e) => {
    if (e.type === "job.updated" && (e.status === "succeeded" || e.status === "failed" || e.status === "cancelled")) {
      dirty.add(e.host_id);
    }
  });
  return {
    /** Every host's, as of now. */
    all(): ReadonlyMap<string, LastCopies> {
      const now = clock.now().getTime();
      if (all === null || now - readAt >= COPY_JOBS_REFRESH_MS || now < readAt) {
        dirty.clear();
        all = lastCopiesByHost(store.lastCopyJobs());
        readAt = now;
      }
      for (const id of dirty) all.set(id, lastCopiesByHost(store.lastCopyJobs(id)).get(id) ?? new Map());
      dirty.clear();
      return all;
    },
    /** One host's, read now. */
    of: (hostId: string): LastCopies => lastCopiesByHost(store.lastCopyJobs(hostId)).get(hostId) ?? new Map(),
  };
}

export type CopyJobsCache = ReturnType<typeof createCopyJobsCache>;
