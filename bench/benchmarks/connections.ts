// 3. Connections per server. Simulated agents (real WebSocket clients in separate processes)
// shake hands and heartbeat (sped up) against the compiled server, then against a bare Bun
// WebSocket server, at 1,000, 2,000, 5,000 and 10,000 agents: RSS and CPU of each. At each size a short
// burst of schedule.fire (echo for the bare server) gives the latency for the scale plot. At the
// largest size the server is restarted under its agents: the reconnect storm. Then the same server
// over TLS (`--tls self-signed`, wss://) beside itself over plain ws:// at 5,000 agents, runs in
// the order plain, TLS, TLS, plain: RSS and time to connect, as TLS / plain.
import { join } from "node:path";
import { removeDir, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { cpuSeconds, MB, RssSampler } from "../lib/proc.ts";
import { type SeededHost, seedHosts } from "../lib/seed.ts";
import { fetchTrusting, initDataDir, type Served, startBareWs, startFleetServer } from "../lib/servers.ts";
import { SimFleet } from "../lib/sims.ts";
import { percentile } from "../lib/stats.ts";

const BENCH = "3 connections";

interface Sizes {
  agents: number[];
  /** Agents for TLS against plain (one of `agents`, so the seeded hosts suffice). */
  tlsAgents: number;
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

/** Online hosts as the server itself counts them (GET /metrics), trusting its certificate on TLS. */
async function onlineHosts(served: Served): Promise<number | null> {
  const text = await (await fetchTrusting(served.ca, `${served.url}/metrics`)).text();
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

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The real server over TLS (its own self-signed certificate, trusted by the clients) beside
 * itself over plain ws://, same agents, same data directory, a fresh process each run, in the
 * order plain, TLS, TLS, plain (the machine drifts); each figure is the mean of its two runs.
 */
async function tlsAgainstPlain(ctx: BenchContext, dataDir: string, hosts: readonly SeededHost[], s: Sizes) {
  const n = s.tlsAgents;
  const agents = specs(hosts.slice(0, n));
  const runs: Record<"plain" | "tls", Array<Held & { online: number | null }>> = { plain: [], tls: [] };
  for (const tls of [false, true, true, false]) {
    ctx.log(`${n} agents → restic-fleet-server over ${tls ? "TLS (wss://, self-signed certificate)" : "plain ws://"}`);
    const server = await startFleetServer(ctx.bins, dataDir, 0, { tls });
    const f = await SimFleet.connect(server.url, agents, {
      heartbeatMs: s.heartbeatMs,
      concurrency: 100,
      mode: "fleet",
      ca: server.ca,
    });
    const held = await hold(ctx, server, f.fleet, s, f.connect.ms);
    const online = await onlineHosts(server);
    ctx.log(`  connected in ${(f.connect.ms / 1000).toFixed(2)} s; RSS ${held.rssMb.toFixed(1)} MB; online ${online}`);
    await server.stop();
    await f.fleet.close();
    (tls ? runs.tls : runs.plain).push({ ...held, online });
  }
  const avg = (side: "plain" | "tls", key: keyof Held) => mean(runs[side].map((r) => r[key]));
  const each = (side: "plain" | "tls", key: keyof Held, digits: number) =>
    runs[side].map((r) => r[key].toFixed(digits)).join(", ");
  const size = n.toLocaleString("en-US");
  const plain = "plain ws://, same server";
  ctx.add(BENCH, {
    name: `TLS / plain: server RSS, ${size} agents (heartbeat every ${s.heartbeatMs / 1000} s)`,
    unit: "MB",
    value: avg("tls", "rssMb"),
    baseline: avg("plain", "rssMb"),
    baselineName: plain,
    note: `runs: TLS ${each("tls", "rssMb", 1)} MB, plain ${each("plain", "rssMb", 1)} MB; peak TLS ${Math.max(...runs.tls.map((r) => r.peakMb)).toFixed(0)} MB, plain ${Math.max(...runs.plain.map((r) => r.peakMb)).toFixed(0)} MB`,
  });
  ctx.add(BENCH, {
    name: `TLS / plain: time to connect ${size} agents (TLS handshake + hello → schedule.set)`,
    unit: "s",
    value: avg("tls", "connectMs") / 1000,
    baseline: avg("plain", "connectMs") / 1000,
    baselineName: plain,
    note: `runs: TLS ${runs.tls.map((r) => (r.connectMs / 1000).toFixed(2)).join(", ")} s, plain ${runs.plain.map((r) => (r.connectMs / 1000).toFixed(2)).join(", ")} s; ECDSA P-256 certificate, 100 handshakes in flight`,
  });
  ctx.add(BENCH, {
    name: `TLS / plain: server CPU, ${size} agents (of one core, while holding)`,
    unit: "%",
    value: avg("tls", "cpuPct"),
    baseline: avg("plain", "cpuPct"),
    baselineName: "plain",
  });
  const heldTls = Math.min(...runs.tls.map((r) => Math.min(r.ready, r.online ?? 0)));
  ctx.add(BENCH, {
    name: `agents held over TLS, ${size} (online in /metrics, fewer of the two runs)`,
    unit: "agents",
    value: heldTls,
    baseline: Math.min(...runs.plain.map((r) => Math.min(r.ready, r.online ?? 0))),
    baselineName: "plain",
    target: { on: "value", equals: n },
    met: runs.tls.every((r) => r.lost === 0),
    note: `lost handshakes: TLS ${runs.tls.map((r) => r.lost).join(", ")}, plain ${runs.plain.map((r) => r.lost).join(", ")}`,
  });
}

export const connections: Benchmark = {
  name: "connections",
  title: BENCH,
  async run(ctx: BenchContext) {
    const s: Sizes = ctx.quick
      ? { agents: [100, 300], tlsAgents: 300, heartbeatMs: 1_000, holdMs: 2_000, probeRate: 100, probeMs: 1_000 }
      : {
          agents: [1_000, 2_000, 5_000, 10_000],
          tlsAgents: 5_000,
          heartbeatMs: 10_000,
          holdMs: 20_000,
          probeRate: 500,
          probeMs: 5_000,
        };
    const largest = Math.max(...s.agents);
    const work = tempDir("connections");
    const dataDir = join(work, "server");
    try {
      await initDataDir(ctx.bins, dataDir);
      // Every second: the probe's fires must be real, recent runs (see dispatch.ts).
      const hosts = seedHosts(dataDir, largest, { cron: "* * * * * *" });
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
        const online = await onlineHosts(server);
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
          onlineAfterStorm = await onlineHosts(server);
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
      await tlsAgainstPlain(ctx, dataDir, hosts, s);
    } finally {
      removeDir(work);
    }
  },
};
