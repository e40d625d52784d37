import { h } from "../dom.ts";
import { plural } from "../format.ts";
import type { Host } from "../types.ts";
import { badge } from "../widgets.ts";

/** Most urgent first, as the dashboard sorts by health. */
const HEALTH = ["failed", "stale", "warning", "pending", "unscheduled", "ok"] as const;

/** Hosts sharing one value of the grouping key; `value` null: hosts without that key. */
export interface HostGroup {
  value: string | null;
  hosts: Host[];
}

/** Hosts by their value of `key`: values sorted, "(none)" last, each group in the hosts' order. */
export function groupHosts(hosts: readonly Host[], key: string): HostGroup[] {
  const by = new Map<string | null, Host[]>();
  for (const x of hosts) {
    // hasOwn: "constructor" is a valid label key, and every object inherits one.
    const value = Object.hasOwn(x.labels, key) ? (x.labels[key] ?? null) : null;
    by.set(value, [...(by.get(value) ?? []), x]);
  }
  return [...by]
    .map(([value, members]) => ({ value, hosts: members }))
    .sort((a, b) => (a.value === null ? 1 : b.value === null ? -1 : a.value.localeCompare(b.value)));
}

/**
 * One group: a heading (`env=prod · 2 hosts`), its health counts (badges, so never colour
 * alone), then its table. A label value has no parentheses, so "(none)" cannot be one.
 */
export function groupSection(key: string, group: HostGroup, index: number, table: HTMLElement) {
  const id = `group-h-${index}`;
  const n = group.hosts.length;
  const counts = HEALTH.map((s) => [s, group.hosts.filter((x) => x.backup_health === s).length] as const).filter(
    ([, count]) => count > 0,
  );
  return h(
    "section",
    { class: "host-group", "aria-labelledby": id, "data-group": group.value ?? "(none)" },
    h(
      "h2",
      { id },
      group.value === null ? `${key}: (none)` : `${key}=${group.value}`,
      h("span", { class: "muted group-count" }, ` · ${plural(n, "host")}`),
    ),
    h(
      "p",
      { class: "group-health" },
      counts.map(([s, count], i) => [i ? " · " : "", `${count} `, badge(s)]),
    ),
    table,
  );
}
