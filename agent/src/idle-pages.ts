// Gives the executable's start-up pages back once the agent is idle (Linux).
import { readFileSync } from "node:fs";
import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./log.ts";

/**
 * Why: most of an idle agent's RSS is the runtime's own code and read-only data, paged in from the
 * executable by start-up (and by each job) and never touched again while idle. Measured on the
 * compiled agent idle with 50 schedules (bench/agent-idle-probe.ts): 51.4 MB RSS, of which 42.8 MB
 * were file pages of the executable; with those dropped, what an idle agent touches again (its
 * heartbeat, the GC timer, the scheduler) brings it back to about 23 MB. The pages stay in the
 * page cache (the kernel may drop them under pressure anyway), so touching them again costs a minor
 * fault, not a read. Only clean, read-only file mappings are released: for those, MADV_DONTNEED
 * changes nothing a program can observe.
 */
export const IDLE_RELEASE_DELAY_MS = 10_000;

const MADV_DONTNEED = 4;

export interface CleanMapping {
  start: bigint;
  length: bigint;
  /** Resident bytes before the release. */
  rss: number;
}

/**
 * The mappings of /proc/self/smaps that are backed by a file, not writable, and hold no
 * anonymous (copied-on-write) page: releasing them loses nothing. A read-only mapping with a
 * written page (RELRO, a configuration page made read-only after start-up) is left alone.
 */
export function cleanFileMappings(smaps: string): CleanMapping[] {
  const out: CleanMapping[] = [];
  let cur: { start: bigint; end: bigint; eligible: boolean; rss: number; anon: number } | null = null;
  const flush = () => {
    if (cur?.eligible && cur.anon === 0 && cur.rss > 0) {
      out.push({ start: cur.start, length: cur.end - cur.start, rss: cur.rss });
    }
  };
  for (const line of smaps.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      flush();
      const [, lo = "0", hi = "0", perms = "", path = ""] = head;
      cur = {
        start: BigInt(`0x${lo}`),
        end: BigInt(`0x${hi}`),
        eligible: path.startsWith("/") && !perms.includes("w") && !path.endsWith(" (deleted)"),
        rss: 0,
        anon: 0,
      };
      continue;
    }
    if (!cur) continue;
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (field?.[1] === "Rss") cur.rss = Number(field[2]) * 1024;
    else if (field?.[1] === "Anonymous") cur.anon = Number(field[2]) * 1024;
  }
  flush();
  return out;
}

/** Releases the clean file pages of this process; the bytes released, or null where unsupported. */
export type ReleasePages = () => Promise<number | null>;

let madvise: ((addr: bigint, len: bigint, advice: number) => number) | null | undefined;

/** madvise(MADV_DONTNEED) through glibc, loaded on first use; null on other systems. */
export const releaseCleanPages: ReleasePages = async () => {
  if (process.platform !== "linux") return null;
  if (madvise === undefined) {
    try {
      const { dlopen, FFIType } = await import("bun:ffi");
      const lib = dlopen("libc.so.6", {
        madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
      });
      madvise = (addr, len, advice) => lib.symbols.madvise(addr, len, advice) as number;
    } catch {
      madvise = null;
    }
  }
  if (!madvise) return null;
  let released = 0;
  for (const m of cleanFileMappings(readFileSync("/proc/self/smaps", "utf8"))) {
    if (madvise(m.start, m.length, MADV_DONTNEED) === 0) released += m.rss;
  }
  return released;
};

/**
 * Releases the pages once the agent has been idle for `delayMs`: after start-up, after it
 * connects, and after each run of jobs. Work in the meantime postpones it.
 */
export class IdlePages {
  #timer: TimerHandle | null = null;
  #busy = false;
  #stopped = false;

  constructor(private readonly o: { clock: Clock; log: Logger; release: ReleasePages; delayMs?: number }) {}

  /** Work started: nothing is released until it ends. */
  busy(): void {
    this.#busy = true;
    this.#cancel();
  }

  /** Work ended: release after the delay. */
  idle(): void {
    this.#busy = false;
    this.quiet();
  }

  /** Start-up work (connecting) ended: release after the delay from now, unless a job runs. */
  quiet(): void {
    if (this.#busy || this.#stopped) return;
    this.#cancel();
    this.#timer = this.o.clock.setTimeout(() => {
      this.#timer = null;
      if (this.#busy || this.#stopped) return;
      void this.o
        .release()
        .then((bytes) => {
          if (bytes !== null) this.o.log.debug("released idle pages", { mb: Math.round(bytes / 104857.6) / 10 });
        })
        .catch((err) => this.o.log.debug("could not release idle pages", { error: String(err) }));
    }, this.o.delayMs ?? IDLE_RELEASE_DELAY_MS);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel();
  }

  #cancel(): void {
    if (this.#timer) this.o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
