// 3. Connections per server. Simulated agents (real WebSocket clients in separate processes)
// shake hands and heartbeat (sped up) against the compiled server, then against a bare Bun
// WebSocket server, at 1,000, 2,000, 5,000 and 10,000 agents: RSS and CPU of each. At each size a short
// burst of schedule.fire (echo for the bare server) gives the latency for the scale plot. At the
// largest size the server is restarted under its agents: the reconnect storm.
import { join } from "node:path";
import { removeDir, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { cpuSeconds, MB, RssSampler } from "../lib/proc.ts";
import { type SeededHost, seedHosts } from "../lib/seed.ts";
import { initDataDir, type Served, startBareWs, startFleetServer } from "../lib/servers.ts";
import { SimFleet } from "../lib/sims.ts";
import { percentile } from "../lib/stats.ts";

const BENCH = "3 connections";

interface Sizes {
  agents: number[];
  heartbeatMs: number;
  holdMs: number;
  probeRate: number;
  probeMs: number;
}

interface Held {
  rssMb: number;
  peakMb: number;
  cpuPct: number;
  connectMs: number;
  ready: number;
  p99: number;
  lost: number;
}

/** Online hosts as the server itself counts them (GET /metrics). */
async function onlineHosts(url: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^restic_fleet_hosts\{state="online"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

async function hold(ctx: BenchContext, served: Served, fleet: SimFleet, s: Sizes, connectMs: number): Promise<Held> {
  const sampler = new RssSampler(served.pid, 500);
  const c0 = cpuSeconds(served.pid) ?? 0;
  const t0 = performance.now();
  await Bun.sleep(s.holdMs);
  const cpuPct = (((cpuSeconds(served.pid) ?? 0) - c0) * 100_000) / (performance.now() - t0);
  const rss = sampler.stop();
  const status = await fleet.status();
  const probe = await fleet.fire(s.probeRate, s.probeMs, 10_000);
  ctx.log(
    `  held ${status.ready}/${status.agents}; probe ${probe.received}/${probe.sent}, p99 ${percentile(probe.latencies, 99).toFixed(1)} ms`,
  );
  return {
    rssMb: rss.last / MB,
    peakMb: rss.peak / MB,
    cpuPct,
    connectMs,
    ready: status.ready,
    p99: percentile(probe.latencies, 99),
    lost: status.lostHandshakes,
  };
}

const specs = (hosts: readonly SeededHost[]) =>
  hosts.map((h) => ({ id: h.id, token: h.token, scheduleId: h.scheduleId }));

/** Restarts the server under its agents; the time until every agent shook hands again. */
async function storm(
  fleet: SimFleet,
  stop: () => Promise<void>,
  start: () => Promise<Served>,
  n: number,
): Promise<{ ms: number; served: Served; lost: number; back: number; downMs: number }> {
  const before = await fleet.mark();
  const t0 = performance.now();
  await stop();
  const served = await start();
  const downMs = performance.now() - t0;
  const { status } = await fleet.waitFor((s) => s.sinceMark >= n, 120_000, 50);
  return {
    ms: performance.now() - t0,
    served,
    lost: status.lostHandshakes - before.lostHandshakes,
    back: status.sinceMark,
    downMs,
  };
}

export const connections: Benchmark = {
  name: "connections",
  title: BENCH,
  async run(ctx: BenchContext) {
    const s: Sizes = ctx.quick
      ? { agents: [100, 300], heartbeatMs: 1_000, holdMs: 2_000, probeRate: 100, probeMs: 1_000 }
      : { agents: [1_000, 2_000, 5_000, 10_000], heartbeatMs: 10_000, holdMs: 20_000, probeRate: 500, probeMs: 5_000 };
    const largest = Math.max(...s.agents);
    const work = tempDir("connections");
    const dataDir = join(work, "server");
    try {
      await initDataDir(ctx.bins, dataDir);
      const hosts = seedHosts(dataDir, largest);
      const hb = `heartbeat every ${s.heartbeatMs / 1000} s`;
      for (const n of s.agents) {
        const agents = specs(hosts.slice(0, n));
        const opts = { heartbeatMs: s.heartbeatMs, concurrency: 100 };

        ctx.log(`${n} agents → bare WebSocket server`);
        let bare = await startBareWs(ctx.bins);
        const b = await SimFleet.connect(bare.url, agents, { ...opts, mode: "bare" });
        const bareHeld = await hold(ctx, bare, b.fleet, s, b.connect.ms);
        let bareStorm: Awaited<ReturnType<typeof storm>> | null = null;
        if (n === largest) {
          const port = bare.port;
          const old = bare;
          bareStorm = await storm(
            b.fleet,
            () => old.stop(),
            () => startBareWs(ctx.bins, port),
            n,
          );
          bare = bareStorm.served;
        }
        // The server goes first: the closing side keeps TIME_WAIT, so client ports stay free.
        await bare.stop();
        await b.fleet.close();

        ctx.log(`${n} agents → restic-fleet-server`);
        let server = await startFleetServer(ctx.bins, dataDir);
        const f = await SimFleet.connect(server.url, agents, { ...opts, mode: "fleet" });
        const held = await hold(ctx, server, f.fleet, s, f.connect.ms);
        const online = await onlineHosts(server.url);
        let fleetStorm: Awaited<ReturnType<typeof storm>> | null = null;
        let onlineAfterStorm: number | null = null;
        if (n === largest) {
          const port = server.port;
          const old = server;
          ctx.log(`  reconnect storm: restarting the server under ${n} agents`);
          fleetStorm = await storm(
            f.fleet,
            () => old.stop(),
            () => startFleetServer(ctx.bins, dataDir, port),
            n,
          );
          server = fleetStorm.served;
          onlineAfterStorm = await onlineHosts(server.url);
        }
        await server.stop();
        await f.fleet.close();

        const size = n.toLocaleString("en-US");
        ctx.add(BENCH, {
          name: `server RSS, ${size} agents (${hb})`,
          unit: "MB",
          value: held.rssMb,
          baseline: bareHeld.rssMb,
          baselineName: "bare Bun WebSocket server",
          target: { on: "ratio", max: 2 },
          note: `peak ${held.peakMb.toFixed(0)} MB (bare ${bareHeld.peakMb.toFixed(0)} MB)`,
        });
        ctx.add(BENCH, {
          name: `server CPU, ${size} agents (of one core, while holding)`,
          unit: "%",
          value: held.cpuPct,
          baseline: bareHeld.cpuPct,
          baselineName: "bare",
        });
        ctx.add(BENCH, {
          name: `time to connect ${size} agents (hello → schedule.set)`,
          unit: "s",
          value: held.connectMs / 1000,
          baseline: bareHeld.connectMs / 1000,
          baselineName: "bare",
        });
        ctx.add(BENCH, {
          name: `agents held, ${size} (online in /metrics)`,
          unit: "agents",
          value: Math.min(held.ready, online ?? 0),
          baseline: bareHeld.ready,
          baselineName: "bare",
          ...(n === largest ? { target: { on: "value" as const, equals: n } } : {}),
          note: `clients ready ${held.ready}, server online ${online}; lost handshakes ${held.lost}`,
        });
        ctx.addScale({
          agents: n,
          serverRssMb: held.rssMb,
          bareRssMb: bareHeld.rssMb,
          fireP99Ms: held.p99,
          echoP99Ms: bareHeld.p99,
        });
        if (fleetStorm && bareStorm) {
          const allBack = fleetStorm.back >= n && (onlineAfterStorm ?? 0) >= n;
          ctx.add(BENCH, {
            name: `reconnect storm: restart under ${size} agents → all online again`,
            unit: "s",
            value: allBack ? fleetStorm.ms / 1000 : null,
            baseline: bareStorm.ms / 1000,
            baselineName: "bare server restart",
            target: { on: "value", max: 30 },
            met: allBack && fleetStorm.lost === 0,
            note: `server down→listening ${(fleetStorm.downMs / 1000).toFixed(2)} s; back ${fleetStorm.back}/${n} (server says ${onlineAfterStorm} online); agents use the agent's backoff (1–2 s first retry)`,
          });
          ctx.add(BENCH, {
            name: "reconnect storm: lost handshakes",
            unit: "count",
            value: fleetStorm.lost,
            baseline: bareStorm.lost,
            baselineName: "bare",
            target: { on: "value", equals: 0 },
          });
        }
      }
    } finally {
      removeDir(work);
    }
  },
};
