// 5. Log ingestion. 100 simulated agents stream job.log frames of 500 lines (a window of 4
// unacked frames each, like an outbox) until every frame is acked; lines persisted per second.
// Baseline: bun:sqlite inserting the same rows into the same schema with the server's own
// settings (openDatabase: WAL, synchronous=FULL), one transaction per 500 rows, in the same run.
import { join } from "node:path";
import { openDatabase } from "../../server/src/store/db.ts";
import { removeDir, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { type SeededHost, seedHosts } from "../lib/seed.ts";
import { dbPath, initDataDir, startFleetServer } from "../lib/servers.ts";
import { SimFleet } from "../lib/sims.ts";
import { logPayload } from "../load/sim-protocol.ts";

const BENCH = "5 logs";
const LINES = 500;

/** The same rows, straight into bun:sqlite: one transaction per frame's worth of lines. */
function bareInsert(dir: string, hosts: readonly SeededHost[], frames: number): number {
  const db = openDatabase(join(dir, "bare.db"));
  const now = new Date().toISOString();
  db.transaction(() => {
    for (const h of hosts) {
      db.query("INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES (?, ?, ?, ?, ?)").run(
        h.id,
        h.id,
        h.id,
        h.token,
        now,
      );
      db.query(
        "INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at) VALUES (?, ?, 'backup', 'running', 'user', ?)",
      ).run(h.jobId as string, h.id, now);
    }
  })();
  const insert = db.query(
    "INSERT OR IGNORE INTO job_logs (job_id, seq, ts, stream, payload) VALUES ($job_id, $seq, $ts, $stream, $payload)",
  );
  const batch = db.transaction((rows: Array<Record<string, string | number>>) => {
    for (const r of rows) insert.run(r);
  });
  const t0 = performance.now();
  for (let f = 0; f < frames; f++) {
    for (const h of hosts) {
      const ts = new Date().toISOString();
      const rows = [];
      for (let l = 0; l < LINES; l++) {
        const seq = f * LINES + l + 1;
        rows.push({ job_id: h.jobId as string, seq, ts, stream: "stdout", payload: logPayload(seq) });
      }
      batch.immediate(rows);
    }
  }
  const ms = performance.now() - t0;
  db.close();
  return (hosts.length * frames * LINES * 1000) / ms;
}

export const logs: Benchmark = {
  name: "logs",
  title: BENCH,
  async run(ctx: BenchContext) {
    const q = ctx.quick;
    const n = q ? 10 : 100;
    const frames = q ? 5 : 20;
    const work = tempDir("logs");
    const dataDir = join(work, "server");
    try {
      await initDataDir(ctx.bins, dataDir);
      const hosts = seedHosts(dataDir, n, { runningJob: true });
      const before = bareInsert(join(work, "bare-1"), hosts, frames);

      const server = await startFleetServer(ctx.bins, dataDir);
      const agents = hosts.map((h) => ({
        id: h.id,
        token: h.token,
        scheduleId: h.scheduleId,
        jobId: h.jobId as string,
      }));
      const { fleet } = await SimFleet.connect(server.url, agents, { mode: "fleet", heartbeatMs: 30_000 });
      const res = await fleet.logs(frames, LINES, 4);
      await server.stop();
      await fleet.close();

      const after = bareInsert(join(work, "bare-2"), hosts, frames);
      const { Database } = await import("bun:sqlite");
      const db = new Database(dbPath(dataDir), { readonly: true });
      const stored = db.query<{ n: number }, []>("SELECT count(*) AS n FROM job_logs").get()?.n ?? 0;
      db.close();
      const rate = (stored * 1000) / res.ms;
      const errs = Object.entries(res.errors)
        .map(([k, v]) => `${v}× ${k}`)
        .join("; ");
      ctx.add(BENCH, {
        name: `log lines persisted per second (${n} agents × ${frames} frames × ${LINES} lines)`,
        unit: "lines/s",
        value: rate,
        baseline: (before + after) / 2,
        baselineName: "bun:sqlite, 500 rows per transaction",
        target: { on: "ratio", min: 0.5 },
        met: stored === res.lines && res.ackedFrames === res.frames,
        note: `stored ${stored}/${res.lines} lines, acked ${res.ackedFrames}/${res.frames} frames in ${(res.ms / 1000).toFixed(1)} s; baseline before ${before.toFixed(0)}, after ${after.toFixed(0)} lines/s${errs ? `; errors: ${errs}` : ""}`,
      });
    } finally {
      removeDir(work);
    }
  },
};
