import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { migrate, openDatabase } from "./db.ts";
import { MIGRATIONS } from "./migrations.ts";
import { createStore } from "./store.ts";

// The store's behaviour is pinned by the contract suite (store-contract.ts, run by
// sqlite-store.contract.test.ts); what stays here is SQLite's own: pragmas and migrations.
describe("store", () => {
  test("migrations set user_version and the pragmas", () => {
    const db = openDatabase(":memory:");
    expect(db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(MIGRATIONS.length);
    expect(db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys).toBe(1);
    expect(db.query<{ synchronous: number }, []>("PRAGMA synchronous").get()?.synchronous).toBe(2); // FULL
  });
});

describe("migration 5: restic_host", () => {
  test("hosts enrolled before it get the hostname of their last hello, the name their snapshots carry", () => {
    const db = new Database(":memory:", { strict: true });
    for (const [i, sql] of MIGRATIONS.slice(0, 4).entries()) {
      db.exec(sql);
      db.exec(`PRAGMA user_version = ${i + 1}`);
    }
    db.query(
      "INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES ('h1', 'Web A', 'box', 'x', '2026-11-30T00:00:00Z')",
    ).run();
    migrate(db);
    expect(createStore(db).hostById("h1")).toMatchObject({ name: "Web A", hostname: "box", restic_host: "box" });
  });
});
