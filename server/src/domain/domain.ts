import { createAuth } from "./auth.ts";
import { type DomainDeps, domainContext } from "./deps.ts";
import type { FleetEvent } from "./events.ts";
import { createFleet } from "./fleet.ts";
import { createHosts } from "./hosts.ts";
import { createJobs } from "./jobs.ts";
import { createPresence } from "./presence.ts";
import { createReports } from "./reports.ts";
import { createRepositories } from "./repositories.ts";
import { createSchedules } from "./schedules.ts";

/** Every domain service, built once over the same dependencies. Edges use only these. */
export function createDomain(input: DomainDeps) {
  const deps = domainContext(input);
  const jobs = createJobs(deps);
  return {
    auth: createAuth(deps),
    hosts: createHosts(deps),
    schedules: createSchedules(deps),
    jobs,
    reports: createReports(deps, jobs),
    presence: createPresence(deps),
    fleet: createFleet(deps),
    repositories: createRepositories(deps),
    /** Live events for the UI's stream; they arrive only after their change has committed. */
    subscribe: (fn: (e: FleetEvent) => void) => deps.events.subscribe(fn),
    /**
     * Runs fn in one transaction (a savepoint when nested), holding live events until the
     * outermost commit. The gateway stores each batch of agent frames this way.
     */
    atomically: <T>(fn: () => T): T => deps.tx(fn),
    /** false when a storage failure ended the open transaction underneath a savepoint. */
    inTransaction: () => deps.store.inTransaction(),
  };
}

export type Domain = ReturnType<typeof createDomain>;
