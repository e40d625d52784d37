import { h, s } from "./dom.ts";
import { bytes } from "./format.ts";
import type { RepoStats } from "./types.ts";

/** Repository size (line) and snapshot count (steps) over time, as an inline SVG. */
export function repoChart(points: RepoStats[]): HTMLElement {
  const data = [...points].sort((a, b) => a.reported_at.localeCompare(b.reported_at));
  if (data.length === 0)
    return h("p", { class: "muted" }, "No repository statistics yet: they arrive after a backup, prune or check.");
  const W = 640;
  const H = 200;
  const pad = { l: 64, r: 48, t: 12, b: 28 };
  const t0 = Date.parse(data[0]?.reported_at ?? "");
  const t1 = Math.max(Date.parse(data.at(-1)?.reported_at ?? ""), t0 + 1);
  const maxSize = Math.max(...data.map((d) => d.size_bytes), 1);
  const maxCount = Math.max(...data.map((d) => d.snapshot_count), 1);
  const x = (iso: string) => pad.l + ((Date.parse(iso) - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const ySize = (v: number) => H - pad.b - (v / maxSize) * (H - pad.t - pad.b);
  const yCount = (v: number) => H - pad.b - (v / maxCount) * (H - pad.t - pad.b);
  const sizePath = data
    .map((d, i) => `${i ? "L" : "M"}${x(d.reported_at).toFixed(1)},${ySize(d.size_bytes).toFixed(1)}`)
    .join(" ");
  const countPath = data
    .map((d, i) => `${i ? "L" : "M"}${x(d.reported_at).toFixed(1)},${yCount(d.snapshot_count).toFixed(1)}`)
    .join(" ");
  const text = (x0: number, y0: number, str: string, anchor = "start") => {
    const t = s("text", { x: x0, y: y0, "text-anchor": anchor, class: "chart-label" });
    t.textContent = str;
    return t;
  };
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "chart-title", class: "chart" },
    s("title", { id: "chart-title" }),
    s("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "axis" }),
    s("path", { d: sizePath, class: "line-size" }),
    s("path", { d: countPath, class: "line-count" }),
    text(pad.l - 6, pad.t + 10, bytes(maxSize), "end"),
    text(pad.l - 6, H - pad.b, "0", "end"),
    text(W - pad.r + 6, pad.t + 10, `${maxCount} snap.`),
    text(pad.l, H - 8, new Date(t0).toLocaleDateString()),
    text(W - pad.r, H - 8, new Date(t1).toLocaleDateString(), "end"),
  );
  const last = data.at(-1) as RepoStats;
  (svg.querySelector("title") as unknown as SVGElement).textContent =
    `Repository size ${bytes(last.size_bytes)} and ${last.snapshot_count} snapshots, over ${data.length} reports`;
  return h(
    "figure",
    { class: "chart-box" },
    svg,
    h(
      "figcaption",
      {},
      h("span", { class: "key key-size" }, "size"),
      " ",
      h("span", { class: "key key-count" }, "snapshots"),
      ` — now ${bytes(last.size_bytes)}, ${last.snapshot_count} snapshots, dedup ×${last.dedup_ratio.toFixed(2)}, `,
      `lock: ${last.lock_state}`,
      last.last_check_status ? `, last check: ${last.last_check_status}` : "",
    ),
  );
}
