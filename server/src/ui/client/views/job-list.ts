import { api } from "../api.ts";
import { h } from "../dom.ts";
import { absolute, age, bytes, duration } from "../format.ts";
import type { JobItem, List } from "../types.ts";
import { awayBadge, badge, emptyState } from "../widgets.ts";

/**
 * Pages of GET /jobs for one filter (the query without limit and cursor): the first page, "Load
 * more" on from next_cursor, and a refresh for live events that re-reads the first page and keeps
 * the deeper pages already shown, so an update never drops what the operator paged to.
 */
export function jobPager(query: () => string, pageSize: number) {
  let items: JobItem[] = [];
  let next: string | null = null;
  const page = (cursor: string | null) =>
    api<List<JobItem>>(
      `/jobs?${[query(), `limit=${pageSize}`, cursor ? `cursor=${encodeURIComponent(cursor)}` : ""].filter(Boolean).join("&")}`,
    );
  const olderThan = (a: JobItem, b: JobItem) =>
    a.created_at < b.created_at || (a.created_at === b.created_at && a.id < b.id);
  return {
    get items(): readonly JobItem[] {
      return items;
    },
    get more() {
      return next !== null;
    },
    async reload() {
      const p = await page(null);
      items = p.items;
      next = p.next_cursor;
    },
    async loadMore() {
      if (!next) return;
      const p = await page(next);
      const seen = new Set(items.map((j) => j.id));
      items = [...items, ...p.items.filter((j) => !seen.has(j.id))];
      next = p.next_cursor;
    },
    async refresh() {
      const p = await page(null);
      const last = p.items.at(-1);
      const older = last ? items.filter((j) => olderThan(j, last)) : [];
      items = [...p.items, ...older];
      if (older.length === 0) next = p.next_cursor;
    },
  };
}

export type JobPager = ReturnType<typeof jobPager>;

const when = (iso: string) =>
  h(
    "time",
    { datetime: iso, title: `${absolute(iso)} (${age(iso)})` },
    new Date(iso).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }),
  );

/** What a run came to, beyond its status: its error or warning, else its snapshot. */
function result(j: JobItem) {
  if (j.error) return h("span", { class: j.status === "succeeded" ? "warn-text" : "error" }, j.error);
  const snap = j.stats && typeof j.stats === "object" ? (j.stats as Record<string, unknown>).snapshot_id : undefined;
  const copied = j.kind === "copy" ? (j.stats as { copy?: { latest_snapshot_id?: unknown } } | null)?.copy : undefined;
  if (typeof copied?.latest_snapshot_id === "string") {
    return h("code", {}, `copied; newest ${copied.latest_snapshot_id.slice(0, 8)}`);
  }
  return typeof snap === "string" ? h("code", {}, `snapshot ${snap.slice(0, 8)}`) : h("span", { class: "muted" }, "–");
}

/** Jobs as a table: time (linked to the job), host, kind, status, duration, data added, result. */
export function jobTable(items: readonly JobItem[], opts: { host: boolean; empty: string }): HTMLElement {
  if (items.length === 0) return emptyState(opts.empty);
  const heads = ["Time", opts.host ? "Host" : null, "Kind", "Status", "Duration", "Data added", "Result"];
  return h(
    "table",
    { class: "jobs-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        heads.map((t) => (t ? h("th", { scope: "col" }, t) : null)),
      ),
    ),
    h(
      "tbody",
      {},
      items.map((j) =>
        h(
          "tr",
          { "data-job": j.id, class: j.status === "failed" ? "job-failed" : undefined },
          h("td", { "data-label": "Time" }, h("a", { href: `#/jobs/${j.id}` }, when(j.created_at))),
          opts.host ? h("td", { "data-label": "Host" }, h("a", { href: `#/hosts/${j.host_id}` }, j.host_name)) : null,
          h("td", { "data-label": "Kind" }, j.kind),
          h("td", { "data-label": "Status" }, badge(j.status), j.actor_kind === "agent" ? [" ", awayBadge(j)] : null),
          h("td", { "data-label": "Duration" }, duration(j.duration_seconds)),
          h("td", { "data-label": "Data added" }, bytes(j.data_added)),
          h("td", { "data-label": "Result", class: "job-result" }, result(j)),
        ),
      ),
    ),
  );
}

/** "Load more" under a paged table, while a next page exists. */
export function loadMoreButton(pager: JobPager, after: () => void, onError: (err: unknown) => void) {
  if (!pager.more) return null;
  return h(
    "button",
    {
      type: "button",
      class: "secondary load-more",
      onclick: async (e: Event) => {
        const b = e.currentTarget as HTMLButtonElement;
        b.disabled = true;
        try {
          await pager.loadMore();
          after();
        } catch (err) {
          b.disabled = false;
          onError(err);
        }
      },
    },
    "Load more",
  );
}
