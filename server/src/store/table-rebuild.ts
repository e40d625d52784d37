import type { Database } from "bun:sqlite";

/**
 * A migration that SQL alone cannot write: it runs as code, with foreign keys off (SQLite's own
 * procedure for changing a table's constraints, https://sqlite.org/lang_altertable.html#otheralter:
 * with them on, dropping the old table would cascade into every table that references it).
 */
export interface CodeMigration {
  readonly foreignKeysOff: true;
  run(db: Database): void;
}

export type Migration = string | CodeMigration;

/**
 * Rebuilds `table` with its CREATE statement changed by `edit` (a CHECK constraint widened), its
 * rows, indexes and triggers kept as they are. Call inside the migration's transaction, with
 * foreign keys off; the caller checks them before the commit.
 */
export function rebuildTable(db: Database, table: string, edit: (createSql: string) => string): void {
  const schema = db
    .query<{ type: string; name: string; sql: string | null }, [string]>(
      "SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = ? ORDER BY rowid",
    )
    .all(table);
  const create = schema.find((s) => s.type === "table")?.sql;
  if (!create) throw new Error(`migration: table ${table} does not exist`);
  const edited = edit(create);
  if (edited === create) throw new Error(`migration: the change to table ${table} did not apply to its schema`);
  const temp = `${table}__rebuilt`;
  const head = new RegExp(`^CREATE TABLE "?${table}"?\\s*\\(`);
  if (!head.test(edited)) throw new Error(`migration: unexpected CREATE statement for table ${table}`);
  db.exec(edited.replace(head, `CREATE TABLE ${temp} (`));
  // Generated columns (table_xinfo's hidden 2 and 3) are computed, never inserted.
  const stored = db
    .query<{ name: string; hidden: number }, []>(`SELECT name, hidden FROM pragma_table_xinfo('${table}')`)
    .all()
    .filter((c) => c.hidden !== 2 && c.hidden !== 3)
    .map((c) => `"${c.name}"`)
    .join(", ");
  db.exec(`INSERT INTO ${temp} (${stored}) SELECT ${stored} FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  // Other tables' triggers that name the table would fail to parse while it is gone: the legacy
  // rename does not re-check them (sqlite.org/lang_altertable.html, "compatibility").
  db.exec("PRAGMA legacy_alter_table = ON");
  db.exec(`ALTER TABLE ${temp} RENAME TO ${table}`);
  db.exec("PRAGMA legacy_alter_table = OFF");
  // Indexes and triggers went with the old table; SQLite's own (autoindexes) have no SQL.
  for (const s of schema) if ((s.type === "index" || s.type === "trigger") && s.sql) db.exec(s.sql);
}

/** Runs one migration in its own transaction, with its user_version; code ones with foreign keys off. */
export function applyMigration(db: Database, migration: Migration, version: number): void {
  if (typeof migration === "string") {
    db.transaction(() => {
      db.exec(migration);
      db.exec(`PRAGMA user_version = ${version}`);
    })();
    return;
  }
  db.exec("PRAGMA foreign_keys = OFF");
  try {
    db.transaction(() => {
      migration.run(db);
      const broken = db.query("PRAGMA foreign_key_check").all();
      if (broken.length > 0) {
        throw new Error(`migration ${version} left ${broken.length} broken references: ${JSON.stringify(broken[0])}`);
      }
      db.exec(`PRAGMA user_version = ${version}`);
    })();
  } finally {
    db.exec("PRAGMA foreign_keys = ON");
  }
}
