import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { append, clear, h } from "../dom.ts";
import { onEvent } from "../events.ts";
import type { FleetSummary, Host, List } from "../types.ts";
import { emptyState } from "../widgets.ts";
import { alertBanner } from "./alert-banner.ts";
import { bulkRunPanel } from "./bulk-run.ts";
import { groupSection, groupsOf, MAX_GROUPS } from "./dashboard-groups.ts";
import {
  type DashboardState,
  hostsQuery,
  readState,
  STATUS_FILTERS,
  type StatusFilter,
  stateHash,
  summaryQuery,
  type TableSort,
} from "./dashboard-state.ts";
import { hostTable } from "./host-table.ts";

/** Hosts on one page of the table. */
const PAGE = 50;
/** Typing in the search waits this long for the next key before it asks the server. */
const TYPING_MS = 150;

const CAPTIONS: Record<TableSort, string> = {
  health: "Hosts, most urgent first",
  name: "Hosts by name",
  last_backup: "Hosts, latest backup first",
  last_seen: "Hosts, last seen first",
};

/**
 * The fleet at a glance, for 50,000 hosts as for 5: counters and label groups from
 * GET /hosts/summary, and one page of GET /hosts that the server filters, sorts and cuts. The
 * view (filters, sort, page) lives in the address (dashboard-state.ts).
 */
export const dashboardView: View = async (root, ctx, { query = "" }) => {
  let state: DashboardState = readState(query);
  /** The cursors of the pages before this one, for "Previous" (a shared address has none). */
  const before: Array<string | null> = [];
  let summary: FleetSummary | null = null;
  let page: List<Host> = { items: [], next_cursor: null };

  const text = h("input", {
    type: "search",
    name: "q",
    placeholder: "host name…",
    "aria-label": "Filter hosts",
    autocomplete: "off",
    value: state.q,
  });
  const status = h(
    "select",
    { name: "status", "aria-label": "Show hosts with status" },
    ...STATUS_FILTERS.map((s) =>
      h("option", { value: s }, s === "all" ? "all statuses" : s === "drill_failed" ? "restore drill failed" : s),
    ),
  );
  status.value = state.status;
  // The label filter is the server's (GET /hosts?label=k=v, every one must match), as typed.
  const labelFilter = h("input", {
    type: "search",
    name: "label",
    placeholder: "env=prod role=db",
    "aria-label": "Filter by labels",
    autocomplete: "off",
    value: state.label,
  });
  const labelError = h("p", { class: "field-error", role: "alert" });
  const groupBy = h("select", { name: "group", "aria-label": "Group hosts by label" });
  const counters = h("div", { class: "counters", role: "status", "aria-live": "polite" });
  const table = h("div", { class: "table-wrap" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages of hosts" });

  // Admins tick hosts for "Run now on several hosts"; the ticks outlive pages and re-renders.
  const ticked = new Set<string>();
  const bulk = ctx.isAdmin
    ? bulkRunPanel({
        selected: () => [...ticked],
        labelFilter: () => labelFilter.value.trim(),
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

  /** A new filter or sort starts again at the first page. */
  const firstPage = (change: Partial<DashboardState>) => {
    state = { ...state, ...change, page: 1, cursor: null };
    before.length = 0;
  };

  let asked = 0;
  /**
   * Asks the server for what the state shows (the counters too, when the label filter or a live
   * event may have moved them) and draws it. Only the newest answer is drawn: a search typed
   * quickly never shows an older one last.
   */
  async function refresh(withCounters: boolean) {
    const mine = ++asked;
    history.replaceState(null, "", stateHash(state));
    let counts: FleetSummary | null;
    let list: List<Host> | null;
    try {
      [counts, list] = await Promise.all([
        withCounters || !summary ? api<FleetSummary>(`/hosts/summary${summaryQuery(state)}`) : Promise.resolve(summary),
        state.group
          ? Promise.resolve(null)
          : api<List<Host>>(
              `/hosts?${hostsQuery(state)}&limit=${PAGE}${state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : ""}`,
            ),
      ]);
    } catch (err) {
      if (mine !== asked || !(err instanceof ApiFailure)) throw err;
      if (err.error.path === "cursor") {
        // A shared address from before a change of sort: start at its first page.
        firstPage({});
        return refresh(withCounters);
      }
      if (err.error.path !== "label") throw err;
      labelError.textContent = err.error.message;
      labelFilter.setAttribute("aria-invalid", "true");
      return;
    }
    if (mine !== asked) return;
    labelError.textContent = "";
    labelFilter.removeAttribute("aria-invalid");
    summary = counts;
    if (list) page = list;
    renderCounters();
    renderGroupOptions();
    renderTable();
  }

  function renderCounters() {
    clear(counters);
    if (!summary) return;
    const tile = (label: string, value: number, cls: string, filter: StatusFilter) =>
      h(
        "button",
        {
          type: "button",
          class: `counter ${cls}`,
          "aria-pressed": state.status === filter && filter !== "all" ? "true" : undefined,
          onclick: () => {
            status.value = filter;
            firstPage({ status: filter });
            void refresh(false);
          },
        },
        h("span", { class: "counter-value" }, value.toLocaleString("en-US")),
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
    const keys = Object.keys(summary?.labels ?? {});
    const chosen = keys.includes(state.group) ? state.group : "";
    clear(groupBy);
    groupBy.append(
      h("option", { value: "" }, "no grouping"),
      ...keys.map((k) => h("option", { value: k }, `group by ${k}`)),
    );
    groupBy.value = chosen;
    if (chosen !== state.group) {
      state = { ...state, group: chosen };
      history.replaceState(null, "", stateHash(state));
    }
  }

  const onSort = (sort: TableSort) => {
    firstPage({ sort });
    void refresh(false);
  };

  /** How many hosts the filter holds, when the counters know it (not under a name search). */
  function matching(): number | null {
    if (!summary || state.q.trim()) return null;
    const s = state.status;
    if (s === "all") return summary.total;
    if (s === "online" || s === "offline") return summary[s];
    return s === "drill_failed" ? null : summary.health[s];
  }

  function renderTable() {
    clear(table);
    clear(pager);
    if (!summary) return;
    if (summary.total === 0) {
      table.append(
        state.label.trim()
          ? emptyState("No host has these labels.")
          : emptyState(
              "No hosts yet: create an enrollment token, then enroll an agent with it.",
              ctx.isAdmin ? h("a", { class: "button", href: "#/enroll" }, "Add hosts") : null,
            ),
      );
      return;
    }
    if (state.group) {
      const groups = groupsOf(summary, state.group);
      append(table, [
        groups
          .slice(0, MAX_GROUPS)
          .map((g, i) => groupSection(state.group, g, i, state, { sort: state.sort, onSort, tickBox }).section),
        groups.length > MAX_GROUPS
          ? h(
              "p",
              { class: "muted" },
              `${groups.length - MAX_GROUPS} more values of ${state.group}: filter by one (${state.group}=…) to see its hosts.`,
            )
          : null,
      ]);
      return;
    }
    if (page.items.length === 0) {
      table.append(emptyState("No host matches this filter."));
    } else {
      table.append(hostTable(page.items, { caption: CAPTIONS[state.sort], sort: state.sort, onSort, tickBox }));
    }
    renderPager();
  }

  function renderPager() {
    const from = (state.page - 1) * PAGE + 1;
    const to = from + page.items.length - 1;
    const of = matching();
    const go = (cursor: string | null, pageNo: number) => {
      state = { ...state, cursor, page: pageNo };
      void refresh(false).then(() => table.scrollIntoView?.({ block: "start" }));
    };
    append(pager, [
      state.page > 1 && before.length === 0
        ? h("button", { type: "button", class: "secondary", onclick: () => go(null, 1) }, "First page")
        : null,
      before.length > 0
        ? h(
            "button",
            {
              type: "button",
              class: "secondary",
              rel: "prev",
              onclick: () => go(before.pop() ?? null, state.page - 1),
            },
            "Previous",
          )
        : null,
      page.items.length > 0
        ? h(
            "span",
            { class: "pager-at", "aria-live": "polite" },
            `Hosts ${from.toLocaleString("en-US")}–${to.toLocaleString("en-US")}${of === null ? "" : ` of ${of.toLocaleString("en-US")}`}`,
          )
        : null,
      page.next_cursor
        ? h(
            "button",
            {
              type: "button",
              class: "secondary",
              rel: "next",
              onclick: () => {
                before.push(state.cursor);
                go(page.next_cursor, state.page + 1);
              },
            },
            "Next",
          )
        : null,
    ]);
  }

  // The search answers as you type: one request per pause, the newest drawn.
  let typing: ReturnType<typeof setTimeout> | null = null;
  text.addEventListener("input", () => {
    if (typing) clearTimeout(typing);
    typing = setTimeout(() => {
      typing = null;
      firstPage({ q: text.value });
      void refresh(false);
    }, TYPING_MS);
  });
  status.addEventListener("change", () => {
    firstPage({ status: status.value as StatusFilter });
    void refresh(false);
  });
  groupBy.addEventListener("change", () => {
    firstPage({ group: groupBy.value });
    void refresh(false);
  });
  // On Enter or leaving the box: one request per filter, not one per keystroke.
  labelFilter.addEventListener("change", () => {
    firstPage({ label: labelFilter.value });
    void refresh(true);
  });
  root.append(
    h("h1", { tabindex: "-1" }, "Fleet"),
    alertBanner(ctx),
    counters,
    h("div", { class: "toolbar" }, text, status, labelFilter, groupBy),
    labelError,
    ...(bulk ? [bulk.panel] : []),
    table,
    pager,
  );
  await refresh(true);

  let pending: ReturnType<typeof setTimeout> | null = null;
  ctx.onLeave(
    onEvent((e) => {
      if (e.type === "job.updated" && e.job_id && e.status) bulk?.jobUpdated(e.job_id, e.status);
      if (e.type !== "host.updated" && e.type !== "job.updated" && e.type !== "repo_stats.updated") return;
      if (pending) return;
      // Coalesce bursts (a fleet reconnecting) into one reload of the counters and this page.
      pending = setTimeout(() => {
        pending = null;
        void refresh(true);
      }, 500);
    }),
  );
  ctx.onLeave(() => {
    if (pending) clearTimeout(pending);
    if (typing) clearTimeout(typing);
  });
  // Ages go stale on screen: draw them again every 30 s (the page, not the groups' requests).
  const tick = setInterval(() => {
    if (!state.group) renderTable();
  }, 30_000);
  ctx.onLeave(() => clearInterval(tick));
};
