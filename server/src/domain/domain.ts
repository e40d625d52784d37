import { createAlertConfig } from "./alert-config.ts";
import { createAlertDelivery } from "./alert-delivery.ts";
import { createAlerts, watchForAlerts } from "./alerts.ts";
import { createAuth } from "./auth.ts";
import { createBulkRun } from "./bulk-run.ts";
import { type DomainDeps, domainContext } from "./deps.ts";
import type { FleetEvent } from "./events.ts";
import { createFleet } from "./fleet.ts";
import { createFleetConfig } from "./fleet-config.ts";
import { createHostPush } from "./host-push.ts";
import { createHosts } from "./hosts.ts";
import { createJobs } from "./jobs.ts";
import { createMaintenance } from "./maintenance.ts";
import { createPolicies } from "./policies.ts";
import { createPolicySync } from "./policy-sync.ts";
import { createPresence } from "./presence.ts";
import { createReports } from "./reports.ts";
import { createRepositories, type Repositories } from "./repositories.ts";
import { createRepositoryTest } from "./repository-test.ts";
import { createRetention } from "./retention.ts";
import { createSchedules } from "./schedules.ts";
import { createSnapshotActions } from "./snapshot-actions.ts";
import { createSnapshotFiles } from "./snapshot-files.ts";

/** Every domain service, built once over the same dependencies. Edges use only these. */
export function createDomain(input: DomainDeps) {
  const deps = domainContext(input);
  const jobs = createJobs(deps);
  const recompute = createPolicySync(deps);
  const repositories: Repositories = createRepositories(deps, recompute, () => push);
  const push = createHostPush(deps, (id, host) => repositories.resolveForHost(id, host));
  const hosts = createHosts(deps, recompute, push);
  const alerts = createAlerts(deps, hosts);
  const sender = () => input.notifier ?? null;
  watchForAlerts(deps, alerts);
  const policies = createPolicies(deps, recompute, push, hosts);
  const alertConfig = createAlertConfig(deps, sender);
  return {
    auth: createAuth(deps, recompute),
    hosts,
    schedules: createSchedules(deps, push),
    policies,
    jobs,
    /** Bulk run-now: one job per selected host, through the single run-now's checks. */
    bulkRun: createBulkRun(deps, jobs),
    reports: createReports(deps, jobs),
    presence: createPresence(deps),
    fleet: createFleet(deps, hosts),
    repositories,
    /** Repository-wide prune and check, fired by the server once per shared repository per tick (DESIGN §8.3). */
    maintenance: createMaintenance(deps, jobs),
    /** Test connection: one host's agent tests a repository live (protocol 8). */
    repositoryTest: createRepositoryTest(deps, repositories),
    alerts,
    alertDelivery: createAlertDelivery(deps, sender),
    alertConfig,
    /** Config as code: the repositories, policies, channels and rules as one document (DESIGN §8.3). */
    fleetConfig: createFleetConfig(deps, { repositories, policies, alertConfig }),
    /** Browse and download a snapshot's files, asked live of an agent (DESIGN §8.5). */
    snapshotFiles: createSnapshotFiles(deps),
    /** Forget one snapshot, edit its tags (jobs), check a pair to compare (DESIGN §8.5). */
    snapshotActions: createSnapshotActions(deps, jobs),
    /** Deletes old job logs and jobs, then frees their pages (issue 20 item 5); run by the sweep. */
    retention: createRetention(deps),
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
