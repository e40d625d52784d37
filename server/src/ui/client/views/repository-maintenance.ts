import { api } from "../api.ts";
import { h } from "../dom.ts";
import { absolute } from "../format.ts";
import type { Repository, RepositoryMaintenance } from "../types.ts";
import { ago, badge } from "../widgets.ts";

type LastRun = Repository["last_prune"];

/**
 * A repository's last check or prune in the list: its result linked to its job, how long ago,
 * on which host, and the error of a failed one.
 */
export function lastRun(label: string, run: LastRun) {
  return h(
    "small",
    { class: `block last-${label}` },
    `last ${label} `,
    run
      ? [
          h("a", { href: `#/jobs/${run.job_id}`, class: "badge-link" }, badge(run.status)),
          " ",
          ago(run.finished_at),
          " on ",
          h("a", { href: `#/hosts/${run.host_id}` }, run.host_name),
          run.status === "failed" && run.error ? h("small", { class: "error block" }, run.error) : null,
        ]
      : h("span", { class: "muted" }, "never"),
  );
}

type Fact = RepositoryMaintenance["last_prune"];

/** One of the card's facts: a prune or check job, its result, when and where. */
function fact(title: string, f: Fact) {
  if (!f) return h("li", {}, h("strong", {}, `${title}: `), h("span", { class: "muted" }, "none yet"));
  return h(
    "li",
    {},
    h("strong", {}, `${title}: `),
    h("a", { href: `#/jobs/${f.job_id}`, class: "badge-link" }, badge(f.status)),
    " ",
    ago(f.finished_at ?? f.started_at ?? f.created_at),
    " on ",
    h("a", { href: `#/hosts/${f.host_id}` }, f.host_name),
    f.actor_kind === "schedule"
      ? h("span", { class: "muted" }, " (scheduled)")
      : h("span", { class: "muted" }, ` (${f.actor_kind})`),
    f.status === "failed" && f.error ? h("small", { class: "error block" }, f.error) : null,
  );
}

const when = (iso: string | null) => (iso ? h("time", { datetime: iso, title: absolute(iso) }, absolute(iso)) : "–");

/**
 * The maintenance card of a repository (GET /repositories/:id/maintenance): who runs its prune and
 * check, the last of each, what runs now, and its recent ticks with what became of each and why.
 */
export async function maintenanceCard(r: Repository, close: () => void): Promise<HTMLElement> {
  const m = await api<RepositoryMaintenance>(`/repositories/${r.id}/maintenance`);
  const who = m.shared
    ? "A shared repository: the prune and check schedules of its policies run once per repository per tick, started by the server on one online host that uses it (the one that ran them least recently). A tick that finds a prune or check still queued or running is skipped; with no host online it waits for the first one."
    : "A per-host template: each host prunes and checks its own repository on its own schedule.";
  return h(
    "section",
    { class: "card maintenance", "aria-labelledby": "maint-h" },
    h(
      "div",
      { class: "card-head" },
      h("h2", { id: "maint-h" }, `Maintenance of ${r.name}`),
      h("button", { type: "button", class: "secondary", onclick: close }, "Close"),
    ),
    h("p", { class: "muted" }, who),
    h(
      "ul",
      { class: "maintenance-facts" },
      fact("Last prune", m.last_prune),
      fact("Last check", m.last_check),
      m.running ? fact(`Now ${m.running.status}`, m.running) : null,
    ),
    m.schedules.length > 0 ? h("h3", {}, "Schedules the server runs") : null,
    m.schedules.length > 0
      ? h(
          "table",
          { class: "maintenance-schedules" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["Kind", "Policy", "When", "Next run", "Hosts online"].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          h(
            "tbody",
            {},
            m.schedules.map((s) =>
              h(
                "tr",
                {},
                h("td", { "data-label": "Kind" }, s.kind),
                h("td", { "data-label": "Policy" }, h("a", { href: `#/policies/${s.policy_id}` }, s.policy_name)),
                h("td", { "data-label": "When" }, h("code", {}, s.cron_expr), ` ${s.timezone}`),
                h("td", { "data-label": "Next run" }, when(s.next_run_at)),
                h("td", { "data-label": "Hosts online" }, `${s.online_hosts} of ${s.hosts}`),
              ),
            ),
          ),
        )
      : m.shared
        ? h("p", { class: "muted" }, "No policy gives this repository a prune or check schedule.")
        : null,
    m.ticks.length > 0 ? h("h3", {}, "Recent ticks") : null,
    m.ticks.length > 0
      ? h(
          "table",
          { class: "maintenance-ticks" },
          h(
            "thead",
            {},
            h("tr", {}, ...["Tick", "Kind", "Outcome", "Host", "Job", "Why"].map((t) => h("th", { scope: "col" }, t))),
          ),
          h(
            "tbody",
            {},
            m.ticks.map((t) =>
              h(
                "tr",
                { "data-tick": t.outcome },
                h("td", { "data-label": "Tick" }, when(t.scheduled_at)),
                h("td", { "data-label": "Kind" }, t.kind),
                h("td", { "data-label": "Outcome" }, badge(t.outcome)),
                h(
                  "td",
                  { "data-label": "Host" },
                  t.host_id ? h("a", { href: `#/hosts/${t.host_id}` }, t.host_name ?? t.host_id) : "–",
                ),
                h(
                  "td",
                  { "data-label": "Job" },
                  t.job_id
                    ? h("a", { href: `#/jobs/${t.job_id}`, class: "badge-link" }, badge(t.job_status ?? "queued"))
                    : "–",
                ),
                h("td", { "data-label": "Why", class: "reason" }, t.reason ?? ""),
              ),
            ),
          ),
        )
      : null,
  );
}
