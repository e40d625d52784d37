// 4. Dispatch latency. 2,000 simulated agents; 500 schedule.fire per second in total; the time
// from sending a fire to receiving its command.run (the agents answer command.result, as the real
// agent does). Baseline: the round trip of an echo frame of the same size through a bare Bun
// WebSocket server, at the same connection count and rate. Every fire must make exactly one job.
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { removeDir, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { cpuSeconds } from "../lib/proc.ts";
import { seedHosts } from "../lib/seed.ts";
import { dbPath, initDataDir, startBareWs, startFleetServer } from "../lib/servers.ts";
import { SimFleet } from "../lib/sims.ts";
import { summarize } from "../lib/stats.ts";

const BENCH = "4 dispatch";

export const dispatch: Benchmark = {
  name: "dispatch",
  title: BENCH,
  async run(ctx: BenchContext) {
    const q = ctx.quick;
    const n = q ? 200 : 2_000;
    const rate = q ? 100 : 500;
    const durationMs = q ? 3_000 : 20_000;
    const work = tempDir("dispatch");
    const dataDir = join(work, "server");
    try {
      await initDataDir(ctx.bins, dataDir);
      // Every second: the server takes only real, recent runs of a schedule, and each agent fires
      // several distinct ones (agent-sim.ts counts back one second per fire). The simulated jobs
      // never finish, so each fire goes to another of the host's schedules: a second tick of one
      // schedule would be merged into its pending run (issue 18), making no job and no command.run.
      const perAgent = Math.ceil((rate * durationMs) / 1000 / n) + 2;
      const agents = seedHosts(dataDir, n, { cron: "* * * * * *", schedulesPerHost: perAgent }).map((h) => ({
        id: h.id,
        token: h.token,
        scheduleId: h.scheduleId,
        scheduleIds: h.scheduleIds,
      }));
      const opts = { heartbeatMs: 30_000, concurrency: 100 };

      ctx.log(`${n} agents, ${rate} echo/s → bare WebSocket server`);
      const bare = await startBareWs(ctx.bins);
      const b = await SimFleet.connect(bare.url, agents, { ...opts, mode: "bare" });
      const echo = await b.fleet.fire(rate, durationMs);
      await bare.stop();
      await b.fleet.close();

      ctx.log(`${n} agents, ${rate} fire/s → restic-fleet-server`);
      const server = await startFleetServer(ctx.bins, dataDir);
      const f = await SimFleet.connect(server.url, agents, { ...opts, mode: "fleet" });
      const c0 = cpuSeconds(server.pid) ?? 0;
      const t0 = performance.now();
      const fired = await f.fleet.fire(rate, durationMs);
      const cpuPct = (((cpuSeconds(server.pid) ?? 0) - c0) * 100_000) / (performance.now() - t0);
      await server.stop();
      await f.fleet.close();

      const db = new Database(dbPath(dataDir), { readonly: true });
      const jobs =
        db.query<{ n: number }, []>("SELECT count(*) AS n FROM jobs WHERE actor_kind = 'schedule'").get()?.n ?? 0;
      db.close();
      const unique = new Set(fired.jobIds).size;
      const s = summarize(fired.latencies);
      const e = summarize(echo.latencies);
      const load = `${n.toLocaleString("en-US")} agents, ${rate} fires/s`;
      const errs = Object.entries(fired.errors)
        .map(([k, v]) => `${v}× ${k}`)
        .join("; ");
      ctx.add(BENCH, {
        name: `fire → command.run p50 (${load})`,
        unit: "ms",
        value: s.p50,
        baseline: e.p50,
        baselineName: "bare echo",
      });
      ctx.add(BENCH, {
        name: `fire → command.run p99 (${load})`,
        unit: "ms",
        value: s.p99,
        baseline: e.p99,
        baselineName: "bare echo",
        target: { on: "value", max: 25 },
      });
      ctx.add(BENCH, {
        name: `fire → command.run max (${load})`,
        unit: "ms",
        value: s.max,
        baseline: e.max,
        baselineName: "bare echo",
      });
      ctx.add(BENCH, {
        name: "fires without exactly one job and one command.run",
        unit: "count",
        value: Math.abs(fired.sent - jobs) + Math.abs(fired.sent - unique) + fired.pendingAtEnd,
        target: { on: "value", equals: 0 },
        note: `sent ${fired.sent}, command.run ${fired.received} (${unique} distinct jobs), jobs in the database ${jobs}, unanswered ${fired.pendingAtEnd}${errs ? `; errors: ${errs}` : ""}`,
      });
      ctx.add(BENCH, { name: `server CPU during the fires (of one core)`, unit: "%", value: cpuPct });
    } finally {
      removeDir(work);
    }
  },
};
