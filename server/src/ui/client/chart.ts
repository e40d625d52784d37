import { h, s } from "./dom.ts";
import { bytes, plural } from "./format.ts";
import type { RepoStats } from "./types.ts";

/** The plot's own units; it stretches to the box (preserveAspectRatio none), strokes stay 2 px. */
const W = 1000;
const H = 100;
const DAY_MS = 86_400_000;
/** Below this raw size the ratio says nothing: a 4 KiB repository of one config file reads "×0.01". */
const DEDUP_MIN_BYTES = 10 * 1024 * 1024;

/** The axis' words: times within one day, dates over longer ranges, both for a single report. */
export function axisLabels(t0: number, t1: number): string[] {
  const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const date = (t: number) => new Date(t).toLocaleDateString([], { month: "short", day: "numeric" });
  if (t1 <= t0) return [`${date(t0)}, ${time(t0)}`];
  const fmt = t1 - t0 < DAY_MS ? time : date;
  return [fmt(t0), fmt((t0 + t1) / 2), fmt(t1)];
}

/** "dedup ×6.50", or null when the repository is too small (or restores less than it stores) to tell. */
export function dedupText(sizeBytes: number, ratio: number): string | null {
  return sizeBytes >= DEDUP_MIN_BYTES && ratio >= 1 ? `dedup ×${ratio.toFixed(2)}` : null;
}

/**
 * Repository size (line) and snapshot count (dashed) over time. The lines are an SVG that stretches
 * to its box; the labels are HTML around it, so they stay at the page's font size on a phone.
 */
export function repoChart(points: RepoStats[]): HTMLElement {
  const data = [...points].sort((a, b) => a.reported_at.localeCompare(b.reported_at));
  const last = data.at(-1);
  if (!last)
    return h("p", { class: "muted" }, "No repository statistics yet: they arrive after a backup, prune or check.");
  const times = data.map((d) => Date.parse(d.reported_at));
  const t0 = times[0] ?? 0;
  const t1 = times.at(-1) ?? t0;
  const maxSize = Math.max(...data.map((d) => d.size_bytes), 1);
  const maxCount = Math.max(...data.map((d) => d.snapshot_count), 1);
  // A single report sits in the middle; 2 units of margin keep the strokes inside the box.
  const x = (i: number) => (t1 > t0 ? 2 + (((times[i] ?? t0) - t0) / (t1 - t0)) * (W - 4) : W / 2);
  const y = (v: number, max: number) => H - 2 - (v / max) * (H - 4);
  const line = (value: (d: RepoStats) => number, max: number) =>
    data.map((d, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(value(d), max).toFixed(1)}`).join(" ");
  // Zero-length round-capped segments: dots that stay round however the plot is stretched.
  const dots = (value: (d: RepoStats) => number, max: number) =>
    data.map((d, i) => `M${x(i).toFixed(1)},${y(value(d), max).toFixed(1)} h0`).join(" ");
  const size = (d: RepoStats) => d.size_bytes;
  const count = (d: RepoStats) => d.snapshot_count;
  const title = `Repository size ${bytes(last.size_bytes)} and ${plural(last.snapshot_count, "snapshot")}, over ${plural(data.length, "report")}`;
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": title, class: "chart" },
    s("line", { x1: 0, y1: H - 1, x2: W, y2: H - 1, class: "axis" }),
    s("path", { d: line(size, maxSize), class: "line-size" }),
    s("path", { d: line(count, maxCount), class: "line-count" }),
    ...(data.length <= 60
      ? [
          s("path", { d: dots(size, maxSize), class: "dots-size" }),
          s("path", { d: dots(count, maxCount), class: "dots-count" }),
        ]
      : []),
  );
  const dedup = dedupText(last.size_bytes, last.dedup_ratio);
  return h(
    "figure",
    { class: "chart-box" },
    // The scales' tops above the plot (the baseline is 0 for both), so the plot keeps the full width.
    h(
      "div",
      { class: "chart-y" },
      h("span", { class: "key key-size" }, bytes(maxSize)),
      h("span", { class: "key key-count" }, plural(maxCount, "snapshot")),
    ),
    h("div", { class: "chart-plot" }, svg),
    h(
      "div",
      { class: "chart-x", "aria-hidden": "true" },
      axisLabels(t0, t1).map((l) => h("span", {}, l)),
    ),
    h(
      "figcaption",
      {},
      h("span", { class: "key key-size" }, "size"),
      " ",
      h("span", { class: "key key-count" }, "snapshots"),
      ` — now ${bytes(last.size_bytes)}, ${plural(last.snapshot_count, "snapshot")}, `,
      dedup ? `${dedup}, ` : "",
      `lock: ${last.lock_state}`,
      last.last_check_status ? `, last check: ${last.last_check_status}` : "",
    ),
  );
}
