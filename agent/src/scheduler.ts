import { Cron } from "croner";
import { type AgentMessage, envelopeOf, type ScheduleEntry, type ScheduleSetPayload } from "../../protocol/index.ts";
import type { Clock, TimerHandle } from "./clock.ts";

/** Hands a message to the current connection; false when there is none (or it is closing). */
export type Send = (msg: AgentMessage) => boolean;

/** Where the last delivered fire per schedule is kept (the StateStore in production). */
export interface LastFireState {
  getLastFire(scheduleId: string): string | undefined;
  setLastFire(scheduleId: string, scheduledAt: string): void | Promise<void>;
}

export interface SchedulerLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface SchedulerOptions {
  clock: Clock;
  send: Send | null;
  state: LastFireState;
  log: SchedulerLog;
  /** IANA zone the cron expressions are read in; the process's local zone when absent. */
  timezone?: string;
}

/**
 * The timer wakes at least every 5 min and re-reads the wall clock. A clock step (NTP at boot on
 * hosts without an RTC, a resumed VM) then delays a tick by at most 5 min, and no delay comes near
 * setTimeout's 2^31-1 ms (24.8 days) limit, past which real timers fire at once.
 */
const MAX_TIMER_MS = 5 * 60_000;
/** A timer that wakes more than 1 s before its time saw the wall clock step back (timers may be a few ms early). */
const CLOCK_STEP_MS = 1000;

interface Armed {
  entry: ScheduleEntry;
  /** The zone its expression is read in: the schedule's own, else the agent's. */
  zone: string | undefined;
  /** The next scheduled run; null when there is none (or croner could not compute it). */
  next: Date | null;
}

/** RFC 3339 at second precision, the form croner's run times have: `2026-11-30T12:00:00Z`. */
export function toRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The latest run at or before `at`; croner's previousRuns() excludes a run exactly at its reference. */
function latestRunAtOrBefore(cron: Cron, at: Date): Date | undefined {
  return cron.previousRuns(1, new Date(at.getTime() + 1))[0];
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Runs the host's schedules from the last schedule.set. croner only computes run times; the injected clock
 * owns the one timer, set for the earliest next run of all schedules (an idle agent with 50
 * schedules wakes once per run or 5-min hop, not 50 times). Each tick sends `schedule.fire` and
 * nothing else: the server builds the jobs.
 * A tick that cannot be sent (no connection, or while the agent was down) is fired once later,
 * with its scheduled time, the latest one per schedule.
 */
export class Scheduler {
  readonly #clock: Clock;
  readonly #state: LastFireState;
  readonly #log: SchedulerLog;
  readonly #timezone: string | undefined;
  #send: Send | null;
  #armed = new Map<string, Armed>();
  #timer: TimerHandle | null = null;
  /** When the timer should go off, in wall-clock ms: waking well before it means the clock went back. */
  #wakeAt = 0;
  /** schedule id → the latest scheduled_at that could not be sent. */
  readonly #missed = new Map<string, string>();
  /** setLastFire writes still running; apply() waits for them. */
  readonly #inflight = new Set<Promise<void>>();
  #applying: Promise<unknown> = Promise.resolve();
  #version: number | null = null;
  #hasSet = false;
  #running = false;
  #stopped = false;
  #bootCheckDone = false;

  constructor(options: SchedulerOptions) {
    this.#clock = options.clock;
    this.#send = options.send;
    this.#state = options.state;
    this.#log = options.log;
    this.#timezone = options.timezone;
    if (this.#timezone !== undefined) {
      // croner only notices a bad zone when it computes a time; fail here, at start-up, instead.
      try {
        new Cron("* * * * *", { paused: true, timezone: this.#timezone }).nextRun(this.#clock.now());
      } catch (err) {
        throw new RangeError(`invalid time zone "${this.#timezone}": ${errorText(err)}`);
      }
    }
  }

  /** The version of the last applied set, or null before the first apply. */
  get version(): number | null {
    return this.#version;
  }

  /**
   * Starts the timers. The first time there is a schedule set (now, or at the first apply), each
   * enabled schedule whose persisted last fire is older than its latest scheduled time fires once.
   */
  start(): void {
    if (this.#stopped || this.#running) return;
    this.#running = true;
    if (this.#hasSet) this.#activate();
  }

  /**
   * Replaces the schedules: stops the old timers, waits for in-flight ticks, rebuilds from the
   * enabled entries and starts. Resolves with the set's version, for `schedule.ack`.
   * Calls are applied one after the other, in call order.
   */
  apply(set: ScheduleSetPayload): Promise<number> {
    const run = this.#applying.catch(() => {}).then(() => this.#apply(set));
    this.#applying = run;
    return run;
  }

  /** Swaps the transport (on every reconnect). A new send gets the remembered missed fires. */
  setSend(send: Send | null): void {
    this.#send = send;
    if (!send || !this.#running) return;
    for (const [id, scheduledAt] of [...this.#missed]) {
      if (!this.#deliver(id, scheduledAt)) break;
      this.#missed.delete(id);
    }
  }

  /** The next `n` run times of an enabled schedule, for `status`; [] for unknown or disabled ones. */
  nextRuns(scheduleId: string, n: number): Date[] {
    const armed = this.#armed.get(scheduleId);
    return armed ? this.#cron(armed).nextRuns(n, this.#clock.now()) : [];
  }

  /** Stops every timer for good; a stopped scheduler fires nothing. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running = false;
    this.#disarm();
    await this.#settle();
  }

  async #apply(set: ScheduleSetPayload): Promise<number> {
    this.#disarm();
    this.#armed = new Map();
    await this.#settle();
    const next = new Map<string, Armed>();
    const crons = new Map<string, Cron>();
    for (const entry of set.schedules) {
      if (!entry.enabled) continue;
      if (next.has(entry.id)) {
        this.#log.warn(`schedule ${entry.id}: listed twice in schedule set ${set.version}; using the first`, {
          schedule_id: entry.id,
        });
        continue;
      }
      try {
        // A schedule's own time zone wins over the agent's: typed since protocol 3, in
        // options.timezone from an older server.
        const legacy = typeof entry.options?.timezone === "string" ? entry.options.timezone : undefined;
        const zone = entry.timezone ?? legacy ?? this.#timezone;
        const armed: Armed = { entry, zone, next: null };
        const cron = this.#cron(armed);
        if (zone !== this.#timezone) cron.nextRun(this.#clock.now()); // a bad zone throws here, not at tick time
        next.set(entry.id, armed);
        crons.set(entry.id, cron);
      } catch (err) {
        // The server validated it already, so this is a croner difference: skip, keep the rest.
        this.#log.warn(`schedule ${entry.id}: skipped, bad cron expression "${entry.cron_expr}": ${errorText(err)}`, {
          schedule_id: entry.id,
          cron_expr: entry.cron_expr,
        });
      }
    }
    this.#armed = next;
    for (const id of [...this.#missed.keys()]) if (!next.has(id)) this.#missed.delete(id);
    this.#version = set.version;
    this.#hasSet = true;
    if (!this.#stopped) {
      this.#running = true;
      this.#activate(crons);
    }
    return set.version;
  }

  /**
   * A Cron to compute a schedule's run times with, built when needed and not kept: each holds a
   * 10,000-entry year table (80 KB), which for 50 schedules was 4 MB of an idle agent's heap.
   * Building one takes microseconds, and happens per run, per apply and per clock step.
   */
  #cron(armed: Armed): Cron {
    return new Cron(armed.entry.cron_expr, { paused: true, timezone: armed.zone, mode: "5-or-6-parts" });
  }

  /** Computes every next run (reusing the Crons apply() just built) and sets the timer. */
  #activate(built?: ReadonlyMap<string, Cron>): void {
    const now = this.#clock.now();
    const boot = !this.#bootCheckDone;
    this.#bootCheckDone = true;
    for (const [id, armed] of this.#armed) {
      const cron = built?.get(id) ?? this.#safely(armed, () => this.#cron(armed));
      if (!cron) continue;
      if (boot) this.#fireMissedWhileDown(id, armed, cron, now);
      armed.next = this.#safely(armed, () => cron.nextRun(now)) ?? null;
    }
    this.#arm();
  }

  /** For a schedule that has fired before: fire once if a run fell between that and now. */
  #fireMissedWhileDown(id: string, armed: Armed, cron: Cron, now: Date): void {
    const last = this.#state.getLastFire(id);
    const lastMs = last === undefined ? Number.NaN : Date.parse(last);
    if (Number.isNaN(lastMs)) return; // never fired here: a new schedule, nothing to catch up
    const latest = this.#safely(armed, () => latestRunAtOrBefore(cron, now));
    if (latest && latest.getTime() > lastMs) this.#fire(id, latest);
  }

  /** Sets the one timer for the earliest next run, or a 5-min hop if that is further away. */
  #arm(): void {
    this.#disarm();
    if (!this.#running) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const armed of this.#armed.values()) {
      if (armed.next !== null) earliest = Math.min(earliest, armed.next.getTime());
    }
    if (earliest === Number.POSITIVE_INFINITY) return; // nothing will ever run
    const now = this.#clock.now().getTime();
    const delay = Math.min(Math.max(0, earliest - now), MAX_TIMER_MS);
    this.#wakeAt = now + delay;
    this.#timer = this.#clock.setTimeout(() => this.#wake(), delay);
  }

  #disarm(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #wake(): void {
    this.#timer = null;
    if (!this.#running) return;
    const now = this.#clock.now();
    if (now.getTime() < this.#wakeAt - CLOCK_STEP_MS) {
      // The wall clock went back since the timer was set: an earlier run may now come first.
      for (const armed of this.#armed.values()) {
        if (armed.next !== null && now.getTime() < armed.next.getTime()) {
          armed.next = this.#safely(armed, () => this.#cron(armed).nextRun(now)) ?? null;
        }
      }
    }
    // Every schedule that is due, earliest first (a 5-min hop finds none and only re-arms).
    const due = [...this.#armed.values()]
      .filter((armed) => armed.next !== null && armed.next.getTime() <= now.getTime())
      .sort((a, b) => (a.next?.getTime() ?? 0) - (b.next?.getTime() ?? 0));
    const fires: [string, Date][] = [];
    for (const armed of due) {
      const scheduled = armed.next as Date;
      const cron = this.#safely(armed, () => this.#cron(armed));
      // Late (suspend, clock step): runs between `next` and now collapse into the latest one.
      const latest = cron && this.#safely(armed, () => latestRunAtOrBefore(cron, now));
      fires.push([armed.entry.id, latest && latest.getTime() >= scheduled.getTime() ? latest : scheduled]);
      armed.next = (cron && this.#safely(armed, () => cron.nextRun(now))) ?? null;
    }
    this.#arm();
    for (const [id, at] of fires) this.#fire(id, at);
  }

  /** croner can throw while computing (an odd pattern or zone); the schedule then stops, loudly. */
  #safely<T>(armed: Armed, compute: () => T): T | undefined {
    try {
      return compute();
    } catch (err) {
      this.#log.warn(`schedule ${armed.entry.id}: cannot compute run times, it will not fire: ${errorText(err)}`, {
        schedule_id: armed.entry.id,
        cron_expr: armed.entry.cron_expr,
      });
      return undefined;
    }
  }

  #fire(id: string, at: Date): void {
    const scheduledAt = toRfc3339(at);
    if (this.#deliver(id, scheduledAt)) this.#missed.delete(id);
    else this.#missed.set(id, scheduledAt);
  }

  /** Sends one `schedule.fire`; on success records it as the schedule's last fire. */
  #deliver(id: string, scheduledAt: string): boolean {
    const send = this.#send;
    if (!send) return false;
    const msg = envelopeOf(
      "schedule.fire",
      { schedule_id: id, scheduled_at: scheduledAt },
      { now: () => this.#clock.now() },
    );
    let sent = false;
    try {
      sent = send(msg) === true;
    } catch (err) {
      this.#log.warn(`schedule ${id}: send failed, will fire again on reconnect: ${errorText(err)}`, {
        schedule_id: id,
      });
    }
    if (sent) this.#recordLastFire(id, scheduledAt);
    return sent;
  }

  #recordLastFire(id: string, scheduledAt: string): void {
    const warn = (err: unknown) =>
      this.#log.warn(`schedule ${id}: could not persist its last fire: ${errorText(err)}`, { schedule_id: id });
    try {
      const result = this.#state.setLastFire(id, scheduledAt);
      if (!result) return;
      const tracked: Promise<void> = result.then(
        () => {},
        (err) => warn(err),
      );
      this.#inflight.add(tracked);
      void tracked.finally(() => this.#inflight.delete(tracked));
    } catch (err) {
      warn(err);
    }
  }

  async #settle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
  }
}
