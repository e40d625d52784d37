import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { Store } from "../domain/store.ts";
import { agentDataStore } from "./agent-data-store.ts";
import { auditStore } from "./audit-store.ts";
import { type Database, openDatabase } from "./db.ts";
import { hostSummaryStore } from "./host-summary-store.ts";
import { hostsStore } from "./hosts-store.ts";
import { jobsStore } from "./jobs-store.ts";
import { schedulesStore } from "./schedules-store.ts";
import { usersStore } from "./users-store.ts";

/** The server's one persistence module: named methods over prepared statements (domain/store.ts). */
export function createStore(db: Database): Store {
  return {
    ...usersStore(db),
    ...hostsStore(db),
    ...hostSummaryStore(db),
    ...schedulesStore(db),
    ...jobsStore(db),
    ...agentDataStore(db),
    ...auditStore(db),
    /** Runs fn in one transaction (BEGIN IMMEDIATE); a nested call runs in a savepoint inside it. */
    tx<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
    inTransaction: () => db.inTransaction,
    check() {
      try {
        // quick_check: the structural half of integrity_check, without the index cross-check,
        // so /healthz stays cheap on a large database.
        const answer = db.query<{ quick_check: string }, []>("PRAGMA quick_check").get()?.quick_check ?? "no answer";
        if (answer !== "ok") return answer;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
      return diskSpaceProblem(db.filename);
    },
    close: () => db.close(),
  };
}

export function openStore(path: string): Store {
  return createStore(openDatabase(path));
}

export type { Store };

/**
 * 1 MiB: below it the next write (a WAL frame, a checkpoint) may fail with SQLITE_FULL, so the
 * health check says so before the API does.
 */
const MIN_FREE_BYTES = 1024 * 1024;

/** "ok", or that the database's disk is (nearly) full. */
function diskSpaceProblem(file: string): string {
  if (!file || file === ":memory:") return "ok";
  try {
    const fs = statfsSync(dirname(file));
    const free = fs.bavail * fs.bsize;
    return free < MIN_FREE_BYTES ? `the disk of ${dirname(file)} is full (${free} bytes free)` : "ok";
  } catch {
    return "ok"; // no statfs here: the quick check above is the whole answer
  }
}
