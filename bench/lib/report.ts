// Results: one row per figure (value, baseline, ratio, target, met), printed as a table and saved as JSON.

export type Unit = "s" | "ms" | "MB" | "MB/s" | "%" | "lines/s" | "s/h" | "agents" | "count" | "B";

/** A target is checked against the value or against the ratio value / baseline. */
export type Target =
  | { on: "ratio"; max: number }
  | { on: "ratio"; min: number }
  | { on: "value"; max: number }
  | { on: "value"; min: number }
  | { on: "value"; equals: number };

export interface Metric {
  bench: string;
  name: string;
  unit: Unit;
  value: number | null;
  baseline: number | null;
  /** What the baseline is, e.g. "bare restic backup". */
  baselineName: string;
  ratio: number | null;
  target: string;
  /** null: no target (context figure), or the value could not be measured. */
  met: boolean | null;
  note?: string;
}

export interface MetricInput {
  name: string;
  unit: Unit;
  value: number | null;
  baseline?: number | null;
  baselineName?: string;
  target?: Target;
  /** Overrides the computed verdict, e.g. when a count check failed next to a timing. */
  met?: boolean | null;
  note?: string;
}

function describeTarget(t: Target | undefined, unit: Unit): string {
  if (!t) return "";
  const what = t.on === "ratio" ? "ratio" : "value";
  const u = t.on === "ratio" ? "×" : ` ${unit}`;
  if ("max" in t) return `${what} ≤ ${t.max}${u}`;
  if ("min" in t) return `${what} ≥ ${t.min}${u}`;
  return `${what} = ${t.equals}${u}`;
}

function check(t: Target | undefined, value: number | null, ratio: number | null): boolean | null {
  if (!t) return null;
  const x = t.on === "ratio" ? ratio : value;
  if (x === null || !Number.isFinite(x)) return false;
  if ("max" in t) return x <= t.max;
  if ("min" in t) return x >= t.min;
  return x === t.equals;
}

export function metric(bench: string, m: MetricInput): Metric {
  const baseline = m.baseline ?? null;
  const ratio =
    m.value !== null && baseline !== null && baseline !== 0 && Number.isFinite(m.value) && Number.isFinite(baseline)
      ? m.value / baseline
      : null;
  const computed = check(m.target, m.value, ratio);
  const out: Metric = {
    bench,
    name: m.name,
    unit: m.unit,
    value: m.value,
    baseline,
    baselineName: m.baselineName ?? "",
    ratio,
    target: describeTarget(m.target, m.unit),
    met: m.met === undefined ? computed : m.met === null ? null : computed === null ? m.met : computed && m.met,
  };
  if (m.note) out.note = m.note;
  return out;
}

export function formatNumber(n: number | null, unit?: Unit): string {
  if (n === null || !Number.isFinite(n)) return "—";
  const abs = Math.abs(n);
  let text: string;
  if (unit === "count" || unit === "agents") text = Math.round(n).toLocaleString("en-US");
  else if (abs >= 10_000) text = Math.round(n).toLocaleString("en-US");
  else if (abs >= 100) text = n.toFixed(0);
  else if (abs >= 10) text = n.toFixed(1);
  else if (abs >= 1) text = n.toFixed(2);
  else if (abs >= 0.01) text = n.toFixed(3);
  else if (abs === 0) text = "0";
  else text = n.toPrecision(2);
  return unit ? `${text} ${unit}` : text;
}

const verdict = (m: Metric) => (m.met === null ? "" : m.met ? "met" : "NOT MET");

export function tableRows(metrics: readonly Metric[]): string[][] {
  return metrics.map((m) => [
    m.bench,
    m.name,
    formatNumber(m.value, m.unit),
    m.baseline === null ? "" : `${formatNumber(m.baseline, m.unit)}${m.baselineName ? ` (${m.baselineName})` : ""}`,
    m.ratio === null ? "" : `${m.ratio.toFixed(2)}×`,
    m.target,
    verdict(m),
  ]);
}

const HEADER = ["bench", "metric", "value", "baseline", "ratio", "target", "met"];

/** A plain-text table for the terminal. */
export function textTable(metrics: readonly Metric[]): string {
  const rows = [HEADER, ...tableRows(metrics)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const sep = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(HEADER), sep, ...rows.slice(1).map(line)].join("\n");
}

/** The same table in Markdown, for docs/performance.md. */
export function markdownTable(metrics: readonly Metric[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const rows = tableRows(metrics).map((r) => `| ${r.map(esc).join(" | ")} |`);
  return [`| ${HEADER.join(" | ")} |`, `| ${HEADER.map(() => "---").join(" | ")} |`, ...rows].join("\n");
}

export function notesList(metrics: readonly Metric[]): string[] {
  return metrics.filter((m) => m.note).map((m) => `${m.bench} / ${m.name}: ${m.note}`);
}
