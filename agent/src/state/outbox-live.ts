import type { OutboxEntry } from "./outbox-records.ts";

/**
 * The outbox's unacked entries: sorted by n for sending and dropping, by id for acks and dedupe,
 * with their total size for the byte cap.
 */
export class LiveEntries {
  /** Sorted by n. */
  #sorted: OutboxEntry[] = [];
  readonly #byId = new Map<string, OutboxEntry>();
  #bytes = 0;

  get list(): readonly OutboxEntry[] {
    return this.#sorted;
  }

  get size(): number {
    return this.#sorted.length;
  }

  /** Bytes the entries take in the file. */
  get bytes(): number {
    return this.#bytes;
  }

  get(id: string): OutboxEntry | undefined {
    return this.#byId.get(id);
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Adds at its place by n (after equal n). */
  insert(entry: OutboxEntry): void {
    this.#byId.set(entry.env.id, entry);
    this.#bytes += entry.bytes;
    let lo = 0;
    let hi = this.#sorted.length;
    if (hi > 0 && (this.#sorted[hi - 1] as OutboxEntry).n <= entry.n) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#sorted[mid] as OutboxEntry).n <= entry.n) lo = mid + 1;
      else hi = mid;
    }
    this.#sorted.splice(lo, 0, entry);
  }

  /** Removes the entries; returns the ids of those already in the file, which need an `rm` record. */
  remove(gone: ReadonlySet<OutboxEntry>): string[] {
    const flushed: string[] = [];
    if (gone.size === 0) return flushed;
    for (const entry of gone) {
      this.#byId.delete(entry.env.id);
      this.#bytes -= entry.bytes;
      if (entry.flushed) flushed.push(entry.env.id);
    }
    this.#sorted = this.#sorted.filter((e) => !gone.has(e));
    return flushed;
  }
}
