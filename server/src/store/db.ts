import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MIGRATIONS } from "./migrations.ts";
import { applyMigration, type Migration } from "./table-rebuild.ts";

export type { Database };

/** The database's file name in the data directory. */
export const DATABASE_FILE = "restic-fleet.db";

/**
 * Opens (or creates) the database: WAL, foreign keys on, and synchronous=FULL because the
 * server acks agent messages once committed, and an acked message must survive power loss.
 */
export function openDatabase(path: string): Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path, { create: true, strict: true });
  // A new database frees deleted pages back to the file system in steps (retention's incremental
  // vacuum). It can only be set before the first table, and the migrations run in transactions,
  // where it has no effect: so here, first. An older database is converted by the server (server.ts).
  const empty = db.query<{ n: number }, []>("SELECT count(*) AS n FROM sqlite_schema").get()?.n === 0;
  if (empty) db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  migrate(db);
  return db;
}

export function migrate(db: Database): void {
  const row = db.query<{ user_version: number }, []>("PRAGMA user_version").get();
  const current = row?.user_version ?? 0;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this server knows (${MIGRATIONS.length}): ` +
        "run the newer restic-fleet-server, or restore a backup of the data directory",
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    applyMigration(db, MIGRATIONS[version] as Migration, version + 1);
  }
}

export const toJson = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

export function fromJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Named parameters from a typed row; interfaces lack the index signature bun:sqlite wants. */
export const params = (row: object) => row as Record<string, string | number | bigint | boolean | null>;

/**
 * A statement's rows, read one at a time once iteration starts: a caller that stops early (a
 * page full of bytes) never loads the rest, and stopping resets the statement.
 */
export function* lazily<T>(rows: () => Iterable<T>): Generator<T, void, undefined> {
  yield* rows();
}
