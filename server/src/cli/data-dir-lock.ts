// One `serve` per data directory. Two servers on one database would both sweep dispatch timeouts
// and mark each other's agents offline, and agents would flap between them.
//
// The lock is a kernel lock, not a pid file: SQLite's own file lock (fcntl on Linux, LockFileEx on
// Windows) on an empty lock file, held by an open BEGIN EXCLUSIVE. The kernel drops it when the
// process ends, however it ends, so a server killed with SIGKILL leaves no stale lock, and there is
// no pid to check and no pid-reuse or takeover race. Node and Bun have no flock(), and bun:ffi is
// experimental; this is why bun:sqlite appears here, outside the store: the lock file holds no data.
// The pid file next to it is only for the error message.
import { Database } from "bun:sqlite";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const LOCK_FILE = "restic-fleet-server.lock";
export const PID_FILE = "restic-fleet-server.pid";

export interface DataDirLock {
  /** Drops the lock and removes the pid file; idempotent. */
  release(): void;
}

// Bun closes a Database that nothing references any more, and closing drops the lock. The held
// connections stay reachable here until release().
const held = new Set<Database>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/** The pid in the holder's pid file, when it names a live process other than this one. */
function holderPid(pidPath: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(pidPath, "utf8").trim());
  } catch {
    return null;
  }
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null;
}

/**
 * Takes the data directory's lock (creating the directory like the store does), or throws an
 * error that names the directory and, when known, the pid of the server holding it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, LOCK_FILE);
  const pidPath = join(dir, PID_FILE);
  const db = new Database(lockPath, { create: true });
  try {
    // Fail at once instead of waiting for the holder.
    db.exec("PRAGMA busy_timeout = 0");
    // Locks without writing: the lock file stays empty, and no journal is made.
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") {
      const pid = holderPid(pidPath);
      const holder = pid ? `pid ${pid}` : `it holds ${lockPath}`;
      throw new Error(
        `the data directory ${dir} is in use by another restic-fleet-server (${holder}): ` +
          "stop that server first, or give this one its own --data-dir",
      );
    }
    throw new Error(
      `cannot lock the data directory ${dir} (${lockPath}): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  held.add(db);
  writeFileSync(pidPath, `${process.pid}\n`);
  return {
    release() {
      if (!held.delete(db)) return;
      rmSync(pidPath, { force: true });
      db.close();
    },
  };
}
