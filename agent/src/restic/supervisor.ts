import type { CommandRunPayload } from "../../../protocol/index.ts";
import { type LastCheck, SnapshotSizes } from "./follow-up.ts";
import { type JobContext, JobRun } from "./job-run.ts";
import { bunSpawn } from "./spawn.ts";
import type { Emit, ResticFeatures, SupervisorOptions } from "./types.ts";
import { detectResticVersion, featuresOf, type ResticVersion } from "./version.ts";

/**
 * The agent's restic job queue: one restic operation at a time (one repository per agent; a check or
 * forget during a backup fails on its lock), in arrival order. Every job ends with exactly one
 * job.finished, whatever happens.
 */
export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #ctx: JobContext;
  readonly #queue: CommandRunPayload[] = [];
  #current: JobRun | null = null;
  #pumping = false;
  #stopping = false;
  #idleWaiters: Array<() => void> = [];
  #version: ResticVersion | null = null;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#ctx = {
      resticPath: opts.resticPath,
      spawn: opts.spawn ?? bunSpawn,
      clock: opts.clock,
      emit: safeEmit(opts.emit),
      policy: opts.policy,
      repositoryPin: opts.repositoryPin ?? (() => null),
      heldTokens: opts.heldTokens ?? (() => []),
      tempDir: opts.tempDir,
      cacheDir: opts.cacheDir,
      cancelGraceMs: opts.cancelGraceMs ?? 10_000,
      progressIntervalMs: opts.progressIntervalMs ?? 1000,
      // Half a second keeps the live log tail fresh while a busy restic still fills whole frames.
      logBatchMs: opts.logBatchMs ?? 500,
      retryLock: opts.retryLock === undefined ? "1m" : opts.retryLock,
      getFeatures: () => this.#features(),
      resticHost: opts.resticHost,
      ...(opts.machineHostname ? { machineHost: opts.machineHostname } : {}),
      hostNotice: { shown: false },
      sizes: new SnapshotSizes(),
      lastCheck: { value: null as LastCheck | null },
      knownRepos: new Set<string>(),
    };
  }

  /** The restic version found by the first job; null before that or when it could not be read. */
  get resticVersion(): ResticVersion | null {
    return this.#version;
  }

  get running(): string | null {
    return this.#current?.id ?? null;
  }

  get queued(): string[] {
    return this.#queue.map((c) => c.job_id);
  }

  /** Queues a job. A job id already queued or running is ignored: the server may send it twice. */
  enqueue(cmd: CommandRunPayload): void {
    if (this.#current?.id === cmd.job_id || this.#queue.some((c) => c.job_id === cmd.job_id)) return;
    if (this.#stopping) {
      this.#finishUnrun(cmd.job_id, "failed", "the agent is stopping; the job did not run");
      return;
    }
    this.#queue.push(cmd);
    void this.#pump();
  }

  /** true when the job was queued or running; a queued job finishes cancelled at once. */
  cancel(jobId: string): boolean {
    const i = this.#queue.findIndex((c) => c.job_id === jobId);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      this.#finishUnrun(jobId, "cancelled", "cancelled while queued; restic did not run");
      if (!this.#current && this.#queue.length === 0) this.#wakeIdle();
      return true;
    }
    return this.#current?.id === jobId ? this.#current.cancel() : false;
  }

  /** Resolves once nothing runs and nothing is queued. */
  idle(): Promise<void> {
    if (!this.#pumping && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Cancels the queue and the running job, and waits until all of them have finished. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const id of this.queued) this.cancel(id);
    if (this.#current) this.#current.cancel();
    await this.idle();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    this.#opts.onBusy?.(true);
    try {
      for (let cmd = this.#queue.shift(); cmd; cmd = this.#queue.shift()) {
        const job = new JobRun(cmd, this.#ctx, safeGetRepo(this.#opts));
        this.#current = job;
        try {
          await job.run();
        } catch {
          // run() handles its own failures; this only keeps the queue alive if that ever breaks
        } finally {
          this.#current = null;
        }
      }
    } finally {
      this.#pumping = false;
      this.#opts.onBusy?.(false);
      this.#wakeIdle();
    }
  }

  async #features(): Promise<ResticFeatures> {
    // Detected by the first job, again only while it keeps failing (restic may get installed later).
    this.#version ??= await detectResticVersion(this.#opts.resticPath, this.#ctx.spawn);
    return featuresOf(this.#version);
  }

  #finishUnrun(jobId: string, status: "failed" | "cancelled", error: string): void {
    const at = this.#ctx.clock.now().toISOString();
    this.#ctx.emit("job.log", { lines: [{ job_id: jobId, seq: 1, ts: at, stream: "event", payload: error }] });
    this.#ctx.emit("job.finished", { job_id: jobId, status, exit_code: -1, finished_at: at, error });
  }

  #wakeIdle(): void {
    if (this.#pumping || this.#queue.length > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * The supervisor keeps going when its emit throws (an outbox that cannot write): a throw here would
 * otherwise skip the job.finished of the job, or stall the queue.
 */
function safeEmit(emit: Emit): Emit {
  return (type, payload) => {
    try {
      emit(type, payload);
    } catch {
      // nothing sensible to do here: the caller's outbox owns delivery
    }
  };
}

function safeGetRepo(opts: SupervisorOptions) {
  try {
    return opts.getRepo();
  } catch {
    return null;
  }
}
