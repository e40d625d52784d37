// 1. Supervision overhead: a backup run through server → agent → restic, until the API shows
// the job finished, against the bare `restic backup --json` of the same data. Fresh local
// repository for every run; the two alternate (ABBA order), median of the pairs.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AgentProc, enrollAgent, RESTIC, startAgent } from "../lib/agent-proc.ts";
import { removeDir, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { EventStream } from "../lib/events.ts";
import { type DataSet, freshRepositories, makeDataSet, resticEnv } from "../lib/restic-data.ts";
import { apiClient, initDataDir, type Served, startFleetServer } from "../lib/servers.ts";
import { median } from "../lib/stats.ts";

const BENCH = "1 supervision";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const REPO_PASSWORD = "bench-repo-password";

/** The baseline: bare `restic backup --json`, stdout read to the end as the agent does. */
async function bareBackup(data: DataSet, repo: string, passwordFile: string, cacheDir: string): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn([RESTIC, "backup", "--json", "--", data.dir], {
    env: resticEnv(repo, passwordFile, cacheDir),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [, stderr, code] = await Promise.all([
    new Response(proc.stdout).arrayBuffer(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`bare restic backup exited ${code}: ${stderr}`);
  return ms;
}

interface AgentRun {
  ms: number;
  /** Until the agent's reports after the backup are in (repo_stats.updated): the agent is idle again. */
  settledMs: number | null;
  /** From the job's log: the restic backup step, and the reports that follow it, in ms. */
  stepMs: number | null;
  reportsMs: number | null;
}

interface Job {
  id: string;
  status: string;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

async function agentBackup(
  api: ReturnType<typeof apiClient>,
  events: EventStream,
  hostId: string,
  data: DataSet,
  repo: string,
): Promise<AgentRun> {
  const cfg = await api(`/api/v1/hosts/${hostId}/config`, "PUT", { repo_url: repo, repo_password: REPO_PASSWORD });
  if (cfg.status !== 200) throw new Error(`PUT config: ${cfg.status} ${JSON.stringify(cfg.body)}`);
  const from = events.seen.length;
  const t0 = performance.now();
  const res = await api<Job>(`/api/v1/hosts/${hostId}/jobs`, "POST", { kind: "backup", spec: { paths: [data.dir] } });
  if (res.status !== 201) throw new Error(`run-now: ${res.status} ${JSON.stringify(res.body)}`);
  const jobId = res.body.id;
  await events.until(
    (e) => e.type === "job.updated" && e.job_id === jobId && TERMINAL.has(e.status ?? ""),
    from,
    600_000,
  );
  const ms = performance.now() - t0;
  // The next run must not queue behind this job's reports: wait for them (repo.stats is the last).
  const settled = await events
    .until((e) => e.type === "repo_stats.updated" && e.host_id === hostId, from, 60_000)
    .then(
      () => performance.now() - t0,
      () => null,
    );
  const job = await api<Job>(`/api/v1/jobs/${jobId}`);
  if (job.body.status !== "succeeded") throw new Error(`the agent's backup ${job.body.status}: ${job.body.error}`);
  const logs = await api<{ items: Array<{ ts: string; stream: string; payload: string }> }>(
    `/api/v1/jobs/${jobId}/logs?limit=5000`,
  );
  const events_ = logs.body.items.filter((l) => l.stream === "event");
  const start = events_.find((l) => /^\$ \S*restic backup/.test(l.payload));
  const end = events_.find((l) => l.payload.startsWith("restic backup exited"));
  const stepMs = start && end ? Date.parse(end.ts) - Date.parse(start.ts) : null;
  const reportsMs = end && job.body.finished_at ? Date.parse(job.body.finished_at) - Date.parse(end.ts) : null;
  return { ms, settledMs: settled, stepMs, reportsMs };
}

export const supervision: Benchmark = {
  name: "supervision",
  title: BENCH,
  async run(ctx: BenchContext) {
    const sizes = ctx.quick
      ? { largeFiles: 2, largeMiB: 8, smallFiles: 500, pairs: 1 }
      : { largeFiles: 6, largeMiB: 80, smallFiles: 20_000, pairs: 7 };
    const work = tempDir("supervision");
    const data = makeDataSet(join(work, "data"), sizes.largeFiles, sizes.largeMiB, sizes.smallFiles);
    ctx.log(`data set: ${(data.bytes / 1024 / 1024).toFixed(0)} MiB in ${data.files.toLocaleString("en-US")} files`);
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
      // Each run backs up to a fresh repository: the host's policy must allow any, not pin the
      // first one it is given (the default, docs/agent.md "Host policy").
      const policy = join(work, "policy.json");
      writeFileSync(
        policy,
        JSON.stringify({ remote_hooks: false, restore_targets: null, backup_paths: null, repositories: null }),
      );
      agent = await startAgent(ctx.bins, stateDir, hostId, events, { RF_POLICY: policy });

      const { fresh, warmUp } = freshRepositories(work, passwordFile);
      // Warm the page cache and restic itself once, untimed.
      await warmUp((repo, cache) => bareBackup(data, repo, passwordFile, cache));
      const bare: number[] = [];
      const viaAgent: AgentRun[] = [];
      for (let pair = 0; pair < sizes.pairs; pair++) {
        // ABBA: the order alternates so a drift in the machine's speed hits both sides alike.
        const order = pair % 2 === 0 ? ["bare", "agent"] : ["agent", "bare"];
        for (const side of order) {
          const { repo, cache } = fresh();
          if (side === "bare") bare.push(await bareBackup(data, repo, passwordFile, cache));
          else viaAgent.push(await agentBackup(api, events, hostId, data, repo));
          removeDir(repo);
          removeDir(cache);
        }
        const a = viaAgent.at(-1) as AgentRun;
        ctx.log(
          `pair ${pair + 1}/${sizes.pairs}: bare ${(bare.at(-1) as number).toFixed(0)} ms, agent ${a.ms.toFixed(0)} ms`,
        );
      }
      const pairRatios = viaAgent.map((a, i) => a.ms / (bare[i] as number));
      const size = `${(data.bytes / 1024 / 1024).toFixed(0)} MiB, ${data.files.toLocaleString("en-US")} files`;
      ctx.add(BENCH, {
        name: `backup wall time via server → agent (${size}; median of ${sizes.pairs})`,
        unit: "s",
        value: median(viaAgent.map((a) => a.ms)) / 1000,
        baseline: median(bare) / 1000,
        baselineName: "bare restic backup --json",
        target: { on: "ratio", max: 1.03 },
        note: `median of per-pair ratios ${median(pairRatios).toFixed(3)} (pairs: ${pairRatios.map((r) => r.toFixed(3)).join(", ")})`,
      });
      const steps = viaAgent.map((a) => a.stepMs).filter((x): x is number => x !== null);
      const reports = viaAgent.map((a) => a.reportsMs).filter((x): x is number => x !== null);
      ctx.add(BENCH, {
        name: "  of which: the agent's restic backup step",
        unit: "s",
        value: steps.length ? median(steps) / 1000 : null,
        baseline: median(bare) / 1000,
        baselineName: "bare restic",
      });
      ctx.add(BENCH, {
        name: "  of which: restic exit → job.finished",
        unit: "s",
        value: reports.length ? median(reports) / 1000 : null,
        note: "the agent sends job.finished when restic exits; its 4 read-only report commands (snapshots, stats ×2, list locks) follow",
      });
      const settled = viaAgent.map((a) => a.settledMs).filter((x): x is number => x !== null);
      ctx.add(BENCH, {
        name: "run-now → the agent's reports are in (repo.stats)",
        unit: "s",
        value: settled.length ? median(settled) / 1000 : null,
        baseline: median(bare) / 1000,
        baselineName: "bare restic",
      });
    } finally {
      events?.close();
      await agent?.stop();
      await server?.stop();
      removeDir(work);
    }
  },
};
