import { api } from "../api.ts";
import { clear, h } from "../dom.ts";
import { plural } from "../format.ts";
import type { FleetSummary, Host, List } from "../types.ts";
import { badge, emptyState } from "../widgets.ts";
import { type DashboardState, hostsQuery, summaryQuery } from "./dashboard-state.ts";
import { type HostTableOptions, hostTable } from "./host-table.ts";

/** Most urgent first, as the dashboard sorts by health. */
const HEALTH = ["failed", "stale", "warning", "pending", "unscheduled", "ok"] as const;
/** Hosts a group shows at first; "Show more" adds as many again. */
const GROUP_PAGE = 25;
/** Groups drawn at once: a key with more values (one per host, say) is narrowed by a filter. */
export const MAX_GROUPS = 30;

/** One value of the grouping key and how many hosts carry it; `value` null: hosts without the key. */
export interface HostGroup {
  value: string | null;
  hosts: number;
}

/**
 * The groups of `key` from the summary's label counts (GET /hosts/summary): values sorted, then
 * "(none)" for the hosts without the key (a host has one value of a key at most).
 */
export function groupsOf(summary: FleetSummary, key: string): HostGroup[] {
  const values = Object.hasOwn(summary.labels, key) ? (summary.labels[key] ?? {}) : {};
  const groups: HostGroup[] = Object.entries(values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([value, hosts]) => ({ value, hosts }));
  const without = summary.total - groups.reduce((n, g) => n + g.hosts, 0);
  if (without > 0) groups.push({ value: null, hosts: without });
  return groups;
}

/**
 * One group: a heading (`env=prod · 2 hosts`), its health counts (badges, so never colour alone)
 * from its own summary, then its first hosts in the table's sort, and "Show more" while there are
 * more. A label value has no parentheses, so "(none)" cannot be one.
 */
export function groupSection(
  key: string,
  group: HostGroup,
  index: number,
  state: DashboardState,
  table: Omit<HostTableOptions, "caption">,
) {
  const id = `group-h-${index}`;
  const which = { key, value: group.value };
  const name = group.value === null ? `${key}: (none)` : `${key}=${group.value}`;
  const health = h("p", { class: "group-health" });
  const body = h("div", { class: "group-hosts" });
  const shown: Host[] = [];
  let next: string | null = null;

  async function more() {
    const page: List<Host> = await api(
      `/hosts?${hostsQuery(state, which)}&limit=${GROUP_PAGE}${next ? `&cursor=${encodeURIComponent(next)}` : ""}`,
    );
    shown.push(...page.items);
    next = page.next_cursor;
    clear(body);
    body.append(
      shown.length
        ? hostTable(shown, { ...table, caption: `Hosts with ${group.value === null ? `no ${key}` : name}` })
        : emptyState("No host of this group matches this filter."),
    );
    if (next) {
      body.append(
        h(
          "button",
          {
            type: "button",
            class: "secondary load-more",
            onclick: (e: Event) => {
              (e.currentTarget as HTMLButtonElement).disabled = true;
              void more();
            },
          },
          `Show more of ${name}`,
        ),
      );
    }
  }

  const loaded = Promise.all([
    api<FleetSummary>(`/hosts/summary${summaryQuery(state, which)}`).then((s) => {
      const counts = HEALTH.map((st) => [st, s.health[st]] as const).filter(([, n]) => n > 0);
      health.append(...counts.flatMap(([st, n], i) => [i ? " · " : "", `${n} `, badge(st)]));
    }),
    more(),
  ]);
  const section = h(
    "section",
    { class: "host-group", "aria-labelledby": id, "data-group": group.value ?? "(none)" },
    h("h2", { id }, name, h("span", { class: "muted group-count" }, ` · ${plural(group.hosts, "host")}`)),
    health,
    body,
  );
  return { section, loaded };
}
