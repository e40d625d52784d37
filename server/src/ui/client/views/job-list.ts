import { h } from "../dom.ts";
import { absolute, age, bytes, duration } from "../format.ts";
import { listPager, olderBy } from "../pager.ts";
import type { JobItem } from "../types.ts";
import { awayBadge, badge, emptyState } from "../widgets.ts";

/** Pages of GET /jobs for one filter (pager.ts), newest first by created_at, then id. */
export const jobPager = (query: () => string, pageSize: number) =>
  listPager<JobItem>(
    "/jobs",
    query,
    pageSize,
    olderBy((j) => j.created_at),
  );

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
