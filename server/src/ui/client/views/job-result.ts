import { h } from "../dom.ts";
import { bytes, plural, took } from "../format.ts";

/** One labelled row of a job's result: its text (for the log), and a node where it links. */
export interface ResultRow {
  label: string;
  text: string;
  node?: Node;
}

/**
 * restic's own figures that say nothing to a reader (blob counts, 0.18's start and end times, the
 * message type) and the ones shown elsewhere (warnings as one line, a drill's report, check verdict).
 */
const HIDDEN = new Set([
  "message_type",
  "data_blobs",
  "tree_blobs",
  "backup_start",
  "backup_end",
  "warnings",
  "drill",
  "check",
  "copy",
  "post_hook_failed",
]);

/**
 * A job's statistics (restic's summary of a backup, a restore's from 0.16, forget's counts,
 * 0.18's check verdict, the agent's warnings) as labelled rows in words. The keys read are
 * returned in `used`; whatever else is left is for the "more figures" list.
 */
export function resultRows(stats: Record<string, unknown>, hostId?: string): { rows: ResultRow[]; used: Set<string> } {
  const used = new Set<string>(HIDDEN);
  const n = (k: string): number | null => {
    used.add(k);
    return typeof stats[k] === "number" ? (stats[k] as number) : null;
  };
  const rows: ResultRow[] = [];
  const row = (label: string, text: string, node?: Node) => rows.push(node ? { label, text, node } : { label, text });
  const changes = (prefix: string) => {
    const [added, changed, same] = [n(`${prefix}_new`), n(`${prefix}_changed`), n(`${prefix}_unmodified`)];
    return added === null ? null : `${added} new, ${changed ?? 0} changed, ${same ?? 0} unmodified`;
  };
  used.add("snapshot_id");
  if (typeof stats.snapshot_id === "string") {
    const id = stats.snapshot_id;
    const code = h("code", { title: id }, id.slice(0, 8));
    row(
      "Snapshot",
      id.slice(0, 8),
      hostId ? h("a", { href: `#/hosts/${hostId}`, class: "snapshot-link" }, code) : code,
    );
  }
  const files = changes("files");
  if (files !== null) row("Files", files);
  const dirs = changes("dirs");
  if (dirs !== null) row("Folders", dirs);
  const added = n("data_added");
  const packed = n("data_added_packed");
  if (added !== null) row("Data added", `${bytes(added)}${packed !== null ? ` (stored ${bytes(packed)})` : ""}`);
  const processed = n("total_bytes_processed");
  if (processed !== null) {
    row("Total processed", `${bytes(processed)} in ${plural(n("total_files_processed") ?? 0, "file")}`);
  }
  // A restore's summary (restic >= 0.16).
  const restored = n("files_restored");
  if (restored !== null) {
    const total = n("total_files");
    row(
      "Restored",
      `${plural(restored, "file")}${total !== null && total !== restored ? ` of ${total}` : ""} (${bytes(n("bytes_restored"))})`,
    );
    const skipped = n("files_skipped");
    if (skipped) row("Already in place", `${plural(skipped, "file")} (${bytes(n("bytes_skipped"))})`);
  }
  n("total_bytes");
  const kept = n("snapshots_kept");
  const removed = n("snapshots_removed");
  if (kept !== null || removed !== null) {
    row("Snapshots", `${kept ?? 0} kept, ${removed ?? 0} removed`);
  }
  const check = stats.check as Record<string, unknown> | undefined;
  if (check && typeof check === "object") rows.push(...checkRows(check));
  // A copy job (3-2-1): what the target holds of this host after the copy and its retention.
  const copy = stats.copy as Record<string, unknown> | undefined;
  if (copy && typeof copy === "object") {
    if (typeof copy.target_id === "string") row("Copied to", copy.target_id);
    if (typeof copy.snapshot_count === "number") {
      const newest =
        typeof copy.latest_snapshot_id === "string" ? `, newest ${copy.latest_snapshot_id.slice(0, 8)}` : "";
      row("On the target", `${plural(copy.snapshot_count, "snapshot")} of this host${newest}`);
    }
  }
  const seconds = n("total_duration") ?? n("seconds_elapsed");
  if (seconds !== null) row("Duration", took(seconds));
  used.add("missing_paths");
  if (Array.isArray(stats.missing_paths) && stats.missing_paths.length) {
    row("Skipped paths", stats.missing_paths.join(", "));
  }
  used.add("warning");
  if (stats.warning) row("Warning", String(stats.warning));
  used.add("failure_reason");
  if (stats.failure_reason) row("Failure", String(stats.failure_reason).replace(/_/g, " "));
  return { rows, used };
}

/** restic 0.18's check verdict (stats.check). */
function checkRows(c: Record<string, unknown>): ResultRow[] {
  const rows: ResultRow[] = [];
  if (typeof c.num_errors === "number") {
    rows.push({ label: "Errors found", text: c.num_errors === 0 ? "none" : plural(c.num_errors, "error") });
  }
  if (Array.isArray(c.broken_packs) && c.broken_packs.length) {
    rows.push({ label: "Damaged pack files", text: c.broken_packs.join(", ") });
  }
  const advice = [
    c.suggest_repair_index ? "restic repair index" : null,
    c.suggest_prune ? "restic prune" : null,
  ].filter((x) => x !== null);
  if (advice.length) rows.push({ label: "restic suggests", text: advice.join(", then ") });
  return rows;
}

/** The result as a list of labels and values; figures no row reads sit in a closed "More figures". */
export function summary(stats: Record<string, unknown>, hostId: string): HTMLElement {
  const { rows, used } = resultRows(stats, hostId);
  const rest = Object.entries(stats).filter(([k, v]) => !used.has(k) && (typeof v !== "object" || v === null));
  return h(
    "div",
    { class: "result-figures" },
    rows.length
      ? h(
          "dl",
          { class: "summary" },
          rows.map((r) => [h("dt", {}, r.label), h("dd", {}, r.node ?? r.text)]),
        )
      : null,
    rest.length
      ? h(
          "details",
          { class: "more-figures" },
          h("summary", {}, "More figures"),
          h(
            "dl",
            {},
            rest.map(([k, v]) => [h("dt", {}, h("code", {}, k)), h("dd", {}, String(v))]),
          ),
        )
      : null,
  );
}
