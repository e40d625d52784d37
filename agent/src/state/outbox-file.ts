import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "./atomic-file.ts";
import { appendDurably, byteLength, type OutboxEntry, replayOutbox } from "./outbox-records.ts";

/** Rewrite the file once removed records outweigh live ones and it is past 1 MiB: amortized O(1). */
const COMPACT_MIN_BYTES = 1024 * 1024;

export interface OutboxLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/**
 * The outbox's file on disk (format: outbox-records.ts): batches are appended, and the whole file
 * is rewritten atomically to compact it or to repair a torn line. Tracks its size, and whether
 * the next write must be a rewrite.
 */
export class OutboxFile {
  readonly path: string;
  readonly #log: OutboxLog;
  #bytes = 0;
  #needsRewrite = false;

  constructor(path: string, log: OutboxLog) {
    this.path = path;
    this.#log = log;
  }

  /** The next write must replace the file (it has a torn line, or an append failed). */
  get needsRewrite(): boolean {
    return this.#needsRewrite;
  }

  /**
   * Reads and replays the file: its live entries, sorted by n; null when there was none, which is
   * then created empty. A torn or unreadable line, or no final newline, is reported, and marks the
   * file for a rewrite (which the outbox does once it has applied its caps).
   */
  async load(): Promise<OutboxEntry[] | null> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      // Created up front through the atomic path, so the directory entry is durable and 0600.
      await writeFileAtomic(this.path, "");
      return null;
    }
    const { entries, torn, bad, endsClean } = replayOutbox(text);
    this.#bytes = byteLength(text);
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
    return entries;
  }

  /** Whether to rewrite the file instead of appending `text`, given the live entries' bytes. */
  shouldRewrite(text: string, liveBytes: number): boolean {
    const after = this.#bytes + byteLength(text);
    return this.#needsRewrite || (after > COMPACT_MIN_BYTES && after > 2 * liveBytes);
  }

  /** Appends records with one fsync. */
  async append(text: string): Promise<void> {
    const after = this.#bytes + byteLength(text);
    try {
      await appendDurably(this.path, text);
    } catch (err) {
      // A partial append may have left a torn line: rewrite the whole file next time.
      this.#needsRewrite = true;
      throw err;
    }
    this.#bytes = after;
  }

  /** Replaces the file with `text` (atomically). */
  async rewrite(text: string): Promise<void> {
    try {
      await writeFileAtomic(this.path, text);
    } catch (err) {
      this.#needsRewrite = true;
      throw err;
    }
    this.#needsRewrite = false;
    this.#bytes = byteLength(text);
  }
}
