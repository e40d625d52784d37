// The benchmark suite: `bun run bench [--quick] [--only NAME[,NAME]] [--docs] [--keep]`.
// Every figure is measured next to a bare baseline in the same run, and compared as a ratio:
// the machines are shared and noisy. Benchmarks never fail on a number; the exit code is
// non-zero only when the suite itself broke.
import { Database } from "bun:sqlite";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { alerts } from "./benchmarks/alerts.ts";
import { api } from "./benchmarks/api.ts";
import { connections } from "./benchmarks/connections.ts";
import { dispatch } from "./benchmarks/dispatch.ts";
import { footprint } from "./benchmarks/footprint.ts";
import { jitter } from "./benchmarks/jitter.ts";
import { lists } from "./benchmarks/lists.ts";
import { logs } from "./benchmarks/logs.ts";
import { policies } from "./benchmarks/policies.ts";
import { restore } from "./benchmarks/restore.ts";
import { stdin } from "./benchmarks/stdin.ts";
import { supervision } from "./benchmarks/supervision.ts";
import { RESTIC } from "./lib/agent-proc.ts";
import { BENCH, buildAll, ROOT } from "./lib/build.ts";
import { cleanupAll, installSignalHandlers, keepTempDirs, removeDir, tempDir } from "./lib/cleanup.ts";
import { type Benchmark, createContext } from "./lib/context.ts";
import { type Metric, markdownTable, notesList, textTable } from "./lib/report.ts";
import { scaleSvg } from "./lib/svg.ts";

const BENCHMARKS: Benchmark[] = [
  supervision,
  footprint,
  connections,
  dispatch,
  logs,
  api,
  policies,
  alerts,
  restore,
  jitter,
  stdin,
  lists,
];

const USAGE = `usage: bun bench/run.ts [--quick] [--only NAME[,NAME…]] [--docs] [--keep] [--out FILE]
  --quick   reduced sizes (CI proves the suite still works; under 2 minutes)
  --only    run some benchmarks: ${BENCHMARKS.map((b) => b.name).join(", ")}
  --docs    write the table and the plot's path into docs/performance.md
  --keep    keep temp dirs (data dirs, logs) for a post-mortem
  --out     the JSON results file (default bench/results/<date>[-quick|-NAME].json)`;

interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  bun: string;
  restic: string;
  /** Commits per second of one-row transactions with synchronous=FULL, in the temp dir. */
  fsyncCommitsPerSec: number;
}

/** How fast this disk makes a commit durable: the server's write path depends on it. */
function fsyncProbe(): number {
  const dir = tempDir("fsync");
  try {
    const db = new Database(join(dir, "probe.db"), { create: true });
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("CREATE TABLE t (a INTEGER)");
    const q = db.query("INSERT INTO t VALUES (?)");
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 1_000) q.run(n++);
    const rate = (n * 1000) / (performance.now() - t0);
    db.close();
    return rate;
  } finally {
    removeDir(dir);
  }
}

function machine(): Machine {
  const restic = Bun.spawnSync([RESTIC, "version"]).stdout.toString().trim();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    bun: Bun.version,
    restic,
    fsyncCommitsPerSec: Math.round(fsyncProbe()),
  };
}

function machineLine(m: Machine): string {
  return `${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Bun ${m.bun}, ${m.restic}; disk: ${m.fsyncCommitsPerSec} durable SQLite commits/s (WAL, synchronous=FULL)`;
}

const DOCS = join(ROOT, "docs", "performance.md");
const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

/** Replaces the generated block of docs/performance.md (between the markers) with this run. */
function writeDocs(metrics: Metric[], m: Machine, date: string, svgPath: string | null, seconds: number) {
  const text = readFileSync(DOCS, "utf8");
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOCS} has no ${START} … ${END} block`);
  const notes = notesList(metrics);
  const block = [
    START,
    "",
    `Run of ${date} (\`bun run bench\`, ${Math.round(seconds / 60)} min). Machine: ${machineLine(m)}.`,
    "",
    markdownTable(metrics),
    "",
    ...(notes.length ? ["Notes from the run:", "", ...notes.map((n) => `- ${n}`), ""] : []),
    ...(svgPath ? [`![Server RSS and dispatch p99 against connected agents](${svgPath})`, ""] : []),
    END,
  ].join("\n");
  writeFileSync(DOCS, text.slice(0, a) + block + text.slice(b + END.length));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: "boolean" },
      only: { type: "string" },
      docs: { type: "boolean" },
      keep: { type: "boolean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const names = values.only ? values.only.split(",").map((s) => s.trim()) : null;
  const unknown = names?.filter((n) => !BENCHMARKS.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(", ")}\n${USAGE}`);
    return 2;
  }
  const selected = names ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  const quick = !!values.quick;
  keepTempDirs(!!values.keep);
  installSignalHandlers();

  const started = performance.now();
  const log = (msg: string) => {
    const t = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
    console.error(`[${t}s] ${msg}`);
  };
  const m = machine();
  log(`machine: ${machineLine(m)}`);
  const bins = await buildAll(join(BENCH, ".build"), log);
  const { ctx, metrics, scale } = createContext(quick, bins, log);

  let broken = 0;
  for (const b of selected) {
    log(`── ${b.title}${quick ? " (quick)" : ""}`);
    const t0 = performance.now();
    try {
      await b.run(ctx);
    } catch (err) {
      broken += 1;
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`${b.title} broke: ${message}`);
      ctx.add(b.title, {
        name: "the benchmark itself failed",
        unit: "count",
        value: null,
        met: false,
        note: message.split("\n")[0] ?? "",
      });
    }
    log(`── ${b.title} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }

  const seconds = (performance.now() - started) / 1000;
  const date = new Date().toISOString().slice(0, 10);
  const suffix = quick ? "-quick" : names ? `-${names.join("-")}` : "";
  const resultsDir = join(BENCH, "results");
  mkdirSync(resultsDir, { recursive: true });
  let svgRel: string | null = null;
  if (scale.length > 0) {
    const svgFile = join(resultsDir, `${date}${suffix}-scale.svg`);
    writeFileSync(
      svgFile,
      scaleSvg(scale, `${date}${quick ? " (quick sizes)" : ""}; ${m.cores} cores, ${m.memoryGiB} GiB`),
    );
    svgRel = relative(join(ROOT, "docs"), svgFile);
    log(`plot: ${relative(ROOT, svgFile)}`);
  }
  const out = values.out ?? join(resultsDir, `${date}${suffix}.json`);
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), quick, only: names, seconds: Math.round(seconds), machine: m, metrics, scale }, null, 2)}\n`,
  );
  log(`results: ${relative(ROOT, out)}`);
  if (values.docs) {
    writeDocs(metrics, m, date, svgRel, seconds);
    log(`docs: ${relative(ROOT, DOCS)}`);
  }

  console.log(
    `\nRestic Fleet benchmarks${quick ? " (--quick: reduced sizes)" : ""}, ${date}, ${Math.round(seconds)} s`,
  );
  console.log(`machine: ${machineLine(m)}\n`);
  console.log(textTable(metrics));
  const notes = notesList(metrics);
  if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `- ${n}`).join("\n")}`);
  const missed = metrics.filter((x) => x.met === false).length;
  console.log(
    `\n${metrics.filter((x) => x.met === true).length} targets met, ${missed} not met (benchmarks never fail on a number)`,
  );
  return broken > 0 ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanupAll();
}
process.exit(code);
