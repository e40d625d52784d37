import { createHash, timingSafeEqual } from "node:crypto";
import { CONDITIONS, type Condition } from "./alert-conditions.ts";
import { BACKUP_HEALTH_STATES, type BackupHealth } from "./backup-health.ts";
import type { DomainContext } from "./deps.ts";
import type { Hosts } from "./hosts.ts";

/** What /metrics says about one host: every enrolled host has one, backed up or not. */
export interface HostMetrics {
  id: string;
  name: string;
  online: boolean;
  enrolledAt: string;
  /** null: never backed up. */
  lastSuccessAt: string | null;
  health: BackupHealth;
  /** The last finished drill, null before the first (migration 15). */
  lastDrill: { at: string; result: "passed" | "failed" } | null;
  /** When the last rolling data check cycle completed; null before the first. */
  lastFullReadAt: string | null;
}

export interface FleetMetrics {
  online: number;
  offline: number;
  jobCounts: ReturnType<DomainContext["store"]["jobCounts"]>;
  /** In the host list's order (name, id). */
  hosts: HostMetrics[];
  /** Hosts per backup health, every state present (0 included). */
  health: Record<BackupHealth, number>;
  /** Each firing alert of an enrolled host, with that host's name. */
  firing: Array<{ host_id: string; host_name: string; condition: Condition }>;
  /** Firing alerts per condition, every condition present (0 included). */
  firingByCondition: Record<Condition, number>;
}

/** Fleet-wide reads for the health check and the Prometheus metrics. */
export function createFleet(deps: DomainContext, hostList: Pick<Hosts, "list">) {
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

    /**
     * Presence, job counts, and per host: presence, last success, backup health; the firing
     * alerts. From the host list's own views (hosts.list(), so health is the list's
     * `backup_health` and never a second rule), in one pass, plus two statements (job counts,
     * firing alerts) whatever the fleet's size.
     */
    metrics(): FleetMetrics {
      const views = hostList.list();
      const health = Object.fromEntries(BACKUP_HEALTH_STATES.map((s) => [s, 0])) as Record<BackupHealth, number>;
      const hosts: HostMetrics[] = [];
      const names = new Map<string, string>();
      let online = 0;
      for (const v of views) {
        if (v.online) online++;
        health[v.backup_health]++;
        names.set(v.id, v.name);
        hosts.push({
          id: v.id,
          name: v.name,
          online: v.online,
          enrolledAt: v.enrolled_at,
          lastSuccessAt: v.last_successful_backup_at,
          health: v.backup_health,
          lastDrill:
            v.last_drill_at !== null && v.last_drill_result !== null
              ? { at: v.last_drill_at, result: v.last_drill_result }
              : null,
          lastFullReadAt: v.last_full_read_at,
        });
      }
      const firingByCondition = Object.fromEntries(CONDITIONS.map((c) => [c, 0])) as Record<Condition, number>;
      const firing: FleetMetrics["firing"] = [];
      for (const a of store.firingAlerts()) {
        const host_name = names.get(a.host_id);
        if (host_name === undefined) continue; // revoked meanwhile
        firingByCondition[a.condition]++;
        firing.push({ host_id: a.host_id, host_name, condition: a.condition });
      }
      return {
        online,
        offline: hosts.length - online,
        jobCounts: store.jobCounts(),
        hosts,
        health,
        firing,
        firingByCondition,
      };
    },
  };
}

const digest = (s: string) => createHash("sha256").update(s).digest();
