// The scale plot: server RSS and dispatch p99 against the number of connected agents, each next
// to its bare baseline. Plain SVG, no dependencies.
import type { ScalePoint } from "./context.ts";

interface Series {
  label: string;
  color: string;
  dash?: string;
  points: Array<[number, number]>;
}

const W = 420;
const H = 300;
const M = { left: 58, right: 16, top: 64, bottom: 46 };

function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  // The last tick is at or above hi, so nothing is drawn outside the axes.
  for (let v = Math.ceil(lo / step) * step; v < hi + step - 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${v / 1000}k` : String(v));

function panel(x0: number, title: string, yLabel: string, series: Series[], logY: boolean): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => Number.isFinite(v) && v > 0);
  if (xs.length === 0 || ys.length === 0) return "";
  const xMax = Math.max(...xs);
  const yMaxRaw = Math.max(...ys);
  const yMinRaw = Math.min(...ys);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xt = ticks(0, xMax);
  const xHi = Math.max(xMax, xt.at(-1) ?? xMax);
  let yTicks: number[];
  let yOf: (v: number) => number;
  if (logY) {
    const lo = 10 ** Math.floor(Math.log10(yMinRaw));
    const hi = 10 ** Math.ceil(Math.log10(yMaxRaw));
    yTicks = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) yTicks.push(v);
    yOf = (v) => M.top + ph - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
  } else {
    yTicks = ticks(0, yMaxRaw * 1.05);
    const hi = yTicks.at(-1) ?? yMaxRaw;
    yOf = (v) => M.top + ph - (v / hi) * ph;
  }
  const xOf = (v: number) => x0 + M.left + (v / xHi) * pw;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${title}</text>`);
  for (const t of yTicks) {
    const y = yOf(t);
    parts.push(`<line x1="${x0 + M.left}" x2="${x0 + W - M.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${x0 + M.left - 6}" y="${y + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xt) {
    const x = xOf(t);
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.top + ph}" y2="${M.top + ph + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x}" y="${M.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(
    `<line x1="${x0 + M.left}" x2="${x0 + W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`,
  );
  parts.push(`<line x1="${x0 + M.left}" x2="${x0 + M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`);
  parts.push(`<text x="${x0 + M.left + pw / 2}" y="${H - 10}" text-anchor="middle">connected agents</text>`);
  parts.push(
    `<text transform="translate(${x0 + 14} ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${yLabel}${logY ? " (log)" : ""}</text>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1]) && p[1] > 0).sort((a, b) => a[0] - b[0]);
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j ? "L" : "M"}${xOf(p[0]).toFixed(1)},${yOf(p[1]).toFixed(1)}`).join(" ");
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
    );
    for (const p of pts)
      parts.push(`<circle cx="${xOf(p[0]).toFixed(1)}" cy="${yOf(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = 34 + i * 15;
    parts.push(
      `<line x1="${x0 + M.left + 10}" x2="${x0 + M.left + 30}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
    );
    parts.push(`<text x="${x0 + M.left + 36}" y="${ly + 4}">${s.label}</text>`);
  });
  return parts.join("\n");
}

export function scaleSvg(points: readonly ScalePoint[], caption: string): string {
  const pick = (f: (p: ScalePoint) => number | undefined) =>
    points.filter((p) => f(p) !== undefined).map((p) => [p.agents, f(p) as number] as [number, number]);
  const rss: Series[] = [
    { label: "restic-fleet-server", color: "#c0392b", points: pick((p) => p.serverRssMb) },
    { label: "bare Bun WebSocket server", color: "#7f8c8d", dash: "5,4", points: pick((p) => p.bareRssMb) },
  ];
  const lat: Series[] = [
    { label: "fire → command.run", color: "#2471a3", points: pick((p) => p.fireP99Ms) },
    { label: "bare echo round trip", color: "#7f8c8d", dash: "5,4", points: pick((p) => p.echoP99Ms) },
  ];
  const latValues = lat.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  const logY = latValues.length > 0 && Math.max(...latValues) / Math.min(...latValues) > 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W * 2}" height="${H + 20}" viewBox="0 0 ${W * 2} ${H + 20}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(0, "Server RSS", "MB", rss, false),
    panel(W, "Dispatch latency p99", "ms", lat, logY),
    `<text x="${W}" y="${H + 12}" text-anchor="middle" fill="#555">${caption}</text>`,
    "</svg>",
  ].join("\n");
}
