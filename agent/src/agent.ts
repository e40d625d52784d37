import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  type AgentMessageType,
  encode,
  encodeChunkFrame,
  envelopeOf,
  type PayloadOf,
  PROTOCOL_VERSION,
  type ReportedHostPolicy,
} from "../../protocol/index.ts";
import { Autonomy } from "./autonomy.ts";
import { clockSleep, reconnectLoop } from "./backoff.ts";
import { agentCommandLine } from "./cli/hint.ts";
import type { Clock } from "./clock.ts";
import { connectTrusted, type Link } from "./connection.ts";
import { Delivery } from "./delivery.ts";
import { handleServerMessage, type MessageContext } from "./handle-message.ts";
import { hostInfo, hostTimeZone } from "./host-info.ts";
import { IdlePages, type ReleasePages } from "./idle-pages.ts";
import { IDLE_JIT_POLICY, type SetJitPolicy, WORK_JIT_POLICY } from "./jit-policy.ts";
import { LiveRequests } from "./live/live-requests.ts";
import type { Logger, Redactor } from "./log.ts";
import { pinFirstRepository } from "./policy/repository-pin.ts";
import { recoverJobs } from "./recovery.ts";
import { removeLeftoverDrillFolders } from "./restic/drill.ts";
import { bunSpawn, detectResticVersion, type RepoConfig, type SpawnFn, Supervisor } from "./restic/index.ts";
import { removeLeftoverPasswordFiles, secretEnvValues } from "./restic/secrets.ts";
import { Scheduler } from "./scheduler.ts";
import { Outbox, type OutboxEnvelope } from "./state/outbox.ts";
import type { Identity } from "./state/state-files.ts";
import { StateStore } from "./state/state-store.ts";
import { writeRuntimeStatus } from "./status.ts";
import { adoptAnnouncedPins } from "./tls/announced-pins.ts";
import type { ServerTrust } from "./tls/server-trust.ts";

/** Read once: neither changes while the agent runs (a rename or a new zone needs a restart). */
const MACHINE_HOSTNAME = hostInfo().hostname;
const HOST_TIME_ZONE = hostTimeZone();

export interface AgentOptions {
  stateDir: string;
  resticPath: string;
  /** The host's own policy (policy/load-policy.ts), reported in every hello. */
  policy: ReportedHostPolicy;
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  version: string;
  spawn?: SpawnFn;
  cancelGraceMs?: number;
  /** Switches JavaScriptCore's JIT policy between idle and working (main.ts: Bun's); none in tests. */
  setJitPolicy?: SetJitPolicy;
  /** Gives the runtime's start-up pages back while idle (main.ts: idle-pages.ts); none in tests. */
  releasePages?: ReleasePages;
}

/**
 * The agent's core: holds the state, the outbox, the scheduler and the restic supervisor, and
 * talks to the server through one connection at a time, which it dials out. It only wires them:
 * delivery.ts keeps the reports until acked, handle-message.ts acts on each server message, and
 * recovery.ts closes what the last run left open.
 */
export class Agent {
  #link: Link | null = null;
  #inbox: Promise<void> = Promise.resolve();
  #resticVersion = "unknown";
  readonly delivery: Delivery;
  readonly supervisor: Supervisor;
  readonly scheduler: Scheduler;
  /** Backups on the agent's own authority while the link is down, and the ledger of fires (autonomy.ts). */
  readonly autonomy: Autonomy;
  /** Browse and download requests: live-only, beside the job queue (live/live-requests.ts). */
  readonly live: LiveRequests;
  readonly #messages: MessageContext;
  readonly #idlePages: IdlePages | null;

  private constructor(
    private readonly o: AgentOptions,
    readonly state: StateStore,
    readonly outbox: Outbox,
    readonly identity: Identity,
  ) {
    this.delivery = new Delivery({ outbox, state, log: o.log, stateDir: o.stateDir });
    this.#idlePages = o.releasePages ? new IdlePages({ clock: o.clock, log: o.log, release: o.releasePages }) : null;
    this.supervisor = new Supervisor({
      resticPath: o.resticPath,
      ...(o.spawn ? { spawn: o.spawn } : {}),
      clock: o.clock,
      emit: this.emit,
      policy: o.policy,
      repositoryPin: () => this.state.identity()?.repository_pin ?? null,
      heldTokens: () => [this.identity.agent_token],
      tempDir: join(o.stateDir, "tmp"),
      cacheDir: join(o.stateDir, "cache"),
      ...(o.cancelGraceMs !== undefined ? { cancelGraceMs: o.cancelGraceMs } : {}),
      getRepo: () => this.repo(),
      // open() gave every identity a restic host name (an older one adopts the machine's).
      resticHost: identity.restic_host ?? MACHINE_HOSTNAME,
      machineHostname: MACHINE_HOSTNAME,
      // The JIT works normally while jobs (and their reports) run, and is held back otherwise.
      // Once idle again, the pages the jobs touched are given back (idle-pages.ts).
      onBusy: (busy) => {
        o.setJitPolicy?.(busy ? WORK_JIT_POLICY : IDLE_JIT_POLICY);
        if (busy) this.#idlePages?.busy();
        else this.#idlePages?.idle();
      },
    });
    this.live = new LiveRequests({
      resticPath: o.resticPath,
      spawn: o.spawn ?? bunSpawn,
      clock: o.clock,
      log: o.log,
      tempDir: join(o.stateDir, "tmp"),
      cacheDir: join(o.stateDir, "cache"),
      ...(o.cancelGraceMs !== undefined ? { cancelGraceMs: o.cancelGraceMs } : {}),
      getRepo: () => this.repo(),
      policy: o.policy,
      repositoryPin: () => this.state.identity()?.repository_pin ?? null,
      heldTokens: () => [this.identity.agent_token],
      resticHost: identity.restic_host ?? MACHINE_HOSTNAME,
      machineHost: MACHINE_HOSTNAME,
      send: (type, payload) => this.#send(type, payload),
      sendChunk: (requestId, seq, bytes) => this.#link?.send(encodeChunkFrame(requestId, seq, bytes)) ?? false,
    });
    this.scheduler = new Scheduler({
      clock: o.clock,
      send: null,
      state: { getLastFire: (id) => state.getLastFire(id), setLastFire: (id, at) => state.setLastFire(id, at) },
      log: o.log,
      hooks: {
        delivered: (id, at, fireId) => this.autonomy.delivered(id, at, fireId),
        unsent: () => this.autonomy.check(),
      },
    });
    this.autonomy = new Autonomy({
      clock: o.clock,
      state,
      scheduler: this.scheduler,
      log: o.log,
      enqueue: (cmd) => this.supervisor.enqueue(cmd),
      changed: () => void this.#writeStatus(),
    });
    this.#messages = {
      state,
      scheduler: this.scheduler,
      autonomy: this.autonomy,
      supervisor: this.supervisor,
      live: this.live,
      delivery: this.delivery,
      redactor: o.redactor,
      log: o.log,
      clock: o.clock,
      stateDir: o.stateDir,
      policy: o.policy,
      adoptPins: (p) => adoptAnnouncedPins(state, p, o.log),
      emit: this.emit,
      send: (type, payload) => this.#send(type, payload),
    };
  }

  /** Opens the state dir; null (with a logged reason) when the agent is not enrolled. */
  static async open(o: AgentOptions): Promise<Agent | null> {
    const tmp = join(o.stateDir, "tmp");
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    // Only a job's clean end removes its password file: a crash leaves it here.
    const leftover = await removeLeftoverPasswordFiles(tmp);
    if (leftover) o.log.info("removed password files left by an earlier run", { count: leftover, dir: tmp });
    // A drill's restored files, left by a crash mid-drill (they can be large).
    const drills = await removeLeftoverDrillFolders(tmp, (text) => o.log.warn(text));
    if (drills) o.log.info("removed drill folders left by an earlier run", { count: drills, dir: tmp });
    const state = await StateStore.open(o.stateDir, { log: o.log, clock: o.clock });
    let identity = state.identity();
    if (!identity) return null;
    if (!identity.restic_host) {
      // Enrolled by an agent before protocol 2, whose restic wrote the machine's hostname into
      // every snapshot: keep that name, so this host's retention and mirror still see them.
      identity = { ...identity, restic_host: MACHINE_HOSTNAME };
      await state.setIdentity(identity);
      o.log.info("adopted the machine's hostname as this host's restic host name", {
        restic_host: identity.restic_host,
      });
    }
    // Under `repositories: "first"`, a host that already has a repository is pinned to it.
    await pinFirstRepository(state, o.policy, state.config()?.repo_url, o.clock, o.log);
    const outbox = await Outbox.open(o.stateDir, { clock: o.clock, log: o.log });
    o.redactor.add(identity.agent_token);
    o.redactor.add(state.config()?.repo_password);
    o.redactor.add(state.config()?.repo_credential);
    for (const value of secretEnvValues(state.config()?.repo_env)) o.redactor.add(value);
    o.redactor.addUrlPassword(state.config()?.repo_url);
    for (const t of state.config()?.copy_targets ?? []) {
      o.redactor.add(t.repo_password);
      for (const value of secretEnvValues(t.repo_env)) o.redactor.add(value);
      o.redactor.addUrlPassword(t.repo_url);
    }
    return new Agent(o, state, outbox, identity);
  }

  /** How the server's certificate is checked: read per connection, so an announced next pin applies. */
  #trust(): ServerTrust {
    const id = this.state.identity() ?? this.identity;
    return { pins: id.tls_pins, ca: id.tls_ca };
  }

  repo(): RepoConfig | null {
    const c = this.state.config();
    if (!c?.repo_url || !c.repo_password) return null;
    return {
      repo_url: c.repo_url,
      repo_password: c.repo_password,
      ...(c.repo_username ? { repo_username: c.repo_username } : {}),
      ...(c.repo_credential ? { repo_credential: c.repo_credential } : {}),
      ...(c.repo_env && Object.keys(c.repo_env).length > 0 ? { repo_env: c.repo_env } : {}),
      ...(c.hook_shell ? { hook_shell: c.hook_shell } : {}),
      ...(c.auto_init ? { auto_init: true } : {}),
      ...(c.copy_targets?.length ? { copy_targets: c.copy_targets } : {}),
    };
  }

  get connected(): boolean {
    return this.#link !== null;
  }

  /** Every agent → server report goes through here: state first, then the outbox, then the wire. */
  readonly emit = <T extends AgentMessageType>(type: T, payload: PayloadOf<T>): void => {
    // A backup started on the agent's own authority says so, with its tick (protocol 10).
    const autonomous =
      type === "job.started" ? this.state.getJob((payload as PayloadOf<"job.started">).job_id)?.autonomous : undefined;
    const body = (autonomous ? { ...payload, autonomous } : payload) as PayloadOf<T>;
    if (type === "job.finished") {
      // While the server is away the log is the only record of a backup run here: say how it ended.
      const p = payload as PayloadOf<"job.finished">;
      const held = this.state.getJob(p.job_id)?.autonomous;
      if (held) {
        this.o.log.info(`backup ${p.job_id} run on the agent's own authority ended: ${p.status}`, {
          job_id: p.job_id,
          schedule_id: held.schedule_id,
          scheduled_at: held.scheduled_at,
        });
      }
    }
    const env = envelopeOf(type, body, { now: () => this.o.clock.now() }) as OutboxEnvelope;
    this.delivery.keep(env);
    this.#link?.send(JSON.stringify(env));
    if (env.type === "job.started" || env.type === "job.finished") void this.#writeStatus();
  };

  /** Recovers from the last run (recovery.ts), before the first connection. */
  recover(): Promise<void> {
    return recoverJobs({
      state: this.state,
      delivery: this.delivery,
      supervisor: this.supervisor,
      emit: this.emit,
      log: this.o.log,
      clock: this.o.clock,
      repo: () => this.repo(),
      staleLocks: {
        resticPath: this.o.resticPath,
        spawn: this.o.spawn ?? bunSpawn,
        tempDir: join(this.o.stateDir, "tmp"),
        cacheDir: join(this.o.stateDir, "cache"),
        log: this.o.log,
      },
    });
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
      // Every job held here, finished ones included until their result is acked: the server fails
      // the jobs it thinks accepted or running that are not in this list.
      active_job_ids: this.state.jobs().map((j) => j.command.job_id),
      ...(HOST_TIME_ZONE ? { timezone: HOST_TIME_ZONE } : {}),
      policy: this.o.policy,
    });
    this.autonomy.linkUp();
    this.scheduler.setSend(this.delivery.resend(link));
    void this.#writeStatus();
    // Connecting (and the schedule.set that follows) is the end of start-up.
    this.#idlePages?.quiet();
  }

  #onClose(): void {
    this.#link = null;
    // Nobody can receive the rest of a browse or download: stop their restic now.
    this.live.cancelAll();
    this.scheduler.setSend(null);
    this.autonomy.linkDown();
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
      autonomy: this.autonomy.status(),
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
    // Released again after each connection; this covers a server that cannot be reached.
    this.#idlePages?.quiet();

    const outcome = await reconnectLoop({
      clock: this.o.clock,
      sleep: clockSleep(this.o.clock),
      signal,
      connect: () =>
        connectTrusted(
          {
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
                .then(() => handleServerMessage(msg, this.#messages))
                .catch((err) =>
                  this.o.log.error("handling a server message failed", { type: msg.type, error: String(err) }),
                );
            },
          },
          this.#trust(),
        ),
      onRetry: (info) =>
        this.o.log.info("reconnecting", { in_ms: info.delayMs, attempt: info.attempt, reason: info.why ?? "unknown" }),
      onGiveUp: () =>
        this.o.log.error(
          "the server refused this agent's token (host revoked or unknown): stopping. " +
            `Enroll again with: ${agentCommandLine("enroll --force --server URL --token T", this.o.stateDir)}`,
        ),
    });
    await this.stop();
    return outcome;
  }

  async stop(): Promise<void> {
    this.#idlePages?.stop();
    this.autonomy.stop();
    await this.scheduler.stop();
    await this.autonomy.settled();
    await this.supervisor.stop();
    await this.live.stop();
    await this.#inbox;
    await this.outbox.flush();
    await this.state.settled();
    await this.outbox.close();
    this.#link = null;
    await this.#writeStatus();
    await rm(join(this.o.stateDir, "tmp"), { recursive: true, force: true }).catch(() => {});
  }
}
