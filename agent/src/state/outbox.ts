import { join } from "node:path";
import { envelopeOf } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import { removeStaleTempFiles } from "./atomic-file.ts";
import { MARKER_TEXT, type MakeMarker, planDrops } from "./outbox-drops.ts";
import { OutboxFile, type OutboxLog } from "./outbox-file.ts";
import { FlushQueue } from "./outbox-flush.ts";
import { LiveEntries } from "./outbox-live.ts";
import { makeEntry, type OutboxEntry, type OutboxEnvelope, recordLine, removalLine } from "./outbox-records.ts";

export type { OutboxLog } from "./outbox-file.ts";
export { OUTBOX_TYPES, type OutboxEnvelope, type OutboxType } from "./outbox-records.ts";

/**
 * Persisted before push() resolves. They are rare (a few per job), and the server acks
 * `command.result` and `job.finished` only once it has them, so they must be on disk first.
 * Logs and progress are the bulk, and wait for the next batched flush.
 */
const URGENT: ReadonlySet<string> = new Set([
  "command.result",
  "job.started",
  "job.finished",
  "snapshots.report",
  "repo.stats",
  "repo.missing",
]);

export const OUTBOX_FILE = "outbox.jsonl";
/** 10,000 entries / 50 MiB: a day offline with busy backups, and still a quick re-send. */
export const DEFAULT_MAX_ENTRIES = 10_000;
export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
/** 1 s: at most one fsync per second for logs and progress (progress itself is ~1/s per job). */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;

export interface OutboxOptions {
  clock: Clock;
  log: OutboxLog;
  flushIntervalMs?: number;
  maxEntries?: number;
  maxBytes?: number;
}

/** Counters for `status` and for tests. */
export interface OutboxStats {
  /** Appends to the file (each is one write + one fsync). */
  appends: number;
  /** Full atomic rewrites of the file. */
  compactions: number;
  /** Log lines dropped because the outbox was full, since open. */
  droppedLogLines: number;
  /** Other envelopes (progress, superseded reports, stats) dropped since open. */
  droppedEnvelopes: number;
}

/**
 * A durable, bounded queue of agent → server envelopes, kept until the server acks them.
 * Pushes are buffered in memory and appended to `outbox.jsonl` in batches, one fsync per batch
 * (the file: outbox-file.ts and outbox-records.ts; what goes when full: outbox-drops.ts).
 */
export class Outbox {
  readonly path: string;
  readonly #clock: Clock;
  readonly #log: OutboxLog;
  readonly #flushes: FlushQueue;
  readonly #caps: { maxEntries: number; maxBytes: number };
  readonly #file: OutboxFile;
  readonly #live = new LiveEntries();
  #nextN = 0;
  /** Entries whose push record is not in the file yet (some may have been removed since). */
  #buffer: OutboxEntry[] = [];
  /** Ids of flushed entries removed since the last write. */
  #removals: string[] = [];
  #closed = false;
  #warnedStuck = false;
  readonly #stats: OutboxStats = { appends: 0, compactions: 0, droppedLogLines: 0, droppedEnvelopes: 0 };

  private constructor(path: string, options: OutboxOptions) {
    this.path = path;
    this.#file = new OutboxFile(path, options.log);
    this.#clock = options.clock;
    this.#log = options.log;
    this.#flushes = new FlushQueue(
      options.clock,
      options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
      () => this.#write(),
      (err) => this.#log.warn(`outbox ${this.path}: could not write, will retry: ${String(err)}`, { path: this.path }),
    );
    this.#caps = {
      maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
      maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
    };
  }

  /** Opens (or creates) the outbox in `dir`, replaying what the last run left unacked. */
  static async open(dir: string, options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(join(dir, OUTBOX_FILE), options);
    await removeStaleTempFiles(dir, [OUTBOX_FILE]);
    await outbox.#load();
    return outbox;
  }

  /** Unacked entries. */
  get depth(): number {
    return this.#live.size;
  }

  /** Bytes the unacked entries take in the file. */
  get bytes(): number {
    return this.#live.bytes;
  }

  get stats(): Readonly<OutboxStats> {
    return { ...this.#stats };
  }

  /** Unacked envelopes in order, to (re-)send after a reconnect. */
  pending(): OutboxEnvelope[] {
    return this.#live.list.map((e) => e.env);
  }

  /**
   * Queues an envelope. For `command.result`, `job.started`, `job.finished`, `snapshots.report`
   * and `repo.stats` the promise resolves once it is on disk; for logs and progress it resolves
   * at once and the next flush (at most `flushIntervalMs` later) persists it.
   * Pushing an id that is already pending changes nothing.
   */
  push(env: OutboxEnvelope): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("outbox is closed"));
    if (!this.#live.has(env.id)) {
      const entry = makeEntry(this.#nextN++, env);
      this.#live.insert(entry);
      this.#buffer.push(entry);
      this.#enforceCaps();
    }
    if (URGENT.has(env.type)) return this.flush();
    this.#flushes.arm();
    return Promise.resolve();
  }

  /** Removes the envelopes the server has stored. Unknown ids are ignored. Returns how many went. */
  ack(ids: readonly string[]): number {
    const gone = new Set<OutboxEntry>();
    for (const id of ids) {
      const entry = this.#live.get(id);
      if (entry) gone.add(entry);
    }
    this.#remove(gone);
    // Losing an ack record in a crash only means a re-send, which the server dedupes by id.
    if (gone.size > 0) this.#flushes.arm();
    return gone.size;
  }

  /** Writes everything pushed or acked so far; resolves once it is on disk. */
  flush(): Promise<void> {
    return this.#flushes.flush();
  }

  /** Resolves once the writes started so far are done, without starting one (for `status` and tests). */
  settled(): Promise<void> {
    return this.#flushes.settled();
  }

  /** Flushes and stops the timer; later pushes are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#flushes.stop();
    await this.flush();
  }

  /** Removes from the live set; a removed entry already in the file needs an `rm` record. */
  #remove(gone: ReadonlySet<OutboxEntry>): void {
    for (const id of this.#live.remove(gone)) this.#removals.push(id);
  }

  async #write(): Promise<void> {
    const appends = this.#buffer.filter((e) => this.#live.get(e.env.id) === e);
    const removals = this.#removals;
    if (appends.length === 0 && removals.length === 0 && !this.#file.needsRewrite) return;
    const text = (removals.length > 0 ? removalLine(removals) : "") + appends.map(recordLine).join("");
    if (this.#file.shouldRewrite(text, this.#live.bytes)) {
      await this.#rewrite();
      return;
    }
    // Marked before the write: an ack that lands meanwhile must record an `rm`.
    this.#buffer = [];
    this.#removals = [];
    for (const e of appends) e.flushed = true;
    await this.#file.append(text);
    this.#stats.appends += 1;
  }

  /** Replaces the file with the live entries only (atomically). */
  async #rewrite(): Promise<void> {
    const snapshot = [...this.#live.list];
    this.#buffer = [];
    this.#removals = [];
    for (const e of snapshot) e.flushed = true;
    await this.#file.rewrite(snapshot.map(recordLine).join(""));
    this.#stats.compactions += 1;
  }

  async #load(): Promise<void> {
    const entries = await this.#file.load();
    if (!entries) return;
    for (const entry of entries) this.#live.insert(entry);
    this.#nextN = entries.reduce((max, e) => Math.max(max, e.n + 1), 0);
    this.#enforceCaps();
    if (this.#file.needsRewrite) await this.#rewrite();
  }

  #enforceCaps(): void {
    const makeMarker: MakeMarker = (jobId, seq, ts, count) =>
      envelopeOf(
        "job.log",
        { lines: [{ job_id: jobId, seq, ts, stream: "event", payload: MARKER_TEXT(count) }] },
        { now: () => this.#clock.now() },
      );
    const plan = planDrops(this.#live.list, this.#live.bytes, this.#caps, makeMarker);
    if (!plan) {
      this.#warnedStuck = false;
      return;
    }
    const { maxEntries, maxBytes } = this.#caps;
    if (plan.remove.length > 0) {
      this.#remove(new Set(plan.remove));
      for (const marker of plan.markers) {
        this.#live.insert(marker);
        this.#buffer.push(marker);
      }
      this.#stats.droppedLogLines += plan.droppedLogLines;
      this.#stats.droppedEnvelopes += plan.droppedOther;
      this.#log.warn(
        `outbox ${this.path} is full: dropped ${plan.droppedLogLines} log line(s) and ${plan.droppedOther} progress/report message(s) to stay under ${maxEntries} entries / ${maxBytes} bytes`,
        { path: this.path, dropped_log_lines: plan.droppedLogLines, dropped_other: plan.droppedOther },
      );
      this.#flushes.arm();
    }
    if (plan.stillOver && !this.#warnedStuck) {
      this.#warnedStuck = true;
      this.#log.warn(
        `outbox ${this.path} is over its cap (${maxEntries} entries / ${maxBytes} bytes) with only messages that are never dropped; it keeps them until the server is reachable`,
        { path: this.path, depth: this.#live.size, bytes: this.#live.bytes },
      );
    }
  }
}
