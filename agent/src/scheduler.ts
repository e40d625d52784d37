import { Cron } from "croner";
import type { ScheduleEntry, ScheduleSetPayload } from "../../protocol/index.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { type FireHooks, FireSender, type LastFireState, type SchedulerLog, type Send } from "./scheduler-fires.ts";
import { cronFor, latestRunAtOrBefore, scheduleZone } from "./scheduler-times.ts";

export interface SchedulerOptions {
  clock: Clock;
  send: Send | null;
  state: LastFireState;
  log: SchedulerLog;
  /** IANA zone the cron expressions are read in; the process's local zone when absent. */
  timezone?: string;
  /** The ledger of fires listens here (autonomy.ts). */
  hooks?: FireHooks;
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
  /** The next scheduled (nominal) run; null when there is none (or croner could not compute it). */
  next: Date | null;
  /**
   * The host's jitter offset (protocol 9, the entry's delay_seconds): each run fires this much
   * after its nominal time, and still says the nominal time. The schedule then runs as its cron
   * would on a clock that is `delayMs` behind: every "now" below is shifted back by it.
   */
  delayMs: number;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** `now` on the schedule's own clock, its delay behind: the nominal time whose run is due now. */
const shifted = (now: Date, armed: Armed) => new Date(now.getTime() - armed.delayMs);

/** When the schedule's next run fires: its nominal time plus its delay. */
const dueAt = (armed: Armed) => (armed.next as Date).getTime() + armed.delayMs;

/**
 * Runs the host's schedules from the last schedule.set. croner only computes run times; the injected clock
 * owns the one timer, set for the earliest next run of all schedules (an idle agent with 50
 * schedules wakes once per run or 5-min hop, not 50 times). Each tick sends `schedule.fire` and
 * nothing else: the server builds the jobs.
 * A tick that cannot be sent (no connection, or while the agent was down) is fired once later,
 * with its scheduled time, the latest one per schedule (scheduler-fires.ts).
 * A schedule with a delay (its jitter offset) fires each run that much after its nominal time,
 * with the nominal time as scheduled_at; a run counts as missed once its delayed time has passed.
 */
export class Scheduler {
  readonly #clock: Clock;
  readonly #state: LastFireState;
  readonly #log: SchedulerLog;
  readonly #timezone: string | undefined;
  readonly #fires: FireSender;
  #armed = new Map<string, Armed>();
  #timer: TimerHandle | null = null;
  /** When the timer should go off, in wall-clock ms: waking well before it means the clock went back. */
  #wakeAt = 0;
  #applying: Promise<unknown> = Promise.resolve();
  #version: number | null = null;
  #hasSet = false;
  #running = false;
  #stopped = false;
  #bootCheckDone = false;

  constructor(options: SchedulerOptions) {
    this.#clock = options.clock;
    this.#fires = new FireSender(options.clock, options.send, options.state, options.log, options.hooks);
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
    this.#fires.setSend(send);
    if (!send || !this.#running) return;
    this.#fires.sendMissed();
  }

  /**
   * The next `n` times an enabled schedule fires, for `status`: its nominal runs plus its delay;
   * [] for unknown or disabled ones.
   */
  nextRuns(scheduleId: string, n: number): Date[] {
    const armed = this.#armed.get(scheduleId);
    if (!armed) return [];
    return cronFor(armed.entry, armed.zone)
      .nextRuns(n, shifted(this.#clock.now(), armed))
      .map((d) => new Date(d.getTime() + armed.delayMs));
  }

  /** The enabled schedule with this id, as last applied. */
  entry(scheduleId: string): ScheduleEntry | undefined {
    return this.#armed.get(scheduleId)?.entry;
  }

  /** The enabled schedules, as last applied. */
  entries(): ScheduleEntry[] {
    return [...this.#armed.values()].map((a) => a.entry);
  }

  /** The zone a schedule's expression is read in. */
  zoneOf(scheduleId: string): string | undefined {
    return this.#armed.get(scheduleId)?.zone;
  }

  /** Schedules with a tick that could not be sent, waiting for a connection (or the agent's own run). */
  missedIds(): string[] {
    return this.#fires.missedIds();
  }

  missedOf(scheduleId: string): string | undefined {
    return this.#fires.missedOf(scheduleId);
  }

  /** Takes a missed tick out: the agent ran it on its own, so it is never sent as a fire. */
  takeMissed(scheduleId: string): string | undefined {
    return this.#fires.takeMissed(scheduleId);
  }

  /** Stops every timer for good; a stopped scheduler fires nothing. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running = false;
    this.#disarm();
    await this.#fires.settle();
  }

  async #apply(set: ScheduleSetPayload): Promise<number> {
    this.#disarm();
    this.#armed = new Map();
    await this.#fires.settle();
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
        const zone = scheduleZone(entry, this.#timezone);
        const cron = cronFor(entry, zone);
        if (zone !== this.#timezone) cron.nextRun(this.#clock.now()); // a bad zone throws here, not at tick time
        next.set(entry.id, { entry, zone, next: null, delayMs: (entry.delay_seconds ?? 0) * 1000 });
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
    this.#fires.keepMissedOf(next);
    this.#version = set.version;
    this.#hasSet = true;
    if (!this.#stopped) {
      this.#running = true;
      this.#activate(crons);
    }
    return set.version;
  }

  /** Computes every next run (reusing the Crons apply() just built) and sets the timer. */
  #activate(built?: ReadonlyMap<string, Cron>): void {
    const now = this.#clock.now();
    const boot = !this.#bootCheckDone;
    this.#bootCheckDone = true;
    for (const [id, armed] of this.#armed) {
      const cron = built?.get(id) ?? this.#safely(armed, () => cronFor(armed.entry, armed.zone));
      if (!cron) continue;
      if (boot) this.#fireMissedWhileDown(id, armed, cron, now);
      armed.next = this.#safely(armed, () => this.#nextAfterLastFire(id, cron, shifted(now, armed), now)) ?? null;
    }
    this.#arm();
  }

  /**
   * The next run after `from` (now on the schedule's shifted clock), and after the schedule's last
   * fire if that lies between `from` and now: a longer delay in a new set would otherwise fire a
   * run again that already fired under the shorter one. (A last fire ahead of now is from a clock
   * that has since stepped back, and is not waited for.)
   */
  #nextAfterLastFire(id: string, cron: Cron, from: Date, now: Date): Date | null {
    const lastMs = Date.parse(this.#state.getLastFire(id) ?? "");
    const recent = !Number.isNaN(lastMs) && lastMs >= from.getTime() && lastMs <= now.getTime();
    return cron.nextRun(recent ? new Date(lastMs) : from);
  }

  /** For a schedule that has fired before: fire once if a run fell between that and now. */
  #fireMissedWhileDown(id: string, armed: Armed, cron: Cron, now: Date): void {
    const last = this.#state.getLastFire(id);
    const lastMs = last === undefined ? Number.NaN : Date.parse(last);
    if (Number.isNaN(lastMs)) return; // never fired here: a new schedule, nothing to catch up
    const latest = this.#safely(armed, () => latestRunAtOrBefore(cron, shifted(now, armed)));
    if (latest && latest.getTime() > lastMs) this.#fires.fire(id, latest);
  }

  /** Sets the one timer for the earliest next (delayed) run, or a 5-min hop if that is further away. */
  #arm(): void {
    this.#disarm();
    if (!this.#running) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const armed of this.#armed.values()) {
      if (armed.next !== null) earliest = Math.min(earliest, dueAt(armed));
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
        if (armed.next !== null && now.getTime() < dueAt(armed)) {
          armed.next = this.#safely(armed, () => cronFor(armed.entry, armed.zone).nextRun(shifted(now, armed))) ?? null;
        }
      }
    }
    // Every schedule that is due, earliest first (a 5-min hop finds none and only re-arms).
    const due = [...this.#armed.values()]
      .filter((armed) => armed.next !== null && dueAt(armed) <= now.getTime())
      .sort((a, b) => dueAt(a) - dueAt(b));
    const fires: [string, Date][] = [];
    for (const armed of due) {
      const scheduled = armed.next as Date;
      const cron = this.#safely(armed, () => cronFor(armed.entry, armed.zone));
      // Late (suspend, clock step): runs between `next` and now collapse into the latest one.
      const latest = cron && this.#safely(armed, () => latestRunAtOrBefore(cron, shifted(now, armed)));
      fires.push([armed.entry.id, latest && latest.getTime() >= scheduled.getTime() ? latest : scheduled]);
      armed.next = (cron && this.#safely(armed, () => cron.nextRun(shifted(now, armed)))) ?? null;
    }
    this.#arm();
    for (const [id, at] of fires) this.#fires.fire(id, at);
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
}
