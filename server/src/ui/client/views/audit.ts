import { api } from "../api.ts";
import type { View } from "../context.ts";
import { h } from "../dom.ts";
import type { List } from "../types.ts";
import { ago, emptyState } from "../widgets.ts";

interface Entry {
  seq: number;
  at: string;
  actor_name: string | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
}

export const auditView: View = async (root, ctx) => {
  if (!ctx.isAdmin) {
    root.append(h("h1", { tabindex: "-1" }, "Audit log"), h("p", {}, "Only admins see the audit log."));
    return;
  }
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary" }, "Older entries");
  let cursor: string | null = null;
  const load = async () => {
    const page = await api<List<Entry>>(`/audit-log?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    for (const e of page.items) {
      tbody.append(
        h(
          "tr",
          {},
          h("td", { "data-label": "When" }, ago(e.at)),
          h("td", { "data-label": "Who" }, e.actor_name ?? "–"),
          h("td", { "data-label": "Action" }, h("code", {}, e.action)),
          h("td", { "data-label": "Target" }, e.target ?? "–"),
          h("td", { "data-label": "Detail" }, e.detail ? JSON.stringify(e.detail) : ""),
        ),
      );
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    return page.items.length;
  };
  more.addEventListener("click", () => void load());
  root.append(
    h("h1", { tabindex: "-1" }, "Audit log"),
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h("tr", {}, ...["When", "Who", "Action", "Target", "Detail"].map((t) => h("th", { scope: "col" }, t))),
      ),
      tbody,
    ),
    more,
  );
  if ((await load()) === 0) root.append(emptyState("Nothing yet: admin actions are recorded here."));
};
