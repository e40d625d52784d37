import { type AgentMessage, envelopeOf } from "../../protocol/index.ts";
import type { Clock } from "./clock.ts";
import { toRfc3339 } from "./scheduler-times.ts";

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

/** What the agent's ledger of fires hears from the sender (agent/src/autonomy.ts). */
export interface FireHooks {
  /** A fire reached a connection, as envelope `envelopeId`. */
  delivered?(scheduleId: string, scheduledAt: string, envelopeId: string): void;
  /** A fire could not be sent (no connection): it waits as the schedule's missed fire. */
  unsent?(scheduleId: string): void;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Sends the scheduler's `schedule.fire` messages. A fire that is sent becomes the schedule's
 * persisted last fire; one that cannot be sent is remembered, the latest per schedule, until
 * sendMissed() on the next connection.
 */
export class FireSender {
  readonly #clock: Clock;
  readonly #state: LastFireState;
  readonly #log: SchedulerLog;
  #send: Send | null;
  /** schedule id → the latest scheduled_at that could not be sent. */
  readonly #missed = new Map<string, string>();
  readonly #hooks: FireHooks;
  /** setLastFire writes still running; settle() waits for them. */
  readonly #inflight = new Set<Promise<void>>();

  constructor(clock: Clock, send: Send | null, state: LastFireState, log: SchedulerLog, hooks: FireHooks = {}) {
    this.#clock = clock;
    this.#send = send;
    this.#state = state;
    this.#log = log;
    this.#hooks = hooks;
  }

  /** The schedule's missed fire, if one waits. */
  missedOf(id: string): string | undefined {
    return this.#missed.get(id);
  }

  /** Takes the schedule's missed fire out (the agent ran it on its own): it is never sent. */
  takeMissed(id: string): string | undefined {
    const missed = this.#missed.get(id);
    this.#missed.delete(id);
    return missed;
  }

  /** The schedules that have a missed fire waiting. */
  missedIds(): string[] {
    return [...this.#missed.keys()];
  }

  /** Swaps the transport; sends nothing by itself. */
  setSend(send: Send | null): void {
    this.#send = send;
  }

  /** Sends the remembered missed fires, in order, until one cannot be sent. */
  sendMissed(): void {
    for (const [id, scheduledAt] of [...this.#missed]) {
      if (!this.#deliver(id, scheduledAt)) break;
      this.#missed.delete(id);
    }
  }

  /** Forgets the missed fires of schedules that are gone (or disabled). */
  keepMissedOf(scheduleIds: ReadonlyMap<string, unknown>): void {
    for (const id of [...this.#missed.keys()]) if (!scheduleIds.has(id)) this.#missed.delete(id);
  }

  fire(id: string, at: Date): void {
    const scheduledAt = toRfc3339(at);
    if (this.#deliver(id, scheduledAt)) {
      this.#missed.delete(id);
      return;
    }
    this.#missed.set(id, scheduledAt);
    this.#hooks.unsent?.(id);
  }

  /** Resolves once every last-fire write started so far is done. */
  async settle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
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
    if (sent) {
      this.#recordLastFire(id, scheduledAt);
      this.#hooks.delivered?.(id, scheduledAt, msg.id);
    }
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
}
