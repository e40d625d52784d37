import { createAuth } from "./auth.ts";
import type { DomainDeps } from "./deps.ts";
import { createHosts } from "./hosts.ts";
import { createJobs } from "./jobs.ts";
import { createPresence } from "./presence.ts";
import { createReports } from "./reports.ts";
import { createSchedules } from "./schedules.ts";

/** Every domain service, built once over the same dependencies. Edges use only these. */
export function createDomain(deps: DomainDeps) {
  const jobs = createJobs(deps);
  return {
    deps,
    auth: createAuth(deps),
    hosts: createHosts(deps),
    schedules: createSchedules(deps),
    jobs,
    reports: createReports(deps, jobs),
    presence: createPresence(deps),
  };
}

export type Domain = ReturnType<typeof createDomain>;
