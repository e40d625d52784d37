import { h } from "../dom.ts";
import { bytes } from "../format.ts";
import type { DrillReport } from "../types.ts";
import { badge } from "../widgets.ts";

/** How a sampled file compared with the live one, in words; the failing states are marked. */
const LIVE_TEXT: Record<string, string> = {
  matched: "✓ matches the live file",
  changed: "changed since the snapshot (not compared)",
  missing: "gone from the host (not compared)",
  mismatch: "✗ differs from the unchanged live file",
  not_restored: "✗ not restored",
};

/** A drill's report: its result and why, the counts, and each sampled file with how it compared. */
export function drillReport(d: DrillReport): HTMLElement {
  const failing = (live: string) => live === "mismatch" || live === "not_restored";
  return h(
    "section",
    { class: `card drill-report drill-${d.result}`, "aria-labelledby": "drill-h" },
    h("h3", { id: "drill-h" }, "Restore drill ", badge(d.result)),
    d.reason ? h("p", { class: d.result === "failed" ? "error" : "muted", role: "alert" }, d.reason) : null,
    d.restic_error ? h("pre", { class: "error restic-error" }, d.restic_error) : null,
    h(
      "dl",
      { class: "summary" },
      h("dt", {}, "Snapshot"),
      h("dd", {}, h("code", {}, d.snapshot_id)),
      h("dt", {}, "Restored and verified"),
      h("dd", {}, `${d.files_verified} of ${d.files_requested} sampled files (${bytes(d.bytes)})`),
      h("dt", {}, "Match the live file"),
      h(
        "dd",
        {},
        String(d.live_matched),
        d.live_matched < d.files_verified
          ? " (the others changed since the snapshot or are gone, which is normal)"
          : "",
      ),
      h("dt", {}, "Differ from an unchanged live file"),
      h("dd", {}, d.mismatched.length ? d.mismatched.join(", ") : "none"),
    ),
    d.files?.length
      ? h(
          "table",
          { class: "drill-files" },
          h("caption", { class: "visually-hidden" }, "Sampled files"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["File", "Size", "SHA-256 of the restored copy", "Live file"].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          h(
            "tbody",
            {},
            d.files.map((f) =>
              h(
                "tr",
                { class: failing(f.live) ? "mismatch" : undefined, "data-file": f.path },
                h("td", { "data-label": "File" }, h("code", {}, f.path)),
                h("td", { "data-label": "Size" }, bytes(f.size)),
                h(
                  "td",
                  { "data-label": "SHA-256" },
                  f.sha256 ? h("code", { class: "hash", title: f.sha256 }, `${f.sha256.slice(0, 16)}…`) : "–",
                ),
                h(
                  "td",
                  { "data-label": "Live file", class: failing(f.live) ? "bad-text" : undefined },
                  LIVE_TEXT[f.live] ?? f.live.replace(/_/g, " "),
                  f.error ? h("small", { class: "block" }, f.error) : null,
                ),
              ),
            ),
          ),
        )
      : null,
  );
}
