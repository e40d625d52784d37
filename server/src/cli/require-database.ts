import { statSync } from "node:fs";
import { join, resolve } from "node:path";

import { DATABASE_FILE } from "../store/db.ts";

/** The database file in the data directory (store/db.ts); server.ts opens the same path. */
export { DATABASE_FILE };

/**
 * The headless admin commands act on an existing fleet. Opening the store would create a database
 * and a secret key wherever --data-dir points, so a typo would make a new, empty fleet and print a
 * token for it. This check runs first and touches nothing.
 */
export function requireDatabase(dataDir: string): void {
  const dir = resolve(dataDir);
  const path = join(dir, DATABASE_FILE);
  const kind = (p: string): "file" | "directory" | "missing" | "other" => {
    try {
      const st = statSync(p);
      return st.isFile() ? "file" : st.isDirectory() ? "directory" : "other";
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ENOENT" || code === "ENOTDIR") return "missing";
      if (code === "EACCES" || code === "EPERM") {
        throw new Error(
          `cannot read ${p}: permission denied. Run the command as the user the server runs as ` +
            "(with the .deb: sudo runuser -u restic-fleet -- restic-fleet-server ...)",
        );
      }
      throw err;
    }
  };
  if (kind(path) === "file") return;
  const dirKind = kind(dir);
  const why =
    dirKind === "missing"
      ? "the directory does not exist"
      : dirKind === "directory"
        ? `it has no ${DATABASE_FILE}`
        : "it is not a directory";
  throw new Error(
    `no Restic Fleet database in ${dir} (${why}): start the server once with ` +
      `'restic-fleet-server serve --data-dir ${dir}', or pass the right --data-dir (or RF_DATA_DIR)`,
  );
}
