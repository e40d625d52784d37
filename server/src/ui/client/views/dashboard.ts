import { ApiFailure, api, apiAll } from "../api.ts";
import type { View } from "../context.ts";
import { append, clear, h } from "../dom.ts";
import { onEvent } from "../events.ts";
import { bytes, interval } from "../format.ts";
import { labelQuery, labelTags } from "../labels.ts";
import type { FleetSummary, Host } from "../types.ts";
import { ago, badge, drillFact, emptyState } from "../widgets.ts";
import { alertBanner } from "./alert-banner.ts";
import { bulkRunPanel } from "./bulk-run.ts";
import { groupHosts, groupSection } from "./dashboard-groups.ts";

const HEALTH_ORDER: Record<string, number> = { failed: 0, stale: 1, warning: 2, pending: 3, unscheduled: 4, ok: 5 };

type SortKey = "health" | "name" | "os" | "seen" | "backup" | "drill" | "size" | "sync";
const SORTS: Record<SortKey, (a: Host, b: Host) => number> = {
  health: (a, b) =>
    (HEALTH_ORDER[a.backup_health] ?? 9) - (HEALTH_ORDER[b.backup_health] ?? 9) ||
    Number(a.online) - Number(b.online) ||
    a.name.localeCompare(b.name),
  name: (a, b) => a.name.localeCompare(b.name),
  os: (a, b) => `${a.os}/${a.arch}`.localeCompare(`${b.os}/${b.arch}`),
  seen: (a, b) => (b.last_seen_at ?? "").localeCompare(a.last_seen_at ?? ""),
  backup: (a, b) => (b.last_backup?.finished_at ?? "").localeCompare(a.last_backup?.finished_at ?? ""),
  // Failed drills first, then the oldest (or none) first: the hosts least known to restore.
  drill: (a, b) =>
    Number(b.last_drill_result === "failed") - Number(a.last_drill_result === "failed") ||
    (a.last_drill_at ?? "").localeCompare(b.last_drill_at ?? ""),
  size: (a, b) => (b.repo_size_bytes ?? -1) - (a.repo_size_bytes ?? -1),
  sync: (a, b) => Number(a.schedule_in_sync) - Number(b.schedule_in_sync),
};

const labelWords = (x: Host) => Object.entries(x.labels).map(([k, v]) => `${k}=${v}`);

export const dashboardView: View = async (root, ctx) => {
  // The label filter is the server's (GET /hosts?label=k=v, every one must match), as typed.
  const labelFilter = h("input", {
    type: "search",
    name: "label",
    placeholder: "env=prod role=db",
    "aria-label": "Filter by labels",
    autocomplete: "off",
  });
  const labelError = h("p", { class: "field-error", role: "alert" });
  // The list and its counters (GET /hosts/summary), under the same label filter.
  const fetchHosts = async () => {
    const q = labelQuery(labelFilter.value);
    const qs = q ? `?${q}` : "";
    const [list, counts] = await Promise.all([apiAll<Host>(`/hosts${qs}`), api<FleetSummary>(`/hosts/summary${qs}`)]);
    return { list, counts };
  };
  let { list: hosts, counts: summary } = await fetchHosts();
  let sort: SortKey = "health";
  let reverse = false;
  const text = h("input", {
    type: "search",
    name: "q",
    placeholder: "name, OS, version…",
    "aria-label": "Filter hosts",
  });
  const status = h(
    "select",
    { name: "status", "aria-label": "Show hosts with status" },
    ...["all", "failed", "stale", "warning", "ok", "pending", "unscheduled", "offline", "online", "drill_failed"].map(
      (s) =>
        h("option", { value: s }, s === "all" ? "all statuses" : s === "drill_failed" ? "restore drill failed" : s),
    ),
  );
  const groupBy = h("select", { name: "group", "aria-label": "Group hosts by label" });
  const counters = h("div", { class: "counters", role: "status", "aria-live": "polite" });
  // Admins tick hosts for "Run now on several hosts"; the ticks outlive the list's re-renders.
  const ticked = new Set<string>();
  const bulk = ctx.isAdmin
    ? bulkRunPanel({
        selected: () => hosts.filter((x) => ticked.has(x.id)).map((x) => x.id),
        labelFilter: () => labelFilter.value.trim(),
        hostName: (id) => hosts.find((x) => x.id === id)?.name ?? id,
      })
    : null;
  const tickBox = (x: Host) =>
    bulk
      ? h("input", {
          type: "checkbox",
          class: "host-tick",
          "aria-label": `Select ${x.name}`,
          checked: ticked.has(x.id),
          onchange: (e: Event) => {
            if ((e.target as HTMLInputElement).checked) ticked.add(x.id);
            else ticked.delete(x.id);
            bulk.selectionChanged();
          },
        })
      : null;
  const table = h("div", { class: "table-wrap" });

  function renderCounters() {
    clear(counters);
    const tile = (label: string, value: number, cls: string, filter: string) =>
      h(
        "button",
        {
          type: "button",
          class: `counter ${cls}`,
          onclick: () => {
            status.value = filter;
            renderTable();
          },
        },
        h("span", { class: "counter-value" }, String(value)),
        h("span", { class: "counter-label" }, label),
      );
    const { total, online, offline, health } = summary;
    counters.append(
      tile("hosts", total, "", "all"),
      tile("online", online, "ok", "online"),
      tile("offline", offline, offline ? "warn" : "", "offline"),
      tile("backups OK", health.ok, "ok", "ok"),
      tile("failed", health.failed, health.failed ? "bad" : "", "failed"),
      tile("stale", health.stale, health.stale ? "warn" : "", "stale"),
      tile("warnings", health.warning, health.warning ? "warn" : "", "warning"),
      tile("pending", health.pending, "", "pending"),
      tile("unscheduled", health.unscheduled, "", "unscheduled"),
    );
  }

  /** The label keys the filtered hosts carry; a chosen key that is gone falls back to no grouping. */
  function renderGroupOptions() {
    const keys = Object.keys(summary.labels);
    const chosen = keys.includes(groupBy.value) ? groupBy.value : "";
    clear(groupBy);
    groupBy.append(
      h("option", { value: "" }, "no grouping"),
      ...keys.map((k) => h("option", { value: k }, `group by ${k}`)),
    );
    groupBy.value = chosen;
  }

  function header(label: string, key: SortKey) {
    const active = sort === key;
    return h(
      "th",
      { scope: "col", "aria-sort": active ? (reverse ? "descending" : "ascending") : "none" },
      h(
        "button",
        {
          type: "button",
          class: "sort",
          onclick: () => {
            reverse = active ? !reverse : false;
            sort = key;
            renderTable();
          },
        },
        label,
        active ? (reverse ? " ▲" : " ▼") : "",
      ),
    );
  }

  function renderTable() {
    clear(table);
    if (hosts.length === 0 && labelFilter.value.trim()) {
      table.append(emptyState("No host has these labels."));
      return;
    }
    if (hosts.length === 0) {
      table.append(
        emptyState(
          "No hosts yet: create an enrollment token, then enroll an agent with it.",
          ctx.isAdmin ? h("a", { class: "button", href: "#/enroll" }, "Add hosts") : null,
        ),
      );
      return;
    }
    const q = text.value.trim().toLowerCase();
    const st = status.value;
    const shown = hosts
      .filter(
        (x) =>
          !q ||
          [x.name, x.hostname, x.restic_host, x.os, x.arch, x.agent_version, x.restic_version, ...labelWords(x)]
            .join(" ")
            .toLowerCase()
            .includes(q),
      )
      .filter(
        (x) =>
          st === "all" ||
          (st === "online"
            ? x.online
            : st === "offline"
              ? !x.online
              : st === "drill_failed"
                ? x.last_drill_result === "failed"
                : x.backup_health === st),
      )
      .sort(SORTS[sort]);
    if (reverse) shown.reverse();
    const key = groupBy.value;
    append(table, [
      key
        ? groupHosts(shown, key).map((g, i) =>
            groupSection(
              key,
              g,
              i,
              hostTable(g.hosts, `Hosts with ${g.value === null ? `no ${key}` : `${key}=${g.value}`}`),
            ),
          )
        : hostTable(shown, "Hosts, most urgent first"),
      shown.length === 0 ? emptyState("No host matches this filter.") : null,
    ]);
  }

  function hostTable(shown: Host[], caption: string) {
    return h(
      "table",
      { class: "hosts" },
      h("caption", { class: "visually-hidden" }, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          header("Host", "name"),
          header("Backup", "health"),
          header("Last backup", "backup"),
          header("Verified restore", "drill"),
          header("Presence", "seen"),
          header("Platform", "os"),
          h("th", { scope: "col" }, "Versions"),
          header("Repository", "size"),
          header("Schedules", "sync"),
        ),
      ),
      h(
        "tbody",
        {},
        shown.map((x) =>
          h(
            "tr",
            { "data-host": x.id },
            h("th", { scope: "row" }, tickBox(x), h("a", { href: `#/hosts/${x.id}` }, x.name), labelTags(x.labels)),
            h(
              "td",
              { "data-label": "Backup" },
              badge(x.backup_health),
              x.backup_health === "warning" && x.last_backup_warning
                ? h("small", { class: "warn-text block backup-warning" }, x.last_backup_warning)
                : null,
              h("small", { class: "muted block" }, interval(x.expected_interval_s)),
            ),
            h(
              "td",
              { "data-label": "Last backup" },
              x.last_backup
                ? [badge(x.last_backup.status), " ", ago(x.last_backup.finished_at)]
                : h("span", { class: "muted" }, "none yet"),
            ),
            h("td", { "data-label": "Verified restore", class: "drill" }, drillFact(x)),
            h("td", { "data-label": "Presence" }, badge(x.online ? "online" : "offline"), " ", ago(x.last_seen_at)),
            h("td", { "data-label": "Platform" }, x.os ? `${x.os}/${x.arch}` : "–"),
            h(
              "td",
              { "data-label": "Versions" },
              h("small", {}, `agent ${x.agent_version ?? "–"}`, h("br"), `restic ${x.restic_version ?? "–"}`),
            ),
            h("td", { "data-label": "Repository" }, bytes(x.repo_size_bytes)),
            h("td", { "data-label": "Schedules" }, badge(x.schedule_in_sync ? "in_sync" : "not_synced")),
          ),
        ),
      ),
    );
  }

  async function reload() {
    try {
      ({ list: hosts, counts: summary } = await fetchHosts());
      labelError.textContent = "";
      labelFilter.removeAttribute("aria-invalid");
    } catch (err) {
      if (!(err instanceof ApiFailure) || err.error.path !== "label") throw err;
      labelError.textContent = err.error.message;
      labelFilter.setAttribute("aria-invalid", "true");
      return;
    }
    renderCounters();
    renderGroupOptions();
    renderTable();
  }

  text.addEventListener("input", renderTable);
  status.addEventListener("change", renderTable);
  groupBy.addEventListener("change", renderTable);
  // On Enter or leaving the box: one request per filter, not one per keystroke.
  labelFilter.addEventListener("change", () => void reload());
  root.append(
    h("h1", { tabindex: "-1" }, "Fleet"),
    alertBanner(ctx),
    counters,
    h("div", { class: "toolbar" }, text, status, labelFilter, groupBy),
    labelError,
    ...(bulk ? [bulk.panel] : []),
    table,
  );
  renderCounters();
  renderGroupOptions();
  renderTable();

  let pending: ReturnType<typeof setTimeout> | null = null;
  ctx.onLeave(
    onEvent((e) => {
      if (e.type === "job.updated" && e.job_id && e.status) bulk?.jobUpdated(e.job_id, e.status);
      if (e.type !== "host.updated" && e.type !== "job.updated" && e.type !== "repo_stats.updated") return;
      if (pending) return;
      // Coalesce bursts (a fleet reconnecting) into one reload.
      pending = setTimeout(async () => {
        pending = null;
        await reload();
      }, 500);
    }),
  );
  ctx.onLeave(() => pending && clearTimeout(pending));
  // Ages go stale on screen: refresh the rendering every 30 s.
  const tick = setInterval(renderTable, 30_000);
  ctx.onLeave(() => clearInterval(tick));
};
