import { audit } from "./audit.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import type { Jobs } from "./jobs.ts";
import { requireAdmin } from "./permissions.ts";
import { checkSelector, matches, type Selector } from "./selector.ts";
import type { ApiJobCommand, Host, Job } from "./types.ts";

/** Which hosts a bulk run-now is for: a selector (DESIGN §8.2), or hosts picked one by one. */
export interface BulkTarget {
  selector?: Selector | undefined;
  host_ids?: readonly string[] | undefined;
}

/** A selected host that cannot run the command (its agent is too old for the kind, say), and why. */
export interface RefusedHost {
  host_id: string;
  host_name: string;
  message: string;
}

export interface BulkRun {
  /**
   * One job per host that can run the command, in the hosts' order (by name), each with its host's
   * name (the hosts of a labelled run are not on the caller's screen).
   */
  items: Array<Job & { host_name: string }>;
  /** The selected hosts left out, each with the reason; empty when every host took its job. */
  refused: RefusedHost[];
}

/** `{env=prod, role=db}`. */
function selectorText(selector: Selector): string {
  return `{${Object.entries(selector.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ")}}`;
}

/**
 * Bulk run-now (DESIGN §8.3, issue 18 item 3): `POST /api/v1/jobs {selector | host_ids, kind, spec?}`
 * makes one job per selected host. Each host goes through the single run-now's own checks
 * (jobs.planRun), so the rules are the same whichever door: a host whose agent cannot run the
 * command (a `conflict`, such as a drill for a protocol 6 agent) is left out and listed in
 * `refused` with the reason; a problem with the request itself (a bad spec, an unknown host id or
 * source host) refuses the whole request. The jobs are made in one transaction, with one audit
 * entry naming the selection and the count; offline hosts' jobs stay queued and go out on hello.
 */
export function createBulkRun(deps: DomainContext, jobs: Jobs) {
  const { store, tx } = deps;

  /** The selected hosts, by name, and the selection as the audit entry names it. */
  function selectHosts(target: BulkTarget): { hosts: Host[]; selection: Record<string, unknown> } {
    if ((target.selector === undefined) === (target.host_ids === undefined)) {
      throw new DomainError("invalid", "name the hosts with either selector or host_ids (one of them)", "selector");
    }
    if (target.host_ids !== undefined) {
      if (target.host_ids.length === 0) {
        throw new DomainError("invalid", "host_ids is empty: pick at least one host", "host_ids");
      }
      const byId = new Map<string, Host>();
      target.host_ids.forEach((id, i) => {
        const h = byId.has(id) ? undefined : store.hostById(id);
        if (h === null) throw new DomainError("not_found", `host ${id} not found`, `host_ids.${i}`);
        if (h) byId.set(id, h);
      });
      const hosts = [...byId.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      return { hosts, selection: { host_ids: [...byId.keys()] } };
    }
    const selector = checkSelector(target.selector ?? {});
    const hosts = store.listHosts().filter((h) => matches(selector, h.labels));
    if (hosts.length === 0) {
      const labels = Object.keys(selector.labels ?? {}).length > 0;
      throw new DomainError(
        "conflict",
        labels
          ? `no host has all the labels ${selectorText(selector)}: nothing was run`
          : "there are no hosts yet: nothing was run",
        "selector",
      );
    }
    return { hosts, selection: { selector } };
  }

  return {
    run(actor: Actor, target: BulkTarget, input: ApiJobCommand): BulkRun {
      requireAdmin(actor, "running a job");
      const { hosts, selection } = selectHosts(target);
      const plans: Array<() => Job> = [];
      const refused: RefusedHost[] = [];
      for (const h of hosts) {
        try {
          plans.push(jobs.planRun(actor, h.id, input));
        } catch (err) {
          // A host that cannot take this command; anything else is the request's own problem.
          if (!(err instanceof DomainError) || err.code !== "conflict") throw err;
          refused.push({ host_id: h.id, host_name: h.name, message: err.message });
        }
      }
      if (plans.length === 0) {
        // The first 10 reasons (a fleet of old agents would otherwise make a message of megabytes).
        const why = refused
          .slice(0, 10)
          .map((r) => `${r.host_name}: ${r.message}`)
          .join("; ");
        const more = refused.length > 10 ? `; and ${refused.length - 10} more` : "";
        throw new DomainError(
          "conflict",
          `none of the ${hosts.length} selected hosts can run this ${input.kind}: ${why}${more}`,
        );
      }
      const made = tx(() => {
        const js = plans.map((make) => make());
        const detail: Record<string, unknown> = {
          ...selection,
          kind: input.kind,
          count: js.length,
          job_ids: js.map((j) => j.id),
        };
        if (input.spec !== undefined) detail.spec = input.spec;
        if (refused.length) detail.refused = refused.map((r) => ({ host_id: r.host_id, message: r.message }));
        audit(deps, actor, "job.run_bulk", null, detail);
        return js;
      });
      const names = new Map(hosts.map((h) => [h.id, h.name]));
      return { items: made.map((j) => ({ ...jobs.launch(j), host_name: names.get(j.host_id) ?? j.host_id })), refused };
    },
  };
}

export type BulkRuns = ReturnType<typeof createBulkRun>;
