import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  type AgentMessageType,
  encode,
  envelopeOf,
  type PayloadOf,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../../protocol/index.ts";
import { clockSleep, reconnectLoop } from "./backoff.ts";
import type { Clock } from "./clock.ts";
import { connectOnce, type Link } from "./connection.ts";
import { hostInfo } from "./host-info.ts";
import { IDLE_JIT_POLICY, type SetJitPolicy, WORK_JIT_POLICY } from "./jit-policy.ts";
import type { Logger, Redactor } from "./log.ts";
import { Outbox, type OutboxEnvelope } from "./outbox.ts";
import { bunSpawn, detectResticVersion, type RepoConfig, type SpawnFn, Supervisor } from "./restic/index.ts";
import { Scheduler, toRfc3339 } from "./scheduler.ts";
import { clearOwnStaleLocks } from "./stale-locks.ts";
import type { Identity } from "./state/state-files.ts";
import { StateStore } from "./state/state-store.ts";
import { writeRuntimeStatus } from "./status.ts";

export const RESTARTED_ERROR = "agent restarted during the job; the repository was unlocked";

export interface AgentOptions {
  stateDir: string;
  resticPath: string;
  allowRemoteHooks: boolean;
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  version: string;
  spawn?: SpawnFn;
  cancelGraceMs?: number;
  /** Switches JavaScriptCore's JIT policy between idle and working (main.ts: Bun's); none in tests. */
  setJitPolicy?: SetJitPolicy;
}

/**
 * The agent's core: holds the state, the outbox, the scheduler and the restic supervisor, and
 * talks to the server through one connection at a time (DESIGN.md §2.1, §4).
 */
export class Agent {
  #link: Link | null = null;
  #inbox: Promise<void> = Promise.resolve();
  /** job.finished envelope id → job id, to forget the job once the server acks its result. */
  #finishedEnvelopes = new Map<string, string>();
  /** schedule.fire frames sent but not yet acked by the server: re-sent after a reconnect. */
  #unackedFires = new Map<string, string>();
  #resticVersion = "unknown";
  readonly supervisor: Supervisor;
  readonly scheduler: Scheduler;

  private constructor(
    private readonly o: AgentOptions,
    readonly state: StateStore,
    readonly outbox: Outbox,
    readonly identity: Identity,
  ) {
    this.supervisor = new Supervisor({
      resticPath: o.resticPath,
      ...(o.spawn ? { spawn: o.spawn } : {}),
      clock: o.clock,
      emit: this.emit,
      allowRemoteHooks: o.allowRemoteHooks,
      tempDir: join(o.stateDir, "tmp"),
      cacheDir: join(o.stateDir, "cache"),
      ...(o.cancelGraceMs !== undefined ? { cancelGraceMs: o.cancelGraceMs } : {}),
      getRepo: () => this.repo(),
      resticHost: identity.restic_host ?? hostInfo().hostname,
      machineHostname: hostInfo().hostname,
      // The JIT works normally while jobs (and their reports) run, and is held back otherwise.
      onBusy: (busy) => o.setJitPolicy?.(busy ? WORK_JIT_POLICY : IDLE_JIT_POLICY),
    });
    this.scheduler = new Scheduler({
      clock: o.clock,
      send: null,
      state: { getLastFire: (id) => state.getLastFire(id), setLastFire: (id, at) => state.setLastFire(id, at) },
      log: o.log,
    });
  }

  /** Opens the state dir; null (with a logged reason) when the agent is not enrolled. */
  static async open(o: AgentOptions): Promise<Agent | null> {
    await mkdir(join(o.stateDir, "tmp"), { recursive: true, mode: 0o700 });
    const state = await StateStore.open(o.stateDir, { log: o.log, clock: o.clock });
    let identity = state.identity();
    if (!identity) return null;
    if (!identity.restic_host) {
      // Enrolled by an agent before protocol 2, whose restic wrote the machine's hostname into
      // every snapshot: keep that name, so this host's retention and mirror still see them.
      identity = { ...identity, restic_host: hostInfo().hostname };
      await state.setIdentity(identity);
      o.log.info("adopted the machine's hostname as this host's restic host name", {
        restic_host: identity.restic_host,
      });
    }
    const outbox = await Outbox.open(o.stateDir, { clock: o.clock, log: o.log });
    o.redactor.add(identity.agent_token);
    o.redactor.add(state.config()?.repo_password);
    o.redactor.add(state.config()?.repo_credential);
    o.redactor.addUrlPassword(state.config()?.repo_url);
    return new Agent(o, state, outbox, identity);
  }

  repo(): RepoConfig | null {
    const c = this.state.config();
    if (!c?.repo_url || !c.repo_password) return null;
    return {
      repo_url: c.repo_url,
      repo_password: c.repo_password,
      ...(c.repo_username ? { repo_username: c.repo_username } : {}),
      ...(c.repo_credential ? { repo_credential: c.repo_credential } : {}),
      ...(c.hook_shell ? { hook_shell: c.hook_shell } : {}),
    };
  }

  get connected(): boolean {
    return this.#link !== null;
  }

  /** Every agent → server report goes through here: state first, then the outbox, then the wire. */
  readonly emit = <T extends AgentMessageType>(type: T, payload: PayloadOf<T>): void => {
    const env = envelopeOf(type, payload, { now: () => this.o.clock.now() }) as OutboxEnvelope;
    const failed = (what: string) => (err: unknown) =>
      this.o.log.error(`${what} failed: check the state dir's disk`, {
        error: String(err),
        state_dir: this.o.stateDir,
      });
    if (env.type === "job.started")
      void this.state.setJobState(env.payload.job_id, "running").catch(failed("state write"));
    const stored = this.outbox.push(env);
    if (env.type === "job.finished") {
      const jobId = env.payload.job_id;
      this.#finishedEnvelopes.set(env.id, jobId);
      // Only once the result is durable in the outbox does the job count as finished here.
      void stored.then(() => this.state.setJobState(jobId, "finished")).catch(failed("state write"));
    }
    void stored.catch(failed("outbox write"));
    this.#link?.send(JSON.stringify(env));
    if (env.type === "job.started" || env.type === "job.finished") void this.#writeStatus();
  };

  /** Recovers from the last run: a job that was running failed; accepted ones run again, in order. */
  async recover(): Promise<void> {
    for (const env of this.outbox.pending()) {
      if (env.type === "job.finished") this.#finishedEnvelopes.set(env.id, env.payload.job_id);
    }
    const jobs = [...this.state.jobs()];
    // A finished job whose result left the outbox (acked) while the state write was lost: forget it.
    const pendingResults = new Set(this.#finishedEnvelopes.values());
    for (const j of jobs) {
      if (j.state === "finished" && !pendingResults.has(j.command.job_id)) await this.state.removeJob(j.command.job_id);
    }
    const interrupted = jobs.filter((j) => j.state === "running");
    for (const j of interrupted) {
      this.o.log.warn("a job was running when the agent stopped; reporting it failed", { job_id: j.command.job_id });
      this.emit("job.finished", {
        job_id: j.command.job_id,
        status: "failed",
        exit_code: -1,
        finished_at: this.o.clock.now().toISOString(),
        error: RESTARTED_ERROR,
      });
    }
    await this.state.settled();
    // A killed restic leaves its lock behind; the next job would fail on it.
    const repo = this.repo();
    if (interrupted.length > 0 && repo) {
      await clearOwnStaleLocks({
        resticPath: this.o.resticPath,
        repo,
        spawn: this.o.spawn ?? bunSpawn,
        tempDir: join(this.o.stateDir, "tmp"),
        cacheDir: join(this.o.stateDir, "cache"),
        log: this.o.log,
      }).catch((err) => this.o.log.warn("could not clear stale locks", { error: String(err) }));
    }
    for (const j of jobs) if (j.state === "accepted") this.supervisor.enqueue(j.command);
  }

  async #handle(msg: ServerMessage): Promise<void> {
    switch (msg.type) {
      case "config.update": {
        const c = await this.state.applyConfigUpdate(msg.payload);
        this.o.redactor.add(c.repo_password);
        this.o.redactor.add(c.repo_credential);
        this.o.redactor.addUrlPassword(c.repo_url);
        this.o.log.info("repository settings updated", { fields: Object.keys(msg.payload) });
        return;
      }
      case "schedule.set": {
        await this.state.setScheduleSet(msg.payload);
        // A schedule's first tick counts as missed too if the agent is down when it falls.
        const now = toRfc3339(this.o.clock.now());
        for (const entry of msg.payload.schedules) {
          if (entry.enabled && !this.state.getLastFire(entry.id)) await this.state.setLastFire(entry.id, now);
        }
        const version = await this.scheduler.apply(msg.payload);
        this.#send("schedule.ack", { version, applied_at: this.o.clock.now().toISOString() });
        this.o.log.info("schedules applied", { version, count: msg.payload.schedules.length });
        return;
      }
      case "command.run": {
        const id = msg.payload.job_id;
        // A job we already have (queued, running, or finished with its result not yet acked) is
        // answered again, never run twice.
        if (!this.state.getJob(id)) {
          try {
            // Persisted before it is acknowledged: an accepted job is never lost to a restart.
            await this.state.acceptJob(msg.payload);
          } catch (err) {
            this.o.log.error("could not persist an accepted job", { job_id: id, error: String(err) });
            this.emit("command.result", {
              job_id: id,
              accepted: false,
              error: `the agent could not write its state dir (${this.o.stateDir}): free disk space or fix permissions`,
            });
            return;
          }
          this.supervisor.enqueue(msg.payload);
        }
        this.emit("command.result", { job_id: id, accepted: true });
        return;
      }
      case "command.cancel":
        if (!this.supervisor.cancel(msg.payload.job_id)) {
          this.o.log.info("cancel for a job that is not queued or running here", { job_id: msg.payload.job_id });
        }
        return;
      case "ack":
        for (const id of msg.payload.ids) {
          this.#unackedFires.delete(id);
          const jobId = this.#finishedEnvelopes.get(id);
          if (jobId !== undefined) {
            this.#finishedEnvelopes.delete(id);
            await this.state
              .removeJob(jobId)
              .catch((err) => this.o.log.warn("state write failed", { error: String(err) }));
          }
        }
        this.outbox.ack(msg.payload.ids);
        return;
      case "error":
        this.o.log.warn("the server reported an error", { ...msg.payload });
        // A frame the server found invalid will be refused every time: keeping it would block the outbox.
        if (msg.payload.code === "invalid_message" && msg.payload.ref_id && this.outbox.ack([msg.payload.ref_id]) > 0) {
          this.o.log.error("dropped a report the server refused as invalid", { ref_id: msg.payload.ref_id });
        }
        return;
      case "agent.update_available":
        this.o.log.info("a newer agent is available; update it with your package manager", { ...msg.payload });
        return;
      default: {
        const unreachable: never = msg;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Live-only messages (hello, heartbeat, schedule.ack): not kept in the outbox. */
  #send<T extends AgentMessageType>(type: T, payload: PayloadOf<T>): boolean {
    return this.#link?.send(encode(type, payload, { now: () => this.o.clock.now() })) ?? false;
  }

  #onOpen(link: Link): void {
    this.#link = link;
    const info = hostInfo(this.o.clock.now());
    this.#send("hello", {
      protocol_version: PROTOCOL_VERSION,
      agent_version: this.o.version,
      restic_version: this.#resticVersion,
      ...info,
      ...(this.identity.restic_host ? { restic_host: this.identity.restic_host } : {}),
    });
    // Whatever the server has not acked yet, in order; it stores by envelope id, so repeats are harmless.
    for (const env of this.outbox.pending()) link.send(JSON.stringify(env));
    // Fires the last connection took but the server never acked (it went away): again, same id.
    for (const text of this.#unackedFires.values()) link.send(text);
    this.scheduler.setSend((m) => {
      const text = JSON.stringify(m);
      if (m.type === "schedule.fire") {
        this.#unackedFires.set(m.id, text);
        // Bounded: a server that never acks fires (older than this agent) must not grow it forever.
        if (this.#unackedFires.size > 1000) this.#unackedFires.delete(this.#unackedFires.keys().next().value as string);
      }
      return link.send(text);
    });
    void this.#writeStatus();
  }

  #onClose(): void {
    this.#link = null;
    this.scheduler.setSend(null);
    void this.#writeStatus();
  }

  #writeStatus(): Promise<void> {
    return writeRuntimeStatus(this.o.stateDir, {
      pid: process.pid,
      updated_at: this.o.clock.now().toISOString(),
      server: this.identity.server_url,
      connected: this.connected,
      restic_version: this.#resticVersion,
      running_job: this.supervisor.running,
      queued_jobs: this.supervisor.queued,
      outbox_depth: this.outbox.depth,
    }).catch((err) => this.o.log.warn("could not write status.json", { error: String(err) }));
  }

  /** Runs until `signal` aborts ("stopped") or the server refuses the token ("unauthorized"). */
  async run(signal: AbortSignal): Promise<"stopped" | "unauthorized"> {
    // The compiled agent starts with it already; this covers `bun agent/src/main.ts run`.
    this.o.setJitPolicy?.(IDLE_JIT_POLICY);
    const version = await detectResticVersion(this.o.resticPath, this.o.spawn);
    if (version) this.#resticVersion = version.version;
    else {
      this.o.log.error(
        `restic not found or not working at "${this.o.resticPath}": install restic or pass --restic PATH`,
      );
    }
    await this.recover();
    const set = this.state.scheduleSet();
    if (set) await this.scheduler.apply(set);
    this.scheduler.start();
    await this.#writeStatus();

    const outcome = await reconnectLoop({
      clock: this.o.clock,
      sleep: clockSleep(this.o.clock),
      signal,
      connect: () =>
        connectOnce({
          serverUrl: this.identity.server_url,
          token: this.identity.agent_token,
          clock: this.o.clock,
          log: this.o.log,
          signal,
          heartbeat: () => encode("heartbeat", { sent_at: this.o.clock.now().toISOString() }),
          onOpen: (link) => this.#onOpen(link),
          onClose: () => this.#onClose(),
          onMessage: (msg) => {
            // One at a time, in arrival order: a schedule.set must be applied before the next.
            this.#inbox = this.#inbox
              .then(() => this.#handle(msg))
              .catch((err) =>
                this.o.log.error("handling a server message failed", { type: msg.type, error: String(err) }),
              );
          },
        }),
      onRetry: (info) => this.o.log.info("reconnecting", { in_ms: info.delayMs, attempt: info.attempt }),
      onGiveUp: () =>
        this.o.log.error(
          "the server refused this agent's token (host revoked or unknown): stopping. " +
            "Enroll again with: restic-fleet-agent enroll --server URL --token T",
        ),
    });
    await this.stop();
    return outcome;
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
    await this.supervisor.stop();
    await this.#inbox;
    await this.outbox.flush();
    await this.state.settled();
    await this.outbox.close();
    this.#link = null;
    await this.#writeStatus();
    await rm(join(this.o.stateDir, "tmp"), { recursive: true, force: true }).catch(() => {});
  }
}
