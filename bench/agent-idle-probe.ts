// A quick probe of the agent's idle memory, for trying changes side by side (the footprint benchmark
// gives the figures of record). It compiles the agent variants named on the command line, enrolls
// each against one real compiled server with 50 schedules, lets them settle with a waiting Bun and
// an idle-WebSocket Bun beside them, then prints what /proc says each one holds: VmRSS, RssAnon
// (heap, stacks, malloc), RssFile (the executable's pages), and the agents' own memory report when
// the variant is built with the memory-stats entry (bench/fixtures/agent-memstats.ts).
//
// Usage: bun bench/agent-idle-probe.ts [--settle S] [--schedules N] [--rounds N] VARIANT...
//   VARIANT: NAME[:OPTION[,OPTION…]], options: stats (memory-stats entry), smol (execArgv --smol),
//   jit=N (compile.jitPolicy), depth=N (bytecodeDepth), noopt (no bytecode optimisation),
//   nobytecode, order=FILE (bytecodeOrder), env.NAME=VALUE (environment of the agent),
//   bin=PATH (an agent built elsewhere: no build), record=FILE (BUN_BYTECODE_ORDER_OUT, written at exit).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { IDLE_JIT_POLICY } from "../agent/src/jit-policy.ts";
import { hostBunTarget } from "../scripts/build-binaries.ts";
import { type AgentProc, enrollAgent, startAgent } from "./lib/agent-proc.ts";
import { BENCH, type Binaries, buildAll, ROOT } from "./lib/build.ts";
import { cleanupAll, installSignalHandlers, stopProcess, tempDir, track } from "./lib/cleanup.ts";
import { EventStream } from "./lib/events.ts";
import { MB } from "./lib/proc.ts";
import { apiClient, initDataDir, startBareWs, startFleetServer } from "./lib/servers.ts";

interface Variant {
  name: string;
  bin?: string;
  stats: boolean;
  execArgv: string[];
  jitPolicy: number;
  bytecode: boolean;
  bytecodeDepth?: number;
  noOptimize: boolean;
  order?: string;
  env: Record<string, string>;
}

function parseVariant(spec: string): Variant {
  const [name = spec, opts = ""] = spec.split(/:(.*)/s);
  const v: Variant = {
    name,
    stats: false,
    execArgv: [],
    jitPolicy: IDLE_JIT_POLICY,
    bytecode: true,
    noOptimize: false,
    env: {},
  };
  for (const o of opts.split(",").filter(Boolean)) {
    const [k = o, val = ""] = o.split(/=(.*)/s);
    if (k === "stats") v.stats = true;
    else if (k === "smol") v.execArgv.push("--smol");
    else if (k === "jit") v.jitPolicy = Number(val);
    else if (k === "depth") v.bytecodeDepth = Number(val);
    else if (k === "noopt") v.noOptimize = true;
    else if (k === "nobytecode") v.bytecode = false;
    else if (k === "order") v.order = val;
    else if (k === "bin") v.bin = val;
    else if (k === "record") v.env.BUN_BYTECODE_ORDER_OUT = val;
    else if (k.startsWith("env.")) v.env[k.slice(4)] = val;
    else throw new Error(`unknown variant option ${o}`);
  }
  return v;
}

async function buildVariant(v: Variant, outDir: string): Promise<string> {
  if (v.bin) return v.bin;
  const outfile = join(outDir, `agent-${v.name}`);
  const entry = v.stats ? join(BENCH, "fixtures", "agent-memstats.ts") : join(ROOT, "agent", "src", "main.ts");
  const result = await Bun.build({
    entrypoints: [entry],
    compile: {
      target: hostBunTarget(),
      outfile,
      jitPolicy: v.jitPolicy,
      ...(v.execArgv.length ? { execArgv: v.execArgv } : {}),
      ...(v.order ? { bytecodeOrder: v.order } : {}),
    },
    minify: true,
    bytecode: v.bytecode,
    ...(v.bytecodeDepth !== undefined ? { bytecodeDepth: v.bytecodeDepth } : {}),
    ...(v.noOptimize ? { optimize: { bytecode: false } } : {}),
    format: "esm",
    define: { RF_BUILD_VERSION: JSON.stringify("0.0.0+probe") },
  } as Parameters<typeof Bun.build>[0]);
  if (!result.success) throw new Error(`build of ${v.name} failed:\n${result.logs.map(String).join("\n")}`);
  return outfile;
}

/** The mappings holding at least 256 kB resident, from /proc/PID/smaps: what the RSS is made of. */
function smapsSummary(pid: number): string {
  const lines: string[] = [];
  let head = "";
  let rss = 0;
  let anon = 0;
  const flush = () => {
    if (head && rss >= 256) {
      const [range = "", perms = "", offset = "", , , ...path] = head.split(/\s+/);
      const [lo = "0", hi = "0"] = range.split("-");
      const size = (Number.parseInt(hi, 16) - Number.parseInt(lo, 16)) / 1024;
      lines.push(
        `${perms} off ${offset} size ${String(size).padStart(7)} kB rss ${String(rss).padStart(6)} kB anon ${String(anon).padStart(6)} kB ${path.join(" ") || "[anon]"}`,
      );
    }
    rss = 0;
    anon = 0;
  };
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      flush();
      head = line;
    } else if (line.startsWith("Rss:")) rss = Number(line.split(/\s+/)[1]);
    else if (line.startsWith("Anonymous:")) anon = Number(line.split(/\s+/)[1]);
  }
  flush();
  return lines.join("\n");
}

/** The memory fields of /proc/PID/status, in bytes. */
function status(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  for (const key of ["VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"]) {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
    out[key] = m ? Number(m[1]) * 1024 : Number.NaN;
  }
  return out;
}

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: {
    settle: { type: "string", default: "45" },
    schedules: { type: "string", default: "50" },
    rounds: { type: "string", default: "1" },
    smaps: { type: "boolean", default: false },
    hold: { type: "string", default: "0" },
  },
  allowPositionals: true,
});
installSignalHandlers();
const variants = (positionals.length ? positionals : ["agent"]).map(parseVariant);
const work = tempDir("agent-probe");
try {
  const binDir = join(work, "bin");
  const bins: Binaries = await buildAll(binDir, (m) => console.error(m));
  const agentBins = new Map<string, string>();
  for (const v of variants) agentBins.set(v.name, await buildVariant(v, binDir));
  const dataDir = join(work, "server");
  const { token } = await initDataDir(bins, dataDir);
  const server = await startFleetServer(bins, dataDir);
  const wsServer = await startBareWs(bins);
  const api = apiClient(server.url, token);
  const events = await EventStream.open(server.url, token);
  const rows: { name: string; round: number; st: Record<string, number>; stats?: string; smaps?: string }[] = [];
  try {
    for (let round = 1; round <= Number(values.rounds); round++) {
      const agents: { v: Variant; a: AgentProc; statsFile: string }[] = [];
      const wait = track(Bun.spawn([bins.wait], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }));
      const wsIdle = track(
        Bun.spawn([bins.wsIdle, `${wsServer.url.replace(/^http/, "ws")}/api/v1/agent/ws`], {
          stdin: "ignore",
          stdout: "ignore",
          stderr: "ignore",
        }),
      );
      for (const v of variants) {
        const stateDir = join(work, `state-${v.name}-${round}`);
        const hostId = await enrollAgent({ ...bins, agent: agentBins.get(v.name) ?? "" }, server.url, api, stateDir);
        await api(`/api/v1/hosts/${hostId}/config`, "PUT", { repo_url: join(work, "repo"), repo_password: "probe-pw" });
        const hour = (new Date().getHours() + 12) % 24;
        for (let i = 0; i < Number(values.schedules); i++) {
          await api(`/api/v1/hosts/${hostId}/schedules`, "POST", {
            kind: "backup",
            cron_expr: `${i % 60} ${hour} * * *`,
            paths: [`/srv/data-${i}`],
            excludes: ["*.tmp"],
            tags: ["nightly"],
          });
        }
        const statsFile = join(work, `stats-${v.name}-${round}.json`);
        const a = await startAgent({ ...bins, agent: agentBins.get(v.name) ?? "" }, stateDir, hostId, events, {
          ...v.env,
          RF_PROBE_STATS: statsFile,
        });
        agents.push({ v, a, statsFile });
      }
      await Bun.sleep(Number(values.settle) * 1000);
      const sm = (pid: number) => (values.smaps ? { smaps: smapsSummary(pid) } : {});
      rows.push({ name: "waiting Bun", round, st: status(wait.pid), ...sm(wait.pid) });
      rows.push({ name: "idle-WebSocket Bun", round, st: status(wsIdle.pid), ...sm(wsIdle.pid) });
      for (const { v, a, statsFile } of agents) {
        const st = status(a.pid);
        const maps = sm(a.pid);
        let stats: string | undefined;
        if (v.stats) {
          process.kill(a.pid, "SIGUSR2");
          await Bun.sleep(500);
          try {
            stats = readFileSync(statsFile, "utf8");
          } catch {
            stats = "(no stats file)";
          }
        }
        rows.push({ name: v.name, round, st, ...maps, ...(stats ? { stats } : {}) });
      }
      if (Number(values.hold) > 0) {
        // Time to look at the processes from outside (pids on stderr), then a second reading.
        console.error(
          `pids: wait ${wait.pid} ws ${wsIdle.pid} ${agents.map((x) => `${x.v.name} ${x.a.pid}`).join(" ")}`,
        );
        await Bun.sleep(Number(values.hold) * 1000);
        rows.push({ name: "waiting Bun (after hold)", round, st: status(wait.pid) });
        for (const { v, a } of agents) rows.push({ name: `${v.name} (after hold)`, round, st: status(a.pid) });
      }
      for (const { a } of agents) await a.stop();
      await stopProcess(wait);
      await stopProcess(wsIdle);
    }
  } finally {
    events.close();
    await wsServer.stop();
    await server.stop();
  }
  const f = (n: number | undefined) => ((n ?? Number.NaN) / MB).toFixed(1).padStart(6);
  console.log(`${"variant".padEnd(28)} round  VmRSS RssAnon RssFile  Shmem  VmHWM (MB)`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(28)} ${String(r.round).padStart(5)} ${f(r.st.VmRSS)} ${f(r.st.RssAnon)} ${f(r.st.RssFile)} ${f(r.st.RssShmem)} ${f(r.st.VmHWM)}`,
    );
    if (r.stats) console.log(`  ${r.stats.trim().replaceAll("\n", "\n  ")}`);
    if (r.smaps) console.log(`  ${r.smaps.replaceAll("\n", "\n  ")}`);
  }
} finally {
  await cleanupAll();
}
