// Readers for /proc: resident memory and CPU time of a process (Linux only).
import { readdirSync, readFileSync } from "node:fs";

/** VmRSS in bytes; null when the process is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** USER_HZ: Linux reports utime/stime in clock ticks of 1/100 s on every common configuration. */
const CLOCK_TICKS = 100;

/** utime + stime in seconds (10 ms resolution), including threads that have exited. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces; the numeric fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * CPU time in seconds with nanosecond resolution: the sum of every live thread's schedstat.
 * Idle processes use less than a 10 ms tick per minute, below what /proc/<pid>/stat can show.
 */
export function cpuSecondsPrecise(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return ns / 1e9;
  } catch {
    return null;
  }
}

/** Samples a process's RSS on an interval; keeps the peak and the last value. */
export class RssSampler {
  peak = 0;
  last = 0;
  #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): number {
    const rss = rssBytes(this.pid);
    if (rss !== null) {
      this.last = rss;
      this.peak = Math.max(this.peak, rss);
    }
    return this.last;
  }

  stop(): { peak: number; last: number } {
    clearInterval(this.#timer);
    this.sample();
    return { peak: this.peak, last: this.last };
  }
}

export const MB = 1024 * 1024;
