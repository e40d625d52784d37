import { expect, test } from "bun:test";
import { openDatabase } from "./db.ts";
import { createStore } from "./store.ts";
import { rebuildTable } from "./table-rebuild.ts";

// hosts has computed columns (migration 27): a rebuild must copy the stored ones only, and the
// computed ones must come back from them.
test("a table with generated columns is rebuilt with its rows, and its computed values return", () => {
  const db = openDatabase(":memory:");
  const store = createStore(db);
  store.insertHost({
    id: "h1",
    name: "n1",
    hostname: "x",
    restic_host: "x",
    agent_token_hash: "t1",
    enrolled_at: "2026-12-01T00:00:00Z",
  });
  db.run("UPDATE hosts SET expected_interval_s = 3600 WHERE id = 'h1'");
  const before = db.query("SELECT * FROM hosts").all();
  db.run("PRAGMA foreign_keys = OFF");
  db.transaction(() =>
    rebuildTable(db, "hosts", (sql) => sql.replace("max_offline_age TEXT", "max_offline_age TEXT /* rebuilt */")),
  )();
  db.run("PRAGMA foreign_keys = ON");
  expect(db.query("SELECT * FROM hosts").all()).toEqual(before);
  expect(db.query("SELECT health_base, stale_after_ms FROM hosts").get()).toEqual({
    health_base: 3,
    stale_after_ms: Date.parse("2026-12-01T00:00:00Z") + 7200 * 1000,
  });
});
