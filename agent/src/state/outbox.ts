import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { envelopeOf } from "../../../protocol/index.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import { removeStaleTempFiles, writeFileAtomic } from "./atomic-file.ts";
import { MARKER_TEXT, type MakeMarker, planDrops } from "./outbox-drops.ts";
import {
  appendDurably,
  byteLength,
  makeEntry,
  type OutboxEntry,
  type OutboxEnvelope,
  recordLine,
  removalLine,
  replayOutbox,
} from "./outbox-records.ts";

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
]);

export const OUTBOX_FILE = "outbox.jsonl";
/** 10,000 entries / 50 MiB: a day offline with busy backups, and still a quick re-send. */
export const DEFAULT_MAX_ENTRIES = 10_000;
export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
/** 1 s: at most one fsync per second for logs and progress (progress itself is ~1/s per job). */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** Rewrite the file once removed records outweigh live ones and it is past 1 MiB: amortized O(1). */
const COMPACT_MIN_BYTES = 1024 * 1024;

export interface OutboxLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

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
 * (format: outbox-records.ts; what goes when full: outbox-drops.ts).
 */
export class Outbox {
  readonly path: string;
  readonly #clock: Clock;
  readonly #log: OutboxLog;
  readonly #flushIntervalMs: number;
  readonly #caps: { maxEntries: number; maxBytes: number };
  /** Live entries sorted by n. */
  #entries: OutboxEntry[] = [];
  readonly #live = new Map<string, OutboxEntry>();
  #bytes = 0;
  #nextN = 0;
  /** Entries whose push record is not in the file yet (some may have been removed since). */
  #buffer: OutboxEntry[] = [];
  /** Ids of flushed entries removed since the last write. */
  #removals: string[] = [];
  #fileBytes = 0;
  #needsRewrite = false;
  #timer: TimerHandle | null = null;
  #tail: Promise<void> = Promise.resolve();
  #waiting: Promise<void> | null = null;
  #closed = false;
  #warnedStuck = false;
  readonly #stats: OutboxStats = { appends: 0, compactions: 0, droppedLogLines: 0, droppedEnvelopes: 0 };

  private constructor(path: string, options: OutboxOptions) {
    this.path = path;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
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
    return this.#entries.length;
  }

  /** Bytes the unacked entries take in the file. */
  get bytes(): number {
    return this.#bytes;
  }

  get stats(): Readonly<OutboxStats> {
    return { ...this.#stats };
  }

  /** Unacked envelopes in order, to (re-)send after a reconnect. */
  pending(): OutboxEnvelope[] {
    return this.#entries.map((e) => e.env);
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
      this.#insert(entry);
      this.#buffer.push(entry);
      this.#enforceCaps();
    }
    if (URGENT.has(env.type)) return this.flush();
    this.#armTimer();
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
    if (gone.size > 0) this.#armTimer();
    return gone.size;
  }

  /** Writes everything pushed or acked so far; resolves once it is on disk. */
  flush(): Promise<void> {
    if (this.#timer) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#waiting) return this.#waiting;
    const next = this.#tail
      .catch(() => {})
      .then(() => {
        this.#waiting = null;
        return this.#write();
      });
    this.#waiting = next;
    this.#tail = next;
    return next;
  }

  /** Resolves once the writes started so far are done, without starting one (for `status` and tests). */
  settled(): Promise<void> {
    return this.#tail.catch(() => {});
  }

  /** Flushes and stops the timer; later pushes are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #armTimer(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.flush().catch((err) => {
        this.#log.warn(`outbox ${this.path}: could not write, will retry: ${String(err)}`, { path: this.path });
        this.#armTimer();
      });
    }, this.#flushIntervalMs);
  }

  /** Adds to the live set at its place by n (after equal n). */
  #insert(entry: OutboxEntry): void {
    this.#live.set(entry.env.id, entry);
    this.#bytes += entry.bytes;
    let lo = 0;
    let hi = this.#entries.length;
    if (hi > 0 && (this.#entries[hi - 1] as OutboxEntry).n <= entry.n) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#entries[mid] as OutboxEntry).n <= entry.n) lo = mid + 1;
      else hi = mid;
    }
    this.#entries.splice(lo, 0, entry);
  }

  /** Removes from the live set; a removed entry already in the file needs an `rm` record. */
  #remove(gone: ReadonlySet<OutboxEntry>): void {
    if (gone.size === 0) return;
    for (const entry of gone) {
      this.#live.delete(entry.env.id);
      this.#bytes -= entry.bytes;
      if (entry.flushed) this.#removals.push(entry.env.id);
    }
    this.#entries = this.#entries.filter((e) => !gone.has(e));
  }

  async #write(): Promise<void> {
    const appends = this.#buffer.filter((e) => this.#live.get(e.env.id) === e);
    const removals = this.#removals;
    if (appends.length === 0 && removals.length === 0 && !this.#needsRewrite) return;
    const text = (removals.length > 0 ? removalLine(removals) : "") + appends.map(recordLine).join("");
    const fileAfter = this.#fileBytes + byteLength(text);
    if (this.#needsRewrite || (fileAfter > COMPACT_MIN_BYTES && fileAfter > 2 * this.#bytes)) {
      await this.#rewrite();
      return;
    }
    // Marked before the write: an ack that lands meanwhile must record an `rm`.
    this.#buffer = [];
    this.#removals = [];
    for (const e of appends) e.flushed = true;
    try {
      await appendDurably(this.path, text);
    } catch (err) {
      // A partial append may have left a torn line: rewrite the whole file next time.
      this.#needsRewrite = true;
      throw err;
    }
    this.#fileBytes = fileAfter;
    this.#stats.appends += 1;
  }

  /** Replaces the file with the live entries only (atomically). */
  async #rewrite(): Promise<void> {
    const snapshot = [...this.#entries];
    this.#buffer = [];
    this.#removals = [];
    for (const e of snapshot) e.flushed = true;
    const text = snapshot.map(recordLine).join("");
    try {
      await writeFileAtomic(this.path, text);
    } catch (err) {
      this.#needsRewrite = true;
      throw err;
    }
    this.#needsRewrite = false;
    this.#fileBytes = byteLength(text);
    this.#stats.compactions += 1;
  }

  async #load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      // Created up front through the atomic path, so the directory entry is durable and 0600.
      await writeFileAtomic(this.path, "");
      return;
    }
    const { entries, torn, bad, endsClean } = replayOutbox(text);
    for (const entry of entries) this.#insert(entry);
    this.#nextN = entries.reduce((max, e) => Math.max(max, e.n + 1), 0);
    this.#fileBytes = byteLength(text);
    if (torn || bad > 0 || !endsClean) {
      const found = [
        torn ? "a torn last line (the agent stopped mid-write)" : "",
        bad > 0 ? `${bad} unreadable line(s), whose messages are lost` : "",
        !torn && !endsClean ? "a missing final newline" : "",
      ].filter(Boolean);
      this.#log.warn(
        `outbox ${this.path}: found ${found.join(" and ")}; kept ${entries.length} pending message(s) and rewrote the file`,
        { path: this.path, torn, bad_lines: bad },
      );
      // The next append must start on a clean line.
      this.#needsRewrite = true;
    }
    this.#enforceCaps();
    if (this.#needsRewrite) await this.#rewrite();
  }

  #enforceCaps(): void {
    const makeMarker: MakeMarker = (jobId, seq, ts, count) =>
      envelopeOf(
        "job.log",
        { lines: [{ job_id: jobId, seq, ts, stream: "event", payload: MARKER_TEXT(count) }] },
        { now: () => this.#clock.now() },
      );
    const plan = planDrops(this.#entries, this.#bytes, this.#caps, makeMarker);
    if (!plan) {
      this.#warnedStuck = false;
      return;
    }
    const { maxEntries, maxBytes } = this.#caps;
    if (plan.remove.length > 0) {
      this.#remove(new Set(plan.remove));
      for (const marker of plan.markers) {
        this.#insert(marker);
        this.#buffer.push(marker);
      }
      this.#stats.droppedLogLines += plan.droppedLogLines;
      this.#stats.droppedEnvelopes += plan.droppedOther;
      this.#log.warn(
        `outbox ${this.path} is full: dropped ${plan.droppedLogLines} log line(s) and ${plan.droppedOther} progress/report message(s) to stay under ${maxEntries} entries / ${maxBytes} bytes`,
        { path: this.path, dropped_log_lines: plan.droppedLogLines, dropped_other: plan.droppedOther },
      );
      this.#armTimer();
    }
    if (plan.stillOver && !this.#warnedStuck) {
      this.#warnedStuck = true;
      this.#log.warn(
        `outbox ${this.path} is over its cap (${maxEntries} entries / ${maxBytes} bytes) with only messages that are never dropped; it keeps them until the server is reachable`,
        { path: this.path, depth: this.#entries.length, bytes: this.#bytes },
      );
    }
  }
}
