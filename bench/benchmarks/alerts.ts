// 8. Alerts (issue 15). 5,000 hosts seeded with an hourly backup schedule and a recent
// successful backup; 200 of them with a last success older, so that they all become stale within
// one second of a known moment (the onset: last success + interval + grace, 1 h + 1 h). The real
// compiled server runs with its real 10 s sweep and its real 30 s batch window, two webhook
// channels to a receiver in this process and one rule: per channel, the time from each host's
// onset to the arrival of the first message naming it, the messages, the hosts named more than
// once. Baseline: the design's own wait, a sweep period plus the batch window (40 s). Then the
// sweep alone (bench/load/alerts-sweep.ts): the server's domain in-process over a copy of the
// data directory made before the server started, with a ManualClock; steady-state sweeps beside
// the host list read alone (hosts.list(), where every sweep starts), the onset's sweep that
// fires the 200 alerts, and the batch that makes the messages.
import { Database } from "bun:sqlite";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { BENCH as BENCH_DIR } from "../lib/build.ts";
import { removeDir, tempDir, track } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { type SeededHost, seedHosts, seedLastBackups } from "../lib/seed.ts";
import { apiClient, dbPath, initDataDir, startListening } from "../lib/servers.ts";
import { max, median, percentile, sleep } from "../lib/stats.ts";
import type { SweepProbe } from "../load/alerts-sweep.ts";

const BENCH = "8 alerts";
const HOUR = 3_600_000;
/** Interval (hourly) + grace (the interval, at most 1 h): backup-health.ts. */
const STALE_AFTER_MS = 2 * HOUR;
/** The server's sweep period (server.ts) and default batch window (settings.ts). */
const SWEEP_S = 10;
const WINDOW_S = 30;

interface Sizes {
  hosts: number;
  stale: number;
  /** From the end of seeding to the first onset: the server starts and is configured meanwhile. */
  leadMs: number;
  /** The onsets spread over this much ("at once"). */
  spreadMs: number;
  /** RF_ALERT_BATCH_SECONDS for the server (the default, 30, in the full run). */
  windowS: number;
  /** After every host was named: more time for a repeat or a straggler to show. */
  tailMs: number;
  sweeps: number;
  scrapes: number;
}
const FULL: Sizes = {
  hosts: 5_000,
  stale: 200,
  leadMs: 15_000,
  spreadMs: 1_000,
  windowS: WINDOW_S,
  tailMs: 12_000,
  sweeps: 40,
  scrapes: 10,
};
const QUICK: Sizes = {
  hosts: 500,
  stale: 20,
  leadMs: 5_000,
  spreadMs: 200,
  windowS: 2,
  tailMs: 1_000,
  sweeps: 10,
  scrapes: 3,
};

const epochNow = () => performance.timeOrigin + performance.now();

interface Arrival {
  channel: string;
  at: number;
  event: string;
  hosts: string[];
}

/** The webhook receiver: records each POST's arrival (epoch ms) and the host ids it names. */
function receiver() {
  const got: Arrival[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const at = epochNow();
      const body = (await req.json()) as { event: string; alerts: Array<{ host_id: string }> };
      got.push({ channel: new URL(req.url).pathname, at, event: body.event, hosts: body.alerts.map((a) => a.host_id) });
      return new Response("ok");
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, got, stop: () => server.stop(true) };
}

async function probeSweep(dataDir: string, rounds: number, clockIso: string, lastOnsetIso: string) {
  const proc = track(
    Bun.spawn(
      [process.execPath, join(BENCH_DIR, "load", "alerts-sweep.ts"), dataDir, String(rounds), clockIso, lastOnsetIso],
      {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      },
    ),
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`alerts-sweep.ts exited with ${code}: ${err.trim()}`);
  return JSON.parse(out) as SweepProbe;
}

/** Messages and queued items per channel, as the server stored them (sent or not). */
function stored(dataDir: string) {
  const db = new Database(dbPath(dataDir), { readonly: true });
  try {
    return db
      .query<{ channel_id: string; messages: number }, []>(
        "SELECT channel_id, count(*) AS messages FROM notifications GROUP BY channel_id",
      )
      .all();
  } finally {
    db.close();
  }
}

async function timed(fn: () => Promise<Response>): Promise<number> {
  const t0 = performance.now();
  const res = await fn();
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`answered ${res.status}`);
  return performance.now() - t0;
}

export const alerts: Benchmark = {
  name: "alerts",
  title: BENCH,
  async run(ctx: BenchContext) {
    const s = ctx.quick ? QUICK : FULL;
    const size = s.hosts.toLocaleString("en-US");
    const work = tempDir("alerts");
    const dataDir = join(work, "server");
    const copyDir = join(work, "probe");
    const hook = receiver();
    try {
      const { token } = await initDataDir(ctx.bins, dataDir);
      const hosts = seedHosts(dataDir, s.hosts, { cron: "0 * * * *", namePrefix: "alerts" });
      // Every 25th host goes stale: spread over the name order, as a fleet would be.
      const every = Math.floor(s.hosts / s.stale);
      const staleHosts: SeededHost[] = hosts.filter((_, i) => i % every === 0).slice(0, s.stale);
      const isStale = new Set(staleHosts.map((h) => h.id));
      const seededAt = Date.now();
      const firstOnset = seededAt + s.leadMs;
      const onset = new Map(staleHosts.map((h, i) => [h.id, firstOnset + Math.round((i * s.spreadMs) / s.stale)]));
      seedLastBackups(
        dataDir,
        hosts.map((h) => ({
          host: h,
          finishedAt: new Date(isStale.has(h.id) ? (onset.get(h.id) ?? 0) - STALE_AFTER_MS : seededAt - 10 * 60_000),
        })),
      );
      const lastOnset = Math.max(...onset.values());
      // The sweep probe's own copy, before the server changes anything.
      cpSync(dataDir, copyDir, { recursive: true });

      const server = await startListening(
        [ctx.bins.server, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir],
        { env: { RF_ALERT_BATCH_SECONDS: String(s.windowS) } },
      );
      const api = apiClient(server.url, token);
      const channelIds: string[] = [];
      for (const name of ["a", "b"]) {
        const ch = await api<{ id: string }>("/api/v1/notification-channels", "POST", {
          name: `hook ${name}`,
          kind: "webhook",
          config: { url: `${hook.url}/${name}` },
        });
        if (ch.status !== 201)
          throw new Error(`POST /notification-channels answered ${ch.status}: ${JSON.stringify(ch.body)}`);
        channelIds.push(ch.body.id);
      }
      const rule = await api("/api/v1/alert-rules", "POST", {
        name: "fleet",
        conditions: ["backup_failed", "backup_stale", "host_offline"],
        channel_ids: channelIds,
      });
      if (rule.status !== 201)
        throw new Error(`POST /alert-rules answered ${rule.status}: ${JSON.stringify(rule.body)}`);
      const spare = firstOnset - Date.now();
      if (spare < 1_000) throw new Error(`the server was configured only ${spare} ms before the onset`);
      ctx.log(
        `${size} hosts, ${s.stale} go stale ${(spare / 1000).toFixed(1)} s from now (over ${s.spreadMs} ms); sweep ${SWEEP_S} s, window ${s.windowS} s`,
      );

      // Until every stale host is named on both channels (at most 2 minutes), then the tail.
      const named = (channel: string) => new Set(hook.got.filter((g) => g.channel === channel).flatMap((g) => g.hosts));
      const deadline = lastOnset + 120_000;
      while (Date.now() < deadline && !["/a", "/b"].every((c) => staleHosts.every((h) => named(c).has(h.id)))) {
        await sleep(100);
      }
      const allNamedAt = Date.now();
      await sleep(s.tailMs);

      // /metrics over the same fleet (200 alerts firing), beside the host list it is built from.
      const scrape: number[] = [];
      const list: number[] = [];
      for (let i = 0; i < s.scrapes; i++) {
        scrape.push(await timed(() => fetch(`${server.url}/metrics`)));
        list.push(
          await timed(() => fetch(`${server.url}/api/v1/hosts`, { headers: { Authorization: `Bearer ${token}` } })),
        );
      }
      await server.stop();
      const messagesStored = stored(dataDir);

      ctx.log(`the sweep alone: ${s.sweeps} sweeps beside hosts.list(), then the onset's sweep`);
      const probe = await probeSweep(
        copyDir,
        s.sweeps,
        new Date(firstOnset - 5_000).toISOString(),
        new Date(lastOnset).toISOString(),
      );
      report(ctx, s, { hook: hook.got, staleHosts, onset, isStale, allNamedAt, scrape, list, messagesStored, probe });
    } finally {
      hook.stop();
      removeDir(work);
    }
  },
};

function report(
  ctx: BenchContext,
  s: Sizes,
  r: {
    hook: Arrival[];
    staleHosts: SeededHost[];
    onset: Map<string, number>;
    isStale: Set<string>;
    allNamedAt: number;
    scrape: number[];
    list: number[];
    messagesStored: Array<{ channel_id: string; messages: number }>;
    probe: SweepProbe;
  },
) {
  const size = s.hosts.toLocaleString("en-US");
  const floor = SWEEP_S + s.windowS;
  const latencies: number[] = [];
  let missing = 0;
  let duplicates = 0;
  let strangers = 0;
  const perChannel: string[] = [];
  let maxMessages = 0;
  for (const channel of ["/a", "/b"]) {
    const msgs = r.hook.filter((g) => g.channel === channel && g.event === "alert.firing");
    maxMessages = Math.max(maxMessages, r.hook.filter((g) => g.channel === channel).length);
    const first = new Map<string, number>();
    for (const m of msgs) {
      for (const id of m.hosts) {
        if (!r.isStale.has(id)) strangers += 1;
        else if (first.has(id)) duplicates += 1;
        else first.set(id, m.at);
      }
    }
    for (const h of r.staleHosts) {
      const at = first.get(h.id);
      if (at === undefined) missing += 1;
      else latencies.push((at - (r.onset.get(h.id) ?? at)) / 1000);
    }
    perChannel.push(
      `${channel.slice(1)}: ${r.hook.filter((g) => g.channel === channel).length} messages (${msgs.map((m) => m.hosts.length).join(" + ")} hosts)`,
    );
  }
  const worst = missing > 0 ? null : max(latencies);
  ctx.add(BENCH, {
    name: `onset → named in a notification, max (${s.stale} of ${size} hosts stale at once, 2 channels)`,
    unit: "s",
    value: worst,
    baseline: floor,
    baselineName: `the design's wait: sweep period ${SWEEP_S} s + batch window ${s.windowS} s`,
    target: { on: "value", max: 60 },
    note: `the real server (compiled), its 10 s sweep and ${s.windowS} s window on the real clock; onset = last success + 1 h interval + 1 h grace, spread over ${s.spreadMs} ms; arrival = the receiver's clock (same machine); ${perChannel.join("; ")}; not named: ${missing}`,
  });
  ctx.add(BENCH, {
    name: `onset → named in a notification, p50 (${s.stale} hosts, 2 channels)`,
    unit: "s",
    value: latencies.length ? median(latencies) : null,
    baseline: floor,
    baselineName: `sweep period + batch window`,
  });
  ctx.add(BENCH, {
    name: "messages per channel (most of the 2 channels)",
    unit: "count",
    value: maxMessages,
    target: { on: "value", max: 2 },
    note: `messages the server stored, per channel: ${r.messagesStored.map((m) => m.messages).join(", ")} (sent or still queued, ${s.tailMs / 1000} s after the last host was named)`,
    met: r.messagesStored.every((m) => m.messages <= 2),
  });
  ctx.add(BENCH, {
    name: "hosts named twice on a channel, or named without going stale",
    unit: "count",
    value: duplicates + strangers + missing,
    target: { on: "value", equals: 0 },
    note: `twice ${duplicates}, not stale ${strangers}, never named ${missing}`,
  });
  const p = r.probe;
  const hostsOf = p.hosts.toLocaleString("en-US");
  ctx.add(BENCH, {
    name: `one sweep over ${hostsOf} hosts, steady state, p50 (of ${p.sweepMs.length})`,
    unit: "ms",
    value: median(p.sweepMs),
    baseline: median(p.listMs),
    baselineName: "hosts.list() alone (the views every sweep starts from)",
    target: { on: "value", max: 50 },
    note: `the server's domain in-process over a copy of the data directory, ManualClock, nobody connected; sweeps alternate with the baseline`,
  });
  ctx.add(BENCH, {
    name: `one sweep over ${hostsOf} hosts, steady state, p99 (of ${p.sweepMs.length})`,
    unit: "ms",
    value: percentile(p.sweepMs, 99),
    baseline: percentile(p.listMs, 99),
    baselineName: "hosts.list() alone",
    target: { on: "value", max: 50 },
  });
  ctx.add(BENCH, {
    name: `the onset's sweep (${p.fired} alerts fire, ${p.fired * 2} items queued)`,
    unit: "ms",
    value: p.onsetSweepMs,
    baseline: median(p.listMs),
    baselineName: "hosts.list() alone",
    note: `then the batch after the window: ${p.batchMs.toFixed(1)} ms for ${p.messages} messages`,
  });
  ctx.add(BENCH, {
    name: `GET /metrics p50 (${size} hosts, ${s.stale} alerts firing)`,
    unit: "ms",
    value: median(r.scrape),
    baseline: median(r.list),
    baselineName: "GET /api/v1/hosts on the same server",
    note: `${r.scrape.length} of each, alternating; max ${max(r.scrape).toFixed(1)} ms`,
  });
}
