// 9. Restore confidence (issue 16). One compiled agent backs up the data set (500 MiB; quick:
// 24 MiB) through the server. Then:
// - download: one large file of the snapshot through GET …/download (restic dump → agent →
//   WebSocket with credit → server → HTTP), streamed to a file, against bare `restic dump` of
//   the same file into a file, same run, alternating (ABBA); throughput, and the agent's and the
//   server's peak RSS during the downloads against their idle RSS just before;
// - drill: a drill job of 20 files (run-now → job finished), against a bare
//   `restic restore --verify --include …` of the same 20 files (taken from the drill's report).
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { escapeGlob } from "../../agent/src/restic/validate.ts";
import type { DrillReport } from "../../protocol/index.ts";
import { type AgentProc, enrollAgent, RESTIC, startAgent } from "../lib/agent-proc.ts";
import { removeDir, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { EventStream } from "../lib/events.ts";
import { MB, RssSampler } from "../lib/proc.ts";
import { makeDataSet, resticEnv, resticInit } from "../lib/restic-data.ts";
import { type Api, apiClient, initDataDir, type Served, startFleetServer } from "../lib/servers.ts";
import { median } from "../lib/stats.ts";

const BENCH = "9 restore";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const REPO_PASSWORD = "bench-repo-password";

interface Job {
  id: string;
  status: string;
  error: string | null;
  stats?: { drill?: DrillReport } | null;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Runs a job through the API to its end; the finished job. */
async function runJob(api: Api, events: EventStream, hostId: string, body: unknown): Promise<{ job: Job; ms: number }> {
  const from = events.seen.length;
  const t0 = performance.now();
  const res = await api<Job>(`/api/v1/hosts/${hostId}/jobs`, "POST", body);
  if (res.status !== 201) throw new Error(`run-now: ${res.status} ${JSON.stringify(res.body)}`);
  await events.until(
    (e) => e.type === "job.updated" && e.job_id === res.body.id && TERMINAL.has(e.status ?? ""),
    from,
    600_000,
  );
  const ms = performance.now() - t0;
  const job = await api<Job>(`/api/v1/jobs/${res.body.id}`);
  return { job: job.body, ms };
}

export const restore: Benchmark = {
  name: "restore",
  title: BENCH,
  async run(ctx: BenchContext) {
    const sizes = ctx.quick
      ? { largeFiles: 2, largeMiB: 8, smallFiles: 500, pairs: 1 }
      : { largeFiles: 6, largeMiB: 80, smallFiles: 20_000, pairs: 5 };
    const work = tempDir("restore");
    const data = makeDataSet(join(work, "data"), sizes.largeFiles, sizes.largeMiB, sizes.smallFiles);
    const dataMiB = (data.bytes / MB).toFixed(0);
    ctx.log(`data set: ${dataMiB} MiB in ${data.files.toLocaleString("en-US")} files`);
    const passwordFile = join(work, "password");
    writeFileSync(passwordFile, REPO_PASSWORD, { mode: 0o600 });
    const repo = join(work, "repo");
    const cache = join(work, "cache");
    resticInit(repo, passwordFile, cache);

    const dataDir = join(work, "server");
    const { token } = await initDataDir(ctx.bins, dataDir);
    let server: Served | null = null;
    let agent: AgentProc | null = null;
    let events: EventStream | null = null;
    try {
      server = await startFleetServer(ctx.bins, dataDir);
      const api = apiClient(server.url, token);
      events = await EventStream.open(server.url, token);
      const hostId = await enrollAgent(ctx.bins, server.url, api, join(work, "agent"));
      agent = await startAgent(ctx.bins, join(work, "agent"), hostId, events);
      const cfg = await api(`/api/v1/hosts/${hostId}/config`, "PUT", { repo_url: repo, repo_password: REPO_PASSWORD });
      if (cfg.status !== 200) throw new Error(`PUT config: ${cfg.status} ${JSON.stringify(cfg.body)}`);
      const host = await api<{ restic_host: string }>(`/api/v1/hosts/${hostId}`);
      const resticHost = host.body.restic_host;

      const from = events.seen.length;
      const backup = await runJob(api, events, hostId, { kind: "backup", spec: { paths: [data.dir] } });
      if (backup.job.status !== "succeeded") throw new Error(`backup ${backup.job.status}: ${backup.job.error}`);
      await events.until((e) => e.type === "snapshots.updated" && e.host_id === hostId, from, 120_000);
      const snaps = await api<{ items: Array<{ id: string }> }>(`/api/v1/hosts/${hostId}/snapshots`);
      const snapshot = snaps.body.items[0]?.id;
      if (!snapshot) throw new Error("the backup made no snapshot");

      // --- download ---
      const file = join(data.dir, "large-0.bin");
      const fileBytes = sizes.largeMiB * MB;
      const want = await sha256(file);
      const env = resticEnv(repo, passwordFile, cache);
      const out = mkdtempSync(join(work, "out-"));
      const bare = async (): Promise<number> => {
        const target = join(out, "bare.bin");
        const t0 = performance.now();
        const proc = Bun.spawn([RESTIC, "dump", `--host=${resticHost}`, snapshot, file], {
          env,
          stdin: "ignore",
          stdout: Bun.file(target),
          stderr: "pipe",
        });
        const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
        const ms = performance.now() - t0;
        if (code !== 0) throw new Error(`bare restic dump exited ${code}: ${stderr}`);
        return ms;
      };
      const viaFleet = async (): Promise<number> => {
        const target = join(out, "fleet.bin");
        const url = `${server?.url}/api/v1/hosts/${hostId}/snapshots/${snapshot}/download?path=${encodeURIComponent(file)}`;
        const t0 = performance.now();
        const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        if (res.status !== 200) throw new Error(`download: ${res.status} ${await res.text()}`);
        await Bun.write(target, res);
        const ms = performance.now() - t0;
        if ((await sha256(target)) !== want) throw new Error("the downloaded file differs from the original");
        return ms;
      };
      await bare(); // warm the page cache and restic's cache, untimed
      const idleServer = new RssSampler(server.pid).stop().last;
      const idleAgent = new RssSampler(agent.pid).stop().last;
      const serverRss = new RssSampler(server.pid, 50);
      const agentRss = new RssSampler(agent.pid, 50);
      const bareMs: number[] = [];
      const fleetMs: number[] = [];
      for (let pair = 0; pair < sizes.pairs; pair++) {
        for (const side of pair % 2 === 0 ? ["bare", "fleet"] : ["fleet", "bare"]) {
          if (side === "bare") bareMs.push(await bare());
          else fleetMs.push(await viaFleet());
        }
        ctx.log(
          `pair ${pair + 1}/${sizes.pairs}: bare ${bareMs.at(-1)?.toFixed(0)} ms, fleet ${fleetMs.at(-1)?.toFixed(0)} ms`,
        );
      }
      const peakServer = serverRss.stop().peak;
      const peakAgent = agentRss.stop().peak;
      const mbps = (ms: number) => fileBytes / MB / (ms / 1000);
      const ratios = fleetMs.map((ms, i) => (bareMs[i] as number) / ms);
      ctx.add(BENCH, {
        name: `download throughput through agent and server (${sizes.largeMiB} MiB file; median of ${sizes.pairs})`,
        unit: "MB/s",
        value: mbps(median(fleetMs)),
        baseline: mbps(median(bareMs)),
        baselineName: "bare restic dump to a file",
        target: { on: "ratio", min: 0.8 },
        note: `per-pair throughput ratios ${ratios.map((r) => r.toFixed(3)).join(", ")}; sha256 equal every time`,
      });
      ctx.add(BENCH, {
        name: "server RSS during the downloads (peak)",
        unit: "MB",
        value: peakServer / MB,
        baseline: idleServer / MB,
        baselineName: "the server's RSS idle just before",
        target: { on: "value", max: Math.round(((idleServer + 32 * MB) / MB) * 10) / 10 },
        note: `+${((peakServer - idleServer) / MB).toFixed(1)} MB over idle; target idle + 32 MB`,
      });
      ctx.add(BENCH, {
        name: "agent RSS during the downloads (peak)",
        unit: "MB",
        value: peakAgent / MB,
        baseline: idleAgent / MB,
        baselineName: "the agent's RSS idle just before",
        target: { on: "value", max: Math.round(((idleAgent + 32 * MB) / MB) * 10) / 10 },
        note: `+${((peakAgent - idleAgent) / MB).toFixed(1)} MB over idle (restic dump is a child, not counted); target idle + 32 MB`,
      });

      // --- drill ---
      const drill = await runJob(api, events, hostId, { kind: "drill", spec: { sample_files: 20 } });
      const report = drill.job.stats?.drill;
      if (drill.job.status !== "succeeded" || report?.result !== "passed") {
        throw new Error(`the drill did not pass: ${drill.job.status} ${drill.job.error} ${JSON.stringify(report)}`);
      }
      const files = report.files ?? [];
      const restoreTarget = mkdtempSync(join(work, "bare-restore-"));
      const t0 = performance.now();
      const r = Bun.spawn(
        [
          RESTIC,
          "restore",
          snapshot,
          `--target=${restoreTarget}`,
          "--verify",
          ...files.map((f) => `--include=${escapeGlob(f.path)}`),
        ],
        { env, stdin: "ignore", stdout: "ignore", stderr: "pipe" },
      );
      const [code, stderr] = await Promise.all([r.exited, new Response(r.stderr).text()]);
      const bareRestoreMs = performance.now() - t0;
      if (code !== 0) throw new Error(`bare restic restore --verify exited ${code}: ${stderr}`);
      removeDir(restoreTarget);
      ctx.add(BENCH, {
        name: `drill of ${report.files_requested} files on the ${dataMiB} MiB data set, run-now → finished`,
        unit: "s",
        value: drill.ms / 1000,
        baseline: bareRestoreMs / 1000,
        baselineName: "bare restic restore --verify of the same files",
        note:
          `the drill restored and verified ${report.files_verified} files, ${(report.bytes / MB).toFixed(1)} MiB; ` +
          "it also lists the snapshot to sample, hashes the files and compares the live ones",
      });
      ctx.add(BENCH, {
        name: "drill: bytes restored",
        unit: "MB",
        value: report.bytes / MB,
        baselineName: "",
        note: `of ${dataMiB} MiB in the snapshot, under the drill's cap (max_bytes, default 100M)`,
      });
    } finally {
      await agent?.stop();
      events?.close();
      await server?.stop();
      removeDir(work);
    }
  },
};
