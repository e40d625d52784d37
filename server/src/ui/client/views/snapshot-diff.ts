import { api } from "../api.ts";
import { clear, h } from "../dom.ts";
import { absolute, bytes } from "../format.ts";
import type { Host, Snapshot, SnapshotDiff } from "../types.ts";
import { errorBox, failureText } from "../widgets.ts";

/** The mark and the words for each change, so colour is never the only signal. */
const MARK: Record<SnapshotDiff["changes"][number]["change"], [string, string]> = {
  added: ["+", "added"],
  removed: ["−", "removed"],
  modified: ["M", "modified"],
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Two snapshots of a host compared, asked of its agent (`restic diff`): the counts and sizes
 * first, then the changed paths (+ added, − removed, M modified) with a filter box. The agent
 * sends at most 1000 paths; the total says how many changed.
 */
export function snapshotDiff(o: { host: Host; from: Snapshot; to: Snapshot; close(): void }): HTMLElement {
  const body = h("div", {}, h("p", { class: "muted loading" }, "Comparing…"));
  const section = h(
    "section",
    { class: "card snapshot-diff", "aria-labelledby": "diff-h" },
    h(
      "div",
      { class: "page-head" },
      h("h2", { id: "diff-h" }, `Changes from ${o.from.short_id} to ${o.to.short_id}`),
      h("button", { type: "button", class: "secondary", onclick: o.close }, "Close"),
    ),
    h("p", { class: "muted" }, `${absolute(o.from.time)} → ${absolute(o.to.time)}`),
    body,
  );
  const q = new URLSearchParams({ from: o.from.id, to: o.to.id });
  api<SnapshotDiff>(`/hosts/${encodeURIComponent(o.host.id)}/snapshots/diff?${q}`).then(
    (d) => {
      clear(body);
      body.append(...render(d));
    },
    (err) => {
      clear(body);
      body.append(errorBox(failureText(err)));
    },
  );
  return section;
}

function render(d: SnapshotDiff): HTMLElement[] {
  const s = d.stats;
  const summary = s
    ? h(
        "ul",
        { class: "diff-summary" },
        h(
          "li",
          { class: "diff-added" },
          `+ ${plural(s.added.files, "file")}, ${plural(s.added.dirs, "folder")}; ${bytes(s.added.bytes)} added`,
        ),
        h(
          "li",
          { class: "diff-removed" },
          `− ${plural(s.removed.files, "file")}, ${plural(s.removed.dirs, "folder")}; ${bytes(s.removed.bytes)} removed`,
        ),
        h("li", { class: "diff-modified" }, `M ${plural(s.changed_files, "file")} changed`),
      )
    : null;
  if (d.total === 0) return [summary, h("p", { class: "empty" }, "No files differ.")].filter((x) => x !== null);
  const filter = h("input", {
    type: "search",
    placeholder: "Filter paths",
    "aria-label": "Filter changed paths",
    autocomplete: "off",
  });
  const list = h("ul", { class: "diff-list" });
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const show = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = needle ? d.changes.filter((c) => c.path.toLowerCase().includes(needle)) : d.changes;
    clear(list);
    for (const c of shown) {
      const [mark, word] = MARK[c.change];
      list.append(
        h(
          "li",
          { class: `diff-${c.change}`, "data-change": c.change },
          h("span", { class: "diff-mark", title: `${word}${c.modifier.length > 1 ? ` (${c.modifier})` : ""}` }, mark),
          h("span", { class: "visually-hidden" }, ` ${word} `),
          h("code", { class: "diff-path" }, c.type === "dir" ? `${c.path}/` : c.path),
        ),
      );
    }
    const capped = d.changes.length < d.total ? ` (the first ${d.changes.length} of ${d.total} are listed)` : "";
    count.textContent = needle
      ? `${shown.length} of ${d.changes.length} listed paths match${capped}.`
      : `${plural(d.total, "path")} changed${capped}.`;
  };
  filter.addEventListener("input", show);
  show();
  return [summary, h("div", { class: "toolbar" }, filter), count, list].filter((x) => x !== null);
}
