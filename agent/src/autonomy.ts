import { type AutonomousRun, type CommandRunPayload, FLEET_JOB_TAG, type ScheduleEntry } from "../../protocol/index.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { HEARTBEAT_MS } from "./connection.ts";
import type { Logger } from "./log.ts";
import type { Scheduler } from "./scheduler.ts";
import { cronFor, toRfc3339 } from "./scheduler-times.ts";
import type { LedgerEntry } from "./state/fire-ledger.ts";
import type { StateStore } from "./state/state-store.ts";

/** The grace period's floor: twice the heartbeat, and at least 2 min (DESIGN §8.7). */
export const GRACE_FLOOR_MS = Math.max(2 * HEARTBEAT_MS, 120_000);

/** While connected, how often the last-link time is written down (so a crash loses at most this). */
export const LINK_MARK_MS = 60 * 60_000;

/** A fire the server has not answered this long before the link broke is not waited for. */
const UNANSWERED_MS = 60_000;

/** Ticks counted one by one between the last fire and a catch-up, at most. */
const MAX_COUNTED_TICKS = 100_000;

/**
 * Where the agent's own authority stands:
 * - `connected`: the link is up; the server runs everything.
 * - `waiting`: the link is down, within the grace period.
 * - `active`: the link is down past the grace period; due backups run here.
 * - `expired`: down longer than max_offline_age; nothing runs until the server is back.
 * - `off`: max_offline_age is 0 for this host.
 * - `unavailable`: the server never sent max_offline_age (older than protocol 10).
 */
export type AutonomyState = "connected" | "waiting" | "active" | "expired" | "off" | "unavailable";

export interface AutonomyStatus {
  state: AutonomyState;
  link_down_since: string | null;
  last_link_at: string | null;
  max_offline_age_seconds: number | null;
  /** When autonomy ends if the link stays down. */
  autonomy_until: string | null;
  /** The backups run on the agent's own authority (newest last), while the link was down. */
  ran: Array<{ job_id: string; schedule_id: string; scheduled_at: string; at: string }>;
  /** Ticks let go by during the outage (a later tick ran instead). */
  missed_ticks: number;
}

export interface AutonomyOptions {
  clock: Clock;
  state: StateStore;
  scheduler: Scheduler;
  log: Logger;
  /** Queues a job the agent accepted on its own (the supervisor's enqueue). */
  enqueue(cmd: CommandRunPayload): void;
  /** Something a status reader shows changed. */
  changed?(): void;
}

/**
 * The grace period of a schedule: max(2 × heartbeat, 2 min), capped at 10% of the schedule's
 * interval (its shortest gap between the next runs), so a backup every minute waits 6 s.
 */
export function graceMs(entry: ScheduleEntry, zone: string | undefined, now: Date): number {
  let interval = Number.POSITIVE_INFINITY;
  try {
    const runs = cronFor(entry, zone).nextRuns(4, now);
    for (let i = 1; i < runs.length; i++) {
      interval = Math.min(interval, (runs[i] as Date).getTime() - (runs[i - 1] as Date).getTime());
    }
  } catch {
    // a schedule croner cannot compute never fires either
  }
  return Math.min(GRACE_FLOOR_MS, interval / 10);
}

/** The schedule's ticks strictly between `after` and `before` (both nominal times): let go by. */
function ticksBetween(entry: ScheduleEntry, zone: string | undefined, after: Date, before: Date) {
  const cron = cronFor(entry, zone);
  let count = 0;
  let first: Date | null = null;
  let last: Date | null = null;
  for (let t = cron.nextRun(after); t && t < before && count < MAX_COUNTED_TICKS; t = cron.nextRun(t)) {
    first ??= t;
    last = t;
    count++;
  }
  return { count, first, last };
}

/** A backup schedule's job as the server would make it (server/src/domain/command-spec.ts). */
export function backupCommand(jobId: string, entry: ScheduleEntry, scheduledAt: string): CommandRunPayload {
  const spec: NonNullable<Extract<CommandRunPayload, { kind: "backup" }>["spec"]> = entry.stdin_command
    ? { stdin_command: entry.stdin_command }
    : { paths: entry.paths ?? [] };
  if (entry.stdin_command && entry.stdin_filename) spec.stdin_filename = entry.stdin_filename;
  if (entry.excludes?.length) spec.excludes = entry.excludes;
  spec.tags = [...(entry.tags ?? []), `${FLEET_JOB_TAG}${jobId}`];
  if (entry.pre_hook) spec.pre_hook = entry.pre_hook;
  if (entry.post_hook) spec.post_hook = entry.post_hook;
  return {
    job_id: jobId,
    kind: "backup",
    args: entry.paths ?? [],
    spec,
    schedule_id: entry.id,
    scheduled_at: scheduledAt,
  };
}

/**
 * Backups go on when the server is down (DESIGN §8.7). Keeps the ledger of fires in step with what
 * the server says (a fire delivered, acked, answered with a command.run), and while the link is down
 * past a schedule's grace period runs its due backup tick on the agent's own authority: a UUIDv7
 * job id, the snapshot tagged `fleet-job=<id>`, the job's reports kept in the outbox like any other.
 * After a long outage one catch-up runs per schedule and the ticks before it count as missed. Only
 * backups; forget, prune, check and drills wait for the server. Autonomy ends once the link has been
 * down longer than max_offline_age (from the server; none from a server before protocol 10).
 */
export class Autonomy {
  readonly #o: AutonomyOptions;
  #downSince: number | null;
  /**
   * When the outage began, for people: the last link this state dir remembers, so a restarted
   * agent still counts (and lists what ran in) the whole outage; null while the link is up.
   */
  #outageSince: number | null;
  #timer: TimerHandle | null = null;
  #markTimer: TimerHandle | null = null;
  #work: Promise<void> = Promise.resolve();
  #expiredSaid = false;
  #stopped = false;

  constructor(o: AutonomyOptions) {
    this.#o = o;
    // Until the first link, down since the start: a restarted agent waits one grace period for the
    // server before it acts on its own (max_offline_age still counts from the last link).
    this.#downSince = o.clock.now().getTime();
    const last = Date.parse(o.state.lastLinkAt() ?? "");
    this.#outageSince = Number.isNaN(last) ? this.#downSince : Math.min(last, this.#downSince);
  }

  linkUp(): void {
    this.#downSince = null;
    this.#outageSince = null;
    this.#expiredSaid = false;
    this.#clearTimer();
    this.#markLink();
    this.#o.changed?.();
  }

  linkDown(): void {
    if (this.#downSince !== null) return;
    this.#downSince = this.#o.clock.now().getTime();
    this.#outageSince = this.#downSince;
    if (this.#markTimer) this.#o.clock.clearTimeout(this.#markTimer);
    this.#markTimer = null;
    this.#persist(this.#o.state.setLastLinkAt(new Date(this.#downSince).toISOString()));
    this.check();
  }

  /** A fire reached the server's link: the tick is the server's to answer. */
  delivered(scheduleId: string, scheduledAt: string, fireId: string): void {
    this.#record({ schedule_id: scheduleId, scheduled_at: scheduledAt, state: "sent", fire_id: fireId });
  }

  /** Acks from the server: a fire acked without a command.run for it was declined (merged, refused). */
  acked(ids: readonly string[]): void {
    for (const id of ids) {
      const e = this.#o.state.ledger.sentWith(id);
      if (e) this.#record({ schedule_id: e.schedule_id, scheduled_at: e.scheduled_at, state: "declined" });
    }
  }

  /**
   * A command.run for a schedule tick (protocol 10): null when it may run (the ledger now holds its
   * job), else why not: the agent ran that tick already, or let it go by for a later one.
   */
  async claim(cmd: CommandRunPayload): Promise<string | null> {
    if (!cmd.schedule_id || !cmd.scheduled_at) return null;
    await this.#work;
    const e = this.#o.state.ledger.get(cmd.schedule_id, cmd.scheduled_at);
    if (e?.state === "agent" || (e?.state === "server" && e.job_id !== cmd.job_id)) {
      return `tick ${cmd.scheduled_at} of schedule ${cmd.schedule_id} already ran as job ${e.job_id}${e.state === "agent" ? " while the server was unreachable" : ""}`;
    }
    if (e?.state === "missed") {
      return `tick ${cmd.scheduled_at} of schedule ${cmd.schedule_id} was let go by while the server was unreachable: a later tick ran instead`;
    }
    await this.#o.state.recordTick({
      schedule_id: cmd.schedule_id,
      scheduled_at: cmd.scheduled_at,
      state: "server",
      job_id: cmd.job_id,
      at: this.#o.clock.now().toISOString(),
    });
    return null;
  }

  /** Looks for due backups to run on the agent's own authority (a tick went unsent, a grace ended). */
  check(): void {
    if (this.#stopped) return;
    this.#work = this.#work
      .then(() => this.#check())
      .catch((err) => this.#o.log.error("autonomy check failed", { error: String(err) }));
  }

  /** Resolves once the checks and ledger writes started so far are done. */
  settled(): Promise<void> {
    return this.#work;
  }

  stop(): void {
    if (this.#downSince === null && !this.#stopped) {
      this.#persist(this.#o.state.setLastLinkAt(this.#o.clock.now().toISOString()));
    }
    this.#stopped = true;
    this.#clearTimer();
    if (this.#markTimer) this.#o.clock.clearTimeout(this.#markTimer);
    this.#markTimer = null;
  }

  status(): AutonomyStatus {
    const now = this.#o.clock.now().getTime();
    const maxAge = this.#o.state.config()?.max_offline_age_seconds;
    const lastLink = this.#o.state.lastLinkAt() ?? null;
    const since = this.#outageSince;
    const ran: AutonomyStatus["ran"] = [];
    let missed = 0;
    for (const e of this.#o.state.ledger.entries().sort((a, b) => a.at.localeCompare(b.at))) {
      if (since === null || Date.parse(e.at) < since) continue;
      if (e.state === "agent" && e.job_id) {
        ran.push({ job_id: e.job_id, schedule_id: e.schedule_id, scheduled_at: e.scheduled_at, at: e.at });
        missed += e.missed ?? 0;
      }
      if (e.state === "missed") missed++;
    }
    const until = maxAge && lastLink ? new Date(Date.parse(lastLink) + maxAge * 1000).toISOString() : null;
    return {
      state: this.#stateAt(now),
      link_down_since: since === null ? null : new Date(since).toISOString(),
      last_link_at: lastLink,
      max_offline_age_seconds: maxAge ?? null,
      autonomy_until: until,
      ran,
      missed_ticks: missed,
    };
  }

  #stateAt(now: number): AutonomyState {
    if (this.#downSince === null) return "connected";
    const maxAge = this.#o.state.config()?.max_offline_age_seconds;
    if (maxAge === undefined) return "unavailable";
    if (maxAge === 0) return "off";
    if (this.#expired(now, maxAge)) return "expired";
    const { scheduler } = this.#o;
    const at = new Date(now);
    const graces = scheduler
      .entries()
      .filter((e) => e.kind === "backup")
      .map((e) => graceMs(e, scheduler.zoneOf(e.id), at));
    return now - this.#downSince < Math.min(GRACE_FLOOR_MS, ...graces) ? "waiting" : "active";
  }

  /** The config is as old as the last link: past max_offline_age, the agent no longer acts on it. */
  #expired(now: number, maxAgeSeconds: number): boolean {
    const last = Date.parse(this.#o.state.lastLinkAt() ?? "");
    const from = Number.isNaN(last) ? (this.#downSince ?? now) : last;
    return now - from > maxAgeSeconds * 1000;
  }

  async #check(): Promise<void> {
    this.#clearTimer();
    const since = this.#downSince;
    if (since === null || this.#stopped) return;
    const { state, scheduler, clock, log } = this.#o;
    const maxAge = state.config()?.max_offline_age_seconds;
    if (maxAge === undefined || maxAge === 0) return;
    const now = clock.now();
    if (this.#expired(now.getTime(), maxAge)) {
      if (!this.#expiredSaid) {
        this.#expiredSaid = true;
        log.warn(
          `no link to the server since ${state.lastLinkAt() ?? new Date(since).toISOString()}, longer than max_offline_age ` +
            `(${maxAge} s): the agent no longer runs backups on its own with its old config; they wait for the server. ` +
            "Bring the server back, or check this host's network",
        );
        this.#o.changed?.();
      }
      return;
    }
    if (!state.config()?.repo_url || !state.config()?.repo_password) return; // nothing to back up to
    let next = Number.POSITIVE_INFINITY;
    for (const id of this.#candidates(since)) {
      const entry = scheduler.entry(id);
      if (entry?.kind !== "backup") continue;
      const dueAt = since + graceMs(entry, scheduler.zoneOf(id), now);
      if (now.getTime() < dueAt) {
        next = Math.min(next, dueAt);
        continue;
      }
      await this.#runOnOwnAuthority(entry, now, since);
    }
    if (Number.isFinite(next)) {
      this.#timer = clock.setTimeout(() => this.check(), Math.max(0, next - now.getTime()));
    }
    this.#o.changed?.();
  }

  /**
   * Schedules with a tick the server has not answered: unsent (missed), or sent shortly before the
   * link broke and unacked (the server may have made its job, and its command.run was lost).
   */
  #candidates(since: number): Set<string> {
    const ids = new Set(this.#o.scheduler.missedIds());
    for (const e of this.#unacked(since)) ids.add(e.schedule_id);
    return ids;
  }

  /** `sent` entries from the minute before the link broke on: older ones were answered, or lost for good. */
  #unacked(since: number, scheduleId?: string): LedgerEntry[] {
    return (scheduleId ? this.#o.state.ledger.of(scheduleId) : this.#o.state.ledger.entries()).filter(
      (e) => e.state === "sent" && Date.parse(e.at) >= since - UNANSWERED_MS,
    );
  }

  /** Runs the schedule's latest unanswered tick here; earlier unanswered ones count as missed. */
  async #runOnOwnAuthority(entry: ScheduleEntry, now: Date, since: number): Promise<void> {
    const { state, scheduler, clock, log } = this.#o;
    const id = entry.id;
    const zone = scheduler.zoneOf(id);
    const unacked = this.#unacked(since, id);
    const unsent = scheduler.missedOf(id);
    // One spelling (the scheduler's, second precision), each tick once, oldest first.
    const ticks = [
      ...new Set(
        [...unacked.map((e) => e.scheduled_at), ...(unsent ? [unsent] : [])].map((t) => toRfc3339(new Date(t))),
      ),
    ].sort();
    const tick = ticks.at(-1);
    if (!tick) return;
    const at = clock.now().toISOString();
    const held = state.ledger.get(id, tick);
    if (held && held.state !== "sent") {
      // Answered already (a job runs it, or it was let go by): nothing more to do for it.
      scheduler.takeMissed(id);
      return;
    }
    // One pending run per schedule: a tick behind the schedule's unfinished job is let go by.
    if (state.jobs().some((j) => j.state !== "finished" && j.command.schedule_id === id)) {
      for (const t of ticks) await state.recordTick({ schedule_id: id, scheduled_at: t, state: "missed", at });
      scheduler.takeMissed(id);
      return;
    }
    // The ticks let go by: those between the last fire and this one, and unacked ones before it.
    const lastFire = state.getLastFire(id);
    const between = lastFire
      ? ticksBetween(entry, zone, new Date(lastFire), new Date(tick))
      : { count: 0, first: null, last: null };
    const earlier = ticks.slice(0, -1).filter((t) => !lastFire || Date.parse(t) <= Date.parse(lastFire));
    const missedCount = between.count + earlier.length;
    const firstMissed = [...earlier, ...(between.first ? [toRfc3339(between.first)] : [])].sort()[0];
    const lastMissed = between.last ? toRfc3339(between.last) : earlier.at(-1);
    const jobId = Bun.randomUUIDv7("hex", now);
    const cmd = backupCommand(jobId, entry, tick);
    const autonomous: AutonomousRun = {
      schedule_id: id,
      scheduled_at: tick,
      ...(cmd.kind === "backup" && cmd.spec ? { spec: cmd.spec } : {}),
      ...(missedCount > 0 && firstMissed && lastMissed
        ? { missed: { count: missedCount, first_scheduled_at: firstMissed, last_scheduled_at: lastMissed } }
        : {}),
    };
    try {
      await state.acceptJob(cmd, autonomous);
    } catch (err) {
      log.error("could not persist a backup to run on the agent's own authority; it does not run", {
        schedule_id: id,
        scheduled_at: tick,
        error: String(err),
      });
      return;
    }
    for (const t of earlier) await state.recordTick({ schedule_id: id, scheduled_at: t, state: "missed", at });
    await state.recordTick({
      schedule_id: id,
      scheduled_at: tick,
      state: "agent",
      job_id: jobId,
      at,
      ...(missedCount > 0 ? { missed: missedCount } : {}),
    });
    await state.setLastFire(id, tick);
    scheduler.takeMissed(id);
    const minutes = Math.round((now.getTime() - since) / 60_000);
    log.info(
      `no link to the server for ${minutes} min: running backup schedule ${id}'s tick ${tick} on the agent's own authority` +
        (missedCount > 0 ? ` (${missedCount} earlier ticks let go by: one catch-up, not one per tick)` : ""),
      { job_id: jobId, schedule_id: id, scheduled_at: tick },
    );
    this.#o.enqueue(cmd);
  }

  #record(e: Omit<LedgerEntry, "at">): void {
    this.#persist(this.#o.state.recordTick({ ...e, at: this.#o.clock.now().toISOString() }));
  }

  /** Ledger writes join the work chain, so claim() and check() see them done. */
  #persist(write: Promise<void>): void {
    this.#work = this.#work
      .then(() => write)
      .catch((err) => this.#o.log.warn("could not persist the ledger of fires", { error: String(err) }));
  }

  /** While connected, the last-link time is written now and then (hourly), not on every frame. */
  #markLink(): void {
    if (this.#stopped || this.#downSince !== null) return;
    this.#persist(this.#o.state.setLastLinkAt(this.#o.clock.now().toISOString()));
    if (this.#markTimer) this.#o.clock.clearTimeout(this.#markTimer);
    this.#markTimer = this.#o.clock.setTimeout(() => this.#markLink(), LINK_MARK_MS);
  }

  #clearTimer(): void {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
