import { agentDataStore } from "./agent-data-store.ts";
import { auditStore } from "./audit-store.ts";
import { type Database, openDatabase } from "./db.ts";
import { hostSummaryStore } from "./host-summary-store.ts";
import { hostsStore } from "./hosts-store.ts";
import { jobsStore } from "./jobs-store.ts";
import { schedulesStore } from "./schedules-store.ts";
import { usersStore } from "./users-store.ts";

/** The server's one persistence module: named methods over prepared statements. */
export function createStore(db: Database) {
  return {
    ...usersStore(db),
    ...hostsStore(db),
    ...hostSummaryStore(db),
    ...schedulesStore(db),
    ...jobsStore(db),
    ...agentDataStore(db),
    ...auditStore(db),
    /** Runs fn in one transaction (BEGIN IMMEDIATE); nested calls join the outer one. */
    tx<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
    integrityCheck: () => db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").get()?.integrity_check,
    close: () => db.close(),
  };
}

export type Store = ReturnType<typeof createStore>;

export function openStore(path: string): Store {
  return createStore(openDatabase(path));
}
