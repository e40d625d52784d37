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

type Value = unknown;

/** A scalar or a list of scalars on one line: `7`, `yes`, `/srv, /etc`, `none`. */
function scalar(v: Value): string | null {
  if (v === null || v === undefined) return "none";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string" || typeof v === "number") return String(v);
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object"))
    return v.length ? v.map((x) => scalar(x)).join(", ") : "none";
  if (typeof v === "object" && Object.keys(v).length === 0) return "none";
  return null;
}

/**
 * An entry's detail as `key: value` lines, nested objects (a schedule's before and after) as
 * indented lists of their own. The server never puts a secret there (docs/api.md, Audit log).
 */
export function detailList(detail: Record<string, Value> | Value[]): HTMLElement {
  const entries: Array<[string, Value]> = Array.isArray(detail)
    ? detail.map((v, i) => [`${i + 1}`, v])
    : Object.entries(detail);
  return h(
    "ul",
    { class: "detail" },
    entries.map(([k, v]) => {
      const line = scalar(v);
      return h(
        "li",
        {},
        h("span", { class: "detail-key" }, `${k}: `),
        line ?? detailList(v as Record<string, Value> | Value[]),
      );
    }),
  );
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
          h("td", { "data-label": "Detail", class: "audit-detail" }, e.detail ? detailList(e.detail) : ""),
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
