import { h, s } from "./dom.ts";
import { bytes, duration } from "./format.ts";
import type { JobItem } from "./types.ts";

/**
 * A host's runs over time (issue 17): one bar per run for how long it took, one for the data it
 * added, each coloured by its result, and a mark per run on the time axis so a run that failed
 * before it took any time still shows. Each bar links to its job. An inline SVG drawn at the
 * width it is shown at (not scaled down from a desktop drawing), so its 12 px labels stay 12 px
 * on a phone.
 */
export function runChart(runs: readonly JobItem[], width: number): HTMLElement {
  const data = runs.filter((r) => r.status !== "queued").sort((a, b) => a.created_at.localeCompare(b.created_at));
  if (data.length === 0) return h("p", { class: "muted" }, "No runs to draw yet: they appear as jobs start.");
  const W = Math.round(Math.min(Math.max(width, 280), 900));
  const pad = { l: 58, r: 10, t: 16, b: 34 };
  const band = 70; // each panel's height
  const gap = 26; // between panels, for the second panel's title
  // The data panel only when some run reported data added (backups do; checks and prunes do not).
  const withData = data.some((r) => r.data_added !== null);
  const H = pad.t + band + (withData ? gap + band : 0) + 12 + pad.b;
  const times = data.map((r) => Date.parse(r.created_at));
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  // One run (or runs in one instant): an hour either side, so it sits in the middle.
  if (t1 - t0 < 60_000) {
    t0 -= 3_600_000;
    t1 += 3_600_000;
  }
  const inner = W - pad.l - pad.r;
  const slot = inner / data.length;
  const barW = Math.max(3, Math.min(18, slot * 0.7));
  // Bars stay inside the plot: the first and last are inset by half a bar.
  const x = (t: number) => pad.l + barW / 2 + ((t - t0) / (t1 - t0)) * (inner - barW);
  const maxDur = Math.max(...data.map((r) => r.duration_seconds ?? 0), 1);
  const maxData = Math.max(...data.map((r) => r.data_added ?? 0), 1);
  const top1 = pad.t;
  const base1 = top1 + band;
  const top2 = base1 + gap;
  const base2 = withData ? top2 + band : base1;
  const marks = base2 + 10;

  const text = (x0: number, y0: number, str: string, anchor = "start", cls = "chart-label") => {
    const t = s("text", { x: x0, y: y0, "text-anchor": anchor, class: cls });
    t.textContent = str;
    return t;
  };
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    role: "img",
    "aria-labelledby": "run-chart-title",
    class: "run-chart",
  });
  const title = s("title", { id: "run-chart-title" });
  svg.append(
    title,
    text(pad.l, top1 - 4, "Duration", "start", "chart-label chart-title"),
    s("line", { x1: pad.l, y1: base1, x2: W - pad.r, y2: base1, class: "axis" }),
    text(pad.l - 6, top1 + 10, duration(maxDur), "end"),
    text(pad.l - 6, base1, "0", "end"),
  );
  if (withData) {
    svg.append(
      text(pad.l, top2 - 4, "Data added", "start", "chart-label chart-title"),
      s("line", { x1: pad.l, y1: base2, x2: W - pad.r, y2: base2, class: "axis" }),
      text(pad.l - 6, top2 + 10, bytes(maxData), "end"),
      text(pad.l - 6, base2, "0", "end"),
    );
  }
  for (const r of data) {
    const cx = x(Date.parse(r.created_at));
    const cls = `run run-${r.status}`;
    const link = s("a", { href: `#/jobs/${r.id}`, class: cls, "data-run": r.id });
    const tip = s("title");
    tip.textContent = runText(r);
    link.append(tip);
    if (r.duration_seconds !== null) {
      const hgt = Math.max(2, (r.duration_seconds / maxDur) * band);
      link.append(s("rect", { x: cx - barW / 2, y: base1 - hgt, width: barW, height: hgt, class: "bar" }));
    }
    if (r.data_added !== null) {
      const hgt = Math.max(2, (r.data_added / maxData) * band);
      link.append(s("rect", { x: cx - barW / 2, y: base2 - hgt, width: barW, height: hgt, class: "bar" }));
    }
    // The result mark: a failure is a cross, so colour is not the only signal.
    link.append(
      r.status === "failed"
        ? s("path", { d: crossPath(cx, marks, 4), class: "mark" })
        : s("circle", { cx, cy: marks, r: 3.5, class: "mark" }),
    );
    svg.append(link);
  }
  for (const [tx, label] of timeTicks(t0, t1, Math.max(2, Math.min(6, Math.floor(inner / 110))))) {
    const px = x(tx);
    const anchor = px < pad.l + 30 ? "start" : px > W - pad.r - 30 ? "end" : "middle";
    svg.append(
      s("line", { x1: px, y1: base2, x2: px, y2: base2 + 4, class: "axis" }),
      text(px, H - 8, label, anchor, "chart-label chart-tick"),
    );
  }
  const failed = data.filter((r) => r.status === "failed").length;
  const from = new Date(t0 + (data.length === 1 ? 3_600_000 : 0));
  title.textContent =
    `${data.length} ${data.length === 1 ? "run" : "runs"}` +
    (data.length > 1
      ? ` from ${from.toLocaleString()} to ${new Date(t1).toLocaleString()}`
      : ` at ${from.toLocaleString()}`) +
    `: ${data.length - failed} not failed, ${failed} failed; longest ${duration(maxDur)}, most data added ${withData ? bytes(maxData) : "not reported"}`;
  return h(
    "figure",
    { class: "chart-box run-chart-box" },
    svg,
    h(
      "figcaption",
      {},
      h("span", { class: "run-key run-succeeded" }, "succeeded"),
      " ",
      h("span", { class: "run-key run-failed" }, "✗ failed"),
      " ",
      h("span", { class: "run-key run-cancelled" }, "cancelled"),
      " ",
      h("span", { class: "run-key run-running" }, "running"),
      ` — ${data.length} ${data.length === 1 ? "run" : "runs"}, ${failed} failed. Select a bar to open its job.`,
    ),
  );
}

/** One run in words, for its bar's tooltip. */
export const runText = (r: JobItem) =>
  [
    `${r.kind} ${r.status}`,
    new Date(r.created_at).toLocaleString(),
    r.duration_seconds !== null ? duration(r.duration_seconds) : null,
    r.data_added !== null ? `${bytes(r.data_added)} added` : null,
    r.status === "failed" && r.error ? r.error : null,
  ]
    .filter(Boolean)
    .join(" · ");

const crossPath = (cx: number, cy: number, r: number) =>
  `M${cx - r},${cy - r}L${cx + r},${cy + r}M${cx - r},${cy + r}L${cx + r},${cy - r}`;

const DAY = 86_400_000;
const FORMATS: Record<string, Intl.DateTimeFormatOptions> = {
  date: { month: "short", day: "numeric" },
  dateYear: { year: "numeric", month: "short", day: "numeric" },
  full: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" },
  dateTime: { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" },
  time: { hour: "2-digit", minute: "2-digit" },
  seconds: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
};

/**
 * `n` ticks spread over [t0, t1], each labelled in the coarsest format under which no two labels
 * are the same: dates over days, times within one, seconds within a minute. Labels that repeat
 * ("12/1/2026 … 12/1/2026") say nothing.
 */
export function timeTicks(t0: number, t1: number, n: number): Array<[number, string]> {
  const ticks = Array.from({ length: n }, (_, i) => t0 + ((t1 - t0) * i) / (n - 1));
  const span = t1 - t0;
  const order =
    span >= 180 * DAY
      ? ["dateYear"]
      : span >= 2 * DAY
        ? ["date", "dateTime"]
        : sameDay(t0, t1)
          ? ["time", "seconds"]
          : ["dateTime", "seconds"];
  for (const name of [...order, "full"]) {
    const fmt = new Intl.DateTimeFormat(undefined, FORMATS[name]);
    const labels = ticks.map((t) => fmt.format(t));
    if (name === "full" || new Set(labels).size === labels.length) return ticks.map((t, i) => [t, labels[i] as string]);
  }
  return [];
}

const sameDay = (a: number, b: number) => new Date(a).toDateString() === new Date(b).toDateString();
