// What every benchmark gets: sizes (quick or full), the compiled binaries, a logger, and the
// result collectors (table rows and the scale series for the plot).
import type { Binaries } from "./build.ts";
import { type Metric, type MetricInput, metric } from "./report.ts";

/** One point of the scale plot: figures at a number of connected agents. */
export interface ScalePoint {
  agents: number;
  serverRssMb?: number;
  bareRssMb?: number;
  fireP99Ms?: number;
  echoP99Ms?: number;
}

export interface BenchContext {
  quick: boolean;
  bins: Binaries;
  log(msg: string): void;
  add(bench: string, m: MetricInput): Metric;
  addScale(p: ScalePoint): void;
}

export interface Benchmark {
  /** For --only. */
  name: string;
  /** The row label prefix, e.g. "1 supervision". */
  title: string;
  run(ctx: BenchContext): Promise<void>;
}

export function createContext(quick: boolean, bins: Binaries, log: (msg: string) => void) {
  const metrics: Metric[] = [];
  const scale: ScalePoint[] = [];
  const ctx: BenchContext = {
    quick,
    bins,
    log,
    add(bench, m) {
      const row = metric(bench, m);
      metrics.push(row);
      const shown = row.value === null ? "—" : row.value.toPrecision(4);
      log(
        `  ${row.name}: ${shown} ${row.unit}${row.baseline !== null ? ` (baseline ${row.baseline.toPrecision(4)})` : ""}`,
      );
      return row;
    },
    addScale(p) {
      const at = scale.find((s) => s.agents === p.agents);
      if (at) Object.assign(at, p);
      else scale.push({ ...p });
      scale.sort((a, b) => a.agents - b.agents);
    },
  };
  return { ctx, metrics, scale };
}
