// 7. Policies (issue 14). 5,000 simulated agents whose hosts carry env=prod, matched by one policy
// of 3 schedules. The policy's crons change (PATCH /api/v1/policies/:id, all 3 schedules, their
// ids kept), in rounds: per agent, the time from sending the PATCH to its schedule.set carrying
// the new cron (the simulated agent answers schedule.ack at once), and to the server having
// stored that ack (a reader polls the database: WAL readers never block the server); the
// server's RSS through the fan-out against its RSS while connected and quiet just before; the
// PATCH's wall time. Baseline: the bare WebSocket server sending a frame of the same size and
// shape (the real hosts' schedule.set, new cron) to the same 5,000 clients on one HTTP request,
// the clients acking it the same way. Then the recomputation alone: the server's own domain
// over the stopped server's data directory (bench/load/policy-recompute.ts), its transaction
// timed beside hand-written SQL writing the same rows. Then 200 new agents enroll with one token
// labelled env=prod, spread over 10 s: per agent, hello → the schedule.set carrying the policy's
// schedules, and hello → its ack stored; baseline: the same clients against the bare server
// (its enroll answers a token at once, its hello answer is a frame of the same size).
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { toEntry } from "../../server/src/domain/schedules.ts";
import type { Schedule } from "../../server/src/domain/types.ts";
import { BENCH as BENCH_DIR } from "../lib/build.ts";
import { removeDir, tempDir, track } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { MB, RssSampler } from "../lib/proc.ts";
import { seedHosts } from "../lib/seed.ts";
import {
  type Api,
  apiClient,
  dbPath,
  initDataDir,
  type Served,
  startBareWs,
  startFleetServer,
} from "../lib/servers.ts";
import { SimFleet } from "../lib/sims.ts";
import { max, median, percentile, sleep } from "../lib/stats.ts";
import type { RecomputeProbe } from "../load/policy-recompute.ts";
import type { EnrolledArrival, SetArrival } from "../load/sim-protocol.ts";

const BENCH = "7 policies";
const LABELS = { env: "prod" };

interface Sizes {
  agents: number;
  rounds: number;
  /** Connected and quiet before the first change: the idle RSS is read at its end. */
  idleMs: number;
  /** Between two rounds. */
  gapMs: number;
  enrollAgents: number;
  enrollSpreadMs: number;
  probeRounds: number;
}

const FULL: Sizes = {
  agents: 5_000,
  rounds: 3,
  idleMs: 5_000,
  gapMs: 2_000,
  enrollAgents: 200,
  enrollSpreadMs: 10_000,
  probeRounds: 3,
};
const QUICK: Sizes = {
  agents: 300,
  rounds: 2,
  idleMs: 1_000,
  gapMs: 500,
  enrollAgents: 40,
  enrollSpreadMs: 2_000,
  probeRounds: 2,
};

/** The policy's schedules at round r: every cron's minute is 10 + r (two digits, same frame size). */
function policySchedules(r: number, ids: readonly string[] = []) {
  const m = String(10 + r);
  const withId = (i: number) => (ids[i] ? { id: ids[i] } : {});
  return [
    {
      ...withId(0),
      kind: "backup",
      cron_expr: `${m} 2 * * *`,
      paths: ["/srv/data", "/etc"],
      excludes: ["/srv/data/cache"],
      tags: ["policy-prod"],
    },
    { ...withId(1), kind: "forget", cron_expr: `${m} 4 * * *`, retention_policy: { keep_daily: 7, keep_weekly: 4 } },
    { ...withId(2), kind: "check", cron_expr: `${m} 5 * * 0`, options: { read_data_subset: "5%" } },
  ];
}
/** The cron whose arrival the agents watch for at round r (the backup's). */
const watchCron = (r: number) => `${10 + r} 2 * * *`;

const epochNow = () => performance.timeOrigin + performance.now();

/** A host's schedule.set payload as the real server sends it (toEntry, protocol 1), at round r. */
function setPayload(hostSchedules: Schedule[], r: number, version: number) {
  const crons = new Map(policySchedules(r).map((s) => [s.kind, s.cron_expr]));
  return {
    version,
    schedules: hostSchedules.map((s) =>
      toEntry(s.policy_id ? { ...s, cron_expr: crons.get(s.kind) ?? s.cron_expr } : s, 1),
    ),
  };
}

/** The lowest and highest schedule version of the hosts (read while the server runs: WAL). */
function versions(dataDir: string): { lo: number; hi: number } {
  const db = new Database(dbPath(dataDir), { readonly: true });
  try {
    const row = db
      .query<{ lo: number; hi: number }, []>(
        "SELECT min(schedule_version) AS lo, max(schedule_version) AS hi FROM hosts",
      )
      .get();
    return { lo: row?.lo ?? 0, hi: row?.hi ?? 0 };
  } finally {
    db.close();
  }
}

/**
 * First time each host was seen, by a reader of the database polling every `everyMs`, with
 * `acked_schedule_version >= target` (or, without a target, acked = version > 0 and enrolled
 * after `since`): the server has stored that agent's schedule.ack.
 */
class AckWatcher {
  readonly seen = new Map<string, number>();
  #timer: ReturnType<typeof setInterval>;
  #db: Database;

  constructor(dataDir: string, query: { target: number } | { enrolledAfter: string }, everyMs = 25) {
    this.#db = new Database(dbPath(dataDir), { readonly: true });
    const q =
      "target" in query
        ? this.#db.query<{ id: string }, [number]>("SELECT id FROM hosts WHERE acked_schedule_version >= ?")
        : this.#db.query<{ id: string }, [string]>(
            "SELECT id FROM hosts WHERE acked_schedule_version = schedule_version AND schedule_version > 0 AND enrolled_at > ?",
          );
    const arg = "target" in query ? query.target : query.enrolledAfter;
    const poll = () => {
      const at = epochNow();
      for (const { id } of (q as { all(a: number | string): { id: string }[] }).all(arg)) {
        if (!this.seen.has(id)) this.seen.set(id, at);
      }
    };
    poll();
    this.#timer = setInterval(poll, everyMs);
  }

  async until(ids: readonly string[], timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end && ids.some((id) => !this.seen.has(id))) await sleep(25);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#db.close();
  }
}

interface Round {
  /** ms from the change being sent to each agent's schedule.set with the new cron. */
  set: number[];
  /** ms from the change being sent to each agent's ack being stored (fleet only). */
  acked: number[];
  missingSets: number;
  missingAcks: number;
  /** The HTTP request that made the change (PATCH, or the bare server's push). */
  requestMs: number;
  bytes: number;
}

interface FanOut {
  rounds: Round[];
  idleMb: number;
  peakMb: number;
  lost: number;
  connectMs: number;
}

const delays = (arrivals: readonly SetArrival[], t0: number) => {
  const out: number[] = [];
  for (const a of arrivals) if (a.at !== null) out.push(a.at - t0);
  return out;
};

async function fanOut(
  ctx: BenchContext,
  served: Served,
  s: Sizes,
  agents: { id: string; token: string; scheduleId: string }[],
  mode: "fleet" | "bare",
  change: (r: number) => Promise<{ status: number }>,
  acks: ((r: number) => AckWatcher) | null,
): Promise<FanOut> {
  const { fleet, connect } = await SimFleet.connect(served.url, agents, {
    mode,
    heartbeatMs: 30_000,
    concurrency: 100,
    ackBare: true,
  });
  try {
    const ids = agents.map((a) => a.id);
    const idle = new RssSampler(served.pid, 250);
    await sleep(s.idleMs);
    const idleMb = idle.stop().last / MB;
    const sampler = new RssSampler(served.pid, 50);
    const rounds: Round[] = [];
    for (let r = 1; r <= s.rounds; r++) {
      await fleet.watch(watchCron(r));
      const watcher = acks?.(r) ?? null;
      const t0 = epochNow();
      const res = await change(r);
      const requestMs = epochNow() - t0;
      if (res.status >= 300) throw new Error(`round ${r}: the change answered ${res.status}`);
      await fleet.waitFor((st) => st.watched >= agents.length, 60_000, 50);
      await watcher?.until(ids, 30_000);
      watcher?.stop();
      const arrivals = await fleet.watched();
      const set = delays(arrivals, t0);
      const acked = watcher
        ? ids.flatMap((id) => (watcher.seen.has(id) ? [(watcher.seen.get(id) as number) - t0] : []))
        : [];
      const bytes = median(arrivals.flatMap((a) => (a.bytes === null ? [] : [a.bytes])));
      rounds.push({
        set,
        acked,
        missingSets: agents.length - set.length,
        missingAcks: watcher ? agents.length - acked.length : 0,
        requestMs,
        bytes,
      });
      ctx.log(
        `  round ${r}: request ${requestMs.toFixed(0)} ms; schedule.set p99 ${percentile(set, 99).toFixed(0)} ms, max ${max(set).toFixed(0)} ms${watcher ? `; ack stored p99 ${percentile(acked, 99).toFixed(0)} ms (${acked.length}/${agents.length})` : ""}; RSS peak so far ${(sampler.peak / MB).toFixed(1)} MB`,
      );
      // The server settles (acks stored, garbage collected) inside the sampled window.
      await sleep(s.gapMs);
    }
    const peakMb = sampler.stop().peak / MB;
    const status = await fleet.status();
    return { rounds, idleMb, peakMb, lost: status.lostHandshakes, connectMs: connect.ms };
  } finally {
    // The server goes first: the closing side keeps TIME_WAIT, so client ports stay free.
    await served.stop();
    await fleet.close();
  }
}

/** The median over rounds of a per-round figure. */
const overRounds = (f: FanOut, pick: (r: Round) => number) => median(f.rounds.map(pick));
const each = (f: FanOut, pick: (r: Round) => number, digits = 2) =>
  f.rounds.map((r) => (pick(r) / 1000).toFixed(digits)).join(", ");

interface Enrolled {
  agents: EnrolledArrival[];
  acked: Map<string, number>;
  failures: Record<string, number>;
  spanMs: number;
}

async function enrollRun(
  served: Served,
  s: Sizes,
  token: string,
  mode: "fleet" | "bare",
  cron: string,
  watcher: AckWatcher | null,
): Promise<Enrolled> {
  const { fleet, result } = await SimFleet.enroll(served.url, {
    mode,
    heartbeatMs: 30_000,
    token,
    count: s.enrollAgents,
    spreadMs: s.enrollSpreadMs,
    hostnamePrefix: "enrolled",
    watchCron: cron,
    timeoutMs: 30_000,
    ackBare: true,
  });
  try {
    await watcher?.until(
      result.agents.map((a) => a.id),
      15_000,
    );
    const starts = result.agents.map((a) => a.enrollAt);
    const ends = result.agents.map((a) => a.enrolledAt);
    return {
      agents: result.agents,
      acked: new Map(watcher?.seen ?? []),
      failures: result.failures,
      spanMs: result.agents.length ? Math.max(...ends) - Math.min(...starts) : 0,
    };
  } finally {
    watcher?.stop();
    await served.stop();
    await fleet.close();
  }
}

const fromHello = (e: Enrolled, at: (a: EnrolledArrival) => number | null | undefined) =>
  e.agents.flatMap((a) => {
    const t = at(a);
    return a.helloAt !== null && t !== null && t !== undefined ? [t - a.helloAt] : [];
  });

/** Runs the recomputation probe on the stopped server's data directory. */
async function probeRecompute(dataDir: string, policyId: string, rounds: number): Promise<RecomputeProbe> {
  const proc = track(
    Bun.spawn([process.execPath, join(BENCH_DIR, "load", "policy-recompute.ts"), dataDir, policyId, String(rounds)], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`policy-recompute.ts exited with ${code}: ${err.trim()}`);
  return JSON.parse(out) as RecomputeProbe;
}

export const policies: Benchmark = {
  name: "policies",
  title: BENCH,
  async run(ctx: BenchContext) {
    const s = ctx.quick ? QUICK : FULL;
    const n = s.agents;
    const size = n.toLocaleString("en-US");
    const work = tempDir("policies");
    const dataDir = join(work, "server");
    try {
      const { token } = await initDataDir(ctx.bins, dataDir);
      const hosts = seedHosts(dataDir, n, { labels: LABELS });
      const agents = hosts.map((h) => ({ id: h.id, token: h.token, scheduleId: h.scheduleId }));

      // The policy, made while nobody is connected; one host's list gives the frame's shape.
      let server = await startFleetServer(ctx.bins, dataDir);
      let api: Api = apiClient(server.url, token);
      const c0 = performance.now();
      const created = await api<{ id: string; matched_hosts: number; schedules: { id: string }[] }>(
        "/api/v1/policies",
        "POST",
        { name: "prod", selector: { labels: LABELS }, schedules: policySchedules(0) },
      );
      const createMs = performance.now() - c0;
      if (created.status !== 201)
        throw new Error(`POST /policies answered ${created.status}: ${JSON.stringify(created.body)}`);
      const policyId = created.body.id;
      const scheduleIds = created.body.schedules.map((x) => x.id);
      const listed = await api<{ items: Schedule[] }>(`/api/v1/hosts/${hosts[0]?.id}/schedules`);
      const hostSchedules = listed.body.items;
      await server.stop();
      const v0 = versions(dataDir).hi;
      ctx.log(
        `policy ${policyId}: ${created.body.matched_hosts} hosts matched in ${createMs.toFixed(0)} ms; each host has ${hostSchedules.length} schedules, version ${v0}`,
      );

      // Baseline: the bare server pushes the same frame to the same clients.
      ctx.log(`${n} agents → bare WebSocket server: ${s.rounds} pushes of a schedule.set`);
      const bare = await startBareWs(ctx.bins);
      const push = (r: number) =>
        fetch(`${bare.url}/schedule-set`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(setPayload(hostSchedules, r, v0 + r)),
        }).then(async (res) => {
          await res.arrayBuffer();
          return res;
        });
      await push(0);
      const b = await fanOut(ctx, bare, s, agents, "bare", push, null);

      ctx.log(`${n} agents → restic-fleet-server: ${s.rounds} PATCHes of the policy's crons`);
      server = await startFleetServer(ctx.bins, dataDir);
      api = apiClient(server.url, token);
      const f = await fanOut(
        ctx,
        server,
        s,
        agents,
        "fleet",
        (r) => api(`/api/v1/policies/${policyId}`, "PATCH", { schedules: policySchedules(r, scheduleIds) }),
        () => {
          // Every host is at the same version before a change, and one above it after.
          const v = versions(dataDir);
          if (v.lo !== v.hi) ctx.log(`  hosts' schedule versions differ before the change: ${v.lo}…${v.hi}`);
          return new AckWatcher(dataDir, { target: v.hi + 1 });
        },
      );

      // The recomputation alone, on the stopped server's data directory.
      ctx.log(`the recomputation alone: ${s.probeRounds} rounds, beside hand-written SQL`);
      const probe = await probeRecompute(dataDir, policyId, s.probeRounds);

      // Enrollment: bare first, then the server with a labelled token.
      ctx.log(`${s.enrollAgents} agents enroll over ${s.enrollSpreadMs / 1000} s → bare WebSocket server`);
      const bare2 = await startBareWs(ctx.bins);
      server = await startFleetServer(ctx.bins, dataDir);
      api = apiClient(server.url, token);
      const current = await api<{ schedules: { kind: string; cron_expr: string }[] }>(`/api/v1/policies/${policyId}`);
      const enrollCron = current.body.schedules.find((x) => x.kind === "backup")?.cron_expr ?? "";
      const enrolledPayload = {
        version: 1,
        schedules: hostSchedules
          .filter((x) => x.policy_id)
          .map((x) =>
            toEntry(
              { ...x, cron_expr: current.body.schedules.find((c) => c.kind === x.kind)?.cron_expr ?? x.cron_expr },
              1,
            ),
          ),
      };
      await fetch(`${bare2.url}/schedule-set`, { method: "POST", body: JSON.stringify(enrolledPayload) }).then((r) =>
        r.arrayBuffer(),
      );
      const eb = await enrollRun(bare2, s, "bare-token", "bare", enrollCron, null);

      ctx.log(
        `${s.enrollAgents} agents enroll over ${s.enrollSpreadMs / 1000} s with one labelled token → restic-fleet-server`,
      );
      const madeAt = new Date().toISOString();
      const tok = await api<{ token: string }>("/api/v1/enrollment-tokens", "POST", {
        uses: s.enrollAgents,
        labels: LABELS,
        expires_in: "1h",
      });
      if (tok.status !== 201)
        throw new Error(`POST /enrollment-tokens answered ${tok.status}: ${JSON.stringify(tok.body)}`);
      const ef = await enrollRun(
        server,
        s,
        tok.body.token,
        "fleet",
        enrollCron,
        new AckWatcher(dataDir, { enrolledAfter: madeAt }),
      );

      report(ctx, s, size, { b, f, probe, createMs, eb, ef });
    } finally {
      removeDir(work);
    }
  },
};

function report(
  ctx: BenchContext,
  s: Sizes,
  size: string,
  r: { b: FanOut; f: FanOut; probe: RecomputeProbe; createMs: number; eb: Enrolled; ef: Enrolled },
) {
  const { b, f, probe, eb, ef } = r;
  const n = s.agents;
  const bareSet = "bare server's push → frame arrived";
  const rounds = `median of ${s.rounds} rounds`;
  const p99 = (xs: number[]) => percentile(xs, 99);
  const missingAcks = f.rounds.reduce((a, x) => a + x.missingAcks, 0);
  const missingSets = f.rounds.reduce((a, x) => a + x.missingSets, 0);

  ctx.add(BENCH, {
    name: `PATCH → each agent's schedule.ack stored, p99 (${size} agents, 3 schedules; ${rounds})`,
    unit: "s",
    value: overRounds(f, (x) => p99(x.acked)) / 1000,
    baseline: overRounds(b, (x) => p99(x.set)) / 1000,
    baselineName: bareSet,
    target: { on: "value", max: 5 },
    met: missingAcks === 0,
    note: `per round ${each(f, (x) => p99(x.acked))} s (bare ${each(b, (x) => p99(x.set))} s); the ack's arrival is when a reader polling the database every 25 ms first saw it stored; acks not stored within 30 s: ${missingAcks}`,
  });
  ctx.add(BENCH, {
    name: `PATCH → each agent's schedule.ack stored, max (${size} agents; ${rounds})`,
    unit: "s",
    value: overRounds(f, (x) => max(x.acked)) / 1000,
    baseline: overRounds(b, (x) => max(x.set)) / 1000,
    baselineName: bareSet,
  });
  ctx.add(BENCH, {
    name: `PATCH → schedule.set with the new cron at the agent, p50 (${size} agents; ${rounds})`,
    unit: "s",
    value: overRounds(f, (x) => percentile(x.set, 50)) / 1000,
    baseline: overRounds(b, (x) => percentile(x.set, 50)) / 1000,
    baselineName: bareSet,
  });
  ctx.add(BENCH, {
    name: `PATCH → schedule.set with the new cron at the agent, p99 (${size} agents; ${rounds})`,
    unit: "s",
    value: overRounds(f, (x) => p99(x.set)) / 1000,
    baseline: overRounds(b, (x) => p99(x.set)) / 1000,
    baselineName: bareSet,
    note: `per round ${each(f, (x) => p99(x.set))} s (bare ${each(b, (x) => p99(x.set))} s); frame ${f.rounds[0]?.bytes ?? "?"} B (bare ${b.rounds[0]?.bytes ?? "?"} B); times from the simulated agents' clocks (the same machine's); the agent acks on arrival; missing: ${missingSets}`,
  });
  ctx.add(BENCH, {
    name: `PATCH /policies/:id wall time (${size} hosts recomputed, then pushed; ${rounds})`,
    unit: "s",
    value: overRounds(f, (x) => x.requestMs) / 1000,
    baseline: overRounds(b, (x) => x.requestMs) / 1000,
    baselineName: "bare server's push request",
    note: `per round ${each(f, (x) => x.requestMs, 3)} s (bare ${each(b, (x) => x.requestMs, 3)} s): the answer comes after the transaction, the ${size} sends and the policy's view; an upper bound of the recomputation (next row)`,
  });
  const tx = median(probe.rounds.map((x) => x.txMs));
  const bareTx = median(probe.rounds.map((x) => x.bareMs));
  ctx.add(BENCH, {
    name: `recomputation transaction (${probe.matchedHosts.toLocaleString("en-US")} hosts × ${probe.schedules} schedules, one transaction; median of ${probe.rounds.length})`,
    unit: "s",
    value: tx / 1000,
    baseline: bareTx / 1000,
    baselineName: "bun:sqlite writing the same rows",
    target: { on: "value", max: 1 },
    note: `the server's domain in-process over the stopped server's data directory, nobody connected: policies.update's store transaction ${probe.rounds.map((x) => x.txMs.toFixed(0)).join(", ")} ms, the whole call (with the policy's view) ${probe.rounds.map((x) => x.updateMs.toFixed(0)).join(", ")} ms; baseline ${probe.rounds.map((x) => x.bareMs.toFixed(0)).join(", ")} ms for ${probe.rounds[0]?.rows ?? 0} schedule rows and ${probe.rounds[0]?.hosts ?? 0} host versions`,
  });
  ctx.add(BENCH, {
    name: `POST /policies wall time (${size} hosts matched, none connected)`,
    unit: "s",
    value: r.createMs / 1000,
  });
  ctx.add(BENCH, {
    name: `server RSS during the fan-out, peak (${size} agents)`,
    unit: "MB",
    value: f.peakMb,
    baseline: f.idleMb,
    baselineName: "the same server connected and quiet, just before",
    target: { on: "ratio", max: 2 },
    note: `sampled every 50 ms from the first PATCH to ${s.gapMs / 1000} s after the last round's acks; the bare server: idle ${b.idleMb.toFixed(1)} MB, peak ${b.peakMb.toFixed(1)} MB`,
  });
  ctx.add(BENCH, {
    name: `server RSS growth during the fan-out (peak − idle, ${size} agents)`,
    unit: "MB",
    value: f.peakMb - f.idleMb,
    baseline: b.peakMb - b.idleMb,
    baselineName: "bare Bun WebSocket server, same pushes",
  });
  ctx.add(BENCH, {
    name: `agents with the new version stored, every round (of ${size})`,
    unit: "agents",
    value: Math.min(...f.rounds.map((x) => x.acked.length)),
    baseline: Math.min(...b.rounds.map((x) => x.set.length)),
    baselineName: "bare: frames arrived",
    target: { on: "value", equals: n },
    met: f.lost === 0,
    note: `connected in ${(f.connectMs / 1000).toFixed(2)} s (bare ${(b.connectMs / 1000).toFixed(2)} s); lost handshakes ${f.lost} (bare ${b.lost})`,
  });

  const e = s.enrollAgents;
  const spread = `${e} agents, one token, over ${s.enrollSpreadMs / 1000} s`;
  const helloSet = fromHello(ef, (a) => a.at);
  const bareHelloSet = fromHello(eb, (a) => a.at);
  const helloAck = fromHello(ef, (a) => ef.acked.get(a.id));
  const inTime = helloAck.filter((x) => x <= 10_000).length;
  const fails = Object.entries(ef.failures)
    .map(([k, v]) => `${v}× ${k}`)
    .join("; ");
  const enrollMs = ef.agents.map((a) => a.enrolledAt - a.enrollAt);
  const bareEnrollMs = eb.agents.map((a) => a.enrolledAt - a.enrollAt);
  ctx.add(BENCH, {
    name: `enrollment: hello → schedule.set with the policy's schedules, p99 (${spread})`,
    unit: "ms",
    value: p99(helloSet),
    baseline: p99(bareHelloSet),
    baselineName: "bare server's handshake",
  });
  ctx.add(BENCH, {
    name: `enrollment: hello → schedule.set with the policy's schedules, max (${spread})`,
    unit: "ms",
    value: max(helloSet),
    baseline: max(bareHelloSet),
    baselineName: "bare server's handshake",
  });
  ctx.add(BENCH, {
    name: `enrollment: hello → its schedule.ack stored, p99 (${spread})`,
    unit: "ms",
    value: p99(helloAck),
    baseline: p99(bareHelloSet),
    baselineName: "bare server's handshake",
    target: { on: "value", max: 10_000 },
    note: `max ${max(helloAck).toFixed(0)} ms; a reader polling the database every 25 ms saw the ack stored; enroll request p99 ${p99(enrollMs).toFixed(0)} ms (bare ${p99(bareEnrollMs).toFixed(0)} ms); all ${ef.agents.length} enrolled within ${(ef.spanMs / 1000).toFixed(1)} s${fails ? `; failures: ${fails}` : ""}`,
  });
  ctx.add(BENCH, {
    name: `enrollment: agents in sync with their policy within 10 s of hello (of ${e})`,
    unit: "agents",
    value: inTime,
    baseline: bareHelloSet.filter((x) => x <= 10_000).length,
    baselineName: "bare: schedule.set within 10 s",
    target: { on: "value", equals: e },
  });
}
