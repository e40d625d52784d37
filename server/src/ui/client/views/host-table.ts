import { h } from "../dom.ts";
import { bytes, interval } from "../format.ts";
import { labelTags } from "../labels.ts";
import type { Host } from "../types.ts";
import { ago, badge, drillFact } from "../widgets.ts";
import type { TableSort } from "./dashboard-state.ts";

export interface HostTableOptions {
  caption: string;
  /** The server's sort the rows came in, and how to ask for another. */
  sort: TableSort;
  onSort: (sort: TableSort) => void;
  /** A tick box for "Run now on several hosts" (admins), or nothing. */
  tickBox: (x: Host) => HTMLElement | null;
}

/** Names (A-Z) and health (worst first) ascend; the times are newest first. */
const DIRECTION: Record<TableSort, "ascending" | "descending"> = {
  health: "ascending",
  name: "ascending",
  last_backup: "descending",
  last_seen: "descending",
};

/** The fleet's hosts as a table: one page of them, in the server's order. */
export function hostTable(shown: readonly Host[], opts: HostTableOptions): HTMLElement {
  const header = (label: string, key?: TableSort) => {
    if (!key) return h("th", { scope: "col" }, label);
    const active = opts.sort === key;
    return h(
      "th",
      { scope: "col", "aria-sort": active ? DIRECTION[key] : "none" },
      h(
        "button",
        { type: "button", class: "sort", onclick: () => opts.onSort(key) },
        label,
        active ? (DIRECTION[key] === "ascending" ? " ▼" : " ▲") : "",
      ),
    );
  };
  return h(
    "table",
    { class: "hosts" },
    h("caption", { class: "visually-hidden" }, opts.caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        header("Host", "name"),
        header("Backup", "health"),
        header("Last backup", "last_backup"),
        header("Verified restore"),
        header("Presence", "last_seen"),
        header("Platform"),
        header("Versions"),
        header("Repository"),
        header("Schedules"),
      ),
    ),
    h(
      "tbody",
      {},
      shown.map((x) =>
        h(
          "tr",
          { "data-host": x.id },
          h("th", { scope: "row" }, opts.tickBox(x), h("a", { href: `#/hosts/${x.id}` }, x.name), labelTags(x.labels)),
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
