import * as v from "valibot";
import { Count, Id, Timestamp } from "../../../protocol/index.ts";

/**
 * The agent's ledger of fires (DESIGN §8.7): `(schedule_id, scheduled_at) → job id, state`, so one
 * tick runs at most once, whether the server asks (command.run with the tick) or the agent's own
 * authority does (a backup while the link is down).
 * - `sent`: the fire reached a link; the server has not answered it yet.
 * - `declined`: the server acked the fire without sending a job for it (merged, refused).
 * - `server`: the server's job runs it (`job_id`).
 * - `agent`: the agent ran it on its own (`job_id`, minted here).
 * - `missed`: let go by during an outage (a later tick ran instead).
 */
export const LEDGER_STATES = ["sent", "declined", "server", "agent", "missed"] as const;
export type LedgerState = (typeof LEDGER_STATES)[number];

export const LedgerEntry = v.object({
  schedule_id: Id,
  /** Normalized: UTC, millisecond ISO 8601 (the server's form), so every spelling is one key. */
  scheduled_at: Timestamp,
  state: v.picklist(LEDGER_STATES),
  job_id: v.optional(Id),
  /** The schedule.fire envelope's id, while `sent`: its ack says the server has answered. */
  fire_id: v.optional(Id),
  /** When the entry last changed. */
  at: Timestamp,
  /** For an `agent` entry: how many earlier ticks the outage let go by. */
  missed: v.optional(Count),
});
export type LedgerEntry = v.InferOutput<typeof LedgerEntry>;

export const FireLedgerFile = v.object({
  entries: v.array(LedgerEntry),
  /** The last time a link to the server was up: how old the agent's config is (max_offline_age). */
  last_link_at: v.optional(Timestamp),
});
export type FireLedgerFile = v.InferOutput<typeof FireLedgerFile>;

/** The newest entries kept per schedule: a tick older than these is long past any re-send. */
export const LEDGER_PER_SCHEDULE = 20;

export const tickKey = (scheduleId: string, scheduledAt: string) =>
  `${scheduleId} ${new Date(scheduledAt).toISOString()}`;

/**
 * The ledger in memory, keyed by tick; the StateStore persists it (fire-ledger.json). Each
 * schedule keeps its newest LEDGER_PER_SCHEDULE ticks.
 */
export class FireLedger {
  readonly #entries = new Map<string, LedgerEntry>();

  constructor(entries: readonly LedgerEntry[] = []) {
    for (const e of entries) this.#entries.set(tickKey(e.schedule_id, e.scheduled_at), e);
  }

  get(scheduleId: string, scheduledAt: string): LedgerEntry | undefined {
    return this.#entries.get(tickKey(scheduleId, scheduledAt));
  }

  /** Sets the tick's entry (its scheduled_at normalized) and trims the schedule's oldest. */
  set(entry: LedgerEntry): LedgerEntry {
    const e = { ...entry, scheduled_at: new Date(entry.scheduled_at).toISOString() };
    this.#entries.set(tickKey(e.schedule_id, e.scheduled_at), e);
    const own = this.of(e.schedule_id);
    for (const old of own.slice(0, Math.max(0, own.length - LEDGER_PER_SCHEDULE))) {
      this.#entries.delete(tickKey(old.schedule_id, old.scheduled_at));
    }
    return e;
  }

  /** The schedule's entries, oldest tick first. */
  of(scheduleId: string): LedgerEntry[] {
    return [...this.#entries.values()]
      .filter((e) => e.schedule_id === scheduleId)
      .sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at));
  }

  /** The `sent` entry of a schedule.fire envelope, if it is still unanswered. */
  sentWith(fireId: string): LedgerEntry | undefined {
    for (const e of this.#entries.values()) if (e.state === "sent" && e.fire_id === fireId) return e;
    return undefined;
  }

  /** Forgets the schedules that are gone. */
  keepOnly(scheduleIds: ReadonlySet<string>): boolean {
    let changed = false;
    for (const [key, e] of this.#entries) {
      if (!scheduleIds.has(e.schedule_id)) {
        this.#entries.delete(key);
        changed = true;
      }
    }
    return changed;
  }

  entries(): LedgerEntry[] {
    return [...this.#entries.values()];
  }
}
