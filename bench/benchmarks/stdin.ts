// 10. Stdin backups (issue 18): a backup of a command's output through server → agent → restic
// (`cat` of a file of random bytes as the command, so the stream is the same every time), against
// bare `cat FILE | restic backup --stdin` of the same stream in a shell pipe. On restic < 0.17
// (Debian's 0.14) the agent itself pipes the command into `restic backup --stdin`; on newer
// restic (RF_BENCH_RESTIC) restic runs the command. Fresh repository for every run; ABBA order.

import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type AgentProc, enrollAgent, RESTIC, startAgent } from "../lib/agent-proc.ts";
import { removeDir, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { EventStream } from "../lib/events.ts";
import { freshRepositories, resticEnv } from "../lib/restic-data.ts";
import { apiClient, initDataDir, type Served, startFleetServer } from "../lib/servers.ts";
import { median } from "../lib/stats.ts";

const BENCH = "11 stdin";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const REPO_PASSWORD = "bench-repo-password";
const MIB = 1024 * 1024;

/** The baseline: the same stream into bare restic through a kernel pipe, no JavaScript between. */
async function bareBackup(file: string, repo: string, passwordFile: string, cacheDir: string): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(
    [
      "/bin/sh",
      "-c",
      'cat "$1" | "$2" backup --json --host=bench --stdin --stdin-filename=stream.bin',
      "sh",
      file,
      RESTIC,
    ],
    { env: resticEnv(repo, passwordFile, cacheDir), stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const [, stderr, code] = await Promise.all([
    new Response(proc.stdout).arrayBuffer(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`bare restic backup --stdin exited ${code}: ${stderr}`);
  return ms;
}

async function agentBackup(
  api: ReturnType<typeof apiClient>,
  events: EventStream,
  hostId: string,
  file: string,
  repo: string,
): Promise<{ ms: number; stepMs: number | null }> {
  const cfg = await api(`/api/v1/hosts/${hostId}/config`, "PUT", { repo_url: repo, repo_password: REPO_PASSWORD });
  if (cfg.status !== 200) throw new Error(`PUT config: ${cfg.status} ${JSON.stringify(cfg.body)}`);
  const from = events.seen.length;
  const t0 = performance.now();
  const res = await api<{ id: string }>(`/api/v1/hosts/${hostId}/jobs`, "POST", {
    kind: "backup",
    spec: { stdin_command: ["cat", file], stdin_filename: "stream.bin" },
  });
  if (res.status !== 201) throw new Error(`run-now: ${res.status} ${JSON.stringify(res.body)}`);
  const jobId = res.body.id;
  await events.until(
    (e) => e.type === "job.updated" && e.job_id === jobId && TERMINAL.has(e.status ?? ""),
    from,
    600_000,
  );
  const ms = performance.now() - t0;
  // The next run must not queue behind this job's reports.
  await events.until((e) => e.type === "repo_stats.updated" && e.host_id === hostId, from, 60_000).catch(() => {});
  const job = await api<{ status: string; error: string | null }>(`/api/v1/jobs/${jobId}`);
  if (job.body.status !== "succeeded") {
    throw new Error(`the agent's stdin backup ${job.body.status}: ${job.body.error}`);
  }
  // The step itself, from the job's log: the command line that started it, to restic's exit.
  const logs = await api<{ items: Array<{ ts: string; stream: string; payload: string }> }>(
    `/api/v1/jobs/${jobId}/logs?limit=5000`,
  );
  const lines = logs.body.items.filter((l) => l.stream === "event");
  const start = lines.find((l) => l.payload.startsWith("$ ") && l.payload.includes(" backup "));
  const end = lines.find((l) => l.payload.startsWith("restic backup exited"));
  return { ms, stepMs: start && end ? Date.parse(end.ts) - Date.parse(start.ts) : null };
}

/** The agent's peak resident memory so far (VmHWM), in MB. */
function peakRssMb(pid: number): number | null {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : null;
}

export const stdin: Benchmark = {
  name: "stdin",
  title: BENCH,
  async run(ctx: BenchContext) {
    const sizes = ctx.quick ? { mib: 64, pairs: 1 } : { mib: 1024, pairs: 5 };
    const work = tempDir("stdin");
    const file = join(work, "stream.bin");
    const fd = openSync(file, "w");
    for (let m = 0; m < sizes.mib; m++) writeSync(fd, randomBytes(MIB));
    closeSync(fd);
    const passwordFile = join(work, "password");
    writeFileSync(passwordFile, REPO_PASSWORD, { mode: 0o600 });
    const dataDir = join(work, "server");
    const { token } = await initDataDir(ctx.bins, dataDir);
    let server: Served | null = null;
    let agent: AgentProc | null = null;
    let events: EventStream | null = null;
    try {
      server = await startFleetServer(ctx.bins, dataDir);
      const api = apiClient(server.url, token);
      events = await EventStream.open(server.url, token);
      const stateDir = join(work, "agent");
      const hostId = await enrollAgent(ctx.bins, server.url, api, stateDir);
      // The built-in policy refuses remote commands and pins the first repository (each run has its own).
      const policy = join(work, "policy.json");
      writeFileSync(policy, JSON.stringify({ remote_hooks: true, repositories: null }));
      agent = await startAgent(ctx.bins, stateDir, hostId, events, { RF_POLICY: policy });
      const { fresh, warmUp } = freshRepositories(work, passwordFile);
      // Warm the page cache (the stream's file) and restic once, untimed.
      await warmUp((repo, cache) => bareBackup(file, repo, passwordFile, cache));
      const rssBefore = peakRssMb(agent.pid);
      const bare: number[] = [];
      const viaAgent: number[] = [];
      const steps: number[] = [];
      for (let pair = 0; pair < sizes.pairs; pair++) {
        const order = pair % 2 === 0 ? ["bare", "agent"] : ["agent", "bare"];
        for (const side of order) {
          const { repo, cache } = fresh();
          if (side === "bare") bare.push(await bareBackup(file, repo, passwordFile, cache));
          else {
            const run = await agentBackup(api, events, hostId, file, repo);
            viaAgent.push(run.ms);
            if (run.stepMs !== null) steps.push(run.stepMs);
          }
          removeDir(repo);
          removeDir(cache);
        }
        ctx.log(
          `pair ${pair + 1}/${sizes.pairs}: bare ${(bare.at(-1) as number).toFixed(0)} ms, agent ${(viaAgent.at(-1) as number).toFixed(0)} ms`,
        );
      }
      const mbps = (ms: number) => (sizes.mib * MIB) / 1e6 / (ms / 1000);
      const pairRatios = viaAgent.map((a, i) => (bare[i] as number) / a);
      const restic = Bun.spawnSync([RESTIC, "version"]).stdout.toString().split(" ")[1] ?? "?";
      ctx.add(BENCH, {
        name: `stdin backup throughput via server → agent (${sizes.mib} MiB stream, restic ${restic}; median of ${sizes.pairs})`,
        unit: "MB/s",
        value: mbps(median(viaAgent)),
        baseline: mbps(median(bare)),
        baselineName: "bare cat | restic backup --stdin",
        target: { on: "ratio", min: 0.97 },
        note: `median of per-pair ratios ${median(pairRatios).toFixed(3)} (pairs: ${pairRatios.map((r) => r.toFixed(3)).join(", ")})`,
      });
      ctx.add(BENCH, {
        name: "  of which: the agent's backup step (command and restic, from the job log)",
        unit: "MB/s",
        value: steps.length ? mbps(median(steps)) : null,
        baseline: mbps(median(bare)),
        baselineName: "bare cat | restic backup --stdin",
        note: "the rest of the wall time is run-now → command.run → the agent starting the job",
      });
      const rssAfter = peakRssMb(agent.pid);
      ctx.add(BENCH, {
        name: "  the agent's peak RSS over the stdin backups",
        unit: "MB",
        value: rssAfter,
        baseline: rssBefore,
        baselineName: "its peak before them",
        note: "bounded: the stream is pulled one chunk at a time as restic's pipe drains",
      });
    } finally {
      events?.close();
      await agent?.stop();
      await server?.stop();
      removeDir(work);
    }
  },
};
