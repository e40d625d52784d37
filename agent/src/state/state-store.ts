import { rename } from "node:fs/promises";
import { join } from "node:path";
import type * as v from "valibot";
import type { AutonomousRun, CommandRunPayload, ConfigUpdatePayload } from "../../../protocol/index.ts";
import { type Clock, realClock } from "../clock.ts";
import { ensureDir, readJsonFile, removeStaleTempFiles, writeFileAtomic } from "./atomic-file.ts";
import { FireLedger, FireLedgerFile, type LedgerEntry } from "./fire-ledger.ts";
import {
  type AcceptedJob,
  AcceptedJobs,
  Identity,
  type JobState,
  LastFires,
  STATE_FILES,
  type StateFileKey,
  StoredConfig,
  StoredScheduleSet,
} from "./state-files.ts";

export interface StateLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A state file that could not be used at open; `status` prints these. */
export interface StateProblem {
  file: string;
  reason: "corrupt" | "unreadable";
  message: string;
  /** Where the corrupt file was moved; absent when it could not be moved or was unreadable. */
  movedTo?: string;
  /** What the user should do about it. */
  action: string;
}

export interface StateStoreOptions {
  log: StateLog;
  /** Names the `.corrupt-<timestamp>` copies; the real clock when absent. */
  clock?: Clock;
}

/**
 * Serializes writes to one file and coalesces bursts: while a write waits, further requests share
 * it, and it renders the newest value when it starts.
 */
class FileWriter {
  #tail: Promise<void> = Promise.resolve();
  #waiting: Promise<void> | null = null;

  constructor(
    readonly path: string,
    private readonly render: () => string,
  ) {}

  write(): Promise<void> {
    if (this.#waiting) return this.#waiting;
    const next = this.#tail
      .catch(() => {})
      .then(() => {
        this.#waiting = null;
        return writeFileAtomic(this.path, this.render());
      });
    this.#waiting = next;
    this.#tail = next;
    return next;
  }

  settled(): Promise<void> {
    return this.#tail.catch(() => {});
  }
}

/**
 * The agent's durable state in its state dir, one JSON file per concern, each replaced atomically
 * (mode 0600). Reads come from memory; every setter persists before its promise resolves.
 * A corrupt file is moved aside and reported in `problems`, so the agent still comes up.
 */
export class StateStore {
  readonly dir: string;
  readonly #problems: StateProblem[];
  #identity: Identity | undefined;
  #config: StoredConfig | undefined;
  #schedules: StoredScheduleSet | undefined;
  #lastFires: Record<string, string>;
  #jobs: Map<string, AcceptedJob>;
  readonly #ledger: FireLedger;
  #lastLinkAt: string | undefined;
  readonly #clock: Clock;
  readonly #writers: Record<StateFileKey, FileWriter>;

  private constructor(dir: string, clock: Clock, loaded: Loaded) {
    this.dir = dir;
    this.#clock = clock;
    this.#problems = loaded.problems;
    this.#identity = loaded.identity;
    this.#config = loaded.config;
    this.#schedules = loaded.schedules;
    this.#lastFires = { ...(loaded.lastFires ?? {}) };
    this.#jobs = new Map((loaded.jobs?.jobs ?? []).map((job) => [job.command.job_id, job]));
    this.#ledger = new FireLedger(loaded.ledger?.entries ?? []);
    this.#lastLinkAt = loaded.ledger?.last_link_at;
    const writer = (key: StateFileKey, render: () => unknown) =>
      new FileWriter(join(dir, STATE_FILES[key].name), () => `${JSON.stringify(render(), null, 2)}\n`);
    this.#writers = {
      identity: writer("identity", () => this.#identity ?? null),
      config: writer("config", () => this.#config ?? {}),
      schedules: writer("schedules", () => this.#schedules ?? null),
      lastFires: writer("lastFires", () => this.#lastFires),
      jobs: writer("jobs", () => ({ jobs: [...this.#jobs.values()] })),
      ledger: writer("ledger", () => ({
        entries: this.#ledger.entries(),
        ...(this.#lastLinkAt ? { last_link_at: this.#lastLinkAt } : {}),
      })),
    };
  }

  static async open(dir: string, options: StateStoreOptions): Promise<StateStore> {
    const clock = options.clock ?? realClock;
    await ensureDir(dir);
    await removeStaleTempFiles(
      dir,
      Object.values(STATE_FILES).map((f) => f.name),
    );
    const problems: StateProblem[] = [];
    const load = async <S extends v.GenericSchema>(key: StateFileKey, schema: S) => {
      const spec = STATE_FILES[key];
      const path = join(dir, spec.name);
      const result = await readJsonFile(path, schema);
      if (result.ok) return result.value as v.InferOutput<S>;
      if (result.reason === "missing") return undefined;
      const problem: StateProblem = { file: path, reason: result.reason, message: result.message, action: spec.ifLost };
      if (result.reason === "corrupt") {
        const movedTo = await moveAside(path, clock.now());
        if (movedTo) problem.movedTo = movedTo;
      }
      problems.push(problem);
      options.log.warn(describeProblem(problem, spec.what), { ...problem });
      return undefined;
    };
    const loaded: Loaded = {
      problems,
      identity: await load("identity", Identity),
      config: await load("config", StoredConfig),
      schedules: await load("schedules", StoredScheduleSet),
      lastFires: await load("lastFires", LastFires),
      jobs: await load("jobs", AcceptedJobs),
      ledger: await load("ledger", FireLedgerFile),
    };
    return new StateStore(dir, clock, loaded);
  }

  /** State files that were corrupt or unreadable at open. */
  get problems(): readonly StateProblem[] {
    return this.#problems;
  }

  identity(): Identity | undefined {
    return this.#identity;
  }

  setIdentity(identity: Identity): Promise<void> {
    this.#identity = { ...identity };
    return this.#writers.identity.write();
  }

  /** The stored repository config. It holds the repository password: never log it. */
  config(): StoredConfig | undefined {
    return this.#config;
  }

  setConfig(config: StoredConfig): Promise<void> {
    this.#config = { ...config };
    return this.#writers.config.write();
  }

  /**
   * Applies a `config.update`: an absent or empty field leaves the stored value as it is. A
   * boolean (auto_init) is never empty: false is a value, and switches the setting off.
   */
  async applyConfigUpdate(update: ConfigUpdatePayload): Promise<StoredConfig> {
    const merged: StoredConfig = { ...(this.#config ?? {}) };
    const { secrets_withheld: _note, auto_init, repo_env, copy_targets, max_offline_age_seconds, ...texts } = update;
    // secrets_withheld is a note about this one message (secrets left out), not a setting to keep.
    for (const key of Object.keys(texts) as (keyof typeof texts)[]) {
      const value = texts[key];
      if (value !== undefined && value !== "") merged[key] = value;
    }
    if (auto_init !== undefined) merged.auto_init = auto_init;
    // A number is never empty either: 0 is a value (no autonomy).
    if (max_offline_age_seconds !== undefined) merged.max_offline_age_seconds = max_offline_age_seconds;
    // The environment comes whole (protocol 8): it replaces the old one, and {} clears it.
    if (repo_env !== undefined) merged.repo_env = { ...repo_env };
    // The copy targets come whole too (protocol 9); a target sent without its secrets (an insecure
    // link withheld them) keeps the ones held for the same id.
    if (copy_targets !== undefined) {
      const held = new Map((merged.copy_targets ?? []).map((t) => [t.id, t]));
      merged.copy_targets = copy_targets.map((t) => {
        const before = held.get(t.id);
        const out = { ...t };
        if (!out.repo_password && before?.repo_password) out.repo_password = before.repo_password;
        if (out.repo_env === undefined && before?.repo_env) out.repo_env = before.repo_env;
        return out;
      });
    }
    await this.setConfig(merged);
    return merged;
  }

  scheduleSet(): StoredScheduleSet | undefined {
    return this.#schedules;
  }

  /** Stores the set, and forgets the last fires of schedules that are no longer in it. */
  async setScheduleSet(set: StoredScheduleSet): Promise<void> {
    this.#schedules = set;
    const ids = new Set(set.schedules.map((s) => s.id));
    const stale = Object.keys(this.#lastFires).filter((id) => !ids.has(id));
    for (const id of stale) delete this.#lastFires[id];
    const ledgerChanged = this.#ledger.keepOnly(ids);
    await Promise.all([
      this.#writers.schedules.write(),
      stale.length > 0 ? this.#writers.lastFires.write() : null,
      ledgerChanged ? this.#writers.ledger.write() : null,
    ]);
  }

  /** The ledger of fires (fire-ledger.ts): read it here, change it through recordTick. */
  get ledger(): Pick<FireLedger, "get" | "of" | "sentWith" | "entries"> {
    return this.#ledger;
  }

  /** Sets one tick's ledger entry and persists it; resolve before acting on it. */
  recordTick(entry: LedgerEntry): Promise<void> {
    this.#ledger.set(entry);
    return this.#writers.ledger.write();
  }

  /** The last time a link to the server was up (undefined: never, in this state dir). */
  lastLinkAt(): string | undefined {
    return this.#lastLinkAt;
  }

  setLastLinkAt(at: string): Promise<void> {
    this.#lastLinkAt = at;
    return this.#writers.ledger.write();
  }

  getLastFire(scheduleId: string): string | undefined {
    return Object.hasOwn(this.#lastFires, scheduleId) ? this.#lastFires[scheduleId] : undefined;
  }

  setLastFire(scheduleId: string, scheduledAt: string): Promise<void> {
    this.#lastFires[scheduleId] = scheduledAt;
    return this.#writers.lastFires.write();
  }

  /** Accepted, unfinished jobs in the order they were accepted. */
  jobs(): readonly AcceptedJob[] {
    return [...this.#jobs.values()];
  }

  getJob(jobId: string): AcceptedJob | undefined {
    return this.#jobs.get(jobId);
  }

  /** Persists a `command.run` as accepted; resolve before answering `command.result`. */
  async acceptJob(command: CommandRunPayload, autonomous?: AutonomousRun): Promise<void> {
    const acceptedAt = this.#clock.now().toISOString();
    this.#jobs.set(command.job_id, {
      command,
      state: "accepted",
      accepted_at: acceptedAt,
      ...(autonomous ? { autonomous } : {}),
    });
    try {
      await this.#writers.jobs.write();
    } catch (err) {
      // Not on disk, so not accepted: forget it, so a re-sent command.run is tried again.
      this.#jobs.delete(command.job_id);
      throw err;
    }
  }

  setJobState(jobId: string, state: JobState): Promise<void> {
    const job = this.#jobs.get(jobId);
    if (!job) return Promise.resolve();
    this.#jobs.set(jobId, { ...job, state });
    return this.#writers.jobs.write();
  }

  /** Forgets a finished job once the server has acked its `job.finished`. */
  removeJob(jobId: string): Promise<void> {
    if (!this.#jobs.delete(jobId)) return Promise.resolve();
    return this.#writers.jobs.write();
  }

  /** Resolves when every write started so far has finished (whether or not it succeeded). */
  async settled(): Promise<void> {
    await Promise.all(Object.values(this.#writers).map((w) => w.settled()));
  }
}

interface Loaded {
  problems: StateProblem[];
  identity: Identity | undefined;
  config: StoredConfig | undefined;
  schedules: StoredScheduleSet | undefined;
  lastFires: LastFires | undefined;
  jobs: AcceptedJobs | undefined;
  ledger: FireLedgerFile | undefined;
}

/** `name.corrupt-2026-11-30T12-00-00-000Z`: no colons, so the name is valid on Windows too. */
async function moveAside(path: string, now: Date): Promise<string | undefined> {
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  for (let n = 0; n < 100; n++) {
    const target = `${path}.corrupt-${stamp}${n === 0 ? "" : `-${n}`}`;
    try {
      // Refuse to overwrite an earlier copy: it may be the only trace of what went wrong.
      if (await Bun.file(target).exists()) continue;
      await rename(path, target);
      return target;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function describeProblem(problem: StateProblem, what: string): string {
  const where = problem.movedTo ? `; moved it to ${problem.movedTo}` : "";
  return `state file ${problem.file} is ${problem.reason}: ${problem.message}${where}. Starting without ${what}; ${problem.action}`;
}
