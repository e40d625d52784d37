// 10. Jitter (issue 18). 5,000 agents on one `0 2 * * *` policy: the peak of command.runs per
// second at the nightly tick with `jitter: "1h"`, beside the same run without jitter. Through the
// real server: each simulated agent speaks protocol 9, gets its delay in schedule.set (computed
// by the server, domain/jitter.ts), and sends schedule.fire for the nominal 02:00 tick at its
// delay; the server makes the job and sends command.run, which the agent accepts.
// - Without jitter every agent fires in the same instant; command.runs are counted per wall
//   second as they arrive (the server's own pace sets that peak).
// - With jitter the peak is the most fires in one second of the hour, as the delays the server
//   sent place them. Measured too: the hour's first minute at the real pace (command.runs per
//   wall second, and their latency), then the rest compressed (full: 60×; quick: 20 s real, then
//   360×, with 500 agents), for one job and one command.run per fire and the latency under 60×
//   the real rate.
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { encode } from "../../protocol/index.ts";
import { removeDir, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { seedHosts } from "../lib/seed.ts";
import { apiClient, dbPath, initDataDir, startFleetServer } from "../lib/servers.ts";
import { summarize } from "../lib/stats.ts";

const BENCH = "10 jitter";
const CRON = "0 2 * * *";

/** One simulated agent: a socket, the nightly schedule's copy and delay, and its command.runs. */
interface Agent {
  ws: WebSocket;
  /** The id of the 0 2 * * * schedule in its latest schedule.set, and its delay (s). */
  scheduleId: string | null;
  delay: number;
  /** performance.now() of each command.run, with its job id. */
  runs: { at: number; job: string }[];
  /** performance.now() of the last schedule.fire sent. */
  firedAt: number;
  sets: number;
}

/** The latest 02:00 UTC tick that the server takes whatever an agent's delay (≤ 1 h) and the 10-min skew. */
function nominalTick(now: number): string {
  const d = new Date(now - 70 * 60_000);
  const tick = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 2);
  return new Date(tick > d.getTime() ? tick - 86_400_000 : tick).toISOString().replace(/\.000Z$/, "Z");
}

/** Distinct (schedule, tick) jobs made by fires, read from the running server's database. */
function scheduleJobs(dataDir: string): number {
  const db = new Database(dbPath(dataDir), { readonly: true });
  try {
    return (
      db
        .query<{ n: number }, []>(
          "SELECT count(DISTINCT scheduled_id || scheduled_at) AS n FROM jobs WHERE actor_kind = 'schedule'",
        )
        .get()?.n ?? 0
    );
  } finally {
    db.close();
  }
}

/** The largest count in any bucket. */
const peak = (keys: readonly number[]) => {
  const counts = new Map<number, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return Math.max(0, ...counts.values());
};

function connect(url: string, token: string, agents: Agent[]): Promise<Agent> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/v1/agent/ws`, {
      headers: { Authorization: `Bearer ${token}` },
    } as never);
    const a: Agent = { ws, scheduleId: null, delay: 0, runs: [], sets: 0, firedAt: 0 };
    ws.addEventListener("open", () =>
      ws.send(
        encode("hello", {
          protocol_version: 9,
          agent_version: "0.1.0-bench",
          restic_version: "0.14.0",
          hostname: "sim",
          os: "linux",
          arch: "amd64",
          restic_host: "sim",
        }),
      ),
    );
    ws.addEventListener("error", () => reject(new Error("websocket failed")));
    ws.addEventListener("message", (e) => {
      const m = JSON.parse(String(e.data));
      if (m.type === "schedule.set") {
        const entry = m.payload.schedules.find((s: { cron_expr: string }) => s.cron_expr === CRON);
        a.scheduleId = entry?.id ?? null;
        a.delay = entry?.delay_seconds ?? 0;
        a.sets += 1;
        ws.send(encode("schedule.ack", { version: m.payload.version, applied_at: new Date().toISOString() }));
        if (a.sets === 1) {
          agents.push(a);
          resolve(a);
        }
      } else if (m.type === "command.run") {
        a.runs.push({ at: performance.now(), job: m.payload.job_id });
        ws.send(encode("command.result", { job_id: m.payload.job_id, accepted: true }));
      }
    });
  });
}

/** Resolves once `done()` holds, polling every 50 ms; rejects after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs: number, what: string) {
  const end = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

export const jitter: Benchmark = {
  name: "jitter",
  title: BENCH,
  async run(ctx: BenchContext) {
    const q = ctx.quick;
    const n = q ? 500 : 5_000;
    /** Seconds of the jittered hour run at the real pace; the rest is compressed by `speedup`. */
    const realS = q ? 20 : 60;
    const speedup = q ? 360 : 60;
    const work = tempDir("jitter");
    const dataDir = join(work, "server");
    const agents: Agent[] = [];
    let beat: ReturnType<typeof setInterval> | null = null;
    try {
      const { token } = await initDataDir(ctx.bins, dataDir);
      const seeded = seedHosts(dataDir, n, { labels: { fleet: "night" } });
      const server = await startFleetServer(ctx.bins, dataDir);
      const api = apiClient(server.url, token);
      try {
        const policy = (jitterText: string | null) =>
          api<{ id: string }>("/api/v1/policies", "POST", {
            name: jitterText ? "nightly-jitter" : "nightly",
            selector: { labels: { fleet: "night" } },
            schedules: [{ kind: "backup", cron_expr: CRON, timezone: "UTC", jitter: jitterText, paths: ["/srv/data"] }],
          });
        const plain = await policy(null);
        if (plain.status !== 201) throw new Error(`policy: ${JSON.stringify(plain.body)}`);

        ctx.log(`${n} agents (protocol 9) connect`);
        for (let i = 0; i < seeded.length; i += 200) {
          await Promise.all(seeded.slice(i, i + 200).map((h) => connect(server.url, h.token, agents)));
        }
        beat = setInterval(() => {
          for (const a of agents) a.ws.send(encode("heartbeat", { sent_at: new Date().toISOString() }));
        }, 20_000);
        // Fires start once the server has stored every agent's ack: no handshake work left behind.
        const settled = async (policyId: string) => {
          const end = performance.now() + 120_000;
          for (;;) {
            const p = await api<{ hosts_in_sync: number }>(`/api/v1/policies/${policyId}`);
            if (p.body.hosts_in_sync >= n) return;
            if (performance.now() > end) throw new Error(`policy ${policyId}: ${p.body.hosts_in_sync} of ${n} in sync`);
            await Bun.sleep(200);
          }
        };
        await settled(plain.body.id);
        const tick = nominalTick(Date.now());
        const fire = (a: Agent) => {
          a.firedAt = performance.now();
          a.ws.send(encode("schedule.fire", { schedule_id: a.scheduleId as string, scheduled_at: tick }));
        };

        // Without jitter: every agent fires in the same instant.
        ctx.log(`no jitter: ${n} fires of ${tick} at once`);
        const t0 = performance.now();
        for (const a of agents) fire(a);
        await until(() => agents.every((a) => a.runs.length >= 1), 120_000, "command.run without jitter");
        const burst = agents.map((a) => (a.runs[0] as { at: number }).at - t0);
        const burstMs = Math.max(...burst);
        const burstPeak = peak(burst.map((ms) => Math.floor(ms / 1000)));

        // Counted now: deleting the policy below clears its jobs' scheduled_id (ON DELETE SET NULL).
        const plainJobs = scheduleJobs(dataDir);

        // With jitter 1h: a new policy (new schedule ids, so the same tick makes new jobs).
        const before = new Map(agents.map((a) => [a, a.scheduleId]));
        const del = await api(`/api/v1/policies/${plain.body.id}`, "DELETE");
        if (del.status !== 204) throw new Error(`delete policy: ${del.status}`);
        const jittered = await policy("1h");
        if (jittered.status !== 201) throw new Error(`policy: ${JSON.stringify(jittered.body)}`);
        await until(
          () => agents.every((a) => a.scheduleId !== null && a.scheduleId !== before.get(a)),
          120_000,
          "schedule.set with the jittered schedule",
        );
        await settled(jittered.body.id);
        const delays = agents.map((a) => a.delay);
        // The hour's first `realS` seconds at the real pace: those agents fire at their delays.
        const early = agents.filter((a) => a.delay < realS);
        const late = agents.filter((a) => a.delay >= realS);
        ctx.log(`jitter 1h: the first ${realS} s in real time (${early.length} fires)`);
        const t1 = performance.now();
        for (const a of early) setTimeout(() => fire(a), a.delay * 1000);
        await until(() => early.every((a) => a.runs.length >= 2), realS * 1000 + 60_000, "command.run, real pace");
        const real = summarize(early.map((a) => (a.runs[1] as { at: number }).at - a.firedAt));
        const realPeak = peak(early.map((a) => Math.floor(((a.runs[1] as { at: number }).at - t1) / 1000)));
        // The rest of the hour compressed, for one job and one command.run per fire.
        ctx.log(`jitter 1h: the other ${late.length} fires, replayed ${speedup}× faster`);
        for (const a of late) setTimeout(() => fire(a), ((a.delay - realS) * 1000) / speedup);
        await until(
          () => agents.every((a) => a.runs.length >= 2),
          (3600 * 1000) / speedup + 120_000,
          "command.run with jitter",
        );
        const replayed = summarize(late.map((a) => (a.runs[1] as { at: number }).at - a.firedAt));
        const jitterPeak = peak(delays);

        const jobs = plainJobs + scheduleJobs(dataDir);
        const runs = agents.reduce((s, a) => s + new Set(a.runs.map((r) => r.job)).size, 0);
        const load = `${n.toLocaleString("en-US")} agents, one ${CRON} policy`;
        ctx.add(BENCH, {
          name: `peak command.run per second at the tick, jitter 1h (${load})`,
          unit: "count",
          value: jitterPeak,
          baseline: burstPeak,
          baselineName: "no jitter",
          note: `with jitter: the most fires in one second of the hour, from the delays the server sent (a command.run follows its fire within the next row's latency); without jitter: command.runs counted per wall second as the server answered the ${n.toLocaleString("en-US")} fires at once, all within ${(burstMs / 1000).toFixed(1)} s`,
        });
        ctx.add(BENCH, {
          name: `peak command.run per wall second, jitter 1h, the hour's first ${realS} s at the real pace`,
          unit: "count",
          value: realPeak,
          baseline: burstPeak,
          baselineName: "no jitter",
          note: `${early.length} fires; fire → command.run p50 ${real.p50.toFixed(1)} ms, p99 ${real.p99.toFixed(1)} ms, max ${real.max.toFixed(1)} ms`,
        });
        ctx.add(BENCH, {
          name: `fire → command.run p99, jitter 1h, the rest of the hour replayed ${speedup}× faster`,
          unit: "ms",
          value: replayed.p99,
          note: `p50 ${replayed.p50.toFixed(1)} ms, max ${replayed.max.toFixed(1)} ms, ${late.length} fires at ${Math.round((n * speedup) / 3600)} fires/s (the real hour has ${(n / 3600).toFixed(1)}/s)`,
        });
        ctx.add(BENCH, {
          name: "first to last fire, jitter 1h",
          unit: "s",
          value: Math.max(...delays) - Math.min(...delays),
          baseline: 0,
          baselineName: "no jitter",
        });
        ctx.add(BENCH, {
          name: "fires without exactly one job and one command.run (both runs)",
          unit: "count",
          value: Math.abs(2 * n - jobs) + Math.abs(2 * n - runs),
          target: { on: "value", equals: 0 },
          note: `fires ${2 * n}, distinct jobs ${jobs}, distinct command.runs ${runs}`,
        });
      } finally {
        if (beat) clearInterval(beat);
        for (const a of agents) a.ws.close();
        await server.stop();
      }
    } finally {
      removeDir(work);
    }
  },
};
