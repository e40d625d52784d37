import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Logger } from "../log.ts";
import { type ResticSessionOptions, withResticSession } from "./restic-session.ts";

interface LockInfo {
  id: string;
  hostname: string;
  pid: number;
}

/**
 * Is this pid a live restic? A zombie (dead, not yet reaped: containers whose PID 1 does not reap
 * do this) or a pid reused by another program after a reboot is not. restic's own `unlock`
 * treats both as live for 30 minutes, which would block the next job.
 */
export function isLiveRestic(pid: number): boolean {
  if (process.platform !== "linux") {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
    // The program itself, not its arguments: `bun test agent/src/restic` is no restic.
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
    return /(^|[\\/])restic[^\\/]*$/.test(argv0);
  } catch {
    return false;
  }
}

export interface StaleLockOptions extends ResticSessionOptions {
  log: Logger;
  isLive?: (pid: number) => boolean;
}

/**
 * After the agent died mid-job: removes the locks its own dead restic left behind. Reads every
 * lock (`list locks`, `cat lock`, both with --no-lock); when all of them were made on this host
 * by processes that are gone, `unlock --remove-all` is safe. Otherwise a plain `unlock` removes
 * what restic itself deems stale, and live locks (another host, a running restic) stay.
 */
export async function clearOwnStaleLocks(o: StaleLockOptions): Promise<"none" | "removed" | "kept-live"> {
  const isLive = o.isLive ?? isLiveRestic;
  return withResticSession(o, async (session) => {
    const run = async (args: string[]) => {
      const out: string[] = [];
      const res = await session.run(args, { onStdout: (l) => out.push(l), onStderr: () => {} });
      return { ok: res.exitCode === 0, out };
    };
    const list = await run(["--no-lock", "list", "locks"]);
    if (!list.ok) return "none";
    const ids = list.out.map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
    if (ids.length === 0) return "none";
    const locks: LockInfo[] = [];
    for (const id of ids) {
      const cat = await run(["--no-lock", "cat", "lock", id]);
      try {
        const j = JSON.parse(cat.out.join("\n")) as { hostname?: string; pid?: number };
        locks.push({ id, hostname: j.hostname ?? "", pid: j.pid ?? -1 });
      } catch {
        // A lock removed meanwhile, or unreadable: count it as someone else's.
        locks.push({ id, hostname: "", pid: -1 });
      }
    }
    const me = hostname();
    const ours = locks.every((l) => l.hostname === me && !isLive(l.pid));
    const res = await run(ours ? ["unlock", "--remove-all"] : ["unlock"]);
    o.log.info(ours ? "removed the locks left by this host's interrupted restic" : "ran restic unlock", {
      locks: locks.length,
      ok: res.ok,
    });
    return ours ? "removed" : "kept-live";
  });
}
