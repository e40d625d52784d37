/**
 * SQLite's "database or disk is full" (SQLITE_FULL, as bun:sqlite reports it in `code`): the data
 * directory's disk has no room. Named apart from other failures, because the fix is the
 * operator's (free space), not a bug report.
 */
export function isDiskFull(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "SQLITE_FULL";
}

export const DISK_FULL_MESSAGE =
  "the server's disk is full: nothing was stored. Free space on the disk of the server's data directory, then retry";
