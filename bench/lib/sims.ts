// The parent's side of the simulated agents: spreads agents over child processes (each stays far
// below the 20,000 open-files limit), sends them commands and merges their answers.
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  type ConnectResult,
  type EnrollResult,
  emptySimStatus,
  type FireResult,
  type FromSim,
  type LogsResult,
  type SetArrival,
  type SimAgentSpec,
  type SimMode,
  type SimStatus,
  type ToSim,
} from "../load/sim-protocol.ts";
import { BENCH } from "./build.ts";
import { stopProcess, track } from "./cleanup.ts";

/** Agents per client process: 10,000 agents make 4 processes of 2,500 sockets each. */
export const AGENTS_PER_PROCESS = 2_500;

type Request = ToSim extends infer T ? (T extends { req: number } ? Omit<T, "req"> : never) : never;

class SimProcess {
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly proc: Subprocess;

  constructor() {
    this.proc = track(
      Bun.spawn([process.execPath, join(BENCH, "load", "agent-sim.ts")], {
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
        serialization: "json",
        ipc: (message) => this.#onMessage(message as FromSim),
      }),
    );
    void this.proc.exited.then((code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`simulated-agent process exited (${code})`));
      this.#pending.clear();
    });
  }

  #onMessage(m: FromSim) {
    const p = this.#pending.get(m.re);
    if (!p) return;
    this.#pending.delete(m.re);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  }

  request<T>(cmd: Request): Promise<T> {
    const req = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(req, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ ...cmd, req });
    });
  }
}

export function mergeStatus(list: readonly SimStatus[]): SimStatus {
  const out = emptySimStatus();
  for (const s of list) {
    out.agents += s.agents;
    out.ready += s.ready;
    out.sinceMark += s.sinceMark;
    out.handshakes += s.handshakes;
    out.lostHandshakes += s.lostHandshakes;
    out.connectFailures += s.connectFailures;
    out.closes += s.closes;
    out.watched += s.watched;
    for (const [k, v] of Object.entries(s.errors)) out.errors[k] = (out.errors[k] ?? 0) + v;
  }
  return out;
}

export interface SimFleetOptions {
  mode: SimMode;
  heartbeatMs: number;
  concurrency?: number;
  timeoutMs?: number;
  perProcess?: number;
  /** The server's certificate (PEM) to trust, when it serves TLS (`Served.ca`). */
  ca?: string | undefined;
  /** Answer schedule.set with schedule.ack against the bare server too (same frames both sides). */
  ackBare?: boolean;
}

/** N simulated agents connected to one server. */
export class SimFleet {
  private constructor(
    readonly procs: SimProcess[],
    readonly agents: readonly SimAgentSpec[],
    /** Agents per process, for splitting a total fire rate. */
    readonly shares: readonly number[],
  ) {}

  /** Spawns the client processes and connects every agent; resolves once all shook hands (or timed out). */
  static async connect(
    url: string,
    agents: readonly SimAgentSpec[],
    o: SimFleetOptions,
  ): Promise<{ fleet: SimFleet; connect: ConnectResult }> {
    const per = o.perProcess ?? AGENTS_PER_PROCESS;
    const groups: SimAgentSpec[][] = [];
    for (let i = 0; i < agents.length; i += per) groups.push(agents.slice(i, i + per));
    const procs = groups.map(() => new SimProcess());
    const fleet = new SimFleet(
      procs,
      agents,
      groups.map((g) => g.length),
    );
    const started = performance.now();
    const results = await Promise.all(
      procs.map((p, i) =>
        p.request<ConnectResult>({
          op: "connect",
          url,
          agents: groups[i] as SimAgentSpec[],
          mode: o.mode,
          heartbeatMs: o.heartbeatMs,
          concurrency: o.concurrency ?? 100,
          timeoutMs: o.timeoutMs ?? 180_000,
          ...(o.ca ? { ca: o.ca } : {}),
          ...(o.ackBare ? { ackBare: true } : {}),
        }),
      ),
    );
    return {
      fleet,
      connect: { status: mergeStatus(results.map((r) => r.status)), ms: performance.now() - started },
    };
  }

  /**
   * `count` new agents in one client process, each enrolling over HTTP with `token` (starts spread
   * over `spreadMs`) and then connecting; resolves once every one has a schedule.set carrying
   * `watchCron`, or after `timeoutMs`.
   */
  static async enroll(
    url: string,
    o: Omit<SimFleetOptions, "concurrency" | "perProcess" | "timeoutMs"> & {
      token: string;
      count: number;
      spreadMs: number;
      hostnamePrefix: string;
      watchCron: string;
      timeoutMs: number;
    },
  ): Promise<{ fleet: SimFleet; result: EnrollResult }> {
    const proc = new SimProcess();
    const fleet = new SimFleet([proc], [], [o.count]);
    const result = await proc.request<EnrollResult>({
      op: "enroll",
      url,
      token: o.token,
      count: o.count,
      spreadMs: o.spreadMs,
      hostnamePrefix: o.hostnamePrefix,
      mode: o.mode,
      heartbeatMs: o.heartbeatMs,
      watchCron: o.watchCron,
      timeoutMs: o.timeoutMs,
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.ackBare ? { ackBare: true } : {}),
    });
    return { fleet, result };
  }

  /** From now on every agent notes the arrival of the first schedule.set that carries `cron`. */
  async watch(cron: string): Promise<void> {
    await Promise.all(this.procs.map((p) => p.request({ op: "watch", cron })));
  }

  /** Per agent: when that schedule.set arrived (epoch ms; null if it has not). */
  async watched(): Promise<SetArrival[]> {
    return (await Promise.all(this.procs.map((p) => p.request<SetArrival[]>({ op: "watched" })))).flat();
  }

  async status(): Promise<SimStatus> {
    return mergeStatus(await Promise.all(this.procs.map((p) => p.request<SimStatus>({ op: "status" }))));
  }

  async mark(): Promise<SimStatus> {
    return mergeStatus(await Promise.all(this.procs.map((p) => p.request<SimStatus>({ op: "mark" }))));
  }

  /** Fires at `ratePerSec` in total, spread over the processes by their share of agents. */
  async fire(ratePerSec: number, durationMs: number, drainMs = 30_000): Promise<FireResult> {
    const total = this.agents.length;
    const results = await Promise.all(
      this.procs.map((p, i) => {
        const share = (this.shares[i] ?? 0) / total;
        return p.request<FireResult>({ op: "fire", ratePerSec: ratePerSec * share, durationMs, drainMs });
      }),
    );
    const out: FireResult = {
      sent: 0,
      received: 0,
      latencies: [],
      jobIds: [],
      unmatched: 0,
      pendingAtEnd: 0,
      errors: {},
    };
    for (const r of results) {
      out.sent += r.sent;
      out.received += r.received;
      for (const l of r.latencies) out.latencies.push(l);
      for (const j of r.jobIds) out.jobIds.push(j);
      out.unmatched += r.unmatched;
      out.pendingAtEnd += r.pendingAtEnd;
      for (const [k, v] of Object.entries(r.errors)) out.errors[k] = (out.errors[k] ?? 0) + v;
    }
    return out;
  }

  async logs(frames: number, lines: number, window: number, timeoutMs = 300_000): Promise<LogsResult> {
    const results = await Promise.all(
      this.procs.map((p) => p.request<LogsResult>({ op: "logs", frames, lines, window, timeoutMs })),
    );
    const out: LogsResult = { frames: 0, lines: 0, ackedFrames: 0, ms: 0, errors: {} };
    for (const r of results) {
      out.frames += r.frames;
      out.lines += r.lines;
      out.ackedFrames += r.ackedFrames;
      out.ms = Math.max(out.ms, r.ms);
      for (const [k, v] of Object.entries(r.errors)) out.errors[k] = (out.errors[k] ?? 0) + v;
    }
    return out;
  }

  /** Polls until `done(status)` or the timeout; resolves with the last status and whether it finished. */
  async waitFor(
    done: (s: SimStatus) => boolean,
    timeoutMs: number,
    pollMs = 100,
  ): Promise<{ status: SimStatus; ok: boolean }> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (done(s)) return { status: s, ok: true };
      if (performance.now() > until) return { status: s, ok: false };
      await Bun.sleep(pollMs);
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p) => {
        await p.request({ op: "close" }).catch(() => {});
        await stopProcess(p.proc, 3_000);
      }),
    );
  }
}
