import { lstat } from "node:fs/promises";
import type { Clock, TimerHandle } from "../clock.ts";
import type { ChildLike } from "./types.ts";

/**
 * The processes a job is running right now (one restic, or a stdin backup's command and restic),
 * and how a cancel stops them: SIGINT first, so restic can finish its current pack and remove
 * its lock, then SIGKILL once graceMs have passed on the injected clock. Once interrupted, every
 * later child of the job is interrupted as it starts.
 */
export class ChildControl {
  readonly #children = new Set<ChildLike>();
  readonly #killTimers = new Map<ChildLike, TimerHandle>();
  #interrupted = false;

  constructor(
    private readonly clock: Clock,
    private readonly graceMs: number,
    private readonly log: (text: string) => void,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  attach(child: ChildLike): void {
    this.#children.add(child);
    if (this.#interrupted) this.#signal(child);
  }

  /** Forgets one child, or every child when none is named, and their pending SIGKILLs. */
  detach(child?: ChildLike): void {
    for (const c of child ? [child] : [...this.#children]) {
      this.#children.delete(c);
      const timer = this.#killTimers.get(c);
      if (timer) this.clock.clearTimeout(timer);
      this.#killTimers.delete(c);
    }
  }

  interrupt(): void {
    this.#interrupted = true;
    for (const child of this.#children) this.#signal(child);
  }

  /** Stops one child the same way (SIGINT, then SIGKILL after the grace period), without a cancel. */
  stop(child: ChildLike): void {
    if (this.#children.has(child) && !this.#killTimers.has(child)) this.#signal(child);
  }

  #signal(child: ChildLike): void {
    if (this.platform === "win32") {
      // Windows has no SIGINT for a child without a console, so a cancel there is a process kill.
      this.log(`killing pid ${child.pid}`);
      send(child, "SIGKILL");
      return;
    }
    this.log(`sending SIGINT to pid ${child.pid}`);
    send(child, "SIGINT");
    if (this.#killTimers.has(child)) return;
    this.#killTimers.set(
      child,
      this.clock.setTimeout(() => {
        this.#killTimers.delete(child);
        if (!this.#children.has(child)) return;
        this.log(`pid ${child.pid} still running after ${this.graceMs} ms: sending SIGKILL`);
        send(child, "SIGKILL");
      }, this.graceMs),
    );
  }
}

function send(child: ChildLike, sig: NodeJS.Signals): void {
  try {
    child.kill(sig);
  } catch {
    // already gone
  }
}

/** The backup paths that are not there; restic 0.14 would skip them with exit code 0. */
export async function missingPaths(paths: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of paths) {
    // lstat: a dangling symlink is still something restic backs up.
    const exists = await lstat(p).then(
      () => true,
      (err: NodeJS.ErrnoException) => err.code !== "ENOENT" && err.code !== "ENOTDIR",
    );
    if (!exists) missing.push(p);
  }
  return missing;
}

/** An argv element as a shell would need it, for the "$ restic ..." log line. */
export function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg);
}
