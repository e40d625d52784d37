import { labelQuery } from "../labels.ts";

/**
 * The dashboard's view as the address keeps it (`#/?q=web&status=failed&label=env%3Dprod&sort=name
 * &group=site&page=2&cursor=…`), so a view can be shared and survives a reload; and the API queries
 * it makes. Every filter and sort is the server's (GET /hosts, DESIGN §8.8): nothing is filtered
 * or sorted here.
 */
export const STATUS_FILTERS = [
  "all",
  "failed",
  "stale",
  "warning",
  "ok",
  "pending",
  "unscheduled",
  "offline",
  "online",
  "drill_failed",
] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

/** The server's sorts (GET /hosts?sort=): health worst first, name A-Z, times newest first. */
export const TABLE_SORTS = ["health", "name", "last_backup", "last_seen"] as const;
export type TableSort = (typeof TABLE_SORTS)[number];

export interface DashboardState {
  /** Part of a host's name, as typed. */
  q: string;
  status: StatusFilter;
  /** Label filter as typed: `env=prod role=db`. */
  label: string;
  /** A label key to group by; "" for none. */
  group: string;
  sort: TableSort;
  /** The page shown (1 is the first) and the cursor that starts it (null: the first). */
  page: number;
  cursor: string | null;
}

export const DEFAULT_STATE: DashboardState = {
  q: "",
  status: "all",
  label: "",
  group: "",
  sort: "health",
  page: 1,
  cursor: null,
};

const oneOf = <T extends string>(list: readonly T[], value: string | null, fallback: T): T =>
  list.includes(value as T) ? (value as T) : fallback;

/** The state from the query part of the address; anything missing or unknown is its default. */
export function readState(query: string): DashboardState {
  const p = new URLSearchParams(query);
  const cursor = p.get("cursor") || null;
  const page = Number(p.get("page"));
  return {
    q: p.get("q") ?? "",
    status: oneOf(STATUS_FILTERS, p.get("status"), "all"),
    label: p.get("label") ?? "",
    group: p.get("group") ?? "",
    sort: oneOf(TABLE_SORTS, p.get("sort"), "health"),
    // A page number without its cursor would be a lie: without one it is the first page.
    page: cursor && Number.isInteger(page) && page > 1 ? page : 1,
    cursor,
  };
}

/** The address of a state: only what differs from the defaults, so the plain dashboard is `#/`. */
export function stateHash(s: DashboardState): string {
  const p = new URLSearchParams();
  if (s.q.trim()) p.set("q", s.q.trim());
  if (s.status !== "all") p.set("status", s.status);
  if (s.label.trim()) p.set("label", s.label.trim());
  if (s.group) p.set("group", s.group);
  if (s.sort !== DEFAULT_STATE.sort) p.set("sort", s.sort);
  if (s.cursor && !s.group) {
    p.set("page", String(s.page));
    p.set("cursor", s.cursor);
  }
  const q = p.toString();
  return q ? `#/?${q}` : "#/";
}

/** The status filter as GET /hosts parameters. */
function statusQuery(status: StatusFilter): string {
  if (status === "all") return "";
  if (status === "online" || status === "offline") return `online=${status === "online"}`;
  if (status === "drill_failed") return "drill=failed";
  return `health=${status}`;
}

/** The label filter, and a group (one value of its key, or with value null the hosts without it). */
function labelParts(s: DashboardState, group?: { key: string; value: string | null }): string[] {
  return [
    labelQuery(s.label),
    group
      ? group.value === null
        ? `without_label=${encodeURIComponent(group.key)}`
        : `label=${encodeURIComponent(`${group.key}=${group.value}`)}`
      : "",
  ];
}

/** GET /hosts's query for the table (without limit and cursor); `group` narrows it to one group. */
export function hostsQuery(s: DashboardState, group?: { key: string; value: string | null }): string {
  return [
    ...labelParts(s, group),
    statusQuery(s.status),
    s.q.trim() ? `q=${encodeURIComponent(s.q.trim())}` : "",
    `sort=${s.sort}`,
  ]
    .filter(Boolean)
    .join("&");
}

/** GET /hosts/summary's query: the counters follow the label filter (and a group) only. */
export function summaryQuery(s: DashboardState, group?: { key: string; value: string | null }): string {
  const q = labelParts(s, group).filter(Boolean).join("&");
  return q ? `?${q}` : "";
}
