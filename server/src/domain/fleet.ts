import { createHash, timingSafeEqual } from "node:crypto";
import type { DomainContext } from "./deps.ts";

/** Fleet-wide reads for the health check and the Prometheus metrics. */
export function createFleet(deps: DomainContext) {
  const { store, settings } = deps;
  return {
    /**
     * Whether a /metrics request may read them: anyone when no token is set, else only with that
     * token (RF_METRICS_TOKEN). Compared as SHA-256 digests in constant time, so neither the
     * token's bytes nor its length show in the answer's timing.
     */
    metricsAllowed(token: string | null): boolean {
      if (settings.metricsToken === null) return true;
      if (token === null) return false;
      return timingSafeEqual(digest(token), digest(settings.metricsToken));
    },

    /** Whether the database answers and has room: `ok`, or what is wrong, for /healthz. */
    health(): { ok: true } | { ok: false; problem: string } {
      const answer = store.check();
      return answer === "ok" ? { ok: true } : { ok: false, problem: answer };
    },

    /** Presence counts, job counts by kind and status, and each host's last successful backup. */
    metrics() {
      const hosts = store.listHosts();
      const names = new Map(hosts.map((h) => [h.id, h.name]));
      return {
        online: hosts.filter((h) => h.online).length,
        offline: hosts.filter((h) => !h.online).length,
        jobCounts: store.jobCounts(),
        lastSuccessfulBackups: store
          .lastSuccessfulBackups()
          .map((r) => ({ ...r, host_name: names.get(r.host_id) ?? "" })),
      };
    },
  };
}

const digest = (s: string) => createHash("sha256").update(s).digest();
