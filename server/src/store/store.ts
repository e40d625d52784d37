import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { Store } from "../domain/store.ts";
import { agentDataStore } from "./agent-data-store.ts";
import { alertsStore } from "./alerts-store.ts";
import { auditStore } from "./audit-store.ts";
import { type Database, openDatabase } from "./db.ts";
import { hostPageStore } from "./host-page-store.ts";
import { hostSummaryStore } from "./host-summary-store.ts";
import { hostsStore } from "./hosts-store.ts";
import { jobsStore } from "./jobs-store.ts";
import { maintenanceStore } from "./maintenance-store.ts";
import { policiesStore } from "./policies-store.ts";
import { readCyclesStore } from "./read-cycles-store.ts";
import { repositoriesStore } from "./repositories-store.ts";
import { retentionStore } from "./retention-store.ts";
import { schedulesStore } from "./schedules-store.ts";
import { skippedTicksStore } from "./skipped-ticks-store.ts";
import { usersStore } from "./users-store.ts";

/** The server's one persistence module: named methods over prepared statements (domain/store.ts). */
export function createStore(db: Database): Store {
  return {
    ...usersStore(db),
    ...hostsStore(db),
    ...hostSummaryStore(db),
    ...hostPageStore(db),
    ...schedulesStore(db),
    ...jobsStore(db),
    ...agentDataStore(db),
    ...auditStore(db),
    ...repositoriesStore(db),
    ...policiesStore(db),
    ...readCyclesStore(db),
    ...skippedTicksStore(db),
    ...maintenanceStore(db),
    ...alertsStore(db),
    ...retentionStore(db),
    /** Runs fn in one transaction (BEGIN IMMEDIATE); a nested call runs in a savepoint inside it. */
    tx<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
    inTransaction: () => db.inTransaction,
    check() {
      try {
        // A read of a small table: proves the file opens and answers, in constant time. (PRAGMA
        // quick_check reads the whole file: 3 s at 1.4 GB, too slow for a health probe.)
        db.query("SELECT count(*) FROM users").get();
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
      return diskSpaceProblem(db.filename);
    },
    integrityCheck: () =>
      db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").get()?.integrity_check ?? "no answer",
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
