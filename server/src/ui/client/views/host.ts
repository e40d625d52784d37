import { ApiFailure, api } from "../api.ts";
import { repoChart } from "../chart.ts";
import type { View } from "../context.ts";
import { append, clear, h } from "../dom.ts";
import { type LiveEvent, onEvent } from "../events.ts";
import { interval } from "../format.ts";
import { listPager, loadMoreButton, olderBy } from "../pager.ts";
import { runChart } from "../run-chart.ts";
import type { CopyTarget, Host, List, Policy, RepoStats, Repository, Schedule, Snapshot } from "../types.ts";
import { ago, badge, drillFact, emptyState, errorBox, failureText, snapshotSize } from "../widgets.ts";
import { alertBanner } from "./alert-banner.ts";
import { renderHostConfig } from "./host-config.ts";
import { renderHostCopies } from "./host-copies.ts";
import { renderHostLabels } from "./host-labels.ts";
import { renderHostOffline } from "./host-offline.ts";
import { hostPolicyLine } from "./host-policy.ts";
import { renderHostSchedules, updateSkippedTicks } from "./host-schedules.ts";
import { jobPager, jobTable } from "./job-list.ts";
import { hostSyncText } from "./policy-form.ts";
import { runForm } from "./run-form.ts";
import { snapshotActions } from "./snapshot-actions.ts";
import { snapshotBrowser } from "./snapshot-browser.ts";

const RUNS_PAGE = 15;
/** Snapshots a page ("Load more" for older ones): a host may hold thousands. */
const SNAPSHOTS_PAGE = 50;
/** Other hosts offered to restore onto or browse through: online ones first, 500 at most. */
const OTHERS = 500;

/** The online hosts by name, then offline ones while fewer than OTHERS: the server filters both. */
async function otherHosts(): Promise<List<Host>> {
  const online = await api<List<Host>>(`/hosts?online=true&sort=name&limit=${OTHERS}`);
  if (online.items.length >= OTHERS) return online;
  const offline = await api<List<Host>>(`/hosts?online=false&sort=name&limit=${OTHERS - online.items.length}`);
  return { items: [...online.items, ...offline.items], next_cursor: null };
}

export const hostView: View = async (root, ctx, { id = "" }) => {
  // Listen before the first load: an event that lands while it runs (the snapshot report follows
  // a backup's end by a few seconds) would otherwise be missed, and the page would stay stale.
  const early: LiveEvent[] = [];
  let handle: ((e: LiveEvent) => Promise<void>) | null = null;
  ctx.onLeave(
    onEvent((e) => {
      if (e.host_id !== id) return;
      if (handle) void handle(e);
      else early.push(e);
    }),
  );
  const load = () =>
    Promise.all([
      api<Host>(`/hosts/${id}`),
      api<List<Schedule>>(`/hosts/${id}/schedules`),
      api<List<RepoStats>>(`/hosts/${id}/repo-stats?limit=200`),
      api<List<CopyTarget>>(`/hosts/${id}/copy-targets`),
    ]);
  // Its runs, 15 a page with "Load more", of one kind or all (the timeline's chart and table).
  const runKind = h(
    "select",
    { name: "run_kind", class: "run-kind", "aria-label": "Runs of kind" },
    h("option", { value: "" }, "every kind"),
    ["backup", "check", "copy", "drill", "forget", "prune", "restore"].map((k) => h("option", { value: k }, k)),
  );
  const runs = jobPager(
    () => `host_id=${encodeURIComponent(id)}${runKind.value ? `&kind=${runKind.value}` : ""}`,
    RUNS_PAGE,
  );
  const snapshots = listPager<Snapshot>(
    `/hosts/${encodeURIComponent(id)}/snapshots`,
    () => "",
    SNAPSHOTS_PAGE,
    olderBy((s) => s.time),
  );
  let [host, schedules, stats, copies] = await Promise.all([load(), runs.reload(), snapshots.reload()]).then(
    ([l]) => l,
  );
  // Names for what policies give this host (its schedules, its repository); the other hosts, to
  // restore onto or to browse through while this one is offline.
  const [policies, repos, fleet] = await Promise.all([
    api<List<Policy>>("/policies"),
    api<List<Repository>>("/repositories"),
    otherHosts(),
  ]);
  const hosts = () => fleet.items.map((x) => (x.id === id ? host : x));
  const policyNames = new Map(policies.items.map((p) => [p.id, p.name]));
  const repoNames = new Map(repos.items.map((r) => [r.id, r.name]));

  const head = h("section", { class: "host-head" });
  const labelsBox = h("section", { class: "card", "aria-labelledby": "labels-h" });
  const configBox = h("section", { class: "card", "aria-labelledby": "cfg-h" });
  const offlineBox = h("section", { class: "card", "aria-labelledby": "offline-h" });
  const schedBox = h("section", { class: "card", "aria-labelledby": "sch-h" });
  const runBox = h("div", {});
  const jobsBox = h("section", { class: "card", "aria-labelledby": "jobs-h" });
  const snapBox = h("section", { class: "card", "aria-labelledby": "snap-h" });
  const copiesBox = h("section", { class: "card", "aria-labelledby": "copies-h" });
  const chartBox = h("section", { class: "card", "aria-labelledby": "chart-h" });
  const browseBox = h("div", {});
  let browsing: string | null = null;
  const actions = snapshotActions(ctx, host);
  let run: ReturnType<typeof runForm> | null = null;

  function renderHead() {
    clear(head);
    append(head, [
      h("h1", { tabindex: "-1" }, host.name),
      h(
        "p",
        { class: "facts" },
        badge(host.backup_health),
        " ",
        badge(host.online ? "online" : "offline"),
        " seen ",
        ago(host.last_seen_at),
        " · restic host ",
        h(
          "code",
          {
            title:
              "The name this host's snapshots carry in the repository (restic --host), fixed when it enrolled. " +
              "Its retention, snapshot list and restores touch only snapshots of this name.",
          },
          host.restic_host,
        ),
        host.hostname && host.hostname !== host.restic_host ? ` (machine ${host.hostname})` : "",
        ` · ${host.os ?? "?"}/${host.arch ?? "?"} · agent ${host.agent_version ?? "–"} · restic ${host.restic_version ?? "–"} · `,
        interval(host.expected_interval_s),
        " · schedules ",
        h(
          "span",
          { class: "sync-state", title: "Whether the agent acknowledged this host's current schedules." },
          badge(host.schedule_in_sync ? "in_sync" : "not_synced"),
          host.schedule_in_sync ? "" : ` ${hostSyncText(host).replace(/^pending /, "")}`,
        ),
      ),
      confidenceLine(),
      host.policy_conflict
        ? h(
            "div",
            { class: "error banner policy-conflict", role: "alert" },
            h("strong", {}, "Repository conflict. "),
            "The policies ",
            host.policy_conflict.policies.map((p, i) => [
              i > 0 ? (i === (host.policy_conflict?.policies.length ?? 0) - 1 ? " and " : ", ") : "",
              h("a", { href: `#/policies/${p.id}` }, p.name),
              ` (${repoNames.get(p.repository_id) ?? p.repository_id})`,
            ]),
            ` match this host at the same priority (${host.policy_conflict.priority}) with different repositories. ` +
              "Nothing is pushed to this host until it is resolved: change a priority, a repository or a selector, " +
              "or set this host's own repository below.",
          )
        : null,
      hostPolicyLine(host),
      host.secrets_withheld
        ? h(
            "p",
            { class: "error", role: "alert" },
            "Waiting for a secure connection: this agent connects over plain http from another machine, so the " +
              "server keeps its repository password back and its jobs cannot run. Enroll it over https " +
              "(docs/install.md, Secure the link).",
          )
        : null,
      host.last_backup?.status === "failed" && host.last_backup.error
        ? h("p", { class: "error", role: "alert" }, `Last backup failed: ${host.last_backup.error}`)
        : null,
      host.last_backup?.status === "succeeded" && host.last_backup_warning
        ? h(
            "p",
            { class: "warn-text", role: "alert" },
            `Last backup succeeded with warnings: ${host.last_backup_warning}`,
          )
        : null,
      ctx.isAdmin
        ? h(
            "button",
            {
              type: "button",
              class: "danger",
              onclick: async () => {
                if (!confirm(`Revoke ${host.name}? Its agent token stops working and its history is deleted.`)) return;
                await api(`/hosts/${id}`, "DELETE");
                ctx.go("#/");
              },
            },
            "Revoke host",
          )
        : null,
    ]);
  }

  /**
   * How sure a restore would work: the last drill (restored and verified sample), the last check,
   * and the last time a check read all the data (with the part a rolling "k/N" check reads next).
   */
  function confidenceLine() {
    const check = host.last_check;
    const cycle = schedules.items.find((s) => s.read_cycle)?.read_cycle;
    return h(
      "p",
      { class: "facts confidence" },
      h("span", { class: "fact", "data-fact": "drill" }, "Last verified restore ", drillFact(host)),
      " · ",
      h(
        "span",
        { class: "fact", "data-fact": "check" },
        "last check ",
        check
          ? [
              h("a", { href: `#/jobs/${check.job_id}`, class: "badge-link" }, badge(check.status)),
              " ",
              ago(check.finished_at),
            ]
          : h("span", { class: "muted" }, "never"),
      ),
      " · ",
      h(
        "span",
        { class: "fact", "data-fact": "full-read" },
        "all data last read ",
        ago(host.last_full_read_at ?? cycle?.last_full_read_at),
        cycle ? ` (rolling check: part ${cycle.next_part} of ${cycle.parts} next)` : "",
      ),
      check?.status === "failed" && check.error
        ? h("span", { class: "error block" }, `Last check failed: ${check.error}`)
        : null,
      host.last_drill_result === "failed"
        ? h(
            "span",
            { class: "error block" },
            "The last restore drill failed: ",
            host.last_drill_job_id
              ? h("a", { href: `#/jobs/${host.last_drill_job_id}` }, "see its report")
              : "see its job",
            ".",
          )
        : null,
    );
  }

  function renderLabels() {
    renderHostLabels(labelsBox, id, host, ctx.isAdmin, (updated) => {
      host = updated;
      // Its labels choose its policies, and so maybe its limit while the server is down.
      renderOffline();
    });
  }

  function renderConfig() {
    renderHostConfig(
      configBox,
      id,
      host,
      ctx.isAdmin,
      (updated) => {
        host = updated;
      },
      { policyNames, repoNames },
    );
  }

  function renderOffline() {
    renderHostOffline(
      offlineBox,
      id,
      host,
      ctx.isAdmin,
      (updated) => {
        host = updated;
      },
      policyNames,
    );
  }

  function renderSchedules() {
    renderHostSchedules(
      schedBox,
      id,
      schedules.items,
      ctx.isAdmin,
      async () => {
        schedules = await api<List<Schedule>>(`/hosts/${id}/schedules`);
        renderSchedules();
        renderRun();
        renderHead();
      },
      policyNames,
    );
  }

  function renderRun() {
    clear(runBox);
    if (!ctx.isAdmin) return;
    run = runForm({
      host,
      hosts: hosts(),
      schedules: schedules.items,
      snapshots: [...snapshots.items],
      started: (jobId) => ctx.go(`#/jobs/${jobId}`),
    });
    runBox.append(run.form);
  }

  function renderJobs() {
    clear(jobsBox);
    const width = (jobsBox.clientWidth || document.documentElement.clientWidth) - 34;
    append(jobsBox, [
      h("div", { class: "card-head" }, h("h2", { id: "jobs-h" }, "Runs"), runKind),
      runs.items.length ? runChart(runs.items, width) : null,
      jobTable(runs.items, {
        host: false,
        empty: runKind.value
          ? `No ${runKind.value} jobs yet.`
          : "No jobs yet. Jobs appear when a schedule fires or you run one now.",
      }),
      loadMoreButton(runs, renderJobs, (err) => jobsBox.append(errorBox(failureText(err)))),
      h("p", {}, h("a", { href: `#/jobs?host_id=${encodeURIComponent(id)}` }, "This host in the jobs list")),
    ]);
  }
  runKind.addEventListener("change", () => {
    void runs.reload().then(renderJobs, (err) => jobsBox.append(errorBox(failureText(err))));
  });

  function renderSnapshots() {
    clear(snapBox);
    snapBox.append(h("h2", { id: "snap-h" }, "Snapshots"));
    if (snapshots.items.length === 0) {
      snapBox.append(emptyState("No snapshots yet: they are listed after the first successful backup."));
      return;
    }
    append(snapBox, [
      h(
        "table",
        { class: "snapshots" },
        h(
          "thead",
          {},
          h("tr", {}, ...["Time", "ID", "Paths", "Tags", "Size", ""].map((t) => h("th", { scope: "col" }, t))),
        ),
        h(
          "tbody",
          {},
          snapshots.items.map((s) =>
            h(
              "tr",
              { "data-snapshot": s.short_id },
              h("td", { "data-label": "Time" }, ago(s.time)),
              h("td", { "data-label": "ID" }, h("code", {}, s.short_id)),
              h("td", { "data-label": "Paths" }, s.paths.join(", ")),
              h("td", { "data-label": "Tags" }, s.tags.join(", ") || "–"),
              h("td", { "data-label": "Size" }, snapshotSize(s)),
              h(
                "td",
                { class: "actions" },
                h(
                  "button",
                  {
                    type: "button",
                    class: "secondary",
                    "aria-pressed": browsing === s.id ? "true" : "false",
                    onclick: () => browse(s),
                  },
                  "Browse files",
                ),
                ctx.isAdmin
                  ? h("button", { type: "button", class: "secondary", onclick: () => run?.restore(s) }, "Restore…")
                  : null,
                actions.row(s),
              ),
            ),
          ),
        ),
      ),
      actions.bar([...snapshots.items]),
      loadMoreButton(snapshots, renderSnapshots, (err) => snapBox.append(errorBox(failureText(err)))),
    ]);
  }

  /** Opens the file browser on a snapshot, under the list (one at a time). */
  function browse(s: Snapshot) {
    browsing = s.id;
    clear(browseBox);
    browseBox.append(
      snapshotBrowser({
        host,
        hosts: hosts(),
        snapshot: s,
        isAdmin: ctx.isAdmin,
        restore: (snap, include) => run?.restore(snap, include),
        close: () => {
          browsing = null;
          clear(browseBox);
          renderSnapshots();
        },
      }),
    );
    renderSnapshots();
    browseBox.querySelector("h2")?.scrollIntoView({ block: "start" });
  }

  function renderChart() {
    clear(chartBox);
    chartBox.append(h("h2", { id: "chart-h" }, "Repository health"), repoChart(stats.items));
  }

  root.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Fleet"), " / ", host.name),
    head,
    alertBanner(ctx, id),
    h("div", { class: "columns" }, h("div", {}, labelsBox, configBox, offlineBox, schedBox), h("div", {}, runBox)),
    jobsBox,
    snapBox,
    copiesBox,
    actions.box,
    browseBox,
    chartBox,
  );
  renderHead();
  renderLabels();
  renderConfig();
  renderOffline();
  renderSchedules();
  renderRun();
  renderJobs();
  renderSnapshots();
  renderHostCopies(copiesBox, copies.items, { hostId: id, isAdmin: ctx.isAdmin });
  renderChart();

  handle = async (e: LiveEvent) => {
    try {
      if (e.type === "job.updated") {
        await runs.refresh();
        renderJobs();
        host = await api<Host>(`/hosts/${id}`);
        renderHead();
        // A finished backup makes its copies, and a finished copy changes its target's state.
        if (copies.items.length > 0) {
          copies = await api<List<CopyTarget>>(`/hosts/${id}/copy-targets`);
          renderHostCopies(copiesBox, copies.items, { hostId: id, isAdmin: ctx.isAdmin });
        }
        // A finished check moves a rolling check's next part: re-render (closing an open schedule
        // form) only when it moved.
        if (schedules.items.some((s) => s.read_cycle)) {
          const cycles = (l: List<Schedule>) => JSON.stringify(l.items.map((s) => s.read_cycle ?? null));
          const fresh = await api<List<Schedule>>(`/hosts/${id}/schedules`);
          if (cycles(fresh) !== cycles(schedules)) {
            schedules = fresh;
            renderSchedules();
            renderHead();
          }
        }
      } else if (e.type === "schedule.skipped") {
        // A tick merged into a pending run: the notes only, so an open schedule form stays open.
        schedules = await api<List<Schedule>>(`/hosts/${id}/schedules`);
        updateSkippedTicks(schedBox, schedules.items);
      } else if (e.type === "snapshots.updated") {
        // The agent's new list: re-read as many as are shown (forgotten ones go, new ones come).
        await snapshots.reread();
        renderSnapshots();
        renderRun();
      } else if (e.type === "repo_stats.updated") {
        stats = await api<List<RepoStats>>(`/hosts/${id}/repo-stats?limit=200`);
        renderChart();
      } else if (e.type === "host.updated") {
        host = await api<Host>(`/hosts/${id}`);
        renderHead();
      }
    } catch (err) {
      head.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
    }
  };
  // What arrived during the first load, once per kind.
  const kinds = new Map(early.map((e) => [e.type, e]));
  for (const e of kinds.values()) await handle(e);
};
