import type { Link } from "./connection.ts";
import type { Logger } from "./log.ts";
import type { Send } from "./scheduler-fires.ts";
import type { Outbox, OutboxEnvelope } from "./state/outbox.ts";
import type { StateStore } from "./state/state-store.ts";

/** A server that never acks fires (older than this agent) must not grow the memory forever. */
const MAX_UNACKED_FIRES = 1000;

export interface DeliveryOptions {
  outbox: Outbox;
  /** Where each job's state is kept: running on job.started, finished once its result is durable. */
  state: Pick<StateStore, "setJobState" | "removeJob">;
  log: Logger;
  /** Named in the error when a write fails. */
  stateDir: string;
}

/**
 * The agent's half of delivery, so no job's end is lost to a disconnect or a restart. Every report
 * waits in the outbox until the server acks it, and goes out again on every new connection. A job
 * is forgotten only once the server has acked its job.finished. schedule.fire frames, which are
 * live-only, wait in memory until acked and go out again, with the same id, after a reconnect.
 * The Agent puts the frames on the wire.
 */
export class Delivery {
  readonly #o: DeliveryOptions;
  /** job.finished envelope id → job id, to forget the job once the server acks its result. */
  readonly #finishedEnvelopes = new Map<string, string>();
  /** schedule.fire frames sent but not yet acked by the server: re-sent after a reconnect. */
  readonly #unackedFires = new Map<string, string>();

  constructor(o: DeliveryOptions) {
    this.#o = o;
  }

  /** Takes over the results the last run left unacked in the outbox; returns their job ids. */
  recover(): ReadonlySet<string> {
    for (const env of this.#o.outbox.pending()) {
      if (env.type === "job.finished") this.#finishedEnvelopes.set(env.id, env.payload.job_id);
    }
    return new Set(this.#finishedEnvelopes.values());
  }

  /** Keeps a report: its job's state first, then the outbox. Never throws; a failed write is logged. */
  keep(env: OutboxEnvelope): void {
    const { outbox, state, log, stateDir } = this.#o;
    const failed = (what: string) => (err: unknown) =>
      log.error(`${what} failed: check the state dir's disk`, { error: String(err), state_dir: stateDir });
    if (env.type === "job.started") void state.setJobState(env.payload.job_id, "running").catch(failed("state write"));
    const stored = outbox.push(env);
    if (env.type === "job.finished") {
      const jobId = env.payload.job_id;
      this.#finishedEnvelopes.set(env.id, jobId);
      // Only once the result is durable in the outbox does the job count as finished here.
      void stored.then(() => state.setJobState(jobId, "finished")).catch(failed("state write"));
    }
    void stored.catch(failed("outbox write"));
  }

  /** The server has durably stored these envelopes: they leave the outbox, and acked results their jobs. */
  async ack(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      this.#unackedFires.delete(id);
      const jobId = this.#finishedEnvelopes.get(id);
      if (jobId !== undefined) {
        this.#finishedEnvelopes.delete(id);
        await this.#o.state
          .removeJob(jobId)
          .catch((err) => this.#o.log.warn("state write failed", { error: String(err) }));
      }
    }
    this.#o.outbox.ack(ids);
  }

  /** A frame the server found invalid will be refused every time: keeping it would block the outbox. */
  dropRefused(refId: string): void {
    if (this.#o.outbox.ack([refId]) > 0) {
      this.#o.log.error("dropped a report the server refused as invalid", { ref_id: refId });
    }
  }

  /**
   * A new connection: sends again whatever the server has not acked, in order (it stores by envelope
   * id, so repeats are harmless), then the fires the last connection took but the server never
   * acked, with the same ids. Returns the scheduler's send over the link, which keeps each fire.
   */
  resend(link: Pick<Link, "send">): Send {
    for (const env of this.#o.outbox.pending()) link.send(JSON.stringify(env));
    for (const text of this.#unackedFires.values()) link.send(text);
    return (m) => {
      const text = JSON.stringify(m);
      if (m.type === "schedule.fire") {
        this.#unackedFires.set(m.id, text);
        if (this.#unackedFires.size > MAX_UNACKED_FIRES) {
          this.#unackedFires.delete(this.#unackedFires.keys().next().value as string);
        }
      }
      return link.send(text);
    };
  }
}
